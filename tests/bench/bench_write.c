/* SPDX-License-Identifier: MIT */
/*
 * bench_write — the benchmark program that make bench runs.
 *
 *   bench_write write  SIZE COUNT THREADS   COUNT write(2)s of SIZE bytes
 *   bench_write fwrite SIZE COUNT THREADS [BUF]
 *                                           COUNT fwrite()s to stdout, with a
 *                                           stdio buffer of BUF bytes if given
 *   bench_write spawn N [-i IN] [-o OUT] [NAME=VALUE]... [PROGRAM [ARG]...]
 *                                           posix_spawn PROGRAM (/bin/true)
 *                                           N times, one at a time, its stdin
 *                                           on IN, its stdout on OUT (both
 *                                           /dev/null unless given); the
 *                                           NAME=VALUE pairs go into the
 *                                           children's environment only (this
 *                                           process loads nothing)
 *   bench_write open N [held]               open a regular file N times (and
 *                                           close it, untimed); with held, a
 *                                           byte written to stdout first (so
 *                                           that the library holds one)
 *   bench_write pty [NAME=VALUE]... PROGRAM [ARG]...
 *                                           run PROGRAM with stdin, stdout and
 *                                           stderr on a new pseudo-terminal,
 *                                           reading everything it prints
 *   bench_write mem N                       open N files, write a byte to each
 *   bench_write handoff self|thread BLOCK TOTAL
 *                                           TOTAL bytes in 100-byte records,
 *                                           formatted into BLOCK-byte blocks
 *                                           written to stdout, by this thread
 *                                           (self) or by a second one while
 *                                           this one fills the other block
 *                                           (thread): what asynchronous
 *                                           delivery does, without the library
 *
 * THREADS is the number of writers, or W+I: W writers in a process that
 * also has I idle threads (blocked in a wait the whole time), so that the
 * C library and bufshim both take their locks.
 *
 * write/fwrite print "ns WRITES SYSCALLS" on stderr: the time from the first
 * write to the delivery of the last byte, the writes made, and the write
 * syscalls the process made (from /proc/self/io). Each record ends in '\n'.
 * With BENCH_CPU=1 in the environment a fourth field follows: the CPU time
 * (user and system, all threads) of the same span in ns, which a loaded
 * machine inflates less than the wall time.
 * spawn prints, per spawn, the wall-clock ns, the children's CPU ns (user
 * and system) and their minor page faults; open the ns per open (on
 * stderr); pty the wall-clock ns from the start to the program's end and
 * the bytes it printed; mem the resident bytes per file; handoff the ns
 * from the first record to the last block written.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
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

/* environ with the leading NAME=VALUE arguments added (they win over a
 * variable of the same name); *argi moves past them */
static char **child_env(int argc, char **argv, int *argi)
{
	int first = *argi, n = 0, k = 0;
	char **env;

	while (*argi < argc && strchr(argv[*argi], '=') && argv[*argi][0] != '=' &&
	       argv[*argi][0] != '/')
		(*argi)++;
	while (environ[n])
		n++;
	env = calloc((size_t)(n + *argi - first + 1), sizeof *env);
	for (int i = first; i < *argi; i++)
		env[k++] = argv[i];
	for (int i = 0; i < n; i++) {
		int dup = 0;
		size_t len = strcspn(environ[i], "=") + 1;

		for (int j = first; j < *argi; j++)
			dup |= !strncmp(environ[i], argv[j], len);
		if (!dup)
			env[k++] = environ[i];
	}
	return env;
}

static uint64_t tv_ns(struct timeval tv)
{
	return (uint64_t)tv.tv_sec * 1000000000u + (uint64_t)tv.tv_usec * 1000u;
}

/* the CPU time (user and system) and the minor page faults of the
 * children waited for so far */
static uint64_t children_cpu_ns(long *minflt)
{
	struct rusage ru;

	getrusage(RUSAGE_CHILDREN, &ru);
	*minflt = ru.ru_minflt;
	return tv_ns(ru.ru_utime) + tv_ns(ru.ru_stime);
}

static int spawn(int argc, char **argv)
{
	static char *dflt[] = { "true", NULL };
	long n = atol(argv[2]);
	int argi = 3;
	const char *in = "/dev/null", *out = "/dev/null";
	char **env, **cargv;
	const char *prog;
	posix_spawn_file_actions_t fa;
	uint64_t t0, c0, c1;
	long f0, f1;

	for (; argi + 1 < argc && argv[argi][0] == '-'; argi += 2) {
		if (!strcmp(argv[argi], "-i"))
			in = argv[argi + 1];
		else if (!strcmp(argv[argi], "-o"))
			out = argv[argi + 1];
		else
			return 2;
	}
	env = child_env(argc, argv, &argi);
	cargv = argi < argc ? argv + argi : dflt;
	prog = argi < argc ? argv[argi] : "/bin/true";
	if (n < 1)
		return 2;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, in, O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	c0 = children_cpu_ns(&f0);
	t0 = now_ns();
	for (long i = 0; i < n; i++) {
		pid_t pid;
		int st;

		if (posix_spawnp(&pid, prog, &fa, NULL, cargv, env) != 0 ||
		    waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			return 1;
	}
	t0 = now_ns() - t0;
	c1 = children_cpu_ns(&f1);
	printf("%llu %llu %.1f\n", (unsigned long long)(t0 / (uint64_t)n),
	       (unsigned long long)((c1 - c0) / (uint64_t)n), (double)(f1 - f0) / (double)n);
	return 0;
}

/* Only the opens are timed, in batches: the close hook is another cost. */
static int open_bench(long n, int held)
{
	char path[] = "/tmp/bench_openXXXXXX";
	int fds[64], tmp = mkstemp(path);
	uint64_t total = 0;

	if (tmp < 0)
		return 1;
	close(tmp);
	if (held && write(1, "x", 1) != 1)
		return 1;
	for (long done = 0; done < n;) {
		int batch = n - done < 64 ? (int)(n - done) : 64;
		uint64_t t0 = now_ns();

		for (int i = 0; i < batch; i++)
			fds[i] = open(path, O_RDONLY);
		total += now_ns() - t0;
		for (int i = 0; i < batch; i++) {
			if (fds[i] < 0)
				return 1;
			close(fds[i]);
		}
		done += batch;
	}
	unlink(path);
	fprintf(stderr, "%.1f\n", (double)total / (double)n);
	return 0;
}

static int pty(int argc, char **argv)
{
	int argi = 2;
	char **env = child_env(argc, argv, &argi);
	int master = posix_openpt(O_RDWR | O_NOCTTY);
	char buf[65536], *name;
	long long bytes = 0;
	uint64_t t0;
	pid_t pid;
	int st;

	if (argi >= argc || master < 0 || grantpt(master) || unlockpt(master) ||
	    !(name = ptsname(master)))
		return 2;
	t0 = now_ns();
	pid = fork();
	if (pid == 0) {
		int s;

		setsid();
		s = open(name, O_RDWR);
		if (s < 0)
			_exit(127);
		close(master);
		dup2(s, 0);
		dup2(s, 1);
		dup2(s, 2);
		if (s > 2)
			close(s);
		execvpe(argv[argi], argv + argi, env);
		_exit(127);
	}
	/* read until every slave fd is closed: EIO then */
	for (;;) {
		ssize_t r = read(master, buf, sizeof buf);

		if (r > 0)
			bytes += r;
		else if (r < 0 && errno == EINTR)
			continue;
		else
			break;
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return 1;
	printf("%llu %lld\n", (unsigned long long)(now_ns() - t0), bytes);
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

/* ---- handoff: a second thread writes each full block ------------------------------ */

static struct {
	char *block[2];
	size_t len[2];
	int posted, written;	/* blocks handed over / written, in order */
} ho;

static void *handoff_writer(void *arg)
{
	(void)arg;
	for (int n = 0;; n++) {
		int p;

		while ((p = __atomic_load_n(&ho.posted, __ATOMIC_ACQUIRE)) == n)
			sched_yield();
		if (p < 0)
			return NULL;
		if (write(1, ho.block[n & 1], ho.len[n & 1]) != (ssize_t)ho.len[n & 1])
			exit(1);
		__atomic_store_n(&ho.written, n + 1, __ATOMIC_RELEASE);
	}
}

static int handoff(int threaded, size_t block, long total)
{
	pthread_t t;
	size_t len = 0;
	int cur = 0, n = 0;
	uint64_t start;

	ho.block[0] = malloc(block);
	ho.block[1] = malloc(block);
	if (!ho.block[0] || !ho.block[1] || block < 100)
		return 2;
	if (threaded)
		pthread_create(&t, NULL, handoff_writer, NULL);
	start = now_ns();
	for (long done = 0, i = 0; done < total; done += 100, i++) {
		char *rec;
		int k;

		if (len + 100 > block) {
			if (threaded) {
				while (__atomic_load_n(&ho.written, __ATOMIC_ACQUIRE) < n)
					sched_yield();	/* at most one block in flight */
				ho.len[cur] = len;
				__atomic_store_n(&ho.posted, ++n, __ATOMIC_RELEASE);
				cur ^= 1;
			} else if (write(1, ho.block[cur], len) != (ssize_t)len) {
				return 1;
			}
			len = 0;
		}
		rec = ho.block[cur] + len;
		k = snprintf(rec, 100, "%ld ", i);
		memset(rec + k, 'x', (size_t)(99 - k));
		rec[99] = '\n';
		len += 100;
	}
	if (threaded) {
		while (__atomic_load_n(&ho.written, __ATOMIC_ACQUIRE) < n)
			sched_yield();
		__atomic_store_n(&ho.posted, -1, __ATOMIC_RELEASE);
		pthread_join(t, NULL);
	}
	if (len && write(1, ho.block[cur], len) != (ssize_t)len)
		return 1;
	fprintf(stderr, "%llu\n", (unsigned long long)(now_ns() - start));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 5 && (!strcmp(argv[1], "write") || !strcmp(argv[1], "fwrite")))
		return bench(argc, argv);
	if (argc >= 3 && !strcmp(argv[1], "spawn"))
		return spawn(argc, argv);
	if (argc >= 3 && !strcmp(argv[1], "open"))
		return open_bench(atol(argv[2]), argc > 3 && !strcmp(argv[3], "held"));
	if (argc >= 3 && !strcmp(argv[1], "pty"))
		return pty(argc, argv);
	if (argc >= 3 && !strcmp(argv[1], "mem"))
		return mem(atol(argv[2]));
	if (argc >= 5 && !strcmp(argv[1], "handoff"))
		return handoff(!strcmp(argv[2], "thread"), (size_t)atol(argv[3]), atol(argv[4]));
	fputs("usage: see the comment at the top of bench_write.c\n", stderr);
	return 2;
}
