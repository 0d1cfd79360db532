/*
 * arch/x86_64.h — the raw syscall instruction on x86-64.
 */
#ifndef BS_ARCH_X86_64_H
#define BS_ARCH_X86_64_H

#define BS_ARCH_RAW_SYSCALL 1

/* The kernel's answer: a result, or -errno. No errno, no cancellation
 * point, no call into the C library: safe anywhere, signal handlers too. */
static inline long bs_arch_syscall6(long n, long a, long b, long c, long d, long e, long f)
{
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	long r;

	__asm__ volatile("syscall"
			 : "=a"(r)
			 : "0"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return r;
}

#endif
