/* SPDX-License-Identifier: MIT */
/*
 * records — checks what the signals program wrote, run without the
 * library: one process where the shell would need a dozen (od, tail,
 * head, awk), for tests that check hundreds of runs.
 *
 *   records race FILE...         each FILE (signals race): "line N" for N
 *                                from 0 in order, then "handler after K
 *                                writes" with at least K lines before it,
 *                                and nothing after it
 *   records threads OUT COUNTS   OUT (signals threads): whole "thread T
 *                                record I end" records, each thread's I
 *                                from 0 in order, at least as many as
 *                                COUNTS says returned; a last record cut
 *                                short only where OUT ends at a page
 *                                boundary (a process that died delivering)
 *                                and only one that was due
 *
 * Exit status 0 when that holds; else one line on stdout for each file
 * that is wrong, saying what, and the number of such files (race) or 1
 * (threads); 2 when a file cannot be read (threads).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* the whole file, NUL-terminated; *size its length */
static char *slurp(const char *path, size_t *size)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	char *b;
	size_t got = 0;

	if (fd < 0 || fstat(fd, &st) < 0) {
		printf("%s: cannot read\n", path);
		exit(2);
	}
	b = malloc((size_t)st.st_size + 1);
	if (!b)
		exit(2);
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, b + got, (size_t)st.st_size - got);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	b[got] = '\0';
	*size = got;
	return b;
}

/* the next line of [*p, end) without its newline; NULL at the end. A NUL
 * in it (a hole in the file) becomes '@': no line has that shape. */
static char *next_line(char **p, char *end, int *whole)
{
	char *line = *p, *nl, *z;

	if (line >= end)
		return NULL;
	nl = memchr(line, '\n', (size_t)(end - line));
	*whole = nl != NULL;
	*p = nl ? nl + 1 : end;
	if (nl)
		*nl = '\0';
	while ((z = memchr(line, '\0', (size_t)((nl ? nl : end) - line))))
		*z = '@';
	return line;
}

/* *n from the decimal digits at *s (no sign, no leading zero), *s past
 * them; 0 when there are none or too many */
static int number(const char **s, long *n)
{
	const char *p = *s;
	long v = 0;

	if (*p < '0' || *p > '9' || (*p == '0' && p[1] >= '0' && p[1] <= '9'))
		return 0;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (p - *s > 15)
			return 0;
		v = v * 10 + (*p - '0');
	}
	*s = p;
	*n = v;
	return 1;
}

/* whether line is PREFIX, a number (*n) and SUFFIX, nothing more */
static int shaped(const char *line, const char *prefix, long *n, const char *suffix)
{
	size_t lp = strlen(prefix);

	if (strncmp(line, prefix, lp) != 0)
		return 0;
	line += lp;
	return number(&line, n) && strcmp(line, suffix) == 0;
}

static int race_file(const char *path)
{
	size_t size;
	char *b = slurp(path, &size), *p = b, *line;
	long n = 0, k;
	int whole;

	while ((line = next_line(&p, b + size, &whole))) {
		long i;

		if (shaped(line, "line ", &i, "")) {
			if (i != n) {
				printf("%s: out of order: %s\n", path, line);
				return 1;
			}
			n++;
		} else if (shaped(line, "handler after ", &k, " writes")) {
			if (n < k) {
				printf("%s: lost: %ld accepted, %ld arrived\n", path, k, n);
				return 1;
			}
			if (p < b + size) {
				printf("%s: after the handler: %.*s\n", path,
				       (int)strcspn(p, "\n") < 60 ? (int)strcspn(p, "\n") : 60, p);
				return 1;
			}
			free(b);
			return 0;
		} else {
			printf("%s: stray: %.60s\n", path, line);
			return 1;
		}
	}
	printf("%s: no line from the handler (%ld lines)\n", path, n);
	return 1;
}

static int threads_file(const char *out, const char *counts_file)
{
	size_t size, csize;
	char *b = slurp(out, &size), *p = b, *line;
	long *want, next[3] = { 0, 0, 0 };
	char *c = slurp(counts_file, &csize);
	int whole;

	if (csize < 3 * sizeof(long)) {
		printf("%s: %zu bytes, not three counts\n", counts_file, csize);
		return 1;
	}
	want = (long *)(void *)c;
	while ((line = next_line(&p, b + size, &whole))) {
		long t, i;
		char due[64];

		if (whole) {
			const char *r = line + 7;

			if (strncmp(line, "thread ", 7) != 0 || !number(&r, &t) || t > 2 ||
			    !shaped(r, " record ", &i, " end")) {
				printf("torn: %.60s\n", line);
				return 1;
			}
			if (i != next[t]) {
				printf("thread %ld: record %ld where %ld was due\n", t, i, next[t]);
				return 1;
			}
			next[t]++;
			continue;
		}
		/* the last record, cut short */
		if (size % 4096 != 0) {
			printf("the file ends in \"%s\", not at a page boundary\n", line);
			return 1;
		}
		for (t = 0; t < 3; t++) {
			snprintf(due, sizeof due, "thread %ld record %ld end", t, next[t]);
			if (strncmp(due, line, strlen(line)) == 0)
				break;
		}
		if (t == 3) {
			printf("torn: %s is no record that was due\n", line);
			return 1;
		}
	}
	for (int t = 0; t < 3; t++) {
		if (next[t] < want[t]) {
			printf("thread %d: %ld of %ld records\n", t, next[t], want[t]);
			return 1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 2 && strcmp(argv[1], "race") == 0) {
		int bad = 0;

		for (int i = 2; i < argc && bad < 100; i++)
			bad += race_file(argv[i]);
		return bad;
	}
	if (argc == 4 && strcmp(argv[1], "threads") == 0)
		return threads_file(argv[2], argv[3]);
	fprintf(stderr, "usage: records race FILE... | records threads OUT COUNTS\n");
	return 2;
}
