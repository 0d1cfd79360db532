/* SPDX-License-Identifier: MIT */
/*
 * sys.h — the library's way down to the kernel and the C library.
 *
 * The library exports write, close, fcntl, syscall and ~200 other names. A
 * call from its own code to one of those names would bind to its own hook,
 * not to the C library, and the hook's behaviour would silently become the
 * library's. So internal code never calls an interposable name: it calls
 * the bs_sys_* functions here, which make the syscall themselves (arch.h)
 * or call the real function from the table, and sys.c is the only file
 * that names such an entry point (a test checks the built library for it).
 */
#ifndef BS_SYS_H
#define BS_SYS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <termios.h>

#include "arch.h"

#define bs_likely(x) __builtin_expect(!!(x), 1)
#define bs_unlikely(x) __builtin_expect(!!(x), 0)

/* ---- the real functions, one table -------------------------------------------- */

#include "real_funcs.h"

struct bs_real {
#define BS_REAL_FIELD(name, ret, args) ret (*name) args;
	BS_REAL_FUNCS(BS_REAL_FIELD)
#undef BS_REAL_FIELD
};

extern struct bs_real bs_real;

/* The next definition of name after this library (dlsym RTLD_NEXT). */
void *bs_resolve(const char *name);

/* The real function, looked up now if it was not yet. Hooks call their own
 * real function this way; internal code calls bs_sys_* instead. */
#define BS_REAL(name) ({						\
	if (bs_unlikely(bs_real.name == NULL))				\
		bs_real.name = (__typeof__(bs_real.name))bs_resolve(#name); \
	bs_real.name;							\
})

/* Look up the real functions a signal handler may reach (dlsym is not
 * safe there), and whether write's is the C library's. Once, at start. */
void bs_sys_resolve(void);

/* ---- raw syscalls ------------------------------------------------------------- */

/* A syscall, with the C library's convention: -1 and errno on failure. No
 * cancellation point, no hook, safe in a signal handler. */
static inline long bs_sys_call(long n, long a, long b, long c, long d, long e, long f)
{
	long r = bs_arch_syscall6(n, a, b, c, d, e, f);

	if (bs_unlikely((unsigned long)r > -4096UL)) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

#define bs_sys0(n) bs_sys_call(n, 0, 0, 0, 0, 0, 0)
#define bs_sys1(n, a) bs_sys_call(n, (long)(a), 0, 0, 0, 0, 0)
#define bs_sys2(n, a, b) bs_sys_call(n, (long)(a), (long)(b), 0, 0, 0, 0)
#define bs_sys3(n, a, b, c) bs_sys_call(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define bs_sys4(n, a, b, c, d) bs_sys_call(n, (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)

static inline int bs_sys_close(int fd)
{
	return (int)bs_sys1(SYS_close, fd);
}

static inline int bs_sys_fcntl(int fd, int cmd, long arg)
{
	return (int)bs_sys3(SYS_fcntl, fd, cmd, arg);
}

static inline int bs_sys_ioctl(int fd, unsigned long req, void *arg)
{
	return (int)bs_sys3(SYS_ioctl, fd, req, arg);
}

static inline off_t bs_sys_lseek(int fd, off_t off, int whence)
{
	return (off_t)bs_sys3(SYS_lseek, fd, off, whence);
}

static inline int bs_sys_open(const char *path, int flags, mode_t mode)
{
	return (int)bs_sys4(SYS_openat, AT_FDCWD, path, flags, mode);
}

/* Whether two of our fds share one open file description. */
static inline int bs_sys_same_file(int fd1, int fd2)
{
	long self = bs_sys0(SYS_getpid);

	return bs_sys_call(SYS_kcmp, self, self, KCMP_FILE, fd1, fd2, 0) == 0;
}

/* The thread's signal mask, as the kernel keeps it: bit sig - 1. */
static inline int bs_sys_sigmask(int how, const uint64_t *set, uint64_t *old)
{
	return (int)bs_sys4(SYS_rt_sigprocmask, how, set, old, sizeof(uint64_t));
}

/* sig again, with its siginfo, to this thread. */
static inline int bs_sys_requeue(int sig, siginfo_t *info)
{
	return (int)bs_sys4(SYS_rt_tgsigqueueinfo, bs_sys0(SYS_getpid), bs_sys0(SYS_gettid),
			    sig, info);
}

/* The C library's sigaction (it gives the kernel its return trampoline);
 * looked up at start, as it runs in signal handlers. */
int bs_sys_sigaction(int sig, const struct sigaction *act, struct sigaction *old);

int bs_sys_fstat(int fd, struct stat *st);
int bs_sys_fstatat(int dirfd, const char *path, struct stat *st, int flags);
int bs_sys_poll(struct pollfd *p, nfds_t n, int timeout_ms);
/* Anonymous private memory, or NULL. */
void *bs_sys_map(size_t len);
void bs_sys_unmap(void *p, size_t len);
/* A mapping of old bytes resized to len, moved if need be, or NULL. */
void *bs_sys_remap(void *p, size_t old, size_t len);
/* A futex wait while *addr == val (0 when a wake ended it, else -1), and
 * a wake of one waiter. */
int bs_sys_futex_wait(int *addr, int val);
/* The same, for at most ns (0: no limit). */
int bs_sys_futex_wait_ns(int *addr, int val, uint64_t ns);
void bs_sys_futex_wake(int *addr);
/* A memory barrier on every running thread of the process (membarrier),
 * once registered: 0, or -1 when the kernel refuses it. */
int bs_sys_fence_register(void);
int bs_sys_fence_others(void);
/* Make every thread of the process pass a full memory barrier
 * (membarrier(2)); bs_sys_barrier_register first: 0, or -1 when the
 * kernel has no such barrier. errno kept. */
int bs_sys_barrier_register(void);
void bs_sys_barrier(void);

/* ---- the writes that deliver -------------------------------------------------- */

/*
 * Deliveries go through the next write(2) in the chain, so that another
 * preload library after ours sees every byte. Before it is known (a write
 * from another library's constructor) the syscall is made directly.
 */
ssize_t bs_sys_write_early(int fd, const void *buf, size_t n);
ssize_t bs_sys_writev_early(int fd, const struct iovec *iov, int n);

/* (The early forms are out of line: the pass-through write stays a jump.) */
static inline ssize_t bs_sys_write(int fd, const void *buf, size_t n)
{
	if (bs_likely(bs_real.write != NULL))
		return bs_real.write(fd, buf, n);
	return bs_sys_write_early(fd, buf, n);
}

static inline ssize_t bs_sys_writev(int fd, const struct iovec *iov, int n)
{
	if (bs_likely(bs_real.writev != NULL))
		return bs_real.writev(fd, iov, n);
	return bs_sys_writev_early(fd, iov, n);
}

/* Set at start when the next write(2) in the chain is the C library's own:
 * then the syscall itself does the same, one call frame shallower. After a
 * syscall each frame's return costs ~10 ns (the return predictions are
 * gone), which is what a write of a whole buffer pays on top of the kernel. */
extern int bs_write_is_libc;

static inline ssize_t bs_sys_write_direct(int fd, const void *buf, size_t n)
{
#if BS_ARCH_RAW_SYSCALL
	if (bs_likely(bs_write_is_libc))
		return bs_sys3(SYS_write, fd, buf, n);
#endif
	return bs_sys_write(fd, buf, n);
}

/* CLOCK_MONOTONIC in ns (the vDSO: no syscall, safe in a handler). */
uint64_t bs_now_ns(void);

/* ---- the C library's streams --------------------------------------------------- */

int bs_libc_fflush(FILE *fp);
/* The C library's condition waits (the library's own helper thread). */
int bs_libc_cond_wait(pthread_cond_t *c, pthread_mutex_t *m);
int bs_libc_cond_clockwait(pthread_cond_t *c, pthread_mutex_t *m, clockid_t clk,
			   const struct timespec *ts);
int bs_libc_fclose(FILE *fp);

/* ---- diagnostics --------------------------------------------------------------- */

/* While a signal stops or ends the process, the thread that delivers
 * waits for a reader until bs_self.hurry_until and no longer (guard.h).
 * bs_hurry_start sets it ns from now, unless it is set. Only that thread:
 * the writes of the others keep their meaning. */
#define BS_HURRY_DEATH_NS 1000000000u	/* a second */
#define BS_HURRY_STOP_NS 100000000u	/* 100 ms: a person pressed ^Z */
void bs_hurry_start(uint64_t ns);

/* Whether fd takes bytes before until (past it: now): a reader that
 * stopped reading must not keep a dying process alive. */
int bs_writable_by(int fd, uint64_t until);

/* All of buf to fd through the real write: EINTR, EAGAIN (another process
 * may have made our stderr non-blocking) and partial writes waited out. */
void bs_write_all(int fd, const char *buf, size_t n);

/* One line (a newline is added) on stderr. */
void bs_diag(const char *line);

#endif
