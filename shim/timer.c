/* SPDX-License-Identifier: MIT */
/*
 * timer.c — the latency bound (BUFSHIM_FLUSH_MS, and 50 ms on a terminal).
 *
 * A helper thread delivers any buffer whose oldest byte has waited its
 * bound: BUFSHIM_FLUSH_MS, and at most 50 ms on a terminal, where a person
 * watches (a prompt, a progress line redrawn with \r, a line in pieces).
 * It starts when a buffer with a bound first holds a byte, and
 * while nothing is pending it sleeps with no timeout: no wake-ups, no
 * signals (which would interrupt the program's own syscalls).
 *
 * A delivery before a wait that finds a pipe or socket full hands the
 * rest to the same thread (bs_timer_hand_over): it delivers at once, and
 * waits for the reader, so that the program's thread, which may hold a
 * lock the reader needs, goes on into its wait (files.c, leaves_to_helper).
 *
 * Each buffer records when a byte entered it empty (first_ns). A writer that
 * delivers the buffer itself leaves the stamp as it is; the helper then
 * wakes early and finds little or nothing to do: the bound is kept, never
 * exceeded.
 *
 * Lost wake-ups: a writer stamps first_ns, then looks at helper_idle; the
 * helper sets helper_idle, then looks at the stamps again before it sleeps,
 * each with a fence between (bs_fence_store_load). One of the two always
 * sees the other.
 */
#include "shim.h"

#include <errno.h>
#include <pthread.h>
#include <time.h>

static pthread_mutex_t timer_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t timer_cond = PTHREAD_COND_INITIALIZER;
static int helper_started;
static int helper_idle;
static struct bs_file *delivering_now;	/* the file the helper delivers */

struct due {
	uint64_t now;
	uint64_t next;		/* the earliest deadline still ahead; 0: none */
};

/* When f's oldest byte is delivered: ahead of its bound by a fifth, at
 * most 10 ms, for the helper's own lateness (waking, a busy machine): aimed
 * at the bound itself, a terminal showed bytes 50.2-55.9 ms after they
 * were written. */
static uint64_t due_ns(const struct bs_file *f, uint64_t first)
{
	uint64_t bound = (uint64_t)f->bound_ms * 1000000u, slack = bound / 5;

	if (slack > 10000000u)
		slack = 10000000u;
	return first + bound - slack;
}

/* Deliver f if its oldest byte is due, else note its deadline. Outside
 * files_lock: a terminal stopped with ^S blocks a delivery, and nobody else
 * waits for it (a delivery under way in a writer is not waited for). */
static void deliver_if_due(struct bs_file *f, void *arg)
{
	struct due *d = arg;
	uint64_t first = __atomic_load_n(&f->first_ns, __ATOMIC_SEQ_CST);
	uint64_t due = due_ns(f, first);

	if (!first || f->closed)
		return;
	if (due <= d->now) {
		/* a background job's terminal with TOSTOP: the program's own
		 * write would have stopped it there (SIGTTOU); this thread,
		 * blocking every signal, would write. Left to the program's
		 * own delivery, where the kernel stops it as without us. */
		if (f->kind == BS_KIND_TTY && bs_tty_stops_us(f->fd)) {
			due = d->now + (uint64_t)f->bound_ms * 1000000u;	/* look again */
			if (!d->next || due < d->next)
				d->next = due;
			return;
		}
		__atomic_store_n(&f->first_ns, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&delivering_now, f, __ATOMIC_SEQ_CST);
		bs_fence_store_load();	/* an owner's new bytes: see bs_local_mark_dirty;
					 * the end: see bs_timer_delivering */
		if (f->locals)	/* per-thread buffers: theirs first */
			bs_local_note_kept(f, bs_local_deliver(__atomic_load_n(&f->locals,
									       __ATOMIC_ACQUIRE),
							       BS_DELIVER_TIMER, 0,
							       BS_LOCAL_SKIP_DELIVERING));
		if (bs_buffer_lock_unless_delivering(&f->buf)) {
			bs_buffer_deliver_held(&f->buf, BS_DELIVER_TIMER, 0);
			bs_buffer_unlock(&f->buf);
		}
		__atomic_store_n(&delivering_now, NULL, __ATOMIC_RELEASE);
		/* a writer may stamp it again meanwhile: next round */
	} else if (!d->next || due < d->next) {
		d->next = due;
	}
}

static void *helper(void *arg)
{
	uint64_t next;

	(void)arg;
	bs_enter();		/* for good: our own calls go straight through */
	for (;;) {
		struct due d = { .now = bs_now_ns() };

		bs_files_each_batched(deliver_if_due, &d);
		next = d.next;
		pthread_mutex_lock(&timer_lock);
		if (next) {
			struct timespec ts = { .tv_sec = (time_t)(next / 1000000000u),
					       .tv_nsec = (long)(next % 1000000000u) };

			bs_libc_cond_clockwait(&timer_cond, &timer_lock, CLOCK_MONOTONIC, &ts);
		} else {
			__atomic_store_n(&helper_idle, 1, __ATOMIC_RELAXED);
			bs_fence_store_load();
			if (!bs_any_stamped())
				bs_libc_cond_wait(&timer_cond, &timer_lock);
			__atomic_store_n(&helper_idle, 0, __ATOMIC_SEQ_CST);
		}
		pthread_mutex_unlock(&timer_lock);
	}
	return NULL;
}

/* Stamp f with stamp (its deadline's start), then make sure the helper
 * runs: started, or woken from a sleep without a deadline. -1 when it
 * cannot be started. */
static int stamp(struct bs_file *f, uint64_t when)
{
	int rc = 0;

	__atomic_store_n(&f->first_ns, when, __ATOMIC_RELAXED);
	bs_fence_store_load();	/* see "Lost wake-ups" above */
	if (!__atomic_exchange_n(&helper_started, 1, __ATOMIC_ACQ_REL)) {
		if (bs_start_thread(helper) != 0) {
			__atomic_store_n(&helper_started, 0, __ATOMIC_RELAXED);	/* try again later */
			rc = -1;
		}
	} else if (__atomic_load_n(&helper_idle, __ATOMIC_RELAXED)) {
		pthread_mutex_lock(&timer_lock);
		pthread_cond_signal(&timer_cond);
		pthread_mutex_unlock(&timer_lock);
	}
	return rc;
}

void bs_timer_stamp(struct bs_file *f)
{
	int err = errno;	/* the program's write left it as it was */

	(void)stamp(f, bs_now_ns());
	errno = err;
}

/* Whether the helper delivers f: bytes whose writes returned, all of them,
 * which the end of the process waits for (files.c, deliver_one). The
 * helper marks f before it takes f's locks: one that finds a lock taken
 * and then looks here sees the mark if the helper took it. */
int bs_timer_delivering(const struct bs_file *f)
{
	bs_fence_store_load();
	return __atomic_load_n(&delivering_now, __ATOMIC_SEQ_CST) == f;
}

/* Stamped at the start of time: due now, whatever its bound. The helper
 * clears the stamp, then delivers, waiting for the reader as long as it
 * takes; a writer whose file has no bound never stamps it again. */
int bs_timer_hand_over(struct bs_file *f)
{
	uint64_t was = __atomic_load_n(&f->first_ns, __ATOMIC_RELAXED);
	int err = errno, rc = stamp(f, 1);

	if (rc < 0)
		__atomic_store_n(&f->first_ns, was, __ATOMIC_RELAXED);
	errno = err;
	return rc;
}

void bs_timer_fork_child(void)
{
	/* The helper did not come along: the child starts its own when it
	 * first has a byte pending. */
	pthread_mutex_init(&timer_lock, NULL);
	pthread_cond_init(&timer_cond, NULL);
	helper_started = 0;
	helper_idle = 0;
}
