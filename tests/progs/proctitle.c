/* SPDX-License-Identifier: MIT */
/*
 * proctitle TITLE COUNT [DIR]
 * Sets its process title as PostgreSQL, nginx and sendmail do: the
 * environment is copied elsewhere, and the memory of argv and of the
 * original environment strings is overwritten with TITLE, padded with
 * spaces. Then it moves to DIR (if given), writes COUNT lines to fd 1,
 * forks a child that writes COUNT lines too, and waits for it.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static void lines(const char *who, int count)
{
	char line[64];

	for (int i = 0; i < count; i++) {
		int n = snprintf(line, sizeof line, "%s %d\n", who, i);

		if (write(1, line, (size_t)n) != n)
			exit(3);
	}
}

int main(int argc, char **argv)
{
	char *start = argv[0], *end, *title, *dir = NULL;
	char **env;
	int count, ne = 0, status;
	pid_t pid;

	if (argc < 3)
		return 2;
	title = strdup(argv[1]);
	count = atoi(argv[2]);
	if (argc > 3)
		dir = strdup(argv[3]);
	end = argv[argc - 1] + strlen(argv[argc - 1]) + 1;
	while (environ[ne])
		ne++;
	env = calloc((size_t)ne + 1, sizeof *env);
	for (int i = 0; i < ne; i++) {
		if (environ[i] == end)
			end += strlen(environ[i]) + 1;
		env[i] = strdup(environ[i]);
	}
	environ = env;
	memset(start, ' ', (size_t)(end - start - 1));
	memcpy(start, title, strlen(title) < (size_t)(end - start - 1) ?
	       strlen(title) : (size_t)(end - start - 1));
	end[-1] = '\0';
	if (dir && chdir(dir) < 0)
		return 2;
	lines("parent", count);
	pid = fork();
	if (pid == 0) {
		lines("child", count);
		return 0;
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return 2;
	return 0;
}
