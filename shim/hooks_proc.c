/* SPDX-License-Identifier: MIT */
/*
 * hooks_proc.c — process boundaries (invariant 5): pending output is
 * delivered before a process forks, spawns, execs or ends, so no child
 * doubles it, no exec loses it, and no child's output overtakes it.
 *
 * fork itself is covered by fork handlers (process.c), which also run for the
 * forks inside libc; _Fork runs none, so it is hooked here.
 */
#include "shim.h"

#include <assert.h>
#include <stdarg.h>
#include <sys/pidfd.h>
#include <unistd.h>

/* The image is about to be replaced: deliver, say what could not be, and
 * report the stats of this image. */
static void before_exec(void)
{
	if (bs_inside() || !bs_active)
		return;
	bs_deliver_all_now(BS_DELIVER_PROCESS, 1);
	bs_report_stats();
}

/* A child is about to run beside us (and we may wait for it). */
static void before_spawn(void)
{
	if (bs_active)
		bs_deliver_all_now(BS_DELIVER_PROCESS, 0);
}

/*
 * vfork stays vfork (dash starts every command with it). Everything is
 * delivered first; then the calling thread's guard is set to "vfork": the
 * child, which shares our memory and this thread, passes every call
 * straight through and never touches a buffer, and the parent clears the
 * mark the first time it comes back through the library (bs_vfork_inside).
 * The stub (arch.h) jumps to the real vfork with no frame of ours left.
 * Without a stub, vfork runs as fork, which a correct vfork child may
 * rely on too.
 */
static pid_t vfork_parent;

BS_TEXT_HOT __attribute__((used)) void *bs_vfork_prepare(void)
{
	before_spawn();
	if (!bs_inside() && bs_active) {
		vfork_parent = (pid_t)bs_sys0(SYS_getpid);
		bs_self.depth = BS_VFORK_DEPTH;
	}
	return (void *)BS_REAL(vfork);
}

BS_TEXT_HOT int bs_vfork_inside(void)
{
	if ((pid_t)bs_sys0(SYS_getpid) != vfork_parent)
		return 1;	/* the child, until it execs or exits */
	bs_self.depth = 0;	/* the parent: the child is gone */
	return 0;
}

#ifdef BS_ARCH_VFORK_STUB
__asm__(BS_ARCH_VFORK_STUB);
#else
BS_EXPORT pid_t vfork(void)
{
	return fork();
}
#endif

/*
 * A signal the program sends is a hand-over too: the process it tells may
 * go and read what we wrote ("the file is ready"), and SIGKILL or SIGSTOP
 * sent to the program itself leave no handler of ours a chance to deliver
 * (kill -9 $$, raise(SIGSTOP), bash's suspend). Every pending byte goes
 * first (one load when none is); a signal 0 only asks whether a process is
 * there. raise() of a catchable signal needs nothing: our handler delivers
 * where the default action would end or stop the process.
 */
static inline void before_signal(int sig)
{
	/* SIGKILL and SIGSTOP may end or stop this process, our helper
	 * thread with it: nothing is left to the helper (files.c,
	 * leaves_to_helper), every byte goes now, however long its reader
	 * takes, as the write itself would have waited */
	if ((sig == SIGKILL || sig == SIGSTOP) && __atomic_load_n(&bs_dirty, __ATOMIC_RELAXED))
		bs_deliver_all_now(BS_DELIVER_PROCESS, 0);
	else if (sig != 0)
		bs_deliver_before_wait();
}

BS_EXPORT int kill(pid_t pid, int sig)
{
	before_signal(sig);
	return BS_REAL(kill)(pid, sig);
}

BS_EXPORT int killpg(pid_t pgrp, int sig)
{
	before_signal(sig);
	return BS_REAL(killpg)(pgrp, sig);
}

BS_EXPORT int sigqueue(pid_t pid, int sig, const union sigval value)
{
	before_signal(sig);
	return BS_REAL(sigqueue)(pid, sig, value);
}

BS_EXPORT int raise(int sig)
{
	if (sig == SIGKILL || sig == SIGSTOP)
		before_signal(sig);
	return BS_REAL(raise)(sig);
}

/* A signal through a pidfd is a signal as kill sends it. */
BS_EXPORT int pidfd_send_signal(int pidfd, int sig, siginfo_t *info, unsigned int flags)
{
	before_signal(sig);
	return BS_REAL(pidfd_send_signal)(pidfd, sig, info, flags);
}

/*
 * clone without CLONE_VM makes a process with a copy of our memory, as
 * fork does, but runs no fork handlers: what we held would be in both.
 * It is made as a fork is (prepare, then parent or child); the child gets
 * its part from a trampoline around its function, whose frame is here (a
 * copy of it in the child's memory). With CLONE_VM the child shares our
 * memory: a thread, or a vfork-like child; left as it comes.
 */
struct clone_start {
	int (*fn)(void *);
	void *arg;
};

static int clone_child_start(void *p)
{
	struct clone_start *s = p;

	bs_fork_child();
	return s->fn(s->arg);
}

BS_EXPORT int clone(int (*fn)(void *), void *stack, int flags, void *arg, ...)
{
	struct clone_start s = { fn, arg };
	pid_t *ptid, *ctid;
	void *tls;
	va_list ap;
	int r;

	/* read whether or not flags ask for them, passed on as they are */
	va_start(ap, arg);
	ptid = va_arg(ap, pid_t *);
	tls = va_arg(ap, void *);
	ctid = va_arg(ap, pid_t *);
	va_end(ap);
	if (flags & CLONE_VM)
		return BS_REAL(clone)(fn, stack, flags, arg, ptid, tls, ctid);
	bs_fork_prepare();
	r = BS_REAL(clone)(clone_child_start, stack, flags, &s, ptid, tls, ctid);
	bs_fork_parent();
	return r;
}

BS_EXPORT pid_t _Fork(void)
{
	pid_t pid;

	bs_fork_prepare();
	pid = BS_REAL(_Fork)();
	if (pid == 0)
		bs_fork_child();
	else
		bs_fork_parent();
	return pid;
}

BS_TEXT_HOT BS_EXPORT void _exit(int status)
{
	bs_end_process();
	/* never looked up here: a process that buffered nothing may end from
	 * a signal handler, where dlsym is not safe */
	if (bs_real._exit)
		bs_real._exit(status);
	bs_sys1(SYS_exit_group, status);
	__builtin_unreachable();
}

BS_EXPORT void _Exit(int status)
{
	bs_end_process();
	if (bs_real._Exit)
		bs_real._Exit(status);
	bs_sys1(SYS_exit_group, status);
	__builtin_unreachable();
}

/* ---- exec ---------------------------------------------------------------------------- */

BS_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	before_exec();
	return BS_REAL(execve)(path, argv, envp);
}

BS_EXPORT int execv(const char *path, char *const argv[])
{
	before_exec();
	return BS_REAL(execv)(path, argv);
}

BS_EXPORT int execvp(const char *file, char *const argv[])
{
	before_exec();
	return BS_REAL(execvp)(file, argv);
}

BS_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	before_exec();
	return BS_REAL(execvpe)(file, argv, envp);
}

BS_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	before_exec();
	return BS_REAL(fexecve)(fd, argv, envp);
}

BS_EXPORT int execveat(int dirfd, const char *path, char *const argv[],
		       char *const envp[], int flags)
{
	before_exec();
	return BS_REAL(execveat)(dirfd, path, argv, envp, flags);
}

/* execl, execlp, execle: their lists become an argv on our stack. The
 * count is taken first; envp, for execle, follows the terminating NULL. */
#define BS_COLLECT_ARGS(argv, arg, envp_out)				\
	size_t n_ = 1;							\
	va_list ap_;							\
									\
	va_start(ap_, arg);						\
	while (va_arg(ap_, char *))					\
		n_++;							\
	va_end(ap_);							\
	char *argv[n_ + 1];						\
	va_start(ap_, arg);						\
	argv[0] = (char *)arg;						\
	for (size_t i_ = 1; i_ <= n_; i_++)				\
		argv[i_] = va_arg(ap_, char *);				\
	envp_out = va_arg(ap_, char **);				\
	va_end(ap_)

BS_EXPORT int execl(const char *path, const char *arg, ...)
{
	char **unused;

	BS_COLLECT_ARGS(argv, arg, unused);
	(void)unused;
	before_exec();
	return BS_REAL(execv)(path, argv);
}

BS_EXPORT int execlp(const char *file, const char *arg, ...)
{
	char **unused;

	BS_COLLECT_ARGS(argv, arg, unused);
	(void)unused;
	before_exec();
	return BS_REAL(execvp)(file, argv);
}

BS_EXPORT int execle(const char *path, const char *arg, ...)
{
	char **envp;

	BS_COLLECT_ARGS(argv, arg, envp);
	before_exec();
	return BS_REAL(execve)(path, argv, envp);
}

/* ---- spawn ------------------------------------------------------------------------------ */

BS_EXPORT int posix_spawn(pid_t *pid, const char *path,
			  const posix_spawn_file_actions_t *fa,
			  const posix_spawnattr_t *attr, char *const argv[],
			  char *const envp[])
{
	before_spawn();
	return BS_REAL(posix_spawn)(pid, path, fa, attr, argv, envp);
}

BS_EXPORT int posix_spawnp(pid_t *pid, const char *file,
			   const posix_spawn_file_actions_t *fa,
			   const posix_spawnattr_t *attr, char *const argv[],
			   char *const envp[])
{
	before_spawn();
	return BS_REAL(posix_spawnp)(pid, file, fa, attr, argv, envp);
}

BS_EXPORT int system(const char *command)
{
	before_spawn();
	return BS_REAL(system)(command);
}

BS_EXPORT FILE *popen(const char *command, const char *type)
{
	before_spawn();
	return BS_REAL(popen)(command, type);
}

/* pclose closes the pipe behind the library, then waits for the child. */
BS_EXPORT int pclose(FILE *fp)
{
	bs_fd_release(bs_stdio_fd(fp), 0);
	before_spawn();
	return BS_REAL(pclose)(fp);
}

BS_EXPORT int fcloseall(void)
{
	int r;

	before_spawn();
	r = BS_REAL(fcloseall)();
	bs_fd_forget_closed();
	return r;
}

/* ---- abnormal ends ------------------------------------------------------------------------ */

/* abort() kills the process with SIGABRT: what we hold goes out first. An
 * assertion prints its message on stderr, then aborts from inside libc:
 * buffering stops first, so that the message is written straight through. */
BS_EXPORT void abort(void)
{
	bs_stop_buffering();
	BS_REAL(abort)();
	__builtin_unreachable();
}

BS_EXPORT void __assert_fail(const char *expr, const char *file, unsigned line,
			     const char *func)
{
	bs_stop_buffering();
	BS_REAL(__assert_fail)(expr, file, line, func);
	__builtin_unreachable();
}

BS_EXPORT void __assert_perror_fail(int err, const char *file, unsigned line,
				    const char *func)
{
	bs_stop_buffering();
	BS_REAL(__assert_perror_fail)(err, file, line, func);
	__builtin_unreachable();
}
