/* SPDX-License-Identifier: MIT */
/*
 * boundaries CASE — one program per SPEC invariant 6-8 case; exits 0 when
 * the library kept the semantics, else prints why and exits 1.
 *   seek      fd 1 a regular file: pwrite, lseek, ftruncate see every
 *             earlier write; the file ends as "Jello!"
 *   dgram     datagram and seqpacket socketpairs keep message boundaries
 *   eventfd   an eventfd write is seen at once
 *   nonblock  writes to an O_NONBLOCK pipe, and to a pipe made non-blocking
 *             by fcntl or ioctl(FIONBIO), reach the reader at once
 *   signals   a handler writing every 100 us while main writes: all lines
 *             arrive; prints the handler's count on stderr
 *   fclose    write(1), then fclose(stdout) delivers
 *   coproc    request/response with a child over two pipes: no deadlock
 *   cancel    a thread writing in a loop is cancelled at a write
 *   vmsplice  fd 1 a pipe: write, vmsplice, write arrive in that order
 *   quick_exit, _Exit
 *             "main" written, then the process ends that way (quick_exit
 *             runs an at_quick_exit handler that writes "handler")
 * Run the socket, eventfd and pipe cases with BUFSHIM_FDS=all.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "coproc.h"

#define CHECK(cond, ...)						\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, __VA_ARGS__);			\
			fputc('\n', stderr);				\
			exit(1);					\
		}							\
	} while (0)

static void put(int fd, const char *s)
{
	CHECK(write(fd, s, strlen(s)) == (ssize_t)strlen(s), "write: %s", strerror(errno));
}

/* What is readable on fd right now, without waiting. */
static ssize_t now(int fd, char *buf, size_t n)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (poll(&p, 1, 0) != 1)
		return 0;
	return recv(fd, buf, n, MSG_DONTWAIT) >= 0 ? recv(fd, buf, 0, MSG_DONTWAIT), 1 : 0;
}

static int seek(void)
{
	off_t off;

	put(1, "hello world");
	CHECK(pwrite(1, "J", 1, 0) == 1, "pwrite");
	off = lseek(1, 0, SEEK_CUR);
	CHECK(off == 11, "lseek says %ld, wanted 11", (long)off);
	CHECK(ftruncate(1, 5) == 0, "ftruncate");
	CHECK(lseek(1, 0, SEEK_END) == 5, "lseek end");
	put(1, "!");
	return 0;
}

static int dgram(void)
{
	static const int types[] = { SOCK_DGRAM, SOCK_SEQPACKET };
	char buf[16];

	for (int i = 0; i < 2; i++) {
		int sv[2];

		CHECK(socketpair(AF_UNIX, types[i], 0, sv) == 0, "socketpair");
		put(sv[0], "a");
		put(sv[0], "bc");
		CHECK(recv(sv[1], buf, sizeof buf, MSG_DONTWAIT) == 1, "type %d: first message merged or held", types[i]);
		CHECK(recv(sv[1], buf, sizeof buf, MSG_DONTWAIT) == 2, "type %d: second message", types[i]);
	}
	(void)now;
	return 0;
}

static int evfd(void)
{
	int fd = eventfd(0, 0);
	uint64_t v = 5;
	struct pollfd p = { .fd = fd, .events = POLLIN };

	CHECK(write(fd, &v, 8) == 8, "eventfd write");
	CHECK(poll(&p, 1, 0) == 1, "eventfd write held");
	CHECK(read(fd, &v, 8) == 8 && v == 5, "eventfd value %lu", (unsigned long)v);
	return 0;
}

/* poll with no timeout delivers nothing (it cannot block), so the bytes
 * must be in the pipe already; only then read them. */
static void readable_now(int fd, const char *want)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[16] = "";
	ssize_t n;

	CHECK(poll(&p, 1, 0) == 1, "'%s' held back", want);
	n = read(fd, buf, sizeof buf - 1);

	CHECK(n == (ssize_t)strlen(want) && !memcmp(buf, want, (size_t)n),
	      "read %zd bytes '%s', wanted '%s'", n, n > 0 ? buf : "", want);
}

static int nonblock(void)
{
	int p[2], on = 1;

	CHECK(pipe2(p, O_NONBLOCK) == 0, "pipe2");
	put(p[1], "x");
	readable_now(p[0], "x");

	CHECK(pipe(p) == 0, "pipe");
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	put(p[1], "a");		/* blocking: may be held ... */
	CHECK(fcntl(p[1], F_SETFL, O_NONBLOCK) == 0, "F_SETFL");
	readable_now(p[0], "a");	/* ... but not past F_SETFL */
	put(p[1], "b");
	readable_now(p[0], "b");

	CHECK(pipe(p) == 0, "pipe");
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	put(p[1], "c");
	CHECK(ioctl(p[1], FIONBIO, &on) == 0, "FIONBIO");
	readable_now(p[0], "c");
	put(p[1], "d");
	readable_now(p[0], "d");
	return 0;
}

static volatile sig_atomic_t fired;

static void on_alarm(int sig)
{
	int e = errno;

	(void)sig;
	if (write(1, "S\n", 2) == 2)
		fired++;
	errno = e;
}

static int signals(void)
{
	struct itimerval it = { { 0, 100 }, { 0, 100 } };
	struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = SA_RESTART };
	char rec[64];

	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	for (int i = 0; i < 300000; i++) {
		int n = snprintf(rec, sizeof rec, "R %d\n", i);

		put(1, rec);
		(void)n;
	}
	memset(&it, 0, sizeof it);
	setitimer(ITIMER_REAL, &it, NULL);
	fprintf(stderr, "signals %d\n", (int)fired);
	return 0;
}

static int do_fclose(void)
{
	put(1, "via write\n");
	CHECK(fclose(stdout) == 0, "fclose: %s", strerror(errno));
	return 0;
}

/* fd 1 a pipe: bytes given to it by vmsplice come after earlier writes */
static int do_vmsplice(void)
{
	/* the pipe may keep referring to these pages: not on the stack */
	static char second[] = "second\n";
	struct iovec v = { .iov_base = second, .iov_len = sizeof second - 1 };

	CHECK(write(1, "first\n", 6) == 6, "write");
	CHECK(vmsplice(1, &v, 1, 0) == (ssize_t)v.iov_len, "vmsplice: %s", strerror(errno));
	CHECK(write(1, "third\n", 6) == 6, "write");
	return 0;
}

static int coproc(void)
{
	char buf[64];
	int rsp;
	pid_t pid = start_cat(&rsp);	/* our stdout is the request pipe */

	CHECK(pid > 0, "pipe");
	for (int i = 0; i < 100; i++) {
		int n = snprintf(buf, sizeof buf, "ping %d\n", i);
		ssize_t got = 0;

		put(1, buf);
		while (got < n) {	/* cat answers the same line */
			ssize_t r = read(rsp, buf + got, (size_t)(n - got));

			CHECK(r > 0, "response %d: %zd", i, r);
			got += r;
		}
	}
	close(1);
	waitpid(pid, NULL, 0);
	return 0;
}

static void *write_forever(void *arg)
{
	(void)arg;
	for (;;)
		if (write(1, "x\n", 2) != 2)
			return NULL;
}

static int cancel(void)
{
	pthread_t t;
	void *rc;

	pthread_create(&t, NULL, write_forever, NULL);
	usleep(100000);
	pthread_cancel(t);
	pthread_join(t, &rc);
	CHECK(rc == PTHREAD_CANCELED, "not cancelled");
	fputs("joined\n", stderr);
	return 0;
}

static void quick_handler(void)
{
	(void)!write(1, "handler\n", 8);
}

static int do_quick_exit(void)
{
	at_quick_exit(quick_handler);
	(void)!write(1, "main\n", 5);
	quick_exit(0);
}

static int do__Exit(void)
{
	at_quick_exit(quick_handler);	/* not run by _Exit */
	(void)!write(1, "main\n", 5);
	_Exit(0);
}

int main(int argc, char **argv)
{
	static const struct { const char *name; int (*fn)(void); } cases[] = {
		{ "seek", seek }, { "dgram", dgram }, { "eventfd", evfd },
		{ "nonblock", nonblock }, { "signals", signals },
		{ "fclose", do_fclose }, { "coproc", coproc }, { "cancel", cancel },
		{ "vmsplice", do_vmsplice }, { "quick_exit", do_quick_exit },
		{ "_Exit", do__Exit },
	};

	for (size_t i = 0; argc > 1 && i < sizeof cases / sizeof cases[0]; i++)
		if (!strcmp(argv[1], cases[i].name))
			return cases[i].fn();
	fputs("usage: boundaries seek|dgram|eventfd|nonblock|signals|fclose|coproc|cancel|vmsplice"
	      "|quick_exit|_Exit\n", stderr);
	return 2;
}
