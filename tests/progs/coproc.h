/* SPDX-License-Identifier: MIT */
/*
 * coproc.h — for the test programs: `cat` as a coprocess. Our stdout
 * becomes the pipe to its stdin; *rsp is the pipe from its stdout. Returns
 * its pid, or -1 when the pipes cannot be made.
 */
#ifndef COPROC_H
#define COPROC_H

#include <sys/types.h>
#include <unistd.h>

static pid_t start_cat(int *rsp)
{
	int req[2], out[2];
	pid_t pid;

	if (pipe(req) || pipe(out))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(req[0], 0);
		dup2(out[1], 1);
		close(req[1]);
		close(out[0]);
		execlp("cat", "cat", (char *)NULL);
		_exit(127);
	}
	close(req[0]);
	close(out[1]);
	dup2(req[1], 1);
	close(req[1]);
	*rsp = out[0];
	return pid;
}

#endif
