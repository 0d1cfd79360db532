/* SPDX-License-Identifier: MIT */
/*
 * bs_local — per-thread buffers of one file: the owner's append, the
 * handshake with other threads, and the list's walks.
 */
#include "bs_local.h"

#include <errno.h>
#include <sched.h>
#include <string.h>

#include "bs_stats.h"

/* ---- the handshake -------------------------------------------------------------- */

/*
 * Owner:  busy = 1; [fence]; if (stop) slow path; append; busy = 0
 *         (bs_local_owner_begin, in the header)
 * Other:  lock; stop = 1; [barrier]; wait for busy == 0; ...; stop = 0; unlock
 *
 * Either the owner's load of stop comes after the other's store, and the
 * owner takes the lock (and waits for it), or its store of busy is seen by
 * the other, which waits. With a process-wide barrier on the other side
 * (membarrier), the owner's side needs only the compiler's ordering; with
 * none, each side has a full fence (a plain Dekker handshake).
 */
static void (*barrier)(void);
int bs_local_asymmetric;

void bs_local_set_barrier(void (*fn)(void))
{
	barrier = fn;
	bs_local_asymmetric = fn != NULL;
}

static void other_side_fence(void)
{
	if (barrier)
		barrier();
	else
		bs_fence_store_load();
}

int bs_local_hold(struct bs_local *l, unsigned how)
{
	if (how & BS_LOCAL_TRY) {
		if (!bs_buffer_trylock(&l->buf))
			return 0;
	} else if (how & BS_LOCAL_SKIP_DELIVERING) {
		if (!bs_buffer_lock_unless_delivering(&l->buf))
			return 0;
	} else {
		bs_buffer_lock(&l->buf);
	}
	__atomic_store_n(&l->stop, 1, __ATOMIC_RELAXED);
	other_side_fence();
	while (__atomic_load_n(&l->busy, __ATOMIC_ACQUIRE)) {
		if (how & BS_LOCAL_TRY) {
			/* let go without looking at the buffer (the owner is
			 * appending: an empty look now would clear its mark) */
			__atomic_store_n(&l->stop, 0, __ATOMIC_RELEASE);
			bs_buffer_unlock(&l->buf);
			return 0;
		}
		sched_yield();	/* a copy of one record */
	}
	return 1;
}

void bs_local_unhold(struct bs_local *l)
{
	if (l->buf.len == 0 && l->buf.error == 0)
		__atomic_store_n(&l->dirty, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&l->stop, 0, __ATOMIC_RELEASE);
	bs_buffer_unlock(&l->buf);
}

/* ---- the owner's other writes ------------------------------------------------------ */

/* The engine may leave bytes or an error: the owner cannot look at them
 * once it has let the lock go, so the buffer counts as dirty. */
ssize_t bs_local_write_slow(struct bs_local *l, const void *data, size_t len,
			    enum bs_mode mode)
{
	ssize_t r = bs_buffer_write_as(&l->buf, data, len, mode);
	int err = errno;

	bs_local_mark_dirty(l);
	errno = err;
	return r;
}

ssize_t bs_local_writev(struct bs_local *l, const struct iovec *iov, int n,
			enum bs_mode mode)
{
	ssize_t r = bs_buffer_writev_as(&l->buf, iov, n, mode);
	int err = errno;

	bs_local_mark_dirty(l);
	errno = err;
	return r;
}

/* ---- the list ---------------------------------------------------------------------- */

void bs_local_push(struct bs_local **head, struct bs_local *l)
{
	l->next = *head;
	__atomic_store_n(head, l, __ATOMIC_SEQ_CST);
}

static struct bs_local *after(const struct bs_local *l)
{
	return l->next;		/* set before l was published, never changed */
}

struct bs_local *bs_local_take(struct bs_local *head, const void *owner)
{
	struct bs_local *l;

	for (l = head; l; l = after(l))
		if (__atomic_load_n(&l->owner, __ATOMIC_ACQUIRE) == owner)
			return l;
	for (l = head; l; l = after(l)) {
		const void *none = NULL;

		if (__atomic_compare_exchange_n(&l->owner, &none, owner, 0,
						__ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			return l;
	}
	return NULL;
}

size_t bs_local_pending(const struct bs_local *head)
{
	for (const struct bs_local *l = head; l; l = after(l))
		if (bs_local_dirty(l))
			return 1;
	return 0;
}

int bs_local_deliver(struct bs_local *head, enum bs_reason why, int flags,
		     unsigned walk)
{
	int err = 0, kept = 0;

	for (struct bs_local *l = head; l; l = after(l)) {
		int rc, e;

		if (!(walk & BS_LOCAL_FINAL) && !bs_local_dirty(l))
			continue;	/* nothing held, nothing to report: not held */
		if (!bs_local_hold(l, walk))
			continue;
		rc = bs_buffer_deliver_held(&l->buf, why, err ? flags & ~BS_REPORT : flags);
		e = errno;
		if (rc < 0 && e == EINTR && (flags & BS_YIELD)) {
			bs_local_unhold(l);
			errno = EINTR;
			return -1;
		}
		if (walk & BS_LOCAL_FINAL)
			bs_buffer_set_passthrough_held(&l->buf);
		if (rc < 0 && (flags & BS_REPORT) && !err)
			err = e;
		else if (l->buf.error)
			kept++;
		bs_local_unhold(l);
	}
	if (err) {
		errno = err;
		return -1;
	}
	return kept;
}

int bs_local_take_error(struct bs_local *head)
{
	for (struct bs_local *l = head; l; l = after(l)) {
		int err;

		if (!bs_local_dirty(l))
			continue;	/* a failure kept leaves it dirty */
		bs_local_hold(l, 0);
		err = l->buf.error;
		l->buf.error = 0;
		bs_local_unhold(l);
		if (err)
			return err;
	}
	return 0;
}

void bs_local_passthrough(struct bs_local *head)
{
	for (struct bs_local *l = head; l; l = after(l)) {
		bs_local_hold(l, 0);
		bs_buffer_set_passthrough_held(&l->buf);
		bs_local_unhold(l);
	}
}

void bs_local_take_stats(struct bs_local *head, struct bs_stats *sum, int unlocked)
{
	for (struct bs_local *l = head; l; l = after(l)) {
		if (!unlocked)
			bs_local_hold(l, 0);
		bs_stats_add(sum, &l->buf.stats);
		memset(&l->buf.stats, 0, sizeof l->buf.stats);
		if (!unlocked)
			bs_local_unhold(l);
	}
}
