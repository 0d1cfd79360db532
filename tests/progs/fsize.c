/* SPDX-License-Identifier: MIT */
/*
 * fsize LIMIT COUNT — with RLIMIT_FSIZE at LIMIT bytes and SIGXFSZ ignored,
 * write COUNT single bytes to fd 1, then close it. Prints on stderr what the
 * program was told: "accepted N, error E, close C".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 3) {
		fputs("usage: see the comment at the top of fsize.c\n", stderr);
		return 2;
	}
	struct rlimit rl = { (rlim_t)atol(argv[1]), (rlim_t)atol(argv[1]) };
	long count = atol(argv[2]), accepted = 0;
	int err = 0, cerr = 0;

	signal(SIGXFSZ, SIG_IGN);
	if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
		return 2;
	for (long i = 0; i < count; i++) {
		char c = (char)('a' + i % 26);

		if (write(1, &c, 1) != 1) {
			err = errno;
			break;
		}
		accepted++;
	}
	if (close(1) < 0)
		cerr = errno;
	fprintf(stderr, "accepted %ld, error %s, close %s\n", accepted,
		err ? strerrorname_np(err) : "none", cerr ? strerrorname_np(cerr) : "none");
	return 0;
}
