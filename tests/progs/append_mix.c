/* SPDX-License-Identifier: MIT */
/*
 * append_mix PATH — run with stdout appending to PATH (>>PATH): lines go
 * to PATH in turn through stdout's write(2), a stream fopen'd "a" on PATH,
 * dprintf on a second O_APPEND fd and write(2) on that fd. Without the
 * library the lines land numbered in order; so they must with it.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void line(int fd, int n)
{
	char buf[32];
	int len = snprintf(buf, sizeof buf, "%d write fd %d\n", n, fd);

	if (write(fd, buf, (size_t)len) != len)
		_exit(2);
}

int main(int argc, char **argv)
{
	FILE *fp;
	int fd;

	if (argc < 2)
		return 2;
	fp = fopen(argv[1], "a");
	fd = open(argv[1], O_WRONLY | O_APPEND);
	if (!fp || fd < 0)
		return 2;
	for (int i = 0; i < 40; i += 4) {
		line(1, i);
		fprintf(fp, "%d fprintf\n", i + 1);
		fflush(fp);
		line(1, i + 2);
		dprintf(fd, "%d dprintf\n", i + 2);	/* the same number: order shows */
		line(fd, i + 3);
	}
	fclose(fp);
	close(fd);
	return 0;
}
