/* SPDX-License-Identifier: MIT */
/*
 * own_file DIR — a program that looks at a file it is writing other ways
 * than through the fd it writes: another fd reads it, stat and mmap look at
 * it, truncate, O_TRUNC and fopen "w" cut it, copy_file_range copies it,
 * two O_APPEND fds take turns. Each case prints what the program saw on
 * stdout (the same with the library or without it) and, on stderr,
 * "CASE held N": the bytes another process would have missed just before
 * the look (raw syscalls, which no library sees). Under bufshim with
 * BUFSHIM_FDS=all, N > 0 shows the look had bytes to wait for. Run it
 * without CAP_FSETID for the mode case to tell.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

static char path[4096], other[4096];

static void must(int ok, const char *what)
{
	if (!ok) {
		perror(what);
		exit(2);
	}
}

/* bytes of path that the kernel has, as another process sees them */
static long raw_size(void)
{
	struct stat st;

	return syscall(SYS_newfstatat, AT_FDCWD, path, &st, 0) == 0 ? (long)st.st_size : -1;
}

static void held(const char *c, long expected)
{
	fprintf(stderr, "%s held %ld\n", c, expected - raw_size());
}

/* a fresh path with contents, written by fd w (returned) */
static int start(const char *contents, int flags)
{
	int w;

	unlink(path);
	w = open(path, O_WRONLY | O_CREAT | flags, 0644);
	must(w >= 0, "open");
	must(write(w, contents, strlen(contents)) == (ssize_t)strlen(contents), "write");
	return w;
}

static void show(const char *c, const char *what, const char *buf, long n)
{
	printf("%s: %s %ld [%.*s]\n", c, what, n, n > 0 ? (int)n : 0, buf);
}

/* the whole file as the program reads it now (a hole's bytes as '0') */
static void show_file(const char *c)
{
	char buf[64];
	int r = open(path, O_RDONLY);
	ssize_t n;

	must(r >= 0, "open");
	n = read(r, buf, sizeof buf);
	for (ssize_t i = 0; i < n; i++)
		buf[i] = buf[i] ? buf[i] : '0';
	show(c, "file", buf, n);
	close(r);
}

static void read_back(void)
{
	char buf[64];
	int w = start("written\n", O_TRUNC), r;
	ssize_t n;

	held("read", 8);
	r = open(path, O_RDONLY);
	n = pread(r, buf, sizeof buf, 2);
	show("read", "pread", buf, n);
	must(write(w, "more\n", 5) == 5, "write");
	n = read(r, buf, sizeof buf);
	show("read", "read", buf, n);
	close(r);
	close(w);
}

/* The reader came first, before any byte was held for its file. */
static void reader_first(void)
{
	char buf[64];
	int r, w;
	ssize_t n;

	unlink(path);
	close(open(path, O_WRONLY | O_CREAT, 0644));
	r = open(path, O_RDONLY);
	printf("first: something held elsewhere\n");
	n = read(r, buf, sizeof buf);
	show("first", "read", buf, n);
	w = open(path, O_WRONLY);
	must(write(w, "later\n", 6) == 6, "write");
	held("first", 6);
	n = read(r, buf, sizeof buf);
	show("first", "read", buf, n);
	close(r);
	close(w);
}

/* Where the file ends, asked through another fd and another stream. */
static void ends(void)
{
	int w = start("0123456789\n", O_TRUNC), r = open(path, O_RDONLY);
	FILE *fp = fopen(path, "r");

	held("end", 11);
	printf("end: lseek %lld\n", (long long)lseek(r, 0, SEEK_END));
	must(write(w, "+3b", 3) == 3, "write");
	must(fp && fseek(fp, 0, SEEK_END) == 0, "fseek");
	printf("end: fseek %ld\n", ftell(fp));
	fclose(fp);
	close(r);
	close(w);
}

/* Another open of the file, with its own offset, writes over it, at an
 * offset and through a stream, and cuts it. */
static void other_writer(void)
{
	int w = start("0123456789\n", O_TRUNC), o = open(path, O_WRONLY);
	FILE *fp;

	held("pwrite", 11);
	must(o >= 0 && pwrite(o, "AB", 2, 3) == 2, "pwrite");
	must(write(w, "tail\n", 5) == 5, "write");
	must(ftruncate(o, 14) == 0, "ftruncate");
	close(o);
	close(w);
	show_file("pwrite");

	w = start("0123456789\n", O_TRUNC);
	o = open(path, O_WRONLY);
	held("other", 11);
	must(write(o, "xy", 2) == 2, "write");	/* over "01" */
	must(write(w, "more\n", 5) == 5, "write");
	fp = fopen(path, "r+");
	must(fp != NULL && fseek(fp, 11, SEEK_SET) == 0, "fopen");
	fputs("M", fp);				/* over "m" */
	fclose(fp);
	close(o);
	close(w);
	show_file("other");
}

static void read_write_fd(void)
{
	char buf[64];
	int w = start("0123456789", O_TRUNC), rw;
	ssize_t n;

	close(w);
	rw = open(path, O_RDWR);
	must(write(rw, "abc", 3) == 3, "write");
	{
		char raw[3] = "";
		int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY);

		syscall(SYS_pread64, fd, raw, 3, 0);
		syscall(SYS_close, fd);
		fprintf(stderr, "rdwr held %d\n", memcmp(raw, "abc", 3) ? 3 : 0);
	}
	n = read(rw, buf, 4);		/* after the 3 bytes written: "3456" */
	show("rdwr", "read", buf, n);
	close(rw);
}

static void stats(void)
{
	struct stat st;
	struct statx sx;
	int w = start("twelve bytes", O_TRUNC);

	held("stat", 12);
	must(fstat(w, &st) == 0, "fstat");
	printf("stat: fstat %lld\n", (long long)st.st_size);
	must(write(w, "+3b", 3) == 3, "write");
	must(stat(path, &st) == 0, "stat");
	printf("stat: stat %lld\n", (long long)st.st_size);
	must(write(w, "+3b", 3) == 3, "write");
	must(lstat(path, &st) == 0, "lstat");
	printf("stat: lstat %lld\n", (long long)st.st_size);
	must(write(w, "+3b", 3) == 3, "write");
	must(fstatat(AT_FDCWD, path, &st, 0) == 0, "fstatat");
	printf("stat: fstatat %lld\n", (long long)st.st_size);
	must(write(w, "+3b", 3) == 3, "write");
	must(statx(AT_FDCWD, path, 0, STATX_SIZE, &sx) == 0, "statx");
	printf("stat: statx %llu\n", (unsigned long long)sx.stx_size);
	close(w);
}

static void mapped(void)
{
	int w = start("mapped text\n", O_TRUNC), r = open(path, O_RDONLY);
	char *m;

	held("mmap", 12);
	m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, r, 0);
	must(m != MAP_FAILED, "mmap");
	show("mmap", "sees", m, 12);	/* without the bytes: SIGBUS */
	munmap(m, 4096);
	close(r);
	close(w);
}

static void cut(void)
{
	int w = start("before the cut\n", O_TRUNC), r;
	FILE *fp;

	held("truncate", 15);
	must(truncate(path, 6) == 0, "truncate");
	must(write(w, "|", 1) == 1, "write");	/* at offset 15: a hole after 6 */
	close(w);
	show_file("truncate");

	/* a truncating open of a file that does not exist yet, while bytes
	 * are held: it succeeds, and errno is as the program left it */
	w = start("held\n", O_TRUNC);
	errno = EXDEV;
	r = open(other, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	printf("otrunc: new file, errno %s\n", errno == EXDEV ? "kept" : strerror(errno));
	close(r);
	unlink(other);
	close(w);

	w = start("old contents\n", O_TRUNC);
	held("otrunc", 13);
	r = open(path, O_WRONLY | O_TRUNC);
	must(write(r, "new\n", 4) == 4, "write");
	close(r);
	close(w);
	show_file("otrunc");

	w = start("old contents\n", O_TRUNC);
	held("fopen", 13);
	fp = fopen(path, "w");
	must(fp != NULL, "fopen");
	fputs("fresh\n", fp);
	fclose(fp);
	close(w);
	show_file("fopen");
}

/* Times set on a file while bytes are held for it must outlast them. */
static void set_times(void)
{
	struct timespec ts[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
	struct timeval tv[2] = { { 1100000000, 0 }, { 1100000000, 0 } };
	struct stat st;
	int w = start("timed\n", O_TRUNC);

	held("times", 6);
	must(futimens(w, ts) == 0, "futimens");
	close(w);
	must(stat(path, &st) == 0, "stat");
	printf("times: futimens %lld\n", (long long)st.st_mtime);
	w = start("timed\n", O_TRUNC);
	must(utimes(path, tv) == 0, "utimes");
	close(w);
	must(stat(path, &st) == 0, "stat");
	printf("times: utimes %lld\n", (long long)st.st_mtime);
}

/* A mode set while bytes are held: a write by a process without
 * CAP_FSETID clears set-user-ID and set-group-ID bits. */
static void modes(void)
{
	struct stat st;
	int w = start("#!/bin/sh\n", O_TRUNC);

	held("mode", 10);
	must(fchmod(w, 04755) == 0, "fchmod");
	close(w);
	must(stat(path, &st) == 0, "stat");
	printf("mode: fchmod %o\n", (unsigned)(st.st_mode & 07777));
	w = start("#!/bin/sh\n", O_TRUNC);
	must(chmod(path, 02755) == 0, "chmod");
	close(w);
	must(stat(path, &st) == 0, "stat");
	printf("mode: chmod %o\n", (unsigned)(st.st_mode & 07777));
}

/* the C library's old stat ABI, still exported: programs built before
 * glibc 2.33 call these (version 1 is x86-64's struct stat, 0 the generic
 * one of aarch64) */
int __xstat(int ver, const char *p, struct stat *st);
int __fxstat(int ver, int fd, struct stat *st);
#ifdef __x86_64__
#define STAT_VER 1
#else
#define STAT_VER 0
#endif

/* The other names of the same calls: the 64 variants, the old ABI. */
static void variants(void)
{
	struct stat64 st64;
	struct stat st;
	char buf[64];
	int w = start("v64 bytes\n", O_TRUNC), r = open(path, O_RDONLY);
	ssize_t n;

	held("v64", 10);
	must(fstat64(r, &st64) == 0, "fstat64");
	printf("v64: fstat64 %lld\n", (long long)st64.st_size);
	must(write(w, "+", 1) == 1, "write");
	must(stat64(path, &st64) == 0, "stat64");
	printf("v64: stat64 %lld\n", (long long)st64.st_size);
	must(write(w, "+", 1) == 1, "write");
	printf("v64: lseek64 %lld\n", (long long)lseek64(r, 0, SEEK_END));
	must(write(w, "+", 1) == 1, "write");
	n = pread64(r, buf, sizeof buf, 0);
	show("v64", "pread64", buf, n);
	must(write(w, "+", 1) == 1, "write");
	must(__fxstat(STAT_VER, r, &st) == 0, "__fxstat");
	printf("v64: __fxstat %lld\n", (long long)st.st_size);
	must(write(w, "+", 1) == 1, "write");
	must(__xstat(STAT_VER, path, &st) == 0, "__xstat");
	printf("v64: __xstat %lld\n", (long long)st.st_size);
	must(write(w, "+", 1) == 1, "write");
	must(truncate64(path, 3) == 0, "truncate64");
	close(r);
	close(w);
	show_file("v64");
}

/* The way libuv (Node) asks statx and closes: through syscall(). */
static void raw_calls(void)
{
	struct statx sx;
	int w = start("raw calls\n", O_TRUNC);

	held("raw", 10);
	must(syscall(SYS_statx, AT_FDCWD, path, 0, STATX_SIZE, &sx) == 0, "statx");
	printf("raw: statx %llu\n", (unsigned long long)sx.stx_size);
	must(write(w, "closed raw\n", 11) == 11, "write");
	must(syscall(SYS_close, w) == 0, "close");
	show_file("raw");
}

static void copied(void)
{
	char buf[64];
	int w = start("to be copied\n", O_TRUNC), r = open(path, O_RDONLY);
	int o = open(other, O_RDWR | O_CREAT | O_TRUNC, 0644);
	ssize_t n;

	held("copy", 13);
	n = copy_file_range(r, NULL, o, NULL, 64, 0);
	printf("copy: copied %zd\n", n);
	n = pread(o, buf, sizeof buf, 0);
	show("copy", "copy", buf, n);
	close(o);
	close(r);
	close(w);
}

static void streams(void)
{
	char buf[64] = "";
	int w = start("line one\nline two\n", O_TRUNC);
	FILE *fp = fopen(path, "r");

	held("stdio", 18);
	must(fp != NULL, "fopen");
	if (!fgets(buf, sizeof buf, fp))
		strcpy(buf, "(none)");
	show("stdio", "fgets", buf, (long)strlen(buf));
	fclose(fp);
	close(w);
}

static void appenders(void)
{
	int a = start("A1 ", O_TRUNC | O_APPEND), b = open(path, O_WRONLY | O_APPEND);

	must(b >= 0, "open");
	held("append", 3);
	must(write(b, "B1 ", 3) == 3, "write");
	must(write(a, "A2 ", 3) == 3, "write");
	must(write(b, "B2 ", 3) == 3, "write");
	close(a);
	close(b);
	show_file("append");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs("usage: own_file DIR\n", stderr);
		return 2;
	}
	snprintf(path, sizeof path, "%s/own", argv[1]);
	snprintf(other, sizeof other, "%s/other", argv[1]);
	read_back();
	reader_first();
	ends();
	other_writer();
	read_write_fd();
	stats();
	mapped();
	cut();
	set_times();
	modes();
	variants();
	raw_calls();
	copied();
	streams();
	appenders();
	return 0;
}
