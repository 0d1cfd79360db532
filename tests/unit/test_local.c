/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of per-thread buffers (core/bs_local): the list, the owner's
 * append, deliveries in list order, failures reported once, and owners
 * appending while other threads deliver, with a fence and with a
 * process-wide barrier (membarrier).
 */
#define _GNU_SOURCE
#include <check.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../../core/bs_local.h"
#include "fake_sink.h"

#define CAP 256
#define EXPECT(c) do { if (!(c)) ck_abort_msg("failed: %s", #c); } while (0)

static struct fake_sink *sink;
static struct bs_local *head;
static struct bs_local nodes[16];
static char data[16][CAP];
static int owners[16];		/* their addresses stand for threads */

static void setup_list(int n, size_t cap)
{
	sink = fake_new(1 << 24);
	head = NULL;
	memset(nodes, 0, sizeof nodes);
	for (int i = 0; i < n; i++) {
		bs_buffer_init(&nodes[i].buf, data[i], cap, BS_MODE_FULL, fake_writev, sink);
		nodes[i].owner = &owners[i];
		bs_local_push(&head, &nodes[i]);
	}
}

static void teardown(void)
{
	fake_free(sink);
	sink = NULL;
}

/* ---- the list --------------------------------------------------------------------------- */

START_TEST(take_finds_its_own_then_a_free_one)
{
	int stranger;

	setup_list(3, CAP);
	ck_assert_ptr_eq(bs_local_take(head, &owners[1]), &nodes[1]);
	ck_assert_ptr_null(bs_local_take(head, &stranger));	/* none free */
	nodes[0].owner = NULL;				/* its thread ended */
	ck_assert_ptr_eq(bs_local_take(head, &stranger), &nodes[0]);
	ck_assert_ptr_eq(nodes[0].owner, &stranger);
	ck_assert_ptr_eq(bs_local_take(head, &stranger), &nodes[0]);
	teardown();
}
END_TEST

/* Newest first, each buffer's bytes in one piece, nothing else. */
START_TEST(deliver_in_list_order)
{
	setup_list(3, CAP);
	ck_assert_int_eq(bs_local_write(&nodes[0], "a1 ", 3, BS_MODE_FULL), 3);
	ck_assert_int_eq(bs_local_write(&nodes[1], "b1 ", 3, BS_MODE_FULL), 3);
	ck_assert_int_eq(bs_local_write(&nodes[2], "c1 ", 3, BS_MODE_FULL), 3);
	ck_assert_int_eq(bs_local_write(&nodes[0], "a2 ", 3, BS_MODE_FULL), 3);
	ck_assert_int_eq(sink->calls, 0);		/* records copied, no call */
	ck_assert_uint_eq(bs_local_pending(head), 1);
	ck_assert_int_eq(bs_local_deliver(head, BS_DELIVER_SYNC, BS_REPORT, 0), 0);
	ck_assert_int_eq(sink->calls, 3);
	ck_assert_uint_eq(sink->len, 12);
	ck_assert(memcmp(sink->out, "c1 b1 a1 a2 ", 12) == 0);
	ck_assert_uint_eq(bs_local_pending(head), 0);
	/* nothing held: no call at all */
	ck_assert_int_eq(bs_local_deliver(head, BS_DELIVER_SYNC, BS_REPORT, 0), 0);
	ck_assert_int_eq(sink->calls, 3);
	teardown();
}
END_TEST

/* A write that does not fit goes out with what its thread buffered, in
 * one call: the engine's contract, per thread. */
START_TEST(owner_write_that_does_not_fit_joins_its_buffer)
{
	char big[200];

	memset(big, 'x', sizeof big);
	setup_list(2, 64);
	ck_assert_int_eq(bs_local_write(&nodes[1], "other", 5, BS_MODE_FULL), 5);
	ck_assert_int_eq(bs_local_write(&nodes[0], "head ", 5, BS_MODE_FULL), 5);
	ck_assert_int_eq(bs_local_write(&nodes[0], big, sizeof big, BS_MODE_FULL), (int)sizeof big);
	ck_assert_int_eq(sink->calls, 1);
	ck_assert_uint_eq(sink->len, 5 + sizeof big);
	ck_assert(memcmp(sink->out, "head x", 6) == 0);
	ck_assert_uint_eq(nodes[1].buf.len, 5);	/* the other thread's bytes wait */
	/* line mode: the line goes at once, with what was buffered */
	ck_assert_int_eq(bs_local_write(&nodes[0], "ab", 2, BS_MODE_FULL), 2);
	ck_assert_int_eq(bs_local_write(&nodes[0], "c\n", 2, BS_MODE_LINE), 2);
	ck_assert_int_eq(sink->calls, 2);
	ck_assert(memcmp(sink->out + 205, "abc\n", 4) == 0);
	teardown();
}
END_TEST

/* The first failure is reported; another waits for the next report. */
START_TEST(failures_reported_once_each)
{
	setup_list(2, CAP);
	ck_assert_int_eq(bs_local_write(&nodes[0], "a", 1, BS_MODE_FULL), 1);
	ck_assert_int_eq(bs_local_write(&nodes[1], "b", 1, BS_MODE_FULL), 1);
	sink->script[0].err = ENOSPC;
	sink->script[1].err = EIO;
	errno = 0;
	ck_assert_int_eq(bs_local_deliver(head, BS_DELIVER_SYNC, BS_REPORT, 0), -1);
	ck_assert_int_eq(errno, ENOSPC);
	ck_assert_int_eq(bs_local_deliver(head, BS_DELIVER_SYNC, BS_REPORT, 0), -1);
	ck_assert_int_eq(errno, EIO);
	ck_assert_int_eq(bs_local_deliver(head, BS_DELIVER_SYNC, BS_REPORT, 0), 0);
	ck_assert_uint_eq(nodes[0].buf.stats.errors + nodes[1].buf.stats.errors, 2);
	/* kept without BS_REPORT: the owner's next write reports it */
	ck_assert_int_eq(bs_local_write(&nodes[0], "c", 1, BS_MODE_FULL), 1);
	sink->script[2].err = EPIPE;
	ck_assert_int_eq(bs_local_deliver(head, BS_DELIVER_WAIT, 0, 0), 1);	/* one kept */
	errno = 0;
	ck_assert_int_eq(bs_local_write(&nodes[0], "d", 1, BS_MODE_FULL), -1);
	ck_assert_int_eq(errno, EPIPE);
	ck_assert_int_eq(bs_local_write(&nodes[0], "d", 1, BS_MODE_FULL), 1);
	teardown();
}
END_TEST

/* Failures kept by other threads' buffers, for the next write of any
 * thread: each taken once, in list order. */
START_TEST(kept_failures_taken_once_each)
{
	setup_list(3, CAP);
	ck_assert_int_eq(bs_local_write(&nodes[0], "a", 1, BS_MODE_FULL), 1);
	ck_assert_int_eq(bs_local_write(&nodes[2], "c", 1, BS_MODE_FULL), 1);
	sink->script[0].err = ENOSPC;
	sink->script[1].err = EIO;
	ck_assert_int_eq(bs_local_deliver(head, BS_DELIVER_WAIT, 0, 0), 2);
	ck_assert_int_eq(bs_local_take_error(head), ENOSPC);	/* newest first: c */
	ck_assert_int_eq(bs_local_take_error(head), EIO);
	ck_assert_int_eq(bs_local_take_error(head), 0);
	ck_assert_int_eq(bs_local_dirty(&nodes[0]), 0);	/* empty and told: clean */
	ck_assert_int_eq(bs_local_write(&nodes[0], "e", 1, BS_MODE_FULL), 1);
	teardown();
}
END_TEST

START_TEST(final_walk_passes_through_and_stats_add_up)
{
	struct bs_stats sum = { 0 };

	setup_list(2, CAP);
	ck_assert_int_eq(bs_local_write(&nodes[0], "a", 1, BS_MODE_FULL), 1);
	ck_assert_int_eq(bs_local_write(&nodes[1], "bb", 2, BS_MODE_FULL), 2);
	ck_assert_int_eq(bs_local_deliver(head, BS_DELIVER_EXIT, 0, BS_LOCAL_FINAL), 0);
	ck_assert_int_eq(sink->calls, 2);
	ck_assert_int_eq(bs_local_write(&nodes[0], "c", 1, BS_MODE_FULL), 1);
	ck_assert_int_eq(sink->calls, 3);		/* straight through */
	bs_local_take_stats(head, &sum, 0);
	ck_assert_uint_eq(sum.writes, 3);
	ck_assert_uint_eq(sum.bytes, 4);
	ck_assert_uint_eq(sum.flushes[BS_DELIVER_EXIT], 2);
	ck_assert_uint_eq(nodes[0].buf.stats.writes, 0);
	teardown();
}
END_TEST

/* An owner busy appending is waited for; one that is not held back by a
 * stop request takes the lock instead. */
START_TEST(hold_waits_for_a_busy_owner_and_try_does_not)
{
	setup_list(1, CAP);
	nodes[0].busy = 1;
	ck_assert_int_eq(bs_local_hold(&nodes[0], BS_LOCAL_TRY), 0);
	ck_assert_int_eq(nodes[0].stop, 0);
	ck_assert_int_eq(bs_buffer_trylock(&nodes[0].buf), 1);	/* let go */
	bs_buffer_unlock(&nodes[0].buf);
	nodes[0].busy = 0;
	ck_assert_int_eq(bs_local_hold(&nodes[0], BS_LOCAL_TRY), 1);
	ck_assert_int_eq(nodes[0].stop, 1);
	ck_assert_int_eq(bs_local_owner_begin(&nodes[0]), 0);	/* held: slow path */
	ck_assert_int_eq(nodes[0].busy, 0);
	bs_local_unhold(&nodes[0]);
	ck_assert_int_eq(bs_local_owner_begin(&nodes[0]), 1);
	bs_local_owner_end(&nodes[0]);
	teardown();
}
END_TEST

/* A try that finds the owner busy lets go without touching the buffer: the
 * owner may be appending to it right then (its length still 0 here), and
 * clearing the mark would leave its bytes where no wait looks. */
START_TEST(failed_try_leaves_the_mark)
{
	setup_list(1, CAP);
	nodes[0].busy = 1;			/* appending, nothing counted yet */
	nodes[0].dirty = 1;			/* marked by an earlier record */
	ck_assert_int_eq(bs_local_hold(&nodes[0], BS_LOCAL_TRY), 0);
	ck_assert_int_eq(nodes[0].dirty, 1);
	ck_assert_int_eq(nodes[0].stop, 0);
	ck_assert_int_eq(bs_buffer_trylock(&nodes[0].buf), 1);	/* let go */
	bs_buffer_unlock(&nodes[0].buf);
	teardown();
}
END_TEST

/* ---- threads -------------------------------------------------------------------------- */

#define RECORDS 20000
static int nthreads;
static int writers_done;

/* Thread t appends its numbered records (fake_record) to its own buffer. */
static void *owner_thread(void *arg)
{
	int t = (int)(intptr_t)arg;
	char rec[128];

	for (int i = 0; i < RECORDS; i++) {
		size_t n = fake_record(rec, t, i);

		if (bs_local_write(&nodes[t], rec, n, BS_MODE_FULL) != (ssize_t)n)
			return (void *)1;
	}
	return NULL;
}

/* A boundary in another thread, over and over, while they write. */
static void *boundary_thread(void *arg)
{
	struct bs_stats sum = { 0 };

	(void)arg;
	while (!__atomic_load_n(&writers_done, __ATOMIC_ACQUIRE)) {
		struct timespec pause = { .tv_nsec = 20000 };

		bs_local_deliver(head, BS_DELIVER_WAIT, 0, 0);
		bs_local_take_stats(head, &sum, 0);
		nanosleep(&pause, NULL);	/* the writers get the processors too */
	}
	return NULL;
}

static void check_output(void)
{
	const char *why = fake_records_check(sink, nthreads, RECORDS);

	ck_assert_msg(why == NULL, "%s", why);	/* whole, each thread's order, all */
}

static void membarrier_all(void)
{
	syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
}

/* _i: 4 or 8 threads; with a fence, or (where the kernel has it, and not
 * under ThreadSanitizer, which cannot see it) with membarrier. */
START_TEST(threads_tear_nothing_while_others_deliver)
{
	pthread_t th[16], boundary;
	int barrier = _i & 1;

	nthreads = _i & 2 ? 8 : 4;
#if defined(__SANITIZE_THREAD__)
	if (barrier)
		return;
#endif
	if (barrier && syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) != 0)
		return;		/* no membarrier here */
	bs_local_set_barrier(barrier ? membarrier_all : NULL);
	setup_list(nthreads, CAP);
	writers_done = 0;
	pthread_create(&boundary, NULL, boundary_thread, NULL);
	for (int t = 0; t < nthreads; t++)
		pthread_create(&th[t], NULL, owner_thread, (void *)(intptr_t)t);
	for (int t = 0; t < nthreads; t++) {
		void *rc;

		pthread_join(th[t], &rc);
		ck_assert_ptr_null(rc);
	}
	__atomic_store_n(&writers_done, 1, __ATOMIC_RELEASE);
	pthread_join(boundary, NULL);
	ck_assert_int_eq(bs_local_deliver(head, BS_DELIVER_EXIT, BS_REPORT, 0), 0);
	check_output();
	bs_local_set_barrier(NULL);
	teardown();
}
END_TEST

static Suite *local_suite(void)
{
	Suite *s = suite_create("local");
	TCase *tc = tcase_create("per-thread buffers");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, take_finds_its_own_then_a_free_one);
	tcase_add_test(tc, deliver_in_list_order);
	tcase_add_test(tc, owner_write_that_does_not_fit_joins_its_buffer);
	tcase_add_test(tc, failures_reported_once_each);
	tcase_add_test(tc, kept_failures_taken_once_each);
	tcase_add_test(tc, final_walk_passes_through_and_stats_add_up);
	tcase_add_test(tc, hold_waits_for_a_busy_owner_and_try_does_not);
	tcase_add_test(tc, failed_try_leaves_the_mark);
	tcase_add_loop_test(tc, threads_tear_nothing_while_others_deliver, 0, 4);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(local_suite());
	int failed;

	bs_buffer_set_futex(fake_futex_wait, fake_futex_wake);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
