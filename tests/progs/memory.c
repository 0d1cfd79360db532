/* SPDX-License-Identifier: MIT */
/*
 * memory — what buffers cost in address space and resident memory.
 *
 *   memory files DIR N       open DIR/f0 .. DIR/fN-1 and write 100 records
 *                            of 10 bytes to each, in turns; then print
 *                            "peak KB" (VmPeak) on stderr
 *   memory squeeze DIR N     the same, after taking all the address space
 *                            the process may have (run it under ulimit -v)
 *                            but 1 MiB
 *   memory rss MB            print "start KB" (VmRSS), write MB MiB to fd 1
 *                            in 64 KiB writes, print "held KB" (VmRSS),
 *                            sleep 1 ms (the library
 *                            delivers before a sleep), print "after KB"
 *
 * /proc/self/status is read with read(2): a regular file's read makes the
 * library deliver nothing.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* A field of /proc/self/status in kB, or -1. */
static long status_kb(const char *field)
{
	char buf[8192], *p;
	ssize_t r;
	int fd = open("/proc/self/status", O_RDONLY);

	if (fd < 0)
		return -1;
	r = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (r <= 0)
		return -1;
	buf[r] = '\0';
	p = strstr(buf, field);
	return p ? atol(p + strlen(field) + 1) : -1;
}

static void squeeze(void)
{
	size_t chunk = 1 << 20;
	void *last = NULL, *p;

	while ((p = mmap(NULL, chunk, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)) !=
	       MAP_FAILED)
		last = p;
	if (last)
		munmap(last, chunk);
}

static int files(const char *dir, int n)
{
	int *fds = calloc((size_t)n, sizeof *fds);
	char path[4096];

	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof path, "%s/f%d", dir, i);
		fds[i] = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fds[i] < 0) {
			perror(path);
			return 1;
		}
	}
	for (int k = 0; k < 100; k++) {
		char rec[11];

		snprintf(rec, sizeof rec, "%03d:%05d\n", k, k * 7);
		for (int i = 0; i < n; i++)
			if (write(fds[i], rec, 10) != 10) {
				perror("write");
				return 1;
			}
	}
	fprintf(stderr, "peak %ld\n", status_kb("VmPeak:"));
	return 0;
}

static int rss(long mb)
{
	static char chunk[64 << 10];
	struct timespec ms = { 0, 1000000 };

	memset(chunk, 'r', sizeof chunk);
	fprintf(stderr, "start %ld\n", status_kb("VmRSS:"));
	for (long i = 0; i < mb * 16; i++)
		if (write(1, chunk, sizeof chunk) != (ssize_t)sizeof chunk) {
			perror("write");
			return 1;
		}
	fprintf(stderr, "held %ld\n", status_kb("VmRSS:"));
	nanosleep(&ms, NULL);
	fprintf(stderr, "after %ld\n", status_kb("VmRSS:"));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "files") == 0)
		return files(argv[2], atoi(argv[3]));
	if (argc == 4 && strcmp(argv[1], "squeeze") == 0) {
		int *fds_mem = calloc((size_t)atoi(argv[3]), sizeof(int));

		free(fds_mem);	/* malloc's arena made before the squeeze */
		squeeze();
		return files(argv[2], atoi(argv[3]));
	}
	if (argc == 3 && strcmp(argv[1], "rss") == 0)
		return rss(atol(argv[2]));
	fputs("usage: see the comment at the top of memory.c\n", stderr);
	return 2;
}
