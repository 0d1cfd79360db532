/* SPDX-License-Identifier: MIT */
/*
 * locals.c — per-thread buffers (BUFSHIM_THREADS=local).
 *
 * Each thread appends to a buffer of its own for each file (core/bs_local):
 * writers on one fd never wait for each other. The file's own buffer then
 * only passes through (its mode is NONE), so nothing else holds bytes for
 * it; files.c delivers a file's threads' buffers wherever it delivers the
 * file. A thread finds its buffer through a small cache of its own; a
 * thread that ends delivers its buffers and gives them up, and the next
 * thread to write that file takes one. Buffers are never unmapped: a walk
 * that meets one given up or taken meanwhile delivers it early, which is
 * always allowed.
 */
#include "shim.h"

#include <pthread.h>
#include <string.h>
#include <unistd.h>

int bs_threads_local;

static pthread_mutex_t locals_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_key_t end_key;
static int end_key_made;

/* This thread's last buffers, by file. A hit is one whose owner is still
 * this thread: a buffer given up (fork, a file made anew) is not one. */
#define MINE_SLOTS 4
static BS_TLS struct {
	struct bs_file *f;
	struct bs_local *l;
} mine_cache[MINE_SLOTS];

static inline unsigned slot_of(const struct bs_file *f)
{
	return (unsigned)((uintptr_t)f >> 8) % MINE_SLOTS;
}

/* ---- making one ----------------------------------------------------------------- */

/* What a thread buffer maps to begin with: as a file's buffer, the engine
 * grows it as bytes arrive (files.c's resize maps it). */
static size_t local_room(void)
{
	return bs_cfg.size < BS_ROOM_START ? bs_cfg.size : BS_ROOM_START;
}

/* A thread buffer and its bytes, from memory never given back. locals_lock held. */
static struct bs_local *local_alloc(void)
{
	static char *slab;
	static size_t slab_left;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t data_len = (local_room() + page - 1) / page * page;
	struct bs_local *l;
	char *data;

	if (slab_left < sizeof *l) {
		slab = bs_sys_map(16 * page);
		if (!slab)
			return NULL;
		slab_left = 16 * page;
	}
	data = bs_sys_map(data_len);
	if (!data)
		return NULL;
	l = (struct bs_local *)slab;
	slab += sizeof *l;
	slab_left -= sizeof *l;
	l->buf.data = data;
	return l;
}

/* l, empty, writes as f's buffer would: the same sink, the same limits. */
static void local_init(struct bs_local *l, struct bs_file *f)
{
	bs_buffer_init(&l->buf, l->buf.data, bs_cfg.size, BS_MODE_FULL, f->buf.sink, f->buf.ctx);
	bs_buffer_set_room(&l->buf, local_room());
	bs_buffer_set_atomic(&l->buf, f->buf.atomic);
}

static void thread_end(void *arg);

/* This thread's buffer for f: one it owns, one given up, or a new one. */
static struct bs_local *mine_slow(struct bs_file *f)
{
	struct bs_local *l = bs_local_take(__atomic_load_n(&f->locals, __ATOMIC_ACQUIRE), &bs_self);

	if (!l) {
		pthread_mutex_lock(&locals_lock);
		l = local_alloc();
		if (l) {
			local_init(l, f);
			l->owner = &bs_self;
			bs_local_push(&f->locals, l);
		}
		pthread_mutex_unlock(&locals_lock);
		if (!l) {
			f->no_memory = 1;	/* the stats say why it went straight out */
			return NULL;
		}
		/* Published first, then the end looked at: a final delivery
		 * or a close (which set their flag, then walk the list) either
		 * saw l, or is seen here. */
		bs_fence_store_load();
		if (__atomic_load_n(&bs_stopped, __ATOMIC_RELAXED) ||
		    __atomic_load_n(&f->closed, __ATOMIC_RELAXED)) {
			bs_buffer_lock(&l->buf);
			bs_buffer_set_passthrough_held(&l->buf);
			bs_buffer_unlock(&l->buf);
		}
	}
	/* the thread's end gives its buffers up (a key's destructor runs
	 * only where its value is set) */
	if (end_key_made && !pthread_getspecific(end_key))
		pthread_setspecific(end_key, (void *)1);
	mine_cache[slot_of(f)].f = f;
	mine_cache[slot_of(f)].l = l;
	return l;
}

static inline struct bs_local *mine(struct bs_file *f)
{
	unsigned i = slot_of(f);
	struct bs_local *l = mine_cache[i].l;

	if (bs_likely(mine_cache[i].f == f && l &&
		      __atomic_load_n(&l->owner, __ATOMIC_RELAXED) == &bs_self))
		return l;
	return mine_slow(f);
}

/* ---- the write path ------------------------------------------------------------- */

/* As bs_note_pending, for this thread's buffer l of f. */
static inline ssize_t local_end(struct bs_file *f, struct bs_local *l, ssize_t r)
{
	extern int bs_armed;

	if (bs_unlikely(!__atomic_load_n(&bs_dirty, __ATOMIC_RELAXED)) &&
	    bs_local_dirty(l)) {
		__atomic_store_n(&bs_dirty, 1, __ATOMIC_RELAXED);
		if (!__atomic_load_n(&bs_armed, __ATOMIC_RELAXED))
			bs_signals_arm();
	}
	if (bs_unlikely(f->bound_ms != 0) &&
	    !__atomic_load_n(&f->first_ns, __ATOMIC_RELAXED) && bs_local_dirty(l))
		bs_timer_stamp(f);
	bs_leave();
	return r;
}

/* A failure another thread's buffer keeps for f, taken: this write
 * reports it instead of writing, as a write reports its own buffer's
 * (invariant 3). 0 when none is kept. */
static int kept_error(struct bs_file *f)
{
	int err;

	if (bs_likely(!__atomic_load_n(&f->local_error, __ATOMIC_RELAXED)))
		return 0;
	__atomic_store_n(&f->local_error, 0, __ATOMIC_RELAXED);
	bs_fence_store_load();	/* a failure kept since is seen, or sets it again */
	err = bs_local_take_error(__atomic_load_n(&f->locals, __ATOMIC_ACQUIRE));
	if (err)	/* another may be kept too: the next write looks */
		__atomic_store_n(&f->local_error, 1, __ATOMIC_SEQ_CST);
	return err;
}

ssize_t bs_file_local_writev(struct bs_file *f, const struct iovec *iov, int n,
			enum bs_mode mode)
{
	struct bs_local *l = mine(f);
	int err = kept_error(f);

	if (bs_unlikely(err)) {
		errno = err;
		return bs_write_end(f, -1);
	}
	if (bs_unlikely(!l))	/* no memory: this thread holds nothing for f */
		return bs_write_end(f, bs_buffer_writev_as(&f->buf, iov, n, BS_MODE_NONE));
	return local_end(f, l, bs_local_writev(l, iov, n, mode));
}

ssize_t bs_file_local_write1(struct bs_file *f, const void *buf, size_t n,
			enum bs_mode mode)
{
	struct bs_local *l = mine(f);
	int err = kept_error(f);

	if (bs_unlikely(err)) {
		errno = err;
		return bs_write_end(f, -1);
	}
	if (bs_unlikely(!l))
		return bs_write_end(f, bs_buffer_write_as(&f->buf, buf, n, BS_MODE_NONE));
	return local_end(f, l, bs_local_write(l, buf, n, mode));
}

/* ---- a thread's end, a file made anew, a fork --------------------------------------- */

/* Deliver this thread's buffer of f, if it has one, and give it up. A
 * failure waits in it for the next write, fsync or close on the file. */
static void give_up(struct bs_file *f, void *arg)
{
	(void)arg;
	for (struct bs_local *l = __atomic_load_n(&f->locals, __ATOMIC_ACQUIRE); l; l = l->next) {
		if (__atomic_load_n(&l->owner, __ATOMIC_RELAXED) != &bs_self)
			continue;
		bs_local_hold(l, 0);
		bs_buffer_deliver_held(&l->buf, BS_DELIVER_EXIT, 0);
		bs_local_note_kept(f, l->buf.error != 0);
		__atomic_store_n(&l->owner, NULL, __ATOMIC_RELEASE);
		bs_local_unhold(l);
	}
}

/* A thread ends (pthread_exit, or its function returned): after its
 * thread_local destructors, which may still write. */
static void thread_end(void *arg)
{
	(void)arg;
	if (bs_inside())
		return;
	bs_enter();
	bs_files_each_batched(give_up, NULL);
	memset(mine_cache, 0, sizeof mine_cache);
	bs_leave();
}

void bs_local_start(void)
{
	bs_threads_local = 1;
	/* made at start, while few keys exist: setting one of the first 32
	 * allocates nothing (a write must not call malloc) */
	end_key_made = pthread_key_create(&end_key, thread_end) == 0;
	/* owners append with plain stores: a boundary makes them pass a
	 * barrier (without one, each record pays a fence) */
	if (bs_sys_barrier_register() == 0)
		bs_local_set_barrier(bs_sys_barrier);
}

BS_TEXT_HOT void bs_local_file_new(struct bs_file *f)
{
	if (!bs_threads_local)
		return;
	bs_buffer_set_passthrough_held(&f->buf);	/* the threads hold its bytes */
	for (struct bs_local *l = f->locals; l; l = l->next) {
		/* given up empty when the file was retired */
		bs_local_hold(l, 0);
		l->buf.len = 0;
		l->buf.error = 0;
		l->buf.mode = BS_MODE_FULL;
		l->buf.cap = (uint32_t)bs_cfg.size;	/* at most 1 GiB */
		l->buf.ctx = f->buf.ctx;
		memset(&l->buf.stats, 0, sizeof l->buf.stats);
		bs_buffer_set_atomic(&l->buf, f->buf.atomic);
		__atomic_store_n(&l->owner, NULL, __ATOMIC_RELEASE);
		bs_local_unhold(l);
	}
}

void bs_local_fork_child(struct bs_file *f)
{
	for (struct bs_local *l = f->locals; l; l = l->next) {
		memset(&l->buf.stats, 0, sizeof l->buf.stats);
		if (l->owner != &bs_self)
			l->owner = NULL;	/* its thread is not here */
		if (l->held) {
			bs_buffer_forget_waiters(&l->buf);	/* the parent's threads */
			bs_local_unhold(l);
			continue;
		}
		/* another thread was delivering it: the parent sends those */
		l->buf.len = 0;
		l->buf.error = 0;
		l->buf.delivering = 0;
		l->busy = 0;
		l->stop = 0;
		l->dirty = 0;
		bs_buffer_reinit_lock(&l->buf);
	}
}
