/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the buffer engine with fake sinks.
 */
#define _GNU_SOURCE
#include <check.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <sched.h>
#include <time.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <stdio.h>
#include <stdint.h>

#include "../../core/bs_buffer.h"
#include "fake_sink.h"

/* Check records where it got to at every ck_assert, a write to its parent
 * process: millions of them in the loops below made these tests take 17 s.
 * EXPECT costs nothing unless it fails. */
#define EXPECT(cond)							\
	do {								\
		if (!(cond))						\
			ck_abort_msg("%s:%d: failed: %s", __FILE__, __LINE__, #cond); \
	} while (0)

#define CAP 4096

static struct fake_sink *sink;
static struct bs_buffer buf;
static char *mem;
static int short_sink;	/* the sink splits on purpose: skip invariant 2 */

static void make(size_t cap, enum bs_mode mode)
{
	sink = fake_new(64 << 20);
	mem = malloc(cap);
	ck_assert_int_eq(bs_buffer_init(&buf, mem, cap, mode, fake_writev, sink), 0);
}

static void teardown(void)
{
	fake_free(sink);
	free(mem);
}

/* n bytes of a pattern that never repeats within a test */
static void pattern(char *p, size_t n, size_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (char)('a' + (seed + i * 7 + i / 26) % 26);
}

/* Write total bytes in writes of size w; check invariant 1 and 2. */
static void write_in_pieces(size_t total, size_t w)
{
	char *src = malloc(total), *p = src;
	size_t *starts = malloc((total / w + 2) * sizeof *starts), nw = 0;

	pattern(src, total, w);
	for (size_t off = 0; off < total; off += w) {
		size_t k = total - off < w ? total - off : w;

		starts[nw++] = off;
		EXPECT((bs_buffer_write(&buf, p + off, k)) == ((ssize_t)k));
	}
	ck_assert_int_eq(bs_buffer_deliver(&buf, BS_DELIVER_EXIT, 1), 0);
	ck_assert_uint_eq(sink->len, total);
	ck_assert(memcmp(sink->out, src, total) == 0);
	for (size_t i = 0; i < nw; i++) {
		size_t end = starts[i] + w < total ? starts[i] + w : total;

		/* not ck_assert: Check records where each passing one was,
		 * a write syscall each (a million here) */
		if (end - starts[i] <= buf.cap && !short_sink && !fake_whole(sink, starts[i], end))
			ck_abort_msg("write %zu split across syscalls", i);
	}
	free(src);
	free(starts);
}

static size_t ceil_div(size_t a, size_t b)
{
	return (a + b - 1) / b;
}

/* ---- full mode ------------------------------------------------------------ */

START_TEST(full_one_byte_writes_reach_the_floor)
{
	make(CAP, BS_MODE_FULL);
	write_in_pieces(100000, 1);
	ck_assert_int_le(sink->calls, (int)ceil_div(100000, CAP));
	ck_assert_uint_eq(buf.stats.writes, 100000);
	ck_assert_uint_eq(buf.stats.bytes, 100000);
	ck_assert_uint_eq(buf.stats.syscalls, (uint64_t)sink->calls);
	teardown();
}
END_TEST

static const size_t sizes[] = { 1, 7, CAP - 1, CAP, CAP + 1, 3 * CAP + 5 };

START_TEST(full_every_size_whole_and_few)
{
	size_t w = sizes[_i];

	make(CAP, BS_MODE_FULL);
	write_in_pieces(50 * CAP + 123, w);
	/* at most one syscall per capacity of bytes, or one per write when
	 * writes are larger than the buffer */
	ck_assert_int_le(sink->calls, (int)ceil_div(50 * CAP + 123, w <= CAP ? CAP : w) + 1);
	teardown();
}
END_TEST

START_TEST(full_capacity_one)
{
	make(1, BS_MODE_FULL);
	write_in_pieces(1000, 1);
	ck_assert_int_le(sink->calls, 1000);	/* ceil(bytes / size) */
	teardown();
}
END_TEST

START_TEST(full_write_of_the_capacity_is_not_copied)
{
	char a[CAP], b[CAP];

	make(CAP, BS_MODE_FULL);
	pattern(a, CAP, 4);
	pattern(b, CAP, 5);
	ck_assert_int_eq(bs_buffer_write(&buf, a, CAP), CAP);
	ck_assert_int_eq(sink->calls, 1);
	ck_assert_ptr_eq(sink->first_base[0], a);
	ck_assert_int_eq(bs_buffer_write(&buf, "x", 1), 1);
	ck_assert_int_eq(bs_buffer_write(&buf, b, CAP), CAP);
	ck_assert_int_eq(sink->calls, 2);		/* {x, b} in one writev */
	ck_assert_uint_eq(sink->len, 2 * CAP + 1);
	ck_assert(memcmp(sink->out + CAP + 1, b, CAP) == 0);
	teardown();
}
END_TEST

START_TEST(full_nothing_delivered_until_it_does_not_fit)
{
	char a[CAP];

	make(CAP, BS_MODE_FULL);
	pattern(a, sizeof a, 1);
	ck_assert_int_eq(bs_buffer_write(&buf, a, 1000), 1000);
	ck_assert_int_eq(bs_buffer_write(&buf, a + 1000, CAP - 1000), CAP - 1000);
	ck_assert_int_eq(sink->calls, 0);		/* exactly full: still held */
	ck_assert_int_eq(bs_buffer_write(&buf, "x", 1), 1);
	ck_assert_int_eq(sink->calls, 1);		/* one writev of both */
	ck_assert_uint_eq(sink->len, CAP + 1);
	ck_assert_uint_eq(bs_buffer_pending(&buf), 0);
	ck_assert_uint_eq(buf.stats.flushes[BS_DELIVER_FULL], 1);
	teardown();
}
END_TEST

START_TEST(full_large_write_goes_out_without_a_copy)
{
	size_t big = 1 << 20;
	char *p = malloc(big);

	make(CAP, BS_MODE_FULL);
	pattern(p, big, 3);
	ck_assert_int_eq(bs_buffer_write(&buf, "head", 4), 4);
	ck_assert_int_eq(bs_buffer_write(&buf, p, big), (ssize_t)big);
	ck_assert_int_eq(sink->calls, 1);
	ck_assert_uint_eq(sink->len, big + 4);
	ck_assert(memcmp(sink->out, "head", 4) == 0);
	ck_assert(memcmp(sink->out + 4, p, big) == 0);
	/* empty buffer: the caller's memory goes to the sink as it is */
	ck_assert_int_eq(bs_buffer_write(&buf, p, big), (ssize_t)big);
	ck_assert_ptr_eq(sink->first_base[1], p);
	free(p);
	teardown();
}
END_TEST

START_TEST(full_zero_length_write_makes_no_syscall)
{
	make(CAP, BS_MODE_FULL);
	ck_assert_int_eq(bs_buffer_write(&buf, "x", 0), 0);
	ck_assert_int_eq(sink->calls, 0);
	teardown();
}
END_TEST

/* ---- writev -------------------------------------------------------------------- */

START_TEST(writev_is_one_write)
{
	struct iovec v[3] = { { "ab", 2 }, { "", 0 }, { "cde", 3 } };

	make(4, BS_MODE_FULL);
	ck_assert_int_eq(bs_buffer_write(&buf, "x", 1), 1);
	ck_assert_int_eq(bs_buffer_writev(&buf, v, 3), 5);	/* 1 + 5 > 4 */
	ck_assert_int_eq(sink->calls, 1);
	ck_assert_uint_eq(sink->len, 6);
	ck_assert(memcmp(sink->out, "xabcde", 6) == 0);
	teardown();
}
END_TEST

START_TEST(writev_with_many_iovecs_keeps_order)
{
	struct iovec v[200];
	char bytes[200];

	make(16, BS_MODE_FULL);
	for (int i = 0; i < 200; i++) {
		bytes[i] = (char)('A' + i % 26);
		v[i].iov_base = &bytes[i];
		v[i].iov_len = 1;
	}
	ck_assert_int_eq(bs_buffer_write(&buf, "12", 2), 2);
	ck_assert_int_eq(bs_buffer_writev(&buf, v, 200), 200);
	ck_assert_uint_eq(sink->len, 202);
	ck_assert(memcmp(sink->out, "12", 2) == 0);
	ck_assert(memcmp(sink->out + 2, bytes, 200) == 0);
	ck_assert_int_eq(sink->calls, 2);	/* buffered, then the array as it came */
	ck_assert(fake_whole(sink, 2, 202));
	teardown();
}
END_TEST

START_TEST(writev_invalid_count_reaches_the_sink)
{
	make(CAP, BS_MODE_FULL);
	ck_assert_int_eq(bs_buffer_write(&buf, "ab", 2), 2);
	errno = 0;
	ck_assert_int_eq(bs_buffer_writev(&buf, NULL, -1), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_uint_eq(sink->len, 2);	/* what was buffered went first */
	teardown();
}
END_TEST

/* ---- line and none ---------------------------------------------------------------- */

START_TEST(line_newline_delivers_with_the_buffer)
{
	make(CAP, BS_MODE_LINE);
	ck_assert_int_eq(bs_buffer_write(&buf, "abc", 3), 3);
	ck_assert_int_eq(bs_buffer_write(&buf, "de", 2), 2);
	ck_assert_int_eq(sink->calls, 0);
	ck_assert_int_eq(bs_buffer_write(&buf, "f\ng", 3), 3);
	ck_assert_int_eq(sink->calls, 1);
	ck_assert_uint_eq(sink->len, 8);
	ck_assert(memcmp(sink->out, "abcdef\ng", 8) == 0);
	ck_assert_uint_eq(buf.stats.flushes[BS_DELIVER_LINE], 1);
	ck_assert_int_eq(bs_buffer_write(&buf, "\n", 1), 1);
	ck_assert_int_eq(sink->calls, 2);
	teardown();
}
END_TEST

/* A progress line redrawn in place ends at its carriage return. */
START_TEST(line_carriage_return_delivers_too)
{
	make(CAP, BS_MODE_LINE);
	ck_assert_int_eq(bs_buffer_write(&buf, "\rprogress 40%", 13), 13);
	ck_assert_int_eq(sink->calls, 1);
	ck_assert_int_eq(bs_buffer_write(&buf, "x", 1), 1);
	ck_assert_int_eq(sink->calls, 1);
	ck_assert_int_eq(bs_buffer_write(&buf, "\r", 1), 1);
	ck_assert_int_eq(sink->calls, 2);
	ck_assert_uint_eq(sink->len, 15);
	ck_assert(memcmp(sink->out, "\rprogress 40%x\r", 15) == 0);
	teardown();
}
END_TEST

START_TEST(line_long_lines_still_whole)
{
	make(64, BS_MODE_LINE);
	write_in_pieces(10000, 100);	/* no newlines: behaves as full */
	teardown();
}
END_TEST

START_TEST(none_passes_each_write)
{
	make(CAP, BS_MODE_NONE);
	for (int i = 0; i < 10; i++)
		EXPECT((bs_buffer_write(&buf, "ab", 2)) == (2));
	ck_assert_int_eq(sink->calls, 10);
	ck_assert_uint_eq(sink->len, 20);
	teardown();
}
END_TEST

/* One buffer, several fds: each write in its own fd's mode. */
START_TEST(per_call_mode_none_delivers_with_the_buffer)
{
	struct iovec v = { "err\n", 4 };

	make(CAP, BS_MODE_FULL);
	ck_assert_int_eq(bs_buffer_write(&buf, "out1\n", 5), 5);
	ck_assert_int_eq(sink->calls, 0);
	ck_assert_int_eq(bs_buffer_writev_as(&buf, &v, 1, BS_MODE_NONE), 4);
	ck_assert_int_eq(sink->calls, 1);		/* one writev, in order */
	ck_assert_uint_eq(sink->len, 9);
	ck_assert(memcmp(sink->out, "out1\nerr\n", 9) == 0);
	ck_assert_int_eq(bs_buffer_writev_as(&buf, &v, 1, BS_MODE_NONE), 4);
	ck_assert_int_eq(sink->calls, 2);		/* empty buffer: straight */
	ck_assert_ptr_eq(sink->first_base[1], v.iov_base);
	teardown();
}
END_TEST

START_TEST(per_call_mode_line_and_the_cap)
{
	struct iovec nl = { "a\n", 2 }, plain = { "b", 1 };

	make(CAP, BS_MODE_FULL);
	ck_assert_int_eq(bs_buffer_writev_as(&buf, &plain, 1, BS_MODE_LINE), 1);
	ck_assert_int_eq(bs_buffer_writev_as(&buf, &nl, 1, BS_MODE_FULL), 2);
	ck_assert_int_eq(sink->calls, 0);		/* full: a newline waits */
	ck_assert_int_eq(bs_buffer_writev_as(&buf, &nl, 1, BS_MODE_LINE), 2);
	ck_assert_int_eq(sink->calls, 1);
	ck_assert(memcmp(sink->out, "ba\na\n", 5) == 0);
	teardown();
	make(CAP, BS_MODE_LINE);			/* the buffer's mode caps */
	ck_assert_int_eq(bs_buffer_writev_as(&buf, &nl, 1, BS_MODE_FULL), 2);
	ck_assert_int_eq(sink->calls, 1);
	teardown();
}
END_TEST

/* A pipe several processes write: no delivery that joins bytes may pass
 * PIPE_BUF, or the kernel may put another writer's bytes inside a record. */
START_TEST(atomic_limit_keeps_every_delivery_within_it)
{
	size_t off = 0, prev = 0;
	char rec[40];

	make(65536, BS_MODE_FULL);
	bs_buffer_set_atomic(&buf, 4096);
	ck_assert_uint_eq(buf.cap, 4096);
	for (int i = 0; i < 10000; i++) {
		pattern(rec, sizeof rec, (size_t)i);
		EXPECT((bs_buffer_write(&buf, rec, sizeof rec)) == ((ssize_t)sizeof rec));
		EXPECT(fake_whole(sink, off, off + sizeof rec));
		off += sizeof rec;
	}
	ck_assert_int_eq(bs_buffer_deliver(&buf, BS_DELIVER_EXIT, 1), 0);
	ck_assert_uint_eq(sink->len, off);
	for (int i = 0; i < sink->nends; i++) {
		EXPECT((sink->ends[i] - prev) <= (4096));
		prev = sink->ends[i];
	}
	ck_assert_int_le(sink->calls, (int)ceil_div(off, 4096 - 40) + 1);
	/* none mode (a member that is not chosen) splits the same way */
	ck_assert_int_eq(bs_buffer_write(&buf, rec, 30), 30);
	{
		char big[4090] = { 0 };
		struct iovec v = { big, sizeof big };

		ck_assert_int_eq(bs_buffer_writev_as(&buf, &v, 1, BS_MODE_NONE), (ssize_t)sizeof big);
	}
	ck_assert_uint_le(sink->ends[sink->nends - 1] - sink->ends[sink->nends - 2], 4096);
	teardown();
}
END_TEST

START_TEST(init_rejects_nonsense)
{
	char m[4];

	ck_assert_int_eq(bs_buffer_init(&buf, m, 0, BS_MODE_FULL, fake_writev, NULL), -1);
	ck_assert_int_eq(bs_buffer_init(&buf, m, 4, BS_MODE_AUTO, fake_writev, NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	/* a capacity the engine's 32-bit room cannot hold (never allocated) */
	errno = 0;
	ck_assert_int_eq(bs_buffer_init(&buf, m, (size_t)UINT32_MAX + 1, BS_MODE_FULL, fake_writev,
					 NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

/* ---- faults ------------------------------------------------------------------------ */

START_TEST(short_writes_resume_at_the_exact_byte)
{
	make(CAP, BS_MODE_FULL);
	sink->take_always = 3;
	short_sink = 1;
	write_in_pieces(20000, 77);
	short_sink = 0;
	ck_assert_int_gt(sink->calls, 20000 / 3);
	teardown();
}
END_TEST

START_TEST(eintr_is_retried_not_reported)
{
	make(8, BS_MODE_FULL);
	sink->script[0].err = EINTR;
	sink->script[1].err = EINTR;
	ck_assert_int_eq(bs_buffer_write(&buf, "abcdef", 6), 6);
	ck_assert_int_eq(bs_buffer_write(&buf, "ghijkl", 6), 6);
	ck_assert_uint_eq(sink->len, 12);
	ck_assert(memcmp(sink->out, "abcdefghijkl", 12) == 0);
	ck_assert_uint_eq(buf.stats.errors, 0);
	ck_assert_uint_eq(buf.stats.syscalls, 3);
	teardown();
}
END_TEST

START_TEST(eagain_keeps_the_bytes)
{
	make(8, BS_MODE_FULL);
	sink->script[0].take = 2;
	sink->script[1].err = EAGAIN;
	ck_assert_int_eq(bs_buffer_write(&buf, "abcdef", 6), 6);
	errno = 0;
	ck_assert_int_eq(bs_buffer_write(&buf, "ghijkl", 6), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_uint_eq(bs_buffer_pending(&buf), 4);	/* cdef kept */
	ck_assert_int_eq(bs_buffer_write(&buf, "ghijkl", 6), 6);
	ck_assert_int_eq(bs_buffer_deliver(&buf, BS_DELIVER_EXIT, 1), 0);
	ck_assert_uint_eq(sink->len, 12);
	ck_assert(memcmp(sink->out, "abcdefghijkl", 12) == 0);
	ck_assert_uint_eq(buf.stats.dropped, 0);
	teardown();
}
END_TEST

/* A delivery that must not wait (BS_NOWAIT, before the program waits): the
 * sink takes two bytes, then would block. The rest stays held from the
 * exact byte, no error is kept or counted, and a later delivery sends it. */
START_TEST(nowait_keeps_the_rest_and_records_nothing)
{
	make(16, BS_MODE_FULL);
	sink->script[0].take = 2;
	sink->script[1].err = EAGAIN;
	ck_assert_int_eq(bs_buffer_write(&buf, "abcdef", 6), 6);
	errno = 0;
	ck_assert_int_eq(bs_buffer_deliver(&buf, BS_DELIVER_WAIT, BS_YIELD | BS_NOWAIT), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_uint_eq(bs_buffer_pending(&buf), 4);	/* cdef held */
	ck_assert_int_eq(buf.error, 0);
	ck_assert_uint_eq(buf.stats.errors, 0);
	ck_assert_int_eq(bs_buffer_write(&buf, "gh", 2), 2);	/* no failure to report */
	ck_assert_int_eq(bs_buffer_deliver(&buf, BS_DELIVER_TIMER, 0), 0);
	ck_assert_uint_eq(sink->len, 8);
	ck_assert(memcmp(sink->out, "abcdefgh", 8) == 0);
	ck_assert_uint_eq(buf.stats.dropped, 0);
	teardown();
}
END_TEST

/* Without BS_NOWAIT the same EAGAIN is a failure kept for the program. */
START_TEST(eagain_without_nowait_is_kept_for_the_program)
{
	make(16, BS_MODE_FULL);
	sink->script[0].err = EAGAIN;
	ck_assert_int_eq(bs_buffer_write(&buf, "abcdef", 6), 6);
	ck_assert_int_eq(bs_buffer_deliver(&buf, BS_DELIVER_WAIT, BS_YIELD), -1);
	ck_assert_int_eq(buf.error, EAGAIN);
	ck_assert_uint_eq(buf.stats.errors, 1);
	teardown();
}
END_TEST

/* ---- a signal waits for the thread (the shim's deferred signals) --------------------- */

static int signal_waits;

static int waits(void)
{
	return signal_waits;
}

static void make_interruptible(size_t cap)
{
	make(cap, BS_MODE_FULL);
	signal_waits = 0;
	bs_buffer_set_interrupted(waits);
}

static void end_interruptible(void)
{
	bs_buffer_set_interrupted(NULL);
	signal_waits = 0;
	teardown();
}

/* The kernel stopped inside the caller's bytes while a signal waits: the
 * write returns that short count, as it would without us. */
START_TEST(signal_short_count_reaches_the_caller)
{
	char big[3 * 8];

	make_interruptible(8);
	pattern(big, sizeof big, 3);
	ck_assert_int_eq(bs_buffer_write(&buf, "abcd", 4), 4);
	sink->script[0].take = 10;	/* the 4 held, then 6 of the caller's */
	signal_waits = 1;
	ck_assert_int_eq(bs_buffer_write(&buf, big, sizeof big), 6);
	ck_assert_int_eq(sink->calls, 1);
	ck_assert_uint_eq(sink->len, 10);
	ck_assert_uint_eq(bs_buffer_pending(&buf), 0);
	ck_assert_uint_eq(buf.stats.errors, 0);
	end_interruptible();
}
END_TEST

/* EINTR while held bytes go out and a signal waits: they stay held, the
 * caller gets -1/EINTR, nothing is dropped; the next write delivers them. */
START_TEST(signal_eintr_keeps_the_held_bytes)
{
	char big[3 * 8];

	make_interruptible(8);
	pattern(big, sizeof big, 5);
	ck_assert_int_eq(bs_buffer_write(&buf, "abcd", 4), 4);
	sink->script[0].take = 2;
	sink->script[1].err = EINTR;
	signal_waits = 1;
	errno = 0;
	/* a short count inside the held bytes: it stops there */
	ck_assert_int_eq(bs_buffer_write(&buf, big, sizeof big), -1);
	ck_assert_int_eq(errno, EINTR);
	ck_assert_int_eq(sink->calls, 1);
	ck_assert_uint_eq(bs_buffer_pending(&buf), 2);	/* "cd" */
	/* EINTR itself: not retried */
	errno = 0;
	ck_assert_int_eq(bs_buffer_write(&buf, big, sizeof big), -1);
	ck_assert_int_eq(errno, EINTR);
	ck_assert_int_eq(sink->calls, 2);
	ck_assert_uint_eq(bs_buffer_pending(&buf), 2);
	ck_assert_uint_eq(buf.stats.errors, 0);
	ck_assert_uint_eq(buf.stats.dropped, 0);
	signal_waits = 0;
	ck_assert_int_eq(bs_buffer_write(&buf, big, sizeof big), (ssize_t)sizeof big);
	ck_assert_uint_eq(sink->len, 4 + sizeof big);
	ck_assert(memcmp(sink->out, "abcd", 4) == 0);
	ck_assert(memcmp(sink->out + 4, big, sizeof big) == 0);
	end_interruptible();
}
END_TEST

/* A short count or EINTR with no signal waiting is retried as before, and
 * deliveries at boundaries finish even when one waits. */
START_TEST(no_signal_no_change_and_boundaries_finish)
{
	char big[3 * 8];

	make_interruptible(8);
	pattern(big, sizeof big, 7);
	sink->script[0].take = 5;
	sink->script[1].err = EINTR;
	ck_assert_int_eq(bs_buffer_write(&buf, big, sizeof big), (ssize_t)sizeof big);
	ck_assert_uint_eq(sink->len, sizeof big);
	ck_assert_int_eq(bs_buffer_write(&buf, "abcd", 4), 4);
	sink->script[3].err = EINTR;
	sink->script[4].take = 1;
	signal_waits = 1;
	ck_assert_int_eq(bs_buffer_deliver(&buf, BS_DELIVER_SYNC, 1), 0);
	ck_assert_uint_eq(sink->len, sizeof big + 4);
	ck_assert_uint_eq(bs_buffer_pending(&buf), 0);
	end_interruptible();
}
END_TEST

/* The caller's own large write, made by the caller, came back short while
 * a signal waits: that count is the answer, nothing more is sent. */
START_TEST(signal_direct_short_count_stands)
{
	char big[2 * CAP];

	make_interruptible(CAP);
	pattern(big, sizeof big, 13);
	signal_waits = 1;
	ck_assert_int_eq(bs_buffer_direct_done(&buf, big, sizeof big, BS_MODE_FULL, 100), 100);
	ck_assert_int_eq(sink->calls, 0);
	errno = EINTR;
	ck_assert_int_eq(bs_buffer_direct_done(&buf, big, sizeof big, BS_MODE_FULL, -1), -1);
	ck_assert_int_eq(errno, EINTR);
	ck_assert_int_eq(sink->calls, 0);
	ck_assert_uint_eq(buf.stats.errors, 0);
	end_interruptible();
}
END_TEST

static const int hard_errors[] = { ENOSPC, EPIPE, EIO, EBADF, EFBIG };

START_TEST(hard_error_reported_by_the_call_that_hit_it)
{
	int err = hard_errors[_i];

	make(8, BS_MODE_FULL);
	sink->script[0].take = 2;
	sink->script[1].err = err;
	ck_assert_int_eq(bs_buffer_write(&buf, "abcdef", 6), 6);
	errno = 0;
	ck_assert_int_eq(bs_buffer_write(&buf, "ghijkl", 6), -1);
	ck_assert_int_eq(errno, err);
	ck_assert_uint_eq(buf.stats.dropped, 4);
	ck_assert_uint_eq(buf.stats.errors, 1);
	/* reported once: the next write is accepted, the buffer is sane */
	ck_assert_int_eq(bs_buffer_write(&buf, "mn", 2), 2);
	ck_assert_int_eq(bs_buffer_deliver(&buf, BS_DELIVER_EXIT, 1), 0);
	ck_assert_uint_eq(sink->len, 4);
	ck_assert(memcmp(sink->out, "abmn", 4) == 0);	/* an exact prefix, then on */
	teardown();
}
END_TEST

START_TEST(error_at_a_wait_is_reported_by_the_next_write_once)
{
	make(CAP, BS_MODE_FULL);
	sink->script[0].err = ENOSPC;
	ck_assert_int_eq(bs_buffer_write(&buf, "abc", 3), 3);
	ck_assert_int_eq(bs_buffer_deliver(&buf, BS_DELIVER_WAIT, 0), -1);
	errno = 0;
	ck_assert_int_eq(bs_buffer_write(&buf, "d", 1), -1);
	ck_assert_int_eq(errno, ENOSPC);
	ck_assert_int_eq(bs_buffer_write(&buf, "d", 1), 1);
	ck_assert_int_eq(bs_buffer_deliver(&buf, BS_DELIVER_SYNC, 1), 0);
	ck_assert_uint_eq(sink->len, 1);
	teardown();
}
END_TEST

START_TEST(error_at_a_wait_is_reported_by_the_next_sync_once)
{
	make(CAP, BS_MODE_FULL);
	sink->script[0].err = EIO;
	ck_assert_int_eq(bs_buffer_write(&buf, "abc", 3), 3);
	ck_assert_int_eq(bs_buffer_deliver(&buf, BS_DELIVER_WAIT, 0), -1);
	errno = 0;
	ck_assert_int_eq(bs_buffer_deliver(&buf, BS_DELIVER_SYNC, 1), -1);
	ck_assert_int_eq(errno, EIO);
	ck_assert_int_eq(bs_buffer_deliver(&buf, BS_DELIVER_SYNC, 1), 0);
	teardown();
}
END_TEST

START_TEST(error_after_part_of_the_callers_bytes_is_a_short_count)
{
	char big[100];

	make(16, BS_MODE_FULL);
	pattern(big, sizeof big, 9);
	sink->script[0].take = 50;	/* 10 buffered + 40 of the caller's */
	sink->script[1].err = ENOSPC;
	ck_assert_int_eq(bs_buffer_write(&buf, "0123456789", 10), 10);
	ck_assert_int_eq(bs_buffer_write(&buf, big, 100), 40);
	ck_assert_uint_eq(buf.stats.dropped, 0);
	ck_assert_uint_eq(sink->len, 50);
	teardown();
}
END_TEST

START_TEST(error_on_an_empty_buffer_is_the_callers)
{
	char big[100] = { 0 };

	make(16, BS_MODE_FULL);
	sink->script[0].err = EPIPE;
	errno = 0;
	ck_assert_int_eq(bs_buffer_write(&buf, big, 100), -1);
	ck_assert_int_eq(errno, EPIPE);
	ck_assert_uint_eq(buf.stats.dropped, 0);
	ck_assert_int_eq(bs_buffer_deliver(&buf, BS_DELIVER_SYNC, 1), 0);	/* nothing pending */
	teardown();
}
END_TEST

START_TEST(passthrough_after_the_end)
{
	make(CAP, BS_MODE_FULL);
	ck_assert_int_eq(bs_buffer_write(&buf, "ab", 2), 2);
	bs_buffer_lock(&buf);
	ck_assert_int_eq(bs_buffer_deliver_held(&buf, BS_DELIVER_EXIT, 1), 0);
	bs_buffer_set_passthrough_held(&buf);
	bs_buffer_unlock(&buf);
	ck_assert_int_eq(bs_buffer_write(&buf, "c", 1), 1);
	ck_assert_int_eq(sink->calls, 2);
	ck_assert(memcmp(sink->out, "abc", 3) == 0);
	teardown();
}
END_TEST

/* ---- the fast paths of write(2) ---------------------------------------------------- */

/* Writes of random sizes (0 to 3x the capacity, newlines here and there)
 * through bs_buffer_write, whose fast paths serve a single-threaded
 * process, and the same through a one-element writev, which never takes
 * them: the same bytes, sink calls and stats. _i: 0 full, 1 line, 2 full
 * with an atomic limit. */
START_TEST(write_fast_paths_match_the_general_path)
{
	enum bs_mode mode = _i == 1 ? BS_MODE_LINE : BS_MODE_FULL;
	struct fake_sink *other = fake_new(64 << 20);
	struct bs_buffer gen;
	char *gmem = malloc(512), *src = malloc(3 * 512);
	unsigned seed = 12345;

	make(512, mode);
	ck_assert_int_eq(bs_buffer_init(&gen, gmem, 512, mode, fake_writev, other), 0);
	if (_i == 2) {
		bs_buffer_set_atomic(&buf, 300);
		bs_buffer_set_atomic(&gen, 300);
	}
	pattern(src, 3 * 512, 7);
	for (int k = 0; k < 5000; k++) {
		size_t n, off;
		struct iovec v;

		seed = seed * 1103515245u + 12345u;
		n = (seed >> 8) % (k % 10 ? 600 : 1536);
		off = (seed >> 4) % (3 * 512 - n + 1);
		v = (struct iovec){ .iov_base = src + off, .iov_len = n };
		EXPECT((bs_buffer_write(&buf, src + off, n)) == ((ssize_t)n));
		EXPECT((bs_buffer_writev(&gen, &v, 1)) == ((ssize_t)n));
		if (k % 97 == 0)
			src[(seed >> 3) % (3 * 512)] = '\n';
	}
	ck_assert_int_eq(bs_buffer_deliver(&buf, BS_DELIVER_EXIT, 1), 0);
	ck_assert_int_eq(bs_buffer_deliver(&gen, BS_DELIVER_EXIT, 1), 0);
	ck_assert_uint_eq(sink->len, other->len);
	ck_assert(memcmp(sink->out, other->out, sink->len) == 0);
	ck_assert_int_eq(sink->nends, other->nends);
	ck_assert(memcmp(sink->ends, other->ends, (size_t)sink->nends * sizeof sink->ends[0]) == 0);
	ck_assert(memcmp(&buf.stats, &gen.stats, sizeof buf.stats) == 0);
	ck_assert_uint_gt(buf.stats.flushes[mode == BS_MODE_FULL ? BS_DELIVER_FULL : BS_DELIVER_LINE], 100);
	fake_free(other);
	free(gmem);
	free(src);
	teardown();
}
END_TEST

START_TEST(direct_only_when_empty_and_large)
{
	make(CAP, BS_MODE_FULL);
	ck_assert(bs_buffer_direct_ok(&buf, CAP, BS_MODE_FULL));
	ck_assert(bs_buffer_direct_ok(&buf, CAP, BS_MODE_LINE));
	ck_assert(!bs_buffer_direct_ok(&buf, CAP - 1, BS_MODE_FULL));
	ck_assert(!bs_buffer_direct_ok(&buf, CAP, BS_MODE_NONE));
	ck_assert(!bs_buffer_direct_ok(&buf, (size_t)SSIZE_MAX + 1, BS_MODE_FULL));
	ck_assert_int_eq(bs_buffer_write(&buf, "x", 1), 1);
	ck_assert(!bs_buffer_direct_ok(&buf, CAP, BS_MODE_FULL));	/* x goes first */
	ck_assert_int_eq(bs_buffer_deliver(&buf, BS_DELIVER_SYNC, 1), 0);
	ck_assert(bs_buffer_direct_ok(&buf, CAP, BS_MODE_FULL));
	buf.error = EIO;				/* to be reported first */
	ck_assert(!bs_buffer_direct_ok(&buf, CAP, BS_MODE_FULL));
	teardown();
}
END_TEST

/* The caller made the syscall itself and it wrote 100 of 2*CAP bytes: the
 * rest goes to the sink, and the program sees all of it written. */
START_TEST(direct_done_finishes_a_partial_write)
{
	char big[2 * CAP];

	make(CAP, BS_MODE_FULL);
	pattern(big, sizeof big, 11);
	ck_assert_int_eq(bs_buffer_direct_done(&buf, big, sizeof big, BS_MODE_FULL, 100),
			 (ssize_t)sizeof big);
	ck_assert_uint_eq(sink->len, sizeof big - 100);
	ck_assert(memcmp(sink->out, big + 100, sizeof big - 100) == 0);
	ck_assert_uint_eq(buf.stats.syscalls, 2);
	ck_assert_uint_eq(buf.stats.writes, 1);
	ck_assert_uint_eq(buf.stats.bytes, sizeof big);
	ck_assert_uint_eq(buf.stats.errors, 0);
	teardown();
}
END_TEST

/* EINTR or EAGAIN from the caller's own syscall: nothing was written, and
 * the write is made again by the general path. */
START_TEST(direct_done_retries_a_transient_failure)
{
	char big[CAP];

	make(CAP, BS_MODE_FULL);
	pattern(big, sizeof big, 12);
	errno = _i ? EAGAIN : EINTR;
	ck_assert_int_eq(bs_buffer_direct_done(&buf, big, sizeof big, BS_MODE_FULL, -1),
			 (ssize_t)sizeof big);
	ck_assert_uint_eq(sink->len, sizeof big);
	ck_assert(memcmp(sink->out, big, sizeof big) == 0);
	ck_assert_uint_eq(buf.stats.errors, 0);
	ck_assert_uint_eq(buf.stats.writes, 1);
	teardown();
}
END_TEST

START_TEST(direct_done_reports_a_failure_once)
{
	char big[CAP] = { 0 };

	make(CAP, BS_MODE_FULL);
	errno = ENOSPC;
	ck_assert_int_eq(bs_buffer_direct_done(&buf, big, sizeof big, BS_MODE_FULL, -1), -1);
	ck_assert_int_eq(errno, ENOSPC);
	ck_assert_uint_eq(buf.stats.errors, 1);
	ck_assert_uint_eq(buf.stats.writes, 0);
	ck_assert_int_eq(sink->calls, 0);		/* not made again */
	ck_assert_int_eq(bs_buffer_deliver(&buf, BS_DELIVER_SYNC, 1), 0);	/* reported */
	teardown();
}
END_TEST

/* ---- memory as bytes arrive ------------------------------------------------------------ */

#define BIG ((size_t)4 << 20)

/* A resize over malloc'ed memory that records what it was asked: the sizes
 * in order, and refuses from call refuse_from on (0: never). */
static size_t resized[64];
static int nresized, refuse_from;

static char *fake_resize(void *ctx, char *data, size_t old, size_t size)
{
	char *p;

	ck_assert_ptr_eq(ctx, sink);
	ck_assert_ptr_eq(data, mem);
	ck_assert_uint_eq(old, buf.room);
	if (nresized < 64)
		resized[nresized] = size;
	if (refuse_from && ++nresized >= refuse_from)
		return NULL;
	if (!refuse_from)
		nresized++;
	p = realloc(mem, size);
	if (p)
		mem = p;
	return p;
}

/* A buffer of capacity cap that holds room bytes to begin with. */
static void make_growing(size_t cap, size_t room)
{
	sink = fake_new(64 << 20);
	mem = malloc(room);
	ck_assert_int_eq(bs_buffer_init(&buf, mem, cap, BS_MODE_FULL, fake_writev, sink), 0);
	bs_buffer_set_room(&buf, room);
	bs_buffer_set_resize(fake_resize);
	nresized = refuse_from = 0;
}

/* Growing changes nothing the sink sees: the same bytes, each write whole,
 * no more syscalls than a buffer of the full size makes; the memory
 * doubles from what it had to the capacity, and no further. */
START_TEST(memory_grows_as_bytes_arrive)
{
	size_t w = sizes[_i];

	size_t cap = 64 * CAP;

	make_growing(cap, CAP);
	ck_assert_uint_eq(buf.room, CAP);
	write_in_pieces(3 * cap + 123, w);
	ck_assert_int_le(sink->calls, (int)ceil_div(3 * cap + 123, w <= cap ? cap : w) + 1);
	if (w < CAP) {
		ck_assert_int_eq(nresized, 6);		/* 8 KiB, 16 KiB ... 256 KiB */
		for (int k = 0; k < nresized; k++)
			ck_assert_uint_eq(resized[k], (size_t)CAP << (k + 1));
	}
	ck_assert_uint_le(buf.room, cap);
	ck_assert_uint_eq(buf.cap, cap);
	teardown();
}
END_TEST

/* Refused memory: the capacity comes down to what is there, and the bytes
 * and invariant 2 are as before. */
START_TEST(memory_refused_lowers_the_capacity)
{
	make_growing(BIG, CAP);
	refuse_from = 3;	/* 8 KiB and 16 KiB granted */
	write_in_pieces(BIG, 100);
	ck_assert_int_eq(nresized, 3);
	ck_assert_uint_eq(buf.cap, 4 * CAP);
	ck_assert_uint_eq(buf.room, 4 * CAP);
	ck_assert_int_le(sink->calls, (int)ceil_div(BIG, 4 * CAP - 100) + 1);
	teardown();
}
END_TEST

/* A large buffer goes back to BS_ROOM_START when a delivery at a boundary
 * leaves it empty; one that fills while the program writes keeps its
 * memory (it will fill again), and so does one of at most BS_ROOM_IDLE. */
START_TEST(memory_given_back_when_idle)
{
	static char chunk[60000];
	size_t n, room;

	make_growing(BIG, CAP);
	for (n = 0; n < 2 * BS_ROOM_IDLE; n += sizeof chunk)
		ck_assert_int_eq(bs_buffer_write(&buf, chunk, sizeof chunk), (ssize_t)sizeof chunk);
	ck_assert_uint_gt(buf.room, BS_ROOM_IDLE);
	ck_assert_int_eq(bs_buffer_deliver(&buf, BS_DELIVER_EXIT, 0), 0);
	ck_assert_uint_gt(buf.room, BS_ROOM_IDLE);	/* the process ends: no use */
	ck_assert_int_eq(bs_buffer_deliver(&buf, _i ? BS_DELIVER_SYNC : BS_DELIVER_WAIT, 0), 0);
	ck_assert_uint_eq(buf.room, BS_ROOM_START);
	ck_assert_uint_eq(resized[nresized - 1], BS_ROOM_START);

	/* full deliveries while the program writes keep it */
	for (size_t k = 0; k < 3 * BIG; k += sizeof chunk, n += sizeof chunk)
		ck_assert_int_eq(bs_buffer_write(&buf, chunk, sizeof chunk), (ssize_t)sizeof chunk);
	ck_assert_uint_eq(buf.room, BIG);
	ck_assert_uint_eq(sink->len + buf.len, n);

	/* a small one stays as it is */
	teardown();
	make_growing(BS_ROOM_IDLE, CAP);
	for (n = 0; n < BS_ROOM_IDLE / 2; n += sizeof chunk)
		bs_buffer_write(&buf, chunk, sizeof chunk);
	room = buf.room;
	ck_assert_uint_gt(room, BS_ROOM_START);
	ck_assert_int_eq(bs_buffer_deliver(&buf, BS_DELIVER_WAIT, 0), 0);
	ck_assert_uint_eq(buf.room, room);
	teardown();
}
END_TEST

/* ---- threads -------------------------------------------------------------------------- */

#define THREADS 4
#define RECORDS 20000

/* Thread t writes its numbered records (fake_record). */
static void *hammer(void *arg)
{
	int t = (int)(intptr_t)arg;
	char rec[128];

	for (int i = 0; i < RECORDS; i++) {
		size_t n = fake_record(rec, t, i);

		if (bs_buffer_write(&buf, rec, n) != (ssize_t)n)
			return (void *)1;
	}
	return NULL;
}

START_TEST(threads_tear_no_record)
{
	pthread_t th[THREADS];
	const char *why;

	if (_i == 2)
		make_growing(BIG, CAP);	/* grows while they write */
	else
		make(CAP, _i ? BS_MODE_LINE : BS_MODE_FULL);
	for (int t = 0; t < THREADS; t++)
		pthread_create(&th[t], NULL, hammer, (void *)(intptr_t)t);
	for (int t = 0; t < THREADS; t++) {
		void *rc;

		pthread_join(th[t], &rc);
		ck_assert_ptr_null(rc);
	}
	ck_assert_int_eq(bs_buffer_deliver(&buf, BS_DELIVER_EXIT, 1), 0);
	why = fake_records_check(sink, THREADS, RECORDS);	/* whole, in order, all */
	ck_assert_msg(why == NULL, "%s", why);
	ck_assert_uint_eq(buf.stats.writes, THREADS * RECORDS);
	teardown();
}
END_TEST

/* ---- the lock ------------------------------------------------------------------------- */

/* The fences the lock may be given (see bs_buffer.c): Linux's membarrier,
 * as the library gives it; none (a full fence on both sides); and one that
 * works when given and is refused ever after (a seccomp filter installed
 * later), where a waiter must not sleep. */
static int test_register(void)
{
	return syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0 ? 0 : -1;
}

static int test_membarrier(void)
{
	return syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0 ? 0 : -1;
}

static int fence_calls;

static int refused_after_first(void)
{
	return __atomic_fetch_add(&fence_calls, 1, __ATOMIC_RELAXED) == 0 ? 0 : -1;
}

static const struct { bs_fence_fn enable, fence; } fences[] = {
	{ test_register, test_membarrier },
	{ NULL, NULL },
	{ test_register, refused_after_first },
};

static void set_fence(int i)
{
	fence_calls = 0;
	bs_buffer_set_fence(fences[i].enable, fences[i].fence);
}

#define LOCK_THREADS 6
#define LOCK_PATIENCE 60	/* s */
#define LOCK_ROUNDS 30000

static struct bs_buffer lockbuf;
static long lock_count;		/* not atomic: only the lock keeps it right */
static int lock_done;

/* Short holds, and now and then one across a yield, so that the others
 * find the lock held and sleep: every one of them must be woken. */
static void *lock_hammer(void *arg)
{
	int t = (int)(intptr_t)arg;

	for (int i = 0; i < LOCK_ROUNDS; i++) {
		long c;

		bs_buffer_lock(&lockbuf);
		c = lock_count;
		if ((i + t) % 128 == 0)
			sched_yield();
		lock_count = c + 1;
		bs_buffer_unlock(&lockbuf);
	}
	__atomic_add_fetch(&lock_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

START_TEST(lock_excludes_and_wakes_every_waiter)
{
	pthread_t th[LOCK_THREADS];
	struct timespec deadline;

	set_fence(_i);
	memset(&lockbuf, 0, sizeof lockbuf);
	lock_count = 0;
	lock_done = 0;
	for (int t = 0; t < LOCK_THREADS; t++)
		pthread_create(&th[t], NULL, lock_hammer, (void *)(intptr_t)t);
	/* a waiter never woken leaves its thread asleep with the lock free */
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += LOCK_PATIENCE;
	for (int t = 0; t < LOCK_THREADS; t++)
		ck_assert_msg(pthread_timedjoin_np(th[t], NULL, &deadline) == 0,
			      "%d of %d threads done after %d s, the lock %s: a lost wake-up",
			      __atomic_load_n(&lock_done, __ATOMIC_ACQUIRE), LOCK_THREADS, LOCK_PATIENCE,
			      __atomic_load_n(&lockbuf.lock, __ATOMIC_RELAXED) ? "held" : "free");
	ck_assert_int_eq(lock_count, (long)LOCK_THREADS * LOCK_ROUNDS);
	ck_assert_int_eq(lockbuf.lock, 0);
	set_fence(0);	/* as main gave it */
}
END_TEST

/*
 * The race the fence is for: a waiter marks itself just as the holder
 * unlocks. The holder lets the other thread go, waits a few hundred
 * cycles (a different number each round), and unlocks; the other thread
 * tries the lock at once, so its marking and sleeping fall around the
 * unlock. Then the holder waits for it to get the lock: one that sleeps
 * on with the lock free is a lost wake-up (counted, then woken by the
 * holder's next lock and unlock so that the test goes on).
 */
#define HANDOFFS 20000

static int handoff_go, handoff_got;

static void *handoff_taker(void *arg)
{
	(void)arg;
	for (int i = 1; i <= HANDOFFS; i++) {
		/* at once when the holder runs beside us; else let it run */
		for (int spins = 0; __atomic_load_n(&handoff_go, __ATOMIC_ACQUIRE) != i; spins++)
			if (spins > 100000)
				sched_yield();
		bs_buffer_lock(&lockbuf);
		bs_buffer_unlock(&lockbuf);
		__atomic_store_n(&handoff_got, i, __ATOMIC_RELEASE);
	}
	return NULL;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* _i = 1: the holder as in a sink call (the lock word FENCED): the
 * waiter sleeps without its fence, on the holder's word. */
START_TEST(lock_handoff_loses_no_wake_up)
{
	pthread_t th;
	unsigned seed = 1;
	int lost = 0;

	set_fence(0);		/* the fence the library uses */
	memset(&lockbuf, 0, sizeof lockbuf);
	handoff_go = handoff_got = 0;
	pthread_create(&th, NULL, handoff_taker, NULL);
	for (int i = 1; i <= HANDOFFS; i++) {
		uint64_t until;

		bs_buffer_lock(&lockbuf);
		if (_i)
			__atomic_store_n(&lockbuf.lock, BS_LOCK_FENCED, __ATOMIC_RELAXED);
		__atomic_store_n(&handoff_go, i, __ATOMIC_RELEASE);
		seed = seed * 1103515245 + 12345;
		for (unsigned k = (seed >> 16) % 512; k > 0; k--)
			__asm__ volatile("" ::: "memory");
		bs_buffer_unlock(&lockbuf);
		until = mono_ns() + 2000000000u;	/* 2 s: a loaded machine */
		for (int spins = 0; __atomic_load_n(&handoff_got, __ATOMIC_ACQUIRE) != i; spins++) {
			if (spins < 100000)
				continue;
			if (mono_ns() > until) {
				lost++;
				bs_buffer_lock(&lockbuf);
				bs_buffer_unlock(&lockbuf);
				until = mono_ns() + 2000000000u;
			}
			sched_yield();
		}
	}
	pthread_join(th, NULL);
	ck_assert_msg(lost == 0, "%d lost wake-ups in %d hand-overs", lost, HANDOFFS);
}
END_TEST

/*
 * The protocol, played in one thread with counting fakes: an unlock that
 * nobody waits for makes no wake call (the point of the plain store); a
 * waiter marks itself before its fence and before it sleeps; the holder's
 * unlock (made here from inside the fake sleep) finds the mark and wakes;
 * the woken waiter marks again before it takes the lock, so that a
 * sleeper behind it would be woken by its unlock in turn.
 */
static struct bs_buffer *played;
static int played_waits, played_wakes, played_fences, played_marked_at_fence;

static int played_wait(int *addr, int val)
{
	ck_assert_ptr_eq(addr, &played->waiters);
	ck_assert_int_eq(*addr, val);	/* asleep only while marked */
	played_waits++;
	bs_buffer_unlock(played);	/* the holder lets go: it must wake us */
	return played_wakes ? 0 : -1;
}

static void played_wake(int *addr)
{
	ck_assert_ptr_eq(addr, &played->waiters);
	played_wakes++;
}

static int played_register(void)
{
	return 0;
}

static int played_fence(void)
{
	played_fences++;
	if (__atomic_load_n(&played->waiters, __ATOMIC_RELAXED))
		played_marked_at_fence++;
	return 0;
}

static void *nothing(void *arg)
{
	return arg;
}

START_TEST(lock_wakes_only_a_marked_waiter)
{
	pthread_t th;

	/* a second thread once: the lock is taken from now on */
	pthread_create(&th, NULL, nothing, NULL);
	pthread_join(th, NULL);
	memset(&lockbuf, 0, sizeof lockbuf);
	played = &lockbuf;
	bs_buffer_set_futex(played_wait, played_wake);
	bs_buffer_set_fence(played_register, played_fence);
	for (int i = 0; i < 100; i++) {
		bs_buffer_lock(&lockbuf);
		bs_buffer_unlock(&lockbuf);
	}
	ck_assert_int_eq(played_fences, 1);	/* made ready once, by an unlock */
	ck_assert_int_eq(played_wakes, 0);
	ck_assert_int_eq(played_waits, 0);

	bs_buffer_lock(&lockbuf);	/* the holder */
	played_fences = 0;
	bs_buffer_lock(&lockbuf);	/* a waiter: sleeps, is woken, takes it */
	ck_assert_int_eq(played_waits, 1);
	ck_assert_int_eq(played_wakes, 1);
	ck_assert_int_eq(played_fences, 1);	/* before the sleep (after it, the lock is free) */
	ck_assert_int_eq(played_marked_at_fence, 1);
	ck_assert_int_eq(lockbuf.lock, 1);
	ck_assert_int_eq(lockbuf.waiters, 1);	/* marked again */
	bs_buffer_unlock(&lockbuf);
	ck_assert_int_eq(played_wakes, 2);
	ck_assert_int_eq(lockbuf.waiters, 0);
	ck_assert_int_eq(lockbuf.lock, 0);
}
END_TEST

/*
 * A waiter that finds the holder in a sink call (the lock word says its
 * unlock makes a full fence) sleeps without making every thread pass a
 * barrier: the holder's unlock sees its mark. Played in one thread: the
 * sink itself waits for the lock its caller holds, and the played sleep
 * lets the holder go.
 */
static int sink_waits, fences_while_waiting;

static ssize_t sink_that_waits(void *ctx, const struct iovec *iov, int n)
{
	if (!sink_waits++) {
		ck_assert_int_eq(lockbuf.lock, BS_LOCK_FENCED);	/* the holder's promise */
		played_fences = 0;
		bs_buffer_lock(&lockbuf);	/* sleeps, is woken, takes it */
		fences_while_waiting = played_fences;
	}
	return fake_writev(ctx, iov, n);
}

START_TEST(lock_waiter_on_a_delivery_needs_no_fence)
{
	static char data[16];
	struct fake_sink *out = fake_new(1024);
	pthread_t th;

	pthread_create(&th, NULL, nothing, NULL);	/* the lock is taken */
	pthread_join(th, NULL);
	memset(&lockbuf, 0, sizeof lockbuf);
	played = &lockbuf;
	played_waits = played_wakes = played_fences = played_marked_at_fence = 0;
	bs_buffer_set_futex(played_wait, played_wake);
	bs_buffer_set_fence(played_register, played_fence);
	ck_assert_int_eq(bs_buffer_init(&lockbuf, data, sizeof data, BS_MODE_FULL,
					 sink_that_waits, out), 0);
	ck_assert_int_eq(bs_buffer_write(&lockbuf, "0123456789", 10), 10);
	ck_assert_int_eq(bs_buffer_write(&lockbuf, "abcdefghij", 10), 10);	/* delivers */
	ck_assert_int_eq(sink_waits, 1);
	ck_assert_int_eq(played_waits, 1);
	/* woken by the holder; marked again as it took the lock, so the
	 * write's own unlock wakes once more */
	ck_assert_int_eq(played_wakes, 2);
	ck_assert_int_eq(fences_while_waiting, 0);
	ck_assert_int_eq(bs_buffer_deliver(&lockbuf, BS_DELIVER_SYNC, 0), 0);
	ck_assert_uint_eq(out->len, 20);
	ck_assert(memcmp(out->out, "0123456789abcdefghij", 20) == 0);
	ck_assert_int_eq(lockbuf.lock, 0);
	fake_free(out);
}
END_TEST

static Suite *buffer_suite(void)
{
	Suite *s = suite_create("buffer");
	TCase *tc = tcase_create("engine");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, full_one_byte_writes_reach_the_floor);
	tcase_add_loop_test(tc, full_every_size_whole_and_few, 0,
			    sizeof sizes / sizeof sizes[0]);
	tcase_add_test(tc, full_capacity_one);
	tcase_add_test(tc, full_write_of_the_capacity_is_not_copied);
	tcase_add_test(tc, full_nothing_delivered_until_it_does_not_fit);
	tcase_add_test(tc, full_large_write_goes_out_without_a_copy);
	tcase_add_test(tc, full_zero_length_write_makes_no_syscall);
	tcase_add_test(tc, writev_is_one_write);
	tcase_add_test(tc, writev_with_many_iovecs_keeps_order);
	tcase_add_test(tc, writev_invalid_count_reaches_the_sink);
	tcase_add_test(tc, line_newline_delivers_with_the_buffer);
	tcase_add_test(tc, line_carriage_return_delivers_too);
	tcase_add_test(tc, line_long_lines_still_whole);
	tcase_add_test(tc, none_passes_each_write);
	tcase_add_test(tc, per_call_mode_none_delivers_with_the_buffer);
	tcase_add_test(tc, per_call_mode_line_and_the_cap);
	tcase_add_test(tc, atomic_limit_keeps_every_delivery_within_it);
	tcase_add_test(tc, init_rejects_nonsense);
	tcase_add_test(tc, short_writes_resume_at_the_exact_byte);
	tcase_add_test(tc, eintr_is_retried_not_reported);
	tcase_add_test(tc, eagain_keeps_the_bytes);
	tcase_add_test(tc, signal_short_count_reaches_the_caller);
	tcase_add_test(tc, signal_eintr_keeps_the_held_bytes);
	tcase_add_test(tc, no_signal_no_change_and_boundaries_finish);
	tcase_add_test(tc, signal_direct_short_count_stands);
	tcase_add_loop_test(tc, hard_error_reported_by_the_call_that_hit_it, 0,
			    sizeof hard_errors / sizeof hard_errors[0]);
	tcase_add_test(tc, error_at_a_wait_is_reported_by_the_next_write_once);
	tcase_add_test(tc, error_at_a_wait_is_reported_by_the_next_sync_once);
	tcase_add_test(tc, error_after_part_of_the_callers_bytes_is_a_short_count);
	tcase_add_test(tc, error_on_an_empty_buffer_is_the_callers);
	tcase_add_test(tc, passthrough_after_the_end);
	tcase_add_loop_test(tc, write_fast_paths_match_the_general_path, 0, 3);
	tcase_add_test(tc, direct_only_when_empty_and_large);
	tcase_add_test(tc, direct_done_finishes_a_partial_write);
	tcase_add_loop_test(tc, direct_done_retries_a_transient_failure, 0, 2);
	tcase_add_test(tc, direct_done_reports_a_failure_once);
	tcase_add_loop_test(tc, memory_grows_as_bytes_arrive, 0, sizeof sizes / sizeof sizes[0]);
	tcase_add_test(tc, memory_refused_lowers_the_capacity);
	tcase_add_loop_test(tc, memory_given_back_when_idle, 0, 2);
	tcase_add_loop_test(tc, threads_tear_no_record, 0, 3);
	tcase_add_loop_test(tc, lock_excludes_and_wakes_every_waiter, 0,
			    sizeof fences / sizeof fences[0]);
	tcase_add_loop_test(tc, lock_handoff_loses_no_wake_up, 0, 2);
	tcase_add_test(tc, nowait_keeps_the_rest_and_records_nothing);
	tcase_add_test(tc, eagain_without_nowait_is_kept_for_the_program);
	tcase_add_test(tc, lock_wakes_only_a_marked_waiter);
	tcase_add_test(tc, lock_waiter_on_a_delivery_needs_no_fence);
	suite_add_tcase(s, tc);
	return s;
}

int main(int argc, char **argv)
{
	SRunner *sr = srunner_create(buffer_suite());
	int failed;

	/* "yield": the engine's own fallback, before the library gives it futexes */
	if (!(argc > 1 && strcmp(argv[1], "yield") == 0))
		bs_buffer_set_futex(fake_futex_wait, fake_futex_wake);
	set_fence(0);	/* as the library does */

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
