/* SPDX-License-Identifier: MIT */
/*
 * stdio_mix CASE — stdio and write(2) together on fds 1 and 2; the output
 * (and what the program reports on stderr) must be the same with and without
 * the library.
 *   mix       printf, puts, putchar, fputs, fwrite, fprintf(stderr), perror,
 *             explicit fflush and raw write(2) on fds 1 and 2, interleaved
 *   setvbuf   the same after setvbuf(_IONBF) on stdout, then (_IOLBF)
 *   ftell     ftell(stdout) on a regular file around buffered writes
 *   freopen   freopen(PATH, "w", stdout), then printf and write(1)
 *   fclose    fclose(stdout) reports a failed delivery (stdout /dev/full
 *             or a file over RLIMIT_FSIZE)
 *   wide      wprintf and fputws mixed with write(2)
 *   streams   an fopen'd stream, dprintf and write(2) on one file (and
 *             dprintf on fd 1): run with BUFSHIM_FDS=all
 *   coproc    printf + fflush, then fgets from a child over pipes
 *   prompt    printf("name? "), fgets(stdin), printf("hi ...")
 *   bigfail   three printfs larger than the stream's buffer, each one
 *             reported with errno (run with stdout /dev/full or read-only)
 *   closeuse  printf, fclose(stdout) (its result on stderr), then error(),
 *             which flushes stdout, as gnulib's close_stdout does
 */
#define _GNU_SOURCE
#include <errno.h>
#include <error.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <wchar.h>

#include "coproc.h"

static void raw(int fd, const char *s)
{
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		exit(3);
}

static void mix(int rounds)
{
	for (int i = 0; i < rounds; i++) {
		printf("printf %d ", i);
		raw(1, "[raw1]");
		puts("puts");
		fprintf(stderr, "stderr %d\n", i);
		raw(2, "[raw2]\n");
		if (i % 3 == 0)
			fflush(stdout);
		putchar('c');
		fputs("fputs\n", stdout);
		fwrite("fwrite\n", 1, 7, stdout);
		raw(1, "[raw1b]\n");
		if (i % 5 == 0) {
			errno = ENOENT;
			perror("perror");
		}
		if (i % 7 == 0)
			fflush(NULL);
	}
}

static int ftell_case(void)
{
	long a, b, c;

	fputs("hello", stdout);
	a = ftell(stdout);
	raw(1, "XY");
	fflush(stdout);
	b = ftell(stdout);
	printf("12345");
	c = ftell(stdout);
	fprintf(stderr, "ftell %ld %ld %ld fileno %d %d\n", a, b, c, fileno(stdout), fileno(stderr));
	return 0;
}

static int freopen_case(const char *path)
{
	printf("before freopen\n");
	raw(1, "raw before\n");
	if (!freopen(path, "w", stdout))
		return 2;
	printf("after freopen\n");
	raw(1, "raw after\n");
	printf("fileno %d\n", fileno(stdout));
	return 0;
}

static int fclose_case(void)
{
	struct rlimit rl = { 1000, 1000 };
	int rc, err;

	signal(SIGXFSZ, SIG_IGN);
	setrlimit(RLIMIT_FSIZE, &rl);
	for (int i = 0; i < 300; i++)
		printf("line %d of output\n", i);
	rc = (int)write(1, "raw\n", 4);
	fprintf(stderr, "write %d\n", rc);
	rc = fclose(stdout);
	err = errno;
	fprintf(stderr, "fclose %d %s\n", rc, rc ? strerrorname_np(err) : "ok");
	return 0;
}

static int wide_case(void)
{
	raw(1, "raw first\n");
	wprintf(L"wide %d\n", 1);
	raw(1, "raw second\n");
	fputws(L"fputws\n", stdout);
	raw(1, "raw third\n");
	return 0;
}

static int streams(const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return 2;
	for (int i = 0; i < 20; i++) {
		fprintf(f, "fprintf %d\n", i);
		raw(fileno(f), "write\n");
		if (i % 2)
			fflush(f);
		dprintf(fileno(f), "dprintf %d\n", i);
		fputs("fputs\n", f);
		if (i % 5 == 0)
			fprintf(f, "ftell %ld\n", ftell(f));
	}
	fseek(f, 0, SEEK_END);
	fprintf(f, "end %ld\n", ftell(f));
	fclose(f);
	raw(1, "a\n");
	dprintf(1, "b\n");
	raw(1, "c\n");
	return 0;
}

static int coproc(void)
{
	char line[64];
	int rsp;
	pid_t pid = start_cat(&rsp);

	if (pid < 0)
		return 2;
	dup2(rsp, 0);
	close(rsp);
	for (int i = 0; i < 50; i++) {
		printf("ping %d\n", i);
		fflush(stdout);
		if (!fgets(line, sizeof line, stdin))
			return 1;
	}
	fclose(stdout);
	waitpid(pid, NULL, 0);
	return 0;
}

static int prompt(void)
{
	char name[64];

	printf("name? ");
	if (!fgets(name, sizeof name, stdin))
		return 1;
	printf("hi %s", name);
	return 0;
}

/* Larger than the stream's buffer, so glibc writes it from the caller's
 * string, where a count it cannot take once crashed it. */
static int bigfail(void)
{
	static char big[20000];

	memset(big, 'x', sizeof big - 1);
	for (int i = 0; i < 3; i++) {
		int r;

		errno = 0;
		r = printf("%s", big);
		fprintf(stderr, "printf %d %s\n", r, r < 0 ? strerrorname_np(errno) : "ok");
	}
	return 0;
}

/* The stream is used after fclose: glibc never frees its own stdout. */
static int closeuse(void)
{
	char *keep[64];
	int rc;

	for (int i = 0; i < 20; i++)
		printf("line %d\n", i);
	rc = fclose(stdout);
	fprintf(stderr, "fclose %d %s\n", rc, rc ? strerrorname_np(errno) : "ok");
	for (int i = 0; i < 64; i++) {	/* freed memory, if it was, reused */
		keep[i] = malloc(280);
		if (keep[i])
			memset(keep[i], 'A', 280);
	}
	error(0, 0, "after close");
	for (int i = 0; i < 64; i++)
		free(keep[i]);
	return 3;
}

int main(int argc, char **argv)
{
	const char *c = argc > 1 ? argv[1] : "";

	if (!strcmp(c, "mix")) {
		mix(50);
		return 0;
	}
	if (!strcmp(c, "setvbuf")) {
		setvbuf(stdout, NULL, _IONBF, 0);
		mix(10);
		setvbuf(stdout, NULL, _IOLBF, 0);
		mix(10);
		return 0;
	}
	if (!strcmp(c, "ftell"))
		return ftell_case();
	if (!strcmp(c, "freopen") && argc > 2)
		return freopen_case(argv[2]);
	if (!strcmp(c, "fclose"))
		return fclose_case();
	if (!strcmp(c, "wide"))
		return wide_case();
	if (!strcmp(c, "streams") && argc > 2)
		return streams(argv[2]);
	if (!strcmp(c, "coproc"))
		return coproc();
	if (!strcmp(c, "prompt"))
		return prompt();
	if (!strcmp(c, "bigfail"))
		return bigfail();
	if (!strcmp(c, "closeuse"))
		return closeuse();
	fputs("usage: stdio_mix mix|setvbuf|ftell|freopen PATH|fclose|wide|streams PATH|coproc|prompt|"
	      "bigfail|closeuse\n", stderr);
	return 2;
}
