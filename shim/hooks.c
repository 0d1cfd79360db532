/*
 * hooks.c — the interposed functions: the only symbols the library exports.
 *
 * Each one finds the buffer of its fd (bs_enter), works on it, and calls the
 * real function. A call from inside the library, or from a signal handler
 * that interrupted it, goes straight through.
 */
#include "shim.h"

#include <errno.h>
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

/* Deliver fd's bytes before the program touches its file. Returns 0, or
 * the errno of a delivery failure that the caller must report. */
static int settle(int fd, int forget)
{
	struct bs_file *f = bs_enter(fd);
	int err = 0;

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
