/* SPDX-License-Identifier: MIT */
/*
 * bs_config — the environment's settings, parsed.
 *
 * A pure function from strings to a configuration, or to the one line that
 * says which setting is wrong, what it was and what would be valid. The
 * library and the bufshim command share it, so both say the same thing.
 */
#ifndef BS_CONFIG_H
#define BS_CONFIG_H

#include <stddef.h>

#include "bs_buffer.h"
#include "bs_str.h"

#define BS_SIZE_DEFAULT	 4096
#define BS_SIZE_MAX	 ((size_t)1 << 30)	/* 1 GiB */
#define BS_FD_LIMIT	 (1 << 20)		/* fd numbers below this */
#define BS_FDS_MAX	 64			/* fds one list may name */
#define BS_FLUSH_MS_MAX	 86400000u		/* one day */
#define BS_PATH_MAX	 4096			/* a stats path, its NUL included */

/* The raw values; NULL means unset. */
struct bs_env {
	const char *fds;	/* BUFSHIM_FDS */
	const char *size;	/* BUFSHIM_SIZE */
	const char *mode;	/* BUFSHIM_MODE */
	const char *flush_ms;	/* BUFSHIM_FLUSH_MS */
	const char *stats;	/* BUFSHIM_STATS */
	const char *stdio;	/* BUFSHIM_STDIO */
	const char *threads;	/* BUFSHIM_THREADS */
	const char *async;	/* BUFSHIM_ASYNC */
};

/* Where the stats go: nowhere; a line per buffered fd on stderr or
 * appended to a file; or each process's totals appended to a file, one
 * record a process, for the command's --stats=summary to add up. */
enum bs_stats_to { BS_STATS_OFF, BS_STATS_STDERR, BS_STATS_FILE, BS_STATS_SUMMARY };

struct bs_fdspec {
	int fd;
	int mode;		/* an enum bs_mode, or -1: follow BUFSHIM_MODE */
};

struct bs_config {
	int all;		/* every eligible fd */
	int nfds;
	struct bs_fdspec fds[BS_FDS_MAX];
	size_t size;
	enum bs_mode mode;	/* the default, AUTO included */
	unsigned flush_ms;	/* 0: no bound */
	enum bs_stats_to stats;
	int stdio;
	int threads_local;	/* BUFSHIM_THREADS=local: a buffer per thread */
	int async;		/* BUFSHIM_ASYNC=1: a helper thread writes full
				 * buffers of regular files */
	/* FILE and SUMMARY: a copy, as it was set (the library makes a
	 * relative one absolute at start); a program may rewrite its
	 * environment (to show a title) and a path into it would change.
	 * Last, and not cleared beyond its first byte: a process that
	 * keeps no stats file never touches its pages. */
	char stats_path[BS_PATH_MAX];
};

/* Fill env through lookup (getenv, in the library and the command). */
void bs_env_read(struct bs_env *env, char *(*lookup)(const char *name));

/*
 * Fill c from env. Returns 0, or -1 with msg holding one line (no newline)
 * of the form "bufshim: VAR='value' is not ...; buffering off".
 */
int bs_config_parse(struct bs_config *c, const struct bs_env *env,
		    struct bs_str *msg);

/* The mode configured for fd (AUTO is left to the caller to resolve), or
 * -1 when fd is not chosen. */
int bs_config_fd_mode(const struct bs_config *c, int fd);

/* "4096", "64K", "1M", "10KB"... into *out. 0, -1 for not a size, -2 for
 * a size outside 1 B to 1 GiB. */
int bs_parse_size(const char *s, size_t *out);

/* "auto", "full", "line", "none". 0 or -1. */
int bs_parse_mode(const char *s, enum bs_mode *out);

/* "full", "line", "none"... as text. */
const char *bs_mode_name(enum bs_mode mode);

#endif
