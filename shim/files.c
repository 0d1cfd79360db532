/* SPDX-License-Identifier: MIT */
/*
 * files.c — which fds are buffered, their buffers, and process-wide deliveries.
 *
 * The fd table maps an fd number to an entry (shim.h): not judged yet,
 * straight through, or a buffer with this fd's mode. Fds that share an open
 * file share its buffer. Readers take no lock; every change happens under
 * files_lock, which also guards the list of buffers. Lock order: files_lock,
 * then a buffer's lock.
 */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/single_threaded.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#define FDTAB_CHUNK BS_FDTAB_CHUNK
#define fdtab0 bs_fdtab0

bs_ent bs_fdtab0[FDTAB_CHUNK];
static bs_ent *fdtab_dir[BS_FD_LIMIT / FDTAB_CHUNK];
static int fdtab_max = -1;		/* the highest fd ever given a verdict */

/* What a read of an fd needs first (invariants 4 and 6): 0 not known
 * yet, or one of these. Only for fds below FDTAB_CHUNK. */
enum {
	READ_NEVER_BLOCKS = 1,	/* nothing: a regular file we hold no bytes for */
	READ_MAY_BLOCK,		/* every buffer: the program may wait */
	READ_OWN_FILE,		/* the buffers of regular files: it reads one */
};
static unsigned char read_kind[FDTAB_CHUNK];

int bs_dirty BS_STARTUP;
int bs_tty_files;	/* buffers on terminals, not closed */
int bs_stopped BS_STARTUP;

static pthread_mutex_t files_lock BS_STARTUP = PTHREAD_MUTEX_INITIALIZER;
static struct bs_file *files BS_STARTUP;	/* every buffer, newest first */
static struct bs_file *free_files;	/* retired, ready for reuse */
static BS_TLS int fork_held;		/* this thread's fork holds the locks */

/* A delivery error of a buffer that an fd left while staying open
 * (F_SETFL, FIONBIO: judged anew): it goes to the fd's next buffer, or to
 * its next close or fsync, so that a call still reports it (invariant 3).
 * files_lock held. Only for fds below FDTAB_CHUNK; errno values fit. */
static unsigned char carried_err[FDTAB_CHUNK];

static void say_lost(struct bs_file *f, int err);
static void say_lost_fd(struct bs_file *f, int fd, int err);

/* f's error waiting to be reported, taken: 0 if none */
static int take_error(struct bs_file *f)
{
	int err;

	bs_buffer_lock(&f->buf);
	err = f->buf.error;
	f->buf.error = 0;
	bs_buffer_unlock(&f->buf);
	return err;
}

/* fd's carried error, taken: 0 if none. files_lock held. */
static int take_carried(int fd)
{
	int err = 0;

	if ((unsigned)fd < FDTAB_CHUNK) {
		err = carried_err[fd];
		carried_err[fd] = 0;
	}
	return err;
}

/* The same, files_lock not held: taken only when there is one. */
static int take_carried_unlocked(int fd)
{
	int err = 0;

	if ((unsigned)fd < FDTAB_CHUNK && carried_err[fd]) {
		pthread_mutex_lock(&files_lock);
		err = take_carried(fd);
		pthread_mutex_unlock(&files_lock);
	}
	return err;
}

/* The failure fd leaves unreported as it closes: err (its delivery's),
 * else its carried error, else, with buffer_too, what waits in f when fd
 * is its last member. The carried one is taken in any case. files_lock
 * held. */
static int closing_error(struct bs_file *f, int fd, int err, int buffer_too)
{
	int carried = take_carried(fd);

	if (!err)
		err = carried;
	if (!err && buffer_too && f && f->nfds == 1)
		err = take_error(f);
	return err;
}

/* ---- the fd table ------------------------------------------------------------ */

bs_ent bs_fdtab_get_slow(int fd)
{
	bs_ent *chunk;

	if ((unsigned)fd >= BS_FD_LIMIT)
		return BS_ENT_PASS;
	chunk = __atomic_load_n(&fdtab_dir[fd / FDTAB_CHUNK], __ATOMIC_ACQUIRE);
	return chunk ? __atomic_load_n(&chunk[fd % FDTAB_CHUNK], __ATOMIC_ACQUIRE) : 0;
}

/* The slot of fd, its chunk made if need be. files_lock held. */
static bs_ent *fdtab_slot(int fd)
{
	bs_ent *chunk;

	if ((unsigned)fd < FDTAB_CHUNK)
		return &fdtab0[fd];
	chunk = fdtab_dir[fd / FDTAB_CHUNK];
	if (!chunk) {
		chunk = bs_sys_map(FDTAB_CHUNK * sizeof *chunk);
		if (!chunk)
			return NULL;
		__atomic_store_n(&fdtab_dir[fd / FDTAB_CHUNK], chunk, __ATOMIC_RELEASE);
	}
	return &chunk[fd % FDTAB_CHUNK];
}

BS_TEXT_HOT static void fdtab_set(int fd, bs_ent e)
{
	bs_ent *slot = fdtab_slot(fd);

	if (slot)
		__atomic_store_n(slot, e, __ATOMIC_RELEASE);
	if (e && fd > fdtab_max)
		fdtab_max = fd;
}

/* ---- judging an fd (invariant 7) ----------------------------------------- */

/* Filesystems whose files take each write as a command. */
static int is_pseudo_fs(int fd)
{
	static const long magics[] = {
		0x9fa0,		/* proc */
		0x62656572,	/* sysfs */
		0x27e0eb,	/* cgroup */
		0x63677270,	/* cgroup2 */
		0x64626720,	/* debugfs */
		0x74726163,	/* tracefs */
		0x62656570,	/* configfs */
		0x73636673,	/* securityfs */
		0xcafe4a11,	/* bpf */
		0xf97cff8c,	/* selinuxfs */
		0xde5e81e4,	/* efivarfs */
		0x6165676c,	/* pstore */
	};
	struct statfs sf;

	if (fstatfs(fd, &sf) < 0)
		return 1;
	for (size_t i = 0; i < sizeof magics / sizeof magics[0]; i++)
		if ((long)sf.f_type == magics[i])
			return 1;
	return 0;
}

/* 1 and *kind when fd may be buffered, 0 when it may not, -1 when it is
 * not open (then nothing is remembered). *st and *fl describe fd. */
BS_TEXT_HOT static int judge(int fd, enum bs_kind *kind, struct stat *stp, int *flp)
{
	struct stat st;
	struct termios t;
	int fl, type;
	socklen_t len = sizeof type;

	fl = bs_sys_fcntl(fd, F_GETFL, 0);
	if (fl < 0 || bs_sys_fstat(fd, &st) < 0)
		return -1;
	*stp = st;
	*flp = fl;
	if ((fl & O_ACCMODE) == O_RDONLY || (fl & (O_PATH | O_NONBLOCK | O_DIRECT)))
		return 0;
	switch (st.st_mode & S_IFMT) {
	case S_IFREG:
		*kind = BS_KIND_FILE;
		return !is_pseudo_fs(fd);
	case S_IFIFO:
		*kind = BS_KIND_PIPE;
		return 1;
	case S_IFSOCK:
		*kind = BS_KIND_SOCKET;
		return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 &&
		       type == SOCK_STREAM;
	case S_IFCHR:
		if (st.st_rdev == makedev(1, 3)) {
			*kind = BS_KIND_NULL;
			return 1;
		}
		*kind = BS_KIND_TTY;
		return bs_sys_ioctl(fd, TCGETS, &t) == 0;
	default:
		return 0;	/* anonymous inodes, directories, ... */
	}
}

int bs_tty_stops_us(int fd)
{
	struct termios t = { 0 };
	pid_t fg = -1;	/* the analyzer cannot see the kernel fill it */

	if (bs_sys_ioctl(fd, TIOCGPGRP, &fg) < 0 || fg == (pid_t)bs_sys1(SYS_getpgid, 0))
		return 0;
	return bs_sys_ioctl(fd, TCGETS, &t) == 0 && (t.c_lflag & TOSTOP);
}

const char *bs_kind_name(enum bs_kind kind)
{
	static const char *const names[] = {
		[BS_KIND_FILE] = "file", [BS_KIND_PIPE] = "pipe",
		[BS_KIND_SOCKET] = "socket", [BS_KIND_TTY] = "tty",
		[BS_KIND_NULL] = "null",
	};

	return names[kind];
}

/* ---- buffers ------------------------------------------------------------------ */

/*
 * What a pipe, socket or terminal takes now, without waiting for its
 * reader (bs_self.no_wait): RWF_NOWAIT where the kernel has it (pipes and
 * sockets), else only when poll says it takes bytes at once (a FIFO, a
 * terminal: a pipe's buffer is at most PIPE_BUF, which a pipe that has
 * room takes whole). -1/EAGAIN when it would block.
 */
static ssize_t sink_now(struct bs_file *f, const struct iovec *iov, int n)
{
	struct pollfd p = { .fd = f->fd, .events = POLLOUT };
	ssize_t r;

	if (f->nowait_ok) {
		r = BS_REAL(pwritev2)(f->fd, iov, n, -1, RWF_NOWAIT);
		if (r >= 0 || (errno != EOPNOTSUPP && errno != EINVAL && errno != ENOSYS))
			return r;
		f->nowait_ok = 0;	/* not this kind of file: poll from now on */
	}
	if (bs_sys_poll(&p, 1, 0) <= 0) {
		errno = EAGAIN;
		return -1;
	}
	return n == 1 && iov ? bs_sys_write(f->fd, iov->iov_base, iov->iov_len) :
			       bs_sys_writev(f->fd, iov, n);
}

/* Deliver through the file's fd. A fd that turned non-blocking behind our
 * back (another process shares it) is waited for: the program was told
 * these bytes were written. */
BS_TEXT_HOT static ssize_t file_sink(void *ctx, const struct iovec *iov, int n)
{
	struct bs_file *f = ctx;
	int cancel = PTHREAD_CANCEL_DISABLE, err;
	uint64_t until = bs_self.hurry_until;
	ssize_t r;

	if (bs_unlikely(bs_self.no_wait))	/* never a file's (leaves_to_helper) */
		return sink_now(f, iov, n);
	/* A thread cancelled here would leave the buffer locked. */
	if (!__libc_single_threaded)
		pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
	for (int tries = 0;; tries++) {
		if (bs_unlikely(until) && f->kind != BS_KIND_FILE && f->kind != BS_KIND_NULL &&
		    !bs_writable_by(f->fd, until)) {
			errno = EAGAIN;
			r = -1;
			break;
		}
		/* writev of one iovec costs the kernel ~100 ns more than write;
		 * an invalid array goes to writev, which says EFAULT */
		r = n == 1 && iov ? bs_sys_write(f->fd, iov->iov_base, iov->iov_len) :
				    bs_sys_writev(f->fd, iov, n);
		/* EAGAIN again and again once poll said writable: a device that
		 * will not take it, or a fault injector; tell the program */
		if (r >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK) || tries == 100 || until)
			break;
		struct pollfd p = { .fd = f->fd, .events = POLLOUT };
		if (bs_sys_poll(&p, 1, -1) < 0 && errno != EINTR)
			break;
	}
	err = errno;
	if (cancel != PTHREAD_CANCEL_DISABLE)
		pthread_setcancelstate(cancel, NULL);
	errno = err;
	return r;
}

/* ---- buffer memory ------------------------------------------------------------- */

/*
 * A buffer maps what its first bytes need, BS_ROOM_START (bs_buffer.h) at
 * most, and the engine grows it (mremap: the pages move, nothing is
 * copied) up to the configured size as bytes arrive, and shrinks it again
 * when a large one goes idle. So -s 1G with many fds costs address space
 * and memory only where bytes wait, and a process under ulimit -v or
 * strict overcommit still buffers. Sizes are whole pages.
 */

size_t bs_page_round(size_t n)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	return (n + page - 1) / page * page;
}

/* The engine's resize (see bs_buffer.h): f->mapped follows the mapping.
 * A thread buffer of f (locals.c) shares its sink's context, f: its
 * mapping is what its room rounds up to, as are both blocks of a file
 * with asynchronous delivery (which swaps them: f->mapped is set again
 * when it is retired). */
static char *file_resize(void *ctx, char *data, size_t old, size_t size)
{
	struct bs_file *f = ctx;
	size_t len = bs_page_round(size);
	int err = errno;
	char *p;

	if (!data) {		/* asynchronous delivery's second block */
		p = bs_sys_map(len);
		errno = err;
		return p;
	}
	if (data != f->buf.data || f->buf.async) {
		p = bs_page_round(old) == len ? data : bs_sys_remap(data, bs_page_round(old), len);
		errno = err;
		return p;
	}
	if (len == f->mapped)
		return data;
	p = bs_sys_remap(data, f->mapped, len);
	errno = err;	/* a refusal is the engine's business, not the program's */
	if (p)
		f->mapped = (uint32_t)len;
	return p;
}

/* The first bytes of f's buffer, mapped if need be: the room there, or 0
 * when there is no memory for it (its fd then writes straight through). */
BS_TEXT_HOT static size_t file_room(struct bs_file *f)
{
	size_t room = bs_cfg.size < BS_ROOM_START ? bs_cfg.size : BS_ROOM_START;
	size_t len = bs_page_round(room);
	char *p;

	if (f->mapped > len) {	/* a retired buffer, reused: back to the start */
		p = file_resize(f, f->buf.data, f->mapped, len);
		if (p)
			f->buf.data = p;
	}
	if (!f->mapped) {
		f->buf.data = bs_sys_map(len);
		if (!f->buf.data)
			return 0;
		f->mapped = (uint32_t)len;
	}
	return room < f->mapped ? room : f->mapped;
}

BS_TEXT_HOT static struct bs_file *file_alloc(void)
{
	static char *slab;
	static size_t slab_left;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	struct bs_file *f = free_files;

	if (f) {
		free_files = f->free_next;
		return f;
	}
	if (slab_left < sizeof *f) {
		slab = bs_sys_map(16 * page);
		if (!slab)
			return NULL;
		slab_left = 16 * page;
	}
	f = (struct bs_file *)slab;
	slab += sizeof *f;
	slab_left -= sizeof *f;
	f->mapped = 0;
	return f;
}

/*
 * The buffered file that fd writes to as well, if any. Bytes written to a
 * pipe, socket, terminal or /dev/null through any fd on it reach one stream,
 * and bytes appended to a regular file by two O_APPEND fds reach its end:
 * such fds share a buffer, whatever their open file descriptions. Other
 * fds on one regular file share a buffer only when they share an open file
 * description (kcmp says so): two opens keep separate offsets.
 */
static struct bs_file *find_alias(int fd, const struct stat *st, int fl)
{
	for (struct bs_file *f = files; f; f = f->next) {
		if (f->closed || f->dev != st->st_dev || f->ino != st->st_ino)
			continue;
		if (!S_ISREG(st->st_mode) || (f->append && (fl & O_APPEND)))
			return f;
		if (bs_sys_same_file(f->fd, fd))
			return f;
	}
	return NULL;
}

/* A new buffer may share its file with fds already judged straight
 * through: judge them again. files_lock held. */
static void rejudge_passes(void)
{
	for (int fd = 0; fd <= fdtab_max; fd++)
		if (bs_fdtab_get(fd) == BS_ENT_PASS || bs_fdtab_get(fd) == BS_ENT_LOOK_TTY)
			fdtab_set(fd, 0);
}

/* A new buffer on a regular file: the fds that read no file of ours may
 * now read this one. files_lock held. */
static void rejudge_reads(void)
{
	for (int fd = 0; fd < FDTAB_CHUNK && fd <= fdtab_max; fd++)
		if (__atomic_load_n(&read_kind[fd], __ATOMIC_RELAXED) == READ_NEVER_BLOCKS)
			__atomic_store_n(&read_kind[fd], 0, __ATOMIC_RELAXED);
}

BS_TEXT_HOT static struct bs_file *file_new(int fd, enum bs_kind kind, enum bs_mode mode,
				const struct stat *st, int fl)
{
	static int fenced;
	static char no_memory[1];
	struct bs_file *f;
	size_t room;

	bs_sys_resolve();	/* the first buffer: see sys.c */
	if (!fenced) {		/* before any lock exists: see bs_buffer.c */
		bs_buffer_set_fence(bs_sys_fence_register, bs_sys_fence_others);
		bs_buffer_set_resize(file_resize);
		fenced = 1;
	}
	f = file_alloc();
	if (!f)
		return NULL;
	room = file_room(f);
	/* The buffer itself is FULL: each fd's entry carries its own mode. */
	f->no_memory = !room;
	if (room) {
		bs_buffer_init(&f->buf, f->buf.data, bs_cfg.size, BS_MODE_FULL, file_sink, f);
		bs_buffer_set_room(&f->buf, room);
	} else {
		/* its writes go straight out, counted; the stats say why */
		bs_buffer_init(&f->buf, no_memory, 1, BS_MODE_FULL, file_sink, f);
		bs_buffer_set_passthrough_held(&f->buf);
	}
	if (kind == BS_KIND_PIPE)
		bs_buffer_set_atomic(&f->buf, PIPE_BUF);
	if (bs_cfg.async && kind == BS_KIND_FILE && room)
		bs_async_file_new(f);
	bs_local_file_new(f);
	f->fd = fd;
	f->nfds = 1;
	f->kind = kind;
	f->nowait_ok = kind == BS_KIND_PIPE || kind == BS_KIND_SOCKET;
	f->mode = mode;
	f->dev = st->st_dev;
	f->ino = st->st_ino;
	f->append = !!(fl & O_APPEND);
	f->closed = 0;
	f->first_ns = 0;
	/* a person watches a terminal: what it shows waits 50 ms at most */
	f->bound_ms = bs_cfg.flush_ms;
	if (kind == BS_KIND_TTY && (f->bound_ms == 0 || f->bound_ms > BS_TTY_BOUND_MS))
		f->bound_ms = BS_TTY_BOUND_MS;
	if (kind == BS_KIND_TTY)
		__atomic_add_fetch(&bs_tty_files, 1, __ATOMIC_RELAXED);
	rejudge_passes();
	if (kind == BS_KIND_FILE)
		rejudge_reads();
	f->next = files;
	__atomic_store_n(&files, f, __ATOMIC_RELEASE);
	return f;
}

/* Deliver f's threads' buffers (local mode), then its own; flags as
 * bs_buffer_deliver's. The first failure is the one reported. */
BS_TEXT_HOT static int file_deliver(struct bs_file *f, enum bs_reason why, int flags)
{
	struct bs_local *locals = __atomic_load_n(&f->locals, __ATOMIC_ACQUIRE);
	int rc, err = 0;

	if (bs_unlikely(locals != NULL)) {
		rc = bs_local_deliver(locals, why, flags, 0);
		bs_local_note_kept(f, rc);
		if (rc < 0 && (flags & BS_YIELD) && errno == EINTR)
			return -1;	/* a signal waits: the rest is held */
		if (rc < 0) {
			err = errno;
			flags &= ~BS_REPORT;
		}
	}
	rc = bs_buffer_deliver(&f->buf, why, flags);
	if (err) {
		errno = err;
		return -1;
	}
	return rc;
}

/* An fd's mode from its configured one (-1: not chosen) and its file. */
static enum bs_mode resolve_mode(int cfg, enum bs_kind kind)
{
	if (cfg < 0)
		return BS_MODE_NONE;
	if (cfg == BS_MODE_AUTO)
		return kind == BS_KIND_TTY ? BS_MODE_LINE : BS_MODE_FULL;
	return (enum bs_mode)cfg;
}

/* The buffered regular file on (dev, ino), if any. The list is read
 * without files_lock: it only grows at its head, and a file retired
 * meanwhile has no bytes left. */
static struct bs_file *buffered_inode(dev_t dev, ino_t ino)
{
	for (struct bs_file *f = __atomic_load_n(&files, __ATOMIC_ACQUIRE); f; f = f->next)
		if (f->kind == BS_KIND_FILE && f->dev == dev && f->ino == ino && !f->closed)
			return f;
	return NULL;
}

BS_TEXT_HOT bs_ent bs_fd_judge(int fd)
{
	enum bs_kind kind = BS_KIND_FILE;
	struct bs_file *f;
	struct stat st;
	int cfg_mode, fl, ok;
	enum bs_mode mode;
	bs_ent e;

	bs_init();
	if (!bs_active || bs_stopped)
		return BS_ENT_PASS;	/* not remembered: bs_init may be under way */
	cfg_mode = bs_config_fd_mode(&bs_cfg, fd);
	pthread_mutex_lock(&files_lock);
	e = bs_fdtab_get(fd);
	if (e)
		goto out;
	e = BS_ENT_PASS;
	if (!files && (cfg_mode < 0 || cfg_mode == BS_MODE_NONE)) {
		fdtab_set(fd, e);	/* not chosen, and nothing to share */
		goto out;
	}
	ok = judge(fd, &kind, &st, &fl);
	if (ok < 0)
		goto out;		/* not open: judge again next time */
	f = ok ? find_alias(fd, &st, fl) : NULL;
	if (!f && S_ISREG(st.st_mode) && (fl & O_ACCMODE) != O_RDONLY &&
	    buffered_inode(st.st_dev, st.st_ino)) {
		/* Another open of a file we buffer, with an offset of its
		 * own: its writes go straight out, after our bytes. */
		e = BS_ENT_LOOK;
		fdtab_set(fd, e);
		goto out;
	}
	if (ok == 0) {
		fdtab_set(fd, e);
		goto out;
	}
	mode = resolve_mode(cfg_mode, kind);
	if (!f && cfg_mode < 0 && kind == BS_KIND_TTY) {
		e = BS_ENT_LOOK_TTY;	/* not chosen: after our terminals' bytes */
		fdtab_set(fd, e);
		goto out;
	}
	if (f)
		f->nfds++;
	else if (mode != BS_MODE_NONE)
		f = file_new(fd, kind, mode, &st, fl);
	if (f) {
		int err = take_carried(fd);

		e = (bs_ent)f | mode;
		if (err) {
			bs_buffer_lock(&f->buf);
			if (!f->buf.error)
				f->buf.error = err;	/* its next write says it */
			bs_buffer_unlock(&f->buf);
		}
	}
	if (f || mode == BS_MODE_NONE)
		fdtab_set(fd, e);	/* no memory for a buffer: try again later */
out:
	pthread_mutex_unlock(&files_lock);
	return e;
}

/* Another member of f than fd, or -1. files_lock held. */
static int other_member(struct bs_file *f, int fd)
{
	for (int i = 0; i <= fdtab_max; i++)
		if (i != fd && bs_ent_file(bs_fdtab_get(i)) == f)
			return i;
	return -1;
}

/* fd no longer names its file: leave its buffer, which is retired with
 * its last member. files_lock held; deliver first. */
BS_TEXT_HOT static void forget_locked(int fd)
{
	struct bs_file *f = bs_ent_file(bs_fdtab_get(fd)), **p;
	struct bs_local *locals;

	if ((unsigned)fd < FDTAB_CHUNK)
		__atomic_store_n(&read_kind[fd], 0, __ATOMIC_RELAXED);
	if (bs_fdtab_get(fd))
		fdtab_set(fd, 0);
	if (!f)
		return;
	if (--f->nfds > 0) {
		if (f->fd == fd) {
			/* a delivery under way has its fd in the kernel already */
			int held = bs_buffer_lock_unless_delivering(&f->buf);

			if (f->buf.async) {	/* a flight writes to f->fd: it lands
						 * first, and none starts before the
						 * new one is set (a regular file: a
						 * delivery there does not block) */
				if (!held)
					bs_buffer_lock(&f->buf);
				held = 1;
				bs_buffer_settle(&f->buf);
			}
			__atomic_store_n(&f->fd, other_member(f, fd), __ATOMIC_RELAXED);
			if (held)
				bs_buffer_unlock(&f->buf);
		}
		return;
	}
	/* A thread still holding f (a racing write) now writes through to
	 * the fd number, as it would without us. */
	bs_buffer_lock(&f->buf);
	bs_buffer_set_passthrough_held(&f->buf);
	bs_buffer_unlock(&f->buf);
	bs_async_file_retire(f);	/* its second block given back */
	__atomic_store_n(&f->closed, 1, __ATOMIC_RELAXED);
	if (f->kind == BS_KIND_TTY)
		__atomic_sub_fetch(&bs_tty_files, 1, __ATOMIC_RELAXED);
	bs_fence_store_load();	/* a thread that takes a buffer now sees closed */
	locals = __atomic_load_n(&f->locals, __ATOMIC_ACQUIRE);
	if (locals) {
		bs_local_passthrough(locals);
		bs_local_take_stats(locals, &f->buf.stats, 0);
	}
	if (bs_cfg.stats == BS_STATS_OFF || f->buf.stats.writes == 0) {
		for (p = &files; *p != f; p = &(*p)->next)
			;
		*p = f->next;
		f->free_next = free_files;
		free_files = f;
	}
}

static void file_forget(int fd)
{
	if ((unsigned)fd >= BS_FD_LIMIT)
		return;
	if ((unsigned)fd < FDTAB_CHUNK) {
		__atomic_store_n(&read_kind[fd], 0, __ATOMIC_RELAXED);
		int err = take_carried_unlocked(fd);	/* the fd is another file now */

		if (err)
			say_lost_fd(NULL, fd, err);
	}
	if (!bs_fdtab_get(fd))
		return;
	pthread_mutex_lock(&files_lock);
	forget_locked(fd);
	pthread_mutex_unlock(&files_lock);
}

BS_TEXT_HOT int bs_fd_release(int fd, int report)
{
	struct bs_file *f;
	int err = 0;

	bs_stats_keep_stderr(fd);
	if (bs_inside() || (unsigned)fd >= BS_FD_LIMIT)
		return 0;
	bs_enter();
	/* delivered before files_lock is taken: it may block on a reader */
	for (;;) {
		int rc = 0;

		f = bs_ent_file(bs_fdtab_get(fd));
		if (f && f->nfds == 1)
			rc = file_deliver(f, BS_DELIVER_SYNC, (report ? BS_REPORT : 0) | BS_YIELD);
		if (!bs_yielded(rc)) {
			err = rc < 0 ? errno : 0;
			break;
		}
		bs_leave();	/* the signal that waits runs here */
		bs_enter();
	}
	pthread_mutex_lock(&files_lock);
	err = closing_error(f, fd, err, !report);
	/* dup2, dup3, freopen: no call is left to report it */
	if (!report && err)
		say_lost_fd(f, fd, err);
	forget_locked(fd);
	pthread_mutex_unlock(&files_lock);
	bs_leave();
	return report ? err : 0;
}

BS_TEXT_HOT void bs_fd_join(int newfd, int oldfd)
{
	struct bs_file *f;
	int cfg;

	if (newfd < 0 || newfd == oldfd || newfd >= BS_FD_LIMIT || bs_inside())
		return;
	bs_enter();
	if (!bs_fdtab_get(oldfd))
		bs_fd_judge(oldfd);	/* once: then every dup of it is free */
	pthread_mutex_lock(&files_lock);
	forget_locked(newfd);
	f = bs_ent_file(bs_fdtab_get(oldfd));
	if (f && !f->closed && !bs_stopped) {
		cfg = bs_config_fd_mode(&bs_cfg, newfd);
		f->nfds++;
		fdtab_set(newfd, (bs_ent)f | resolve_mode(cfg, f->kind));
	}
	if ((unsigned)newfd < FDTAB_CHUNK && (unsigned)oldfd < FDTAB_CHUNK)
		read_kind[newfd] = read_kind[oldfd];
	pthread_mutex_unlock(&files_lock);
	bs_leave();
}

void bs_fd_regroup(int fd)
{
	struct bs_file *f;

	if (bs_inside() || (unsigned)fd >= BS_FD_LIMIT)
		return;
	bs_enter();
	pthread_mutex_lock(&files_lock);
	f = bs_ent_file(bs_fdtab_get(fd));
	if (f) {
		int err;

		file_deliver(f, BS_DELIVER_SYNC, 0);
		/* the fd stays open: its next buffer, close or fsync says it */
		err = take_error(f);
		if (err && (unsigned)fd < FDTAB_CHUNK)
			carried_err[fd] = (unsigned char)err;
		else if (err)
			say_lost(f, err);
		for (int i = 0; i <= fdtab_max; i++)
			if (bs_ent_file(bs_fdtab_get(i)) == f)
				forget_locked(i);
	}
	forget_locked(fd);
	pthread_mutex_unlock(&files_lock);
	bs_leave();
}

int bs_any_stamped(void)
{
	/* Without files_lock: the list only grows at its head, and a file
	 * retired meanwhile has no bytes to wait for. */
	for (struct bs_file *f = __atomic_load_n(&files, __ATOMIC_ACQUIRE); f; f = f->next)
		if (__atomic_load_n(&f->first_ns, __ATOMIC_SEQ_CST) && !f->closed)
			return 1;
	return 0;
}

void bs_files_each(void (*fn)(struct bs_file *f, void *arg), void *arg)
{
	pthread_mutex_lock(&files_lock);
	for (struct bs_file *f = files; f; f = f->next)
		fn(f, arg);
	pthread_mutex_unlock(&files_lock);
}

/* ---- one fd's boundaries ------------------------------------------------------ */

int bs_fd_deliver(int fd, int report)
{
	struct bs_file *f;
	int err = 0;

	if (bs_inside())
		return 0;
	f = bs_ent_file(bs_fdtab_get(fd));
	if (!f)
		return report ? take_carried_unlocked(fd) : 0;
	bs_enter();
	for (;;) {
		int rc = file_deliver(f, BS_DELIVER_SYNC, (report ? BS_REPORT : 0) | BS_YIELD);

		if (!bs_yielded(rc)) {
			err = rc < 0 ? errno : 0;
			break;
		}
		bs_leave();	/* the signal that waits runs here */
		bs_enter();
	}
	bs_leave();
	return report ? err : 0;
}

int bs_fd_fresh(int fd)
{
	if (fd >= 0 && !bs_inside())
		file_forget(fd);
	return fd;
}

/* ---- process-wide deliveries ------------------------------------------------------ */

/* One line on stderr for a failure no call is left to report (invariant
 * 3); f NULL when the buffer is gone already (a carried error). */
static void say_lost_fd(struct bs_file *f, int fd, int err)
{
	uint64_t dropped = f ? f->buf.stats.dropped : 0;
	char line[256];
	struct bs_str s;

	/* at exit: the threads' buffers are not written any more */
	for (struct bs_local *l = f ? __atomic_load_n(&f->locals, __ATOMIC_ACQUIRE) : NULL; l; l = l->next)
		dropped += l->buf.stats.dropped;

	bs_str_init(&s, line, sizeof line);
	bs_str_add(&s, "bufshim: fd ");
	bs_str_u64(&s, (uint64_t)fd);
	bs_str_add(&s, ": output lost: ");
	bs_str_add(&s, strerrordesc_np(err) ? strerrordesc_np(err) : "unknown error");
	if (f) {
		bs_str_add(&s, " (");
		bs_str_u64(&s, dropped);
		bs_str_add(&s, " B dropped in all)");
	}
	bs_diag(line);
}

static void say_lost(struct bs_file *f, int err)
{
	say_lost_fd(f, f->fd, err);
}

/*
 * Whether f may hold bytes, for a process-wide delivery that has just
 * cleared bs_dirty. A writer appends under the buffer's lock, which it may
 * let go with a plain store, and then looks at bs_dirty: a look here that
 * finds the buffer empty without the lock could miss its bytes while the
 * writer misses the clearing (each a store, then a load of the other's).
 * When other threads may write, an empty look is made again under the
 * lock, which orders the two; a lock that is held counts as bytes (the
 * delivery then looks under it, or leaves it to a delivery under way).
 */
BS_TEXT_HOT static int may_hold(struct bs_file *f)
{
	int held;

	if (bs_file_pending(f))
		return 1;
	if (__libc_single_threaded)
		return 0;
	if (!bs_buffer_trylock(&f->buf))
		return 1;
	held = bs_buffer_pending(&f->buf) != 0;
	bs_buffer_unlock(&f->buf);
	return held;
}

/* The rest of f goes from the helper thread (timer.c) as soon as its
 * reader makes room; where no thread can be made, from here, waiting for
 * the reader as before. 1 when a waiting signal interrupted that. */
static int hand_over(struct bs_file *f)
{
	if (bs_timer_hand_over(f) == 0)
		return 0;
	return bs_yielded(file_deliver(f, BS_DELIVER_WAIT, BS_YIELD));
}

/* A delivery to a regular file or /dev/null ends soon: no reader can make
 * it wait. */
static inline int ends_soon(const struct bs_file *f)
{
	return f->kind == BS_KIND_FILE || f->kind == BS_KIND_NULL;
}

/*
 * Whether a delivery before a wait leaves f to the helper thread when its
 * reader is not reading (a full pipe or socket). A thread of a process
 * with threads may hold a lock that its reader needs before it reads: the
 * mutex of a condition it waits on (every pthread_cond_wait does), a
 * Python interpreter's lock. Without the library, its write would have
 * blocked before it took that lock; here the wait must not block in a
 * delivery. A process without threads delivers there itself, as before.
 */
static int leaves_to_helper(const struct bs_file *f, enum bs_reason why, int at_exit, int final)
{
	return why == BS_DELIVER_WAIT && !at_exit && !final && !__libc_single_threaded &&
	       !ends_soon(f);
}

/* Deliver f; at exit, say what could not be delivered; with final, f
 * writes through from now on. A delivery under way in another thread,
 * which may block for as long as its reader does not read, is not waited
 * for (it sends every byte f held when it began), but at the end of the
 * process for a file's and for the helper's. 1 when a waiting signal
 * interrupted it (BS_YIELD): the caller lets it run and starts again. */
static int deliver_one(struct bs_file *f, enum bs_reason why, int at_exit, int final)
{
	struct bs_local *locals = __atomic_load_n(&f->locals, __ATOMIC_ACQUIRE);
	int nowait = leaves_to_helper(f, why, at_exit, final);
	int flags = (at_exit ? BS_REPORT : 0) | BS_YIELD | (nowait ? BS_NOWAIT : 0);
	/* The end waits for another thread's delivery to a file, which ends
	 * soon: what that thread and the others write afterwards must not be
	 * left behind in a buffer nobody delivers again. Elsewhere a reader
	 * that does not read would keep the process from ending, as it does
	 * when the helper delivers: its bytes are all ones whose writes
	 * returned (a program thread's own write may be in its delivery). */
	int wait_others = final && (ends_soon(f) || bs_timer_delivering(f));
	int rc, err, stuck = 0;

	if (!final && !may_hold(f))
		return 0;	/* nothing held: its lock is not waited for */
	if (locals) {
		bs_self.no_wait = nowait;
		rc = bs_local_deliver(locals, why, flags,
				      (wait_others ? 0 : BS_LOCAL_SKIP_DELIVERING) |
				      (final ? BS_LOCAL_FINAL : 0));
		bs_self.no_wait = 0;
		if (bs_yielded(rc))
			return 1;
		if (rc < 0 && at_exit)
			say_lost(f, errno);
		bs_local_note_kept(f, rc);
		stuck = nowait && bs_local_pending(locals);
	}
	if (!wait_others && !bs_buffer_lock_unless_delivering(&f->buf)) {
		/* taken to deliver: by the helper (looked at again, now that
		 * its lock is seen taken), at the end, is waited for */
		wait_others = final && bs_timer_delivering(f);
		if (!wait_others)
			return stuck ? hand_over(f) : 0;
	}
	if (wait_others)
		bs_buffer_lock(&f->buf);
	bs_self.no_wait = nowait;
	rc = bs_buffer_deliver_held(&f->buf, why, flags);
	err = errno;
	bs_self.no_wait = 0;
	if (bs_yielded(rc)) {
		bs_buffer_unlock(&f->buf);
		return 1;
	}
	if (rc < 0 && nowait && bs_would_block(err))
		stuck = 1;
	if (final)
		bs_buffer_set_passthrough_held(&f->buf);	/* counts what is dropped */
	if (rc < 0 && at_exit)
		say_lost(f, err);
	bs_buffer_unlock(&f->buf);
	return stuck ? hand_over(f) : 0;
}

/* Deliver every open buffer. files_lock is held only to list them, a few
 * at a time: a delivery that blocks keeps no other thread from judging,
 * closing or delivering. A file retired and reused meanwhile is delivered
 * early, which is always allowed. With final, nothing new is buffered.
 * 1 when a waiting signal interrupted it. */
BS_TEXT_START static int deliver_each(enum bs_reason why, int at_exit, int final)
{
	struct bs_file *batch[64];
	int n, skip = 0, more;

	if (final) {
		__atomic_store_n(&bs_stopped, 1, __ATOMIC_RELEASE);
		bs_fence_store_load();	/* a thread's new buffer: see mine_slow */
	}
	do {
		int i = 0;

		n = 0;
		more = 0;
		pthread_mutex_lock(&files_lock);
		for (struct bs_file *f = files; f; f = f->next, i++) {
			if (i < skip || f->closed || (!final && !may_hold(f)))
				continue;
			if (n == (int)(sizeof batch / sizeof batch[0])) {
				more = 1;
				break;
			}
			batch[n++] = f;
		}
		pthread_mutex_unlock(&files_lock);
		for (int k = 0; k < n; k++)
			if (deliver_one(batch[k], why, at_exit, final))
				return 1;
		skip = i;
	} while (more);
	return 0;
}

int bs_deliver_all(enum bs_reason why, int at_exit)
{
	/* Cleared first: a write that lands after its buffer was passed
	 * sets it again (see bs_note_pending). */
	__atomic_store_n(&bs_dirty, 0, __ATOMIC_RELAXED);
	bs_fence_store_load();	/* see bs_local_mark_dirty */
	if (deliver_each(why, at_exit, 0)) {
		__atomic_store_n(&bs_dirty, 1, __ATOMIC_RELAXED);
		return 1;
	}
	return 0;
}

BS_TEXT_START void bs_stop_buffering(void)
{
	if (bs_inside() || !bs_active)
		return;
	bs_enter();
	/* stopped is set at once: a signal let through meanwhile buffers
	 * only in buffers not yet passed, which the next round delivers */
	if (!__atomic_load_n(&bs_stopped, __ATOMIC_ACQUIRE))
		while (deliver_each(BS_DELIVER_EXIT, 1, 1)) {
			bs_leave();	/* the signal that waits runs here */
			bs_enter();
		}
	bs_leave();
}

/* The deliveries below run inside the program's calls: they keep its errno
 * (a delivery error waits in its buffer for the next write or sync). */

BS_TEXT_START void bs_deliver_all_now(enum bs_reason why, int at_exit)
{
	int err;

	if (bs_inside())
		return;
	bs_enter_quiet(err);
	while (bs_deliver_all(why, at_exit)) {
		bs_leave();	/* the signal that waits runs here */
		bs_enter();
	}
	bs_leave_quiet(err);
}

/* Take a lock through try within the hurry, or at once when this thread
 * may hold it itself (a fault inside the library). */
static int lock_in_time(int (*try)(void *), void *lock, int once)
{
	struct timespec ms = { .tv_nsec = 1000000 };

	while (!try(lock)) {
		if (once || bs_now_ns() >= bs_self.hurry_until)
			return 0;
		bs_sys_call(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, (long)&ms, 0, 0, 0);
	}
	return 1;
}

static int try_files_lock(void *lock)
{
	return pthread_mutex_trylock(lock) == 0;
}

static int try_buffer_lock(void *b)
{
	return bs_buffer_trylock(b);
}

static int try_local_hold(void *l)
{
	return bs_local_hold(l, BS_LOCAL_TRY);
}

/* One buffer b of f, held already, as bs_deliver_all_hurried delivers it. */
static void hurry_one(struct bs_file *f, struct bs_buffer *b, enum bs_reason why, int final)
{
	int rc, err, before;

	before = b->error;
	rc = bs_buffer_deliver_held(b, why, final ? BS_REPORT : 0);
	err = errno;
	if (final)
		bs_buffer_set_passthrough_held(b);	/* counts what is dropped */
	if (rc < 0 && final)
		say_lost(f, err);
	else if (rc < 0 && err == EAGAIN)
		b->error = before;	/* our own haste, not the program's error:
					 * the bytes stay held for after the stop */
}

void bs_deliver_all_hurried(enum bs_reason why, int final, int self_inside, int but_ttys)
{
	int listed, n = 0;

	/* a death may wait a second for a reader; a stop (^Z) a moment */
	bs_hurry_start(final ? BS_HURRY_DEATH_NS : BS_HURRY_STOP_NS);
	listed = lock_in_time(try_files_lock, &files_lock, self_inside);
	/* Unlisted, the list is read as its readers without the lock read
	 * it; a bound on the walk stands for a file reused meanwhile. */
	for (struct bs_file *f = __atomic_load_n(&files, __ATOMIC_ACQUIRE); f && n < 65536;
	     f = f->next, n++) {
		if (f->closed || (but_ttys && f->kind == BS_KIND_TTY))
			continue;
		for (struct bs_local *l = __atomic_load_n(&f->locals, __ATOMIC_ACQUIRE); l;
		     l = l->next) {
			if (!lock_in_time(try_local_hold, l, self_inside))
				continue;	/* its owner or a delivery did not let go in time */
			hurry_one(f, &l->buf, why, final);
			bs_local_note_kept(f, l->buf.error != 0);
			bs_local_unhold(l);
		}
		/* a block in flight lands first, whoever holds the lock (the
		 * helper writes it; a fault in the holder leaves it queued) */
		if (!bs_async_landed_by(&f->buf, bs_self.hurry_until))
			continue;	/* the helper's write, in the kernel, did not
					 * end in time (a hung file system): what
					 * this buffer holds after it stays held */
		if (!lock_in_time(try_buffer_lock, &f->buf, self_inside))
			continue;	/* another thread's delivery did not end in time */
		hurry_one(f, &f->buf, why, final);
		bs_buffer_unlock(&f->buf);
	}
	if (final)
		__atomic_store_n(&bs_stopped, 1, __ATOMIC_RELEASE);
	else
		bs_self.hurry_until = 0;
	if (listed)
		pthread_mutex_unlock(&files_lock);
}

void bs_files_each_batched(void (*fn)(struct bs_file *f, void *arg), void *arg)
{
	struct bs_file *batch[64];
	int n, skip = 0, more;

	do {
		int i = 0;

		n = 0;
		more = 0;
		pthread_mutex_lock(&files_lock);
		for (struct bs_file *f = files; f; f = f->next, i++) {
			if (i < skip || f->closed)
				continue;
			if (n == (int)(sizeof batch / sizeof batch[0])) {
				more = 1;
				break;
			}
			batch[n++] = f;
		}
		pthread_mutex_unlock(&files_lock);
		for (int k = 0; k < n; k++)
			fn(batch[k], arg);
		skip = i;
	} while (more);
}

void bs_files_each_unlocked(void (*fn)(struct bs_file *f, void *arg), void *arg)
{
	int n = 0;

	for (struct bs_file *f = __atomic_load_n(&files, __ATOMIC_ACQUIRE); f && n < 65536;
	     f = f->next, n++)
		fn(f, arg);
}

void bs_deliver_before_wait(void)
{
	if (__atomic_load_n(&bs_dirty, __ATOMIC_RELAXED))
		bs_deliver_all_now(BS_DELIVER_WAIT, 0);
}

static unsigned char read_kind_of(int fd)
{
	unsigned char k = (unsigned)fd < FDTAB_CHUNK ?
		__atomic_load_n(&read_kind[fd], __ATOMIC_RELAXED) : 0;
	struct stat st;

	if (k)
		return k;
	if (bs_sys_fstat(fd, &st) < 0)
		return READ_NEVER_BLOCKS;	/* the call itself will fail */
	if (S_ISREG(st.st_mode) && buffered_inode(st.st_dev, st.st_ino))
		k = READ_OWN_FILE;
	else if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) || S_ISBLK(st.st_mode) ||
		 (S_ISCHR(st.st_mode) && major(st.st_rdev) == 1))	/* null, zero, urandom */
		k = READ_NEVER_BLOCKS;
	else
		k = READ_MAY_BLOCK;
	if ((unsigned)fd < FDTAB_CHUNK)
		__atomic_store_n(&read_kind[fd], k, __ATOMIC_RELAXED);
	return k;
}

/* Deliver what the buffers of regular files hold: the program is about to
 * look at one of them another way than through its buffered fd. */
static void deliver_files(void)
{
	pthread_mutex_lock(&files_lock);
	for (struct bs_file *f = files; f; f = f->next)
		if (f->kind == BS_KIND_FILE && !f->closed && bs_file_pending(f))
			file_deliver(f, BS_DELIVER_SYNC, 0);
	pthread_mutex_unlock(&files_lock);
}

int bs_before_read_slow(int fd, int may_wait)
{
	unsigned char k;
	unsigned intr = bs_self.handled_intr;
	int err, fl;

	bs_enter_quiet(err);
	k = read_kind_of(fd);
	if (k == READ_MAY_BLOCK && may_wait)
		while (bs_deliver_all(BS_DELIVER_WAIT, 0)) {
			bs_leave();	/* the signal that waits runs here */
			bs_enter();
		}
	else if (k == READ_OWN_FILE)
		deliver_files();
	bs_leave_quiet(err);
	/* A handler without SA_RESTART ran meanwhile (its signal waited for
	 * our delivery): a read that would block says EINTR, as the signal
	 * would have made it (see hooks_wait.c). */
	if (bs_likely(bs_self.handled_intr == intr) || k != READ_MAY_BLOCK || !may_wait)
		return 0;
	fl = bs_sys_fcntl(fd, F_GETFL, 0);
	errno = err;
	return fl >= 0 && !(fl & O_NONBLOCK);
}

static void deliver_other_tty(struct bs_file *f, void *self)
{
	if (f != self && f->kind == BS_KIND_TTY && bs_file_pending(f))
		file_deliver(f, BS_DELIVER_SYNC, 0);
}

/* Outside files_lock: a terminal stopped with ^S, or whose reader does not
 * read, blocks the delivery, and other threads' waits need the lock. */
void bs_before_tty_write_slow(const struct bs_file *self)
{
	int err;

	bs_enter_quiet(err);
	bs_files_each_batched(deliver_other_tty, (void *)self);
	bs_leave_quiet(err);
}

int bs_inode_deliver(dev_t dev, ino_t ino)
{
	struct bs_file *f;
	int delivered = 0, err;

	if (bs_inside() || !__atomic_load_n(&bs_dirty, __ATOMIC_RELAXED) ||
	    !buffered_inode(dev, ino))
		return 0;
	/* Found again under files_lock: a file retired and reused
	 * meanwhile must not be delivered while it is set up anew. */
	bs_enter_quiet(err);
	pthread_mutex_lock(&files_lock);
	f = buffered_inode(dev, ino);
	if (f && bs_file_pending(f)) {
		file_deliver(f, BS_DELIVER_SYNC, 0);
		delivered = 1;
	}
	pthread_mutex_unlock(&files_lock);
	bs_leave_quiet(err);
	return delivered;
}

int bs_inode_deliver_fd(int fd)
{
	struct stat st;
	int err = errno, r = 0;

	if (!bs_inside() && __atomic_load_n(&bs_dirty, __ATOMIC_RELAXED) &&
	    bs_sys_fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		r = bs_inode_deliver(st.st_dev, st.st_ino);
	errno = err;
	return r;
}

int bs_inode_deliver_path(int dirfd, const char *path, int flags)
{
	struct stat st;
	int err = errno, r = 0;

	if (!path)
		return bs_inode_deliver_fd(dirfd);
	if (!bs_inside() && __atomic_load_n(&bs_dirty, __ATOMIC_RELAXED) &&
	    bs_sys_fstatat(dirfd, path, &st, flags) == 0 && S_ISREG(st.st_mode))
		r = bs_inode_deliver(st.st_dev, st.st_ino);
	errno = err;
	return r;
}

void bs_before_open(int dirfd, const char *path, int flags)
{
	struct stat st;
	int err;

	if (bs_likely(!__atomic_load_n(&bs_dirty, __ATOMIC_RELAXED)) || bs_inside() ||
	    !path || (flags & O_PATH))
		return;
	err = errno;
	if (bs_sys_fstatat(dirfd, path, &st, (flags & O_NOFOLLOW) ? AT_SYMLINK_NOFOLLOW : 0) == 0) {
		if (S_ISFIFO(st.st_mode) && !(flags & O_NONBLOCK))
			bs_deliver_all_now(BS_DELIVER_WAIT, 0);
		else if (S_ISREG(st.st_mode) && (flags & O_TRUNC))
			bs_inode_deliver(st.st_dev, st.st_ino);
	}
	errno = err;
}

void bs_fd_range_release(unsigned first, unsigned last, int closing)
{
	if (bs_inside())
		return;
	bs_enter();
	if (closing && first < FDTAB_CHUNK)
		memset(read_kind + first, 0,
		       (last < FDTAB_CHUNK ? last + 1 : FDTAB_CHUNK) - first);
	if (last > (unsigned)fdtab_max)
		last = (unsigned)fdtab_max;
	for (unsigned fd = first; fd <= last && fdtab_max >= 0; fd++) {
		bs_ent e = bs_fdtab_get((int)fd);
		struct bs_file *f = bs_ent_file(e);
		int err;

		if (f)
			file_deliver(f, BS_DELIVER_SYNC, 0);
		if (!closing)
			continue;
		/* closed: no call is left to report a failure */
		pthread_mutex_lock(&files_lock);
		err = closing_error(f, (int)fd, 0, 1);
		if (err)
			say_lost_fd(f, (int)fd, err);
		if (e)
			forget_locked((int)fd);	/* delivered above */
		pthread_mutex_unlock(&files_lock);
	}
	bs_leave();
}

void bs_fd_forget_closed(void)
{
	if (bs_inside())
		return;
	bs_enter();
	for (int fd = 0; fd <= fdtab_max; fd++)
		if (bs_fdtab_get(fd) && bs_sys_fcntl(fd, F_GETFD, 0) < 0 && errno == EBADF)
			file_forget(fd);
	bs_leave();
}

/* ---- fork ------------------------------------------------------------------------ */

void bs_files_fork_hold(void)
{
	fork_held = 1;
	pthread_mutex_lock(&files_lock);
	for (struct bs_file *f = files; f; f = f->next) {
		for (struct bs_local *l = f->locals; l; l = l->next) {
			l->held = !f->closed && bs_local_hold(l, BS_LOCAL_SKIP_DELIVERING);
			if (l->held)
				bs_buffer_deliver_held(&l->buf, BS_DELIVER_PROCESS, 0);
			bs_local_note_kept(f, l->held && l->buf.error);
		}
		f->fork_skip = f->closed || !bs_buffer_lock_unless_delivering(&f->buf);
		if (!f->fork_skip)
			bs_buffer_deliver_held(&f->buf, BS_DELIVER_PROCESS, 0);
	}
}

/* A buffer another thread was delivering, blocked, when the process forked
 * was not held: the parent's thread sends its bytes, so the child's copy
 * starts empty and free (that thread is not in the child). */
void bs_files_fork_release(int child)
{
	if (!fork_held)
		return;
	fork_held = 0;
	for (struct bs_file *f = files; f; f = f->next) {
		if (child)
			bs_local_fork_child(f);
		else
			for (struct bs_local *l = f->locals; l; l = l->next)
				if (l->held)
					bs_local_unhold(l);
		if (child) {	/* the child reports only its own work */
			memset(&f->buf.stats, 0, sizeof f->buf.stats);
			bs_buffer_forget_waiters(&f->buf);	/* the parent's threads */
			f->first_ns = 0;
			if (f->fork_skip && !f->closed) {
				if (f->buf.async)	/* the parent's helper writes it */
					f->buf.async->state = 0;
				f->buf.len = 0;
				f->buf.error = 0;
				f->buf.delivering = 0;
				bs_buffer_reinit_lock(&f->buf);
				continue;
			}
		}
		if (!f->fork_skip)
			bs_buffer_unlock(&f->buf);
	}
	pthread_mutex_unlock(&files_lock);
}
