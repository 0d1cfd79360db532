/* SPDX-License-Identifier: MIT */
/*
 * bs_buffer — the buffer engine: append, deliver, report.
 */
#define _GNU_SOURCE
#include "bs_buffer.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/single_threaded.h>
#include <sched.h>

/* ---- locking: free while the process has one thread ---------------------- */

/*
 * A futex lock of one int (0 free, 1 held, 2 held and someone may sleep on
 * it): a pthread mutex would cost 36 bytes more per buffered fd. A thread
 * that finds it held sleeps at once; spinning made two writers on one fd
 * slower (measured), as they then take turns at every write.
 *
 * The engine makes no syscall of its own: the futex wait and wake are given
 * to it, as the sink is. Until then a waiter yields the processor.
 */
static void yield_wait(int *addr, int val)
{
	(void)addr;
	(void)val;
	sched_yield();
}

static void no_wake(int *addr)
{
	(void)addr;
}

static bs_futex_wait_fn futex_wait = yield_wait;
static bs_futex_wake_fn futex_wake = no_wake;

void bs_buffer_set_futex(bs_futex_wait_fn wait, bs_futex_wake_fn wake)
{
	futex_wait = wait;
	futex_wake = wake;
}

static void lock_wait(int *lock)
{
	while (__atomic_exchange_n(lock, 2, __ATOMIC_ACQUIRE) != 0)
		futex_wait(lock, 2);
}

void bs_buffer_lock(struct bs_buffer *b)
{
	int expected = 0;

	if (!__atomic_compare_exchange_n(&b->lock, &expected, 1, 0, __ATOMIC_ACQUIRE,
					 __ATOMIC_RELAXED))
		lock_wait(&b->lock);
}

int bs_buffer_trylock(struct bs_buffer *b)
{
	int expected = 0;

	return __atomic_compare_exchange_n(&b->lock, &expected, 1, 0, __ATOMIC_ACQUIRE,
					   __ATOMIC_RELAXED);
}

int bs_buffer_lock_unless_delivering(struct bs_buffer *b)
{
	while (!bs_buffer_trylock(b)) {
		if (__atomic_load_n(&b->delivering, __ATOMIC_RELAXED))
			return 0;
		sched_yield();	/* a copy into b: a few ns */
	}
	return 1;
}

void bs_buffer_unlock(struct bs_buffer *b)
{
	if (__atomic_exchange_n(&b->lock, 0, __ATOMIC_RELEASE) == 2)
		futex_wake(&b->lock);
}

void bs_buffer_reinit_lock(struct bs_buffer *b)
{
	b->lock = 0;
}

static int lock_maybe(struct bs_buffer *b)
{
	if (__libc_single_threaded)
		return 0;
	bs_buffer_lock(b);
	return 1;
}

static void unlock_maybe(struct bs_buffer *b, int locked)
{
	if (locked)
		bs_buffer_unlock(b);
}

/* ---- delivery ------------------------------------------------------------- */

/* EINTR in a row before it counts as a failure: signals cannot interrupt
 * every call for ever, but a fault injector can, and the program must then
 * be told rather than hang. */
#define BS_EINTR_MAX 10000

/* Whether a signal waits for this thread to leave the library (shim). */
static int never(void)
{
	return 0;
}

static int (*interrupted)(void) = never;

void bs_buffer_set_interrupted(int (*fn)(void))
{
	interrupted = fn ? fn : never;
}

/*
 * Deliveries made inside a program's write are interruptible (INTR): when a
 * signal waits for the thread (interrupted()), an EINTR or a short count
 * ends the write as the kernel ended it, and what the buffer still holds
 * stays held. The program's handler then runs and sees what it would see
 * without us: its write returned the short count, or -1/EINTR. Deliveries
 * at boundaries (close, fsync, a wait, exit) finish first.
 */
enum { WHOLE, INTR };

/* One sink call, EINTR retried. */
static ssize_t sink_once(struct bs_buffer *b, const struct iovec *v, int n, int how)
{
	ssize_t r;
	int tries = 0;

	__atomic_store_n(&b->delivering, 1, __ATOMIC_RELAXED);
	do {
		b->stats.syscalls++;
		r = b->sink(b->ctx, v, n);
	} while (r < 0 && errno == EINTR && ++tries < BS_EINTR_MAX &&
		 !(how == INTR && interrupted()));
	__atomic_store_n(&b->delivering, 0, __ATOMIC_RELAXED);
	return r;
}

/*
 * Hand v[0..n), want bytes in all, to the sink; a partial write resumes at
 * the exact byte, unless it was interruptible and a signal waits. v is
 * consumed. Returns the bytes delivered: want, or fewer with errno saying
 * why (EINTR when a signal ended it).
 */
static size_t sink_all(struct bs_buffer *b, struct iovec *v, int n, size_t want, int how)
{
	size_t done = 0;

	while (done < want) {
		ssize_t r = sink_once(b, v, n, how);

		if (r <= 0) {
			if (r == 0)
				errno = EIO;	/* no progress: do not spin */
			return done;
		}
		done += (size_t)r;
		while (n > 0 && (size_t)r >= v->iov_len) {
			r -= (ssize_t)v->iov_len;
			v++;
			n--;
		}
		if (n > 0) {
			v->iov_base = (char *)v->iov_base + r;
			v->iov_len -= (size_t)r;
		}
		if (done < want && how == INTR && interrupted()) {
			errno = EINTR;
			break;
		}
	}
	return done;
}

/* Whether errno says a signal ended an interruptible delivery. */
static int was_interrupted(int how)
{
	return how == INTR && errno == EINTR && interrupted();
}

/*
 * The sink failed with done of the len buffered bytes delivered. A transient
 * EAGAIN, or a signal that ended an interruptible delivery, keeps the rest
 * for later; any other error drops it, counted.
 */
static ssize_t fail_buffered(struct bs_buffer *b, size_t done, int how)
{
	int err = errno, keep = was_interrupted(how);
	size_t rest = b->len - done;

	if (!keep)
		b->stats.errors++;
	if (keep || err == EAGAIN || err == EWOULDBLOCK) {
		memmove(b->data, b->data + done, rest);
		b->len = rest;
	} else {
		b->stats.dropped += rest;
		b->len = 0;
	}
	errno = err;
	return -1;
}

/*
 * Deliver the buffered bytes followed by the caller's iov[0..n) (total
 * bytes): one sink call when the kernel takes it all. Returns the caller's
 * bytes delivered, or -1/errno when none were.
 */
static ssize_t deliver_locked(struct bs_buffer *b, const struct iovec *iov,
			      int n, size_t total, enum bs_reason why, int how)
{
	struct iovec v[BS_IOV_LOCAL + 1];
	size_t head = b->len, done;
	int cnt = 0, joined = n <= BS_IOV_LOCAL &&
			      !(b->atomic && head && head + total > b->atomic);
	ssize_t r;

	b->stats.flushes[why]++;
	if (head)
		v[cnt++] = (struct iovec){ .iov_base = b->data, .iov_len = head };
	if (joined && n > 0) {
		memcpy(v + cnt, iov, (size_t)n * sizeof *iov);
		cnt += n;
	}
	done = sink_all(b, v, cnt, head + (joined ? total : 0), how);
	if (done < head)
		return fail_buffered(b, done, how);
	b->len = 0;
	if (!joined) {
		/* Too many iovecs to join, or too many bytes to stay atomic:
		 * the program's write goes out as it came, and a short count
		 * reaches it as it would without us. */
		if (total && head && was_interrupted(how))
			return -1;	/* a signal waits: none of its bytes went */
		r = sink_once(b, iov, n, how);
		if (r < 0 && !was_interrupted(how))
			b->stats.errors++;
		return r;
	}
	done -= head;
	if (done < total) {
		if (!was_interrupted(how))
			b->stats.errors++;
		if (done == 0)
			return -1;
	}
	return (ssize_t)done;
}

/* ---- the public engine ------------------------------------------------------ */

int bs_buffer_init(struct bs_buffer *b, char *data, size_t cap,
		   enum bs_mode mode, bs_sink_fn sink, void *ctx)
{
	if (cap == 0 || !data || !sink ||
	    (mode != BS_MODE_NONE && mode != BS_MODE_LINE && mode != BS_MODE_FULL)) {
		errno = EINVAL;
		return -1;
	}
	memset(b, 0, sizeof *b);
	b->data = data;
	b->cap = cap;
	b->mode = mode;
	b->sink = sink;
	b->ctx = ctx;
	return 0;
}

/* A line ends at a newline, or at a carriage return: a progress line
 * redrawn in place ends there too. */
static int has_eol(const struct iovec *iov, int n)
{
	for (int i = 0; i < n; i++)
		if (iov[i].iov_len && (memchr(iov[i].iov_base, '\n', iov[i].iov_len) ||
				       memchr(iov[i].iov_base, '\r', iov[i].iov_len)))
			return 1;
	return 0;
}

/* Sum of iov lengths; SIZE_MAX when the kernel would refuse the array. */
static size_t iov_total(const struct iovec *iov, int n)
{
	size_t total = 0;

	if (n < 0 || n > IOV_MAX || (n > 0 && !iov))
		return SIZE_MAX;
	for (int i = 0; i < n; i++) {
		if (iov[i].iov_len > SSIZE_MAX - total)
			return SIZE_MAX;
		if (iov[i].iov_len && !iov[i].iov_base)
			return SIZE_MAX;	/* let the kernel say EFAULT */
		total += iov[i].iov_len;
	}
	return total;
}

static ssize_t writev_locked(struct bs_buffer *b, const struct iovec *iov,
			     int n, size_t total, enum bs_mode mode)
{
	ssize_t r;

	if (b->error) {
		errno = b->error;
		b->error = 0;
		return -1;
	}
	if (b->atomic && b->len && b->len + total > b->atomic && mode != BS_MODE_NONE &&
	    deliver_locked(b, NULL, 0, 0, BS_DELIVER_FULL, INTR) < 0)
		return -1;	/* alone, then this write starts the buffer anew */
	if (mode == BS_MODE_NONE && b->len == 0) {
		r = sink_once(b, iov, n, INTR);
		if (r < 0 && !was_interrupted(INTR))
			b->stats.errors++;
	} else if (mode != BS_MODE_NONE && total < b->cap && total <= b->cap - b->len &&
		   !(mode == BS_MODE_LINE && has_eol(iov, n))) {
		/* a write as large as the buffer would only be copied to fill
		 * it: it goes out at once, with what was buffered */
		char *p = b->data + b->len;

		for (int i = 0; i < n; i++) {
			memcpy(p, iov[i].iov_base, iov[i].iov_len);
			p += iov[i].iov_len;
		}
		b->len += total;
		r = (ssize_t)total;
	} else {
		r = deliver_locked(b, iov, n, total,
				   mode == BS_MODE_FULL ? BS_DELIVER_FULL :
				   mode == BS_MODE_LINE ? BS_DELIVER_LINE : BS_DELIVER_SYNC, INTR);
	}
	if (r >= 0) {
		b->stats.writes++;
		b->stats.bytes += (uint64_t)r;
	}
	return r;
}

ssize_t bs_buffer_writev_as(struct bs_buffer *b, const struct iovec *iov,
			    int iovcnt, enum bs_mode mode)
{
	size_t total = iov_total(iov, iovcnt);
	int locked, err;
	ssize_t r;

	locked = lock_maybe(b);
	if (b->mode < mode)
		mode = b->mode;		/* the buffer's mode caps the fd's */
	if (total == SIZE_MAX) {
		/* Invalid for the kernel: it answers (EINVAL, EFAULT), after
		 * what was buffered so that nothing changes order. */
		r = b->len ? deliver_locked(b, NULL, 0, 0, BS_DELIVER_SYNC, INTR) : 0;
		if (r >= 0)
			r = sink_once(b, iov, iovcnt, INTR);
	} else if (total == 0 && mode != BS_MODE_NONE && !b->error) {
		r = 0;
	} else {
		r = writev_locked(b, iov, iovcnt, total, mode);
	}
	err = errno;
	unlock_maybe(b, locked);
	errno = err;
	return r;
}

ssize_t bs_buffer_writev(struct bs_buffer *b, const struct iovec *iov,
			 int iovcnt)
{
	return bs_buffer_writev_as(b, iov, iovcnt, b->mode);
}

ssize_t bs_buffer_direct_rest(struct bs_buffer *b, const void *data, size_t len,
			      enum bs_mode mode, ssize_t r)
{
	struct iovec v;
	size_t done;

	b->stats.syscalls++;
	if (r < 0 && was_interrupted(INTR))
		return -1;	/* a signal waits: none of its bytes went */
	if (r < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) {
		/* nothing written: the general path retries (and waits) */
		v = (struct iovec){ .iov_base = (void *)data, .iov_len = len };
		return bs_buffer_writev_as(b, &v, 1, mode);
	}
	b->stats.flushes[mode == BS_MODE_FULL && b->mode == BS_MODE_FULL ?
			 BS_DELIVER_FULL : BS_DELIVER_LINE]++;
	done = r < 0 ? 0 : (size_t)r;
	if (r >= 0 && done < len && !interrupted()) {
		v = (struct iovec){ .iov_base = (char *)data + done, .iov_len = len - done };
		done += sink_all(b, &v, 1, len - done, INTR);
	}
	if (done < len) {
		if (!interrupted())
			b->stats.errors++;
		if (done == 0)
			return -1;
	}
	b->stats.writes++;
	b->stats.bytes += done;
	return (ssize_t)done;
}

/*
 * write(2)'s two common cases skip the general path's bookkeeping: a record
 * that fits is copied (under the lock if there are threads); when there is
 * one thread, a write of at least the capacity into an empty buffer goes
 * straight to the sink, as the general path would send it. Anything else
 * takes that path.
 */
ssize_t bs_buffer_write_as(struct bs_buffer *b, const void *data, size_t len,
			   enum bs_mode mode)
{
	struct iovec v = { .iov_base = (void *)data, .iov_len = len };
	int locked;

	/* The copy first: it is the common case, and the shim has just found
	 * that the direct case does not apply (the two never both do). */
	if (mode == BS_MODE_FULL && data && len - 1 < b->cap - 1) {
		locked = lock_maybe(b);
		if (b->mode == BS_MODE_FULL && !b->error && len <= b->cap - b->len) {
			memcpy(b->data + b->len, data, len);
			b->len += len;
			b->stats.writes++;
			b->stats.bytes += len;
			unlock_maybe(b, locked);
			return (ssize_t)len;
		}
		unlock_maybe(b, locked);
	}
	if (bs_buffer_direct_ok(b, len, mode))
		return bs_buffer_direct_done(b, data, len, mode, b->sink(b->ctx, &v, 1));
	return bs_buffer_writev_as(b, &v, 1, mode);
}

ssize_t bs_buffer_write(struct bs_buffer *b, const void *data, size_t len)
{
	return bs_buffer_write_as(b, data, len, b->mode);
}

static int flush_locked(struct bs_buffer *b, enum bs_reason why, int flags)
{
	int err = 0, report = flags & BS_REPORT, how = flags & BS_YIELD ? INTR : WHOLE;

	if (b->len && deliver_locked(b, NULL, 0, 0, why, how) < 0) {
		err = errno;
		if (was_interrupted(how))
			return -1;	/* the rest is held: nothing to report */
		if (!report)
			b->error = err;
	} else if (report && b->error) {
		err = b->error;
		b->error = 0;
	}
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}

int bs_buffer_deliver(struct bs_buffer *b, enum bs_reason why, int flags)
{
	int locked = lock_maybe(b), rc, err;

	rc = flush_locked(b, why, flags);
	err = errno;
	unlock_maybe(b, locked);
	errno = err;
	return rc;
}

int bs_buffer_deliver_held(struct bs_buffer *b, enum bs_reason why, int flags)
{
	return flush_locked(b, why, flags);
}

void bs_buffer_set_passthrough_held(struct bs_buffer *b)
{
	b->stats.dropped += b->len;	/* kept after EAGAIN: nobody can retry now */
	b->len = 0;
	b->mode = BS_MODE_NONE;
}

void bs_buffer_set_atomic(struct bs_buffer *b, size_t atomic)
{
	b->atomic = atomic;
	if (atomic && b->cap > atomic)
		b->cap = atomic;
}

