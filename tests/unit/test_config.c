/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the configuration parser and the stats line.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/bs_config.h"
#include "../../core/bs_stats.h"
#include "../../core/bs_str.h"

static struct bs_config cfg;
static char line[256];

/* Parse with one variable set; returns the parser's result. */
static int parse1(const char *var, const char *value)
{
	struct bs_env env = { 0 };
	struct bs_str msg;

	if (!strcmp(var, "FDS")) env.fds = value;
	else if (!strcmp(var, "SIZE")) env.size = value;
	else if (!strcmp(var, "MODE")) env.mode = value;
	else if (!strcmp(var, "FLUSH_MS")) env.flush_ms = value;
	else if (!strcmp(var, "STATS")) env.stats = value;
	else if (!strcmp(var, "STDIO")) env.stdio = value;
	else if (!strcmp(var, "THREADS")) env.threads = value;
	else if (!strcmp(var, "ASYNC")) env.async = value;
	else ck_abort_msg("unknown variable %s", var);
	bs_str_init(&msg, line, sizeof line);
	return bs_config_parse(&cfg, &env, &msg);
}

START_TEST(defaults)
{
	struct bs_env env = { 0 };
	struct bs_str msg;

	bs_str_init(&msg, line, sizeof line);
	ck_assert_int_eq(bs_config_parse(&cfg, &env, &msg), 0);
	ck_assert_int_eq(cfg.all, 0);
	ck_assert_int_eq(cfg.nfds, 1);
	ck_assert_int_eq(bs_config_fd_mode(&cfg, 1), BS_MODE_AUTO);
	ck_assert_int_eq(bs_config_fd_mode(&cfg, 2), -1);
	ck_assert_uint_eq(cfg.size, 4096);
	ck_assert_int_eq(cfg.mode, BS_MODE_AUTO);
	ck_assert_uint_eq(cfg.flush_ms, 0);
	ck_assert_int_eq(cfg.stats, BS_STATS_OFF);
	ck_assert_int_eq(cfg.stdio, 1);
	ck_assert_int_eq(cfg.threads_local, 0);
	ck_assert_int_eq(cfg.async, 0);
	ck_assert_str_eq(line, "");
}
END_TEST

START_TEST(threads)
{
	ck_assert_int_eq(parse1("THREADS", "local"), 0);
	ck_assert_int_eq(cfg.threads_local, 1);
	ck_assert_int_eq(parse1("THREADS", " shared "), 0);
	ck_assert_int_eq(cfg.threads_local, 0);
	ck_assert_int_eq(parse1("THREADS", "Local"), -1);
	ck_assert_str_eq(line, "bufshim: BUFSHIM_THREADS='Local' is not shared or local; "
			       "buffering off");
	ck_assert_int_eq(parse1("THREADS", ""), -1);
	ck_assert_int_eq(parse1("THREADS", "4"), -1);
}
END_TEST

START_TEST(async)
{
	ck_assert_int_eq(parse1("ASYNC", "1"), 0);
	ck_assert_int_eq(cfg.async, 1);
	ck_assert_int_eq(parse1("ASYNC", " 0 "), 0);
	ck_assert_int_eq(cfg.async, 0);
	ck_assert_int_eq(parse1("ASYNC", "yes"), -1);
	ck_assert_str_eq(line, "bufshim: BUFSHIM_ASYNC='yes' is not 0 or 1; buffering off");
	ck_assert_int_eq(parse1("ASYNC", ""), -1);
}
END_TEST

START_TEST(fds_lists)
{
	ck_assert_int_eq(parse1("FDS", "1,2"), 0);
	ck_assert_int_eq(bs_config_fd_mode(&cfg, 1), BS_MODE_AUTO);
	ck_assert_int_eq(bs_config_fd_mode(&cfg, 2), BS_MODE_AUTO);
	ck_assert_int_eq(bs_config_fd_mode(&cfg, 3), -1);
	ck_assert_int_eq(parse1("FDS", "1:line,2:none, 7:full , 9:auto"), 0);
	ck_assert_int_eq(bs_config_fd_mode(&cfg, 1), BS_MODE_LINE);
	ck_assert_int_eq(bs_config_fd_mode(&cfg, 2), BS_MODE_NONE);
	ck_assert_int_eq(bs_config_fd_mode(&cfg, 7), BS_MODE_FULL);
	ck_assert_int_eq(bs_config_fd_mode(&cfg, 9), BS_MODE_AUTO);
	ck_assert_int_eq(parse1("FDS", " all "), 0);
	ck_assert_int_eq(cfg.all, 1);
	ck_assert_int_eq(bs_config_fd_mode(&cfg, 0), BS_MODE_AUTO);
	ck_assert_int_eq(bs_config_fd_mode(&cfg, 123456), BS_MODE_AUTO);
	ck_assert_int_eq(bs_config_fd_mode(&cfg, -1), -1);
	ck_assert_int_eq(parse1("FDS", "1048575"), 0);
}
END_TEST

START_TEST(fd_mode_follows_the_global_mode_unless_named)
{
	struct bs_env env = { .fds = "1,2:line", .mode = "full" };
	struct bs_str msg;

	bs_str_init(&msg, line, sizeof line);
	ck_assert_int_eq(bs_config_parse(&cfg, &env, &msg), 0);
	ck_assert_int_eq(bs_config_fd_mode(&cfg, 1), BS_MODE_FULL);
	ck_assert_int_eq(bs_config_fd_mode(&cfg, 2), BS_MODE_LINE);
}
END_TEST

static const char *const bad_fds[] = {
	"", " ", "x", "1,", ",1", "1,,2", "-1", "1:", "1:fast", "1:line:full",
	"1 2", "0x1", "+1", "1048576", "99999999999999999999999", "all,1",
};

START_TEST(fds_bad)
{
	ck_assert_int_eq(parse1("FDS", bad_fds[_i]), -1);
	ck_assert_msg(strncmp(line, "bufshim: BUFSHIM_FDS='", 22) == 0, "%s", line);
	ck_assert_ptr_nonnull(strstr(line, "; buffering off"));
	ck_assert_ptr_null(strchr(line, '\n'));
}
END_TEST

START_TEST(fds_twice_and_too_many)
{
	char many[512] = "";

	ck_assert_int_eq(parse1("FDS", "1,2,1"), -1);
	ck_assert_str_eq(line, "bufshim: BUFSHIM_FDS='1,2,1' names an fd twice; buffering off");
	for (int i = 0; i < 65; i++)
		sprintf(many + strlen(many), "%s%d", i ? "," : "", i);
	ck_assert_int_eq(parse1("FDS", many), -1);
	ck_assert_ptr_nonnull(strstr(line, "names more than 64 fds"));
	ck_assert_int_eq(parse1("FDS", "3,1048576"), -1);
	ck_assert_ptr_nonnull(strstr(line, "above 1048575"));
}
END_TEST

static const struct { const char *text; size_t bytes; } good_sizes[] = {
	{ "1", 1 }, { "4096", 4096 }, { " 4096 ", 4096 }, { "64K", 65536 },
	{ "64k", 65536 }, { "64KiB", 65536 }, { "10KB", 10000 }, { "10kB", 10000 },
	{ "1M", 1 << 20 }, { "1MB", 1000000 }, { "1G", 1 << 30 },
	{ "1GB", 1000000000 }, { "1024M", 1 << 30 }, { "512B", 512 },
};

START_TEST(sizes_good)
{
	ck_assert_int_eq(parse1("SIZE", good_sizes[_i].text), 0);
	ck_assert_uint_eq(cfg.size, good_sizes[_i].bytes);
}
END_TEST

START_TEST(sizes_bad)
{
	ck_assert_int_eq(parse1("SIZE", "12x"), -1);
	ck_assert_str_eq(line, "bufshim: BUFSHIM_SIZE='12x' is not a size "
			       "(e.g. 4096, 64K, 1M); buffering off");
	ck_assert_int_eq(parse1("SIZE", ""), -1);
	ck_assert_int_eq(parse1("SIZE", "K"), -1);
	ck_assert_int_eq(parse1("SIZE", "-1"), -1);
	ck_assert_int_eq(parse1("SIZE", "1.5M"), -1);
	ck_assert_int_eq(parse1("SIZE", "4 K"), -1);
	ck_assert_int_eq(parse1("SIZE", "0"), -1);
	ck_assert_str_eq(line, "bufshim: BUFSHIM_SIZE='0' is out of range "
			       "(1 B to 1G); buffering off");
	ck_assert_int_eq(parse1("SIZE", "1025M"), -1);
	ck_assert_ptr_nonnull(strstr(line, "out of range"));
	ck_assert_int_eq(parse1("SIZE", "2G"), -1);
	ck_assert_int_eq(parse1("SIZE", "99999999999999999999999"), -1);
	ck_assert_ptr_nonnull(strstr(line, "out of range"));
	ck_assert_int_eq(parse1("SIZE", "18446744073709551615K"), -1);
}
END_TEST

START_TEST(modes)
{
	static const char *const names[] = { "none", "line", "full", "auto" };

	for (int m = 0; m < 4; m++) {
		ck_assert_int_eq(parse1("MODE", names[m]), 0);
		ck_assert_int_eq(cfg.mode, m);
		ck_assert_str_eq(bs_mode_name((enum bs_mode)m), names[m]);
	}
	ck_assert_int_eq(parse1("MODE", "fast"), -1);
	ck_assert_str_eq(line, "bufshim: BUFSHIM_MODE='fast' is not a mode "
			       "(auto, full, line, none); buffering off");
	ck_assert_int_eq(parse1("MODE", "FULL"), -1);
	ck_assert_int_eq(parse1("MODE", ""), -1);
}
END_TEST

START_TEST(flush_ms_stats_stdio)
{
	ck_assert_int_eq(parse1("FLUSH_MS", "250"), 0);
	ck_assert_uint_eq(cfg.flush_ms, 250);
	ck_assert_int_eq(parse1("FLUSH_MS", "0"), 0);
	ck_assert_uint_eq(cfg.flush_ms, 0);
	ck_assert_int_eq(parse1("FLUSH_MS", "86400001"), -1);
	ck_assert_int_eq(parse1("FLUSH_MS", "1s"), -1);
	ck_assert_ptr_nonnull(strstr(line, "BUFSHIM_FLUSH_MS='1s'"));
	ck_assert_int_eq(parse1("STATS", "1"), 0);
	ck_assert_int_eq(cfg.stats, BS_STATS_STDERR);
	ck_assert_int_eq(parse1("STATS", "0"), 0);
	ck_assert_int_eq(cfg.stats, BS_STATS_OFF);
	ck_assert_int_eq(parse1("STATS", ""), 0);
	ck_assert_int_eq(cfg.stats, BS_STATS_OFF);
	ck_assert_int_eq(parse1("STATS", "/tmp/stats.log"), 0);
	ck_assert_int_eq(cfg.stats, BS_STATS_FILE);
	ck_assert_str_eq(cfg.stats_path, "/tmp/stats.log");
	ck_assert_int_eq(parse1("STDIO", "0"), 0);
	ck_assert_int_eq(cfg.stdio, 0);
	ck_assert_int_eq(parse1("STDIO", "1"), 0);
	ck_assert_int_eq(cfg.stdio, 1);
	ck_assert_int_eq(parse1("STDIO", "yes"), -1);
	ck_assert_str_eq(line, "bufshim: BUFSHIM_STDIO='yes' is not 0 or 1; buffering off");
}
END_TEST

/* The path is copied: a program that rewrites its environment (to show a
 * title, as PostgreSQL and nginx do) keeps its stats file. */
START_TEST(stats_path_is_a_copy)
{
	char value[] = " logs/stats.log ";
	char long_path[BS_PATH_MAX + 1];

	ck_assert_int_eq(parse1("STATS", value), 0);
	memset(value, 'x', sizeof value - 1);
	ck_assert_int_eq(cfg.stats, BS_STATS_FILE);
	ck_assert_str_eq(cfg.stats_path, "logs/stats.log");
	ck_assert_int_eq(parse1("STATS", "summary:/tmp/d/totals"), 0);
	ck_assert_int_eq(cfg.stats, BS_STATS_SUMMARY);
	ck_assert_str_eq(cfg.stats_path, "/tmp/d/totals");
	ck_assert_int_eq(parse1("STATS", "summary"), 0);	/* a file named so */
	ck_assert_int_eq(cfg.stats, BS_STATS_FILE);
	ck_assert_str_eq(cfg.stats_path, "summary");
	ck_assert_int_eq(parse1("STATS", "summary: "), -1);
	ck_assert_str_eq(line, "bufshim: BUFSHIM_STATS='summary: ' names no file "
			       "(summary:PATH); buffering off");
	memset(long_path, 'a', sizeof long_path - 1);
	long_path[sizeof long_path - 1] = '\0';
	ck_assert_int_eq(parse1("STATS", long_path), -1);
	ck_assert_ptr_nonnull(strstr(line, "is too long a path (4095 bytes at most); buffering off"));
	long_path[BS_PATH_MAX - 1] = '\0';
	ck_assert_int_eq(parse1("STATS", long_path), 0);
	ck_assert_uint_eq(strlen(cfg.stats_path), BS_PATH_MAX - 1);
}
END_TEST

START_TEST(message_is_one_safe_line)
{
	char long_value[300];

	ck_assert_int_eq(parse1("SIZE", "4\n\x1b[31m"), -1);
	ck_assert_str_eq(line, "bufshim: BUFSHIM_SIZE='4??[31m' is not a size "
			       "(e.g. 4096, 64K, 1M); buffering off");
	memset(long_value, '9', sizeof long_value - 1);
	long_value[sizeof long_value - 1] = '\0';
	long_value[0] = 'x';
	ck_assert_int_eq(parse1("SIZE", long_value), -1);
	ck_assert_ptr_nonnull(strstr(line, "...' is not a size"));
	ck_assert_ptr_nonnull(strstr(line, "; buffering off"));
}
END_TEST

START_TEST(stats_line_format)
{
	struct bs_stats st = { .writes = 100000, .bytes = 588895, .syscalls = 144 };
	struct bs_stats_who who = { 1234, "python3" };
	struct bs_str s;

	st.flushes[BS_DELIVER_FULL] = 143;
	st.flushes[BS_DELIVER_EXIT] = 1;
	bs_str_init(&s, line, sizeof line);
	bs_stats_line(&s, &who, 1, "pipe", BS_MODE_FULL, 4096, &st);
	ck_assert_str_eq(line, "bufshim: pid 1234 (python3): fd 1 (pipe, full, 4096 B): "
			       "100000 writes, 588895 B in 144 syscalls (694x fewer); "
			       "flushes: 143 full, 1 exit; 0 errors, 0 B dropped");
	memset(&st, 0, sizeof st);
	st.writes = 5;
	st.bytes = 5;
	st.syscalls = 2;
	st.errors = 1;
	st.dropped = 3;
	st.flushes[BS_DELIVER_SYNC] = 2;
	who.pid = 7;
	who.name = "a\nb";	/* a name is shown on one line */
	bs_str_init(&s, line, sizeof line);
	bs_stats_line(&s, &who, 2, "tty", BS_MODE_LINE, 1, &st);
	ck_assert_str_eq(line, "bufshim: pid 7 (a?b): fd 2 (tty, line, 1 B): 5 writes, 5 B "
			       "in 2 syscalls (2.5x fewer); flushes: 2 sync; 1 error, 3 B dropped");
}
END_TEST

/* A process's record for the summary goes out and comes back whole; the
 * summary line adds them up. */
START_TEST(summary_records_and_line)
{
	struct bs_stats st = { .writes = 1000, .bytes = 10000, .syscalls = 3,
			       .errors = 1, .dropped = 7 }, back, sum = { 0 };
	struct bs_str s;
	long pid = 0;

	st.flushes[BS_DELIVER_FULL] = 2;
	st.flushes[BS_DELIVER_SIGNAL] = 1;
	bs_str_init(&s, line, sizeof line);
	bs_stats_record(&s, 4242, &st);
	ck_assert_str_eq(line, "bufshim-summary-1 4242 1000 10000 3 1 7 2 0 0 0 0 0 0 1\n");
	memset(&back, 0xff, sizeof back);
	ck_assert_int_eq(bs_stats_record_parse(line, &pid, &back), 0);
	ck_assert_int_eq(pid, 4242);
	ck_assert_mem_eq(&back, &st, sizeof st);
	ck_assert_int_eq(bs_stats_record_parse("bufshim-summary-1 4242 1000 10000 3 1 7 2 0 0 0 0 0 0 1", &pid, &back), 0);
	ck_assert_int_eq(bs_stats_record_parse("bufshim-summary-1 4242 1000 10000 3 1 7 2 0 0 0 0 0 0", &pid, &back), -1);
	ck_assert_int_eq(bs_stats_record_parse("bufshim-summary-1 4242 1000 10000 3 1 7 2 0 0 0 0 0 0 1 9", &pid, &back), -1);
	ck_assert_int_eq(bs_stats_record_parse("bufshim-summary-1 0 1 1 1 1 1 1 1 1 1 1 1 1 1", &pid, &back), -1);
	ck_assert_int_eq(bs_stats_record_parse("bufshim-summary-1 1 x 1 1 1 1 1 1 1 1 1 1 1 1", &pid, &back), -1);
	ck_assert_int_eq(bs_stats_record_parse("bufshim-summary-2 1 1 1 1 1 1 1 1 1 1 1 1 1 1", &pid, &back), -1);
	ck_assert_int_eq(bs_stats_record_parse("bufshim-summ", &pid, &back), -1);
	ck_assert_int_eq(bs_stats_record_parse("bufshim-summary-1 1 99999999999999999999 1 1 1 1 1 1 1 1 1 1 1 1", &pid, &back), -1);
	bs_stats_add(&sum, &st);
	bs_stats_add(&sum, &st);
	bs_str_init(&s, line, sizeof line);
	bs_stats_summary_line(&s, 2, &sum);
	ck_assert_str_eq(line, "bufshim: summary: 2 processes, 2000 writes, 20000 B in 6 syscalls "
			       "(333x fewer); flushes: 4 full, 2 signal; 2 errors, 14 B dropped");
	memset(&sum, 0, sizeof sum);
	bs_str_init(&s, line, sizeof line);
	bs_stats_summary_line(&s, 1, &sum);
	ck_assert_str_eq(line, "bufshim: summary: 1 process, 0 writes, 0 B in 0 syscalls "
			       "(no fewer); flushes: none; 0 errors, 0 B dropped");
}
END_TEST

START_TEST(str_is_bounded)
{
	char small[8];
	struct bs_str s;

	bs_str_init(&s, small, sizeof small);
	bs_str_add(&s, "abcdefghijkl");
	ck_assert_str_eq(small, "abcdefg");
	bs_str_u64(&s, 42);
	ck_assert_str_eq(small, "abcdefg");
	bs_str_init(&s, small, sizeof small);
	bs_str_u64(&s, 0);
	bs_str_u64(&s, 18446744073709551615ULL);
	ck_assert_str_eq(small, "0184467");
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, defaults);
	tcase_add_test(tc, fds_lists);
	tcase_add_test(tc, fd_mode_follows_the_global_mode_unless_named);
	tcase_add_loop_test(tc, fds_bad, 0, sizeof bad_fds / sizeof bad_fds[0]);
	tcase_add_test(tc, fds_twice_and_too_many);
	tcase_add_loop_test(tc, sizes_good, 0, sizeof good_sizes / sizeof good_sizes[0]);
	tcase_add_test(tc, sizes_bad);
	tcase_add_test(tc, modes);
	tcase_add_test(tc, flush_ms_stats_stdio);
	tcase_add_test(tc, stats_path_is_a_copy);
	tcase_add_test(tc, message_is_one_safe_line);
	tcase_add_test(tc, stats_line_format);
	tcase_add_test(tc, summary_records_and_line);
	tcase_add_test(tc, str_is_bounded);
	tcase_add_test(tc, threads);
	tcase_add_test(tc, async);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(config_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
