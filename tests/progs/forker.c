/*
 * forker exit|_exit|vfork — output around a fork must be neither doubled
 * nor reordered: "before\n" "child\n" "parent\n".
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
	pid = !strcmp(how, "vfork") ? vfork() : fork();
	if (pid == 0) {
		if (!strcmp(how, "vfork")) {
			execlp("echo", "echo", "child", (char *)NULL);
			_exit(127);
		}
		say("child\n");
		if (!strcmp(how, "_exit"))
			_exit(0);
		exit(0);
	}
	waitpid(pid, NULL, 0);
	say("parent\n");
	return 0;
}
