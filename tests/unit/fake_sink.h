/* SPDX-License-Identifier: MIT */
/*
 * fake_sink.h — a writev-shaped sink for the engine's tests.
 *
 * It records every byte it accepts and where each call ended, and follows a
 * script: call k may take only a few bytes, or fail with an errno.
 */
#ifndef FAKE_SINK_H
#define FAKE_SINK_H

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

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

#endif
