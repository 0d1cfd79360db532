/* SPDX-License-Identifier: MIT */
/*
 * stats.c — the stats lines (BUFSHIM_STATS): one per buffer that did work;
 * or, for the command's --stats=summary (BUFSHIM_STATS=summary:PATH), one
 * record of the process's totals, for the command to add up.
 *
 * To a file, they are appended to the path taken at start (init.c), which
 * is opened only when there is something to report, never through a
 * symbolic link, never waiting (a FIFO without a reader), and only when it
 * is a regular file. When it cannot be written, one line on stderr says
 * why, once.
 */
#include "shim.h"

#include <fcntl.h>
#include <string.h>

#include "../core/bs_stats.h"

/* The program's name, as it started: a program that sets its title
 * overwrites argv, where the C library's name for it points. */
static char name[32] = "?";

void bs_stats_name(void)
{
	const char *n = program_invocation_short_name;
	size_t i;

	if (!n || !*n)
		return;
	for (i = 0; i < sizeof name - 1 && n[i]; i++)
		name[i] = n[i];
	name[i] = '\0';
}

struct report {
	struct bs_stats_who who;
	int fd;			/* where the lines go; -1: not opened yet */
	int opened;		/* fd is the stats file's: closed at the end */
	int failed;		/* the file could not be opened: no lines */
	struct bs_stats total;	/* summary: the process's totals */
	int hurried;		/* the process dies of a signal: no lock waited for */
};

/* One line on stderr: the stats file cannot be written, and why. Once. */
static void say_cannot(const char *why)
{
	static int said;
	char line[512];
	struct bs_str s;

	if (__atomic_exchange_n(&said, 1, __ATOMIC_RELAXED))
		return;
	bs_str_init(&s, line, sizeof line);
	bs_str_add(&s, "bufshim: stats not written to '");
	bs_str_value(&s, bs_cfg.stats_path);
	bs_str_add(&s, "': ");
	bs_str_add(&s, why);
	bs_diag(line);
}

/* The stats file, opened to append, or -1 (said why). */
static int open_stats_file(void)
{
	struct stat st;
	const char *why;
	int fd, err;

	fd = bs_sys_open(bs_cfg.stats_path,
			 O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW |
			 O_NONBLOCK | O_NOCTTY, 0644);
	if (fd < 0) {
		err = errno;
		if (err == ENOENT && bs_cfg.stats == BS_STATS_SUMMARY)
			return -1;	/* the command has summed up already */
		if (err == ELOOP)
			why = "it is a symbolic link";
		else if (err == ENXIO)
			why = "it is not a regular file";	/* a FIFO without a reader */
		else
			why = strerrordesc_np(err) ? strerrordesc_np(err) : "unknown error";
		say_cannot(why);
		return -1;
	}
	if (bs_sys_fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		bs_sys_close(fd);
		say_cannot("it is not a regular file");
		return -1;
	}
	return fd;
}

/* The file, made now if need be: 0, or -1 when it cannot be written. */
static int report_to(struct report *r)
{
	if (r->fd >= 0)
		return 0;
	if (r->failed)
		return -1;
	r->fd = open_stats_file();
	if (r->fd < 0) {
		r->failed = 1;
		return -1;
	}
	r->opened = 1;
	return 0;
}

/* The capacity f was given: the configured size, PIPE_BUF at most for a
 * pipe (see files.c). */
static size_t configured_cap(const struct bs_file *f)
{
	return f->kind == BS_KIND_PIPE && bs_cfg.size > PIPE_BUF ? PIPE_BUF : bs_cfg.size;
}

/* Memory refused: "; no memory: written straight through" for an fd that
 * never had a buffer, "; no memory past 65536 B" for one that could not
 * grow to its size. */
static void memory_note(struct bs_str *s, const struct bs_file *f)
{
	if (f->no_memory) {
		bs_str_add(s, "; no memory: written straight through");
	} else if (f->buf.cap < configured_cap(f)) {
		bs_str_add(s, "; no memory past ");
		bs_str_u64(s, f->buf.cap);
		bs_str_add(s, " B");
	}
}

static void report_one(struct bs_file *f, void *arg)
{
	struct report *r = arg;
	char line[512];
	struct bs_str s;

	if (f->locals)	/* per-thread buffers: their work is the file's */
		bs_local_take_stats(f->locals, &f->buf.stats, r->hurried);
	if (f->buf.stats.writes == 0)
		return;
	if (bs_cfg.stats == BS_STATS_SUMMARY) {
		bs_stats_add(&r->total, &f->buf.stats);
		memset(&f->buf.stats, 0, sizeof f->buf.stats);
		return;
	}
	if (report_to(r) < 0)
		return;
	bs_str_init(&s, line, sizeof line);
	bs_stats_line(&s, &r->who, f->fd, bs_kind_name(f->kind), f->mode, configured_cap(f),
		      &f->buf.stats);
	memory_note(&s, f);
	bs_str_add(&s, "\n");
	bs_write_all(r->fd, line, s.len);
	memset(&f->buf.stats, 0, sizeof f->buf.stats);
}

BS_TEXT_START static void report(int hurried)
{
	struct report r = { .fd = -1, .who.name = name, .hurried = hurried };

	if (!bs_active || bs_cfg.stats == BS_STATS_OFF)
		return;
	bs_enter();
	r.who.pid = bs_sys0(SYS_getpid);
	if (bs_cfg.stats == BS_STATS_STDERR)
		r.fd = bs_stats_fd();
	if (hurried)
		bs_files_each_unlocked(report_one, &r);
	else
		bs_files_each(report_one, &r);
	if (r.total.writes && report_to(&r) == 0) {
		char line[512];
		struct bs_str s;

		bs_str_init(&s, line, sizeof line);
		bs_stats_record(&s, r.who.pid, &r.total);
		bs_write_all(r.fd, line, s.len);	/* one write: appended whole */
	}
	if (r.opened)
		bs_sys_close(r.fd);
	bs_leave();
}

BS_TEXT_START void bs_report_stats(void)
{
	report(0);
}

void bs_report_stats_hurried(void)
{
	report(1);
}
