/* SPDX-License-Identifier: MIT */
/*
 * libchain_write.so — another preload library, placed after ours in
 * LD_PRELOAD: it counts the write(2) calls that reach it and, at exit,
 * writes the count to the file named by CHAIN_WRITE_LOG. The library must
 * call through it, never around it.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static long calls;

ssize_t write(int fd, const void *buf, size_t n)
{
	static ssize_t (*next)(int, const void *, size_t);

	if (!next)
		next = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
	__atomic_fetch_add(&calls, 1, __ATOMIC_RELAXED);
	return next(fd, buf, n);
}

__attribute__((destructor)) static void report(void)
{
	const char *log = getenv("CHAIN_WRITE_LOG");
	char line[32];
	int fd, len;

	if (!log || (fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0)
		return;
	len = snprintf(line, sizeof line, "%ld\n", calls);
	if (write(fd, line, (size_t)len) != len)
		calls = -1;
	close(fd);
}
