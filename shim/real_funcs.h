/* SPDX-License-Identifier: MIT */
/*
 * real_funcs.h — every function the library interposes, as X-macro lists of
 * (name, return type, parameter types). One list makes the table of real
 * functions (shim.h) and the version script (the only exported symbols).
 * No includes here: the version script is made from this file alone.
 */
#ifndef BS_REAL_FUNCS_H
#define BS_REAL_FUNCS_H

#define BS_REAL_FUNCS(X)						\
	X(write, ssize_t, (int, const void *, size_t))			\
	X(writev, ssize_t, (int, const struct iovec *, int))		\
	X(close, int, (int))						\
	X(syscall, long, (long, ...))					\
	X(fsync, int, (int))						\
	X(fdatasync, int, (int))					\
	X(_exit, void, (int))						\
	X(_Exit, void, (int))						\
	X(fclose, int, (FILE *))					\
	X(freopen, FILE *, (const char *, const char *, FILE *))	\
	X(freopen64, FILE *, (const char *, const char *, FILE *))	\
	X(fdopen, FILE *, (int, const char *))				\
	X(daemon, int, (int, int))					\
	X(dup, int, (int))						\
	X(dup2, int, (int, int))					\
	X(dup3, int, (int, int, int))					\
	X(fcntl, int, (int, int, ...))					\
	X(fcntl64, int, (int, int, ...))				\
	X(open, int, (const char *, int, ...))				\
	X(open64, int, (const char *, int, ...))			\
	X(openat, int, (int, const char *, int, ...))			\
	X(openat64, int, (int, const char *, int, ...))			\
	X(__open_2, int, (const char *, int))				\
	X(__open64_2, int, (const char *, int))				\
	X(__openat_2, int, (int, const char *, int))			\
	X(__openat64_2, int, (int, const char *, int))			\
	X(creat, int, (const char *, mode_t))				\
	X(creat64, int, (const char *, mode_t))				\
	X(fopen, FILE *, (const char *, const char *))			\
	X(fopen64, FILE *, (const char *, const char *))		\
	X(sigaction, int, (int, const struct sigaction *, struct sigaction *)) \
	BS_REAL_FD_FUNCS(X) BS_REAL_LOOK_FUNCS(X) BS_REAL_PROC_FUNCS(X) BS_REAL_WAIT_FUNCS(X)	\
	BS_REAL_STDIO_FUNCS(X)

/* calls that look at a file we may hold bytes for (invariant 6) */
#define BS_REAL_LOOK_FUNCS(X)						\
	X(mmap, void *, (void *, size_t, int, int, int, off_t))		\
	X(mmap64, void *, (void *, size_t, int, int, int, off64_t))	\
	X(truncate, int, (const char *, off_t))				\
	X(truncate64, int, (const char *, off64_t))			\
	X(futimens, int, (int, const struct timespec *))		\
	X(futimes, int, (int, const struct timeval *))			\
	X(utimensat, int, (int, const char *, const struct timespec *, int)) \
	X(futimesat, int, (int, const char *, const struct timeval *))	\
	X(utimes, int, (const char *, const struct timeval *))		\
	X(lutimes, int, (const char *, const struct timeval *))		\
	X(utime, int, (const char *, const struct utimbuf *))		\
	X(fchmod, int, (int, mode_t))					\
	X(fchown, int, (int, uid_t, gid_t))				\
	X(fsetxattr, int, (int, const char *, const void *, size_t, int)) \
	X(chmod, int, (const char *, mode_t))				\
	X(fchmodat, int, (int, const char *, mode_t, int))		\
	X(chown, int, (const char *, uid_t, gid_t))			\
	X(lchown, int, (const char *, uid_t, gid_t))			\
	X(fchownat, int, (int, const char *, uid_t, gid_t, int))	\
	X(setxattr, int, (const char *, const char *, const void *, size_t, int)) \
	X(lsetxattr, int, (const char *, const char *, const void *, size_t, int)) \
	X(stat, int, (const char *, struct stat *))			\
	X(stat64, int, (const char *, struct stat64 *))			\
	X(lstat, int, (const char *, struct stat *))			\
	X(lstat64, int, (const char *, struct stat64 *))		\
	X(fstat, int, (int, struct stat *))				\
	X(fstat64, int, (int, struct stat64 *))				\
	X(fstatat, int, (int, const char *, struct stat *, int))	\
	X(fstatat64, int, (int, const char *, struct stat64 *, int))	\
	X(statx, int, (int, const char *, int, unsigned, struct statx *)) \
	X(__xstat, int, (int, const char *, struct stat *))		\
	X(__xstat64, int, (int, const char *, struct stat64 *))		\
	X(__lxstat, int, (int, const char *, struct stat *))		\
	X(__lxstat64, int, (int, const char *, struct stat64 *))	\
	X(__fxstat, int, (int, int, struct stat *))			\
	X(__fxstat64, int, (int, int, struct stat64 *))			\
	X(__fxstatat, int, (int, int, const char *, struct stat *, int)) \
	X(__fxstatat64, int, (int, int, const char *, struct stat64 *, int))

/* fd boundaries (invariant 6) */
#define BS_REAL_FD_FUNCS(X)						\
	X(close_range, int, (unsigned, unsigned, int))			\
	X(closefrom, void, (int))					\
	X(pwrite, ssize_t, (int, const void *, size_t, off_t))		\
	X(pwrite64, ssize_t, (int, const void *, size_t, off64_t))	\
	X(pwritev, ssize_t, (int, const struct iovec *, int, off_t))	\
	X(pwritev64, ssize_t, (int, const struct iovec *, int, off64_t)) \
	X(pwritev2, ssize_t, (int, const struct iovec *, int, off_t, int)) \
	X(pwritev64v2, ssize_t, (int, const struct iovec *, int, off64_t, int)) \
	X(lseek, off_t, (int, off_t, int))				\
	X(lseek64, off64_t, (int, off64_t, int))			\
	X(ftruncate, int, (int, off_t))					\
	X(ftruncate64, int, (int, off64_t))				\
	X(fallocate, int, (int, int, off_t, off_t))			\
	X(fallocate64, int, (int, int, off64_t, off64_t))		\
	X(posix_fallocate, int, (int, off_t, off_t))			\
	X(posix_fallocate64, int, (int, off64_t, off64_t))		\
	X(sendfile, ssize_t, (int, int, off_t *, size_t))		\
	X(sendfile64, ssize_t, (int, int, off64_t *, size_t))		\
	X(splice, ssize_t, (int, off64_t *, int, off64_t *, size_t, unsigned)) \
	X(tee, ssize_t, (int, int, size_t, unsigned))			\
	X(copy_file_range, ssize_t, (int, off64_t *, int, off64_t *, size_t, unsigned)) \
	X(send, ssize_t, (int, const void *, size_t, int))		\
	X(sendto, ssize_t, (int, const void *, size_t, int, const struct sockaddr *, socklen_t)) \
	X(sendmsg, ssize_t, (int, const struct msghdr *, int))		\
	X(sendmmsg, int, (int, struct mmsghdr *, unsigned, int))	\
	X(vmsplice, ssize_t, (int, const struct iovec *, size_t, unsigned)) \
	X(sync, void, (void))						\
	X(syncfs, int, (int))						\
	X(sync_file_range, int, (int, off64_t, off64_t, unsigned))	\
	X(shutdown, int, (int, int))					\
	X(ioctl, int, (int, unsigned long, ...))				\
	X(tcsetattr, int, (int, int, const struct termios *))		\
	X(tcdrain, int, (int))						\
	X(tcflush, int, (int, int))					\
	X(tcflow, int, (int, int))					\
	X(tcsendbreak, int, (int, int))

/* process boundaries (invariant 5) */
#define BS_REAL_PROC_FUNCS(X)						\
	X(_Fork, pid_t, (void))						\
	X(clone, int, (int (*)(void *), void *, int, void *, ...))	\
	X(pidfd_send_signal, int, (int, int, siginfo_t *, unsigned int)) \
	X(vfork, pid_t, (void))						\
	X(execve, int, (const char *, char *const[], char *const[]))	\
	X(execv, int, (const char *, char *const[]))			\
	X(execvp, int, (const char *, char *const[]))			\
	X(execvpe, int, (const char *, char *const[], char *const[]))	\
	X(fexecve, int, (int, char *const[], char *const[]))		\
	X(execveat, int, (int, const char *, char *const[], char *const[], int)) \
	X(posix_spawn, int, (pid_t *, const char *, const posix_spawn_file_actions_t *, \
			     const posix_spawnattr_t *, char *const[], char *const[])) \
	X(posix_spawnp, int, (pid_t *, const char *, const posix_spawn_file_actions_t *, \
			      const posix_spawnattr_t *, char *const[], char *const[])) \
	X(system, int, (const char *))					\
	X(popen, FILE *, (const char *, const char *))			\
	X(pclose, int, (FILE *))					\
	X(fcloseall, int, (void))					\
	X(abort, void, (void))						\
	X(kill, int, (pid_t, int))					\
	X(killpg, int, (pid_t, int))					\
	X(sigqueue, int, (pid_t, int, const union sigval))		\
	X(raise, int, (int))						\
	X(__assert_fail, void, (const char *, const char *, unsigned, const char *)) \
	X(__assert_perror_fail, void, (int, const char *, unsigned, const char *))

/* waits (invariant 4) */
#define BS_REAL_WAIT_FUNCS(X)						\
	X(read, ssize_t, (int, void *, size_t))				\
	X(readv, ssize_t, (int, const struct iovec *, int))		\
	X(__read_chk, ssize_t, (int, void *, size_t, size_t))		\
	X(pread, ssize_t, (int, void *, size_t, off_t))			\
	X(pread64, ssize_t, (int, void *, size_t, off64_t))		\
	X(__pread_chk, ssize_t, (int, void *, size_t, off_t, size_t))	\
	X(__pread64_chk, ssize_t, (int, void *, size_t, off64_t, size_t)) \
	X(preadv, ssize_t, (int, const struct iovec *, int, off_t))	\
	X(preadv64, ssize_t, (int, const struct iovec *, int, off64_t))	\
	X(preadv2, ssize_t, (int, const struct iovec *, int, off_t, int)) \
	X(preadv64v2, ssize_t, (int, const struct iovec *, int, off64_t, int)) \
	X(recv, ssize_t, (int, void *, size_t, int))			\
	X(__recv_chk, ssize_t, (int, void *, size_t, size_t, int))	\
	X(recvfrom, ssize_t, (int, void *, size_t, int, struct sockaddr *, socklen_t *)) \
	X(__recvfrom_chk, ssize_t, (int, void *, size_t, size_t, int, struct sockaddr *, socklen_t *)) \
	X(recvmsg, ssize_t, (int, struct msghdr *, int))		\
	X(recvmmsg, int, (int, struct mmsghdr *, unsigned, int, struct timespec *)) \
	X(accept, int, (int, struct sockaddr *, socklen_t *))		\
	X(accept4, int, (int, struct sockaddr *, socklen_t *, int))	\
	X(poll, int, (struct pollfd *, nfds_t, int))			\
	X(__poll_chk, int, (struct pollfd *, nfds_t, int, size_t))	\
	X(ppoll, int, (struct pollfd *, nfds_t, const struct timespec *, const sigset_t *)) \
	X(__ppoll_chk, int, (struct pollfd *, nfds_t, const struct timespec *, const sigset_t *, size_t)) \
	X(select, int, (int, fd_set *, fd_set *, fd_set *, struct timeval *)) \
	X(pselect, int, (int, fd_set *, fd_set *, fd_set *, const struct timespec *, const sigset_t *)) \
	X(epoll_wait, int, (int, struct epoll_event *, int, int))	\
	X(epoll_pwait, int, (int, struct epoll_event *, int, int, const sigset_t *)) \
	X(epoll_pwait2, int, (int, struct epoll_event *, int, const struct timespec *, const sigset_t *)) \
	X(wait, pid_t, (int *))						\
	X(waitpid, pid_t, (pid_t, int *, int))				\
	X(wait3, pid_t, (int *, int, struct rusage *))			\
	X(wait4, pid_t, (pid_t, int *, int, struct rusage *))		\
	X(waitid, int, (idtype_t, id_t, siginfo_t *, int))		\
	X(sleep, unsigned, (unsigned))					\
	X(usleep, int, (useconds_t))					\
	X(nanosleep, int, (const struct timespec *, struct timespec *))	\
	X(clock_nanosleep, int, (clockid_t, int, const struct timespec *, struct timespec *)) \
	X(pause, int, (void))						\
	X(sigsuspend, int, (const sigset_t *))				\
	X(sigwait, int, (const sigset_t *, int *))			\
	X(sigwaitinfo, int, (const sigset_t *, siginfo_t *))		\
	X(sigtimedwait, int, (const sigset_t *, siginfo_t *, const struct timespec *)) \
	X(getpass, char *, (const char *))				\
	X(__xpg_sigpause, int, (int))					\
	X(__sigpause, int, (int, int))					\
	X(thrd_sleep, int, (const struct timespec *, struct timespec *)) \
	X(thrd_join, int, (thrd_t, int *))				\
	X(cnd_wait, int, (cnd_t *, mtx_t *))				\
	X(cnd_timedwait, int, (cnd_t *, mtx_t *, const struct timespec *)) \
	X(connect, int, (int, const struct sockaddr *, socklen_t))	\
	X(pthread_cond_wait, int, (pthread_cond_t *, pthread_mutex_t *)) \
	X(pthread_cond_timedwait, int, (pthread_cond_t *, pthread_mutex_t *, \
					const struct timespec *))	\
	X(pthread_cond_clockwait, int, (pthread_cond_t *, pthread_mutex_t *, clockid_t, \
					const struct timespec *))	\
	X(sem_wait, int, (sem_t *))					\
	X(sem_post, int, (sem_t *))					\
	X(sem_timedwait, int, (sem_t *, const struct timespec *))	\
	X(sem_clockwait, int, (sem_t *, clockid_t, const struct timespec *)) \
	X(pthread_join, int, (pthread_t, void **))			\
	X(pthread_timedjoin_np, int, (pthread_t, void **, const struct timespec *)) \
	X(pthread_clockjoin_np, int, (pthread_t, void **, clockid_t, const struct timespec *)) \
	X(pthread_barrier_wait, int, (pthread_barrier_t *))		\
	X(flock, int, (int, int))					\
	X(lockf, int, (int, int, off_t))				\
	X(lockf64, int, (int, int, off64_t))				\
	X(msgrcv, ssize_t, (int, void *, size_t, long, int))		\
	X(msgsnd, int, (int, const void *, size_t, int))		\
	X(semop, int, (int, struct sembuf *, size_t))			\
	X(semtimedop, int, (int, struct sembuf *, size_t, const struct timespec *)) \
	X(mq_receive, ssize_t, (mqd_t, char *, size_t, unsigned *))	\
	X(mq_timedreceive, ssize_t, (mqd_t, char *, size_t, unsigned *, const struct timespec *)) \
	X(mq_send, int, (mqd_t, const char *, size_t, unsigned))	\
	X(mq_timedsend, int, (mqd_t, const char *, size_t, unsigned, const struct timespec *)) \
	X(io_getevents, int, (void *, long, long, struct io_event *, struct timespec *))

/* the stdio bridge (invariant 10): streams we replace, reads that wait */
#define BS_REAL_STDIO_FUNCS(X)						\
	X(fileno, int, (FILE *))					\
	X(fileno_unlocked, int, (FILE *))				\
	X(fwide, int, (FILE *, int))					\
	X(vwprintf, int, (const wchar_t *, va_list))			\
	X(vfwprintf, int, (FILE *, const wchar_t *, va_list))		\
	X(__vwprintf_chk, int, (int, const wchar_t *, va_list))		\
	X(__vfwprintf_chk, int, (FILE *, int, const wchar_t *, va_list)) \
	X(putwc, wint_t, (wchar_t, FILE *))				\
	X(fputwc, wint_t, (wchar_t, FILE *))				\
	X(putwchar, wint_t, (wchar_t))					\
	X(fputws, int, (const wchar_t *, FILE *))			\
	X(putwc_unlocked, wint_t, (wchar_t, FILE *))			\
	X(fputwc_unlocked, wint_t, (wchar_t, FILE *))			\
	X(putwchar_unlocked, wint_t, (wchar_t))				\
	X(fputws_unlocked, int, (const wchar_t *, FILE *))		\
	X(fgetc, int, (FILE *))						\
	X(getc, int, (FILE *))						\
	X(getchar, int, (void))						\
	X(fgetc_unlocked, int, (FILE *))				\
	X(getc_unlocked, int, (FILE *))					\
	X(getchar_unlocked, int, (void))				\
	X(fgets, char *, (char *, int, FILE *))				\
	X(fgets_unlocked, char *, (char *, int, FILE *))		\
	X(__fgets_chk, char *, (char *, size_t, int, FILE *))		\
	X(__fgets_unlocked_chk, char *, (char *, size_t, int, FILE *))	\
	X(fread, size_t, (void *, size_t, size_t, FILE *))		\
	X(fread_unlocked, size_t, (void *, size_t, size_t, FILE *))	\
	X(__fread_chk, size_t, (void *, size_t, size_t, size_t, FILE *)) \
	X(__fread_unlocked_chk, size_t, (void *, size_t, size_t, size_t, FILE *)) \
	X(getline, ssize_t, (char **, size_t *, FILE *))		\
	X(getdelim, ssize_t, (char **, size_t *, int, FILE *))		\
	X(__getdelim, ssize_t, (char **, size_t *, int, FILE *))	\
	X(__uflow, int, (FILE *))					\
	X(__underflow, int, (FILE *))					\
	X(fgetwc, wint_t, (FILE *))					\
	X(getwc, wint_t, (FILE *))					\
	X(getwchar, wint_t, (void))					\
	X(fgetwc_unlocked, wint_t, (FILE *))				\
	X(getwc_unlocked, wint_t, (FILE *))				\
	X(getwchar_unlocked, wint_t, (void))				\
	X(fgetws_unlocked, wchar_t *, (wchar_t *, int, FILE *))		\
	X(fgetws, wchar_t *, (wchar_t *, int, FILE *))			\
	X(__wuflow, wint_t, (FILE *))					\
	X(__wunderflow, wint_t, (FILE *))				\
	X(vscanf, int, (const char *, va_list))				\
	X(vfscanf, int, (FILE *, const char *, va_list))		\
	X(__isoc99_vscanf, int, (const char *, va_list))		\
	X(__isoc99_vfscanf, int, (FILE *, const char *, va_list))	\
	BS_REAL_STREAM_FUNCS(X)

/* streams we do not bridge: deliver their fd's bytes before stdio writes */
#define BS_REAL_STREAM_FUNCS(X)						\
	X(fflush, int, (FILE *))					\
	X(fflush_unlocked, int, (FILE *))				\
	X(fwrite, size_t, (const void *, size_t, size_t, FILE *))	\
	X(fwrite_unlocked, size_t, (const void *, size_t, size_t, FILE *)) \
	X(fputs, int, (const char *, FILE *))				\
	X(fputs_unlocked, int, (const char *, FILE *))			\
	X(fputc, int, (int, FILE *))					\
	X(fputc_unlocked, int, (int, FILE *))				\
	X(putc, int, (int, FILE *))					\
	X(putc_unlocked, int, (int, FILE *))				\
	X(__overflow, int, (FILE *, int))				\
	X(vfprintf, int, (FILE *, const char *, va_list))		\
	X(__vfprintf_chk, int, (FILE *, int, const char *, va_list))	\
	X(vprintf, int, (const char *, va_list))			\
	X(__vprintf_chk, int, (int, const char *, va_list))		\
	X(puts, int, (const char *))					\
	X(putchar, int, (int))						\
	X(putchar_unlocked, int, (int))					\
	X(vdprintf, int, (int, const char *, va_list))			\
	X(__vdprintf_chk, int, (int, int, const char *, va_list))	\
	X(fseek, int, (FILE *, long, int))				\
	X(fseeko, int, (FILE *, off_t, int))				\
	X(fseeko64, int, (FILE *, off64_t, int))			\
	X(ftell, long, (FILE *))					\
	X(ftello, off_t, (FILE *))					\
	X(ftello64, off64_t, (FILE *))					\
	X(rewind, void, (FILE *))					\
	X(fsetpos, int, (FILE *, const fpos_t *))			\
	X(fsetpos64, int, (FILE *, const fpos64_t *))			\
	X(fgetpos, int, (FILE *, fpos_t *))				\
	X(fgetpos64, int, (FILE *, fpos64_t *))

/* Hooks that call another real function than their own. */
#define BS_HOOK_ONLY_FUNCS(X)						\
	X(execl, , ) X(execlp, , ) X(execle, , )		\
	X(wprintf, , ) X(fwprintf, , ) X(__wprintf_chk, , ) X(__fwprintf_chk, , ) \
	X(scanf, , ) X(fscanf, , ) X(__isoc99_scanf, , ) X(__isoc99_fscanf, , ) \
	X(fprintf, , ) X(__fprintf_chk, , ) X(printf, , ) X(__printf_chk, , )	\
	X(dprintf, , ) X(__dprintf_chk, , )					\
	X(__sigaction, , ) X(signal, , ) X(bsd_signal, , ) X(ssignal, , )	\
	X(sysv_signal, , ) X(__sysv_signal, , ) X(siginterrupt, , )		\
	X(sigignore, , ) X(sigset, , )

#endif
