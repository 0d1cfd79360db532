/* SPDX-License-Identifier: MIT */
/*
 * guard.h — the re-entry guard: the one way into and out of library code.
 *
 * While a thread runs library code its depth is nonzero, and every hook it
 * reaches passes straight through: the library's own calls into the C
 * library, the C library calling back into us (dlsym, stdio), and a signal
 * handler that interrupted us. Every section is one bs_enter and one
 * bs_leave (libfiu's rec_inc/rec_dec): sections nest, and only the
 * outermost leave ends the thread's time inside.
 *
 * The compiler fences order the depth against the section's own memory
 * accesses as a signal handler on this thread sees them. A signal that
 * arrives inside a section waits, blocked, until the outermost leave
 * (signals.c): a handler never sees the library half-way.
 *
 * Build with -DBS_GUARD_DEBUG (make GUARD_DEBUG=1) to check that every
 * leave matches an enter, and to name the outermost section in the message.
 */
#ifndef BS_GUARD_H
#define BS_GUARD_H

#include <errno.h>
#include <stdint.h>

#define BS_TLS __thread __attribute__((tls_model("initial-exec")))

struct bs_thread {
	int depth;		/* library sections this thread is inside */
	int restart;		/* a deferred signal's handler asked for SA_RESTART
				 * and the call it interrupted said EINTR */
	uint64_t deferred;	/* signals held back until the section ends:
				 * bit sig - 1, pending and blocked meanwhile */
	uint64_t hurry_until;	/* while a signal stops or ends the process,
				 * this thread's deliveries wait for a reader
				 * until then (ns), no longer; 0: no limit */
	int no_wait;		/* a delivery before the program waits: a pipe,
				 * socket or terminal whose reader is not
				 * reading is not waited for (files.c) */
	unsigned stops;		/* times our stop action ran on this thread */
	unsigned handled;	/* times a program handler ran on this thread */
	unsigned handled_intr;	/* of those, handlers without SA_RESTART */
	int in_handler;		/* program handlers running on this thread (one
				 * left by siglongjmp is never taken off: what
				 * this guards then just stays cautious) */
#ifdef BS_GUARD_DEBUG
	const char *outer;	/* the outermost section's function */
#endif
};

extern BS_TLS struct bs_thread bs_self;

#ifdef BS_GUARD_DEBUG
void bs_guard_check(const char *where, int depth);
#define BS_GUARD_NOTE_ENTER()						\
	do {								\
		if (bs_self.depth == 0)					\
			bs_self.outer = __func__;			\
		bs_guard_check(__func__, bs_self.depth);		\
	} while (0)
#define BS_GUARD_NOTE_LEAVE() bs_guard_check(__func__, bs_self.depth - 1)
#else
#define BS_GUARD_NOTE_ENTER() ((void)0)
#define BS_GUARD_NOTE_LEAVE() ((void)0)
#endif

/* The depth vfork leaves on the calling thread (hooks_proc.c): the child
 * passes everything through, the parent clears it at its first call. */
#define BS_VFORK_DEPTH 0x40000000
int bs_vfork_inside(void);

/* Whether this thread is inside library code: a hook then passes through. */
static inline int bs_inside(void)
{
	if (__builtin_expect(bs_self.depth == 0, 1))
		return 0;
	if (__builtin_expect(bs_self.depth == BS_VFORK_DEPTH, 0))
		return bs_vfork_inside();
	return 1;
}

/* A section whose errno is its result (a write that failed says why). */
#define bs_enter()							\
	do {								\
		BS_GUARD_NOTE_ENTER();					\
		bs_self.depth++;					\
		__atomic_signal_fence(__ATOMIC_SEQ_CST);		\
	} while (0)

/* The outermost leave lets the signals that waited in (errno kept). */
void bs_signals_release(void);

#define bs_leave()							\
	do {								\
		BS_GUARD_NOTE_LEAVE();					\
		__atomic_signal_fence(__ATOMIC_SEQ_CST);		\
		if (--bs_self.depth == 0 && __builtin_expect(bs_self.deferred != 0, 0)) \
			bs_signals_release();				\
	} while (0)

/* A section inside one of the program's calls that must not change its
 * errno (a delivery before a wait, a look at a file): the same guard,
 * with errno kept in the caller's variable. */
#define bs_enter_quiet(saved)						\
	do {								\
		(saved) = errno;					\
		bs_enter();						\
	} while (0)

#define bs_leave_quiet(saved)						\
	do {								\
		bs_leave();						\
		errno = (saved);					\
	} while (0)

#endif
