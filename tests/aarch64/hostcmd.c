/* SPDX-License-Identifier: MIT */
/*
 * hostcmd — `echo`, `cat` and `env` (by the name it is run as) for the
 * emulated test programs to exec: forker's vfork child runs `echo child`,
 * the coprocess programs run `cat`, the tests of the command `env`. Under qemu-aarch64 such an exec runs a
 * host program, which inherits LD_PRELOAD naming the aarch64 library; a
 * host `echo` would then print the dynamic loader's complaint on stderr.
 * This one is static: it never loads anything. guest.c puts its directory
 * first in the emulated program's PATH.
 *
 *   echo WORD...   the words, a space between, a newline after
 *   cat            stdin to stdout
 *   env            the environment, a line each
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

static int put(const char *p, size_t n)
{
	while (n) {
		ssize_t r = write(1, p, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return 1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *name = strrchr(argv[0], '/');
	char buf[65536];
	ssize_t r;

	name = name ? name + 1 : argv[0];
	if (strcmp(name, "echo") == 0) {
		for (int i = 1; i < argc; i++)
			if ((i > 1 && put(" ", 1)) || put(argv[i], strlen(argv[i])))
				return 1;
		return put("\n", 1);
	}
	if (strcmp(name, "cat") == 0 && argc == 1) {
		while ((r = read(0, buf, sizeof buf)) != 0) {
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0 || put(buf, (size_t)r))
				return 1;
		}
		return 0;
	}
	if (strcmp(name, "env") == 0 && argc == 1) {
		for (char **e = environ; *e; e++)
			if (put(*e, strlen(*e)) || put("\n", 1))
				return 1;
		return 0;
	}
	(void)!write(2, "hostcmd: run as echo WORD..., cat or env\n", 41);
	return 2;
}
