/* SPDX-License-Identifier: MIT */
/*
 * process.c — a process's life as the library sees it: the constructor,
 * fork, the stats, the end (exit, _exit, exec, quick_exit), and the
 * library's own threads.
 */
#include "shim.h"

#include <pthread.h>
#include <signal.h>

/* ---- the end of a process ----------------------------------------------------------- */

/* First delivery at exit, before destructors and handlers registered before
 * ours run: they may wait on a reader of our output. */
static void at_exit_deliver(void)
{
	bs_deliver_all_now(BS_DELIVER_EXIT, 1);
}

BS_TEXT_START void bs_end_process(void)
{
	if (bs_inside() || !bs_active)
		return;		/* inside us (a signal handler): nothing is safe */
	bs_stop_buffering();
	bs_report_stats();
}

/* ---- fork ------------------------------------------------------------------------------ */

/* From the prepare handler to the parent's or the child's, the thread that
 * forks is inside the library: a signal handler that comes meanwhile (the
 * delivery can wait on a reader) runs in the parent once fork is done,
 * not on buffers held half-way or locked by its own thread. The child's
 * leave only unblocks: a child starts with no signal pending. */
static BS_TLS int fork_guarded;	/* (_Fork and clone reach these too,
					 * outside the C library's fork lock) */

void bs_fork_prepare(void)
{
	if (bs_inside() || !bs_active)
		return;		/* a fork from a signal handler inside us */
	bs_enter();
	fork_guarded = 1;
	bs_files_fork_hold();
}

static void fork_done(void)
{
	if (fork_guarded) {
		fork_guarded = 0;
		bs_leave();
	}
}

void bs_fork_parent(void)
{
	bs_files_fork_release(0);
	fork_done();
}

void bs_fork_child(void)
{
	/* a hurry a fatal signal started in the parent is not the child's */
	bs_self.hurry_until = 0;
	bs_self.restart = 0;
	bs_files_fork_release(1);
	bs_timer_fork_child();
	bs_async_fork_child();
	fork_done();
}

/* ---- the library's own threads ------------------------------------------------------ */

int bs_start_thread(void *(*fn)(void *))
{
	sigset_t all, old;
	pthread_attr_t attr;
	pthread_t t;
	int rc;

	/* It takes none of the program's signals: made with all blocked. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, (size_t)64 * 1024);
	rc = pthread_create(&t, &attr, fn, NULL);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

/* ---- start ------------------------------------------------------------------------------- */

/* What pthread_atfork, atexit and at_quick_exit do: the C library links
 * them into us as stubs of its own, at the far end of our code, a page of
 * their own to fault in at every start; the calls they make, made here. */
extern int __register_atfork(void (*prepare)(void), void (*parent)(void),
			     void (*child)(void), void *dso);
extern int __cxa_atexit(void (*fn)(void *), void *arg, void *dso);
extern int __cxa_at_quick_exit(void (*fn)(void *), void *dso);
/* What identifies this library to those calls. The C runtime's start files
 * (crtbeginS) would define it, with code of their own that runs at every
 * start and end on a page of ours that nothing else needs; the library is
 * linked without them (Makefile), so it is ours. */
__attribute__((visibility("hidden"))) void *__dso_handle = &__dso_handle;

BS_TEXT_START static void at_exit_deliver_arg(void *unused)
{
	(void)unused;
	at_exit_deliver();
}

BS_TEXT_START static void end_process_arg(void *unused)
{
	(void)unused;
	bs_end_process();
}

__attribute__((constructor)) static void bs_constructor(void)
{
	bs_init();
	if (!bs_active)
		return;
	(void)__register_atfork(bs_fork_prepare, bs_fork_parent, bs_fork_child, __dso_handle);
	(void)__cxa_atexit(at_exit_deliver_arg, NULL, __dso_handle);
	/* registered first, so run last: after the program's own handlers */
	(void)__cxa_at_quick_exit(end_process_arg, __dso_handle);
	bs_stdio_bridge();
}

__attribute__((destructor)) static void bs_destructor(void)
{
	bs_end_process();
}
