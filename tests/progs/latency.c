/* SPDX-License-Identifier: MIT */
/*
 * latency write BUSY_MS [fork]  — write one line holding the monotonic
 *                                 time, then compute BUSY_MS: no call into
 *                                 the library (in a forked child with
 *                                 "fork"); asleep to the machine
 *                                 (quiet.h)
 * latency read                  — read that line, print how many ms it took
 *                                 to arrive.
 * latency busy MS               — write 40-byte records for MS ms; print the
 *                                 count on stderr.
 * latency idle MS               — write a line, then sleep MS ms.
 * latency opost                 — on a terminal: "a\nb\n", output processing
 *                                 off (tcsetattr), "c\n", on again by
 *                                 ioctl(TCSETS), "d\n"
 * latency opost2                — the same with the termios2 requests
 *                                 (TCGETS2, TCSETS2 both ways)
 * latency getpass               — "user alice, " (no newline), then
 *                                 getpass("Password: "), then "got [...]"
 * latency devtty                — the same with "Password: " written to
 *                                 /dev/tty and the answer read there
 * latency partial BUSY_MS       — write "working since T" (T the monotonic
 *                                 time in s, no newline), compute BUSY_MS
 *                                 as write does, then end the line.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "quiet.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* a program computing for ms, to the library: no call it sees */
static void spin(uint64_t ms)
{
	uint64_t end = now_ns() + ms * 1000000u;

	while (now_ns() < end)
		quiet_pause();
}

static int stamp_and_spin(uint64_t ms)
{
	char line[64];
	int n = snprintf(line, sizeof line, "%llu\n", (unsigned long long)now_ns());

	if (write(1, line, (size_t)n) != n)
		return 1;
	spin(ms);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "write")) {
		if (argc > 3 && !strcmp(argv[3], "fork")) {
			pid_t pid = fork();

			if (pid == 0)
				_exit(stamp_and_spin(strtoull(argv[2], NULL, 10)));
			waitpid(pid, NULL, 0);
			return 0;
		}
		return stamp_and_spin(strtoull(argv[2], NULL, 10));
	}
	if (argc >= 2 && !strcmp(argv[1], "read")) {
		char line[64];
		ssize_t n = read(0, line, sizeof line - 1);
		uint64_t t = now_ns();

		if (n <= 0)
			return 1;
		line[n] = '\0';
		printf("%llu\n", (unsigned long long)((t - strtoull(line, NULL, 10)) / 1000000u));
		return 0;
	}
	if (argc >= 3 && !strcmp(argv[1], "busy")) {
		uint64_t end = now_ns() + strtoull(argv[2], NULL, 10) * 1000000u;
		long count = 0;

		while (now_ns() < end) {
			if (write(1, "0123456789012345678901234567890123456789", 40) != 40)
				return 1;
			count++;
		}
		fprintf(stderr, "%ld\n", count);
		return 0;
	}
	if (argc >= 3 && !strcmp(argv[1], "idle")) {
		if (write(1, "line\n", 5) != 5)
			return 1;
		usleep((useconds_t)strtoul(argv[2], NULL, 10) * 1000);
		return 0;
	}
	if (argc >= 3 && !strcmp(argv[1], "partial")) {
		char line[64];
		uint64_t t = now_ns();
		int n = snprintf(line, sizeof line, "working since %llu.%09llu",
				 (unsigned long long)(t / 1000000000u), (unsigned long long)(t % 1000000000u));

		if (write(1, line, (size_t)n) != n)
			return 1;
		spin(strtoull(argv[2], NULL, 10));
		return write(1, "\n", 1) != 1;
	}
	if (argc == 2 && !strcmp(argv[1], "opost")) {
		struct termios t;

		if (write(1, "a\nb\n", 4) != 4 || tcgetattr(1, &t) < 0)
			return 1;
		t.c_oflag &= ~(tcflag_t)OPOST;
		tcsetattr(1, TCSANOW, &t);
		if (write(1, "c\n", 2) != 2)
			return 1;
		t.c_oflag |= OPOST;
		ioctl(1, TCSETS, &t);
		return write(1, "d\n", 2) != 2;
	}
	if (argc == 2 && !strcmp(argv[1], "opost2")) {
		/* struct termios2, which <termios.h> cannot sit beside */
		struct t2 {
			tcflag_t c_iflag, c_oflag, c_cflag, c_lflag;
			cc_t c_line, c_cc[19];
			speed_t c_ispeed, c_ospeed;
		} t, raw;

		if (write(1, "a\nb\n", 4) != 4 || ioctl(1, _IOR('T', 0x2A, struct t2), &t) < 0)
			return 1;
		raw = t;
		raw.c_oflag &= ~(tcflag_t)OPOST;
		ioctl(1, _IOW('T', 0x2B, struct t2), &raw);
		if (write(1, "c\n", 2) != 2)
			return 1;
		ioctl(1, _IOW('T', 0x2B, struct t2), &t);
		return write(1, "d\n", 2) != 2;
	}
	if (argc == 2 && !strcmp(argv[1], "getpass")) {
		char *p;

		if (write(1, "user alice, ", 12) != 12 || !(p = getpass("Password: ")))
			return 1;
		printf("got [%s]\n", p);
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "devtty")) {
		char p[64];
		int fd = open("/dev/tty", O_RDWR);
		ssize_t n;

		if (write(1, "user alice, ", 12) != 12 || fd < 0 || write(fd, "Password: ", 10) != 10)
			return 1;
		n = read(fd, p, sizeof p - 1);
		if (n <= 0)
			return 1;
		p[n - 1] = 0;
		printf("got [%s]\n", p);
		return 0;
	}
	fputs("usage: latency write MS [fork] | read | busy MS | idle MS | partial MS | opost | opost2 | getpass | devtty\n",
	      stderr);
	return 2;
}
