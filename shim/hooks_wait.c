/* SPDX-License-Identifier: MIT */
/*
 * hooks_wait.c — never held while the program waits (invariant 4).
 *
 * Before the program blocks on something outside itself, every pending
 * byte is delivered, so a prompt shows and a peer waiting for our output
 * cannot deadlock with us. When nothing is pending (bs_dirty clear) each
 * hook costs one load; a call that cannot block (a read of a regular file,
 * a zero timeout, WNOHANG) delivers nothing, except that a read of a regular
 * file we hold bytes for delivers those (invariant 6: they come first).
 */
#include "shim.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

static inline void before_wait(int blocks)
{
	if (bs_unlikely(__atomic_load_n(&bs_dirty, __ATOMIC_RELAXED)) && blocks)
		bs_deliver_before_wait();
}

static int ts_blocks(const struct timespec *ts)
{
	return !ts || ts->tv_sec || ts->tv_nsec;
}

/*
 * A stop (^Z) and continue goes through our handler, after which the
 * kernel ends a poll, a sleep or a semaphore wait with EINTR where, with
 * no handler, it would have gone on waiting. Such a wait, when only our
 * stop ran and no handler of the program's, is made again. Not so the
 * calls Linux ends with EINTR after a stop even with no handler at all
 * (signal(7)): epoll_wait and epoll_pwait, semop and semtimedop,
 * sigtimedwait and sigwaitinfo say EINTR as they would without us.
 */
static inline int stopped_only(unsigned stops, unsigned handled)
{
	return bs_unlikely(bs_self.stops != stops) && bs_self.handled == handled;
}

/*
 * A handler that ran while we delivered before the wait (its signal
 * waited for the delivery to end) interrupted the program's call: it then
 * says EINTR at once, as it would have, instead of waiting its whole time
 * (Python's time.sleep after a SIGINT slept on). Which handlers count is
 * the counter `seen` of bs_self: handled, for the calls the kernel never
 * restarts after a handler (signal(7): the waits for fds, for signals,
 * sleeps, System V IPC); handled_intr, handlers without SA_RESTART, for
 * those it restarts after one with it (semaphores, message queues, the
 * wait family).
 */
static inline int handled_meanwhile(unsigned handled)
{
	return bs_unlikely(bs_self.handled != handled);
}

/* Such a wait; made again after our own stop action if again. waits: it
 * may block (a zero timeout delivers first too, and does not block). */
#define BS_WAIT_EINTR_HOOK(ret, name, params, blocks, waits, args, seen, again) \
	BS_EXPORT ret name params					\
	{								\
		unsigned stops_, handled_, seen_ = bs_self.seen;	\
		ret r_;							\
									\
		before_wait(blocks);					\
		if (bs_unlikely(bs_self.seen != seen_) && (waits)) {	\
			errno = EINTR;					\
			return -1;					\
		}							\
		do {							\
			stops_ = bs_self.stops;				\
			handled_ = bs_self.handled;			\
			r_ = BS_REAL(name) args;			\
		} while ((again) && r_ == -1 && errno == EINTR &&	\
			 stopped_only(stops_, handled_));		\
		return r_;						\
	}

/* never restarted after a handler */
#define BS_WAIT_INTR_HOOK_T(ret, name, params, blocks, waits, args, again) \
	BS_WAIT_EINTR_HOOK(ret, name, params, blocks, waits, args, handled, again)
#define BS_WAIT_INTR_HOOK(ret, name, params, blocks, args, again)	\
	BS_WAIT_INTR_HOOK_T(ret, name, params, blocks, blocks, args, again)
/* restarted after an SA_RESTART handler; made again after our stop */
#define BS_WAIT_AGAIN_HOOK(ret, name, params, blocks, args)		\
	BS_WAIT_EINTR_HOOK(ret, name, params, blocks, blocks, args, handled_intr, 1)
/* the same, left to the kernel after a stop (the wait family) */
#define BS_WAIT_RESTARTED_HOOK(ret, name, params, blocks, args)	\
	BS_WAIT_EINTR_HOOK(ret, name, params, blocks, blocks, args, handled_intr, 0)

/* Declared by the C library's headers only when fortifying. */
ssize_t __pread_chk(int fd, void *b, size_t n, off_t o, size_t bl);
ssize_t __pread64_chk(int fd, void *b, size_t n, off64_t o, size_t bl);

/* ---- reads ------------------------------------------------------------------------ */

/* A handler without SA_RESTART that ran during the delivery before a read
 * that would block interrupted it: -1/EINTR, as without the library. */
#define BS_READ_HOOK(ret, name, params, args)				\
	BS_EXPORT ret name params					\
	{								\
		if (bs_unlikely(bs_before_read(fd))) {			\
			errno = EINTR;					\
			return -1;					\
		}							\
		return BS_REAL(name) args;				\
	}
BS_READ_HOOK(ssize_t, read, (int fd, void *b, size_t n), (fd, b, n))
BS_READ_HOOK(ssize_t, readv, (int fd, const struct iovec *v, int n), (fd, v, n))
BS_READ_HOOK(ssize_t, __read_chk, (int fd, void *b, size_t n, size_t bl), (fd, b, n, bl))
BS_READ_HOOK(ssize_t, pread, (int fd, void *b, size_t n, off_t o), (fd, b, n, o))
BS_READ_HOOK(ssize_t, pread64, (int fd, void *b, size_t n, off64_t o), (fd, b, n, o))
BS_READ_HOOK(ssize_t, __pread_chk, (int fd, void *b, size_t n, off_t o, size_t bl),
	     (fd, b, n, o, bl))
BS_READ_HOOK(ssize_t, __pread64_chk, (int fd, void *b, size_t n, off64_t o, size_t bl),
	     (fd, b, n, o, bl))
BS_READ_HOOK(ssize_t, preadv, (int fd, const struct iovec *v, int n, off_t o), (fd, v, n, o))
BS_READ_HOOK(ssize_t, preadv64, (int fd, const struct iovec *v, int n, off64_t o),
	     (fd, v, n, o))
BS_READ_HOOK(ssize_t, preadv2, (int fd, const struct iovec *v, int n, off_t o, int fl),
	     (fd, v, n, o, fl))
BS_READ_HOOK(ssize_t, preadv64v2, (int fd, const struct iovec *v, int n, off64_t o, int fl),
	     (fd, v, n, o, fl))
BS_READ_HOOK(ssize_t, recv, (int fd, void *b, size_t n, int fl), (fd, b, n, fl))
BS_READ_HOOK(ssize_t, __recv_chk, (int fd, void *b, size_t n, size_t bl, int fl),
	     (fd, b, n, bl, fl))
BS_READ_HOOK(ssize_t, recvfrom, (int fd, void *b, size_t n, int fl, struct sockaddr *a,
				 socklen_t *al), (fd, b, n, fl, a, al))
BS_READ_HOOK(ssize_t, __recvfrom_chk, (int fd, void *b, size_t n, size_t bl, int fl,
				       struct sockaddr *a, socklen_t *al),
	     (fd, b, n, bl, fl, a, al))
BS_READ_HOOK(ssize_t, recvmsg, (int fd, struct msghdr *m, int fl), (fd, m, fl))
BS_READ_HOOK(int, recvmmsg, (int fd, struct mmsghdr *m, unsigned n, int fl,
			     struct timespec *t), (fd, m, n, fl, t))

/* accept waits for a peer, and makes an fd. */
BS_EXPORT int accept(int fd, struct sockaddr *a, socklen_t *al)
{
	before_wait(1);
	return bs_fd_fresh(BS_REAL(accept)(fd, a, al));
}

BS_EXPORT int accept4(int fd, struct sockaddr *a, socklen_t *al, int fl)
{
	before_wait(1);
	return bs_fd_fresh(BS_REAL(accept4)(fd, a, al, fl));
}

/* ---- readiness -------------------------------------------------------------------- */

#define BS_WAIT_HOOK(ret, name, params, blocks, args)			\
	BS_HOOK(ret, name, params, args, before_wait(blocks))

/* A zero timeout waits too: a program that writes to its own pipe and
 * asks whether it is readable must find it so. */
BS_WAIT_INTR_HOOK_T(int, poll, (struct pollfd *p, nfds_t n, int t), 1, t != 0, (p, n, t), 1)
BS_WAIT_INTR_HOOK_T(int, __poll_chk, (struct pollfd *p, nfds_t n, int t, size_t l), 1, t != 0,
		    (p, n, t, l), 1)
BS_WAIT_INTR_HOOK_T(int, ppoll, (struct pollfd *p, nfds_t n, const struct timespec *t,
			    const sigset_t *m), 1, ts_blocks(t), (p, n, t, m), 1)
BS_WAIT_INTR_HOOK_T(int, __ppoll_chk, (struct pollfd *p, nfds_t n, const struct timespec *t,
				  const sigset_t *m, size_t l), 1, ts_blocks(t), (p, n, t, m, l), 1)
BS_WAIT_INTR_HOOK_T(int, select, (int n, fd_set *r, fd_set *w, fd_set *e, struct timeval *t), 1,
		    !t || t->tv_sec || t->tv_usec, (n, r, w, e, t), 1)
BS_WAIT_INTR_HOOK_T(int, pselect, (int n, fd_set *r, fd_set *w, fd_set *e,
			      const struct timespec *t, const sigset_t *m), 1, ts_blocks(t),
		    (n, r, w, e, t, m), 1)
BS_WAIT_INTR_HOOK_T(int, epoll_wait, (int fd, struct epoll_event *ev, int n, int t), 1, t != 0,
		    (fd, ev, n, t), 0)
BS_WAIT_INTR_HOOK_T(int, epoll_pwait, (int fd, struct epoll_event *ev, int n, int t,
				  const sigset_t *m), 1, t != 0, (fd, ev, n, t, m), 0)
BS_WAIT_INTR_HOOK_T(int, epoll_pwait2, (int fd, struct epoll_event *ev, int n,
				   const struct timespec *t, const sigset_t *m), 1, ts_blocks(t),
		    (fd, ev, n, t, m), 0)

/* A blocking connect waits for its peer. */
BS_WAIT_HOOK(int, connect, (int fd, const struct sockaddr *a, socklen_t al), 1, (fd, a, al))

/* ---- other threads ---------------------------------------------------------------- */

/* A thread that waits for another may wait for one that waits for our
 * bytes (a reader of our own pipe): they go first. */
BS_WAIT_HOOK(int, pthread_cond_wait, (pthread_cond_t *c, pthread_mutex_t *m), 1, (c, m))
BS_WAIT_HOOK(int, pthread_cond_timedwait, (pthread_cond_t *c, pthread_mutex_t *m,
					   const struct timespec *t), 1, (c, m, t))
BS_WAIT_HOOK(int, pthread_cond_clockwait, (pthread_cond_t *c, pthread_mutex_t *m,
					   clockid_t k, const struct timespec *t), 1, (c, m, k, t))
BS_WAIT_AGAIN_HOOK(int, sem_wait, (sem_t *s), 1, (s))
BS_WAIT_AGAIN_HOOK(int, sem_timedwait, (sem_t *s, const struct timespec *t), 1, (s, t))
BS_WAIT_AGAIN_HOOK(int, sem_clockwait, (sem_t *s, clockid_t k, const struct timespec *t), 1,
	     (s, k, t))
/*
 * A semaphore shared between processes tells another process to go on
 * (Python's multiprocessing.Lock and Semaphore are such): what this one
 * wrote goes first, as before a kill. One private to the process hands
 * nothing over (Python's threading locks post one at every release).
 * glibc's sem_t: a 64-bit value, then 0 when private, FUTEX_PRIVATE_FLAG
 * when shared (sem_init with pshared, sem_open: glibc flips the flag).
 */
static int sem_shared(const sem_t *s)
{
	const int *w = (const int *)(const void *)s;

	return w[2] != 0;
}

BS_EXPORT int sem_post(sem_t *s)
{
	before_wait(sem_shared(s));
	return BS_REAL(sem_post)(s);
}

BS_WAIT_HOOK(int, pthread_join, (pthread_t th, void **r), 1, (th, r))
BS_WAIT_HOOK(int, pthread_timedjoin_np, (pthread_t th, void **r, const struct timespec *t), 1,
	     (th, r, t))
BS_WAIT_HOOK(int, pthread_clockjoin_np, (pthread_t th, void **r, clockid_t k,
					 const struct timespec *t), 1, (th, r, k, t))
BS_WAIT_HOOK(int, pthread_barrier_wait, (pthread_barrier_t *b), 1, (b))

/* ---- locks and System V / POSIX IPC -------------------------------------------------- */

/* A lock taken or given up, waiting or not, orders this process's writes
 * with another's (and lockf counts from the file position, which held
 * bytes would leave behind): what we hold goes first. Only lockf's F_TEST
 * changes nothing. */
BS_WAIT_HOOK(int, flock, (int fd, int op), 1, (fd, op))
BS_WAIT_HOOK(int, lockf, (int fd, int cmd, off_t len), cmd != F_TEST, (fd, cmd, len))
BS_WAIT_HOOK(int, lockf64, (int fd, int cmd, off64_t len), cmd != F_TEST, (fd, cmd, len))
BS_WAIT_INTR_HOOK(ssize_t, msgrcv, (int id, void *p, size_t n, long type, int fl),
	     !(fl & IPC_NOWAIT), (id, p, n, type, fl), 1)
BS_WAIT_INTR_HOOK(int, msgsnd, (int id, const void *p, size_t n, int fl), !(fl & IPC_NOWAIT),
	     (id, p, n, fl), 1)
BS_WAIT_INTR_HOOK(int, semop, (int id, struct sembuf *ops, size_t n), 1, (id, ops, n), 0)
BS_WAIT_INTR_HOOK(int, semtimedop, (int id, struct sembuf *ops, size_t n, const struct timespec *t),
	     1, (id, ops, n, t), 0)
BS_WAIT_AGAIN_HOOK(ssize_t, mq_receive, (mqd_t q, char *p, size_t n, unsigned *pr), 1, (q, p, n, pr))
BS_WAIT_AGAIN_HOOK(ssize_t, mq_timedreceive, (mqd_t q, char *p, size_t n, unsigned *pr,
					const struct timespec *t), 1, (q, p, n, pr, t))
BS_WAIT_AGAIN_HOOK(int, mq_send, (mqd_t q, const char *p, size_t n, unsigned pr), 1, (q, p, n, pr))
BS_WAIT_AGAIN_HOOK(int, mq_timedsend, (mqd_t q, const char *p, size_t n, unsigned pr,
				 const struct timespec *t), 1, (q, p, n, pr, t))

/* libaio's: defined only where a program loaded it. */
BS_EXPORT int io_getevents(void *ctx, long min, long n, struct io_event *ev, struct timespec *t)
{
	before_wait(min > 0);
	if (!BS_REAL(io_getevents))
		return -ENOSYS;
	return BS_REAL(io_getevents)(ctx, min, n, ev, t);
}

/* ---- children ----------------------------------------------------------------------- */

BS_WAIT_RESTARTED_HOOK(pid_t, wait, (int *st), 1, (st))
BS_WAIT_RESTARTED_HOOK(pid_t, waitpid, (pid_t p, int *st, int o), !(o & WNOHANG), (p, st, o))
BS_WAIT_RESTARTED_HOOK(pid_t, wait3, (int *st, int o, struct rusage *r), !(o & WNOHANG), (st, o, r))
BS_WAIT_RESTARTED_HOOK(pid_t, wait4, (pid_t p, int *st, int o, struct rusage *r), !(o & WNOHANG),
	     (p, st, o, r))
BS_WAIT_RESTARTED_HOOK(int, waitid, (idtype_t t, id_t id, siginfo_t *i, int o), !(o & WNOHANG),
	     (t, id, i, o))

/* ---- time and signals ------------------------------------------------------------------ */

BS_EXPORT unsigned sleep(unsigned s)
{
	unsigned stops, handled = bs_self.handled;

	before_wait(s != 0);
	if (handled_meanwhile(handled))
		return s;	/* interrupted before a second went by */
	do {
		stops = bs_self.stops;
		handled = bs_self.handled;
		s = BS_REAL(sleep)(s);
	} while (s && stopped_only(stops, handled));
	return s;
}
BS_WAIT_INTR_HOOK(int, usleep, (useconds_t u), u != 0, (u), 1)
BS_EXPORT int nanosleep(const struct timespec *t, struct timespec *rem)
{
	struct timespec left;
	unsigned stops, handled = bs_self.handled;
	int r;

	before_wait(ts_blocks(t));
	if (handled_meanwhile(handled) && ts_blocks(t)) {
		if (rem)
			*rem = *t;	/* none of it slept */
		errno = EINTR;
		return -1;
	}
	for (;;) {
		stops = bs_self.stops;
		handled = bs_self.handled;
		r = BS_REAL(nanosleep)(t, &left);
		if (!(r == -1 && errno == EINTR && stopped_only(stops, handled)))
			break;
		t = &left;	/* what is left of it */
	}
	if (r == -1 && errno == EINTR && rem)
		*rem = left;
	return r;
}

/* This one answers with the error number itself. */
BS_EXPORT int clock_nanosleep(clockid_t c, int fl, const struct timespec *t, struct timespec *rem)
{
	struct timespec left;
	unsigned stops, handled = bs_self.handled;
	int r;

	before_wait(1);
	if (handled_meanwhile(handled)) {
		if (rem && !(fl & TIMER_ABSTIME))
			*rem = *t;	/* none of it slept */
		return EINTR;
	}
	for (;;) {
		stops = bs_self.stops;
		handled = bs_self.handled;
		r = BS_REAL(clock_nanosleep)(c, fl, t, &left);
		if (!(r == EINTR && stopped_only(stops, handled)))
			break;
		if (!(fl & TIMER_ABSTIME))
			t = &left;
	}
	if (r == EINTR && rem && !(fl & TIMER_ABSTIME))
		*rem = left;
	return r;
}
BS_WAIT_INTR_HOOK(int, pause, (void), 1, (), 1)
BS_WAIT_INTR_HOOK(int, sigsuspend, (const sigset_t *m), 1, (m), 1)
BS_WAIT_HOOK(int, sigwait, (const sigset_t *m, int *s), 1, (m, s))
BS_WAIT_INTR_HOOK(int, sigwaitinfo, (const sigset_t *m, siginfo_t *i), 1, (m, i), 0)
BS_WAIT_INTR_HOOK(int, sigtimedwait, (const sigset_t *m, siginfo_t *i, const struct timespec *t),
	     ts_blocks(t), (m, i, t), 0)

/* getpass writes its prompt to the terminal and reads the answer there,
 * both inside the C library: what the program wrote before comes first. */
BS_WAIT_HOOK(char *, getpass, (const char *prompt), 1, (prompt))

/* sigpause as programs built for X/Open call it, and the BSD one: a wait
 * for a signal, inside the C library's own sigsuspend */
int __xpg_sigpause(int sig);
int __sigpause(int sig_or_mask, int is_sig);
BS_WAIT_INTR_HOOK(int, __xpg_sigpause, (int sig), 1, (sig), 1)
BS_WAIT_INTR_HOOK(int, __sigpause, (int m, int is_sig), 1, (m, is_sig), 1)

/* C11 threads: inside the C library, on its own pthread calls */
BS_WAIT_HOOK(int, thrd_sleep, (const struct timespec *t, struct timespec *rem), ts_blocks(t),
	     (t, rem))
BS_WAIT_HOOK(int, thrd_join, (thrd_t th, int *r), 1, (th, r))
BS_WAIT_HOOK(int, cnd_wait, (cnd_t *c, mtx_t *m), 1, (c, m))
BS_WAIT_HOOK(int, cnd_timedwait, (cnd_t *c, mtx_t *m, const struct timespec *t), 1, (c, m, t))
