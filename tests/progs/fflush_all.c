/* SPDX-License-Identifier: MIT */
/*
 * fflush_all — printf, write(2) and fflush(NULL) in turn (429 times), and
 * a stream of the C library's own on a dup of stdout now and then: the
 * order must hold, and fflush(NULL) must cost no syscall where no stream of
 * the C library's has output waiting.
 */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	FILE *g = fdopen(dup(1), "w");

	if (!g)
		return 2;
	setvbuf(g, NULL, _IOFBF, 1024);
	for (int i = 0; i < 429; i++) {
		printf("printf %d\n", i);
		(void)!write(1, "raw\n", 4);
		if (i % 100 == 0)
			fprintf(g, "stream %d\n", i);
		fflush(NULL);
	}
	return 0;
}
