/* SPDX-License-Identifier: MIT */
/*
 * arch_check — the processor's header (shim/arch.h) on its own, built for
 * the host and for aarch64 (run under qemu-aarch64) by the aarch64 tests:
 *
 *   1. the raw syscall: getpid, a write to a pipe, a bad fd (-EBADF: the
 *      kernel's answer, not errno);
 *   2. the rewrite of a signal context: a raw read of an empty pipe, a
 *      SIGALRM handler with SA_RESTART (so the kernel would restart the
 *      read) that calls bs_arch_restart_to_eintr: the read says -EINTR. Had
 *      it restarted, a thread's byte 3 s later would end it instead.
 *
 * (The third piece, the vfork stub, is the forker program's under the
 * library: tests/aarch64/emulated.sh.)
 *
 * Prints one line per check; exits 0 when all pass.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "arch.h"

#if !BS_ARCH_RAW_SYSCALL
int main(void)
{
	puts("no raw syscall on this processor: nothing to check");
	return 0;
}
#else

static int fds[2];
static volatile int rewritten = -1;

static int is_read(long nr)
{
	return nr == SYS_read;
}

static void on_alarm(int sig, siginfo_t *info, void *ctx)
{
	(void)sig;
	(void)info;
	rewritten = bs_arch_restart_to_eintr(ctx, is_read);
}

static void *late_byte(void *arg)
{
	(void)arg;
	sleep(3);
	(void)!write(fds[1], "x", 1);
	return NULL;
}

int main(void)
{
	struct sigaction a;
	pthread_t t;
	char c;
	long r;
	int bad = 0;

	if (pipe(fds) < 0)
		return 2;
	r = bs_arch_syscall6(SYS_getpid, 0, 0, 0, 0, 0, 0);
	printf("getpid: %s\n", r == getpid() ? "ok" : "wrong");
	bad |= r != getpid();
	r = bs_arch_syscall6(SYS_write, fds[1], (long)"ab", 2, 0, 0, 0);
	bad |= r != 2 || read(fds[0], &c, 1) != 1 || read(fds[0], &c, 1) != 1 || c != 'b';
	printf("write: %ld\n", r);
	r = bs_arch_syscall6(SYS_write, 1000, (long)"ab", 2, 0, 0, 0);
	printf("write to a bad fd: %s\n", r == -EBADF ? "-EBADF" : "wrong");
	bad |= r != -EBADF;

	memset(&a, 0, sizeof a);
	a.sa_sigaction = on_alarm;
	a.sa_flags = SA_SIGINFO | SA_RESTART;
	sigaction(SIGALRM, &a, NULL);
	pthread_create(&t, NULL, late_byte, NULL);
	alarm(1);
	r = bs_arch_syscall6(SYS_read, fds[0], (long)&c, 1, 0, 0, 0);
	printf("read interrupted: %s (the handler %s)\n",
	       r == -EINTR ? "-EINTR" : r == 1 ? "restarted, ended by the late byte" : "wrong",
	       rewritten == 1 ? "rewrote its context" : "did not rewrite its context");
	bad |= r != -EINTR || rewritten != 1;
	return bad;	/* the thread's byte is not waited for */
}
#endif
