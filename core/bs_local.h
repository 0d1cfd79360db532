/*
 * bs_local — per-thread buffers of one file (BUFSHIM_THREADS=local).
 *
 * Each thread that writes a file appends to a buffer of its own: no other
 * thread takes that buffer's lock except at a boundary, so writers never
 * wait for each other. A file keeps its threads' buffers in one list that
 * only grows at its head; an entry never leaves it, and its memory is never
 * given back, so a list may be walked without a lock while threads join
 * it. A thread that ends gives its entry up (owner NULL) for the next
 * thread to take.
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
	int held;		/* held across a fork (see the shim) */
};

/* Put l, ready for use, at the head of *head. Callers serialize pushes;
 * readers need no lock. */
void bs_local_push(struct bs_local **head, struct bs_local *l);

/* owner's buffer on the list, else a free one made owner's, else NULL. */
struct bs_local *bs_local_take(struct bs_local *head, const void *owner);

/* Bytes waiting in the list's buffers (a snapshot), 0 if none. */
size_t bs_local_pending(const struct bs_local *head);

/* How a walk goes. */
#define BS_LOCAL_SKIP_DELIVERING 1	/* not a buffer whose lock's holder is in
					 * a sink call: that delivery sends what it
					 * held when it began */
#define BS_LOCAL_FINAL 2		/* each buffer it takes writes straight
					 * through from then on */

/*
 * Deliver every buffer on the list, in list order, counted under why;
 * flags as bs_buffer_deliver's, walk as above. With BS_REPORT the first
 * failure (now, or one kept from earlier) is returned as -1/errno and
 * counts as reported; later ones wait for the next report. With BS_YIELD
 * an EINTR stops the walk at once: -1/EINTR, the rest held. Else 0.
 */
int bs_local_deliver(struct bs_local *head, enum bs_reason why, int flags,
		     unsigned walk);

/* Every buffer on the list writes straight through from now on, what it
 * held counted as dropped (deliver first). */
void bs_local_passthrough(struct bs_local *head);

/* Add every buffer's stats to *sum and clear them, each under its lock
 * unless unlocked (a process that dies of a signal waits for no lock). */
void bs_local_take_stats(struct bs_local *head, struct bs_stats *sum, int unlocked);

#endif
