/* SPDX-License-Identifier: MIT */
/*
 * stderr_pieces LINES SECONDS
 * LINES lines on stderr (unbuffered, as glibc makes it), each written in
 * three fprintf calls; then a prompt "prompt T " (T: CLOCK_MONOTONIC) and
 * fflush(stderr), SECONDS of computing (no call a library could see), and
 * the newline that ends it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv)
{
	long lines = argc > 1 ? atol(argv[1]) : 100;
	unsigned secs = argc > 2 ? (unsigned)atoi(argv[2]) : 0;
	struct timespec ts, now;

	for (long i = 0; i < lines; i++) {
		fprintf(stderr, "line %ld: ", i);
		fprintf(stderr, "a ");
		fprintf(stderr, "b\n");
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	fprintf(stderr, "prompt %ld.%06ld ", (long)ts.tv_sec, ts.tv_nsec / 1000);
	fflush(stderr);
	do
		clock_gettime(CLOCK_MONOTONIC, &now);
	while (now.tv_sec - ts.tv_sec < (time_t)secs);
	fprintf(stderr, "\n");
	return 0;
}
