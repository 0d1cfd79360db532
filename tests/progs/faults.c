/* SPDX-License-Identifier: MIT */
/*
 * faults CASE [N] — endings the library cannot see coming.
 *   kill N      write N 40-byte records, then SIGKILL itself
 *   abort N     write N records, then abort()
 *   assert N    write N records and a line on stderr, then fail an assert
 *   rawclose    write a byte, close fd 1 by the syscall instruction, exit
 *               normally
 */
#include <assert.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	} else if (!strcmp(c, "rawclose")) {
		if (write(1, "x", 1) != 1)
			return 3;
		raw_close(1);
		return 0;
	}
	fputs("usage: faults kill|abort|assert N | rawclose\n", stderr);
	return 2;
}
