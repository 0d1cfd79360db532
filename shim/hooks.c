/* SPDX-License-Identifier: MIT */
/*
 * hooks.c — the interposed functions of writes and fd boundaries, and the
 * calls that look at a file we may hold bytes for. (hooks_proc.c,
 * hooks_wait.c and stdio.c hold the others; real_funcs.h lists them all.)
 *
 * Each one finds the buffer of its fd, works on it inside the guard, and
 * calls the real function. A call from inside the library, or from a signal
 * handler that interrupted it, goes straight through.
 */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/futex.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <utime.h>
#include <sys/xattr.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

/* The stat functions of the C library's old ABI: no header declares them. */
int __xstat(int v, const char *p, struct stat *st);
int __xstat64(int v, const char *p, struct stat64 *st);
int __lxstat(int v, const char *p, struct stat *st);
int __lxstat64(int v, const char *p, struct stat64 *st);
int __fxstat(int v, int fd, struct stat *st);
int __fxstat64(int v, int fd, struct stat64 *st);
int __fxstatat(int v, int d, const char *p, struct stat *st, int fl);
int __fxstatat64(int v, int d, const char *p, struct stat64 *st, int fl);

/* ---- writes ------------------------------------------------------------------- */

/* The buffered path, out of line so that the pass-through one needs no
 * stack frame: a few loads and a jump to the real write. */
BS_TEXT_HOT __attribute__((noinline)) static ssize_t write_once(int fd, const void *buf, size_t n)
{
	enum bs_mode mode;
	struct bs_file *f;

	bs_cancel_point();
	f = bs_write_begin(fd, &mode);
	if (!f)
		return bs_sys_write(fd, buf, n);
	if (bs_buffer_direct_ok(&f->buf, n, mode))
		return bs_write_end(f, bs_buffer_direct_done(&f->buf, buf, n, mode,
							     bs_sys_write_direct(fd, buf, n)));
	return bs_file_write1(f, buf, n, mode);
}

static ssize_t write_buffered(int fd, const void *buf, size_t n)
{
	ssize_t r;

	do
		r = write_once(fd, buf, n);
	while (bs_write_again(r));
	return r;
}

BS_TEXT_HOT BS_EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
	if (bs_likely(bs_fdtab_get(fd) == BS_ENT_PASS))
		return bs_sys_write(fd, buf, n);
	return write_buffered(fd, buf, n);
}

static ssize_t writev_once(int fd, const struct iovec *iov, int iovcnt)
{
	enum bs_mode mode;
	struct bs_file *f;

	bs_cancel_point();
	f = bs_write_begin(fd, &mode);
	if (!f)
		return bs_sys_writev(fd, iov, iovcnt);
	return bs_file_write(f, iov, iovcnt, mode);
}

BS_EXPORT ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
	ssize_t r;

	do
		r = writev_once(fd, iov, iovcnt);
	while (bs_write_again(r));
	return r;
}

/* ---- fd boundaries ---------------------------------------------------------------- */

/* rc from the real call, with a delivery error taking precedence: when
 * the call itself failed too (fsync of a pipe says EINVAL), the error
 * that lost bytes is the one the program must hear. */
static int with_error(int rc, int err)
{
	if (err) {
		errno = err;
		return -1;
	}
	return rc;
}

BS_TEXT_HOT BS_EXPORT int close(int fd)
{
	int err = bs_fd_release(fd, 1);

	return with_error(BS_REAL(close)(fd), err);
}

/*
 * Some programs make syscalls through the C library's syscall(): libuv
 * (Node and others) closes every fd that way, to avoid a cancellation
 * point, and asks statx so. Unseen, a close left our bytes for a file that
 * was gone (Node lost what writeSync wrote before closeSync). These two are
 * handled as their functions are; every other number passes through. Six
 * arguments are read whatever the call takes, as the C library's own
 * syscall() does.
 */
/* statx answered st (r its result) about a file we held bytes for, and
 * they are delivered now: it must be asked again. */
static int statx_again(long r, const struct statx *st)
{
	return r == 0 && bs_unlikely(__atomic_load_n(&bs_dirty, __ATOMIC_RELAXED)) &&
	       (st->stx_mask & STATX_TYPE) && S_ISREG(st->stx_mode) &&
	       bs_inode_deliver(makedev(st->stx_dev_major, st->stx_dev_minor),
				(ino_t)st->stx_ino);
}

/* Waits made through syscall(): futexes (a thread library of its own),
 * and libaio's completion waits. */
static int syscall_waits(long n, long a1)
{
	long op = a1 & FUTEX_CMD_MASK;

	if (n == SYS_futex)
		return op == FUTEX_WAIT || op == FUTEX_WAIT_BITSET || op == FUTEX_LOCK_PI ||
		       op == FUTEX_WAIT_REQUEUE_PI || op == 13 /* FUTEX_LOCK_PI2 */;
#ifdef SYS_futex_waitv
	if (n == SYS_futex_waitv)
		return 1;
#endif
	return n == SYS_io_getevents || n == SYS_io_pgetevents;
}

/* syscall(2) cannot know how many arguments its caller passed, so it reads
 * six, as the C library's does: those past the caller's may lie in the
 * caller's frame, where ASan would call the read an underflow. */
__attribute__((no_sanitize_address))
BS_EXPORT long syscall(long n, ...)
{
	va_list ap;
	long a[6];
	long r;
	int err;

	va_start(ap, n);
	a[0] = va_arg(ap, long);
	a[1] = va_arg(ap, long);
	a[2] = va_arg(ap, long);
	a[3] = va_arg(ap, long);
	a[4] = va_arg(ap, long);
	a[5] = va_arg(ap, long);
	va_end(ap);
	if (n == SYS_close && !bs_inside()) {
		err = bs_fd_release((int)a[0], 1);
		return with_error((int)BS_REAL(syscall)(n, a[0]), err);
	}
	if (syscall_waits(n, a[1]))
		bs_deliver_before_wait();
	r = BS_REAL(syscall)(n, a[0], a[1], a[2], a[3], a[4], a[5]);
	if (n == SYS_statx && statx_again(r, (const struct statx *)a[4]))
		r = BS_REAL(syscall)(n, a[0], a[1], a[2], a[3], a[4], a[5]);
	return r;
}

#define BS_SYNC_HOOK(name)						\
	BS_EXPORT int name(int fd)					\
	{								\
		int err = bs_fd_deliver(fd, 1);				\
									\
		return with_error(BS_REAL(name)(fd), err);		\
	}
BS_SYNC_HOOK(fsync)
BS_SYNC_HOOK(fdatasync)

/* The end of a socket's writing (any how: a shut read side may make the
 * peer shut its own): what we hold for it goes out first; after SHUT_WR it
 * never could (EPIPE, and SIGPIPE), and the peer would read an end where
 * the bytes should be. */
BS_EXPORT int shutdown(int fd, int how)
{
	int err = bs_fd_deliver(fd, 1);

	return with_error(BS_REAL(shutdown)(fd, how), err);
}

BS_TEXT_HOT BS_EXPORT int fclose(FILE *fp)
{
	int err, rc;

	if (bs_stdio_close_bridged(fp, &rc))
		return rc;
	err = bs_fd_release(bs_stdio_fd(fp), 1);
	rc = BS_REAL(fclose)(fp);
	if (rc == 0 && err) {
		errno = err;
		return EOF;
	}
	return rc;
}

/* freopen closes the stream's fd and opens another file on it. A delivery
 * error has no caller to go to here: one line on stderr. */
#define BS_FREOPEN_HOOK(name)						\
	BS_EXPORT FILE *name(const char *path, const char *mode, FILE *fp) \
	{								\
		FILE *r;						\
									\
		fp = bs_stdio_unbridge(fp);				\
		bs_fd_release(bs_stdio_fd(fp), 0);			\
		r = BS_REAL(name)(path, mode, fp);			\
		if (r)							\
			bs_fd_fresh(bs_stdio_fd(r));			\
		return r;						\
	}
BS_FREOPEN_HOOK(freopen)
BS_FREOPEN_HOOK(freopen64)

/* fdopen with "a" sets O_APPEND with the C library's own fcntl: as for
 * F_SETFL, what is held goes first and the fd is judged anew (held bytes
 * written after the flag would land at the end, not where the program's
 * offset was). */
BS_EXPORT FILE *fdopen(int fd, const char *mode)
{
	if (mode && strchr(mode, 'a'))
		bs_fd_regroup(fd);
	return BS_REAL(fdopen)(fd, mode);
}

/* daemon forks (the fork handlers deliver) and, unless noclose, puts
 * /dev/null on 0, 1 and 2 with the C library's own dup2: in the process
 * that returns, those fds are judged anew, not taken for what they were. */
BS_EXPORT int daemon(int nochdir, int noclose)
{
	int r = BS_REAL(daemon)(nochdir, noclose);

	if (r == 0 && !noclose)
		for (int fd = 0; fd <= 2; fd++)
			bs_fd_fresh(fd);
	return r;
}

/* ---- fds made or replaced ---------------------------------------------------------- */

BS_EXPORT int dup(int fd)
{
	int r = BS_REAL(dup)(fd);

	bs_fd_join(r, fd);
	return r;
}

/* newfd leaves its file (delivered if no other fd of ours keeps it open;
 * the kernel closes it silently, and a delivery error to it is one line
 * on stderr), then joins oldfd's. */
BS_TEXT_HOT BS_EXPORT int dup2(int oldfd, int newfd)
{
	int r;

	if (oldfd == newfd)
		return BS_REAL(dup2)(oldfd, newfd);
	bs_fd_release(newfd, 0);
	r = BS_REAL(dup2)(oldfd, newfd);
	if (r >= 0)
		bs_fd_join(newfd, oldfd);
	return r;
}

BS_EXPORT int dup3(int oldfd, int newfd, int flags)
{
	int r;

	if (oldfd != newfd)
		bs_fd_release(newfd, 0);
	r = BS_REAL(dup3)(oldfd, newfd, flags);
	if (r >= 0)
		bs_fd_join(newfd, oldfd);
	return r;
}

/* F_SETFL may turn O_NONBLOCK or O_DIRECT on or off: deliver, judge anew.
 * A record lock set or given up, waiting or not: everything first (see
 * flock in hooks_wait.c). So too a seal (a memfd sealed against writes
 * would refuse the bytes written before it). */
#define BS_FCNTL_HOOK(name)						\
	BS_EXPORT int name(int fd, int cmd, ...)			\
	{								\
		va_list ap;						\
		void *arg;						\
		int r;							\
									\
		va_start(ap, cmd);					\
		arg = va_arg(ap, void *);				\
		va_end(ap);						\
		if (cmd == F_SETFL)					\
			bs_fd_regroup(fd);				\
		if (cmd == F_SETLK || cmd == F_SETLKW ||		\
		    cmd == F_OFD_SETLK || cmd == F_OFD_SETLKW ||	\
		    cmd == F_ADD_SEALS)					\
			bs_deliver_before_wait();			\
		r = BS_REAL(name)(fd, cmd, arg);			\
		if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)		\
			bs_fd_join(r, fd);				\
		return r;						\
	}
BS_FCNTL_HOOK(fcntl)
BS_FCNTL_HOOK(fcntl64)

/* open's mode is there only with O_CREAT or O_TMPFILE. */
#define BS_OPEN_MODE(flags, ap)						\
	((flags) & O_CREAT || ((flags) & O_TMPFILE) == O_TMPFILE ?	\
	 (mode_t)va_arg(ap, int) : 0)

/* The body of an open hook: the mode read, what the open may wait for or
 * cut delivered first (bs_before_open), the new fd judged afresh. */
#define BS_OPEN_BODY(dirfd, real_call)					\
	{								\
		va_list ap;						\
		mode_t mode;						\
									\
		va_start(ap, flags);					\
		mode = BS_OPEN_MODE(flags, ap);				\
		va_end(ap);						\
		bs_before_open(dirfd, path, flags);			\
		return bs_fd_fresh(real_call);				\
	}
#define BS_OPEN_HOOK(name)						\
	BS_EXPORT int name(const char *path, int flags, ...)		\
	BS_OPEN_BODY(AT_FDCWD, BS_REAL(name)(path, flags, mode))
#define BS_OPENAT_HOOK(name)						\
	BS_EXPORT int name(int dirfd, const char *path, int flags, ...)	\
	BS_OPEN_BODY(dirfd, BS_REAL(name)(dirfd, path, flags, mode))
/* The analyzer loses va_start inside a macro: NOLINT below. */
BS_OPEN_HOOK(open)		// NOLINT(clang-analyzer-valist.Uninitialized)
BS_OPEN_HOOK(open64)		// NOLINT(clang-analyzer-valist.Uninitialized)
BS_OPENAT_HOOK(openat)		// NOLINT(clang-analyzer-valist.Uninitialized)
BS_OPENAT_HOOK(openat64)	// NOLINT(clang-analyzer-valist.Uninitialized)

/* What -D_FORTIFY_SOURCE makes of an open whose flags the compiler cannot
 * see (no mode: they refuse O_CREAT and O_TMPFILE); declared by the C
 * library's headers only under it */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);
#define BS_OPEN2_HOOK(name)						\
	BS_EXPORT int name(const char *path, int flags)			\
	{								\
		bs_before_open(AT_FDCWD, path, flags);			\
		return bs_fd_fresh(BS_REAL(name)(path, flags));		\
	}
#define BS_OPENAT2_HOOK(name)						\
	BS_EXPORT int name(int dirfd, const char *path, int flags)	\
	{								\
		bs_before_open(dirfd, path, flags);			\
		return bs_fd_fresh(BS_REAL(name)(dirfd, path, flags));	\
	}
BS_OPEN2_HOOK(__open_2)
BS_OPEN2_HOOK(__open64_2)
BS_OPENAT2_HOOK(__openat_2)
BS_OPENAT2_HOOK(__openat64_2)

/* A truncating open (O_TRUNC, creat, fopen "w") of a file we hold bytes
 * for: they reach it before it is cut, as they did without us. */
BS_EXPORT int creat(const char *path, mode_t mode)
{
	bs_before_open(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC);
	return bs_fd_fresh(BS_REAL(creat)(path, mode));
}

BS_EXPORT int creat64(const char *path, mode_t mode)
{
	bs_before_open(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC);
	return bs_fd_fresh(BS_REAL(creat64)(path, mode));
}

/* fopen opens inside the C library, where open is not ours to see. */
#define BS_FOPEN_HOOK(name)						\
	BS_EXPORT FILE *name(const char *path, const char *mode)	\
	{								\
		FILE *fp;						\
									\
		if (mode)						\
			bs_before_open(AT_FDCWD, path,			\
				       mode[0] == 'w' ? O_TRUNC : 0);	\
		fp = BS_REAL(name)(path, mode);				\
		if (fp)							\
			bs_fd_fresh(fp->_fileno);				\
		return fp;						\
	}
BS_FOPEN_HOOK(fopen)
BS_FOPEN_HOOK(fopen64)

/* ---- calls that act on a buffered fd's file: its bytes go first ------------------------ */

/* fd's own bytes, and those of its file through another fd of ours */
static inline void fd_first(int fd)
{
	bs_fd_deliver(fd, 0);
	bs_before_look(fd);
}

#define BS_FD_FIRST(ret, name, params, args)				\
	BS_HOOK(ret, name, params, args, fd_first(fd))
BS_FD_FIRST(ssize_t, pwrite, (int fd, const void *b, size_t n, off_t o), (fd, b, n, o))
BS_FD_FIRST(ssize_t, pwrite64, (int fd, const void *b, size_t n, off64_t o), (fd, b, n, o))
BS_FD_FIRST(ssize_t, pwritev, (int fd, const struct iovec *v, int n, off_t o), (fd, v, n, o))
BS_FD_FIRST(ssize_t, pwritev64, (int fd, const struct iovec *v, int n, off64_t o), (fd, v, n, o))
BS_FD_FIRST(ssize_t, pwritev2, (int fd, const struct iovec *v, int n, off_t o, int fl),
	    (fd, v, n, o, fl))
BS_FD_FIRST(ssize_t, pwritev64v2, (int fd, const struct iovec *v, int n, off64_t o, int fl),
	    (fd, v, n, o, fl))
/* Where a file ends, asked through another fd, counts our bytes too. */
#define BS_LSEEK_HOOK(name, off_type)					\
	BS_EXPORT off_type name(int fd, off_type o, int whence)		\
	{								\
		bs_fd_deliver(fd, 0);					\
		if (whence != SEEK_SET && whence != SEEK_CUR)		\
			bs_before_look(fd);				\
		return BS_REAL(name)(fd, o, whence);			\
	}
BS_LSEEK_HOOK(lseek, off_t)
BS_LSEEK_HOOK(lseek64, off64_t)
BS_FD_FIRST(int, ftruncate, (int fd, off_t len), (fd, len))
BS_FD_FIRST(int, ftruncate64, (int fd, off64_t len), (fd, len))
BS_FD_FIRST(int, fallocate, (int fd, int m, off_t o, off_t len), (fd, m, o, len))
BS_FD_FIRST(int, fallocate64, (int fd, int m, off64_t o, off64_t len), (fd, m, o, len))
BS_FD_FIRST(int, posix_fallocate, (int fd, off_t o, off_t len), (fd, o, len))
BS_FD_FIRST(int, posix_fallocate64, (int fd, off64_t o, off64_t len), (fd, o, len))
BS_FD_FIRST(int, sync_file_range, (int fd, off64_t o, off64_t n, unsigned fl), (fd, o, n, fl))
BS_FD_FIRST(ssize_t, send, (int fd, const void *b, size_t n, int fl), (fd, b, n, fl))
BS_FD_FIRST(ssize_t, sendto, (int fd, const void *b, size_t n, int fl,
			      const struct sockaddr *a, socklen_t al), (fd, b, n, fl, a, al))

/* The fds a message passes to another process (SCM_RIGHTS), which may
 * write to them at once: what we hold for them goes first. */
static void deliver_passed(const struct msghdr *m)
{
	if (!m || !m->msg_control || m->msg_controllen < sizeof(struct cmsghdr))
		return;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR((struct msghdr *)m, c)) {
		const unsigned char *d = CMSG_DATA(c);
		size_t n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len < CMSG_LEN(0))
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, d + i * sizeof fd, sizeof fd);
			fd_first(fd);
		}
	}
}

BS_HOOK(ssize_t, sendmsg, (int fd, const struct msghdr *m, int fl), (fd, m, fl),
	if (bs_holding()) deliver_passed(m);
	fd_first(fd))
BS_HOOK(int, sendmmsg, (int fd, struct mmsghdr *m, unsigned n, int fl), (fd, m, n, fl),
	if (bs_holding() && m)
		for (unsigned i = 0; i < n; i++)
			deliver_passed(&m[i].msg_hdr);
	fd_first(fd))
BS_FD_FIRST(ssize_t, vmsplice, (int fd, const struct iovec *v, size_t n, unsigned fl),
	    (fd, v, n, fl))

/* Both ends: the source may be a file we still hold bytes for. */
#define BS_TWO_FDS_FIRST(ret, name, params, args)			\
	BS_HOOK(ret, name, params, args,				\
		bs_fd_deliver(in, 0); bs_before_read(in); bs_fd_deliver(out, 0))
BS_TWO_FDS_FIRST(ssize_t, sendfile, (int out, int in, off_t *o, size_t n), (out, in, o, n))
BS_TWO_FDS_FIRST(ssize_t, sendfile64, (int out, int in, off64_t *o, size_t n), (out, in, o, n))
BS_TWO_FDS_FIRST(ssize_t, splice, (int in, off64_t *io, int out, off64_t *oo, size_t n,
				   unsigned fl), (in, io, out, oo, n, fl))
BS_TWO_FDS_FIRST(ssize_t, tee, (int in, int out, size_t n, unsigned fl), (in, out, n, fl))
BS_TWO_FDS_FIRST(ssize_t, copy_file_range, (int in, off64_t *io, int out, off64_t *oo,
					    size_t n, unsigned fl), (in, io, out, oo, n, fl))

/* ---- calls that look at a file we may hold bytes for ------------------------------------ */

/* A mapping of a file shows what a read would. */
BS_HOOK(void *, mmap, (void *a, size_t n, int prot, int fl, int fd, off_t o),
	(a, n, prot, fl, fd, o), if (!(fl & MAP_ANONYMOUS)) bs_before_read(fd))
BS_HOOK(void *, mmap64, (void *a, size_t n, int prot, int fl, int fd, off64_t o),
	(a, n, prot, fl, fd, o), if (!(fl & MAP_ANONYMOUS)) bs_before_read(fd))

BS_HOOK(int, truncate, (const char *path, off_t len), (path, len),
	bs_inode_deliver_path(AT_FDCWD, path, 0))
BS_HOOK(int, truncate64, (const char *path, off64_t len), (path, len),
	bs_inode_deliver_path(AT_FDCWD, path, 0))

/*
 * What a program sets on a file we hold bytes for would not last if the
 * bytes came after: their delivery makes the file modified now, and a
 * write by a process without CAP_FSETID clears set-user-ID and set-group-ID
 * bits and file capabilities. So its times, mode, owner and extended
 * attributes are set after the bytes.
 */
#define BS_META_FD_HOOK(name, params, args)				\
	BS_HOOK(int, name, params, args, bs_inode_deliver_fd(fd))
BS_META_FD_HOOK(futimens, (int fd, const struct timespec ts[2]), (fd, ts))
BS_META_FD_HOOK(futimes, (int fd, const struct timeval tv[2]), (fd, tv))
BS_META_FD_HOOK(fchmod, (int fd, mode_t m), (fd, m))
BS_META_FD_HOOK(fchown, (int fd, uid_t u, gid_t g), (fd, u, g))
BS_META_FD_HOOK(fsetxattr, (int fd, const char *n, const void *v, size_t len, int fl),
		(fd, n, v, len, fl))

/* at: the flags that say which file fstatat would look at */
#define BS_META_PATH_HOOK(name, dirfd, at, params, args)		\
	BS_HOOK(int, name, params, args, bs_inode_deliver_path(dirfd, path, at))
BS_META_PATH_HOOK(futimesat, d, 0, (int d, const char *path, const struct timeval tv[2]),
		  (d, path, tv))
BS_META_PATH_HOOK(utimes, AT_FDCWD, 0, (const char *path, const struct timeval tv[2]),
		  (path, tv))
BS_META_PATH_HOOK(lutimes, AT_FDCWD, AT_SYMLINK_NOFOLLOW,
		  (const char *path, const struct timeval tv[2]), (path, tv))
BS_META_PATH_HOOK(utime, AT_FDCWD, 0, (const char *path, const struct utimbuf *t), (path, t))
BS_META_PATH_HOOK(chmod, AT_FDCWD, 0, (const char *path, mode_t m), (path, m))
BS_META_PATH_HOOK(fchmodat, d, fl & AT_SYMLINK_NOFOLLOW,
		  (int d, const char *path, mode_t m, int fl), (d, path, m, fl))
BS_META_PATH_HOOK(chown, AT_FDCWD, 0, (const char *path, uid_t u, gid_t g), (path, u, g))
BS_META_PATH_HOOK(lchown, AT_FDCWD, AT_SYMLINK_NOFOLLOW, (const char *path, uid_t u, gid_t g),
		  (path, u, g))
BS_META_PATH_HOOK(fchownat, d, fl & (AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH),
		  (int d, const char *path, uid_t u, gid_t g, int fl), (d, path, u, g, fl))
BS_META_PATH_HOOK(setxattr, AT_FDCWD, 0,
		  (const char *path, const char *n, const void *v, size_t len, int fl),
		  (path, n, v, len, fl))
BS_META_PATH_HOOK(lsetxattr, AT_FDCWD, AT_SYMLINK_NOFOLLOW,
		  (const char *path, const char *n, const void *v, size_t len, int fl),
		  (path, n, v, len, fl))

BS_META_PATH_HOOK(utimensat, d, fl & AT_SYMLINK_NOFOLLOW,
		  (int d, const char *path, const struct timespec ts[2], int fl),
		  (d, path, ts, fl))

/* The size and times of a file we hold bytes for are those after them:
 * when the answer is about such a file, its bytes go and it is asked
 * again. When nothing is pending, one load. */
#define BS_STAT_HOOK(name, params, args)			\
	BS_EXPORT int name params					\
	{								\
		int r = BS_REAL(name) args;				\
									\
		if (bs_unlikely(__atomic_load_n(&bs_dirty, __ATOMIC_RELAXED)) && \
		    r == 0 && S_ISREG(st->st_mode) &&			\
		    bs_inode_deliver(st->st_dev, st->st_ino))		\
			r = BS_REAL(name) args;				\
		return r;						\
	}
BS_STAT_HOOK(stat, (const char *p, struct stat *st), (p, st))
BS_STAT_HOOK(stat64, (const char *p, struct stat64 *st), (p, st))
BS_STAT_HOOK(lstat, (const char *p, struct stat *st), (p, st))
BS_STAT_HOOK(lstat64, (const char *p, struct stat64 *st), (p, st))
BS_STAT_HOOK(fstat, (int fd, struct stat *st), (fd, st))
BS_STAT_HOOK(fstat64, (int fd, struct stat64 *st), (fd, st))
BS_STAT_HOOK(fstatat, (int d, const char *p, struct stat *st, int fl),
	     (d, p, st, fl))
BS_STAT_HOOK(fstatat64, (int d, const char *p, struct stat64 *st, int fl),
	     (d, p, st, fl))
/* programs built before glibc 2.33 call these */
BS_STAT_HOOK(__xstat, (int v, const char *p, struct stat *st), (v, p, st))
BS_STAT_HOOK(__xstat64, (int v, const char *p, struct stat64 *st), (v, p, st))
BS_STAT_HOOK(__lxstat, (int v, const char *p, struct stat *st), (v, p, st))
BS_STAT_HOOK(__lxstat64, (int v, const char *p, struct stat64 *st), (v, p, st))
BS_STAT_HOOK(__fxstat, (int v, int fd, struct stat *st), (v, fd, st))
BS_STAT_HOOK(__fxstat64, (int v, int fd, struct stat64 *st), (v, fd, st))
BS_STAT_HOOK(__fxstatat, (int v, int d, const char *p, struct stat *st, int fl),
	     (v, d, p, st, fl))
BS_STAT_HOOK(__fxstatat64, (int v, int d, const char *p, struct stat64 *st, int fl),
	     (v, d, p, st, fl))

BS_EXPORT int statx(int d, const char *p, int fl, unsigned mask, struct statx *st)
{
	int r = BS_REAL(statx)(d, p, fl, mask, st);

	if (statx_again(r, st))
		r = BS_REAL(statx)(d, p, fl, mask, st);
	return r;
}

BS_EXPORT void sync(void)
{
	bs_deliver_all_now(BS_DELIVER_SYNC, 0);
	BS_REAL(sync)();
}

BS_HOOK(int, syncfs, (int fd), (fd), bs_deliver_all_now(BS_DELIVER_SYNC, 0))

/*
 * A terminal's settings changed (its output processing: a newline becomes
 * \r\n or not), its output drained, flushed, stopped or a break sent:
 * what was written before goes out under the settings it was written
 * under, before the change, as without us. The terminal may be reached
 * through another fd than the one written (tcsetattr on fd 0): all go.
 */
/* The termios2 requests (any speed), whose struct <termios.h> cannot be
 * included beside: the same layout, so the same request numbers
 * (asm-generic, as on x86-64 and aarch64). */
struct bs_termios2 {
	tcflag_t c_iflag, c_oflag, c_cflag, c_lflag;
	cc_t c_line, c_cc[19];
	speed_t c_ispeed, c_ospeed;
};
#define BS_TCSETS2 _IOW('T', 0x2B, struct bs_termios2)
#define BS_TCSETSW2 _IOW('T', 0x2C, struct bs_termios2)
#define BS_TCSETSF2 _IOW('T', 0x2D, struct bs_termios2)
_Static_assert(sizeof(struct bs_termios2) == 44, "struct termios2 is 44 bytes");

static int terminal_request(unsigned long req)
{
	switch (req) {
	case TCSETS: case TCSETSW: case TCSETSF:
	case TCSETA: case TCSETAW: case TCSETAF:
	case TCSBRK: case TCSBRKP: case TIOCSBRK: case TCXONC: case TCFLSH:
	case BS_TCSETS2: case BS_TCSETSW2: case BS_TCSETSF2:
		return 1;
	default:
		return 0;
	}
}

/* FIONBIO turns O_NONBLOCK on or off, like F_SETFL. */
BS_EXPORT int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (req == FIONBIO)
		bs_fd_regroup(fd);
	else if (req == FIONREAD)	/* how much is there to read: a look, as poll */
		bs_before_read(fd);
	else if (terminal_request(req))
		bs_deliver_before_wait();
	return BS_REAL(ioctl)(fd, req, arg);
}

/* the C library's own, which make the ioctl inside it */
BS_HOOK(int, tcsetattr, (int fd, int when, const struct termios *t), (fd, when, t),
	bs_deliver_before_wait())
BS_HOOK(int, tcdrain, (int fd), (fd), bs_deliver_before_wait())
BS_HOOK(int, tcflush, (int fd, int queue), (fd, queue), bs_deliver_before_wait())
BS_HOOK(int, tcflow, (int fd, int action), (fd, action), bs_deliver_before_wait())
BS_HOOK(int, tcsendbreak, (int fd, int duration), (fd, duration), bs_deliver_before_wait())

BS_HOOK(int, close_range, (unsigned first, unsigned last, int flags), (first, last, flags),
	bs_fd_range_release(first, last, !(flags & CLOSE_RANGE_CLOEXEC)))

BS_EXPORT void closefrom(int low)
{
	if (low >= 0)
		bs_fd_range_release((unsigned)low, ~0u, 1);
	BS_REAL(closefrom)(low);
}

