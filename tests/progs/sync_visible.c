/* SPDX-License-Identifier: MIT */
/*
 * sync_visible PATH OP — with fd 1 open on PATH: write, then OP (fsync,
 * fdatasync, close, exit-check), then read PATH as another process would.
 * Exits 0 when the bytes were there as OP returned.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* What another process reading PATH would see now: raw syscalls, which
 * the library does not see (a read through its hooks would deliver first,
 * since the bytes are for the file being read). */
static int visible(const char *path, const char *want)
{
	char got[256] = "";
	int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : syscall(SYS_read, fd, got, sizeof got - 1);

	if (fd >= 0)
		syscall(SYS_close, fd);
	if (n != (ssize_t)strlen(want) || memcmp(got, want, (size_t)n) != 0) {
		fprintf(stderr, "sync_visible: read %zd bytes, wanted '%s'\n", n, want);
		return 0;
	}
	return 1;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fputs("usage: see the comment at the top of sync_visible.c\n", stderr);
		return 2;
	}
	const char *path = argv[1], *op = argv[2];
	const char *msg = "hello, file\n";
	int rc;

	if (write(1, msg, strlen(msg)) != (ssize_t)strlen(msg))
		return 2;
	if (!strcmp(op, "fsync"))
		rc = fsync(1);
	else if (!strcmp(op, "fdatasync"))
		rc = fdatasync(1);
	else if (!strcmp(op, "close"))
		rc = close(1);
	else if (!strcmp(op, "none"))	/* the control: must not be visible yet */
		return visible(path, "") ? 0 : 1;
	else
		return 2;
	if (rc != 0) {
		perror(op);
		return 2;
	}
	return visible(path, msg) ? 0 : 1;
}
