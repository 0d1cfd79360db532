/* SPDX-License-Identifier: MIT */
/*
 * guest — one of the test programs of another processor's build, run under
 * the emulator named by TEST_EMULATOR (qemu-aarch64), with the LD_PRELOAD
 * it was given handed to the emulated program alone.
 *
 * DIR/emulated/NAME is a link to this program; it runs DIR/progs/NAME with
 * the same arguments and the same argv[0]. Built static for the host: a
 * static program never loads LD_PRELOAD itself, so `env LD_PRELOAD=LIB`,
 * strace's `-E LD_PRELOAD=LIB` and the tests' GUEST_LD_PRELOAD=LIB (which
 * host programs in between, such as sh, pass on untouched) all reach the
 * emulated program, while neither this program nor the emulator tries to
 * load a library of another processor. The emulator gets it as
 * `-E LD_PRELOAD=LIB`, so the emulated program's environment is what it
 * would have been on its own processor, but for PATH: DIR/emulated/host
 * (hostcmd.c) comes first in it, for the programs it execs.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_WORDS 16

int main(int argc, char **argv)
{
	const char *emu = getenv("TEST_EMULATOR");
	const char *pre = getenv("GUEST_LD_PRELOAD");
	const char *slash = strrchr(argv[0], '/');
	const char *path = getenv("PATH");
	char *words, *prog, *preload = NULL, *guest_path;
	char **args;
	int n = 0;

	if (!emu || !*emu || !slash) {
		fprintf(stderr, "guest: run as DIR/emulated/NAME with TEST_EMULATOR set\n");
		return 127;
	}
	if (!pre || !*pre)
		pre = getenv("LD_PRELOAD");
	if (pre && *pre && asprintf(&preload, "LD_PRELOAD=%s", pre) < 0)
		return 127;
	/* DIR/emulated/NAME -> DIR/emulated/../progs/NAME */
	if (asprintf(&prog, "%.*s/../progs/%s", (int)(slash - argv[0]), argv[0], slash + 1) < 0 ||
	    asprintf(&guest_path, "PATH=%.*s/host:%s", (int)(slash - argv[0]), argv[0],
		     path ? path : "/usr/bin:/bin") < 0)
		return 127;
	unsetenv("LD_PRELOAD");
	unsetenv("GUEST_LD_PRELOAD");

	args = calloc((size_t)argc + MAX_WORDS + 8, sizeof *args);
	words = strdup(emu);
	if (!args || !words)
		return 127;
	for (char *w = strtok(words, " "); w && n < MAX_WORDS; w = strtok(NULL, " "))
		args[n++] = w;
	args[n++] = "-0";
	args[n++] = argv[0];
	args[n++] = "-E";
	args[n++] = guest_path;
	if (preload) {
		args[n++] = "-E";
		args[n++] = preload;
	}
	args[n++] = prog;
	for (int i = 1; i < argc; i++)
		args[n++] = argv[i];
	args[n] = NULL;
	execvp(args[0], args);
	fprintf(stderr, "guest: %s: ", args[0]);
	perror("cannot run");
	return 127;
}
