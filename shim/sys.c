/* SPDX-License-Identifier: MIT */
/*
 * sys.c — the real functions, the raw syscalls that need more than one
 * line, and diagnostics. The only file of the library that calls a name
 * the library also exports (see sys.h).
 */
#include "shim.h"

#include <dlfcn.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <sys/mman.h>
#include <time.h>

struct bs_real bs_real;
int bs_write_is_libc;

BS_TEXT_HOT void *bs_resolve(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

/* Whether fn is the C library's write (no other preload library's): the
 * C library's own alias of it, which no preload library defines, is the
 * same function. (A dlopen of the C library to ask cost 3.5 times more.) */
BS_TEXT_HOT static int is_libc_write(void *fn)
{
	return fn && bs_resolve("__write") == fn;
}

/*
 * The rest resolve on first use (BS_REAL). These may first be needed in a
 * signal handler, where dlsym is not safe: they are looked up when the
 * first buffer is made, in a process that buffers at all (a lookup of them
 * all at every process start cost 8000 instructions).
 */
BS_TEXT_HOT void bs_sys_resolve(void)
{
	static int done;

	if (__atomic_load_n(&done, __ATOMIC_ACQUIRE))
		return;
	bs_write_is_libc = is_libc_write((void *)BS_REAL(write));
	(void)BS_REAL(writev);
	(void)BS_REAL(close);
	(void)BS_REAL(syscall);
	(void)BS_REAL(_exit);
	(void)BS_REAL(_Exit);
	(void)BS_REAL(sigaction);
	__atomic_store_n(&done, 1, __ATOMIC_RELEASE);
}

#if !BS_ARCH_RAW_SYSCALL
long bs_arch_syscall6(long n, long a, long b, long c, long d, long e, long f)
{
	long r = BS_REAL(syscall)(n, a, b, c, d, e, f);

	return r == -1 ? -errno : r;
}
#endif

ssize_t bs_sys_write_early(int fd, const void *buf, size_t n)
{
	return bs_sys3(SYS_write, fd, buf, n);
}

ssize_t bs_sys_writev_early(int fd, const struct iovec *iov, int n)
{
	return bs_sys3(SYS_writev, fd, iov, n);
}

/* ---- calls whose kernel form differs from the C library's ----------------------- */

/* struct stat is the kernel's own on the processors with a raw syscall;
 * elsewhere the C library translates. */
BS_TEXT_START int bs_sys_fstat(int fd, struct stat *st)
{
#if BS_ARCH_RAW_SYSCALL
	return (int)bs_sys2(SYS_fstat, fd, st);
#else
	return BS_REAL(fstat)(fd, st);
#endif
}

int bs_sys_fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
#if BS_ARCH_RAW_SYSCALL
	return (int)bs_sys4(SYS_newfstatat, dirfd, path, st, flags);
#else
	return BS_REAL(fstatat)(dirfd, path, st, flags);
#endif
}

/* ppoll: AArch64 has no poll syscall. */
int bs_sys_poll(struct pollfd *p, nfds_t n, int timeout_ms)
{
	struct timespec ts = { .tv_sec = timeout_ms / 1000,
			       .tv_nsec = (long)(timeout_ms % 1000) * 1000000 };

	return (int)bs_sys_call(SYS_ppoll, (long)p, (long)n,
				timeout_ms < 0 ? 0 : (long)&ts, 0, _NSIG / 8, 0);
}

BS_TEXT_HOT void *bs_sys_map(size_t len)
{
	long r = bs_sys_call(SYS_mmap, 0, (long)len, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return r == -1 ? NULL : (void *)r;
}

void bs_sys_unmap(void *p, size_t len)
{
	bs_sys_call(SYS_munmap, (long)p, (long)len, 0, 0, 0, 0);
}

void *bs_sys_remap(void *p, size_t old, size_t len)
{
	long r = bs_sys_call(SYS_mremap, (long)p, (long)old, (long)len, MREMAP_MAYMOVE, 0, 0);

	return r == -1 ? NULL : (void *)r;
}

int bs_sys_futex_wait(int *addr, int val)
{
	return bs_sys_call(SYS_futex, (long)addr, FUTEX_WAIT_PRIVATE, val, 0, 0, 0) == 0 ? 0 : -1;
}

int bs_sys_futex_wait_ns(int *addr, int val, uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000u),
			       .tv_nsec = (long)(ns % 1000000000u) };

	return bs_sys_call(SYS_futex, (long)addr, FUTEX_WAIT_PRIVATE, val, ns ? (long)&ts : 0, 0,
			   0) == 0 ? 0 : -1;
}

BS_TEXT_HOT void bs_sys_futex_wake(int *addr)
{
	bs_sys_call(SYS_futex, (long)addr, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0);
}

/* A fork child inherits the registration; an exec starts anew (and so
 * does the library). */
int bs_sys_fence_register(void)
{
	return bs_sys2(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0) < 0 ? -1 : 0;
}

int bs_sys_fence_others(void)
{
	return bs_sys2(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0) < 0 ? -1 : 0;
}

int bs_sys_barrier_register(void)
{
	int err = errno, rc;

	rc = (int)bs_sys2(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0) == 0 ? 0 : -1;
	errno = err;
	return rc;
}

void bs_sys_barrier(void)
{
	int err = errno;

	/* a fork child may have to register again; the global barrier is
	 * slow (milliseconds) but needs no registration */
	if (bs_sys2(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0) < 0 &&
	    (bs_sys_barrier_register() < 0 ||
	     bs_sys2(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0) < 0))
		bs_sys2(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0);
	errno = err;
}

BS_TEXT_HOT int bs_sys_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	return BS_REAL(sigaction)(sig, act, old);
}

uint64_t bs_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- the C library's streams ------------------------------------------------------ */

int bs_libc_fflush(FILE *fp)
{
	return BS_REAL(fflush)(fp);
}

int bs_libc_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
	return BS_REAL(pthread_cond_wait)(c, m);
}

int bs_libc_cond_clockwait(pthread_cond_t *c, pthread_mutex_t *m, clockid_t clk,
			   const struct timespec *ts)
{
	return BS_REAL(pthread_cond_clockwait)(c, m, clk, ts);
}

int bs_libc_fclose(FILE *fp)
{
	return BS_REAL(fclose)(fp);
}

/* ---- diagnostics ------------------------------------------------------------------- */

void bs_hurry_start(uint64_t ns)
{
	if (!bs_self.hurry_until)
		bs_self.hurry_until = bs_now_ns() + ns;
}

int bs_writable_by(int fd, uint64_t until)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	uint64_t now;
	int r;

	do {	/* past the time, only what takes bytes at once */
		now = bs_now_ns();
		r = bs_sys_poll(&p, 1, now >= until ? 0 : (int)((until - now + 999999) / 1000000));
	} while (r < 0 && errno == EINTR);
	return r > 0;
}

void bs_write_all(int fd, const char *buf, size_t n)
{
	for (int tries = 0; n && tries < 100; tries++) {
		uint64_t until = bs_self.hurry_until;
		ssize_t r;

		/* a dying process's last words wait for a stalled reader of
		 * its stderr no longer than its bytes do */
		if (until && !bs_writable_by(fd, until))
			return;
		r = bs_sys_write(fd, buf, n);

		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };

			bs_sys_poll(&p, 1, 1000);
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return;
		buf += r;
		n -= (size_t)r;
	}
}

void bs_diag(const char *line)
{
	char buf[512];
	struct bs_str s;

	bs_str_init(&s, buf, sizeof buf);
	bs_str_add(&s, line);
	bs_str_add(&s, "\n");
	bs_write_all(2, buf, s.len);
}
