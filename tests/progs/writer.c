/* SPDX-License-Identifier: MIT */
/*
 * writer COUNT SIZE [write|writev|split]
 * COUNT records of SIZE bytes each on fd 1, the last byte a newline, each
 * record one write(2) (or one writev of three pieces, or two writes that
 * split the line). Exits 1 on a failed or short write.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long count = argc > 1 ? atol(argv[1]) : 1000;
	size_t size = argc > 2 ? (size_t)atol(argv[2]) : 32;
	const char *how = argc > 3 ? argv[3] : "write";
	char *rec = malloc(size + 1);

	for (long i = 0; i < count; i++) {
		ssize_t r;

		for (size_t k = 0; k < size; k++)
			rec[k] = (char)('a' + (i + (long)k) % 26);
		rec[size - 1] = '\n';
		if (!strcmp(how, "writev")) {
			size_t third = size / 3;
			struct iovec v[3] = {
				{ rec, third }, { rec + third, third },
				{ rec + 2 * third, size - 2 * third },
			};
			r = writev(1, v, 3);
		} else if (!strcmp(how, "split")) {
			r = write(1, rec, size / 2);
			if (r == (ssize_t)(size / 2))
				r += write(1, rec + size / 2, size - size / 2);
		} else {
			r = write(1, rec, size);
		}
		if (r != (ssize_t)size) {
			perror("writer");
			return 1;
		}
	}
	return 0;
}
