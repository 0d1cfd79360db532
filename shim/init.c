/*
 * init.c — the real functions, the configuration, and the end of a process.
 */
#include "shim.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <string.h>
#include <unistd.h>

#include "../core/bs_stats.h"

struct bs_real bs_real;
BS_TLS int bs_depth;
struct bs_config bs_cfg;
int bs_active;
int bs_finished;

enum { INIT_NONE, INIT_BUSY, INIT_DONE };
static int init_state;

/* ---- raw fallbacks ------------------------------------------------------------ */

ssize_t bs_sys_write_early(int fd, const void *buf, size_t n)
{
	return syscall(SYS_write, fd, buf, n);
}

ssize_t bs_sys_writev_early(int fd, const struct iovec *iov, int n)
{
	return syscall(SYS_writev, fd, iov, n);
}

int bs_sys_close(int fd)
{
	if (bs_likely(bs_real.close != NULL))
		return bs_real.close(fd);
	return (int)syscall(SYS_close, fd);
}

/* All of buf to fd, through EINTR, EAGAIN and partial writes. */
static void write_all(int fd, const char *buf, size_t n)
{
	for (int tries = 0; n && tries < 100; tries++) {
		ssize_t r = bs_sys_write(fd, buf, n);

		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			/* a stderr another process made non-blocking */
			struct pollfd p = { .fd = fd, .events = POLLOUT };

			BS_REAL(poll)(&p, 1, 1000);
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
	write_all(2, buf, s.len);
}

/* ---- once per process ------------------------------------------------------------ */

void *bs_resolve(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

int bs_write_is_libc;

/* Whether fn is the C library's write (no other preload library's). */
static int is_libc_write(void *fn)
{
	void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
	int same = libc && fn && dlsym(libc, "write") == fn;

	if (libc)
		dlclose(libc);
	return same;
}

/* The rest resolve on first use (BS_REAL): a lookup of all of them costs
 * ~20 us at every process start. These few may be first called from a
 * signal handler, where dlsym is not safe. */
static void resolve(void)
{
	bs_write_is_libc = is_libc_write((void *)BS_REAL(write));
	(void)BS_REAL(writev);
	(void)BS_REAL(close);
	(void)BS_REAL(syscall);
	(void)BS_REAL(_exit);
	(void)BS_REAL(_Exit);
}

static void configure(void)
{
	struct bs_env env;
	struct bs_str msg;
	char line[256];

	if (getauxval(AT_SECURE))
		return;		/* setuid and friends: do nothing, say nothing */
	bs_env_read(&env, getenv);
	bs_str_init(&msg, line, sizeof line);
	if (bs_config_parse(&bs_cfg, &env, &msg) < 0) {
		bs_diag(line);
		return;
	}
	bs_active = 1;
}

void bs_init(void)
{
	int expected = INIT_NONE, depth;

	if (bs_likely(__atomic_load_n(&init_state, __ATOMIC_ACQUIRE) == INIT_DONE))
		return;
	if (!__atomic_compare_exchange_n(&init_state, &expected, INIT_BUSY, 0,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return;		/* done, or under way in another thread */
	depth = bs_depth;
	bs_depth = 1;		/* dlsym and getenv must not come back to us */
	resolve();
	configure();
	bs_depth = depth;
	__atomic_store_n(&init_state, INIT_DONE, __ATOMIC_RELEASE);
}

/* ---- stats ----------------------------------------------------------------------- */

static void report_one(struct bs_file *f, void *arg)
{
	int fd = *(int *)arg;
	char line[512];
	struct bs_str s;

	if (f->buf.stats.writes == 0)
		return;
	bs_str_init(&s, line, sizeof line);
	bs_stats_line(&s, f->fd, bs_kind_name(f->kind), f->mode, f->buf.cap,
		      &f->buf.stats);
	bs_str_add(&s, "\n");
	write_all(fd, line, s.len);
	memset(&f->buf.stats, 0, sizeof f->buf.stats);
}

/* A copy of the stderr the stats should go to, once the program closes or
 * replaces fd 2 (coreutils close stderr at exit). */
static int stats_fd = -1;

void bs_stats_keep_stderr(int fd)
{
	if (fd != 2 || stats_fd >= 0 || !bs_active || bs_cfg.stats != BS_STATS_STDERR)
		return;
	bs_depth++;
	stats_fd = fcntl(2, F_DUPFD_CLOEXEC, 512);
	if (stats_fd < 0)
		stats_fd = fcntl(2, F_DUPFD_CLOEXEC, 3);
	bs_depth--;
}

void bs_report_stats(void)
{
	int fd = stats_fd >= 0 ? stats_fd : 2;

	if (!bs_active || bs_cfg.stats == BS_STATS_OFF)
		return;
	bs_depth++;
	if (bs_cfg.stats == BS_STATS_FILE)
		fd = open(bs_cfg.stats_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0) {
		bs_files_each(report_one, &fd);
		if (fd != 2 && fd != stats_fd)
			bs_sys_close(fd);
	}
	bs_depth--;
}

/* ---- the end of a process ----------------------------------------------------------- */

/* First flush at exit, before destructors and handlers registered before
 * ours run: they may wait on a reader of our output. */
static void at_exit_flush(void)
{
	if (!bs_depth)
		bs_flush_all(BS_FLUSH_EXIT, 1);
}

void bs_stop_buffering(void)
{
	if (bs_depth || !bs_active)
		return;
	bs_depth++;
	if (!__atomic_load_n(&bs_finished, __ATOMIC_ACQUIRE))
		bs_finish();
	bs_depth--;
}

void bs_end_process(void)
{
	if (bs_depth || !bs_active)
		return;		/* inside us (a signal handler): nothing is safe */
	bs_stop_buffering();
	bs_report_stats();
}

__attribute__((constructor)) static void bs_constructor(void)
{
	bs_init();
	if (!bs_active)
		return;
	(void)pthread_atfork(bs_fork_prepare, bs_fork_parent, bs_fork_child);
	(void)atexit(at_exit_flush);
	/* registered first, so run last: after the program's own handlers */
	(void)at_quick_exit(bs_end_process);
	bs_stdio_bridge();
}

__attribute__((destructor)) static void bs_destructor(void)
{
	bs_end_process();
}
