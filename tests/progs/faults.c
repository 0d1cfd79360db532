/* SPDX-License-Identifier: MIT */
/*
 * faults CASE [N] — endings the library cannot see coming.
 *   kill N      write N 40-byte records, then SIGKILL itself
 *   abort N     write N records, then abort()
 *   assert N    write N records and a line on stderr, then fail an assert
 *   rawclose    write a byte, close fd 1 by the syscall instruction, exit
 *               normally
 *   lostpipe HOW
 *               write 5 bytes to a pipe whose reader is gone (SIGPIPE
 *               ignored), then: setfl or fionbio (flags set again), then
 *               close; fsync after setfl, then close; close_range,
 *               closefrom or dup2 over it. Each call's result on stdout.
 */
#define _GNU_SOURCE
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* A close no library can see: the syscall instruction itself (the C
 * library's syscall() is a function, and the library hooks it). */
static void raw_close(int fd)
{
#if defined(__x86_64__)
	long r;

	__asm__ volatile("syscall" : "=a"(r) : "0"((long)SYS_close), "D"((long)fd)
			 : "rcx", "r11", "memory");
	(void)r;
#elif defined(__aarch64__)
	register long x8 __asm__("x8") = SYS_close;
	register long x0 __asm__("x0") = fd;

	__asm__ volatile("svc 0" : "+r"(x0) : "r"(x8) : "memory");
#else
	syscall(SYS_close, fd);
#endif
}

static void records(long n)
{
	char rec[41];

	for (long i = 0; i < n; i++) {
		snprintf(rec, sizeof rec, "%038ld\n", i);
		if (write(1, rec, 39) != 39)
			exit(3);
	}
}

static void said(const char *what, long r)
{
	printf("%s: %ld%s%s\n", what, r, r < 0 ? " " : "", r < 0 ? strerror(errno) : "");
}

static int lost_pipe(const char *how)
{
	int p[2], off = 0;

	if (pipe(p) < 0)
		return 3;
	close(p[0]);
	signal(SIGPIPE, SIG_IGN);
	said("write", (long)write(p[1], "hello", 5));
	if (!strcmp(how, "setfl") || !strcmp(how, "fsync"))
		said("setfl", fcntl(p[1], F_SETFL, fcntl(p[1], F_GETFL)));
	if (!strcmp(how, "fionbio"))
		said("fionbio", ioctl(p[1], FIONBIO, &off));
	if (!strcmp(how, "fsync"))
		said("fsync", fsync(p[1]));
	if (!strcmp(how, "close_range")) {
		said("close_range", close_range((unsigned)p[1], (unsigned)p[1], 0));
		return 0;
	}
	if (!strcmp(how, "closefrom")) {
		closefrom(p[1]);
		return 0;
	}
	if (!strcmp(how, "dup2"))
		said("dup2", dup2(1, p[1]));
	said("close", close(p[1]));
	return 0;
}

int main(int argc, char **argv)
{
	const char *c = argc > 1 ? argv[1] : "";
	long n = argc > 2 ? atol(argv[2]) : 100;

	if (!strcmp(c, "kill")) {
		records(n);
		raise(SIGKILL);
	} else if (!strcmp(c, "abort")) {
		records(n);
		abort();
	} else if (!strcmp(c, "assert")) {
		records(n);
		fprintf(stderr, "about to fail\n");
		assert(n < 0);
	} else if (!strcmp(c, "lostpipe") && argc > 2) {
		return lost_pipe(argv[2]);
	} else if (!strcmp(c, "rawclose")) {
		if (write(1, "x", 1) != 1)
			return 3;
		raw_close(1);
		return 0;
	}
	fputs("usage: faults kill|abort|assert N | rawclose | lostpipe HOW\n", stderr);
	return 2;
}
