/* SPDX-License-Identifier: MIT */
/*
 * threads write T N  — T threads write N records each on fd 1.
 * threads check T N  — read the records on stdin: every one whole, each
 * thread's in order, none missing. Records: "t:i:" padding "\n".
 * threads blocked T 0 — T threads write to a pipe nobody reads until they
 * block; then the main thread writes "main\n" on fd 1, closes the pipe
 * and writes "closed\n".
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static long records;

static void *run(void *arg)
{
	int t = (int)(intptr_t)arg;
	char rec[160];

	for (long i = 0; i < records; i++) {
		int n = snprintf(rec, sizeof rec, "%d:%ld:", t, i);
		int pad = (int)(i % 97);

		memset(rec + n, 'a' + t, (size_t)pad);
		rec[n + pad] = '\n';
		if (write(1, rec, (size_t)(n + pad + 1)) != n + pad + 1)
			return (void *)1;
	}
	return NULL;
}

static int unread[2];

static void *fill(void *arg)
{
	char rec[100];

	memset(rec, 'z', sizeof rec);
	for (;;)
		if (write(unread[1], rec, sizeof rec) < 0)
			return arg;
}

static int blocked(int threads)
{
	pthread_t th;
	struct timespec pause = { 0, 300000000 };

	if (pipe(unread) < 0)
		return 2;
	for (int t = 0; t < threads; t++)
		pthread_create(&th, NULL, fill, NULL);
	nanosleep(&pause, NULL);	/* they fill the pipe and block */
	if (write(1, "main\n", 5) != 5 || close(unread[1]) < 0)
		return 1;
	return write(1, "closed\n", 7) == 7 ? 0 : 1;
}

static int check(int threads)
{
	long next[64] = { 0 };
	char line[256];

	while (fgets(line, sizeof line, stdin)) {
		int t, n, len = (int)strlen(line);
		long i;

		if (sscanf(line, "%d:%ld:%n", &t, &i, &n) != 2 || t < 0 ||
		    t >= threads || i != next[t] || line[len - 1] != '\n' ||
		    len - 1 - n != (int)(i % 97)) {
			fprintf(stderr, "bad record: %s", line);
			return 1;
		}
		for (int k = n; k < len - 1; k++)
			if (line[k] != 'a' + t) {
				fprintf(stderr, "torn record: %s", line);
				return 1;
			}
		next[t]++;
	}
	for (int t = 0; t < threads; t++)
		if (next[t] != records) {
			fprintf(stderr, "thread %d: %ld of %ld records\n", t, next[t], records);
			return 1;
		}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fputs("usage: see the comment at the top of threads.c\n", stderr);
		return 2;
	}
	int threads = atoi(argv[2]);
	pthread_t th[64];

	records = atol(argv[3]);
	if (threads < 1 || threads > 64)
		return 2;
	if (!strcmp(argv[1], "check"))
		return check(threads);
	if (!strcmp(argv[1], "blocked"))
		return blocked(threads);
	for (int t = 0; t < threads; t++)
		pthread_create(&th[t], NULL, run, (void *)(intptr_t)t);
	for (int t = 0; t < threads; t++) {
		void *rc;

		pthread_join(th[t], &rc);
		if (rc)
			return 1;
	}
	return 0;
}
