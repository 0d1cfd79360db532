/* SPDX-License-Identifier: MIT */
/*
 * async.c — asynchronous delivery (BUFSHIM_ASYNC=1): one helper thread
 * writes the full blocks that buffers of regular files hand over (see
 * struct bs_async in bs_buffer.h), while the program fills their second
 * block.
 *
 * Only regular files: a pipe, a socket or a terminal has a reader waiting
 * for the bytes, and /dev/null takes them for nothing, so a second thread
 * would only add its cost there. Only the shared buffer of a file: with
 * BUFSHIM_THREADS=local the threads' own buffers deliver as they do
 * without it.
 *
 * The helper starts with the first hand-over and takes none of the
 * program's signals. Once the queue is empty it watches it for a while
 * (BS_ASYNC_SPIN_NS) before it sleeps on a condition variable: a program
 * that keeps filling blocks hands the next one over before then, and
 * neither side pays a wake-up (a futex call and a switch each way, which
 * cost more than the write itself on a virtual machine).
 * Every boundary waits for what is in flight (the engine settles before
 * any other delivery), so what the invariants promise does not change. A
 * forked child starts its own helper: at the fork every buffer was
 * delivered and settled, and the parent's helper did not come along.
 */
#include "shim.h"

#include <pthread.h>
#include <string.h>

static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queue_cond = PTHREAD_COND_INITIALIZER;
static struct bs_async *queue_head, **queue_tail = &queue_head;
static int helper_started;
static int helper_asleep;	/* under queue_lock */

#define BS_ASYNC_SPIN_NS 200000u
static struct bs_async *free_asyncs;

static void *helper(void *arg)
{
	(void)arg;
	bs_enter();		/* for good: our own calls go straight through */
	for (;;) {
		struct bs_async *a;
		uint64_t until = bs_now_ns() + BS_ASYNC_SPIN_NS;

		while (!__atomic_load_n(&queue_head, __ATOMIC_RELAXED) && bs_now_ns() < until)
			for (int i = 0; i < 64; i++)
				bs_arch_relax();
		pthread_mutex_lock(&queue_lock);
		while (!queue_head) {
			helper_asleep = 1;
			bs_libc_cond_wait(&queue_cond, &queue_lock);
			helper_asleep = 0;
		}
		a = queue_head;
		queue_head = a->next;
		if (!queue_head)
			queue_tail = &queue_head;
		pthread_mutex_unlock(&queue_lock);
		bs_async_run(a);
	}
	return NULL;
}

/* The engine's submit (the buffer's lock held): queued for the helper, or
 * written here when there is no helper: none could be made, or this write
 * is a program's signal handler's, where making a thread (it allocates)
 * is not safe; a later hand-over outside one makes it. */
static void submit(struct bs_async *a)
{
	int err = errno, queued = 0;

	pthread_mutex_lock(&queue_lock);
	if (!helper_started && !bs_self.in_handler && bs_start_thread(helper) == 0)
		helper_started = 1;
	if (helper_started) {
		a->next = NULL;
		__atomic_store_n(queue_tail, a, __ATOMIC_RELAXED);
		queue_tail = &a->next;
		if (helper_asleep)
			pthread_cond_signal(&queue_cond);
		queued = 1;
	}
	pthread_mutex_unlock(&queue_lock);
	if (!queued)
		bs_async_run(a);
	errno = err;
}

int bs_async_landed_by(struct bs_buffer *b, uint64_t until_ns)
{
	struct bs_async *a = b->async;
	int s;

	if (!a)
		return 1;
	while ((s = __atomic_load_n(&a->state, __ATOMIC_ACQUIRE)) != 0) {
		uint64_t now = bs_now_ns();

		if (until_ns && now >= until_ns)
			return 0;
		if (s == 1 && !__atomic_compare_exchange_n(&a->state, &s, 2, 0, __ATOMIC_ACQUIRE,
							   __ATOMIC_ACQUIRE))
			continue;
		bs_sys_futex_wait_ns(&a->state, 2, until_ns ? until_ns - now : 0);
	}
	return 1;
}

void bs_async_file_new(struct bs_file *f)
{
	static int given;
	struct bs_async *a;

	if (!given) {
		bs_buffer_set_submit(submit);
		given = 1;
	}
	a = free_asyncs;	/* files_lock held */
	if (a) {
		free_asyncs = a->next;
	} else {
		static char *slab;
		static size_t slab_left;

		if (slab_left < sizeof *a) {
			slab = bs_sys_map(4096);
			if (!slab)
				return;	/* delivered as without */
			slab_left = 4096;
		}
		a = (struct bs_async *)(void *)slab;
		slab += sizeof *a;
		slab_left -= sizeof *a;
	}
	memset(a, 0, sizeof *a);
	bs_buffer_set_async(&f->buf, a);
}

/* A file retired (files_lock held, delivered and settled): its second
 * block is given back; f->mapped again describes the block at buf.data. */
BS_TEXT_HOT void bs_async_file_retire(struct bs_file *f)
{
	struct bs_async *a = f->buf.async;

	if (!a)
		return;
	bs_buffer_lock(&f->buf);
	bs_buffer_settle(&f->buf);
	if (a->spare)
		bs_sys_unmap(a->spare, bs_page_round(a->spare_room));
	f->mapped = (uint32_t)bs_page_round(f->buf.room);
	f->buf.async = NULL;
	bs_buffer_unlock(&f->buf);
	a->next = free_asyncs;
	free_asyncs = a;
}

void bs_async_fork_child(void)
{
	/* Every buffer was settled at the fork; the helper and its queue
	 * stayed with the parent. */
	pthread_mutex_init(&queue_lock, NULL);
	pthread_cond_init(&queue_cond, NULL);
	queue_head = NULL;
	queue_tail = &queue_head;
	helper_started = 0;
	helper_asleep = 0;
}
