/* SPDX-License-Identifier: MIT */
/*
 * bs_local — per-thread buffers of one file (BUFSHIM_THREADS=local).
 *
 * Each thread that writes a file appends to a buffer of its own, and a
 * record that fits is appended with no atomic read-modify-write at all:
 * writers on one fd never wait for each other, nor bounce a lock's cache
 * line between processors. A file keeps its threads' buffers in one list
 * that only grows at its head; an entry never leaves it, and its memory is
 * never given back, so a list may be walked without a lock while threads
 * join it. A thread that ends gives its entry up (owner NULL) for the next
 * thread to take.
 *
 * The owner and everyone else (a boundary in another thread) exclude each
 * other by an asymmetric handshake: the owner marks itself busy and then
 * looks for a stop request; another thread takes the buffer's lock, asks
 * the owner to stop, makes every thread of the process pass a full memory
 * barrier (the barrier function given by the caller: membarrier(2)), and
 * waits until the owner is not busy. Without a barrier function the owner
 * pays one full fence per record instead.
 *
 * What this gives up is the order between the records of different
 * threads; each thread's records keep their order, and each is whole
 * (bs_buffer's contract holds per buffer). A boundary delivers every
 * buffer of the list, in list order (the newest thread's first), before
 * anything else touches the file.
 */
#ifndef BS_LOCAL_H
#define BS_LOCAL_H

#include "bs_buffer.h"

struct bs_local {
	struct bs_buffer buf;
	const void *owner;	/* the thread that appends here; NULL: free */
	struct bs_local *next;	/* the file's other threads' buffers */
	int busy;		/* the owner is appending without the lock */
	int stop;		/* another thread holds the buffer: the owner
				 * appends under the lock meanwhile */
	int dirty;		/* may hold bytes or an error: set by the owner,
				 * cleared by a holder that leaves it empty (an
				 * unlocked look reads this, never buf.len) */
	int held;		/* held across a fork (see the shim) */
} __attribute__((aligned(64)));	/* two threads' buffers share no cache line */

/* The barrier that makes every thread of the process pass a full memory
 * barrier; from then on owners append with plain stores. Given once, by a
 * single thread, before any buffer is made. */
void bs_local_set_barrier(void (*fn)(void));

/* Put l, ready for use, at the head of *head. Callers serialize pushes;
 * readers need no lock. */
void bs_local_push(struct bs_local **head, struct bs_local *l);

/* owner's buffer on the list, else a free one made owner's, else NULL. */
struct bs_local *bs_local_take(struct bs_local *head, const void *owner);

/* Whether l may hold bytes or an error (a snapshot). */
static inline int bs_local_dirty(const struct bs_local *l)
{
	return __atomic_load_n(&l->dirty, __ATOMIC_RELAXED);
}

/* Whether a buffer of the list may hold bytes or an error (a snapshot). */
size_t bs_local_pending(const struct bs_local *head);

/* Set once a barrier function is given (see bs_local_set_barrier). */
extern int bs_local_asymmetric;

/* The owner's side of the handshake: 1 when it may append to l without
 * the lock (busy is then set until bs_local_owner_end), else 0. */
static inline int bs_local_owner_begin(struct bs_local *l)
{
	if (__builtin_expect(bs_local_asymmetric, 1)) {
		__atomic_store_n(&l->busy, 1, __ATOMIC_RELAXED);
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
	} else {
		__atomic_store_n(&l->busy, 1, __ATOMIC_RELAXED);
		bs_fence_store_load();
	}
	if (__builtin_expect(!__atomic_load_n(&l->stop, __ATOMIC_SEQ_CST), 1))
		return 1;
	__atomic_store_n(&l->busy, 0, __ATOMIC_RELEASE);
	return 0;
}

static inline void bs_local_owner_end(struct bs_local *l)
{
	__atomic_store_n(&l->busy, 0, __ATOMIC_RELEASE);
}

/* The owner marks l as holding bytes, once they are there. Its first mark
 * since l was last left empty is a store another thread may miss (a wait's
 * delivery in another thread clears the process's "something pending" flag,
 * and then looks at each buffer; a timer clears a stamp, then looks): the
 * owner's later loads of those flags come after a fence, so one of the two
 * sees the other. */
static inline void bs_local_mark_dirty(struct bs_local *l)
{
	if (!__atomic_load_n(&l->dirty, __ATOMIC_RELAXED)) {
		__atomic_store_n(&l->dirty, 1, __ATOMIC_RELAXED);
		bs_fence_store_load();
	}
}

/* The owner's writes that take the engine's path, under the lock. */
ssize_t bs_local_write_slow(struct bs_local *l, const void *data, size_t len,
			    enum bs_mode mode);
ssize_t bs_local_writev(struct bs_local *l, const struct iovec *iov, int n,
			enum bs_mode mode);

/*
 * The owner's write of one buffer: as bs_buffer_write_as. A record that
 * fits in full mode is copied without the lock; anything else takes the
 * engine's path, under the lock.
 */
static inline ssize_t bs_local_write(struct bs_local *l, const void *data, size_t len,
				     enum bs_mode mode)
{
	struct bs_buffer *b = &l->buf;

	if (mode == BS_MODE_FULL && data && len - 1 < b->cap - 1 && bs_local_owner_begin(l)) {
		if (b->mode == BS_MODE_FULL && !b->error && len <= b->room - b->len) {
			__builtin_memcpy(b->data + b->len, data, len);
			b->len += len;
			b->stats.writes++;
			b->stats.bytes += len;
			bs_local_mark_dirty(l);
			bs_local_owner_end(l);
			return (ssize_t)len;
		}
		bs_local_owner_end(l);
	}
	return bs_local_write_slow(l, data, len, mode);
}

/* How another thread takes a buffer. */
#define BS_LOCAL_SKIP_DELIVERING 1	/* not one whose lock's holder is in a
					 * sink call: that delivery sends what
					 * it held when it began */
#define BS_LOCAL_FINAL 2		/* a walk: each buffer it takes writes
					 * straight through from then on */
#define BS_LOCAL_TRY 4			/* not if its lock is held or its owner
					 * busy (a signal handler in a hurry) */

/* Hold l against its owner and everyone else (how: the flags above):
 * 1, or 0 when not held. bs_local_unhold lets go. */
int bs_local_hold(struct bs_local *l, unsigned how);
void bs_local_unhold(struct bs_local *l);

/*
 * Deliver every buffer on the list, in list order, counted under why;
 * flags as bs_buffer_deliver's, walk as above. With BS_REPORT the first
 * failure (now, or one kept from earlier) is returned as -1/errno and
 * counts as reported; later ones wait for the next report. With BS_YIELD
 * an EINTR stops the walk at once: -1/EINTR, the rest held. Else the
 * number of buffers that keep a failure for a later report (0: none).
 */
int bs_local_deliver(struct bs_local *head, enum bs_reason why, int flags,
		     unsigned walk);

/* A failure some buffer of the list keeps, as its errno, now reported
 * (the buffer forgets it); 0 when none keeps one. Another thread's
 * failure is reported by the next write of any thread on the file. */
int bs_local_take_error(struct bs_local *head);

/* Every buffer on the list writes straight through from now on, what it
 * held counted as dropped (deliver first). */
void bs_local_passthrough(struct bs_local *head);

/* Add every buffer's stats to *sum and clear them, each held unless
 * unlocked (a process that dies of a signal waits for no one). */
void bs_local_take_stats(struct bs_local *head, struct bs_stats *sum, int unlocked);

#endif
