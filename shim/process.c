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

void bs_end_process(void)
{
	if (bs_inside() || !bs_active)
		return;		/* inside us (a signal handler): nothing is safe */
	bs_stop_buffering();
	bs_report_stats();
}

/* ---- fork ------------------------------------------------------------------------------ */

void bs_fork_prepare(void)
{
	if (bs_inside() || !bs_active)
		return;		/* a fork from a signal handler inside us */
	bs_files_fork_hold();
}

void bs_fork_parent(void)
{
	bs_files_fork_release(0);
}

void bs_fork_child(void)
{
	bs_files_fork_release(1);
	bs_timer_fork_child();
	bs_async_fork_child();
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

__attribute__((constructor)) static void bs_constructor(void)
{
	bs_init();
	if (!bs_active)
		return;
	(void)pthread_atfork(bs_fork_prepare, bs_fork_parent, bs_fork_child);
	(void)atexit(at_exit_deliver);
	/* registered first, so run last: after the program's own handlers */
	(void)at_quick_exit(bs_end_process);
	bs_stdio_bridge();
}

__attribute__((destructor)) static void bs_destructor(void)
{
	bs_end_process();
}
