/* SPDX-License-Identifier: MIT */
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

/* sum += st */
void bs_stats_add(struct bs_stats *sum, const struct bs_stats *st);

/*
 * A process's totals as one record of BUFSHIM_STATS=summary:PATH, with its
 * newline: "bufshim-summary-1 PID WRITES BYTES SYSCALLS ERRORS DROPPED"
 * and the flushes by reason, in the order of enum bs_reason.
 */
void bs_stats_record(struct bs_str *s, long pid, const struct bs_stats *st);

/* A record back (its newline optional): 0, or -1 when line is not one. */
int bs_stats_record_parse(const char *line, long *pid, struct bs_stats *st);

/*
 * The summary of many processes, without a newline:
 * "bufshim: summary: 3 processes, 30000 writes, 300000 B in 76 syscalls
 *  (394x fewer); flushes: 73 full, 3 exit; 0 errors, 0 B dropped"
 */
void bs_stats_summary_line(struct bs_str *s, uint64_t processes,
			   const struct bs_stats *st);

#endif
