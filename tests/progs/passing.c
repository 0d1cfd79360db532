/* SPDX-License-Identifier: MIT */
/*
 * passing CASE DIR — bytes a program wrote, then passed to another process
 * by a call that is not a read, a wait or an exit; compare a run with the
 * library (BUFSHIM_FDS=all) and one without: stdout and DIR/f.
 *
 *   clone     "A" to stdout, then clone() without CLONE_VM (a new process
 *             with a copy of the memory, as fork, but no fork handlers):
 *             the child writes "B", the parent waits and writes "C"
 *   open2     "hello" into DIR/f, then the C library's fortified open
 *             (__open_2, what -D_FORTIFY_SOURCE makes of open) with O_TRUNC,
 *             then "X"; the same with __openat_2
 *   fcntl     parent and child append to DIR/f under a lock: the parent
 *             locks, writes "A", unlocks (F_SETLK), computes 0.4 s and
 *             writes "A2"; the child, 0.1 s later, locks, writes "B"
 *   lockf     the same with lockf(F_TLOCK) and lockf(F_ULOCK)
 *   scm       the parent writes "A-parent" to DIR/f and passes the fd to
 *             its child (SCM_RIGHTS), which writes "B-child" on it and
 *             answers; then the parent writes "C-parent"
 *   pidfd     the parent writes "parent-data" to DIR/f and signals its
 *             child through pidfd_send_signal; the child then reads DIR/f
 *             and prints what it saw
 *   seal      "hello" into a memfd, sealed against writes (F_ADD_SEALS),
 *             then read back: what was read and close's result to stdout
 *   fdopen    "AAAA" into DIR/f, back to its start, "BB", then fdopen(fd,
 *             "a") (the C library sets O_APPEND itself) and "CC" through it
 *   daemon    DIR/f opened for appending as stdout, "before", daemon()
 *             (/dev/null put on 0, 1, 2 by the C library), then DIR/f
 *             opened again for appending, "daemon-log", and DIR/done made
 *
 * The parent computes by quiet_pause (quiet.h): no call the library sees.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "quiet.h"

extern int __open_2(const char *path, int flags);
extern int __openat_2(int dirfd, const char *path, int flags);

static char path[4096];

static void say(int fd, const char *s)
{
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		_exit(3);
}

static void compute_ms(int ms)
{
	for (int i = 0; i < ms; i++)
		quiet_pause();
}

static char clone_stack[64 << 10];

static int clone_child(void *arg)
{
	(void)arg;
	say(1, "B\n");
	_exit(0);
}

static int do_clone(void)
{
	pid_t p;

	say(1, "A\n");
	p = clone(clone_child, clone_stack + sizeof clone_stack, SIGCHLD, NULL);
	if (p < 0)
		return 2;
	waitpid(p, NULL, 0);
	say(1, "C\n");
	return 0;
}

static int do_open2(void)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644), fd2;

	say(fd, "hello");
	fd2 = __open_2(path, O_RDONLY | O_TRUNC);
	say(fd, "X");
	close(fd2);
	say(fd, "world");
	fd2 = __openat_2(AT_FDCWD, path, O_RDONLY | O_TRUNC);
	say(fd, "Y");
	close(fd2);
	close(fd);
	return 0;
}

static void lock_it(int fd, int with_lockf, int type)
{
	struct flock l = { .l_type = (short)type, .l_whence = SEEK_SET };

	if (with_lockf)
		(void)!lockf(fd, type == F_UNLCK ? F_ULOCK : F_TLOCK, 0);
	else
		(void)!fcntl(fd, F_SETLK, &l);
}

static int do_locks(int with_lockf)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
	pid_t p;

	close(fd);
	p = fork();
	if (p == 0) {
		struct flock l = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
		int g;

		compute_ms(100);
		g = open(path, O_WRONLY | O_APPEND);
		(void)!fcntl(g, F_SETLKW, &l);
		say(g, "B\n");
		l.l_type = F_UNLCK;
		(void)!fcntl(g, F_SETLKW, &l);
		close(g);
		_exit(0);
	}
	fd = open(path, O_WRONLY | O_APPEND);
	lock_it(fd, with_lockf, F_WRLCK);
	say(fd, "A\n");
	lock_it(fd, with_lockf, F_UNLCK);
	compute_ms(400);
	say(fd, "A2\n");
	close(fd);
	waitpid(p, NULL, 0);
	return 0;
}

static void pass_fd(int sock, int fd)
{
	char c = 'x', cb[CMSG_SPACE(sizeof(int))];
	struct iovec io = { &c, 1 };
	struct msghdr m = { .msg_iov = &io, .msg_iovlen = 1, .msg_control = cb,
			    .msg_controllen = sizeof cb };
	struct cmsghdr *h = CMSG_FIRSTHDR(&m);

	memset(cb, 0, sizeof cb);
	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(h), &fd, sizeof fd);
	if (sendmsg(sock, &m, 0) != 1)
		_exit(4);
}

static int take_fd(int sock)
{
	char c, cb[CMSG_SPACE(sizeof(int))];
	struct iovec io = { &c, 1 };
	struct msghdr m = { .msg_iov = &io, .msg_iovlen = 1, .msg_control = cb,
			    .msg_controllen = sizeof cb };
	int fd;

	if (recvmsg(sock, &m, 0) != 1 || !CMSG_FIRSTHDR(&m))
		_exit(5);
	memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof fd);
	return fd;
}

static int do_scm(void)
{
	int sv[2], fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
	char c;
	pid_t p;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return 2;
	p = fork();
	if (p == 0) {
		int g;

		close(sv[0]);
		g = take_fd(sv[1]);
		say(g, "B-child\n");
		close(g);
		say(sv[1], "k");
		_exit(0);
	}
	close(sv[1]);
	say(fd, "A-parent\n");
	pass_fd(sv[0], fd);
	compute_ms(300);
	if (read(sv[0], &c, 1) != 1)
		return 2;
	say(fd, "C-parent\n");
	waitpid(p, NULL, 0);
	return 0;
}

static int do_seal(void)
{
	int fd = memfd_create("sealed", MFD_ALLOW_SEALING), c;
	char b[16] = { 0 };
	ssize_t r;

	if (fd < 0 || write(fd, "hello", 5) != 5)
		return 1;
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
		return 1;
	r = pread(fd, b, sizeof b - 1, 0);
	c = close(fd);
	printf("read %zd [%s], close %d\n", r, b, c);
	return 0;
}

static int do_fdopen(void)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	FILE *f;

	if (fd < 0 || write(fd, "AAAA", 4) != 4 || lseek(fd, 0, SEEK_SET) != 0 ||
	    write(fd, "BB", 2) != 2)
		return 1;
	f = fdopen(fd, "a");
	if (!f || fputs("CC", f) < 0 || fclose(f) != 0)
		return 1;
	return 0;
}

static int do_daemon(void)
{
	char done[4200];
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);

	if (fd < 0 || dup2(fd, 1) < 0 || write(1, "before\n", 7) != 7)
		return 1;
	close(fd);
	if (daemon(1, 0) < 0)
		return 1;
	fd = open(path, O_WRONLY | O_APPEND);
	if (fd < 0 || write(fd, "daemon-log\n", 11) != 11 || close(fd) < 0)
		return 1;
	snprintf(done, sizeof done, "%s.done", path);
	close(open(done, O_WRONLY | O_CREAT, 0644));
	return 0;
}

static int do_pidfd(void)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644), pfd;
	sigset_t s;
	pid_t p;

	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	sigprocmask(SIG_BLOCK, &s, NULL);	/* the child's, from the start */
	p = fork();
	if (p == 0) {
		char b[64] = { 0 };
		int sig, r, n;

		sigwait(&s, &sig);
		r = open(path, O_RDONLY);
		n = (int)read(r, b, sizeof b - 1);
		printf("child saw %d bytes: %s\n", n, b);
		fflush(stdout);
		_exit(0);
	}
	say(fd, "parent-data");
	pfd = (int)syscall(SYS_pidfd_open, p, 0);
	if (pfd < 0 || pidfd_send_signal(pfd, SIGUSR1, NULL, 0) < 0)
		return 2;
	compute_ms(300);
	waitpid(p, NULL, 0);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fputs("usage: passing clone|open2|fcntl|lockf|scm|pidfd|seal|fdopen|daemon DIR\n", stderr);
		return 2;
	}
	snprintf(path, sizeof path, "%s/f", argv[2]);
	if (!strcmp(argv[1], "clone"))
		return do_clone();
	if (!strcmp(argv[1], "open2"))
		return do_open2();
	if (!strcmp(argv[1], "fcntl") || !strcmp(argv[1], "lockf"))
		return do_locks(!strcmp(argv[1], "lockf"));
	if (!strcmp(argv[1], "scm"))
		return do_scm();
	if (!strcmp(argv[1], "pidfd"))
		return do_pidfd();
	if (!strcmp(argv[1], "seal"))
		return do_seal();
	if (!strcmp(argv[1], "fdopen"))
		return do_fdopen();
	if (!strcmp(argv[1], "daemon"))
		return do_daemon();
	fputs("usage: passing clone|open2|fcntl|lockf|scm|pidfd|seal|fdopen|daemon DIR\n", stderr);
	return 2;
}
