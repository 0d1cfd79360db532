/* SPDX-License-Identifier: MIT */
/*
 * arch/generic.h — no syscall instruction of our own: the C library's
 * syscall() function, looked up at start (sys.c), does the work.
 */
#ifndef BS_ARCH_GENERIC_H
#define BS_ARCH_GENERIC_H

#define BS_ARCH_RAW_SYSCALL 0

long bs_arch_syscall6(long n, long a, long b, long c, long d, long e, long f);


/* No way to see where a syscall will restart: it restarts. */
static inline int bs_arch_restart_to_eintr(void *ctx, int (*ok)(long nr))
{
	(void)ctx;
	(void)ok;
	return 0;
}

/* A moment's pause in a loop that waits for another processor. */
static inline void bs_arch_relax(void)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

#endif
