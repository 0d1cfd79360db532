/* SPDX-License-Identifier: MIT */
/*
 * bad_args — calls the kernel refuses: each result printed, to compare a
 * run with the library and one without (the same answers, no crash).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

static void show(const char *what, long r)
{
	char line[128];
	int n = snprintf(line, sizeof line, "%s: %ld %s\n", what, r,
			 r < 0 ? strerrorname_np(errno) : "");

	/* to stderr: stdout is the fd under test */
	(void)!write(2, line, (size_t)n);
}

int main(void)
{
	/* volatile: the compiler must not see what the kernel will refuse */
	static struct iovec *volatile no_iov;
	static char *volatile no_buf;
	static volatile int minus_one = -1;
	struct iovec bad = { .iov_base = NULL, .iov_len = 4 };

	show("write ok", write(1, "ok\n", 3));
	show("writev NULL array", writev(1, no_iov, 1));
	show("writev NULL base", writev(1, &bad, 1));
	show("writev count -1", writev(1, &bad, minus_one));
	show("write NULL", write(1, no_buf, 4));
	show("write bad fd", write(-5, "x", 1));
	show("writev bad fd", writev(12345, &bad, 1));
	show("write after", write(1, "after\n", 6));
	return 0;
}
