/*
 * stats.c — the stats lines (BUFSHIM_STATS): one per buffer that did work.
 */
#include "shim.h"

#include <fcntl.h>
#include <string.h>

#include "../core/bs_stats.h"

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
	bs_write_all(fd, line, s.len);
	memset(&f->buf.stats, 0, sizeof f->buf.stats);
}

static void report(int hurried)
{
	int fd = bs_stats_fd();

	if (!bs_active || bs_cfg.stats == BS_STATS_OFF)
		return;
	bs_enter();
	if (bs_cfg.stats == BS_STATS_FILE)
		fd = bs_sys_open(bs_cfg.stats_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0) {
		if (hurried)
			bs_files_each_unlocked(report_one, &fd);
		else
			bs_files_each(report_one, &fd);
		if (bs_cfg.stats == BS_STATS_FILE)
			bs_sys_close(fd);
	}
	bs_leave();
}

void bs_report_stats(void)
{
	report(0);
}

void bs_report_stats_hurried(void)
{
	report(1);
}
