/* SPDX-License-Identifier: MIT */
/*
 * bs_buffer — the buffer engine.
 *
 * A buffer collects what a program writes and hands it to an injected sink
 * (a writev-shaped function) in as few calls as the contract allows. It knows
 * nothing of real file descriptors, the environment or symbol lookup, so the
 * tests drive it with fake sinks.
 *
 * Contract (invariants 2 and 3):
 *  - the bytes of one call no larger than the capacity reach the sink inside
 *    one sink call; a call that does not fit goes out in one writev together
 *    with what was buffered;
 *  - EINTR and partial writes are retried; any other failure is reported
 *    exactly once: by the call that hit it, else by the next write or sync.
 *
 * Thread safety: every public function takes the buffer's lock, except when
 * the process is single-threaded, where the lock costs nothing.
 */
#ifndef BS_BUFFER_H
#define BS_BUFFER_H

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/single_threaded.h>
#include <sys/types.h>
#include <sys/uio.h>

/*
 * A full fence between a store and a later load of another location, where
 * another thread stores the second and then loads the first (a handshake:
 * one of the two must see the other's store). Seq_cst stores and loads are
 * enough for the C memory model and for the hardware, but an emulator may
 * not keep them: qemu-user running aarch64 code on x86-64 lets a
 * store-release pass a later load-acquire (seen in this project's tests). A
 * fence it keeps, so every such handshake here says it with one.
 */
static inline void bs_fence_store_load(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* Ordered from most to least eager: where two apply, the lower wins. */
enum bs_mode {
	BS_MODE_NONE,	/* deliver at once, with whatever is buffered */
	BS_MODE_LINE,	/* deliver a write that ends a line (\n, \r) at once */
	BS_MODE_FULL,	/* deliver when the next write does not fit */
	BS_MODE_AUTO,	/* configuration only: line on a terminal, else full */
};

/* Why buffered bytes were delivered; counted per buffer for the stats. */
enum bs_reason {
	BS_DELIVER_FULL,		/* the next write did not fit */
	BS_DELIVER_LINE,		/* line mode saw a newline */
	BS_DELIVER_SYNC,		/* the program touched the fd: close, fsync, ... */
	BS_DELIVER_WAIT,		/* the program is about to wait */
	BS_DELIVER_PROCESS,	/* fork, exec, spawn */
	BS_DELIVER_TIMER,		/* the latency bound expired */
	BS_DELIVER_EXIT,		/* the process is ending */
	BS_DELIVER_SIGNAL,	/* a signal stops or ends the process */
	BS_DELIVER_NREASONS
};

struct bs_stats {
	uint64_t writes;	/* write/writev calls that succeeded */
	uint64_t bytes;		/* bytes those calls accepted */
	uint64_t syscalls;	/* sink calls made, retries included */
	uint64_t flushes[BS_DELIVER_NREASONS];
	uint64_t errors;	/* failed deliveries */
	uint64_t dropped;	/* accepted bytes that never reached the sink */
};

typedef ssize_t (*bs_sink_fn)(void *ctx, const struct iovec *iov, int iovcnt);

struct bs_async;


/* The lock word of a holder in a sink call: its unlock makes a full fence,
 * so a waiter sleeps without making one (see promise_fenced_unlock). */
#define BS_LOCK_FENCED 2

struct bs_buffer {
	int lock;		/* a futex: 0 free, 1 held, BS_LOCK_FENCED held by a
				 * thread in a sink call (see bs_buffer_lock) */
	int waiters;		/* 1: a thread may sleep on the lock */
	int delivering;		/* the lock's holder is in a sink call */
	unsigned atomic;	/* a delivery joins bytes only up to this (0: no limit) */
	/* side by side, 8-aligned: the write path tests both in one compare */
	enum bs_mode mode;	/* the default; NONE once it only passes through */
	int error;		/* errno waiting to be reported, 0 if none */
	char *data;
	uint32_t room;		/* bytes of data there now: grows up to cap */
	uint32_t cap;		/* lowered when memory to grow into is refused
				 * (at most 4 GiB - 1: the setting's 1 GiB fits,
				 * and a buffered fd costs 8 bytes less) */
	size_t len;
	bs_sink_fn sink;
	void *ctx;
	struct bs_async *async;	/* asynchronous delivery; NULL: none */
	struct bs_stats stats;
};

/* Most iovecs a program's writev may carry and still share one sink call
 * with the buffered bytes; larger arrays go out after them, unchanged. */
#define BS_IOV_LOCAL 64

/*
 * Prepare b over caller-owned memory data[0..cap). mode is NONE, LINE or
 * FULL. Returns 0, or -1 with errno EINVAL for a zero capacity or bad mode.
 */
int bs_buffer_init(struct bs_buffer *b, char *data, size_t cap,
		   enum bs_mode mode, bs_sink_fn sink, void *ctx);

/*
 * Memory as bytes arrive. bs_buffer_set_room: data (given to
 * bs_buffer_init) holds only room bytes (at most the capacity; call before
 * the first write). A write that fits the capacity but not what is there
 * grows it, doubling, through the resize given (process-wide, like the
 * futex calls): data, where old bytes are, moved or resized to at least
 * size bytes with the bytes in it kept, or NULL when refused (data
 * untouched); ctx is the sink's. When it is refused the capacity comes
 * down to what is there: the buffer delivers sooner, nothing else changes
 * (the caller sees cap lowered). A delivery at a boundary (sync, wait,
 * process, timer) that leaves a buffer empty with more than BS_ROOM_IDLE
 * bytes there shrinks it back to BS_ROOM_START (or its capacity).
 */
#define BS_ROOM_START ((size_t)64 << 10)
#define BS_ROOM_IDLE ((size_t)1 << 20)
typedef char *(*bs_resize_fn)(void *ctx, char *data, size_t old, size_t size);
void bs_buffer_set_resize(bs_resize_fn resize);
void bs_buffer_set_room(struct bs_buffer *b, size_t room);

/*
 * Accept iov[0..iovcnt) as one write. Returns the byte count accepted (all
 * of it, unless the sink wrote part of this call's bytes and then failed),
 * or -1 with errno: the sink's failure, or an earlier one still unreported.
 */
ssize_t bs_buffer_writev(struct bs_buffer *b, const struct iovec *iov,
			 int iovcnt);

/* The same, in mode (for one fd of several sharing b), capped by b's own
 * mode: NONE delivers this write at once, together with what was buffered. */
ssize_t bs_buffer_writev_as(struct bs_buffer *b, const struct iovec *iov,
			    int iovcnt, enum bs_mode mode);
/* One buffer of len bytes: the same as a one-element iov, faster. */
ssize_t bs_buffer_write_as(struct bs_buffer *b, const void *data, size_t len,
			   enum bs_mode mode);

/* Whether a signal waits for the calling thread to leave the library
 * (given by the caller; never, until given). A write's delivery then ends
 * where the kernel ended it: see bs_buffer.c. */
void bs_buffer_set_interrupted(int (*fn)(void));

/*
 * Whether bs_buffer_write_as would hand this write straight to the sink in
 * one call: one thread, nothing buffered or unreported, len at least the
 * capacity. A caller with a cheaper way to make that call may make it itself
 * and give its result (r, errno) to bs_buffer_direct_done, which counts it
 * and finishes the write as write_as would: the rest of a partial write is
 * delivered, EINTR or EAGAIN takes the general path, a failure is returned.
 */
static inline int bs_buffer_direct_ok(const struct bs_buffer *b, size_t len,
				      enum bs_mode mode)
{
	return __libc_single_threaded && b->len == 0 && !b->error &&
	       len >= b->cap && len <= SSIZE_MAX &&
	       mode != BS_MODE_NONE && b->mode != BS_MODE_NONE;
}

ssize_t bs_buffer_direct_rest(struct bs_buffer *b, const void *data, size_t len,
			      enum bs_mode mode, ssize_t r);

static inline ssize_t bs_buffer_direct_done(struct bs_buffer *b, const void *data,
					    size_t len, enum bs_mode mode, ssize_t r)
{
	if (__builtin_expect(r != (ssize_t)len, 0))
		return bs_buffer_direct_rest(b, data, len, mode, r);
	b->stats.syscalls++;
	b->stats.flushes[mode == BS_MODE_FULL && b->mode == BS_MODE_FULL ?
			 BS_DELIVER_FULL : BS_DELIVER_LINE]++;
	b->stats.writes++;
	b->stats.bytes += len;
	return r;
}
ssize_t bs_buffer_write(struct bs_buffer *b, const void *data, size_t len);

/*
 * Deliver everything buffered, counted under why. With BS_REPORT in flags, a
 * failure (now, or an earlier unreported one) is returned as -1/errno and
 * counts as reported; without it a failure is kept for the next write or
 * sync to report, and still returned as -1/errno for the caller's own use.
 * With BS_YIELD, a delivery that a waiting signal interrupts (see
 * bs_buffer_set_interrupted), in its wait for the lock too, stops there:
 * -1/EINTR, the rest held, nothing recorded; the caller lets the signal
 * run and delivers again.
 * With BS_NOWAIT (and BS_YIELD's interruptions), a sink that says EAGAIN
 * (the caller asked it not to block, and the reader is not reading) ends
 * the delivery there the same way: -1/EAGAIN, the rest held, nothing
 * recorded; the caller sees that it is delivered later.
 */
#define BS_REPORT 1
#define BS_YIELD 2
#define BS_NOWAIT 4

/* Whether err says a sink would have had to wait for its reader. */
static inline int bs_would_block(int err)
{
	return err == EAGAIN || err == EWOULDBLOCK;
}
int bs_buffer_deliver(struct bs_buffer *b, enum bs_reason why, int flags);

/* The same, for a caller that holds b's lock (bs_buffer_lock). */
int bs_buffer_deliver_held(struct bs_buffer *b, enum bs_reason why, int flags);

/* From now on b passes every write straight to its sink. Lock held; b
 * should be empty (flushed) first. */
void bs_buffer_set_passthrough_held(struct bs_buffer *b);

/*
 * Deliveries that join buffered bytes stay within atomic bytes (PIPE_BUF for
 * a pipe several processes may write: a larger write is not atomic there,
 * and the kernel may put another writer's bytes inside a record). The
 * capacity shrinks to atomic if larger. Call before the first write.
 */
void bs_buffer_set_atomic(struct bs_buffer *b, size_t atomic);

/*
 * Asynchronous delivery (BUFSHIM_ASYNC). A buffer given a struct bs_async
 * does not make the sink call for a full buffer in full mode: it hands the
 * block to a helper (the submit function given by the caller, which runs
 * bs_async_run in another thread) and goes on filling a second block. At
 * most one block is in flight. Every other sink call and every delivery of
 * the buffer first waits for it to land (the program's order is kept: what
 * the helper writes comes before anything after it), and so does a write
 * that fills the second block. A failure of the flight is kept as the
 * buffer's unreported error: the next write, delivery with BS_REPORT (an
 * fsync, a close) reports it; the bytes it could not write are dropped,
 * counted. A block in flight counts as pending (bs_buffer_pending): a
 * look without the lock that finds nothing there has nothing to wait for.
 */
struct bs_async {
	struct bs_buffer *b;	/* whose flight this is */
	char *spare;		/* the second block; NULL until the first
				 * hand-over makes it (the resize function,
				 * given NULL) */
	size_t spare_room;
	const char *fly;	/* the block in flight, fly_len bytes */
	size_t fly_len;
	int state;		/* futex: 0 landed, 1 in flight, 2 in flight
				 * and waited for */
	int error;		/* the flight's failure, for the buffer */
	uint64_t syscalls, errors, dropped;	/* the flight's, for the stats */
	struct bs_async *next;	/* the submit function's queue */
};

/* Give b asynchronous delivery through a (zeroed but for what the caller
 * keeps there); lock held, or before b is shared. */
void bs_buffer_set_async(struct bs_buffer *b, struct bs_async *a);
/* How a block is handed over: the function queues a for a helper that
 * calls bs_async_run(a), or calls it itself. Given once, before any. */
void bs_buffer_set_submit(void (*submit)(struct bs_async *a));
/* The helper's part: write a's block whole (EINTR and partial writes
 * retried) through its buffer's sink, then mark it landed. */
void bs_async_run(struct bs_async *a);
/* Wait for b's flight, if any, to land (lock held); its failure and
 * stats become the buffer's. */
void bs_buffer_settle(struct bs_buffer *b);

/* Bytes waiting in b, or a block in flight (a snapshot when other
 * threads write). A hand-over marks the flight before it empties the
 * buffer, so a look that sees it empty sees the flight. */
static inline size_t bs_buffer_pending(const struct bs_buffer *b)
{
	size_t n = __atomic_load_n(&b->len, __ATOMIC_ACQUIRE);

	if (n || __builtin_expect(!b->async, 1))
		return n;
	return __atomic_load_n(&b->async->state, __ATOMIC_ACQUIRE) != 0;
}

/* Whether a block of b is in flight (a snapshot). */
static inline int bs_buffer_in_flight(const struct bs_buffer *b)
{
	return b->async && __atomic_load_n(&b->async->state, __ATOMIC_ACQUIRE) != 0;
}

/* How a thread sleeps while *addr == val (0 when a wake ended the sleep,
 * -1 when it did not sleep or something else ended it), and wakes one
 * sleeper on addr: the futex calls, given by the caller (the engine makes
 * no syscall of its own). Until they are given, a thread that waits for a
 * lock yields. */
typedef int (*bs_futex_wait_fn)(int *addr, int val);
typedef void (*bs_futex_wake_fn)(int *addr);
void bs_buffer_set_futex(bs_futex_wait_fn wait, bs_futex_wake_fn wake);

/* A memory barrier on every running thread of the process (Linux's
 * membarrier), made ready by enable (registered): each 0, or -1 when the
 * kernel refuses. Given, an unlock is a plain store and a load, and only
 * a thread about to sleep on a lock pays for a barrier; enable is called
 * once, by the first unlock made while the process has threads. Until it
 * is ready, or when it is refused, an unlock pays a full fence. Given
 * before any lock is shared between threads. */
typedef int (*bs_fence_fn)(void);
void bs_buffer_set_fence(bs_fence_fn enable, bs_fence_fn fence);

/* Hold or release b's lock around work that must not interleave with
 * writes, such as fork. bs_buffer_reinit_lock is for a fork child. */
void bs_buffer_lock(struct bs_buffer *b);
/* Take b's lock if it is free: 1, else 0 (nothing waits). */
int bs_buffer_trylock(struct bs_buffer *b);

/* Take b's lock unless its holder is delivering (in a sink call, which
 * may block for as long as a reader does not read): 1, or 0 with the
 * lock not taken. A delivery under way sends every byte b held when it
 * began; a caller that only needs those bytes out need not wait for it. */
int bs_buffer_lock_unless_delivering(struct bs_buffer *b);
void bs_buffer_unlock(struct bs_buffer *b);
/* In a fork child, b's lock free (reinit) or kept by this thread (forget
 * the waiters: they were threads of the parent). */
void bs_buffer_reinit_lock(struct bs_buffer *b);
void bs_buffer_forget_waiters(struct bs_buffer *b);

#endif
