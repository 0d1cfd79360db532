/*
 * bs_stats — format a buffer's counters.
 */
#include "bs_stats.h"
#include "bs_config.h"

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

void bs_stats_line(struct bs_str *s, const struct bs_stats_who *who, int fd,
		   const char *kind, enum bs_mode mode, size_t cap,
		   const struct bs_stats *st)
{
	const char *sep = " ";

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
