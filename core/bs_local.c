/*
 * bs_local — per-thread buffers of one file: the list and its walks.
 */
#include "bs_local.h"

#include <errno.h>
#include <string.h>

#include "bs_stats.h"

void bs_local_push(struct bs_local **head, struct bs_local *l)
{
	l->next = *head;
	__atomic_store_n(head, l, __ATOMIC_SEQ_CST);
}

static struct bs_local *first(const struct bs_local *head)
{
	return (struct bs_local *)head;
}

static struct bs_local *after(const struct bs_local *l)
{
	return l->next;		/* set before l was published, never changed */
}

struct bs_local *bs_local_take(struct bs_local *head, const void *owner)
{
	struct bs_local *l;

	for (l = first(head); l; l = after(l))
		if (__atomic_load_n(&l->owner, __ATOMIC_ACQUIRE) == owner)
			return l;
	for (l = first(head); l; l = after(l)) {
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
		if (bs_buffer_pending(&l->buf))
			return 1;
	return 0;
}

int bs_local_deliver(struct bs_local *head, enum bs_reason why, int flags,
		     unsigned walk)
{
	int err = 0;

	for (struct bs_local *l = first(head); l; l = after(l)) {
		int rc, e;

		if (!(walk & BS_LOCAL_FINAL) && !bs_buffer_pending(&l->buf) &&
		    !((flags & BS_REPORT) && !err && __atomic_load_n(&l->buf.error, __ATOMIC_RELAXED)))
			continue;	/* nothing held, nothing to report: no lock */
		if (!(walk & BS_LOCAL_SKIP_DELIVERING))
			bs_buffer_lock(&l->buf);
		else if (!bs_buffer_lock_unless_delivering(&l->buf))
			continue;
		rc = bs_buffer_deliver_held(&l->buf, why, err ? flags & ~BS_REPORT : flags);
		e = errno;
		if (rc < 0 && e == EINTR && (flags & BS_YIELD)) {
			bs_buffer_unlock(&l->buf);
			errno = EINTR;
			return -1;
		}
		if (walk & BS_LOCAL_FINAL)
			bs_buffer_set_passthrough_held(&l->buf);
		bs_buffer_unlock(&l->buf);
		if (rc < 0 && (flags & BS_REPORT) && !err)
			err = e;
	}
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}

void bs_local_passthrough(struct bs_local *head)
{
	for (struct bs_local *l = first(head); l; l = after(l)) {
		bs_buffer_lock(&l->buf);
		bs_buffer_set_passthrough_held(&l->buf);
		bs_buffer_unlock(&l->buf);
	}
}

void bs_local_take_stats(struct bs_local *head, struct bs_stats *sum, int unlocked)
{
	for (struct bs_local *l = first(head); l; l = after(l)) {
		if (!unlocked)
			bs_buffer_lock(&l->buf);
		bs_stats_add(sum, &l->buf.stats);
		memset(&l->buf.stats, 0, sizeof l->buf.stats);
		if (!unlocked)
			bs_buffer_unlock(&l->buf);
	}
}
