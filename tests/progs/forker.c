/* SPDX-License-Identifier: MIT */
/*
 * forker exit|_exit|vfork|vfork_write — output around a fork must be
 * neither doubled nor reordered: "before\n" "child\n" "parent\n", then
 * (vfork_write) 2000 numbered lines the parent writes after its child is
 * gone. vfork_write's child writes its line itself, then _exits.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void say(const char *s)
{
	if (write(1, s, strlen(s)) != (ssize_t)strlen(s))
		_exit(3);
}

int main(int argc, char **argv)
{
	const char *how = argc > 1 ? argv[1] : "exit";
	pid_t pid;

	say("before\n");
	pid = !strncmp(how, "vfork", 5) ? vfork() : fork();
	if (pid == 0) {
		if (!strcmp(how, "vfork")) {
			execlp("echo", "echo", "child", (char *)NULL);
			_exit(127);
		}
		if (!strcmp(how, "vfork_write")) {
			(void)!write(1, "child\n", 6);
			_exit(0);
		}
		say("child\n");
		if (!strcmp(how, "_exit"))
			_exit(0);
		exit(0);
	}
	waitpid(pid, NULL, 0);
	say("parent\n");
	if (!strcmp(how, "vfork_write"))
		for (int i = 0; i < 2000; i++) {
			char b[16] = "line ";

			b[5] = (char)('0' + i / 1000);
			b[6] = (char)('0' + i / 100 % 10);
			b[7] = (char)('0' + i / 10 % 10);
			b[8] = (char)('0' + i % 10);
			b[9] = '\n';
			b[10] = 0;
			say(b);
		}
	return 0;
}
