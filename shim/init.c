/* SPDX-License-Identifier: MIT */
/*
 * init.c — the configuration, read once, and where the stats go.
 */
#include "shim.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

struct bs_config bs_cfg;
int bs_active;
BS_TLS struct bs_thread bs_self;

enum { INIT_NONE, INIT_BUSY, INIT_DONE };
static int init_state BS_STARTUP;

/*
 * A relative stats path names a file in the directory the process started
 * in, wherever it goes later (a program that chdirs still writes to the
 * file its user meant). Without a working directory that fits, no stats:
 * one line says so; buffering goes on.
 */
BS_TEXT_START static void stats_path_absolute(void)
{
	char cwd[BS_PATH_MAX] = "", line[256];
	size_t clen, plen;
	struct bs_str msg;
	const char *why = NULL;

	if ((bs_cfg.stats != BS_STATS_FILE && bs_cfg.stats != BS_STATS_SUMMARY) ||
	    bs_cfg.stats_path[0] == '/')
		return;
	/* the syscall: an unreachable directory is an error, not a path */
	if (bs_sys2(SYS_getcwd, cwd, sizeof cwd) < 0 || cwd[0] != '/') {
		why = "the working directory has no path";
	} else {
		clen = strlen(cwd);
		plen = strlen(bs_cfg.stats_path);
		if (clen + 1 + plen >= sizeof bs_cfg.stats_path) {
			why = "is too long a path inside this working directory";
		} else {
			memmove(bs_cfg.stats_path + clen + 1, bs_cfg.stats_path, plen + 1);
			memcpy(bs_cfg.stats_path, cwd, clen);
			bs_cfg.stats_path[clen] = '/';
			return;
		}
	}
	bs_str_init(&msg, line, sizeof line);
	bs_str_add(&msg, "bufshim: BUFSHIM_STATS='");
	bs_str_value(&msg, bs_cfg.stats_path);
	bs_str_add(&msg, "': ");
	bs_str_add(&msg, why);
	bs_str_add(&msg, "; no stats");
	bs_diag(line);
	bs_cfg.stats = BS_STATS_OFF;
}

BS_TEXT_START static void configure(void)
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
	stats_path_absolute();
	if (bs_cfg.stats != BS_STATS_OFF)
		bs_stats_name();
	if (bs_cfg.threads_local)
		bs_local_start();
	bs_active = 1;
}

/* The engine asks whether a signal waits for this thread (signals.c). */
static int signal_waits(void)
{
	return bs_self.deferred != 0;
}

BS_TEXT_START void bs_init(void)
{
	int expected = INIT_NONE;

	if (bs_likely(__atomic_load_n(&init_state, __ATOMIC_ACQUIRE) == INIT_DONE))
		return;
	if (!__atomic_compare_exchange_n(&init_state, &expected, INIT_BUSY, 0,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return;		/* done, or under way in another thread */
	bs_enter();		/* getenv must not come back to us */
#if !BS_ARCH_RAW_SYSCALL
	(void)BS_REAL(syscall);	/* every raw syscall goes through it */
#endif
	bs_buffer_set_futex(bs_sys_futex_wait, bs_sys_futex_wake);
	bs_buffer_set_interrupted(signal_waits);
	configure();
	bs_leave();
	__atomic_store_n(&init_state, INIT_DONE, __ATOMIC_RELEASE);
}

/* ---- where the stats go -------------------------------------------------------------- */

/* A copy of the stderr the stats should go to, once the program closes or
 * replaces fd 2 (coreutils close stderr at exit). */
static int stats_fd = -1;

int bs_stats_fd(void)
{
	return stats_fd >= 0 ? stats_fd : 2;
}

BS_TEXT_HOT void bs_stats_keep_stderr(int fd)
{
	if (fd != 2 || stats_fd >= 0 || !bs_active || bs_cfg.stats != BS_STATS_STDERR)
		return;
	stats_fd = bs_sys_fcntl(2, F_DUPFD_CLOEXEC, 512);
	if (stats_fd < 0)
		stats_fd = bs_sys_fcntl(2, F_DUPFD_CLOEXEC, 3);
}

#ifdef BS_GUARD_DEBUG
void bs_guard_check(const char *where, int depth)
{
	char line[256];
	struct bs_str s;

	if (depth >= 0 && depth < 8)
		return;
	bs_str_init(&s, line, sizeof line);
	bs_str_add(&s, "bufshim: guard: depth ");
	bs_str_add(&s, depth < 0 ? "below 0" : "above 7");
	bs_str_add(&s, " in ");
	bs_str_add(&s, where);
	bs_str_add(&s, ", outermost section ");
	bs_str_add(&s, bs_self.outer ? bs_self.outer : "?");
	bs_diag(line);
	bs_sys1(SYS_exit_group, 99);
}
#endif
