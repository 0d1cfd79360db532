/* SPDX-License-Identifier: MIT */
/*
 * stdio.c — the stdio bridge (invariant 10).
 *
 * glibc's stdio writes through an internal __write that no preload library
 * sees, so printf and write(2) on one fd could reach it out of order. At
 * start the library replaces stdout and stderr by cookie streams
 * (fopencookie) set up as glibc would have set up the originals: the same
 * buffering mode and size, or the ones a setvbuf before us chose (stdbuf's
 * library, a constructor). An fd configured in line or none mode gets the
 * stdio buffering stdbuf -oL or -o0 would give it. glibc's own stdio still
 * decides when bytes are handed over (a full buffer, a newline on a
 * line-buffered stream, every call on an unbuffered one, fflush, exit); the
 * cookie's write function then puts them in our buffer, in program order
 * with raw writes. In full mode they wait there like any write; in line
 * mode, or with BUFSHIM_STDIO=0, they are delivered at once, together with
 * what was buffered, except the pieces of an unbuffered stream in line
 * mode (stderr), which wait for the end of their line as raw writes do.
 *
 * Reads that go through stdio (fgets, scanf, getc...) use glibc's internal
 * read, so the input functions are hooked to deliver before they can wait.
 *
 * A cookie stream has no fd of its own: fileno answers for it. It is
 * byte-oriented only: the first wide output or fwide(>0), and freopen, put
 * the original stream back and stop buffering for the rest of the run.
 */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* Some of these are also macros when optimising; the functions are what
 * programs built without those macros call. */
#undef getc
#undef getchar
#undef getc_unlocked
#undef getchar_unlocked
#undef fgetc_unlocked
#undef getwc_unlocked
#undef fgetwc_unlocked
#undef getwchar_unlocked
#undef fileno_unlocked
#undef fread_unlocked
#undef fwrite_unlocked
#undef fputc_unlocked
#undef putc
#undef putc_unlocked
#undef putchar
#undef putchar_unlocked
#undef fflush_unlocked
#undef fputs_unlocked

/* glibc's _flags bits (libio.h, stable ABI) */
#define BS_IO_UNBUFFERED 0x0002
#define BS_IO_LINE_BUF 0x0200

struct bridge {
	FILE **var;		/* &stdout or &stderr */
	FILE *orig;
	FILE *cookie;
	int fd;
	int on;
	int line;		/* the fd's configured mode is line */
	int closed;		/* fclosed: the cookie stream stays, inert */
};

static struct bridge bridges[2] BS_STARTUP;
/* each bridge's stream buffer, when glibc's size for it fits */
static char bridge_room[2][BUFSIZ];

static struct bridge *bridge_of(FILE *fp)
{
	for (int i = 0; i < 2; i++)
		if (bridges[i].on && bridges[i].cookie == fp)
			return &bridges[i];
	return NULL;
}

/* ---- the cookie stream -------------------------------------------------------------- */

static ssize_t cookie_write_once(struct bridge *b, const char *buf, size_t n)
{
	enum bs_mode mode;
	struct bs_file *f;

	if (b->closed) {	/* a copy of the pointer, used after fclose */
		errno = EBADF;
		return -1;
	}
	f = bs_write_begin(b->fd, &mode);

	if (!f)
		return bs_sys_write(b->fd, buf, n);	/* nobody buffers this fd */
	/* A buffered stream hands over at a line's end, a full buffer or an
	 * explicit fflush: in line mode a person may be watching. An
	 * unbuffered one hands over every call: in line mode its pieces wait
	 * for the end of their line, as raw writes do (stdbuf -eL holds them
	 * in stdio, where no wait of the program would deliver them). */
	if (!bs_cfg.stdio ||
	    (mode != BS_MODE_FULL &&
	     !(mode == BS_MODE_LINE && b->line && (b->cookie->_flags & BS_IO_UNBUFFERED))))
		mode = BS_MODE_NONE;
	return bs_file_write1(f, buf, n, mode);
}

/* As glibc's own file streams write: a short count is followed by a
 * write of the rest, until all is written or a write fails, and then the
 * count so far, with errno from the failure (a full disk: ENOSPC). The
 * stream marks its error on a short count and does not write again. A
 * failure before any byte is 0, never -1: glibc takes the count as
 * unsigned (fopencookie(3)), and -1 made it copy from far past the
 * caller's string. */
BS_TEXT_HOT static ssize_t cookie_write(void *c, const char *buf, size_t n)
{
	size_t done = 0;
	ssize_t r;

	while (done < n) {
		do
			r = cookie_write_once(c, buf + done, n - done);
		while (bs_write_again(r));
		if (r <= 0)
			return (ssize_t)done;
		done += (size_t)r;
	}
	return (ssize_t)done;
}

/* As lseek: what we hold for the fd goes first, and at the end of a file
 * what we hold for it through other fds. */
static int cookie_seek(void *c, off64_t *pos, int whence)
{
	struct bridge *b = c;
	off64_t r;

	bs_fd_deliver(b->fd, 0);
	if (whence == SEEK_END)
		bs_before_look(b->fd);
	r = bs_sys_lseek(b->fd, *pos, whence);
	if (r < 0)
		return -1;
	*pos = r;
	return 0;
}

/* As close: delivers, and reports a failure. */
BS_TEXT_HOT static int cookie_close(void *c)
{
	struct bridge *b = c;
	int err, rc;

	b->on = 0;
	err = bs_fd_release(b->fd, 1);
	rc = bs_sys_close(b->fd);
	if (rc == 0 && err) {
		errno = err;
		rc = -1;
	}
	return rc;
}

/*
 * The buffering the cookie stream gets: what a setvbuf before us gave the
 * original (stdbuf's library may run its constructor first), else what the
 * fd's configured mode asks for (line: stdbuf -oL; none: stdbuf -o0), else
 * what glibc would give it on its first output. cfg_mode is the fd's
 * configured mode, or -1 when the bridge leaves stdio's buffering alone.
 */
BS_TEXT_START static void original_buffering(FILE *orig, int fd, int cfg_mode, int *mode, size_t *size)
{
	struct termios t;
	struct stat st;

	*size = BUFSIZ;
	if (orig->_flags & BS_IO_UNBUFFERED) {
		*mode = _IONBF;		/* setvbuf(_IONBF), stdbuf -o0; stderr */
		return;
	}
	if (orig->_IO_buf_base) {
		/* setvbuf with a size (stdbuf -oSIZE), or written already */
		*mode = (orig->_flags & BS_IO_LINE_BUF) ? _IOLBF : _IOFBF;
		*size = (size_t)(orig->_IO_buf_end - orig->_IO_buf_base);
		return;
	}
	if (!(orig->_flags & BS_IO_LINE_BUF) && cfg_mode == BS_MODE_NONE) {
		*mode = _IONBF;
		return;
	}
	/* setvbuf(_IOLBF) with no buffer (stdbuf -oL), line mode, or nothing
	 * chosen yet: the size glibc would allocate, and its mode */
	*mode = (orig->_flags & BS_IO_LINE_BUF) || cfg_mode == BS_MODE_LINE ? _IOLBF : _IOFBF;
	if (bs_sys_fstat(fd, &st) == 0) {
		if (S_ISCHR(st.st_mode) && bs_sys_ioctl(fd, TCGETS, &t) == 0)	/* isatty */
			*mode = _IOLBF;
		if (st.st_blksize > 0 && st.st_blksize < BUFSIZ)
			*size = (size_t)st.st_blksize;
	}
}

BS_TEXT_START static void bridge_one(struct bridge *b, FILE **var, int fd)
{
	cookie_io_functions_t io = {
		.write = cookie_write, .seek = cookie_seek, .close = cookie_close,
	};
	FILE *orig = *var, *cookie;
	char *room = bridge_room[b - bridges];
	size_t size;
	char *buf = NULL;
	int mode, cfg_mode;

	if (!orig || orig->_fileno != fd || bs_sys_fcntl(fd, F_GETFD, 0) < 0)
		return;		/* replaced already, or not open: leave it */
	cfg_mode = bs_cfg.stdio ? bs_config_fd_mode(&bs_cfg, fd) : -1;
	original_buffering(orig, fd, cfg_mode, &mode, &size);
	/* The buffer glibc would make on the first output, made now: one of
	 * ours, whose pages no process touches before its first output (a
	 * malloc here cost every process a page fault at start). */
	if (mode != _IONBF)
		buf = size <= BUFSIZ ? room : malloc(size);
	if (mode != _IONBF && !buf)
		return;
	if (orig->_IO_write_ptr > orig->_IO_write_base)
		bs_libc_fflush(orig);	/* what a constructor before ours printed */
	b->fd = fd;
	b->line = cfg_mode == BS_MODE_LINE;
	cookie = fopencookie(b, "w", io);
	if (!cookie) {
		if (buf != room)
			free(buf);
		return;
	}
	/* buf is the stream's for good */
	// NOLINTBEGIN(clang-analyzer-unix.Malloc)
	setvbuf(cookie, buf, mode, mode == _IONBF ? 0 : size);
	b->var = var;
	b->orig = orig;
	b->cookie = cookie;
	b->on = 1;
	*var = cookie;
	// NOLINTEND(clang-analyzer-unix.Malloc)
	/* cppcheck-suppress memleak */
}

BS_TEXT_START void bs_stdio_bridge(void)
{
	bs_enter();
	bridge_one(&bridges[0], &stdout, 1);
	bridge_one(&bridges[1], &stderr, 2);
	bs_leave();
}

/* The cookie stream's bytes join ours, in order, and the variable gets the
 * original stream back: 0, or EOF with errno if that flush failed. */
BS_TEXT_HOT static int give_back(struct bridge *b)
{
	int rc = bs_libc_fflush(b->cookie);

	b->on = 0;
	*b->var = b->orig;
	return rc;
}

/* Put the original stream back: the program needs what a cookie stream
 * cannot do. Its writes then bypass us, so nothing may be held any more. */
static FILE *unbridge(FILE *fp)
{
	struct bridge *b = bridge_of(fp);

	if (!b)
		return fp;
	give_back(b);
	bs_stop_buffering();
	return b->orig;
}

/* ---- hooks: a cookie stream's fd, and what it cannot do ----------------------------------- */

int bs_stdio_fd(FILE *fp)
{
	struct bridge *b = bridge_of(fp);

	return b ? b->fd : fp ? fp->_fileno : -1;
}

BS_TEXT_HOT BS_EXPORT int fileno(FILE *fp)
{
	struct bridge *b = bridge_of(fp);

	return b ? b->fd : BS_REAL(fileno)(fp);
}

BS_EXPORT int fileno_unlocked(FILE *fp)
{
	struct bridge *b = bridge_of(fp);

	return b ? b->fd : BS_REAL(fileno_unlocked)(fp);
}

BS_EXPORT int fwide(FILE *fp, int mode)
{
	if (mode > 0)
		fp = unbridge(fp);
	return BS_REAL(fwide)(fp, mode);
}

#define BS_WIDE_HOOK(ret, name, params, fpvar, args)			\
	BS_HOOK(ret, name, params, args, fpvar = unbridge(fpvar))
BS_WIDE_HOOK(wint_t, putwc, (wchar_t c, FILE *fp), fp, (c, fp))
BS_WIDE_HOOK(wint_t, fputwc, (wchar_t c, FILE *fp), fp, (c, fp))
BS_WIDE_HOOK(int, fputws, (const wchar_t *s, FILE *fp), fp, (s, fp))
BS_WIDE_HOOK(wint_t, putwc_unlocked, (wchar_t c, FILE *fp), fp, (c, fp))
BS_WIDE_HOOK(wint_t, fputwc_unlocked, (wchar_t c, FILE *fp), fp, (c, fp))
BS_WIDE_HOOK(int, fputws_unlocked, (const wchar_t *s, FILE *fp), fp, (s, fp))
BS_WIDE_HOOK(int, vfwprintf, (FILE *fp, const wchar_t *f, va_list ap), fp, (fp, f, ap))
BS_WIDE_HOOK(int, __vfwprintf_chk, (FILE *fp, int fl, const wchar_t *f, va_list ap), fp,
	     (fp, fl, f, ap))
BS_WIDE_HOOK(wint_t, putwchar, (wchar_t c), stdout, (c))
BS_WIDE_HOOK(wint_t, putwchar_unlocked, (wchar_t c), stdout, (c))
BS_WIDE_HOOK(int, vwprintf, (const wchar_t *f, va_list ap), stdout, (f, ap))
BS_WIDE_HOOK(int, __vwprintf_chk, (int fl, const wchar_t *f, va_list ap), stdout, (fl, f, ap))

#define BS_PRINTF_BODY(before, call)					\
	{								\
		va_list ap;						\
		int r;							\
									\
		before;							\
		va_start(ap, f);					\
		r = call;						\
		va_end(ap);						\
		return r;						\
	}

BS_EXPORT int wprintf(const wchar_t *f, ...)
	BS_PRINTF_BODY(stdout = unbridge(stdout), BS_REAL(vwprintf)(f, ap))
BS_EXPORT int fwprintf(FILE *fp, const wchar_t *f, ...)
	BS_PRINTF_BODY(fp = unbridge(fp), BS_REAL(vfwprintf)(fp, f, ap))
BS_EXPORT int __wprintf_chk(int fl, const wchar_t *f, ...)
	BS_PRINTF_BODY(stdout = unbridge(stdout), BS_REAL(__vwprintf_chk)(fl, f, ap))
BS_EXPORT int __fwprintf_chk(FILE *fp, int fl, const wchar_t *f, ...)
	BS_PRINTF_BODY(fp = unbridge(fp), BS_REAL(__vfwprintf_chk)(fp, fl, f, ap))

FILE *bs_stdio_unbridge(FILE *fp)
{
	return unbridge(fp);
}

/*
 * fclose of a bridged stream, as glibc closes its own stdout, whose memory
 * it never frees: programs use the variable after closing it (gnulib's
 * close_stdout, then error(), which flushes stdout). So the cookie stream
 * is not freed: its bytes join ours, the variable gets the original stream
 * back, what we hold for the fd is delivered and the fd released, and
 * glibc closes the original stream, and the fd with it. The cookie stream
 * stays, inert (writes through an old copy of the pointer fail: EBADF).
 */
BS_TEXT_HOT int bs_stdio_close_bridged(FILE *fp, int *rc)
{
	struct bridge *b = bridge_of(fp);
	int err, ferr = 0;

	if (!b)
		return 0;
	if (give_back(b) != 0)
		ferr = errno;
	b->closed = 1;
	err = bs_fd_release(b->fd, 1);
	*rc = BS_REAL(fclose)(b->orig);
	if (*rc == 0 && (ferr || err)) {
		errno = ferr ? ferr : err;
		*rc = EOF;
	}
	return 1;
}

/* ---- reads through stdio wait like read(2) (invariant 4) ---------------------------- */

static inline void before_stdio_read(FILE *fp)
{
	if (bs_unlikely(__atomic_load_n(&bs_dirty, __ATOMIC_RELAXED)) && fp &&
	    fp->_IO_read_ptr >= fp->_IO_read_end)
		bs_before_read(fp->_fileno);
}

#define BS_STDIO_READ(ret, name, params, fp, args)			\
	BS_HOOK(ret, name, params, args, before_stdio_read(fp))
BS_STDIO_READ(int, fgetc, (FILE *fp), fp, (fp))
BS_STDIO_READ(int, getc, (FILE *fp), fp, (fp))
BS_STDIO_READ(int, getchar, (void), stdin, ())
BS_STDIO_READ(int, fgetc_unlocked, (FILE *fp), fp, (fp))
BS_STDIO_READ(int, getc_unlocked, (FILE *fp), fp, (fp))
BS_STDIO_READ(int, getchar_unlocked, (void), stdin, ())
BS_STDIO_READ(char *, fgets, (char *s, int n, FILE *fp), fp, (s, n, fp))
BS_STDIO_READ(char *, fgets_unlocked, (char *s, int n, FILE *fp), fp, (s, n, fp))
BS_STDIO_READ(char *, __fgets_chk, (char *s, size_t l, int n, FILE *fp), fp, (s, l, n, fp))
BS_STDIO_READ(char *, __fgets_unlocked_chk, (char *s, size_t l, int n, FILE *fp), fp,
	      (s, l, n, fp))
BS_STDIO_READ(size_t, fread, (void *p, size_t s, size_t n, FILE *fp), fp, (p, s, n, fp))
BS_STDIO_READ(size_t, fread_unlocked, (void *p, size_t s, size_t n, FILE *fp), fp,
	      (p, s, n, fp))
BS_STDIO_READ(size_t, __fread_chk, (void *p, size_t l, size_t s, size_t n, FILE *fp), fp,
	      (p, l, s, n, fp))
BS_STDIO_READ(size_t, __fread_unlocked_chk, (void *p, size_t l, size_t s, size_t n, FILE *fp),
	      fp, (p, l, s, n, fp))
BS_STDIO_READ(ssize_t, getline, (char **l, size_t *n, FILE *fp), fp, (l, n, fp))
BS_STDIO_READ(ssize_t, getdelim, (char **l, size_t *n, int d, FILE *fp), fp, (l, n, d, fp))
BS_STDIO_READ(ssize_t, __getdelim, (char **l, size_t *n, int d, FILE *fp), fp, (l, n, d, fp))
BS_STDIO_READ(int, __uflow, (FILE *fp), fp, (fp))
BS_STDIO_READ(int, __underflow, (FILE *fp), fp, (fp))
BS_STDIO_READ(wint_t, fgetwc, (FILE *fp), fp, (fp))
BS_STDIO_READ(wint_t, getwc, (FILE *fp), fp, (fp))
BS_STDIO_READ(wint_t, getwchar, (void), stdin, ())
BS_STDIO_READ(wchar_t *, fgetws, (wchar_t *s, int n, FILE *fp), fp, (s, n, fp))
/* (these call the C library's own __wuflow, which no hook sees) */
BS_STDIO_READ(wint_t, fgetwc_unlocked, (FILE *fp), fp, (fp))
BS_STDIO_READ(wint_t, getwc_unlocked, (FILE *fp), fp, (fp))
BS_STDIO_READ(wint_t, getwchar_unlocked, (void), stdin, ())
BS_STDIO_READ(wchar_t *, fgetws_unlocked, (wchar_t *s, int n, FILE *fp), fp, (s, n, fp))
BS_STDIO_READ(wint_t, __wuflow, (FILE *fp), fp, (fp))
BS_STDIO_READ(wint_t, __wunderflow, (FILE *fp), fp, (fp))
BS_STDIO_READ(int, __isoc99_vscanf, (const char *f, va_list ap), stdin, (f, ap))
BS_STDIO_READ(int, __isoc99_vfscanf, (FILE *fp, const char *f, va_list ap), fp, (fp, f, ap))

/*
 * The scanf family. With _GNU_SOURCE the headers rename scanf to
 * __isoc99_scanf and so on, so the C99 entry points are defined by those
 * names and the older GNU ones by their symbol names.
 */
#define BS_SCANF_BODY(fp, call) BS_PRINTF_BODY(before_stdio_read(fp), call)

BS_EXPORT int __isoc99_scanf(const char *f, ...)
	BS_SCANF_BODY(stdin, BS_REAL(__isoc99_vscanf)(f, ap))
BS_EXPORT int __isoc99_fscanf(FILE *fp, const char *f, ...)
	BS_SCANF_BODY(fp, BS_REAL(__isoc99_vfscanf)(fp, f, ap))

BS_EXPORT int bs_gnu_scanf(const char *f, ...) __asm__("scanf");
BS_EXPORT int bs_gnu_fscanf(FILE *fp, const char *f, ...) __asm__("fscanf");
BS_EXPORT int bs_gnu_vscanf(const char *f, va_list ap) __asm__("vscanf");
BS_EXPORT int bs_gnu_vfscanf(FILE *fp, const char *f, va_list ap) __asm__("vfscanf");

BS_EXPORT int bs_gnu_scanf(const char *f, ...)
	BS_SCANF_BODY(stdin, BS_REAL(vscanf)(f, ap))
BS_EXPORT int bs_gnu_fscanf(FILE *fp, const char *f, ...)
	BS_SCANF_BODY(fp, BS_REAL(vfscanf)(fp, f, ap))

BS_EXPORT int bs_gnu_vscanf(const char *f, va_list ap)
{
	before_stdio_read(stdin);
	return BS_REAL(vscanf)(f, ap);
}

BS_EXPORT int bs_gnu_vfscanf(FILE *fp, const char *f, va_list ap)
{
	before_stdio_read(fp);
	return BS_REAL(vfscanf)(fp, f, ap);
}

/* ---- other streams: their fd's bytes go before what stdio writes ------------------------- */

/*
 * A stream we did not bridge (fopen'd, fdopen'd, or stdout once given
 * back) writes behind our back, at moments only stdio knows: inside any
 * output or positioning call. Its fd's pending bytes go out before each such
 * call; one load when nothing is pending. Our own streams have no fd.
 */
BS_TEXT_HOT static inline void before_fd_write(int fd)
{
	bs_ent e;
	struct bs_file *f;

	if (bs_inside() || fd < 0)
		return;
	e = bs_fdtab_get(fd);
	if (bs_unlikely(!e) && __atomic_load_n(&bs_dirty, __ATOMIC_RELAXED)) {
		/* Not judged yet (stdio writes it where we do not see): it
		 * may share a file we hold bytes for, such as a second
		 * O_APPEND fd on stdout's >>log. */
		bs_enter();
		e = bs_fd_judge(fd);
		bs_leave();
	}
	if (bs_unlikely(e == BS_ENT_LOOK))
		bs_before_look(fd);
	else if (bs_unlikely(e == BS_ENT_LOOK_TTY))
		bs_before_tty_write(NULL);
	f = bs_ent_file(e);
	if (bs_unlikely(f != NULL) && bs_file_pending(f))
		bs_fd_deliver(fd, 0);
}

static inline void before_stream_write(FILE *fp)
{
	if (fp)
		before_fd_write(fp->_fileno);
}

#define BS_STREAM_HOOK(ret, name, params, fp, args)			\
	BS_HOOK(ret, name, params, args, before_stream_write(fp))
BS_STREAM_HOOK(size_t, fwrite, (const void *p, size_t s, size_t n, FILE *fp), fp, (p, s, n, fp))
BS_STREAM_HOOK(size_t, fwrite_unlocked, (const void *p, size_t s, size_t n, FILE *fp), fp,
	       (p, s, n, fp))
BS_STREAM_HOOK(int, fputs, (const char *str, FILE *fp), fp, (str, fp))
BS_STREAM_HOOK(int, fputs_unlocked, (const char *str, FILE *fp), fp, (str, fp))
BS_STREAM_HOOK(int, fputc, (int c, FILE *fp), fp, (c, fp))
BS_STREAM_HOOK(int, fputc_unlocked, (int c, FILE *fp), fp, (c, fp))
BS_STREAM_HOOK(int, putc, (int c, FILE *fp), fp, (c, fp))
BS_STREAM_HOOK(int, putc_unlocked, (int c, FILE *fp), fp, (c, fp))
BS_STREAM_HOOK(int, __overflow, (FILE *fp, int c), fp, (fp, c))
BS_STREAM_HOOK(int, vfprintf, (FILE *fp, const char *f, va_list ap), fp, (fp, f, ap))
BS_STREAM_HOOK(int, __vfprintf_chk, (FILE *fp, int fl, const char *f, va_list ap), fp,
	       (fp, fl, f, ap))
BS_STREAM_HOOK(int, vprintf, (const char *f, va_list ap), stdout, (f, ap))
BS_STREAM_HOOK(int, __vprintf_chk, (int fl, const char *f, va_list ap), stdout, (fl, f, ap))
BS_STREAM_HOOK(int, puts, (const char *str), stdout, (str))
BS_STREAM_HOOK(int, putchar, (int c), stdout, (c))
BS_STREAM_HOOK(int, putchar_unlocked, (int c), stdout, (c))
/* fseek to the end of a file we hold bytes for: as lseek */
#define BS_FSEEK_HOOK(name, off_type)					\
	BS_EXPORT int name(FILE *fp, off_type o, int w)			\
	{								\
		before_stream_write(fp);				\
		if (fp && w == SEEK_END)				\
			bs_before_look(fp->_fileno);			\
		return BS_REAL(name)(fp, o, w);				\
	}
BS_FSEEK_HOOK(fseek, long)
BS_FSEEK_HOOK(fseeko, off_t)
BS_FSEEK_HOOK(fseeko64, off64_t)
BS_STREAM_HOOK(long, ftell, (FILE *fp), fp, (fp))
BS_STREAM_HOOK(off_t, ftello, (FILE *fp), fp, (fp))
BS_STREAM_HOOK(off64_t, ftello64, (FILE *fp), fp, (fp))
BS_EXPORT void rewind(FILE *fp)
{
	before_stream_write(fp);
	BS_REAL(rewind)(fp);
}
BS_STREAM_HOOK(int, fsetpos, (FILE *fp, const fpos_t *p), fp, (fp, p))
BS_STREAM_HOOK(int, fsetpos64, (FILE *fp, const fpos64_t *p), fp, (fp, p))
BS_STREAM_HOOK(int, fgetpos, (FILE *fp, fpos_t *p), fp, (fp, p))
BS_STREAM_HOOK(int, fgetpos64, (FILE *fp, fpos64_t *p), fp, (fp, p))

/* The C library's list of streams (libio's stable ABI). */
extern FILE *_IO_list_all;
void _IO_list_lock(void);
void _IO_list_unlock(void);

/*
 * fflush(NULL) flushes every stream. Ours hand their bytes to the buffer
 * (no syscall in full mode); a stream of the C library's own writes behind
 * our back, so the bytes we hold for its fd go first, and only when it has
 * output waiting.
 */
static void before_flush_all(void)
{
	_IO_list_lock();
	for (FILE *fp = _IO_list_all; fp; fp = fp->_chain)
		if (fp->_IO_write_ptr > fp->_IO_write_base && !bridge_of(fp))
			before_fd_write(fp->_fileno);
	_IO_list_unlock();
}

/* An explicit fflush of one of our streams (fp NULL: of every stream) in
 * line mode delivers at once: the pieces an unbuffered stream handed over
 * wait in our buffer, where stdio's fflush does not reach them. */
BS_TEXT_HOT static int after_flush(FILE *fp, int rc)
{
	int err = errno;

	for (int i = 0; i < 2; i++)
		if (bridges[i].on && bridges[i].line && (!fp || bridges[i].cookie == fp))
			bs_fd_deliver(bridges[i].fd, 0);
	errno = err;
	return rc;
}

BS_TEXT_HOT BS_EXPORT int fflush(FILE *fp)
{
	if (!fp) {
		if (bs_holding())
			before_flush_all();
	} else {
		before_stream_write(fp);
	}
	return after_flush(fp, BS_REAL(fflush)(fp));
}

BS_EXPORT int fflush_unlocked(FILE *fp)
{
	before_stream_write(fp);
	return after_flush(fp, BS_REAL(fflush_unlocked)(fp));
}

BS_EXPORT int fprintf(FILE *fp, const char *f, ...)
	BS_PRINTF_BODY(before_stream_write(fp), BS_REAL(vfprintf)(fp, f, ap))
BS_EXPORT int __fprintf_chk(FILE *fp, int fl, const char *f, ...)
	BS_PRINTF_BODY(before_stream_write(fp), BS_REAL(__vfprintf_chk)(fp, fl, f, ap))
BS_EXPORT int printf(const char *f, ...)
	BS_PRINTF_BODY(before_stream_write(stdout), BS_REAL(vprintf)(f, ap))
BS_EXPORT int __printf_chk(int fl, const char *f, ...)
	BS_PRINTF_BODY(before_stream_write(stdout), BS_REAL(__vprintf_chk)(fl, f, ap))

/* dprintf writes to its fd through a stream of its own, behind our back. */
BS_EXPORT int vdprintf(int fd, const char *f, va_list ap)
{
	before_fd_write(fd);
	return BS_REAL(vdprintf)(fd, f, ap);
}

BS_EXPORT int __vdprintf_chk(int fd, int fl, const char *f, va_list ap)
{
	before_fd_write(fd);
	return BS_REAL(__vdprintf_chk)(fd, fl, f, ap);
}

BS_EXPORT int dprintf(int fd, const char *f, ...)
	BS_PRINTF_BODY(before_fd_write(fd), BS_REAL(vdprintf)(fd, f, ap))
BS_EXPORT int __dprintf_chk(int fd, int fl, const char *f, ...)
	BS_PRINTF_BODY(before_fd_write(fd), BS_REAL(__vdprintf_chk)(fd, fl, f, ap))
