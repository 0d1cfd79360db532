/* SPDX-License-Identifier: MIT */
/*
 * signals.c — signals and the bytes we hold (invariants 8 and 11).
 *
 * The library stands between the kernel and the program's signal actions:
 *
 * - Once the process first holds a byte, a signal whose default action
 *   ends or stops the process gets our dispatcher instead of SIG_DFL. It
 *   delivers what we hold, then lets the kernel's default action happen
 *   (the same signal, so the same wait status, core dump and faulting
 *   instruction).
 * - A handler the program installs is installed as our dispatcher, with
 *   the program's flags and mask: a signal that lands while its thread is
 *   inside the library is queued again to that thread, blocked, and let
 *   through when the thread leaves the library (guard.h). The kernel then
 *   delivers it as it would have: the program's handler never sees the
 *   library half-way. Faults (a synchronous SIGSEGV...) cannot wait and
 *   run at once.
 * - The program is told its own actions: sigaction and the signal family
 *   report what it set or inherited, as the kernel would keep it.
 */
#include "shim.h"

#include <string.h>
#include <ucontext.h>

/* No header declares these two. */
int __sigaction(int sig, const struct sigaction *act, struct sigaction *old);
sighandler_t bsd_signal(int sig, sighandler_t handler);

#define NSIGS 65		/* signals 1..64 */
#define BIT(sig) ((uint64_t)1 << ((sig) - 1))

/* What the program would be told about one signal: its action as the
 * kernel keeps it, in 32 bytes, not a struct sigaction's 152 (whose mask
 * has room for 1024 signals; the kernel keeps 64). The table is written
 * whole when the library arms: one page, not three, for every process
 * that buffers a byte. */
struct slot {
	void (*handler)(int);	/* sa_handler, or sa_sigaction with SA_SIGINFO */
	void (*restorer)(void);
	uint64_t mask;		/* sa_mask's 64 bits the kernel keeps */
	int flags;
	uint8_t known;		/* the fields hold it (set by the program, or read) */
	uint8_t ours;		/* the kernel has our dispatcher for it */
};

static struct slot slots[NSIGS];
static int slots_lock;		/* a futex lock: see lock_slots */
static uint64_t interrupting;	/* siginterrupt's set: signal() without SA_RESTART */
int bs_armed;		/* the default actions go through us */

/* What the C library adds to every action it gives the kernel (SA_RESTORER
 * and its return trampoline): learnt from the first action read back, so
 * that what the program is told matches what it would read without us. */
static int added_flags;
static void (*added_restorer)(void);
static int added_known;

/* The flags the kernel keeps; it drops the others (SA_INTERRUPT...). */
#define KERNEL_FLAGS ((unsigned)(SA_NOCLDSTOP | SA_NOCLDWAIT | SA_SIGINFO | SA_ONSTACK | \
				   SA_RESTART | SA_NODEFER) | (unsigned)SA_RESETHAND | \
		      0x800u /* SA_EXPOSE_TAGBITS */)

static void dispatch(int sig, siginfo_t *info, void *ctx);

/* ---- which signals -------------------------------------------------------------- */

enum dfl { DFL_IGNORE, DFL_KILL, DFL_STOP };

/* What the kernel does with sig when its action is SIG_DFL. */
static enum dfl dfl_of(int sig)
{
	switch (sig) {
	case SIGCHLD: case SIGURG: case SIGWINCH: case SIGCONT:
		return DFL_IGNORE;
	case SIGTSTP: case SIGTTIN: case SIGTTOU:
		return DFL_STOP;
	default:
		return DFL_KILL;
	}
}

/* The signals the C library keeps for itself (thread cancellation and
 * set*id), and those nobody can catch. */
static int is_ours_to_leave(int sig)
{
	return sig == SIGKILL || sig == SIGSTOP || (sig >= 32 && sig < SIGRTMIN);
}

/* A fault the kernel raised at an instruction of this thread: it cannot
 * wait, and it happens again when the instruction is run again. */
static int is_fault(int sig, const siginfo_t *info)
{
	return info && info->si_code > 0 &&
	       (sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE || sig == SIGILL ||
		sig == SIGTRAP || sig == SIGSYS);
}

/* The syscalls a signal may find the library blocked in. */
static int may_block(long nr)
{
	return nr == SYS_write || nr == SYS_writev || nr == SYS_futex ||
	       nr == SYS_ppoll || nr == SYS_nanosleep || nr == SYS_clock_nanosleep;
}

/* ---- the table, under a lock that signals do not take ------------------------------ */

static void slot_put(int sig, const struct sigaction *a)
{
	slots[sig].handler = a->sa_handler;
	memcpy(&slots[sig].mask, &a->sa_mask, sizeof slots[sig].mask);
	slots[sig].flags = a->sa_flags;
	slots[sig].restorer = a->sa_restorer;
}

static void lock_slots(void)
{
	while (__atomic_exchange_n(&slots_lock, 1, __ATOMIC_ACQUIRE) != 0)
		bs_sys_futex_wait(&slots_lock, 1);
}

static void unlock_slots(void)
{
	__atomic_store_n(&slots_lock, 0, __ATOMIC_RELEASE);
	bs_sys_futex_wake(&slots_lock);
}

/* Read sig's action from the kernel if we do not know it yet. Lock held. */
static void know(int sig)
{
	struct sigaction k;

	if (slots[sig].known || bs_sys_sigaction(sig, NULL, &k) < 0)
		return;
	slots[sig].ours = k.sa_sigaction == dispatch;
	if (!slots[sig].ours)
		slot_put(sig, &k);
	slots[sig].known = 1;
}

/* Our dispatcher for sig: with the program's flags and mask when it has a
 * handler; for a default action, every signal blocked while we deliver,
 * and stops restarting what they interrupted (a stop and continue leave a
 * program's read as it was). SA_RESETHAND is done by the dispatcher: the
 * kernel's would leave a signal queued again by us to SIG_DFL. */
BS_TEXT_HOT static struct sigaction dispatcher_for(int sig, const struct sigaction *prog)
{
	struct sigaction k;

	memset(&k, 0, sizeof k);
	k.sa_sigaction = dispatch;
	if (prog->sa_handler == SIG_DFL) {
		sigfillset(&k.sa_mask);
		k.sa_flags = SA_SIGINFO | SA_ONSTACK |
			     (dfl_of(sig) == DFL_STOP ? SA_RESTART : 0);
	} else {
		k.sa_mask = prog->sa_mask;
		k.sa_flags = (int)((unsigned)(prog->sa_flags | SA_SIGINFO) & ~(unsigned)SA_RESETHAND);
	}
	return k;
}

/* Whether sig needs our dispatcher with this handler of the program's. */
static int needs_dispatcher(int sig, void (*handler)(int))
{
	if (handler == SIG_IGN)
		return 0;
	if (handler == SIG_DFL)
		return bs_armed && dfl_of(sig) != DFL_IGNORE;
	return 1;
}

/*
 * Give the kernel what sig needs for the program's action prog, and keep
 * in the table what the program will be told: prog as the kernel keeps it
 * (unknown flags dropped, the C library's added, SIGKILL and SIGSTOP not in
 * the mask). Lock held. 0, or -1 and errno.
 */
BS_TEXT_HOT static int install(int sig, const struct sigaction *prog)
{
	int ours = needs_dispatcher(sig, prog->sa_handler);
	struct sigaction k = ours ? dispatcher_for(sig, prog) : *prog, back;
	/* Flags the kernel may not know (SA_INTERRUPT from sysv_signal, a
	 * program's probe with SA_UNSUPPORTED) go to it with our action: it
	 * drops them since Linux 5.11, older kernels and qemu-user keep them,
	 * and the program reads back what it would have without us. */
	unsigned unknown = (unsigned)prog->sa_flags & ~(unsigned)KERNEL_FLAGS, kept = 0;
	struct sigaction told;

	k.sa_flags = (int)((unsigned)k.sa_flags | unknown);
	if (bs_sys_sigaction(sig, &k, NULL) < 0)
		return -1;
	if ((!added_known || unknown) && bs_sys_sigaction(sig, NULL, &back) == 0) {
		if (!added_known) {
			added_flags = (int)((unsigned)back.sa_flags & ~(unsigned)k.sa_flags);
			added_restorer = back.sa_restorer;
			added_known = 1;
		}
		kept = (unsigned)back.sa_flags & unknown;
	}
	told = *prog;
	told.sa_flags = (int)(((unsigned)prog->sa_flags & KERNEL_FLAGS) | (unsigned)added_flags | kept);
	told.sa_restorer = added_restorer;
	sigdelset(&told.sa_mask, SIGKILL);
	sigdelset(&told.sa_mask, SIGSTOP);
	slot_put(sig, &told);
	slots[sig].known = 1;
	__atomic_store_n(&slots[sig].ours, ours, __ATOMIC_RELEASE);
	return 0;
}

/* ---- arming: the default actions go through us ---------------------------------------- */

/*
 * The process holds its first byte: every signal whose default would end
 * or stop it gets our dispatcher, where the program left the default.
 * One sigaction per signal (two where something else was there).
 */
BS_TEXT_HOT void bs_signals_arm(void)
{
	struct sigaction dfl, old;

	if (__atomic_load_n(&bs_armed, __ATOMIC_ACQUIRE) || !bs_active)
		return;
	lock_slots();
	if (!bs_armed) {
		__atomic_store_n(&bs_armed, 1, __ATOMIC_RELEASE);
		memset(&dfl, 0, sizeof dfl);
		dfl.sa_handler = SIG_DFL;
		for (int sig = 1; sig < NSIGS; sig++) {
			struct sigaction k = dispatcher_for(sig, &dfl);

			if (is_ours_to_leave(sig) || dfl_of(sig) == DFL_IGNORE ||
			    (slots[sig].known && (slots[sig].ours ||
						  slots[sig].handler != SIG_DFL)))
				continue;
			if (slots[sig].known) {
				if (bs_sys_sigaction(sig, &k, NULL) == 0)
					slots[sig].ours = 1;
				continue;
			}
			if (bs_sys_sigaction(sig, &k, &old) < 0)
				continue;
			slot_put(sig, &old);
			slots[sig].known = 1;
			slots[sig].ours = old.sa_handler == SIG_DFL;
			if (!slots[sig].ours)	/* inherited SIG_IGN, or a handler set
						 * where we could not see it */
				bs_sys_sigaction(sig, &old, NULL);
		}
	}
	unlock_slots();
}

/* ---- the dispatcher ------------------------------------------------------------------- */

/* sig landed while this thread is inside the library: queue it again to
 * this thread, blocked until the section ends (bs_signals_release). A
 * syscall of ours that the kernel would restart after it is made to say
 * EINTR, so that a write blocked on a full pipe lets the signal through;
 * the write is made again afterwards if the handler asked for SA_RESTART. */
static void defer(int sig, siginfo_t *info, ucontext_t *uc, int ends)
{
	if (bs_sys_requeue(sig, info) < 0)
		bs_sys_call(SYS_tgkill, bs_sys0(SYS_getpid), bs_sys0(SYS_gettid), sig, 0, 0, 0);
	sigaddset(&uc->uc_sigmask, sig);
	bs_self.deferred |= BIT(sig);
	bs_self.restart = bs_arch_restart_to_eintr(uc, may_block);
	if (ends)
		bs_hurry_start(BS_HURRY_DEATH_NS);	/* deliveries under way give up in time */
}

void bs_signals_release(void)
{
	uint64_t set = bs_self.deferred;
	int err = errno;

	bs_self.deferred = 0;
	bs_sys_sigmask(SIG_UNBLOCK, &set, NULL);	/* they run here */
	errno = err;
}

/* The process dies of sig: deliver, then let the kernel's default action
 * happen (on return, or at the faulting instruction again). */
static void die_of(int sig, siginfo_t *info, ucontext_t *uc, int fault, int was_inside)
{
	struct sigaction dfl;

	if (bs_self.depth == BS_VFORK_DEPTH) {
		/* a vfork child: the buffers are the parent's */
	} else {
		bs_enter();	/* for good: the rest of the process writes through */
		bs_deliver_all_hurried(BS_DELIVER_SIGNAL, 1, was_inside, 0);
		bs_report_stats_hurried();
	}
	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	bs_sys_sigaction(sig, &dfl, NULL);
	if (!fault && bs_sys_requeue(sig, info) < 0)
		bs_sys_call(SYS_tgkill, bs_sys0(SYS_getpid), bs_sys0(SYS_gettid), sig, 0, 0, 0);
	sigdelset(&uc->uc_sigmask, sig);
}

/* The process stops for sig: deliver, stop as the default does, and take
 * the signal again once continued. */
static void stop_for(int sig, siginfo_t *info)
{
	struct sigaction dfl, k;
	uint64_t bit = BIT(sig), old = 0;	/* the kernel fills it */

	bs_self.stops++;
	bs_enter();
	if (bs_self.depth != BS_VFORK_DEPTH + 1)	/* not a vfork child's */
		bs_deliver_all_hurried(BS_DELIVER_SIGNAL, 0, 0,
				       sig == SIGTTOU || sig == SIGTTIN);
	/* A SIGCONT sent meanwhile waits, blocked in this handler: without us
	 * the process would have stopped and gone on; it goes on. */
	bs_sys2(SYS_rt_sigpending, &old, sizeof old);
	if (old & BIT(SIGCONT)) {
		bs_leave();
		return;
	}
	lock_slots();
	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	bs_sys_sigaction(sig, &dfl, NULL);
	bs_sys_requeue(sig, info);
	bs_sys_sigmask(SIG_UNBLOCK, &bit, &old);	/* stopped here until SIGCONT */
	bs_sys_sigmask(SIG_SETMASK, &old, NULL);
	if (slots[sig].handler == SIG_DFL) {
		k = dispatcher_for(sig, &dfl);
		bs_sys_sigaction(sig, &k, NULL);
	}
	unlock_slots();
	bs_leave();
}

/*
 * A fault inside the library (a stack overflow in a write, a bad pointer
 * copied) with a handler of the program's: it cannot wait. It may end the
 * process (_exit) or jump out (siglongjmp): what we hold goes first, and
 * the handler runs as if outside the library, so that it, and the program
 * after a jump, write in order and are not left passing straight through.
 */
static void run_from_a_fault_inside(int sig, void (*handler)(int), int flags,
				    siginfo_t *info, void *ctx)
{
	int depth = bs_self.depth, err = errno;

	bs_deliver_all_hurried(BS_DELIVER_SIGNAL, 0, 1, 0);
	bs_self.hurry_until = 0;
	bs_self.depth = 0;
	errno = err;
	if (flags & SA_SIGINFO)
		((void (*)(int, siginfo_t *, void *))(void *)handler)(sig, info, ctx);
	else
		handler(sig);
	bs_self.depth = depth;	/* it returned: back where the fault was */
}

static void dispatch(int sig, siginfo_t *info, void *ctx)
{
	struct slot *a = &slots[sig];
	void (*handler)(int) = __atomic_load_n(&a->handler, __ATOMIC_ACQUIRE);
	int flags = a->flags, err = errno, fault = is_fault(sig, info);
	int dfl_kills = handler == SIG_DFL && dfl_of(sig) == DFL_KILL;

	/* a vfork child runs the program's own code: nothing to wait for */
	if (bs_inside() && bs_self.depth != BS_VFORK_DEPTH && !fault) {
		defer(sig, info, ctx, dfl_kills);
		errno = err;
		return;
	}
	if (handler == SIG_DFL) {
		if (dfl_of(sig) == DFL_KILL)
			die_of(sig, info, ctx, fault, bs_inside());
		else if (dfl_of(sig) == DFL_STOP)
			stop_for(sig, info);
		errno = err;
		return;
	}
	if (handler == SIG_IGN)
		return;
	if ((flags & SA_RESETHAND) && bs_self.depth == BS_VFORK_DEPTH && bs_vfork_inside()) {
		/* a vfork child: the slots are its parent's memory, but its
		 * actions are its own, as the kernel keeps them; its own go */
		struct sigaction dfl = { .sa_handler = SIG_DFL };

		bs_sys_sigaction(sig, &dfl, NULL);
	} else if (flags & SA_RESETHAND) {
		/* what the kernel does on delivery: the handler goes, the
		 * flags stay */
		__atomic_store_n(&a->handler, SIG_DFL, __ATOMIC_RELEASE);
		if (!needs_dispatcher(sig, SIG_DFL)) {
			struct sigaction dfl = { .sa_handler = SIG_DFL };

			bs_sys_sigaction(sig, &dfl, NULL);
			slots[sig].ours = 0;
		}
	}
	errno = err;
	bs_self.handled++;
	if (!(flags & SA_RESTART))
		bs_self.handled_intr++;
	bs_self.in_handler++;
	if (fault && bs_inside())
		run_from_a_fault_inside(sig, handler, flags, info, ctx);
	else if (flags & SA_SIGINFO)
		((void (*)(int, siginfo_t *, void *))(void *)handler)(sig, info, ctx);
	else
		handler(sig);
	bs_self.in_handler--;
	/* A handler of SIGABRT that returns, inside abort(): the C library
	 * then kills the process, the default action put back behind our
	 * back (a double free, a smashed stack). What was written goes now. */
	if (sig == SIGABRT && !bs_inside())
		bs_deliver_all_now(BS_DELIVER_SIGNAL, 0);
}

/* ---- the program's calls ---------------------------------------------------------------- */

/* What the C library would answer: the kernel's 64 mask bits, the rest
 * of the set cleared. */
static void report(const struct slot *from, struct sigaction *old)
{
	old->sa_handler = from->handler;
	sigemptyset(&old->sa_mask);
	memcpy(&old->sa_mask, &from->mask, sizeof from->mask);
	old->sa_flags = from->flags;
	old->sa_restorer = from->restorer;
}

BS_TEXT_HOT static int set_action(int sig, const struct sigaction *act, struct sigaction *old)
{
	struct slot prev;
	int rc = 0;

	bs_init();
	if (bs_inside() || !bs_active || sig < 1 || sig >= NSIGS || is_ours_to_leave(sig))
		return BS_REAL(sigaction)(sig, act, old);
	bs_enter();
	lock_slots();
	know(sig);
	prev = slots[sig];
	if (act)
		rc = install(sig, act);
	unlock_slots();
	bs_leave();
	if (rc == 0 && old)
		report(&prev, old);
	return rc;
}

BS_TEXT_HOT BS_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	return set_action(sig, act, old);
}

BS_EXPORT int __sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	return set_action(sig, act, old);
}

/* The C library's signal(): BSD semantics, SA_RESTART unless siginterrupt
 * said otherwise, the signal itself blocked in its handler. */
static sighandler_t bsd_signal_of(int sig, sighandler_t handler)
{
	struct sigaction act, old;

	if (handler == SIG_ERR || sig < 1 || sig >= NSIGS || is_ours_to_leave(sig)) {
		errno = EINVAL;
		return SIG_ERR;
	}
	memset(&act, 0, sizeof act);
	act.sa_handler = handler;
	sigemptyset(&act.sa_mask);
	sigaddset(&act.sa_mask, sig);
	act.sa_flags = (__atomic_load_n(&interrupting, __ATOMIC_RELAXED) & BIT(sig)) ? 0 : SA_RESTART;
	if (set_action(sig, &act, &old) < 0)
		return SIG_ERR;
	return old.sa_handler;
}

BS_EXPORT sighandler_t signal(int sig, sighandler_t handler)
{
	return bsd_signal_of(sig, handler);
}

BS_EXPORT sighandler_t bsd_signal(int sig, sighandler_t handler)
{
	return bsd_signal_of(sig, handler);
}

BS_EXPORT sighandler_t ssignal(int sig, sighandler_t handler)
{
	return bsd_signal_of(sig, handler);
}

/* System V semantics: once, not blocked in its handler, no restart. */
static sighandler_t sysv_signal_of(int sig, sighandler_t handler)
{
	struct sigaction act, old;

	if (handler == SIG_ERR || sig < 1 || sig >= NSIGS || is_ours_to_leave(sig)) {
		errno = EINVAL;
		return SIG_ERR;
	}
	memset(&act, 0, sizeof act);
	act.sa_handler = handler;
	sigemptyset(&act.sa_mask);
	act.sa_flags = SA_RESETHAND | SA_NODEFER | 0x20000000 /* SA_INTERRUPT */;
	if (set_action(sig, &act, &old) < 0)
		return SIG_ERR;
	return old.sa_handler;
}

BS_EXPORT sighandler_t sysv_signal(int sig, sighandler_t handler)
{
	return sysv_signal_of(sig, handler);
}

BS_EXPORT sighandler_t __sysv_signal(int sig, sighandler_t handler)
{
	return sysv_signal_of(sig, handler);
}

BS_EXPORT int siginterrupt(int sig, int flag)
{
	struct sigaction act;

	if (set_action(sig, NULL, &act) < 0)
		return -1;
	if (flag) {
		__atomic_or_fetch(&interrupting, BIT(sig), __ATOMIC_RELAXED);
		act.sa_flags &= ~SA_RESTART;
	} else {
		__atomic_and_fetch(&interrupting, ~BIT(sig), __ATOMIC_RELAXED);
		act.sa_flags |= SA_RESTART;
	}
	return set_action(sig, &act, NULL);
}

BS_EXPORT int sigignore(int sig)
{
	struct sigaction act;

	memset(&act, 0, sizeof act);
	act.sa_handler = SIG_IGN;
	sigemptyset(&act.sa_mask);
	return set_action(sig, &act, NULL);
}

/* System V's sigset: SIG_HOLD blocks the signal; anything else is set as
 * its action and unblocks it. The answer is SIG_HOLD when it was blocked. */
BS_EXPORT sighandler_t sigset(int sig, sighandler_t disp)
{
	struct sigaction act, old;
	sigset_t set, prev;

	if (disp == SIG_ERR || sig < 1 || sig >= NSIGS || is_ours_to_leave(sig)) {
		errno = EINVAL;
		return SIG_ERR;
	}
	sigemptyset(&set);
	sigaddset(&set, sig);
	if (disp == SIG_HOLD) {
		if (sigprocmask(SIG_BLOCK, &set, &prev) < 0 || set_action(sig, NULL, &old) < 0)
			return SIG_ERR;
		return sigismember(&prev, sig) ? SIG_HOLD : old.sa_handler;
	}
	memset(&act, 0, sizeof act);
	act.sa_handler = disp;
	sigemptyset(&act.sa_mask);
	if (set_action(sig, &act, &old) < 0 || sigprocmask(SIG_UNBLOCK, &set, &prev) < 0)
		return SIG_ERR;
	return sigismember(&prev, sig) ? SIG_HOLD : old.sa_handler;
}
