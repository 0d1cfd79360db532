/* SPDX-License-Identifier: MIT */
/*
 * arch/aarch64.h — the raw syscall instruction on AArch64, the rewrite of a
 * signal context that was about to restart a syscall, the vfork stub.
 * Tested under qemu-aarch64 (make check-aarch64).
 */
#ifndef BS_ARCH_AARCH64_H
#define BS_ARCH_AARCH64_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <ucontext.h>

#define BS_ARCH_RAW_SYSCALL 1

/* sys.c hands struct stat to the kernel's fstat and newfstatat as it is:
 * the C library's is the kernel's generic one (asm-generic/stat.h). There
 * are no stat, lstat, open, poll or dup2 syscalls here: the library makes
 * only their *at, ppoll and dup3 forms. */
_Static_assert(sizeof(struct stat) == 128 && offsetof(struct stat, st_size) == 48 &&
	       offsetof(struct stat, st_blocks) == 64, "struct stat is not the kernel's");

/* The kernel's answer: a result, or -errno (see arch/x86_64.h). */
static inline long bs_arch_syscall6(long n, long a, long b, long c, long d, long e, long f)
{
	register long x8 __asm__("x8") = n;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;
	register long x3 __asm__("x3") = d;
	register long x4 __asm__("x4") = e;
	register long x5 __asm__("x5") = f;

	__asm__ volatile("svc 0"
			 : "+r"(x0)
			 : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
			 : "memory");
	return x0;
}


/* As in arch/x86_64.h: the pc at "svc #0", the number in x8. */
static inline int bs_arch_restart_to_eintr(void *ctx, int (*ok)(long nr))
{
	ucontext_t *uc = ctx;
	mcontext_t *m = &uc->uc_mcontext;

	if (*(const uint32_t *)m->pc != 0xd4000001u || !ok((long)m->regs[8]))
		return 0;
	m->regs[0] = (unsigned long long)-EINTR;
	m->pc += 4;
	return 1;
}


/*
 * vfork: as in arch/x86_64.h; the real vfork's address comes back in x0.
 * Built with -mbranch-protection (the default of some distributions), the
 * library's pages are guarded: an indirect call (the program's PLT, br x17)
 * must land on a BTI instruction, which the compiler puts in C functions
 * but not here (hint #34 is "bti c", a no-op on processors without BTI);
 * the jump goes through x16, the register a guarded real vfork accepts.
 */
#define BS_ARCH_VFORK_STUB						\
	".pushsection .text.hot,\"ax\",%progbits\n"				\
	".globl vfork\n"						\
	".type vfork, %function\n"					\
	"vfork:\n"							\
	"	hint #34\n"						\
	"	stp x29, x30, [sp, #-16]!\n"				\
	"	mov x29, sp\n"						\
	"	bl bs_vfork_prepare\n"					\
	"	ldp x29, x30, [sp], #16\n"				\
	"	mov x16, x0\n"						\
	"	br x16\n"						\
	".size vfork, .-vfork\n"						\
	".popsection\n"

/* A moment's pause in a loop that waits for another processor. */
static inline void bs_arch_relax(void)
{
	__asm__ __volatile__("yield" ::: "memory");
}

#endif
