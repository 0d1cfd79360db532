/* SPDX-License-Identifier: MIT */
/*
 * held BOUNDARY THREADS RECORDS — threads hold bytes, then a boundary.
 *
 * Fd 1 is a regular file. THREADS threads each write RECORDS records in
 * the format of `threads` ("t:i:" padding "\n", small enough to stay
 * buffered), say so, and wait (quiet_pause: no call the library sees,
 * computing to it) until released.
 * The main thread waits for them the same way, checks through raw
 * syscalls, which the library does not see, that the file is still empty
 * (else exit 3: nothing was held, the test proves nothing), and crosses
 * BOUNDARY:
 *   fsync fdatasync lseek close dup2 sleep poll condwait spawn  then the
 *       file must hold every record (raw fstat), else exit 1
 *   fork        from thread 0: the child finds every record there (exit 1
 *               if not), the parent waits for it
 *   exec        execs /bin/true; exit      exit(0); _exit  _exit(0);
 *   quick_exit  quick_exit(0)
 *   term        raise(SIGTERM); abort      abort(); segv       a real fault
 *   thread_end  the threads return instead of spinning; once the kernel
 *               says each is gone, the file must hold every record
 *   error       a sleep (run it under a fault injector that fails the
 *               first delivery), then a write of the main thread must
 *               report that failure: exit 0 if it does, 4 if it does not
 * Afterwards the threads are released and end, and the process exits 0:
 * `threads check THREADS RECORDS` then finds each record once, in order.
 * With HELD_MARK set, the main thread first writes it to fd 2 (a fault
 * injector counting each thread's writes then knows which one is which).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "quiet.h"

extern char **environ;

static int nthreads;
static long records;
static const char *boundary;
static int ready, released;
static pid_t tids[64];
static int raw_fd;		/* the file, through an fd the library never saw */
static long total;		/* bytes all threads write */

static long record(int t, long i, char *rec)
{
	int n = snprintf(rec, 160, "%d:%ld:", t, i);
	int pad = (int)(i % 97);

	memset(rec + n, 'a' + t, (size_t)pad);
	rec[n + pad] = '\n';
	return n + pad + 1;
}

static long raw_size(void)
{
	struct stat st;

	if (syscall(SYS_fstat, raw_fd, &st) != 0)
		return -1;
	return (long)st.st_size;
}

static int all_there(void)
{
	return raw_size() == total;
}

static void spin_until(int *flag, int value)
{
	while (__atomic_load_n(flag, __ATOMIC_ACQUIRE) < value)
		quiet_pause();
}

static void fork_here(void)
{
	pid_t pid = fork();
	int st;

	if (pid == 0)
		_exit(all_there() ? 0 : 1);
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		exit(1);
}

static void *run(void *arg)
{
	int t = (int)(intptr_t)arg;
	char rec[160];

	tids[t] = (pid_t)syscall(SYS_gettid);
	for (long i = 0; i < records; i++) {
		long n = record(t, i, rec);

		if (write(1, rec, (size_t)n) != n)
			exit(2);
	}
	__atomic_add_fetch(&ready, 1, __ATOMIC_RELEASE);
	if (!strcmp(boundary, "thread_end")) {
		spin_until(&released, 1);	/* the main thread has looked */
		return NULL;
	}
	if (t == 0 && !strcmp(boundary, "fork")) {
		spin_until(&ready, nthreads);
		if (raw_size() != 0)
			exit(3);
		fork_here();
		__atomic_store_n(&released, 1, __ATOMIC_RELEASE);
	}
	spin_until(&released, 1);
	return NULL;
}

/* The boundaries crossed by the main thread; 0 when done here. */
static int cross(void)
{
	static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
	struct timespec ts = { 0, 1000000 };

	if (!strcmp(boundary, "fsync"))
		fsync(1);
	else if (!strcmp(boundary, "fdatasync"))
		fdatasync(1);
	else if (!strcmp(boundary, "lseek"))
		lseek(1, 0, SEEK_CUR);
	else if (!strcmp(boundary, "close"))
		close(1);
	else if (!strcmp(boundary, "dup2"))
		dup2(2, 1);
	else if (!strcmp(boundary, "poll"))
		poll(NULL, 0, 1);
	else if (!strcmp(boundary, "spawn")) {
		char *argv[] = { "true", NULL };
		pid_t pid;

		if (posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ) != 0)
			return 2;
		waitpid(pid, NULL, 0);
	}
	else if (!strcmp(boundary, "sleep"))
		nanosleep(&ts, NULL);
	else if (!strcmp(boundary, "condwait")) {
		clock_gettime(CLOCK_REALTIME, &ts);
		pthread_mutex_lock(&m);
		pthread_cond_timedwait(&c, &m, &ts);
		pthread_mutex_unlock(&m);
	} else if (!strcmp(boundary, "exec")) {
		execl("/bin/true", "true", (char *)NULL);
		return 2;
	} else if (!strcmp(boundary, "exit")) {
		return -1;
	} else if (!strcmp(boundary, "_exit")) {
		_exit(0);
	} else if (!strcmp(boundary, "quick_exit")) {
		quick_exit(0);
	} else if (!strcmp(boundary, "term")) {
		raise(SIGTERM);
		return 2;
	} else if (!strcmp(boundary, "abort")) {
		abort();
	} else if (!strcmp(boundary, "segv")) {
		volatile int *volatile nowhere = NULL;

		*nowhere = 1;
		return 2;
	} else if (!strcmp(boundary, "error")) {
		nanosleep(&ts, NULL);
		if (write(1, "main\n", 5) != -1)
			return 4;
		return errno == ENOSPC ? -2 : 4;
	} else if (!strcmp(boundary, "thread_end")) {
		__atomic_store_n(&released, 1, __ATOMIC_RELEASE);
		for (int t = 0; t < nthreads; t++)
			while (syscall(SYS_tgkill, getpid(), tids[t], 0) == 0 || errno != ESRCH)
				;	/* until the kernel has let it go */
	} else {
		return 2;
	}
	return 0;
}

int main(int argc, char **argv)
{
	pthread_t th[64];
	char rec[160];
	int rc;

	if (argc < 4)
		return 2;
	boundary = argv[1];
	nthreads = atoi(argv[2]);
	records = atol(argv[3]);
	if (nthreads < 1 || nthreads > 64)
		return 2;
	for (int t = 0; t < nthreads; t++)
		for (long i = 0; i < records; i++)
			total += record(t, i, rec);
	raw_fd = (int)syscall(SYS_dup, 1);
	if (getenv("HELD_MARK"))
		syscall(SYS_write, 2, getenv("HELD_MARK"), strlen(getenv("HELD_MARK")));
	for (int t = 0; t < nthreads; t++)
		pthread_create(&th[t], NULL, run, (void *)(intptr_t)t);
	spin_until(&ready, nthreads);
	if (strcmp(boundary, "fork") != 0) {
		if (raw_size() != 0)
			return 3;
		rc = cross();
		if (rc == -1)
			exit(0);	/* with the threads still spinning */
		if (rc == -2)
			exit(0);	/* told; the records are not all there */
		if (rc)
			return rc;
		if (!all_there())
			return 1;
		__atomic_store_n(&released, 1, __ATOMIC_RELEASE);
	} else {
		spin_until(&released, 1);	/* a join would deliver first */
	}
	for (int t = 0; t < nthreads; t++)
		pthread_join(th[t], NULL);
	return 0;
}
