/* SPDX-License-Identifier: MIT */
/*
 * handover.c — a program that hands its output over to another process
 * without waiting for it.
 *
 *   handover shutdown        writes "hello\n" into a socket pair and shuts
 *                            the writing side; prints what the peer read
 *   handover kill9           writes "before\n" to stdout, then SIGKILLs
 *                            itself
 *   handover stop            writes "before-stop\n", raise(SIGSTOP), then
 *                            writes "after\n"
 *   handover tell FILE       a child waits for SIGUSR1 and then prints the
 *                            size of FILE; the parent writes "hello\n" to
 *                            FILE (fd 3, opened here), signals the child and
 *                            computes for half a second before it waits
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "quiet.h"

static void put(int fd, const char *s)
{
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		exit(3);
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int tell(const char *path)
{
	sigset_t set;
	int sig, fd;
	pid_t child;
	char line[64];
	struct stat st;
	volatile unsigned long spin = 0;
	double t;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	child = fork();
	if (child < 0)
		return 2;
	if (child == 0) {
		sigwait(&set, &sig);
		if (stat(path, &st) < 0)
			_exit(2);
		snprintf(line, sizeof line, "the file had %lld bytes\n", (long long)st.st_size);
		put(1, line);
		_exit(0);
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd != 3 && (fd < 0 || dup2(fd, 3) < 0))
		return 2;
	put(3, "hello\n");
	kill(child, SIGUSR1);
	for (t = now(); now() - t < 0.5;) {	/* computes: no wait, no boundary */
		quiet_pause();
		spin++;
	}
	return waitpid(child, &sig, 0) == child && sig == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	int sv[2];
	char buf[100], line[64];
	ssize_t n;

	if (argc < 2)
		return 2;
	if (!strcmp(argv[1], "shutdown")) {
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
			return 2;
		put(sv[0], "hello\n");
		if (shutdown(sv[0], SHUT_WR) < 0)
			return 1;
		n = read(sv[1], buf, sizeof buf);
		snprintf(line, sizeof line, "the peer read %zd bytes\n", n);
		put(1, line);
		return 0;
	}
	if (!strcmp(argv[1], "kill9")) {
		put(1, "before\n");
		kill(getpid(), SIGKILL);
		return 1;
	}
	if (!strcmp(argv[1], "stop")) {
		put(1, "before-stop\n");
		raise(SIGSTOP);
		put(1, "after\n");
		return 0;
	}
	if (!strcmp(argv[1], "tell") && argc == 3)
		return tell(argv[2]);
	return 2;
}
