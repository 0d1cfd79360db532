/*
 * bench_write — the benchmark program that make bench runs.
 *
 *   bench_write write  SIZE COUNT THREADS   COUNT write(2)s of SIZE bytes
 *   bench_write fwrite SIZE COUNT THREADS [BUF]
 *                                           COUNT fwrite()s to stdout, with a
 *                                           stdio buffer of BUF bytes if given
 *
 * THREADS is the number of writers, or W+I: W writers in a process that
 * also has I idle threads (blocked in a wait the whole time), so that the
 * C library and bufshim both take their locks.
 *   bench_write spawn N                     posix_spawn /bin/true N times
 *   bench_write mem N                       open N files, write a byte to each
 *
 * write/fwrite print "ns WRITES SYSCALLS" on stderr: the time from the first
 * write to the delivery of the last byte, the writes made, and the write
 * syscalls the process made (from /proc/self/io). Each record ends in '\n'.
 * With BENCH_CPU=1 in the environment a fourth field follows: the CPU time
 * (user and system, all threads) of the same span in ns, which a loaded
 * machine inflates less than the wall time.
 * spawn prints the ns per spawn; mem prints the resident bytes per file.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static size_t size;
static long per_thread;
static int use_stdio;
static char *record;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static long syscw(void)
{
	char buf[512];
	int fd = open("/proc/self/io", O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
	char *p;

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strstr(buf, "syscw:");
	return p ? atol(p + 6) : -1;
}

static void *idle(void *arg)
{
	pthread_mutex_t *m = arg;

	pthread_mutex_lock(m);	/* held by main: blocks until the process ends */
	return NULL;
}

static void *run(void *arg)
{
	(void)arg;
	for (long i = 0; i < per_thread; i++) {
		if (use_stdio) {
			if (fwrite(record, 1, size, stdout) != size)
				exit(1);
		} else if (write(1, record, size) != (ssize_t)size) {
			exit(1);
		}
	}
	return NULL;
}

static int bench(int argc, char **argv)
{
	static pthread_mutex_t hold = PTHREAD_MUTEX_INITIALIZER;
	int threads = atoi(argv[4]), idlers = strchr(argv[4], '+') ? atoi(strchr(argv[4], '+') + 1) : 0;
	long count = atol(argv[3]), before, after;
	pthread_t th[16];
	uint64_t t0, t1, c0, c1;

	size = (size_t)atol(argv[2]);
	use_stdio = !strcmp(argv[1], "fwrite");
	if (threads < 1 || threads > 16 || idlers < 0 || idlers > 16 || size < 1)
		return 2;
	pthread_mutex_lock(&hold);
	for (int t = 0; t < idlers; t++)
		pthread_create(&th[t], NULL, idle, &hold);
	per_thread = count / threads;
	record = malloc(size);
	memset(record, 'x', size);
	record[size - 1] = '\n';
	if (use_stdio && argc > 5)
		setvbuf(stdout, malloc((size_t)atol(argv[5])), _IOFBF, (size_t)atol(argv[5]));
	before = syscw();
	c0 = cpu_ns();
	t0 = now_ns();
	if (threads == 1) {
		run(NULL);
	} else {
		for (int t = 0; t < threads; t++)
			pthread_create(&th[t], NULL, run, NULL);
		for (int t = 0; t < threads; t++)
			pthread_join(th[t], NULL);
	}
	/* the last byte delivered: a flush for stdio, a sync point for us */
	if (use_stdio)
		fflush(stdout);
	else
		lseek(1, 0, SEEK_CUR);
	t1 = now_ns();
	c1 = cpu_ns();
	after = syscw();
	if (getenv("BENCH_CPU"))
		fprintf(stderr, "%llu %ld %ld %llu\n", (unsigned long long)(t1 - t0),
			per_thread * threads, after - before, (unsigned long long)(c1 - c0));
	else
		fprintf(stderr, "%llu %ld %ld\n", (unsigned long long)(t1 - t0),
			per_thread * threads, after - before);
	return 0;
}

static int spawn(long n)
{
	char *argv[] = { "true", NULL };
	uint64_t t0 = now_ns();

	for (long i = 0; i < n; i++) {
		pid_t pid;

		if (posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ) != 0)
			return 1;
		waitpid(pid, NULL, 0);
	}
	printf("%llu\n", (unsigned long long)((now_ns() - t0) / (uint64_t)n));
	return 0;
}

/* Resident anonymous memory: file pages (the C library's code touched for
 * the first time) would be noise of up to 130 bytes per fd. */
static long rss(void)
{
	long pages = 0, resident = 0, shared = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%ld %ld %ld", &pages, &resident, &shared) != 3)
			resident = shared = 0;
		fclose(f);
	}
	return (resident - shared) * sysconf(_SC_PAGESIZE);
}

static int mem(long n)
{
	char path[] = "/tmp/bench_memXXXXXX";
	int *fds = calloc((size_t)n, sizeof *fds);
	long before;
	int dir;

	if (!mkdtemp(path))
		return 1;
	dir = open(path, O_RDONLY | O_DIRECTORY);
	for (long i = 0; i < n; i++) {
		char name[32];

		snprintf(name, sizeof name, "f%ld", i);
		fds[i] = openat(dir, name, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fds[i] < 0)
			return 1;
	}
	before = rss();
	for (long i = 0; i < n; i++)
		if (write(fds[i], "x", 1) != 1)
			return 1;
	printf("%ld\n", (rss() - before) / n);
	for (long i = 0; i < n; i++) {
		char name[32];

		close(fds[i]);
		snprintf(name, sizeof name, "f%ld", i);
		unlinkat(dir, name, 0);
	}
	rmdir(path);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 5 && (!strcmp(argv[1], "write") || !strcmp(argv[1], "fwrite")))
		return bench(argc, argv);
	if (argc >= 3 && !strcmp(argv[1], "spawn"))
		return spawn(atol(argv[2]));
	if (argc >= 3 && !strcmp(argv[1], "mem"))
		return mem(atol(argv[2]));
	fputs("usage: see the comment at the top of bench_write.c\n", stderr);
	return 2;
}
