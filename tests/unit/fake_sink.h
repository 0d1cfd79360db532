/* SPDX-License-Identifier: MIT */
/*
 * fake_sink.h — a writev-shaped sink for the engine's tests.
 *
 * It records every byte it accepts and where each call ended, and follows a
 * script: call k may take only a few bytes, or fail with an errno. Also
 * what the engine's tests share beside it: the futex calls they give the
 * engine, and the numbered records their thread hammers write and check.
 */
#ifndef FAKE_SINK_H
#define FAKE_SINK_H

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define FAKE_MAX_CALLS 100000
#define FAKE_SCRIPT 32

struct fake_step {
	int err;		/* fail with this errno */
	size_t take;		/* else accept at most this many bytes (0: all) */
};

struct fake_sink {
	pthread_mutex_t lock;
	char *out;
	size_t len, cap;
	int calls;		/* every call, failed ones included */
	size_t ends[FAKE_MAX_CALLS];	/* out offset after each accepting call */
	int nends;
	const void *first_base[FAKE_MAX_CALLS];	/* iov[0].iov_base per call */
	struct fake_step script[FAKE_SCRIPT];	/* by call number */
	size_t take_always;	/* every call past the script: at most this */
};

static inline struct fake_sink *fake_new(size_t cap)
{
	struct fake_sink *s = calloc(1, sizeof *s);

	pthread_mutex_init(&s->lock, NULL);
	s->out = malloc(cap);
	s->cap = cap;
	return s;
}

static inline void fake_free(struct fake_sink *s)
{
	free(s->out);
	free(s);
}

static inline ssize_t fake_writev(void *ctx, const struct iovec *iov, int n)
{
	struct fake_sink *s = ctx;
	struct fake_step step = { 0, 0 };
	size_t want = 0, got = 0;
	int call;

	if (n < 0 || n > 1024) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&s->lock);
	call = s->calls++;
	if (call < FAKE_SCRIPT)
		step = s->script[call];
	if (!step.err && !step.take)
		step.take = s->take_always;
	if (step.err) {
		pthread_mutex_unlock(&s->lock);
		errno = step.err;
		return -1;
	}
	for (int i = 0; i < n; i++)
		want += iov[i].iov_len;
	if (step.take && step.take < want)
		want = step.take;
	for (int i = 0; i < n && got < want; i++) {
		size_t k = iov[i].iov_len < want - got ? iov[i].iov_len : want - got;

		if (s->len + k > s->cap)
			abort();
		memcpy(s->out + s->len, iov[i].iov_base, k);
		s->len += k;
		got += k;
	}
	if (s->nends < FAKE_MAX_CALLS) {
		s->first_base[s->nends] = n ? iov[0].iov_base : NULL;
		s->ends[s->nends++] = s->len;
	}
	pthread_mutex_unlock(&s->lock);
	return (ssize_t)got;
}

/* 1 when no call ended strictly inside [start, end). */
static inline int fake_whole(const struct fake_sink *s, size_t start, size_t end)
{
	for (int i = 0; i < s->nends; i++)
		if (s->ends[i] > start && s->ends[i] < end)
			return 0;
	return 1;
}

/* ---- the futex calls the tests give the engine (bs_buffer_set_futex) ---------------- */

static inline int fake_futex_wait(int *addr, int val)
{
	return syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0) == 0 ? 0 : -1;
}

static inline void fake_futex_wake(int *addr)
{
	syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* ---- numbered records of threads ---------------------------------------------------- */

/* Record i of thread t into rec (at least 128 bytes): "<t>:<i>:", then
 * i % 50 bytes of 'a' + t, then a newline. Its length. */
static inline size_t fake_record(char *rec, int t, int i)
{
	int n = snprintf(rec, 32, "%d:%d:", t, i);
	int pad = i % 50;

	memset(rec + n, 'a' + t, (size_t)pad);
	rec[n + pad] = '\n';
	return (size_t)(n + pad + 1);
}

/* Whether s received records records of each of nthreads threads (at most
 * 16), each whole and in its thread's order, nothing else: NULL, or what
 * is wrong. */
static inline const char *fake_records_check(const struct fake_sink *s, int nthreads, int records)
{
	int next[16] = { 0 };
	const char *p = s->out, *end = s->out + s->len;

	while (p < end) {
		int t, i, n;
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		char head_of[32] = "";

		if (!nl)
			return "a record without its newline";
		memcpy(head_of, p, nl - p < 31 ? (size_t)(nl - p) : 31);	/* sscanf reads to a NUL */
		if (sscanf(head_of, "%d:%d:%n", &t, &i, &n) != 2)
			return "a record without its numbers";
		if (t < 0 || t >= nthreads)
			return "a record of no such thread";
		if (i != next[t])
			return "a record out of its thread's order";
		if (nl - p - n != i % 50)
			return "a record torn";
		for (const char *q = p + n; q < nl; q++)
			if (*q != 'a' + t)
				return "a record torn";
		next[t]++;
		p = nl + 1;
	}
	for (int t = 0; t < nthreads; t++)
		if (next[t] != records)
			return "records missing";
	return NULL;
}

#endif
