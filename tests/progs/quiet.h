/* SPDX-License-Identifier: MIT */
/*
 * quiet.h — a pause the library does not see, for test programs that
 * stand for a program computing (no call the library sees) while other
 * tests need the machine's CPUs.
 *
 * quiet_pause() sleeps 1 ms by a syscall instruction of its own: no
 * function of the C library, so nothing the library hooks. To the library
 * the program is computing; to the machine it is asleep. A signal ends
 * the pause early, as it would end a computation's turn. Where the
 * architecture is not one of these, it computes for real.
 */
#ifndef BUFSHIM_TESTS_QUIET_H
#define BUFSHIM_TESTS_QUIET_H

#include <sys/syscall.h>
#include <time.h>

static inline void quiet_pause(void)
{
	struct timespec ts = { 0, 1000000 };
#if defined(__x86_64__)
	long ret = SYS_nanosleep;

	__asm__ volatile("syscall"
			 : "+a"(ret)
			 : "D"(&ts), "S"(0L)
			 : "rcx", "r11", "memory");
#elif defined(__aarch64__)
	register long x8 __asm__("x8") = SYS_nanosleep;
	register long x0 __asm__("x0") = (long)&ts;
	register long x1 __asm__("x1") = 0;

	__asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1) : "memory");
#else
	for (volatile long spin = 0; spin < 100000; spin++)
		;
	(void)ts;
#endif
}

#endif
