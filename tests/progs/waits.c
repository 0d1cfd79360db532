/* SPDX-License-Identifier: MIT */
/*
 * waits — a line, then about two seconds of one kind of wait, then a line:
 * the first line must reach a reader while the program waits.
 *
 *   waits KIND [SECONDS]
 *
 * The first line is "before T", T the CLOCK_MONOTONIC time it was written
 * (s, to compare with when it arrives); the last is "after". KIND:
 * cond, cond_timed, cond_clock, sem, sem_timed, sem_clock, join, join_timed,
 * cnd_wait (C11), thrd_sleep (C11), getwc_unlocked (a pipe a child writes),
 * sigpause, barrier, flock, lockf, setlkw, ofd_setlkw, msgrcv, semop, mq_receive,
 * futex, fifo_open, poll0 (no wait: a zero-timeout poll must see our own
 * pipe readable), select0 (the same with select), fionread0 (the same
 * asked by ioctl(FIONREAD): "readable: 1" when its byte is there), selfpipe (a thread
 * writes 1 MiB into a pipe the main thread reads after a line of its own:
 * "read 1048576"), exit_while_blocked (a thread blocks writing 1 MiB to
 * stdout, the main thread _exits), cond_full_pipe (a pipe of our own is
 * full; a thread takes the mutex, then drains it; the main thread writes
 * a byte more into it, then waits on a condition with that mutex held:
 * "drained 65537"), exit_after_hand_over (with a thread asleep, 64 KiB
 * fill stdout, a pipe read late; a line more, a short sleep, whose
 * delivery the library leaves to its helper, then exit: the reader must
 * get the line), kill_after_full_pipe (the same, then SIGKILL to itself
 * instead of the sleep and the exit).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <mqueue.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/select.h>
#include <sys/sem.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <threads.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

static double secs = 2.0;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static sem_t sem;
static pthread_barrier_t barrier;
static int futex_word;
static mtx_t c11_m;
static cnd_t c11_c;
static int wide_pipe[2];
static pid_t self;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void out(const char *s)
{
	(void)!write(1, s, strlen(s));
}

static void before(void)
{
	char b[64];

	snprintf(b, sizeof b, "before %.3f\n", now());
	out(b);
}

static void nap(void)
{
	struct timespec ts = { .tv_sec = (time_t)secs,
			       .tv_nsec = (long)((secs - (double)(time_t)secs) * 1e9) };

	/* the raw syscall: the helper's own sleep must not deliver for us */
	syscall(SYS_nanosleep, &ts, NULL);
}

static struct timespec deadline(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	ts.tv_sec += (time_t)secs + 2;
	return ts;
}

static void on_usr1(int sig)
{
	(void)sig;
}

/* Another thread that, after the nap, does what ends the wait. */
static void *later(void *what)
{
	nap();
	if (strcmp(what, "cond") == 0) {
		pthread_mutex_lock(&m);
		pthread_cond_signal(&c);
		pthread_mutex_unlock(&m);
	} else if (strcmp(what, "sem") == 0) {
		sem_post(&sem);
	} else if (strcmp(what, "barrier") == 0) {
		pthread_barrier_wait(&barrier);
	} else if (strcmp(what, "c11") == 0) {
		mtx_lock(&c11_m);
		cnd_signal(&c11_c);
		mtx_unlock(&c11_m);
	} else if (strcmp(what, "kill") == 0) {
		kill(self, SIGUSR1);
	} else if (strcmp(what, "futex") == 0) {
		__atomic_store_n(&futex_word, 1, __ATOMIC_RELEASE);
		syscall(SYS_futex, &futex_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	}
	return NULL;
}

static pthread_t start(const char *what)
{
	pthread_t t;

	pthread_create(&t, NULL, later, (void *)what);
	return t;
}

/* A child that holds a lock on path for the nap, made by how. */
static pid_t child_holding(const char *path, const char *how, int *ready)
{
	int p[2];
	pid_t pid;

	if (pipe(p) < 0)
		exit(2);
	pid = fork();
	if (pid == 0) {
		int fd = open(path, O_RDWR | O_CREAT, 0644);
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

		if (strcmp(how, "flock") == 0)
			flock(fd, LOCK_EX);
		else
			fcntl(fd, F_SETLK, &fl);
		(void)!write(p[1], "x", 1);
		nap();
		_exit(0);
	}
	close(p[1]);
	*ready = p[0];
	return pid;
}

static int run_wait(const char *kind);
static int self_pipe[2];

static void *big_write(void *fd)
{
	size_t n = (size_t)1 << 20;
	char *b = malloc(n);

	memset(b, 'x', n);
	(void)!write((int)(long)fd, b, n);
	return NULL;
}

static int blocked_writes(const char *kind)
{
	pthread_t t;

	if (strcmp(kind, "selfpipe") == 0) {
		size_t total = 0;
		char buf[65536];
		ssize_t r;

		if (pipe(self_pipe) < 0)
			return 2;
		pthread_create(&t, NULL, big_write, (void *)(long)self_pipe[1]);
		usleep(100000);
		out("line before reading\n");
		while (total < ((size_t)1 << 20) && (r = read(self_pipe[0], buf, sizeof buf)) > 0)
			total += (size_t)r;
		printf("read %zu\n", total);
		fflush(stdout);
		pthread_join(t, NULL);
		return 0;
	}
	out("hi\n");
	pthread_create(&t, NULL, big_write, (void *)1L);
	usleep(200000);
	_exit(3);
}

/* Without the library the byte's write blocks until the reader has
 * drained the pipe, before the mutex is taken; the wait's delivery must
 * not block with the mutex held, which the reader takes first. */
static void *drain_after_mutex(void *arg)
{
	static char buf[65536];
	size_t got = 0;
	ssize_t r;

	(void)arg;
	usleep(200000);
	pthread_mutex_lock(&m);
	pthread_mutex_unlock(&m);
	while (got < 65537 && (r = read(self_pipe[0], buf, sizeof buf)) > 0)
		got += (size_t)r;
	printf("drained %zu\n", got);
	fflush(stdout);
	return NULL;
}

static int cond_full_pipe(void)
{
	static char big[65536];
	struct timespec ts;
	pthread_t t;

	if (pipe(self_pipe) < 0)
		return 2;
	memset(big, 'a', sizeof big);
	if (write(self_pipe[1], big, sizeof big) != (ssize_t)sizeof big)
		return 2;	/* the pipe is full */
	pthread_create(&t, NULL, drain_after_mutex, NULL);
	if (write(self_pipe[1], "x", 1) != 1)
		return 2;
	pthread_mutex_lock(&m);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 1;
	pthread_cond_timedwait(&c, &m, &ts);
	pthread_mutex_unlock(&m);
	pthread_join(t, NULL);
	return 0;
}

static void *sleeper(void *arg)
{
	(void)arg;
	sleep(30);
	return NULL;
}

static int exit_after_hand_over(int kill_self)
{
	static char big[65536];
	pthread_t t;

	pthread_create(&t, NULL, sleeper, NULL);
	memset(big, 'a', sizeof big);
	if (write(1, big, sizeof big) != (ssize_t)sizeof big)
		return 2;	/* the pipe is full */
	out("the last line\n");
	if (kill_self)
		kill(getpid(), SIGKILL);
	usleep(1000);
	exit(0);
}

static int run(const char *kind)
{
	if (strcmp(kind, "cond_full_pipe") == 0)
		return cond_full_pipe();
	if (strcmp(kind, "exit_after_hand_over") == 0)
		return exit_after_hand_over(0);
	if (strcmp(kind, "kill_after_full_pipe") == 0)
		return exit_after_hand_over(1);
	if (strcmp(kind, "selfpipe") == 0 || strcmp(kind, "exit_while_blocked") == 0)
		return blocked_writes(kind);
	return run_wait(kind);
}

static int run_wait(const char *kind)
{
	struct timespec ts;
	int rd;

	if (strcmp(kind, "cond") == 0 || strcmp(kind, "cond_timed") == 0 ||
	    strcmp(kind, "cond_clock") == 0) {
		pthread_mutex_lock(&m);
		start("cond");
		before();
		if (strcmp(kind, "cond") == 0) {
			pthread_cond_wait(&c, &m);
		} else if (strcmp(kind, "cond_timed") == 0) {
			ts = deadline(CLOCK_REALTIME);
			pthread_cond_timedwait(&c, &m, &ts);
		} else {
			ts = deadline(CLOCK_MONOTONIC);
			pthread_cond_clockwait(&c, &m, CLOCK_MONOTONIC, &ts);
		}
		pthread_mutex_unlock(&m);
	} else if (strncmp(kind, "sem", 3) == 0 && strcmp(kind, "semop") != 0) {
		sem_init(&sem, 0, 0);
		start("sem");
		before();
		if (strcmp(kind, "sem") == 0) {
			sem_wait(&sem);
		} else if (strcmp(kind, "sem_timed") == 0) {
			ts = deadline(CLOCK_REALTIME);
			sem_timedwait(&sem, &ts);
		} else {
			ts = deadline(CLOCK_MONOTONIC);
			sem_clockwait(&sem, CLOCK_MONOTONIC, &ts);
		}
	} else if (strcmp(kind, "join") == 0 || strcmp(kind, "join_timed") == 0) {
		pthread_t t = start("nothing");

		before();
		if (strcmp(kind, "join") == 0) {
			pthread_join(t, NULL);
		} else {
			ts = deadline(CLOCK_REALTIME);
			pthread_timedjoin_np(t, NULL, &ts);
		}
	} else if (strcmp(kind, "cnd_wait") == 0) {
		mtx_init(&c11_m, mtx_plain);
		cnd_init(&c11_c);
		mtx_lock(&c11_m);
		start("c11");
		before();
		cnd_wait(&c11_c, &c11_m);
		mtx_unlock(&c11_m);
	} else if (strcmp(kind, "thrd_sleep") == 0) {
		ts.tv_sec = (time_t)secs;
		ts.tv_nsec = 0;
		before();
		thrd_sleep(&ts, NULL);
	} else if (strcmp(kind, "getwc_unlocked") == 0) {
		FILE *f;

		/* the writer another process (a thread of this one writing a pipe it
		 * reads is not yet delivered while it waits) */
		if (pipe(wide_pipe) < 0 || !(f = fdopen(wide_pipe[0], "r")))
			return 2;
		if (fork() == 0) {
			nap();
			(void)!write(wide_pipe[1], "x", 1);
			_exit(0);
		}
		before();
		(void)getwc_unlocked(f);
		wait(NULL);
	} else if (strcmp(kind, "sigpause") == 0) {
		sigset_t usr1;

		signal(SIGUSR1, on_usr1);
		sigemptyset(&usr1);
		sigaddset(&usr1, SIGUSR1);
		sigprocmask(SIG_BLOCK, &usr1, NULL);
		self = getpid();
		start("kill");
		before();
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
		sigpause(SIGUSR1);	/* (what programs built for X/Open call) */
#pragma GCC diagnostic pop
	} else if (strcmp(kind, "barrier") == 0) {
		pthread_barrier_init(&barrier, NULL, 2);
		start("barrier");
		before();
		pthread_barrier_wait(&barrier);
	} else if (strcmp(kind, "futex") == 0) {
		start("futex");
		before();
		while (!__atomic_load_n(&futex_word, __ATOMIC_ACQUIRE))
			syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
	} else if (strcmp(kind, "flock") == 0 || strcmp(kind, "lockf") == 0 ||
		   strcmp(kind, "setlkw") == 0 || strcmp(kind, "ofd_setlkw") == 0) {
		char path[] = "/tmp/bufshim-waits-lock-XXXXXX";
		int fd = mkstemp(path);
		char x;
		pid_t pid = child_holding(path, strcmp(kind, "flock") == 0 ? "flock" : "fcntl",
					  &rd);
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

		(void)!read(rd, &x, 1);
		before();
		if (strcmp(kind, "flock") == 0)
			flock(fd, LOCK_EX);
		else if (strcmp(kind, "lockf") == 0)
			lockf(fd, F_LOCK, 0);
		else
			fcntl(fd, strcmp(kind, "setlkw") == 0 ? F_SETLKW : F_OFD_SETLKW, &fl);
		unlink(path);
		waitpid(pid, NULL, 0);
	} else if (strcmp(kind, "msgrcv") == 0 || strcmp(kind, "semop") == 0) {
		int q = strcmp(kind, "msgrcv") == 0 ? msgget(IPC_PRIVATE, 0600) :
						       semget(IPC_PRIVATE, 1, 0600);
		struct { long type; char text[8]; } msg = { 1, "x" };
		struct sembuf op = { 0, -1, 0 }, up = { 0, 1, 0 };
		pid_t pid;

		if (q < 0)
			return 2;
		pid = fork();
		if (pid == 0) {
			nap();
			if (strcmp(kind, "msgrcv") == 0)
				msgsnd(q, &msg, sizeof msg.text, 0);
			else
				semop(q, &up, 1);
			_exit(0);
		}
		before();
		if (strcmp(kind, "msgrcv") == 0) {
			msgrcv(q, &msg, sizeof msg.text, 0, 0);
			msgctl(q, IPC_RMID, NULL);
		} else {
			semop(q, &op, 1);
			semctl(q, 0, IPC_RMID);
		}
		waitpid(pid, NULL, 0);
	} else if (strcmp(kind, "mq_receive") == 0) {
		char name[64], buf[8192];
		struct mq_attr a = { .mq_maxmsg = 1, .mq_msgsize = 8 };
		mqd_t q;
		pid_t pid;

		snprintf(name, sizeof name, "/bufshim-waits-%d", (int)getpid());
		q = mq_open(name, O_RDWR | O_CREAT, 0600, &a);
		if (q == (mqd_t)-1)
			return 2;
		pid = fork();
		if (pid == 0) {
			nap();
			mq_send(q, "x", 1, 0);
			_exit(0);
		}
		before();
		mq_receive(q, buf, sizeof buf, NULL);
		mq_unlink(name);
		waitpid(pid, NULL, 0);
	} else if (strcmp(kind, "fifo_open") == 0) {
		char path[64];
		pid_t pid;
		int fd;

		snprintf(path, sizeof path, "/tmp/bufshim-waits-fifo-%d", (int)getpid());
		if (mkfifo(path, 0600) < 0)
			return 2;
		pid = fork();
		if (pid == 0) {
			nap();
			fd = open(path, O_WRONLY);
			_exit(fd < 0);
		}
		before();
		fd = open(path, O_RDONLY);
		close(fd);
		unlink(path);
		waitpid(pid, NULL, 0);
	} else if (strcmp(kind, "poll0") == 0 || strcmp(kind, "select0") == 0 ||
		   strcmp(kind, "fionread0") == 0) {
		/* our own pipe: written, then asked whether it is readable */
		int p[2], ready;

		if (pipe(p) < 0)
			return 2;
		(void)!write(p[1], "x", 1);
		if (strcmp(kind, "poll0") == 0) {
			struct pollfd pf = { .fd = p[0], .events = POLLIN };

			ready = poll(&pf, 1, 0);
		} else if (strcmp(kind, "fionread0") == 0) {
			int n = -1;

			ready = ioctl(p[0], FIONREAD, &n) == 0 ? n : -1;
		} else {
			fd_set r;
			struct timeval tv = { 0, 0 };

			FD_ZERO(&r);
			FD_SET(p[0], &r);
			ready = select(p[0] + 1, &r, NULL, NULL, &tv);
		}
		printf("readable: %d\n", ready);
		fflush(stdout);
		return 0;
	} else {
		fprintf(stderr, "waits: unknown kind %s\n", kind);
		return 2;
	}
	out("after\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: waits KIND [SECONDS]\n");
		return 2;
	}
	if (argc > 2)
		secs = atof(argv[2]);
	return run(argv[1]);
}
