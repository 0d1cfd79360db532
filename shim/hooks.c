/*
 * hooks.c — the interposed functions: the only symbols the library exports.
 *
 * Each one finds the buffer of its fd (bs_enter), works on it, and calls the
 * real function. A call from inside the library, or from a signal handler
 * that interrupted it, goes straight through.
 */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <unistd.h>

/* ---- writes ------------------------------------------------------------------- */

BS_EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
	struct bs_file *f = bs_enter(fd);
	ssize_t r;

	if (!f)
		return bs_sys_write(fd, buf, n);
	r = bs_buffer_write(&f->buf, buf, n);
	bs_leave();
	return r;
}

BS_EXPORT ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
	struct bs_file *f = bs_enter(fd);
	ssize_t r;

	if (!f)
		return bs_sys_writev(fd, iov, iovcnt);
	r = bs_buffer_writev(&f->buf, iov, iovcnt);
	bs_leave();
	return r;
}

/* ---- fd boundaries ---------------------------------------------------------------- */

/* Deliver fd's bytes before the program touches its file; with forget,
 * fd's verdict goes too, for the fd is about to name another file.
 * Returns 0, or the errno of a delivery failure the caller must report. */
static int settle(int fd, int forget)
{
	struct bs_file *f;
	int err = 0;

	if (forget)
		bs_stats_keep_stderr(fd);
	f = bs_enter(fd);
	if (!f) {
		if (forget && !bs_depth && bs_fdtab_get(fd))
			bs_file_forget(fd);	/* a BS_PASS verdict: judge anew */
		return 0;
	}
	if (bs_buffer_flush(&f->buf, BS_FLUSH_SYNC, 1) < 0)
		err = errno;
	if (forget)
		bs_file_forget(fd);
	bs_leave();
	return err;
}

/* fd was just made by the kernel: whatever we knew of that number was
 * about a file closed behind our back, and is dropped. */
static int fresh(int fd)
{
	if (fd >= 0 && !bs_depth && bs_fdtab_get(fd))
		bs_file_forget(fd);
	return fd;
}

/* rc from the real call, with a delivery error taking precedence. */
static int with_error(int rc, int err)
{
	if (rc == 0 && err) {
		errno = err;
		return -1;
	}
	return rc;
}

BS_EXPORT int close(int fd)
{
	int err = settle(fd, 1);

	return with_error(bs_sys_close(fd), err);
}

#define BS_SYNC_HOOK(name)						\
	BS_EXPORT int name(int fd)					\
	{								\
		int err = settle(fd, 0);				\
									\
		return with_error(BS_REAL(name)(fd), err);		\
	}
BS_SYNC_HOOK(fsync)
BS_SYNC_HOOK(fdatasync)

BS_EXPORT int fclose(FILE *fp)
{
	int err = settle(fileno(fp), 1);
	int rc;

	rc = BS_REAL(fclose)(fp);
	if (rc == 0 && err) {
		errno = err;
		return EOF;
	}
	return rc;
}

/* freopen closes the stream's fd and opens another file on it. A delivery
 * error has no caller to go to here; the stats count it. */
#define BS_FREOPEN_HOOK(name)						\
	BS_EXPORT FILE *name(const char *path, const char *mode, FILE *fp) \
	{								\
		FILE *r;						\
									\
		settle(fileno(fp), 1);					\
		r = BS_REAL(name)(path, mode, fp);			\
		if (r)							\
			fresh(fileno(r));				\
		return r;						\
	}
BS_FREOPEN_HOOK(freopen)
BS_FREOPEN_HOOK(freopen64)

/* ---- fds made or replaced ---------------------------------------------------------- */

BS_EXPORT int dup(int fd)
{
	return fresh(BS_REAL(dup)(fd));
}

/* newfd's old file is closed silently by the kernel; so is a delivery
 * error to it, which only the stats can count. */
BS_EXPORT int dup2(int oldfd, int newfd)
{
	if (oldfd != newfd)
		settle(newfd, 1);
	return BS_REAL(dup2)(oldfd, newfd);
}

BS_EXPORT int dup3(int oldfd, int newfd, int flags)
{
	if (oldfd != newfd)
		settle(newfd, 1);
	return BS_REAL(dup3)(oldfd, newfd, flags);
}

/* F_SETFL may turn O_NONBLOCK or O_DIRECT on or off: deliver, judge anew. */
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
			settle(fd, 1);					\
		r = BS_REAL(name)(fd, cmd, arg);			\
		if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)		\
			fresh(r);					\
		return r;						\
	}
BS_FCNTL_HOOK(fcntl)
BS_FCNTL_HOOK(fcntl64)

/* open's mode is there only with O_CREAT or O_TMPFILE. */
static mode_t open_mode(int flags, va_list ap)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ?
		(mode_t)va_arg(ap, int) : 0;
}

#define BS_OPEN_HOOK(name)						\
	BS_EXPORT int name(const char *path, int flags, ...)		\
	{								\
		va_list ap;						\
		mode_t mode;						\
									\
		va_start(ap, flags);					\
		mode = open_mode(flags, ap);				\
		va_end(ap);						\
		return fresh(BS_REAL(name)(path, flags, mode));		\
	}
BS_OPEN_HOOK(open)
BS_OPEN_HOOK(open64)

#define BS_OPENAT_HOOK(name)						\
	BS_EXPORT int name(int dirfd, const char *path, int flags, ...)	\
	{								\
		va_list ap;						\
		mode_t mode;						\
									\
		va_start(ap, flags);					\
		mode = open_mode(flags, ap);				\
		va_end(ap);						\
		return fresh(BS_REAL(name)(dirfd, path, flags, mode));	\
	}
BS_OPENAT_HOOK(openat)
BS_OPENAT_HOOK(openat64)

BS_EXPORT int creat(const char *path, mode_t mode)
{
	return fresh(BS_REAL(creat)(path, mode));
}

BS_EXPORT int creat64(const char *path, mode_t mode)
{
	return fresh(BS_REAL(creat64)(path, mode));
}

/* ---- process boundaries ------------------------------------------------------------ */

/* vfork's child shares our memory; a fork is what a correct vfork child
 * may rely on, and it runs the fork handlers that deliver first. */
BS_EXPORT pid_t vfork(void)
{
	return fork();
}

BS_EXPORT void _exit(int status)
{
	bs_end_process();
	BS_REAL(_exit)(status);
	__builtin_unreachable();
}

BS_EXPORT void _Exit(int status)
{
	bs_end_process();
	BS_REAL(_Exit)(status);
	__builtin_unreachable();
}
