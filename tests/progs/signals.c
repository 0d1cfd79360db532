/* SPDX-License-Identifier: MIT */
/*
 * signals — programs that meet signals while they write, for comparing a
 * run with the library and one without.
 *
 *   signals dump                 every signal's action (1..64) as sigaction,
 *                                signal, sysv_signal and siginterrupt see it
 *   signals die SIG N [self|wait]
 *                                N lines, then raise SIG (self) or wait for
 *                                it (wait: "ready" on stderr first)
 *   signals compute N S          N lines, "ready" on stderr, S seconds of
 *                                computing, then "done"
 *   signals race N               lines until a timer's (1-5 ms after
 *                                line 8000)
 *                                SIGALRM handler writes its own line and
 *                                _exits; the handler says how many writes
 *                                had returned
 *   signals short SIZE [MARK]    a SIGALRM handler without SA_RESTART, then
 *                                one write of SIZE bytes to stdout (a pipe
 *                                nobody reads yet); its result on stderr;
 *                                the file MARK made just before the alarm
 *   signals restart SIZE [MARK]  the same with SA_RESTART: the write ends
 *                                when the reader reads
 *   signals reraise SIG N        N lines; a handler for SIG writes one, puts
 *                                SIG_DFL back and raises it again
 *   signals threads FILE SIG     three threads write numbered records; each
 *                                stores in FILE how many writes returned;
 *                                then the process raises SIG, or with SIG
 *                                exit, _exit or return ends that way while
 *                                they write
 *   signals handlers             handlers with SA_SIGINFO, SA_RESETHAND,
 *                                SA_NODEFER and a mask run as the flags say
 *   signals boundary sleep|close 64 KiB to stdout (a pipe read later), a
 *                                SIGALRM in a second, one line more, then a
 *                                sleep or a close: the handler says when it
 *                                ran (s), and the program when it ended
 *   signals forkhandler alone|thread [MARK]
 *                                64 KiB to stdout (a pipe read later), a
 *                                SIGALRM in 0.2 s whose handler writes a line
 *                                to stdout, one line more, then a fork while
 *                                the pipe is full (with an idle thread: the
 *                                handler waits on no lock of its own)
 *   signals sleepsig SLEEP       2 MiB to stdout (a file) under a file size
 *                                limit of 1 MiB, SIGXFSZ handled (a handler
 *                                that does nothing, no SA_RESTART), then
 *                                3 s of SLEEP (sleep, nanosleep, poll, a
 *                                zero-timeout poll0 of a readable pipe, a
 *                                read of stdin, a pipe with nothing for a
 *                                while, waitpid of a child asleep for 4 s,
 *                                sem_wait that nobody posts): on stderr
 *                                what it said and when it ended
 *   signals stopwait CALL        "waiting" to stdout, then 5 s of CALL
 *                                (epoll_wait, semtimedop, sigtimedwait),
 *                                then its result: a stop and continue
 *                                meanwhile ends these three with EINTR
 *   signals double_free N        N lines; a SIGABRT handler that returns,
 *                                then a double free (the C library aborts)
 *   signals overflow             one line per level of a recursion until
 *                                the stack overflows; the SIGSEGV handler,
 *                                on an alternate stack, jumps back; then
 *                                four lines more
 *   signals badptr               the same jump after a write from a pointer
 *                                that faults (the kernel would say EFAULT;
 *                                the library's copy faults, inside it)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sem.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "quiet.h"

/* deprecated, and still what programs call */
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

static void say(int fd, const char *s)
{
	size_t n = strlen(s);

	while (n) {
		ssize_t r = write(fd, s, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return;
		s += r;
		n -= (size_t)r;
	}
}

static void line(int fd, const char *what, long i)
{
	char b[64];

	snprintf(b, sizeof b, "%s %ld\n", what, i);
	say(fd, b);
}

static void handler(int sig)
{
	(void)sig;
}

/* ---- dump ------------------------------------------------------------------------ */

static void show(int sig, const char *how, const struct sigaction *a)
{
	const char *h = a->sa_handler == SIG_DFL ? "SIG_DFL" :
			a->sa_handler == SIG_IGN ? "SIG_IGN" :
			a->sa_handler == handler ? "handler" : "other";
	unsigned long mask = 0;

	for (int s = 1; s <= 64; s++)
		if (sigismember(&a->sa_mask, s) == 1)
			mask |= 1ul << (s - 1);
	printf("%2d %-9s %-8s flags %#x mask %#lx restorer %s\n", sig, how, h,
	       (unsigned)a->sa_flags, mask, a->sa_restorer ? "set" : "none");
}

static int dump(void)
{
	struct sigaction a;

	for (int sig = 1; sig <= 64; sig++) {
		memset(&a, 0, sizeof a);
		if (sigaction(sig, NULL, &a) < 0) {
			printf("%2d sigaction: %s\n", sig, strerrorname_np(errno));
			continue;
		}
		show(sig, "inherited", &a);
	}
	for (int sig = 1; sig <= 64; sig++) {
		sighandler_t old = signal(sig, handler);

		if (old == SIG_ERR) {
			printf("%2d signal: %s\n", sig, strerrorname_np(errno));
			continue;
		}
		sigaction(sig, NULL, &a);
		show(sig, "signal", &a);
		if (sig % 3 == 0) {
			siginterrupt(sig, 1);
			sigaction(sig, NULL, &a);
			show(sig, "interrupt", &a);
		}
		if (sig % 5 == 0) {
			sysv_signal(sig, handler);
			sigaction(sig, NULL, &a);
			show(sig, "sysv", &a);
		}
		if (signal(sig, old) != handler)
			printf("%2d signal did not give the handler back\n", sig);
		sigaction(sig, NULL, &a);
		show(sig, "restored", &a);
	}
	fflush(stdout);
	return 0;
}

/* ---- deaths ------------------------------------------------------------------------- */

static int die(int sig, long n, const char *how)
{
	for (long i = 0; i < n; i++)
		line(1, "line", i);
	say(2, "stderr before the signal\n");
	if (strcmp(how, "wait") == 0) {
		/* written straight to the terminal of the test, not buffered */
		dprintf(2, "ready\n");
		for (;;)
			quiet_pause();	/* computing, to the library */
	}
	if (sig == SIGSEGV)
		*(volatile int *)0 = 1;
	if (sig == SIGFPE) {
		volatile int zero = 0;

		return 1 / zero;
	}
	raise(sig);
	say(1, "not reached\n");
	return 0;
}

/* N lines, then S seconds of computing (a stop and continue in between
 * only make it later), then one line more */
static int compute(long n, double s)
{
	struct timespec t0, t;

	for (long i = 0; i < n; i++)
		line(1, "line", i);
	dprintf(2, "ready\n");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		quiet_pause();	/* computing, to the library */
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9 < s);
	say(1, "done\n");
	return 0;
}

/* ---- a handler that interrupts writes ------------------------------------------------ */

static volatile long returned;

static void race_handler(int sig)
{
	char b[64];
	int n = snprintf(b, sizeof b, "handler after %ld writes\n", returned);

	(void)sig;
	(void)!write(1, b, (size_t)n);
	_exit(0);
}

static int race(long n)
{
	/* armed after 8000 lines (more than a 64 KiB buffer: a delivery
	 * behind every run, however slow the machine or emulator), firing
	 * 1-5 ms later (tens of thousands of lines): each run lands elsewhere */
	struct itimerval t = { .it_value = { 0, 1000 + getpid() % 4000 } };
	char b[64];

	signal(SIGALRM, race_handler);
	for (long i = 0; i < n; i++) {
		int len = snprintf(b, sizeof b, "line %ld\n", i);

		if (i == 8000)
			setitimer(ITIMER_REAL, &t, NULL);
		if (write(1, b, (size_t)len) == len)
			returned = i + 1;
	}
	/* never reached in time: the timer fires first */
	return 0;
}

static volatile int alarmed;

static void alarm_handler(int sig)
{
	(void)sig;
	alarmed = 1;
}

static int interrupted_write(long size, int restart, const char *mark)
{
	struct sigaction a;
	char *buf = malloc((size_t)size);
	ssize_t r;

	memset(&a, 0, sizeof a);
	a.sa_handler = alarm_handler;
	a.sa_flags = restart ? SA_RESTART : 0;
	sigaction(SIGALRM, &a, NULL);
	memset(buf, 'x', (size_t)size);
	say(1, "first\n");	/* held, then delivered with the big write */
	if (mark)		/* for a reader that starts after us */
		close(open(mark, O_WRONLY | O_CREAT, 0644));
	alarm(1);
	r = write(1, buf, (size_t)size);
	dprintf(2, "write returned %zd%s, handler %s\n", r,
		r < 0 ? (errno == EINTR ? " (EINTR)" : " (error)") :
		r < size ? " (short)" : "", alarmed ? "ran" : "did not run");
	return 0;
}

static int reraise_sig;

static void reraise_handler(int sig)
{
	struct sigaction dfl;

	say(2, "handler: writes its report, then dies of the signal\n");
	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	sigaction(sig, &dfl, NULL);
	raise(sig);
}

static int reraise(int sig, long n)
{
	reraise_sig = sig;
	signal(sig, reraise_handler);
	for (long i = 0; i < n; i++)
		line(1, "line", i);
	raise(sig);
	say(1, "after the handler returned\n");
	return 0;
}

/* ---- threads ------------------------------------------------------------------------- */

static long *counts;

static void *writer(void *arg)
{
	long t = (long)arg;
	char b[64];

	for (long i = 0;; i++) {
		int n = snprintf(b, sizeof b, "thread %ld record %ld end\n", t, i);

		if (write(1, b, (size_t)n) != n)
			abort();
		__atomic_store_n(&counts[t], i + 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

static int threads(const char *file, int sig)
{
	int fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0644);
	pthread_t th[3];

	if (fd < 0 || ftruncate(fd, 4096) < 0)
		return 2;
	counts = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (counts == MAP_FAILED)
		return 2;
	for (long t = 0; t < 3; t++)
		pthread_create(&th[t], NULL, writer, (void *)t);
	/* asleep, not spinning: the writers get the CPUs */
	while (__atomic_load_n(&counts[2], __ATOMIC_ACQUIRE) < 20000)
		quiet_pause();
	if (sig == -1)
		exit(0);
	if (sig == -2)
		_exit(0);
	if (sig > 0)
		raise(sig);
	return 0;
}

/* ---- handler flags -------------------------------------------------------------------- */

static volatile sig_atomic_t info_code;
static volatile sig_atomic_t resethand_runs;
static volatile sig_atomic_t nodefer_depth, nodefer_max;

static void info_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	info_code = si && uc ? si->si_code : -999;
}

static void once_handler(int sig)
{
	(void)sig;
	resethand_runs++;
}

static void nodefer_handler(int sig)
{
	if (++nodefer_depth > nodefer_max)
		nodefer_max = nodefer_depth;
	if (nodefer_depth < 3)
		raise(sig);
	nodefer_depth--;
}

static void masked_handler(int sig)
{
	sigset_t now;

	(void)sig;
	sigprocmask(SIG_BLOCK, NULL, &now);
	printf("in the masked handler, SIGUSR2 is %s\n",
	       sigismember(&now, SIGUSR2) ? "blocked" : "not blocked");
}

static int handlers(void)
{
	struct sigaction a, q;
	pid_t pid;

	say(1, "handlers\n");
	memset(&a, 0, sizeof a);
	a.sa_sigaction = info_handler;
	a.sa_flags = SA_SIGINFO;
	sigaction(SIGUSR1, &a, NULL);
	sigqueue(getpid(), SIGUSR1, (union sigval){ .sival_int = 7 });
	printf("SA_SIGINFO: si_code %d (SI_QUEUE is %d)\n", info_code, SI_QUEUE);

	memset(&a, 0, sizeof a);
	a.sa_handler = once_handler;
	a.sa_flags = SA_RESETHAND;
	sigaction(SIGWINCH, &a, NULL);
	raise(SIGWINCH);
	sigaction(SIGWINCH, NULL, &q);
	printf("SA_RESETHAND: ran %d, now %s, flags %#x\n", resethand_runs,
	       q.sa_handler == SIG_DFL ? "SIG_DFL" : "not SIG_DFL", (unsigned)q.sa_flags);
	raise(SIGWINCH);	/* default: ignored */
	printf("SA_RESETHAND: a second one ran it %d times\n", resethand_runs);
	/* in a vfork child, which has its own actions: the parent keeps it */
	sigaction(SIGWINCH, &a, NULL);
	pid = vfork();
	if (pid == 0) {
		raise(SIGWINCH);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	sigaction(SIGWINCH, NULL, &q);
	printf("SA_RESETHAND in a vfork child: the parent's action is %s\n",
	       q.sa_handler == once_handler ? "still the handler" : "not the handler");
	raise(SIGWINCH);
	printf("SA_RESETHAND: ran %d times in all\n", resethand_runs);

	memset(&a, 0, sizeof a);
	a.sa_handler = nodefer_handler;
	a.sa_flags = SA_NODEFER;
	sigaction(SIGUSR2, &a, NULL);
	raise(SIGUSR2);
	printf("SA_NODEFER: nested %d deep\n", nodefer_max);

	memset(&a, 0, sizeof a);
	a.sa_handler = masked_handler;
	sigemptyset(&a.sa_mask);
	sigaddset(&a.sa_mask, SIGUSR2);
	sigaction(SIGHUP, &a, NULL);
	raise(SIGHUP);

	signal(SIGTERM, SIG_IGN);
	raise(SIGTERM);
	printf("SIG_IGN: still here after SIGTERM\n");
	fflush(stdout);
	return 0;
}

/* ---- a handler during a delivery, after an abort, after an overflow ----------------- */

static struct timespec t0;

static double since(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9;
}

static void when_handler(int sig)
{
	char b[64];
	int n = snprintf(b, sizeof b, "handler at %.1f\n", since());

	(void)sig;
	(void)!write(2, b, (size_t)n);
}

static int boundary(const char *what)
{
	char *big = malloc(65536);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	signal(SIGALRM, when_handler);
	memset(big, 'x', 65536);
	(void)!write(1, big, 65536);
	alarm(1);
	say(1, "tail\n");
	if (strcmp(what, "sleep") == 0)
		sleep(2);
	else
		close(1);
	dprintf(2, "ended at %.1f\n", since());
	return 0;
}

static void alarm_line(int sig)
{
	(void)sig;
	say(1, "handler\n");
}

static void *idle_thread(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

static int fork_handler(int thread, const char *mark)
{
	struct itimerval t = { .it_value = { 0, 200000 } };
	struct sigaction sa = { .sa_handler = alarm_line, .sa_flags = SA_RESTART };
	char *big = malloc(65536);
	pthread_t th;
	pid_t pid;

	if (thread && pthread_create(&th, NULL, idle_thread, NULL) != 0)
		return 1;
	sigaction(SIGALRM, &sa, NULL);
	memset(big, 'x', 65536);
	(void)!write(1, big, 65536);
	setitimer(ITIMER_REAL, &t, NULL);
	if (mark)	/* the reader starts after this, and after the alarm */
		close(open(mark, O_WRONLY | O_CREAT, 0644));
	say(1, "tail\n");
	pid = fork();
	if (pid == 0) {
		say(1, "child\n");
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	say(1, "parent\n");
	return 0;
}

static void noop_handler(int sig)
{
	(void)sig;
}

static int sleep_signal(const char *call)
{
	size_t n = (size_t)2 << 20, off = 0;
	char *big = malloc(n);
	struct sigaction sa = { .sa_handler = noop_handler };
	struct rlimit lim;
	struct timespec three = { 3, 0 }, a, b;
	long r = -2;
	pid_t child = -1;
	sem_t sem;

	if (!big || getrlimit(RLIMIT_FSIZE, &lim) < 0)
		return 1;
	if (strcmp(call, "waitpid") == 0) {
		child = fork();
		if (child == 0) {
			sleep(4);
			_exit(0);
		}
	}
	memset(big, 'x', n);
	/* stdout a file that may hold 1 MiB: the delivery of the second
	 * raises SIGXFSZ, inside the wait's delivery, every time */
	sigaction(SIGXFSZ, &sa, NULL);
	lim.rlim_cur = (rlim_t)1 << 20;
	setrlimit(RLIMIT_FSIZE, &lim);
	while (off < n) {
		ssize_t w = write(1, big + off, n - off);

		if (w <= 0)
			break;
		off += (size_t)w;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	if (strcmp(call, "sleep") == 0)
		r = (long)sleep(3);
	else if (strcmp(call, "nanosleep") == 0)
		r = nanosleep(&three, NULL);
	else if (strcmp(call, "poll") == 0)
		r = poll(NULL, 0, 3000);
	else if (strcmp(call, "poll0") == 0) {	/* no wait: a pipe with a byte */
		int p[2];
		struct pollfd pfd = { .events = POLLIN };

		if (pipe(p) < 0 || write(p[1], "b", 1) != 1)
			return 1;
		pfd.fd = p[0];
		r = poll(&pfd, 1, 0);
	} else if (strcmp(call, "read") == 0)
		r = read(0, &three, 1);	/* stdin: a pipe with nothing for 3 s */
	else if (strcmp(call, "waitpid") == 0)
		r = waitpid(child, NULL, 0);	/* a child asleep for 4 s */
	else if (strcmp(call, "sem_wait") == 0 && sem_init(&sem, 0, 0) == 0)
		r = sem_wait(&sem);	/* nobody posts */
	clock_gettime(CLOCK_MONOTONIC, &b);
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	dprintf(2, "%s said %ld %s after %.1f s (%zu B written)\n", call, r,
		r == -1 ? strerrorname_np(errno) : "",
		(double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9, off);
	return 0;
}

static int stop_wait(const char *call)
{
	struct timespec five = { 5, 0 };
	long r = -2;

	say(1, "waiting\n");
	if (strcmp(call, "epoll_wait") == 0) {
		struct epoll_event ev;
		int ep = epoll_create1(0);

		r = epoll_wait(ep, &ev, 1, 5000);
	} else if (strcmp(call, "semtimedop") == 0) {
		int id = semget(IPC_PRIVATE, 1, 0600);
		struct sembuf op = { .sem_num = 0, .sem_op = -1 };

		r = semtimedop(id, &op, 1, &five);
		if (r < 0) {
			int err = errno;

			semctl(id, 0, IPC_RMID);
			errno = err;
		}
	} else if (strcmp(call, "sigtimedwait") == 0) {
		sigset_t set;

		sigemptyset(&set);
		sigaddset(&set, SIGUSR2);
		sigprocmask(SIG_BLOCK, &set, NULL);
		r = sigtimedwait(&set, NULL, &five);
	}
	printf("%s: %ld %s\n", call, r, r < 0 ? strerrorname_np(errno) : "");
	return 0;
}

static void abort_handler(int sig)
{
	(void)sig;
	say(2, "abort handler ran\n");
}

static int double_free(long n)
{
	char *volatile p = malloc(16);

	signal(SIGABRT, abort_handler);
	for (long i = 0; i < n; i++)
		line(1, "line", i);
	free(p);
	free(p);
	return 0;
}

static sigjmp_buf overflowed;

static void overflow_handler(int sig)
{
	(void)sig;
	say(1, "handler\n");
	siglongjmp(overflowed, 1);
}

/* A frame the compiler cannot fold into a loop: stack used at each level. */
static int recurse(int depth)
{
	volatile char frame[256];

	frame[depth % 256] = (char)depth;
	line(1, "depth", depth);
	if (depth >= 0)
		recurse(depth + 1);
	return frame[depth % 256];
}

static int overflow(int badptr)
{
	static char alt[65536];
	stack_t ss = { .ss_sp = alt, .ss_size = sizeof alt };
	struct sigaction a;

	sigaltstack(&ss, NULL);
	memset(&a, 0, sizeof a);
	a.sa_handler = overflow_handler;
	a.sa_flags = SA_ONSTACK;
	sigaction(SIGSEGV, &a, NULL);
	if (!sigsetjmp(overflowed, 1)) {
		if (badptr) {
			for (int i = 0; i < 1000; i++)
				line(1, "depth", i);
			static const char *volatile faulting = (const char *)16;

			(void)!write(1, faulting, 10);
			say(1, "handler\n");	/* the kernel said EFAULT */
		} else {
			recurse(0);
		}
	}
	for (int i = 0; i < 4; i++)
		line(1, "after", i);
	return 0;
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "";

	if (strcmp(what, "dump") == 0)
		return dump();
	if (strcmp(what, "die") == 0 && argc > 3)
		return die(atoi(argv[2]), atol(argv[3]), argc > 4 ? argv[4] : "self");
	if (strcmp(what, "compute") == 0 && argc > 3)
		return compute(atol(argv[2]), atof(argv[3]));
	if (strcmp(what, "race") == 0 && argc > 2)
		return race(atol(argv[2]));
	if (strcmp(what, "short") == 0 && argc > 2)
		return interrupted_write(atol(argv[2]), 0, argc > 3 ? argv[3] : NULL);
	if (strcmp(what, "restart") == 0 && argc > 2)
		return interrupted_write(atol(argv[2]), 1, argc > 3 ? argv[3] : NULL);
	if (strcmp(what, "reraise") == 0 && argc > 3)
		return reraise(atoi(argv[2]), atol(argv[3]));
	if (strcmp(what, "threads") == 0 && argc > 3)
		return threads(argv[2], strcmp(argv[3], "exit") == 0 ? -1 :
					strcmp(argv[3], "_exit") == 0 ? -2 :
					strcmp(argv[3], "return") == 0 ? -3 : atoi(argv[3]));
	if (strcmp(what, "handlers") == 0)
		return handlers();
	if (strcmp(what, "boundary") == 0 && argc > 2)
		return boundary(argv[2]);
	if (strcmp(what, "sleepsig") == 0 && argc > 2)
		return sleep_signal(argv[2]);
	if (strcmp(what, "stopwait") == 0 && argc > 2)
		return stop_wait(argv[2]);
	if (strcmp(what, "forkhandler") == 0)
		return fork_handler(argc > 2 && strcmp(argv[2], "thread") == 0,
				    argc > 3 ? argv[3] : NULL);
	if (strcmp(what, "double_free") == 0 && argc > 2)
		return double_free(atol(argv[2]));
	if (strcmp(what, "overflow") == 0)
		return overflow(0);
	if (strcmp(what, "badptr") == 0)
		return overflow(1);
	fprintf(stderr, "usage: see the comment at the top of signals.c\n");
	return 2;
}
