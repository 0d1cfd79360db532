/* SPDX-License-Identifier: MIT */
/*
 * libstdbuf_like.so — what coreutils' libstdbuf does when stdbuf(1)
 * preloads it, for the tests of a build whose processor has no stdbuf of
 * its own (under an emulator: tests/integration/lib.sh): its constructor
 * sets stdin's, stdout's and stderr's buffering from _STDBUF_I, _STDBUF_O
 * and _STDBUF_E ("L": line, "0": none, a number: a buffer of that size).
 */
#include <stdio.h>
#include <stdlib.h>

static void apply(FILE *f, const char *var)
{
	const char *v = getenv(var);
	char *end;
	unsigned long size;

	if (!v || !*v)
		return;
	if (v[0] == 'L' && !v[1]) {
		setvbuf(f, NULL, _IOLBF, 0);
		return;
	}
	size = strtoul(v, &end, 10);
	if (*end)
		return;
	if (size == 0)
		setvbuf(f, NULL, _IONBF, 0);
	else
		setvbuf(f, malloc(size), _IOFBF, size);
}

__attribute__((constructor)) static void stdbuf_like(void)
{
	apply(stdin, "_STDBUF_I");
	apply(stdout, "_STDBUF_O");
	apply(stderr, "_STDBUF_E");
}
