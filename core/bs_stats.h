/*
 * bs_stats — the one-line report of a buffer's work (BUFSHIM_STATS).
 */
#ifndef BS_STATS_H
#define BS_STATS_H

#include "bs_buffer.h"
#include "bs_str.h"

/* The process a line is about: its pid and its program's name. */
struct bs_stats_who {
	long pid;
	const char *name;
};

/*
 * Append, without a newline:
 * "bufshim: pid 1234 (python3): fd 1 (pipe, full, 4096 B): 100000 writes,
 *  588895 B in 144 syscalls (694x fewer); flushes: 143 full, 1 exit;
 *  0 errors, 0 B dropped"
 */
void bs_stats_line(struct bs_str *s, const struct bs_stats_who *who, int fd,
		   const char *kind, enum bs_mode mode, size_t cap,
		   const struct bs_stats *st);

#endif
