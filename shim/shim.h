/* SPDX-License-Identifier: MIT */
/*
 * shim.h — the private contract of the interposition layer.
 *
 * Layers, each calling only those below it:
 *   hooks.c hooks_proc.c hooks_wait.c   the exported functions
 *   process.c                           start, fork, the end of a process
 *   stdio.c timer.c                     the stdio bridge, the latency bound
 *   files.c                             fd table, buffers, deliveries
 *   init.c                              the configuration
 *   sys.c guard.h arch.h                real functions and syscalls, the guard
 *   core/                               the engine
 */
#ifndef BS_SHIM_H
#define BS_SHIM_H

#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/sendfile.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <stdarg.h>
#include <time.h>
#include <utime.h>
#include <threads.h>
#include <wchar.h>
#include <linux/aio_abi.h>
#include <mqueue.h>
#include <semaphore.h>
#include <sys/msg.h>
#include <sys/sem.h>

#include "../core/bs_buffer.h"
#include "../core/bs_config.h"
#include "../core/bs_local.h"
#include "../core/bs_str.h"
#include "../core/bs_text.h"

/* glibc's fortified and internal entry points have no prototype of their own. */
ssize_t __read_chk(int, void *, size_t, size_t);
ssize_t __recv_chk(int, void *, size_t, size_t, int);
ssize_t __recvfrom_chk(int, void *, size_t, size_t, int, struct sockaddr *, socklen_t *);
int __poll_chk(struct pollfd *, nfds_t, int, size_t);
int __ppoll_chk(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *, size_t);
int __vwprintf_chk(int, const wchar_t *, va_list);
int __vfwprintf_chk(FILE *, int, const wchar_t *, va_list);
int __wprintf_chk(int, const wchar_t *, ...);
int __fwprintf_chk(FILE *, int, const wchar_t *, ...);
char *__fgets_chk(char *, size_t, int, FILE *);
char *__fgets_unlocked_chk(char *, size_t, int, FILE *);
size_t __fread_chk(void *, size_t, size_t, size_t, FILE *);
size_t __fread_unlocked_chk(void *, size_t, size_t, size_t, FILE *);
ssize_t __getdelim(char **, size_t *, int, FILE *);
int __uflow(FILE *);
int __overflow(FILE *, int);
int __vfprintf_chk(FILE *, int, const char *, va_list);
int __vprintf_chk(int, const char *, va_list);
int __vdprintf_chk(int, int, const char *, va_list);
int __fprintf_chk(FILE *, int, const char *, ...);
int __printf_chk(int, const char *, ...);
int __dprintf_chk(int, int, const char *, ...);
int __underflow(FILE *);
wint_t __wuflow(FILE *);
wint_t __wunderflow(FILE *);
int __isoc99_vscanf(const char *, va_list);
int __isoc99_vfscanf(FILE *, const char *, va_list);
int __isoc99_scanf(const char *, ...);
int __isoc99_fscanf(FILE *, const char *, ...);
/* libaio's, when a program uses it: no header here. */
int io_getevents(void *, long, long, struct io_event *, struct timespec *);

#include "sys.h"
#include "guard.h"

#define BS_EXPORT __attribute__((visibility("default")))

/* What every process touches as it starts and ends, even one that writes
 * nothing (a shell's `true`): kept in .data, on the page the dynamic
 * linker writes anyway, rather than spread over pages of .bss that would
 * each cost a page fault (tens of microseconds on some virtual machines). */
#define BS_STARTUP __attribute__((section(".data.bs_startup")))
/* The same for code: BS_TEXT_START and BS_TEXT_HOT (core/bs_text.h). */

/* A hook that does one thing before its real function: most of them. */
#define BS_HOOK(ret, name, params, args, ...)				\
	BS_EXPORT ret name params					\
	{								\
		__VA_ARGS__;						\
		return BS_REAL(name) args;				\
	}

/* ---- the configuration (init.c) ------------------------------------------------ */

extern struct bs_config bs_cfg;
/* Set once the configuration is good and the process may be buffered. */
extern int bs_active;

/* Read the configuration and resolve the real functions, once. Safe to
 * call from any hook, before the constructor, from several threads. */
void bs_init(void);

/* The fd the stats go to when they go to stderr: 2, or a copy of it kept
 * when the program closed or replaced fd 2 (coreutils close stderr). */
int bs_stats_fd(void);
/* fd is about to be closed or replaced: if it is that stderr, keep a copy. */
void bs_stats_keep_stderr(int fd);

/* ---- buffered fds (files.c) -------------------------------------------------- */

enum bs_kind { BS_KIND_FILE, BS_KIND_PIPE, BS_KIND_SOCKET, BS_KIND_TTY,
	       BS_KIND_NULL };

/* One open file's buffer, shared by every fd that refers to that open file
 * (invariant 9). Aligned so that fd table entries can carry a mode. */
struct bs_file {
	struct bs_buffer buf;
	int fd;			/* delivery goes through this member */
	int nfds;		/* members: fds whose entries point here */
	uint8_t kind;		/* enum bs_kind */
	uint8_t mode;		/* enum bs_mode of the fd that made it (stats) */
	uint8_t append;		/* opened with O_APPEND */
	uint8_t closed;		/* no members left; kept only for its stats */
	uint8_t fork_skip;	/* not held across a fork: another thread was
				 * delivering it */
	uint8_t no_memory;	/* none for a buffer: writes go straight out */
	uint8_t local_error;	/* a thread buffer may keep a failure that the
				 * next write of any thread reports */
	uint8_t nowait_ok;	/* a pipe or socket: RWF_NOWAIT may be asked
				 * (files.c, sink_now) */
	dev_t dev;		/* the file, to find other fds on it */
	union {
		ino_t ino;
		/* a free file, retired and off the list (closed: a reader
		 * still walking there looks at closed, not at ino) */
		struct bs_file *free_next;
	};
	uint32_t bound_ms;	/* the longest a byte may wait; 0: no bound */
	uint32_t mapped;	/* bytes mapped at buf.data (at most 1 GiB and a
				 * page); 0: none */
	uint64_t first_ns;	/* when a byte entered it empty; 0: not stamped */
	struct bs_local *locals;	/* BUFSHIM_THREADS=local: the threads'
					 * buffers (buf then only passes through) */
	struct bs_file *next;	/* every file, for process-wide deliveries */
} __attribute__((aligned(8)));

/*
 * An fd table entry: 0 when the fd is not judged yet, BS_ENT_PASS when its
 * writes go straight through, BS_ENT_LOOK when they go straight through
 * after the bytes we hold for its file (another open of a regular file we
 * buffer, with an offset of its own), else its file's buffer with this
 * fd's own mode in the low bits (NONE for an fd that only shares a
 * buffered file: its writes go out at once, with what is buffered, in
 * order).
 */
typedef uintptr_t bs_ent;
#define BS_ENT_PASS ((bs_ent)1)
#define BS_ENT_LOOK ((bs_ent)2)
/* an fd on a terminal that is not chosen (/dev/tty, say, while stdout is
 * the same terminal): straight through after what we hold for terminals */
#define BS_ENT_LOOK_TTY ((bs_ent)3)

/* A buffered fd costs its buffer, its file and its table entry: the
 * benchmarks promise at most the buffer size + 256 bytes. */
_Static_assert(sizeof(struct bs_file) + sizeof(bs_ent) <= 256,
	       "a buffered fd costs more than its buffer + 256 bytes");

static inline struct bs_file *bs_ent_file(bs_ent e)
{
	return (struct bs_file *)(e & ~(bs_ent)3);
}

static inline enum bs_mode bs_ent_mode(bs_ent e)
{
	return (enum bs_mode)(e & 3);
}

/* What a terminal shows waits at most this long (invariant 4). */
#define BS_TTY_BOUND_MS 50

/* The fd table's first chunk is inline: the pass-through path is a few
 * loads. Larger fds take the slow path (files.c). */
#define BS_FDTAB_CHUNK 4096
extern bs_ent bs_fdtab0[BS_FDTAB_CHUNK];
bs_ent bs_fdtab_get_slow(int fd);

static inline bs_ent bs_fdtab_get(int fd)
{
	if (__builtin_expect((unsigned)fd < BS_FDTAB_CHUNK, 1))
		return __atomic_load_n(&bs_fdtab0[fd], __ATOMIC_ACQUIRE);
	return bs_fdtab_get_slow(fd);
}

/* Judge fd and remember the verdict: chosen, eligible (invariant 7),
 * sharing an open file with a buffered fd? BS_ENT_PASS when not open. */
bs_ent bs_fd_judge(int fd);

/* fd was just made by the kernel: what we knew of that number was about a
 * file closed behind our back, and goes. Returns fd. */
int bs_fd_fresh(int fd);

/* fd is about to stop naming its file (close, dup2 onto it, freopen...).
 * When it is its buffer's last member the bytes are delivered first; with
 * report, the errno of a failure is returned. Other members keep the
 * buffer: the file stays open through them. */
int bs_fd_release(int fd, int report);

/* newfd names oldfd's open file now (dup, dup2, dup3, F_DUPFD): it joins
 * oldfd's buffer, in its own mode, without a syscall. */
void bs_fd_join(int newfd, int oldfd);

/* fd's open file changed its flags (F_SETFL, FIONBIO): deliver, and judge
 * every fd on that file anew. */
void bs_fd_regroup(int fd);

/* Deliver fd's buffer before the program touches its file (fsync, lseek,
 * pwrite...). With report, returns the errno of a delivery failure (now or
 * earlier) for the caller to report, else 0; without it a failure waits for
 * the next write, fsync or close. */
int bs_fd_deliver(int fd, int report);

/* Deliver the buffered fds in [first, last]; with closing, forget them
 * (close_range, closefrom). */
void bs_fd_range_release(unsigned first, unsigned last, int closing);

/* Forget every fd that is no longer open (after fcloseall and the like). */
void bs_fd_forget_closed(void);

/* Set when a buffer may hold bytes; cleared by bs_deliver_all. */
extern int bs_dirty;

/* Set by bs_stop_buffering: nothing new is buffered after it. */
extern int bs_stopped;

/* Deliver every buffer (reason why). A failure is kept for the next call
 * on that fd to report; with at_exit it is said on stderr instead. 1 when
 * a signal that waits for this thread interrupted it: see bs_yielded. */
int bs_deliver_all(enum bs_reason why, int at_exit);

/* A delivery at a boundary (BS_YIELD) that a signal waiting for this
 * thread interrupted: the caller leaves the guard, so that the signal
 * runs (its handler may be what the program waits for), and delivers
 * again. Without this, a handler waited for as long as a reader did not
 * read. */
static inline int bs_yielded(int rc)
{
	return rc < 0 && errno == EINTR && bs_self.deferred != 0;
}

/* The same from one of the program's calls (sync, exec, spawn): inside
 * the guard, the program's errno kept. Nothing when inside already. */
void bs_deliver_all_now(enum bs_reason why, int at_exit);

/* A signal stops (final 0) or ends (final 1) the process: deliver within
 * a moment (a stop) or a second (a death), not waiting for a reader that
 * stopped reading nor on a lock another thread holds for longer;
 * self_inside: this thread may hold one itself (a fault inside the
 * library), so none is waited for; but_ttys: the stop is for the terminal
 * (SIGTTOU, SIGTTIN), which is not written. */
void bs_deliver_all_hurried(enum bs_reason why, int final, int self_inside, int but_ttys);

/* Whether a write to the terminal fd would stop this process: it is in
 * the background and the terminal has TOSTOP. */
int bs_tty_stops_us(int fd);

/* The program is about to wait: deliver everything, if anything waits. */
void bs_deliver_before_wait(void);

/* Deliver everything and write straight through from now on: the process
 * ends, aborts, or gave a stream back to stdio. */
void bs_stop_buffering(void);

/*
 * Before the program reads fd (read, pread, stdio, mmap, the source of
 * sendfile...): deliver everything when the read may wait on something
 * outside the process (a pipe, socket, terminal), the buffers of regular
 * files when fd is on one of them, nothing otherwise. Cached per fd.
 * 1 when a handler without SA_RESTART ran during that delivery and fd
 * would block: the read is to say EINTR.
 */
int bs_before_read_slow(int fd, int may_wait);

/* Whether something is held that this thread may deliver: one load when
 * nothing is. */
static inline int bs_holding(void)
{
	return bs_unlikely(__atomic_load_n(&bs_dirty, __ATOMIC_RELAXED)) && !bs_inside();
}

static inline int bs_before_read(int fd)
{
	if (bs_holding() && fd >= 0)
		return bs_before_read_slow(fd, 1);
	return 0;
}

/* The same when the program does not wait but acts on fd's file at an
 * offset or its end (pwrite, ftruncate, fallocate, lseek or fseek to
 * SEEK_END...): the buffers of regular files go first when fd is on one. */
static inline void bs_before_look(int fd)
{
	if (bs_holding() && fd >= 0)
		(void)bs_before_read_slow(fd, 0);
}

/* A write to a terminal through an fd not chosen, or through a buffer of
 * its own beside another terminal's (/dev/tty and stdout, both chosen):
 * what we hold for the other terminals goes first (a partial line held in
 * line mode would come after it). self: the buffer written, or NULL. */
extern int bs_tty_files;
void bs_before_tty_write_slow(const struct bs_file *self);
static inline void bs_before_tty_write(const struct bs_file *self)
{
	if (bs_holding() && __atomic_load_n(&bs_tty_files, __ATOMIC_RELAXED))
		bs_before_tty_write_slow(self);
}

/* The program looks at the regular file (dev, ino) another way than by
 * writing its buffered fd (stat, truncate, a truncating open): deliver its
 * bytes first. 1 when there were some. These keep errno. */
int bs_inode_deliver(dev_t dev, ino_t ino);

/* The same for the file fd is open on, and for the file at path as
 * fstatat(dirfd, path, flags) finds it (a NULL path: dirfd's file). */
int bs_inode_deliver_fd(int fd);

/* Before an open of path (flags as open's): a FIFO's blocking open waits
 * for a peer, so everything goes; a regular file it truncates gets its
 * bytes first. One stat of the path, and only when something is held. */
void bs_before_open(int dirfd, const char *path, int flags);
int bs_inode_deliver_path(int dirfd, const char *path, int flags);

/* fork: hold every buffer, empty, across the real fork; release them in
 * the parent and the child (the child forgets the parent's stats). */
void bs_files_fork_hold(void);
void bs_files_fork_release(int child);

/* Visit every buffer, under files_lock (the stats, the timer). */
void bs_files_each(void (*fn)(struct bs_file *f, void *arg), void *arg);

/* The same, files_lock held only to list them (a few at a time): fn may
 * block, and may be given a file retired and reused meanwhile. */
void bs_files_each_batched(void (*fn)(struct bs_file *f, void *arg), void *arg);

/* The same without files_lock, for a process that dies of a signal. */
void bs_files_each_unlocked(void (*fn)(struct bs_file *f, void *arg), void *arg);

/* Whether any open buffer has a stamp, without files_lock (the timer). */
int bs_any_stamped(void);

const char *bs_kind_name(enum bs_kind kind);

/* ---- the latency bound (timer.c) ------------------------------------------ */

/* f holds bytes and no stamp: stamp it, and make sure the helper runs. */
void bs_timer_stamp(struct bs_file *f);
/* f's rest is the helper's to deliver, now, waiting for its reader as
 * long as it takes; 0, or -1 when no thread can be started. errno kept. */
int bs_timer_hand_over(struct bs_file *f);
/* Whether the helper is delivering f now (its bytes all accepted ones). */
int bs_timer_delivering(const struct bs_file *f);
/* In a fork child: the helper did not come along. */
void bs_timer_fork_child(void);

/* ---- the library's own threads (process.c) -------------------------------- */

/* A detached thread running fn(NULL), with a small stack and every signal
 * blocked (the program's signals are never ours to take): 0, or
 * pthread_create's error. The timer's helper and asynchronous delivery's. */
int bs_start_thread(void *(*fn)(void *));

/* ---- asynchronous delivery (async.c) -------------------------------------- */

/* f, a new regular file, delivers its full buffers through the helper. */
void bs_async_file_new(struct bs_file *f);
/* f's last fd is closed (files_lock held): its second block given back. */
void bs_async_file_retire(struct bs_file *f);
/* In a fork child: the helper did not come along. */
void bs_async_fork_child(void);
/* Wait until b has no block in flight, until until_ns at most (0: no
 * limit): 1 when it has none, 0 when the time ran out. Needs no lock: the
 * lock's holder never touches the block in flight. */
int bs_async_landed_by(struct bs_buffer *b, uint64_t until_ns);

/* n rounded up to whole pages. */
size_t bs_page_round(size_t n);

/* ---- the stdio bridge (stdio.c) ------------------------------------------ */

/* Replace stdout and stderr by streams that hand their bytes to us. */
void bs_stdio_bridge(void);
/* fp, or the original stream if fp was ours (which is then given up). */
FILE *bs_stdio_unbridge(FILE *fp);
/* fclose of one of our streams: 1 and *rc, else 0. */
int bs_stdio_close_bridged(FILE *fp, int *rc);
/* The fd of fp, ours included (fileno without the hook). */
int bs_stdio_fd(FILE *fp);

/* ---- stats (stats.c) ------------------------------------------------------- */

/* Keep the program's name for the stats lines (at start). */
void bs_stats_name(void);
/* Stats lines for every buffer that did work, then reset. */
void bs_report_stats(void);
/* The same while the process dies of a signal: no lock waited for. */
void bs_report_stats_hurried(void);

/* ---- signals (signals.c) ---------------------------------------------------- */

/* The process holds its first byte: default actions that end or stop it
 * go through the library from now on. */
void bs_signals_arm(void);

/* ---- the process (process.c) ---------------------------------------------- */

/* The process ends (exit, _exit, exec): final delivery, stats. */
void bs_end_process(void);

/* vfork's stub calls this first: delivers, marks the thread, and gives
 * back the real vfork to jump to (hooks_proc.c). */
void *bs_vfork_prepare(void);

/* fork, as the fork handlers see it; _Fork calls them itself. */
void bs_fork_prepare(void);
void bs_fork_parent(void);
void bs_fork_child(void);

/* ---- the write path ----------------------------------------------------------- */

/* After a write to f: keep the flags that waits and the timer look at. */
static inline void bs_note_pending(struct bs_file *f)
{
	extern int bs_armed;

	if (bs_unlikely(!__atomic_load_n(&bs_dirty, __ATOMIC_RELAXED)) &&
	    bs_buffer_pending(&f->buf)) {
		__atomic_store_n(&bs_dirty, 1, __ATOMIC_RELAXED);
		if (!__atomic_load_n(&bs_armed, __ATOMIC_RELAXED))
			bs_signals_arm();
	}
	if (bs_unlikely(f->bound_ms != 0) &&
	    !__atomic_load_n(&f->first_ns, __ATOMIC_RELAXED) && bs_buffer_pending(&f->buf))
		bs_timer_stamp(f);
}

/* Begin a write to fd: its buffer and this fd's mode, inside the guard,
 * or NULL for straight through (outside it). */
static inline struct bs_file *bs_write_begin(int fd, enum bs_mode *mode)
{
	bs_ent e;

	if (bs_inside())
		return NULL;
	e = bs_fdtab_get(fd);
	if (e == BS_ENT_PASS)
		return NULL;
	bs_enter();
	if (bs_unlikely(!e))
		e = bs_fd_judge(fd);
	if (bs_unlikely(!bs_ent_file(e))) {	/* PASS or LOOK */
		bs_leave();
		if (e == BS_ENT_LOOK)
			bs_before_look(fd);
		else if (e == BS_ENT_LOOK_TTY)
			bs_before_tty_write(NULL);
		return NULL;
	}
	if (bs_unlikely(bs_ent_file(e)->kind == BS_KIND_TTY) &&
	    __atomic_load_n(&bs_tty_files, __ATOMIC_RELAXED) > 1 &&
	    __atomic_load_n(&bs_dirty, __ATOMIC_RELAXED))
		bs_before_tty_write_slow(bs_ent_file(e));	/* (inside) */
	*mode = bs_ent_mode(e);
	return bs_ent_file(e);
}

/* End a write begun with bs_write_begin: the flags that waits and the
 * timer look at kept (errno too), and the guard left. */
static inline ssize_t bs_write_end(struct bs_file *f, ssize_t r)
{
	bs_note_pending(f);
	bs_leave();
	return r;
}

/* write and writev are cancellation points: a buffered one makes no
 * syscall, so it checks here, before the library holds anything. */
static inline void bs_cancel_point(void)
{
	extern char __libc_single_threaded;

	if (!__libc_single_threaded && !bs_inside())
		pthread_testcancel();
}

/* A write that a signal interrupted inside the library, whose handler
 * asked for SA_RESTART: the kernel would have made it again. */
static inline int bs_write_again(ssize_t r)
{
	if (bs_likely(r >= 0) || errno != EINTR || !bs_self.restart)
		return 0;
	bs_self.restart = 0;
	return 1;
}

/* ---- per-thread buffers (locals.c) ------------------------------------------ */

/* BUFSHIM_THREADS=local: every buffered write goes to its thread's own
 * buffer for the file, and f->buf only passes through. */
extern int bs_threads_local;

/* bs_file_write and bs_file_write1 in local mode (the guard left). */
ssize_t bs_file_local_writev(struct bs_file *f, const struct iovec *iov, int n,
			enum bs_mode mode);
ssize_t bs_file_local_write1(struct bs_file *f, const void *buf, size_t n,
			enum bs_mode mode);

/* BUFSHIM_THREADS=local from now on (at start, one thread). */
void bs_local_start(void);

/* A buffer f->buf made anew (its threads' buffers are given up, empty). */
void bs_local_file_new(struct bs_file *f);

/* In a fork child: the threads that did not come along give their
 * buffers up; what another thread was delivering is the parent's. */
void bs_local_fork_child(struct bs_file *f);

/* r from a delivery of f's thread buffers: when some keep a failure, the
 * next write of any thread on f reports it (invariant 3). */
static inline void bs_local_note_kept(struct bs_file *f, int r)
{
	if (bs_unlikely(r > 0))
		__atomic_store_n(&f->local_error, 1, __ATOMIC_SEQ_CST);
}

/* Whether f, or one of its threads' buffers, holds bytes (a snapshot). */
static inline int bs_file_pending(const struct bs_file *f)
{
	return bs_buffer_pending(&f->buf) ||
	       (bs_unlikely(f->locals != NULL) &&
		bs_local_pending(__atomic_load_n(&f->locals, __ATOMIC_ACQUIRE)));
}

/* A write begun with bs_write_begin, into f's buffer in mode. */
static inline ssize_t bs_file_write(struct bs_file *f, const struct iovec *iov,
				    int n, enum bs_mode mode)
{
	if (bs_unlikely(bs_threads_local))
		return bs_file_local_writev(f, iov, n, mode);
	return bs_write_end(f, bs_buffer_writev_as(&f->buf, iov, n, mode));
}

/* The same for write(2)'s one buffer. */
static inline ssize_t bs_file_write1(struct bs_file *f, const void *buf,
				     size_t n, enum bs_mode mode)
{
	if (bs_unlikely(bs_threads_local))
		return bs_file_local_write1(f, buf, n, mode);
	return bs_write_end(f, bs_buffer_write_as(&f->buf, buf, n, mode));
}

#endif
