/* SPDX-License-Identifier: MIT */
/*
 * arch/x86_64.h — the raw syscall instruction on x86-64.
 */
#ifndef BS_ARCH_X86_64_H
#define BS_ARCH_X86_64_H

#include <errno.h>
#include <stddef.h>
#include <sys/stat.h>
#include <ucontext.h>

#define BS_ARCH_RAW_SYSCALL 1

/* sys.c hands struct stat to the kernel's fstat and newfstatat as it is:
 * the C library's is the kernel's (asm/stat.h). */
_Static_assert(sizeof(struct stat) == 144 && offsetof(struct stat, st_size) == 48 &&
	       offsetof(struct stat, st_blocks) == 64, "struct stat is not the kernel's");

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


/*
 * A signal interrupted ctx (a ucontext_t) at a syscall the kernel is about
 * to restart, or about to be made: the instruction pointer is at the
 * syscall instruction and the number is back in rax. Make it return -EINTR
 * instead, as it would have for a handler without SA_RESTART. Only for the
 * syscalls that ok(nr) accepts. 1 when done.
 */
static inline int bs_arch_restart_to_eintr(void *ctx, int (*ok)(long nr))
{
	ucontext_t *uc = ctx;
	greg_t *g = uc->uc_mcontext.gregs;
	const unsigned char *ip = (const unsigned char *)g[REG_RIP];

	if (ip[0] != 0x0f || ip[1] != 0x05 || !ok((long)g[REG_RAX]))
		return 0;
	g[REG_RAX] = -EINTR;
	g[REG_RIP] += 2;
	return 1;
}


/*
 * vfork: the hook may not have a frame when the real vfork returns (the
 * child would pop it from under the parent). So this stub calls
 * bs_vfork_prepare in a frame of its own, then jumps to the real vfork,
 * which returns straight to the program, in the child and in the parent.
 */
#define BS_ARCH_VFORK_STUB						\
	".pushsection .text.hot,\"ax\",@progbits\n"				\
	".globl vfork\n"						\
	".type vfork, @function\n"					\
	"vfork:\n"							\
	"	sub $8, %rsp\n"						\
	"	call bs_vfork_prepare\n"				\
	"	add $8, %rsp\n"						\
	"	jmp *%rax\n"						\
	".size vfork, .-vfork\n"						\
	".popsection\n"

/* A moment's pause in a loop that waits for another processor. */
static inline void bs_arch_relax(void)
{
	__builtin_ia32_pause();
}

#endif
