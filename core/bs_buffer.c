/* SPDX-License-Identifier: MIT */
/*
 * bs_buffer — the buffer engine: append, deliver, report.
 */
#define _GNU_SOURCE
#include "bs_buffer.h"
#include "bs_text.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/single_threaded.h>
#include <sched.h>

/* ---- locking: free while the process has one thread ---------------------- */

/*
 * A futex lock of one int (0 free, 1 held), and a second int that a
 * thread about to sleep sets to 1 and sleeps on: a pthread mutex would
 * cost 36 bytes more per buffered fd. A thread that finds the lock held
 * sleeps at once; spinning made two writers on one fd slower (measured),
 * as they then take turns at every write.
 *
 * The unlock is a plain store of 0 and a load of the second int: a wake
 * (one exchange, one syscall) only when someone may sleep. The store and
 * the load can pass each other (a store waits in the processor's store
 * buffer), so a waiter that marks itself and then finds the lock still
 * held could sleep while the holder, having read the mark before it was
 * made, wakes nobody. So a waiter, after its mark, makes every running
 * thread of the process pass a memory barrier (Linux's membarrier, given
 * as a fence): each holder's unlock then either stored before that
 * barrier, and the waiter sees the lock free, or loads the mark after it,
 * and wakes. The unlock pays nothing for it; a waiter, about to sleep
 * anyway, pays a syscall. Until the fence is ready (registered by the
 * first unlock made while the process has threads), or when the kernel
 * refuses it, both sides make a full fence instead (an exchange each),
 * which is what every unlock cost before.
 *
 * The mark is glibc's "2" in a word of its own: an unlock that finds it
 * clears it and wakes one sleeper; a thread that was woken marks again
 * before it tries the lock, so the sleepers behind it are not forgotten.
 *
 * The engine makes no syscall of its own: the futex wait and wake and the
 * fence are given to it, as the sink is. Until then a waiter yields the
 * processor.
 */
static int yield_wait(int *addr, int val)
{
	(void)addr;
	(void)val;
	sched_yield();
	return -1;
}

static void no_wake(int *addr)
{
	(void)addr;
}

static bs_futex_wait_fn futex_wait = yield_wait;
static bs_futex_wake_fn futex_wake = no_wake;
static bs_fence_fn fence_enable, fence_others;

/* The fence, step by step (see enable_fence): tried once; ready, so that
 * waiters make it; relied on by unlocks. */
static int fence_tried, fence_ready, fence_ok;

BS_TEXT_START void bs_buffer_set_futex(bs_futex_wait_fn wait, bs_futex_wake_fn wake)
{
	futex_wait = wait;
	futex_wake = wake;
}

BS_TEXT_HOT void bs_buffer_set_fence(bs_fence_fn enable, bs_fence_fn fence)
{
	fence_enable = enable;
	fence_others = fence;
	fence_tried = fence_ready = fence_ok = 0;
}

/*
 * From full fences to the given one, while other threads lock and unlock.
 * Waiters make it once it is ready; unlocks rely on it once it is ok. A
 * waiter that found it not ready marked itself before (a full fence
 * between), so its mark was visible before ready was, and so before the
 * barrier made here, and before ok: an unlock that reads ok (acquire)
 * reads that mark too.
 */
__attribute__((noinline)) static void enable_fence(void)
{
	if (!fence_enable || __atomic_load_n(&fence_tried, __ATOMIC_RELAXED) ||
	    __atomic_exchange_n(&fence_tried, 1, __ATOMIC_RELAXED))
		return;
	if (fence_enable() < 0)
		return;		/* refused: full fences for good */
	__atomic_store_n(&fence_ready, 1, __ATOMIC_SEQ_CST);
	if (fence_others() == 0)
		__atomic_store_n(&fence_ok, 1, __ATOMIC_RELEASE);
}

/* After its mark (an exchange: a full fence): whether this waiter may
 * sleep (every holder's unlock is bound to see the mark), or must keep
 * trying. A fence refused once it is ready (a seccomp filter installed
 * since) leaves it trying: unlocks may rely on the fence. */
static int fence_before_sleep(void)
{
	if (!__atomic_load_n(&fence_ready, __ATOMIC_SEQ_CST))
		return 1;	/* unlocks make a full fence */
	return fence_others() == 0;
}

/* The waiter's try: sequentially consistent, the other half of the full
 * fence an unlock makes before the fence is relied on. */
static int trylock_sc(struct bs_buffer *b)
{
	int expected = 0;

	return __atomic_compare_exchange_n(&b->lock, &expected, 1, 0, __ATOMIC_SEQ_CST,
					   __ATOMIC_SEQ_CST);
}

static int (*interrupted)(void);	/* see bs_buffer_set_interrupted */

/* Wait for b's lock and take it: 1. With yield, a signal that waits for
 * this thread ends the wait instead: 0, the lock not taken (a holder in a
 * sink call may wait for a reader for ever; the signal may be what ends
 * the program). */
__attribute__((noinline)) static int lock_wait(struct bs_buffer *b, int yield)
{
	for (;;) {
		int may_sleep;

		if (yield && interrupted())
			return 0;

		/* marked first, then the lock looked at again: see above. A
		 * holder in a sink call promised a full fence at its unlock
		 * (BS_LOCK_FENCED), which then sees the mark: no barrier. */
		__atomic_exchange_n(&b->waiters, 1, __ATOMIC_SEQ_CST);
		if (trylock_sc(b))
			return 1;	/* let go meanwhile (woken): no fence needed */
		may_sleep = __atomic_load_n(&b->lock, __ATOMIC_SEQ_CST) == BS_LOCK_FENCED ||
			    fence_before_sleep();
		if (trylock_sc(b))
			return 1;
		if (!may_sleep)
			sched_yield();
		else if (futex_wait(&b->waiters, 1) < 0 && trylock_sc(b))
			return 1;	/* not woken: nobody left it to us to mark */
	}
}

BS_TEXT_HOT void bs_buffer_lock(struct bs_buffer *b)
{
	if (!bs_buffer_trylock(b))
		lock_wait(b, 0);
}

int bs_buffer_trylock(struct bs_buffer *b)
{
	int expected = 0;

	return __atomic_compare_exchange_n(&b->lock, &expected, 1, 0, __ATOMIC_ACQUIRE,
					   __ATOMIC_RELAXED);
}

BS_TEXT_HOT int bs_buffer_lock_unless_delivering(struct bs_buffer *b)
{
	while (!bs_buffer_trylock(b)) {
		if (__atomic_load_n(&b->delivering, __ATOMIC_RELAXED))
			return 0;
		sched_yield();	/* a copy into b: a few ns */
	}
	return 1;
}

__attribute__((noinline)) static void wake_one(struct bs_buffer *b)
{
	if (__atomic_exchange_n(&b->waiters, 0, __ATOMIC_RELAXED))
		futex_wake(&b->waiters);
}

/* An unlock before the fence is relied on: an exchange (a full fence
 * between the store and the load), and the first one made while the
 * process has threads makes the fence ready. */
BS_TEXT_HOT __attribute__((noinline)) static void unlock_fenced(struct bs_buffer *b)
{
	__atomic_exchange_n(&b->lock, 0, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&b->waiters, __ATOMIC_SEQ_CST))
		wake_one(b);
	if (!__libc_single_threaded)
		enable_fence();
}

static inline __attribute__((always_inline)) void unlock(struct bs_buffer *b)
{
	if (__builtin_expect(!__atomic_load_n(&fence_ok, __ATOMIC_ACQUIRE), 0) ||
	    __builtin_expect(__atomic_load_n(&b->lock, __ATOMIC_RELAXED) == BS_LOCK_FENCED, 0)) {
		unlock_fenced(b);
		return;
	}
	__atomic_store_n(&b->lock, 0, __ATOMIC_RELEASE);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);	/* the load stays after the store */
	if (__atomic_load_n(&b->waiters, __ATOMIC_RELAXED))
		wake_one(b);
}

BS_TEXT_HOT void bs_buffer_unlock(struct bs_buffer *b)
{
	unlock(b);
}

void bs_buffer_reinit_lock(struct bs_buffer *b)
{
	b->lock = 0;
	b->waiters = 0;
}

void bs_buffer_forget_waiters(struct bs_buffer *b)
{
	b->waiters = 0;
}

/* Lock b unless the process has no other thread: 1 when locked, 0 when
 * not needed, -1 when yield let a waiting signal end the wait (see
 * lock_wait). */
static inline __attribute__((always_inline)) int lock_maybe_yield(struct bs_buffer *b, int yield)
{
	if (__libc_single_threaded)
		return 0;
	if (!bs_buffer_trylock(b) && !lock_wait(b, yield))
		return -1;
	return 1;
}

static inline __attribute__((always_inline)) int lock_maybe(struct bs_buffer *b)
{
	return lock_maybe_yield(b, 0);
}

static inline __attribute__((always_inline)) void unlock_maybe(struct bs_buffer *b, int locked)
{
	if (locked)
		unlock(b);
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

BS_TEXT_START void bs_buffer_set_interrupted(int (*fn)(void))
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
enum { WHOLE, INTR, NOWAIT };	/* NOWAIT: as INTR, and a sink that says
				 * EAGAIN (it would block) leaves the rest
				 * held, nothing recorded (BS_NOWAIT) */

/* ---- asynchronous delivery (see bs_buffer.h) ------------------------------------ */

static void (*submit_fn)(struct bs_async *a);

void bs_buffer_set_submit(void (*submit)(struct bs_async *a))
{
	submit_fn = submit;
}

void bs_buffer_set_async(struct bs_buffer *b, struct bs_async *a)
{
	a->b = b;
	b->async = a;
}

void bs_async_run(struct bs_async *a)
{
	struct bs_buffer *b = a->b;
	struct iovec v = { .iov_base = (void *)a->fly, .iov_len = a->fly_len };
	int tries = 0;

	while (v.iov_len) {
		ssize_t r = b->sink(b->ctx, &v, 1);

		a->syscalls++;
		if (r < 0 && errno == EINTR && ++tries < BS_EINTR_MAX)
			continue;
		if (r <= 0) {
			a->error = r == 0 ? EIO : errno;
			a->errors++;
			a->dropped += v.iov_len;
			break;
		}
		v.iov_base = (char *)v.iov_base + r;
		v.iov_len -= (size_t)r;
	}
	if (__atomic_exchange_n(&a->state, 0, __ATOMIC_RELEASE) == 2)
		futex_wake(&a->state);
}

void bs_buffer_settle(struct bs_buffer *b)
{
	struct bs_async *a = b->async;
	int s;

	while ((s = __atomic_load_n(&a->state, __ATOMIC_ACQUIRE)) != 0)
		if (s == 2 || __atomic_compare_exchange_n(&a->state, &s, 2, 0, __ATOMIC_ACQUIRE,
							  __ATOMIC_ACQUIRE))
			futex_wait(&a->state, 2);
	if (__builtin_expect(a->syscalls == 0, 1) && !a->error)
		return;
	b->stats.syscalls += a->syscalls;
	b->stats.errors += a->errors;
	b->stats.dropped += a->dropped;
	a->syscalls = a->errors = a->dropped = 0;
	if (a->error && !b->error)
		b->error = a->error;
	a->error = 0;
}

static inline void settle(struct bs_buffer *b)
{
	if (__builtin_expect(b->async != NULL, 0))
		bs_buffer_settle(b);
}

/* The block in flight has landed, and its write failed: the program's
 * next write reports it (invariant 3), though it would fit in the block
 * it fills and look at nothing else. */
static inline int flight_failed(const struct bs_buffer *b)
{
	const struct bs_async *a = b->async;

	return __builtin_expect(a != NULL, 0) && __atomic_load_n(&a->state, __ATOMIC_ACQUIRE) == 0 &&
	       __atomic_load_n(&a->error, __ATOMIC_RELAXED) != 0;
}

/*
 * Hand the full block over and go on in the other one, empty: 1. 0 when it
 * cannot (no second block: the caller delivers as without), -1/errno when
 * the flight before failed (reported by this write, as a delivery of its
 * own would be).
 */
static bs_resize_fn resize_fn;

static int hand_over(struct bs_buffer *b)
{
	struct bs_async *a = b->async;
	char *block;
	size_t room;

	bs_buffer_settle(b);
	if (b->error) {
		errno = b->error;
		b->error = 0;
		return -1;
	}
	if (!a->spare) {
		a->spare = resize_fn ? resize_fn(b->ctx, NULL, 0, b->room) : NULL;
		if (!a->spare)
			return 0;
		a->spare_room = b->room;
	}
	b->stats.flushes[BS_DELIVER_FULL]++;
	a->fly = b->data;
	a->fly_len = b->len;
	/* in flight before empty: see bs_buffer_pending (submit publishes
	 * the rest to the helper) */
	__atomic_store_n(&a->state, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&b->len, 0, __ATOMIC_RELEASE);
	block = a->spare;
	room = a->spare_room;
	a->spare = b->data;
	a->spare_room = b->room;
	b->data = block;
	b->room = (uint32_t)room;	/* a block's room: at most cap */
	submit_fn(a);
	return 1;
}

/* A sink call holds the lock for microseconds: a thread that waits then
 * sleeps, and its mark needs a full fence between the unlock's store and
 * its look at the marks. The unlock makes it itself (the lock word says
 * so), rather than each sleeper making every thread pass a barrier (a
 * membarrier: an interrupt to every processor, 25% of the time of two
 * threads writing to one file here). Only a held lock becomes FENCED; the
 * unlock makes it free. */
static inline void promise_fenced_unlock(struct bs_buffer *b)
{
	int held = 1;

	__atomic_compare_exchange_n(&b->lock, &held, BS_LOCK_FENCED, 0, __ATOMIC_RELAXED,
				    __ATOMIC_RELAXED);
}

/* One sink call, EINTR retried. */
BS_TEXT_HOT static ssize_t sink_once(struct bs_buffer *b, const struct iovec *v, int n, int how)
{
	ssize_t r;
	int tries = 0;

	settle(b);
	__atomic_store_n(&b->delivering, 1, __ATOMIC_RELAXED);
	promise_fenced_unlock(b);
	do {
		b->stats.syscalls++;
		r = b->sink(b->ctx, v, n);
	} while (r < 0 && errno == EINTR && ++tries < BS_EINTR_MAX &&
		 !(how != WHOLE && interrupted()));
	__atomic_store_n(&b->delivering, 0, __ATOMIC_RELAXED);
	return r;
}

/*
 * Hand v[0..n), want bytes in all, to the sink; a partial write resumes at
 * the exact byte, unless it was interruptible and a signal waits. v is
 * consumed. Returns the bytes delivered: want, or fewer with errno saying
 * why (EINTR when a signal ended it).
 */
BS_TEXT_HOT static size_t sink_all(struct bs_buffer *b, struct iovec *v, int n, size_t want, int how)
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
		if (done < want && how != WHOLE && interrupted()) {
			errno = EINTR;
			break;
		}
	}
	return done;
}

/* Whether errno says a signal ended an interruptible delivery. */
static int was_interrupted(int how)
{
	return how != WHOLE && errno == EINTR && interrupted();
}

/*
 * The sink failed with done of the len buffered bytes delivered. A transient
 * EAGAIN, or a signal that ended an interruptible delivery, keeps the rest
 * for later; any other error drops it, counted.
 */
static ssize_t fail_buffered(struct bs_buffer *b, size_t done, int how)
{
	int err = errno, keep = was_interrupted(how) || (how == NOWAIT && bs_would_block(err));
	size_t rest = b->len - done;

	if (!keep)
		b->stats.errors++;
	if (keep || bs_would_block(err)) {
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
BS_TEXT_HOT static ssize_t deliver_locked(struct bs_buffer *b, const struct iovec *iov,
			      int n, size_t total, enum bs_reason why, int how)
{
	struct iovec v[BS_IOV_LOCAL + 1];
	size_t head = b->len, done;
	int cnt = 0, joined = n <= BS_IOV_LOCAL &&
			      !(b->atomic && head && head + total > b->atomic);
	ssize_t r;

	if (__builtin_expect(b->async != NULL, 0)) {
		bs_buffer_settle(b);
		head = b->len;	/* unchanged: the flight is another block */
	}
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

BS_TEXT_HOT int bs_buffer_init(struct bs_buffer *b, char *data, size_t cap,
		   enum bs_mode mode, bs_sink_fn sink, void *ctx)
{
	if (cap == 0 || cap > UINT32_MAX || !data || !sink ||
	    (mode != BS_MODE_NONE && mode != BS_MODE_LINE && mode != BS_MODE_FULL)) {
		errno = EINVAL;
		return -1;
	}
	memset(b, 0, sizeof *b);
	b->data = data;
	b->room = b->cap = (uint32_t)cap;
	b->mode = mode;
	b->sink = sink;
	b->ctx = ctx;
	return 0;
}

BS_TEXT_HOT void bs_buffer_set_resize(bs_resize_fn resize)
{
	resize_fn = resize;
}

BS_TEXT_HOT void bs_buffer_set_room(struct bs_buffer *b, size_t room)
{
	if (room && room < b->cap)
		b->room = (uint32_t)room;
}

/*
 * Room for total more bytes, which fit in the capacity: the memory grown,
 * doubling, to the first size that holds them. When it is refused the
 * capacity comes down to what is there: 0, and the caller delivers sooner.
 */
__attribute__((noinline)) static int grow(struct bs_buffer *b, size_t total)
{
	size_t need = b->len + total, size = b->room;
	char *p;

	while (size < need)
		size = size > b->cap / 2 ? b->cap : size * 2;
	p = resize_fn ? resize_fn(b->ctx, b->data, b->room, size) : NULL;
	if (!p) {
		b->cap = b->room;
		return 0;
	}
	b->data = p;
	b->room = (uint32_t)size;	/* at most cap */
	return 1;
}

/* Whether a write of total bytes (less than the capacity) is copied into
 * b: it fits what is there, or what is there grows to take it. */
static int takes(struct bs_buffer *b, size_t total)
{
	if (total <= b->room - b->len)
		return 1;
	return b->room < b->cap && total <= b->cap - b->len && grow(b, total);
}

/* An empty buffer that grew large given back what it grew by (its second
 * block too, settled). */
static void shrink_idle(struct bs_buffer *b)
{
	size_t size = b->cap < BS_ROOM_START ? b->cap : BS_ROOM_START;
	char *p;

	if (b->async && b->async->spare && b->async->spare_room > BS_ROOM_IDLE && resize_fn) {
		p = resize_fn(b->ctx, b->async->spare, b->async->spare_room, size);
		if (p) {
			b->async->spare = p;
			b->async->spare_room = size;
		}
	}
	if (b->len || b->room <= BS_ROOM_IDLE || !resize_fn)
		return;
	p = resize_fn(b->ctx, b->data, b->room, size);
	if (p) {
		b->data = p;
		b->room = (uint32_t)size;
	}
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

static ssize_t copy_in(struct bs_buffer *b, const struct iovec *iov, int n, size_t total)
{
	char *p = b->data + b->len;

	if (total == 0)
		return 0;	/* write(fd, NULL, 0): nothing to copy from */
	for (int i = 0; i < n; i++) {
		memcpy(p, iov[i].iov_base, iov[i].iov_len);
		p += iov[i].iov_len;
	}
	b->len += total;
	return (ssize_t)total;
}

static ssize_t writev_locked(struct bs_buffer *b, const struct iovec *iov,
			     int n, size_t total, enum bs_mode mode)
{
	ssize_t r;

	if (flight_failed(b))
		bs_buffer_settle(b);	/* landed: takes no wait */
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
	} else if (mode != BS_MODE_NONE && total < b->cap &&
		   !(mode == BS_MODE_LINE && has_eol(iov, n)) && takes(b, total)) {
		/* a write as large as the buffer would only be copied to fill
		 * it: it goes out at once, with what was buffered */
		r = copy_in(b, iov, n, total);
	} else if (b->async && mode == BS_MODE_FULL && b->len && total < b->cap &&
		   (r = hand_over(b)) != 0) {
		if (r > 0)	/* into the other block, which may have to grow */
			r = takes(b, total) ? copy_in(b, iov, n, total) :
			    deliver_locked(b, iov, n, total, BS_DELIVER_FULL, INTR);
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
BS_TEXT_HOT ssize_t bs_buffer_write_as(struct bs_buffer *b, const void *data, size_t len,
			   enum bs_mode mode)
{
	struct iovec v = { .iov_base = (void *)data, .iov_len = len };
	int locked;

	/* The copy first: it is the common case, and the shim has just found
	 * that the direct case does not apply (the two never both do). */
	if (mode == BS_MODE_FULL && data && len - 1 < b->cap - 1) {
		locked = lock_maybe(b);
		if (b->mode == BS_MODE_FULL && !b->error && len <= b->room - b->len &&
		    !flight_failed(b)) {
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

BS_TEXT_HOT static int flush_locked(struct bs_buffer *b, enum bs_reason why, int flags)
{
	int err = 0, report = flags & BS_REPORT, how = flags & BS_YIELD ? INTR : WHOLE;

	if (flags & BS_NOWAIT)
		how = NOWAIT;
	settle(b);	/* its failure is this delivery's to report */
	if (b->len && deliver_locked(b, NULL, 0, 0, why, how) < 0) {
		err = errno;
		if (was_interrupted(how))
			return -1;	/* the rest is held: nothing to report */
		if (how == NOWAIT && bs_would_block(err))
			return -1;	/* the same: the reader is not reading */
		if (!report)
			b->error = err;
	} else if (report && b->error) {
		err = b->error;
		b->error = 0;
	}
	/* the program stops writing for a while: a large buffer it filled
	 * once need not stay resident */
	if (why == BS_DELIVER_SYNC || why == BS_DELIVER_WAIT || why == BS_DELIVER_PROCESS ||
	    why == BS_DELIVER_TIMER)
		shrink_idle(b);
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}

BS_TEXT_HOT int bs_buffer_deliver(struct bs_buffer *b, enum bs_reason why, int flags)
{
	int locked = lock_maybe_yield(b, flags & BS_YIELD), rc, err;

	if (locked < 0) {
		errno = EINTR;	/* a signal waits: nothing delivered */
		return -1;
	}
	rc = flush_locked(b, why, flags);
	err = errno;
	unlock_maybe(b, locked);
	errno = err;
	return rc;
}

BS_TEXT_HOT int bs_buffer_deliver_held(struct bs_buffer *b, enum bs_reason why, int flags)
{
	return flush_locked(b, why, flags);
}

BS_TEXT_HOT void bs_buffer_set_passthrough_held(struct bs_buffer *b)
{
	settle(b);
	b->stats.dropped += b->len;	/* kept after EAGAIN: nobody can retry now */
	b->len = 0;
	b->mode = BS_MODE_NONE;
}

BS_TEXT_HOT void bs_buffer_set_atomic(struct bs_buffer *b, size_t atomic)
{
	b->atomic = atomic > UINT_MAX ? UINT_MAX : (unsigned)atomic;
	if (atomic && b->cap > atomic)
		b->cap = (uint32_t)atomic;
	if (b->room > b->cap)
		b->room = b->cap;
}

