/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of asynchronous delivery (struct bs_async in core/bs_buffer.h):
 * a full buffer handed over instead of written, at most one block in
 * flight, every other sink call and delivery waiting for it, its failure
 * reported by the next write or report, and writers in threads with a real
 * helper thread keeping each record whole and each thread's order.
 */
#define _GNU_SOURCE
#include <check.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../../core/bs_buffer.h"
#include "fake_sink.h"

#define CAP 64
#define EXPECT(c) do { if (!(c)) ck_abort_msg("failed: %s", #c); } while (0)

static struct fake_sink *sink;
static struct bs_buffer buf;
static struct bs_async as;
static char data[1 << 16];

/* ---- submit: kept for the test to run, or run by a helper thread ------------------ */

static struct bs_async *queued[8];
static int nqueued, helper_stop;
static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t qcond = PTHREAD_COND_INITIALIZER;
static pthread_t helper;

static size_t pending_at_submit;

static void submit(struct bs_async *a)
{
	/* what a look without the lock sees while the block is handed over:
	 * the buffer empty, the flight not yet landed */
	pending_at_submit = bs_buffer_pending(a->b);
	pthread_mutex_lock(&qlock);
	ck_assert_int_lt(nqueued, 8);
	queued[nqueued++] = a;
	pthread_cond_signal(&qcond);
	pthread_mutex_unlock(&qlock);
}

/* The test's own hand: run the oldest block queued. */
static void run_one(void)
{
	struct bs_async *a;

	pthread_mutex_lock(&qlock);
	ck_assert_int_gt(nqueued, 0);
	a = queued[0];
	memmove(queued, queued + 1, (size_t)--nqueued * sizeof queued[0]);
	pthread_mutex_unlock(&qlock);
	bs_async_run(a);
}

static void *helper_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&qlock);
	for (;;) {
		struct bs_async *a;

		while (!nqueued && !helper_stop)
			pthread_cond_wait(&qcond, &qlock);
		if (!nqueued)
			break;
		a = queued[0];
		memmove(queued, queued + 1, (size_t)--nqueued * sizeof queued[0]);
		pthread_mutex_unlock(&qlock);
		bs_async_run(a);
		pthread_mutex_lock(&qlock);
	}
	pthread_mutex_unlock(&qlock);
	return NULL;
}

/* The second block, as the library's resize makes it (NULL: refused). */
static int refuse_spare;
static char spare_block[1 << 16];

static char *resize(void *ctx, char *old, size_t old_size, size_t size)
{
	(void)ctx;
	(void)old_size;
	if (old)
		return size <= sizeof data ? old : NULL;
	return refuse_spare || size > sizeof spare_block ? NULL : spare_block;
}

static void setup(size_t cap)
{
	sink = fake_new(64 << 20);
	memset(&as, 0, sizeof as);
	nqueued = 0;
	refuse_spare = 0;
	bs_buffer_init(&buf, data, cap, BS_MODE_FULL, fake_writev, sink);
	bs_buffer_set_async(&buf, &as);
}

static void teardown(void)
{
	fake_free(sink);
	sink = NULL;
}

static int in_flight(void)
{
	return __atomic_load_n(&as.state, __ATOMIC_ACQUIRE) != 0;
}

/* ---- one block at a time, by hand ------------------------------------------------------ */

/* A write that does not fit hands the full block over and lands in the
 * other one: no sink call in the writer, the bytes in order once run. */
START_TEST(full_buffer_handed_over_not_written)
{
	setup(CAP);
	ck_assert_int_eq(bs_buffer_write(&buf, "0123456789012345678901234567890123456789", 40), 40);
	ck_assert_int_eq(bs_buffer_write(&buf, "abcdefghijklmnopqrstuvwxyz", 26), 26);
	ck_assert_int_eq(sink->calls, 0);		/* handed over, not written */
	ck_assert_int_eq(nqueued, 1);
	ck_assert(in_flight());
	ck_assert_uint_eq(buf.len, 26);			/* in the second block */
	ck_assert_ptr_eq(buf.data, spare_block);
	run_one();
	ck_assert(!in_flight());
	ck_assert_int_eq(sink->calls, 1);
	ck_assert_uint_eq(sink->len, 40);
	ck_assert_int_eq(bs_buffer_deliver(&buf, BS_DELIVER_SYNC, BS_REPORT), 0);
	ck_assert_uint_eq(sink->len, 66);
	ck_assert(!memcmp(sink->out, "0123456789012345678901234567890123456789abcdefghijklmnopqrstuvwxyz", 66));
	ck_assert_uint_eq(buf.stats.syscalls, 2);	/* the helper's counted too */
	ck_assert_uint_eq(buf.stats.flushes[BS_DELIVER_FULL], 1);
	teardown();
}
END_TEST

struct deliverer {
	int done;
	int rc;
};

static void *deliver_thread(void *arg)
{
	struct deliverer *d = arg;

	d->rc = bs_buffer_deliver(&buf, BS_DELIVER_SYNC, BS_REPORT);
	__atomic_store_n(&d->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* A block in flight counts as pending, also while the buffer is empty
 * (inside the hand-over): a boundary that looks without the lock does not
 * skip it. */
START_TEST(flight_counts_as_pending)
{
	setup(CAP);
	pending_at_submit = 0;
	ck_assert_int_eq(bs_buffer_write(&buf, "0123456789012345678901234567890123456789", 40), 40);
	ck_assert_int_eq(bs_buffer_write(&buf, "abcdefghijklmnopqrstuvwxyz0123456789ABCD", 40), 40);
	ck_assert_uint_ne(pending_at_submit, 0);
	ck_assert(bs_buffer_in_flight(&buf));
	run_one();
	ck_assert(!bs_buffer_in_flight(&buf));
	ck_assert_uint_eq(bs_buffer_pending(&buf), 40);
	ck_assert_int_eq(bs_buffer_deliver(&buf, BS_DELIVER_SYNC, BS_REPORT), 0);
	ck_assert_uint_eq(bs_buffer_pending(&buf), 0);
	teardown();
}
END_TEST

/* A delivery (an fsync, a close, a wait) waits for the block in flight:
 * the bytes after it never reach the sink before it. */
START_TEST(delivery_waits_for_the_flight)
{
	struct deliverer d = { 0, -2 };
	struct timespec pause = { .tv_nsec = 50 * 1000 * 1000 };
	pthread_t t;

	setup(CAP);
	ck_assert_int_eq(bs_buffer_write(&buf, "first-block-first-block-first-block-fi", 38), 38);
	ck_assert_int_eq(bs_buffer_write(&buf, "second-block-second-block-second-block", 38), 38);
	ck_assert(in_flight());
	pthread_create(&t, NULL, deliver_thread, &d);
	nanosleep(&pause, NULL);
	ck_assert_int_eq(__atomic_load_n(&d.done, __ATOMIC_ACQUIRE), 0);	/* waiting */
	ck_assert_int_eq(sink->calls, 0);
	run_one();
	pthread_join(t, NULL);
	ck_assert_int_eq(d.rc, 0);
	ck_assert_uint_eq(sink->len, 76);
	ck_assert(!memcmp(sink->out, "first-block-first-block-first-block-fisecond-block-second-block-second-block", 76));
	teardown();
}
END_TEST

/* At most one block in flight: the next hand-over waits for the first. */
static void *third_write(void *arg)
{
	struct deliverer *d = arg;

	d->rc = (int)bs_buffer_write(&buf, "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC", 40);
	__atomic_store_n(&d->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

START_TEST(next_hand_over_waits_for_the_first)
{
	struct deliverer d = { 0, -2 };
	struct timespec pause = { .tv_nsec = 50 * 1000 * 1000 };
	pthread_t t;

	setup(CAP);
	ck_assert_int_eq(bs_buffer_write(&buf, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 40), 40);
	ck_assert_int_eq(bs_buffer_write(&buf, "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB", 40), 40);
	ck_assert_int_eq(nqueued, 1);
	pthread_create(&t, NULL, third_write, &d);
	nanosleep(&pause, NULL);
	ck_assert_int_eq(__atomic_load_n(&d.done, __ATOMIC_ACQUIRE), 0);	/* waits */
	ck_assert_int_eq(nqueued, 1);
	run_one();				/* the A block lands */
	pthread_join(t, NULL);
	ck_assert_int_eq(d.rc, 40);
	ck_assert_int_eq(nqueued, 1);		/* then the B block went */
	run_one();
	ck_assert_int_eq(bs_buffer_deliver(&buf, BS_DELIVER_EXIT, BS_REPORT), 0);
	ck_assert_uint_eq(sink->len, 120);
	for (int i = 0; i < 120; i++)
		EXPECT(sink->out[i] == "ABC"[i / 40]);
	teardown();
}
END_TEST

/* 40 bytes of x handed over by 40 of y, and the helper's write of the x
 * block fails with err; errno cleared for what the test looks at next. */
static void fail_a_flight(int err)
{
	setup(CAP);
	sink->script[0].err = err;
	ck_assert_int_eq(bs_buffer_write(&buf, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 40), 40);
	ck_assert_int_eq(bs_buffer_write(&buf, "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy", 40), 40);
	run_one();
	errno = 0;
}

/* A flight that fails: its bytes are dropped (counted) and the failure is
 * the next write's, reported once; the next report has nothing more. */
START_TEST(failed_flight_reported_by_the_next_write)
{
	fail_a_flight(ENOSPC);
	ck_assert_int_eq(bs_buffer_write(&buf, "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", 40), -1);
	ck_assert_int_eq(errno, ENOSPC);
	ck_assert_uint_eq(buf.stats.dropped, 40);
	ck_assert_uint_eq(buf.stats.errors, 1);
	ck_assert_int_eq(bs_buffer_deliver(&buf, BS_DELIVER_SYNC, BS_REPORT), 0);
	ck_assert_uint_eq(sink->len, 40);		/* the y block */
	ck_assert_int_eq(sink->out[0], 'y');
	teardown();
}
END_TEST

/* ... the next write though it fits in the block it fills: a program that
 * writes a line at a time, each one fflushed, learns it at once, not when
 * the block is full again or at close (the bridge's fflush never failed). */
START_TEST(failed_flight_reported_by_a_write_that_fits)
{
	fail_a_flight(ENOSPC);
	ck_assert_int_eq(bs_buffer_write(&buf, "z", 1), -1);
	ck_assert_int_eq(errno, ENOSPC);
	ck_assert_int_eq(bs_buffer_write(&buf, "z", 1), 1);	/* reported once */
	ck_assert_int_eq(bs_buffer_deliver(&buf, BS_DELIVER_SYNC, BS_REPORT), 0);
	ck_assert_uint_eq(sink->len, 41);		/* the y block, then z */
	ck_assert_int_eq(sink->out[40], 'z');
	teardown();
}
END_TEST

/* ... or by the next delivery that reports (fsync, close). */
START_TEST(failed_flight_reported_by_a_delivery)
{
	fail_a_flight(EIO);
	ck_assert_int_eq(bs_buffer_deliver(&buf, BS_DELIVER_SYNC, BS_REPORT), -1);
	ck_assert_int_eq(errno, EIO);
	ck_assert_uint_eq(sink->len, 40);		/* the rest still delivered */
	ck_assert_int_eq(bs_buffer_deliver(&buf, BS_DELIVER_SYNC, BS_REPORT), 0);
	teardown();
}
END_TEST

/* Short writes and EINTR in the helper: resumed at the exact byte. */
START_TEST(flight_resumes_short_writes)
{
	setup(CAP);
	sink->script[0].take = 7;
	sink->script[1].err = EINTR;
	sink->script[2].take = 11;
	ck_assert_int_eq(bs_buffer_write(&buf, "0123456789abcdefghijklmnopqrstuvwxyzABCD", 40), 40);
	ck_assert_int_eq(bs_buffer_write(&buf, "EFGHIJKLMNOPQRSTUVWXYZ!@#$%^&*()-=+_[]{}", 40), 40);
	run_one();
	ck_assert_uint_eq(sink->len, 40);
	ck_assert_int_eq(bs_buffer_deliver(&buf, BS_DELIVER_SYNC, BS_REPORT), 0);
	ck_assert(!memcmp(sink->out, "0123456789abcdefghijklmnopqrstuvwxyzABCD"
				     "EFGHIJKLMNOPQRSTUVWXYZ!@#$%^&*()-=+_[]{}", 80));
	ck_assert_uint_eq(buf.stats.errors, 0);
	teardown();
}
END_TEST

/* No memory for a second block: delivered as without, at once. */
START_TEST(no_second_block_delivers_as_without)
{
	setup(CAP);
	refuse_spare = 1;
	ck_assert_int_eq(bs_buffer_write(&buf, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 40), 40);
	ck_assert_int_eq(bs_buffer_write(&buf, "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy", 40), 40);
	ck_assert_int_eq(nqueued, 0);
	ck_assert_int_eq(sink->calls, 1);
	ck_assert_uint_eq(sink->len, 80);	/* both, joined, as without */
	teardown();
}
END_TEST

/* A write that would go straight to the sink (too large to copy) waits
 * for the flight first, and so does one in mode none. */
static char big[CAP + 10];

static void *big_write(void *arg)
{
	struct deliverer *d = arg;

	d->rc = (int)bs_buffer_write(&buf, big, sizeof big);
	if (d->rc == (int)sizeof big)
		d->rc = (int)bs_buffer_write_as(&buf, "n", 1, BS_MODE_NONE);
	__atomic_store_n(&d->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

START_TEST(straight_writes_wait_for_the_flight)
{
	struct deliverer d = { 0, -2 };
	struct timespec pause = { .tv_nsec = 50 * 1000 * 1000 };
	pthread_t t;

	setup(CAP);
	memset(big, 'L', sizeof big);
	ck_assert_int_eq(bs_buffer_write(&buf, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 40), 40);
	ck_assert_int_eq(bs_buffer_write(&buf, "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy", 40), 40);
	ck_assert(in_flight());
	pthread_create(&t, NULL, big_write, &d);
	nanosleep(&pause, NULL);
	ck_assert_int_eq(__atomic_load_n(&d.done, __ATOMIC_ACQUIRE), 0);	/* waits */
	ck_assert_int_eq(sink->calls, 0);
	run_one();
	pthread_join(t, NULL);
	ck_assert_int_eq(d.rc, 1);
	ck_assert_uint_eq(sink->len, 80 + sizeof big + 1);
	ck_assert_int_eq(sink->out[0], 'x');
	ck_assert_int_eq(sink->out[40], 'y');
	ck_assert_int_eq(sink->out[80], 'L');
	ck_assert_int_eq(sink->out[80 + sizeof big], 'n');
	teardown();
}
END_TEST

/* ---- writers in threads, a helper thread ---------------------------------------- */

#define RECORDS 20000

/* Thread t writes its numbered records (fake_record); every so often a
 * delivery, as a boundary in the program would make. */
static void *writer(void *arg)
{
	int t = (int)(intptr_t)arg;
	char rec[128];

	for (int i = 0; i < RECORDS; i++) {
		size_t n = fake_record(rec, t, i);

		if (bs_buffer_write(&buf, rec, n) != (ssize_t)n)
			return (void *)1;
		if (i % 997 == 0 && bs_buffer_deliver(&buf, BS_DELIVER_WAIT, BS_REPORT) != 0)
			return (void *)2;
	}
	return NULL;
}

static void check_output(int nthreads)
{
	const char *why = fake_records_check(sink, nthreads, RECORDS);

	ck_assert_msg(why == NULL, "%s", why);	/* whole, each thread's order, all */
}

/* _i: 1 or 4 writers; a 4 KiB buffer. */
START_TEST(threads_with_a_helper_keep_every_record)
{
	int nthreads = _i ? 4 : 1;
	pthread_t th[4];

	setup(4096);
	helper_stop = 0;
	pthread_create(&helper, NULL, helper_main, NULL);
	for (int t = 0; t < nthreads; t++)
		pthread_create(&th[t], NULL, writer, (void *)(intptr_t)t);
	for (int t = 0; t < nthreads; t++) {
		void *rc;

		pthread_join(th[t], &rc);
		ck_assert_ptr_null(rc);
	}
	ck_assert_int_eq(bs_buffer_deliver(&buf, BS_DELIVER_EXIT, BS_REPORT), 0);
	pthread_mutex_lock(&qlock);
	helper_stop = 1;
	pthread_cond_signal(&qcond);
	pthread_mutex_unlock(&qlock);
	pthread_join(helper, NULL);
	ck_assert_uint_gt(buf.stats.flushes[BS_DELIVER_FULL], 100);	/* it was used */
	check_output(nthreads);
	teardown();
}
END_TEST

static Suite *async_suite(void)
{
	Suite *s = suite_create("async");
	TCase *tc = tcase_create("asynchronous delivery");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, full_buffer_handed_over_not_written);
	tcase_add_test(tc, flight_counts_as_pending);
	tcase_add_test(tc, delivery_waits_for_the_flight);
	tcase_add_test(tc, next_hand_over_waits_for_the_first);
	tcase_add_test(tc, failed_flight_reported_by_the_next_write);
	tcase_add_test(tc, failed_flight_reported_by_a_write_that_fits);
	tcase_add_test(tc, failed_flight_reported_by_a_delivery);
	tcase_add_test(tc, flight_resumes_short_writes);
	tcase_add_test(tc, no_second_block_delivers_as_without);
	tcase_add_test(tc, straight_writes_wait_for_the_flight);
	tcase_add_loop_test(tc, threads_with_a_helper_keep_every_record, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(async_suite());
	int failed;

	bs_buffer_set_futex(fake_futex_wait, fake_futex_wake);
	bs_buffer_set_resize(resize);
	bs_buffer_set_submit(submit);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
