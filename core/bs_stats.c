/* SPDX-License-Identifier: MIT */
/*
 * bs_stats — format a buffer's counters.
 */
#include "bs_stats.h"
#include "bs_config.h"

#include <stdint.h>

static const char *const reason_names[BS_DELIVER_NREASONS] = {
	[BS_DELIVER_FULL] = "full",
	[BS_DELIVER_LINE] = "line",
	[BS_DELIVER_SYNC] = "sync",
	[BS_DELIVER_WAIT] = "wait",
	[BS_DELIVER_PROCESS] = "process",
	[BS_DELIVER_TIMER] = "timer",
	[BS_DELIVER_EXIT] = "exit",
	[BS_DELIVER_SIGNAL] = "signal",
};

/* "694x fewer", "2.5x fewer", "no fewer" */
static void ratio(struct bs_str *s, uint64_t writes, uint64_t syscalls)
{
	uint64_t tenths;

	if (syscalls == 0 || writes <= syscalls) {
		bs_str_add(s, "no fewer");
		return;
	}
	tenths = writes / syscalls >= 10 ? 0 : writes * 10 / syscalls % 10;
	bs_str_u64(s, writes / syscalls);
	if (tenths) {
		bs_str_add(s, ".");
		bs_str_u64(s, tenths);
	}
	bs_str_add(s, "x fewer");
}

/* "1000 writes, 10000 B in 3 syscalls (333x fewer); flushes: 2 full, 1
 * sync; 0 errors, 0 B dropped" */
static void counters(struct bs_str *s, const struct bs_stats *st)
{
	const char *sep = " ";

	bs_str_u64(s, st->writes);
	bs_str_add(s, st->writes == 1 ? " write, " : " writes, ");
	bs_str_u64(s, st->bytes);
	bs_str_add(s, " B in ");
	bs_str_u64(s, st->syscalls);
	bs_str_add(s, st->syscalls == 1 ? " syscall (" : " syscalls (");
	ratio(s, st->writes, st->syscalls);
	bs_str_add(s, "); flushes:");
	for (int r = 0; r < BS_DELIVER_NREASONS; r++) {
		if (!st->flushes[r])
			continue;
		bs_str_add(s, sep);
		bs_str_u64(s, st->flushes[r]);
		bs_str_add(s, " ");
		bs_str_add(s, reason_names[r]);
		sep = ", ";
	}
	if (*sep == ' ')
		bs_str_add(s, " none");
	bs_str_add(s, "; ");
	bs_str_u64(s, st->errors);
	bs_str_add(s, st->errors == 1 ? " error, " : " errors, ");
	bs_str_u64(s, st->dropped);
	bs_str_add(s, " B dropped");
}

void bs_stats_line(struct bs_str *s, const struct bs_stats_who *who, int fd,
		   const char *kind, enum bs_mode mode, size_t cap,
		   const struct bs_stats *st)
{
	bs_str_add(s, "bufshim: pid ");
	bs_str_u64(s, (uint64_t)who->pid);
	bs_str_add(s, " (");
	bs_str_value(s, who->name);
	bs_str_add(s, "): fd ");
	bs_str_u64(s, (uint64_t)fd);
	bs_str_add(s, " (");
	bs_str_add(s, kind);
	bs_str_add(s, ", ");
	bs_str_add(s, bs_mode_name(mode));
	bs_str_add(s, ", ");
	bs_str_u64(s, cap);
	bs_str_add(s, " B): ");
	counters(s, st);
}

void bs_stats_add(struct bs_stats *sum, const struct bs_stats *st)
{
	sum->writes += st->writes;
	sum->bytes += st->bytes;
	sum->syscalls += st->syscalls;
	for (int r = 0; r < BS_DELIVER_NREASONS; r++)
		sum->flushes[r] += st->flushes[r];
	sum->errors += st->errors;
	sum->dropped += st->dropped;
}

#define RECORD_TAG "bufshim-summary-1"

void bs_stats_record(struct bs_str *s, long pid, const struct bs_stats *st)
{
	const uint64_t head[] = { st->writes, st->bytes, st->syscalls, st->errors, st->dropped };

	bs_str_add(s, RECORD_TAG " ");
	bs_str_u64(s, (uint64_t)pid);
	for (size_t i = 0; i < sizeof head / sizeof head[0]; i++) {
		bs_str_add(s, " ");
		bs_str_u64(s, head[i]);
	}
	for (int r = 0; r < BS_DELIVER_NREASONS; r++) {
		bs_str_add(s, " ");
		bs_str_u64(s, st->flushes[r]);
	}
	bs_str_add(s, "\n");
}

/* A decimal number and the space or end after it; NULL if there is none. */
static const char *number(const char *p, uint64_t *v)
{
	const char *start = p;

	*v = 0;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (*v > (UINT64_MAX - 9) / 10)
			return NULL;
		*v = *v * 10 + (uint64_t)(*p - '0');
	}
	if (p == start || (*p != ' ' && *p != '\n' && *p != '\0'))
		return NULL;
	return *p == ' ' ? p + 1 : p;
}

int bs_stats_record_parse(const char *line, long *pid, struct bs_stats *st)
{
	uint64_t *head[] = { &st->writes, &st->bytes, &st->syscalls, &st->errors, &st->dropped };
	const char *p = line;
	uint64_t v;

	for (const char *t = RECORD_TAG " "; *t; t++, p++)
		if (*p != *t)
			return -1;
	if (!(p = number(p, &v)) || v == 0 || v > (uint64_t)0x7fffffff)
		return -1;
	*pid = (long)v;
	for (size_t i = 0; i < sizeof head / sizeof head[0]; i++)
		if (!(p = number(p, head[i])))
			return -1;
	for (int r = 0; r < BS_DELIVER_NREASONS; r++)
		if (!(p = number(p, &st->flushes[r])))
			return -1;
	return *p == '\0' || (*p == '\n' && p[1] == '\0') ? 0 : -1;
}

void bs_stats_summary_line(struct bs_str *s, uint64_t processes,
			   const struct bs_stats *st)
{
	bs_str_add(s, "bufshim: summary: ");
	bs_str_u64(s, processes);
	bs_str_add(s, processes == 1 ? " process, " : " processes, ");
	counters(s, st);
}
