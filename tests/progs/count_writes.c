/* SPDX-License-Identifier: MIT */
/*
 * count_writes FILE PROGRAM [ARG]... — run PROGRAM, then write to FILE how
 * many write-type syscalls (write, writev, pwrite64, pwritev, pwritev2)
 * it and the children it waited for made, as the kernel counted them.
 *
 * The kernel counts these calls for each process (/proc/PID/io, syscw)
 * and adds a child's count to its parent's when the parent reaps it.
 * Read while PROGRAM is a zombie (waitid with WNOWAIT), that is the count
 * `strace -f -c -e trace=write,writev,pwrite64,pwritev,pwritev2` gives,
 * without stopping the program at each call: a program making 100000
 * writes runs at its own speed, not at a tracer's (ten times slower).
 * Not counted, unlike strace: writes of a descendant nobody waited for,
 * and calls the kernel refused before it looked at the file (a bad fd).
 *
 * Exits with PROGRAM's status (128 + the signal that ended it), or 125
 * when the count cannot be read (a kernel without I/O accounting): the
 * caller then counts under strace instead.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static long syscw_of(pid_t pid)
{
	char path[64], line[128];
	long n = -1;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/io", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (strncmp(line, "syscw:", 6) == 0)
			n = strtol(line + 6, NULL, 10);
	fclose(f);
	return n;
}

int main(int argc, char **argv)
{
	siginfo_t si;
	pid_t pid;
	long n;
	int st;
	FILE *out;

	if (argc < 3) {
		fputs("usage: count_writes FILE PROGRAM [ARG]...\n", stderr);
		return 2;
	}
	pid = fork();
	if (pid < 0)
		return 125;
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		perror(argv[2]);
		_exit(127);
	}
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) < 0)
		return 125;
	n = syscw_of(pid);
	if (waitpid(pid, &st, 0) < 0)
		return 125;
	if (n < 0)
		return 125;
	out = fopen(argv[1], "w");
	if (!out || fprintf(out, "%ld\n", n) < 0 || fclose(out) != 0)
		return 125;
	return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}
