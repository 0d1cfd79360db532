/* SPDX-License-Identifier: MIT */
/*
 * bufshim — run a command with fewer write(2) syscalls.
 *
 * Like stdbuf: check the options with the library's own parser, put the
 * library in front of LD_PRELOAD, and exec the command in place. With
 * --stats=summary it cannot: it runs the command as its child, passes the
 * signals it is sent on to it, adds up what every process of the tree
 * reported, prints that, and ends as the command ended.
 * Exit status: 125 for our own errors, 126 when the command cannot run,
 * 127 when it is not found, else the command's own.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../core/bs_config.h"
#include "../core/bs_stats.h"

#ifndef BUFSHIM_VERSION
#define BUFSHIM_VERSION "0.1.0"
#endif
#ifndef BUFSHIM_LIBDIR
#define BUFSHIM_LIBDIR "/usr/local/lib/bufshim"
#endif
/* LIBDIR relative to BINDIR, as the Makefile computes it */
#ifndef BUFSHIM_LIBDIR_REL
#define BUFSHIM_LIBDIR_REL "../lib/bufshim"
#endif

#define EXIT_OURS 125
#define EXIT_CANNOT_RUN 126
#define EXIT_NOT_FOUND 127

static const char usage_text[] =
"Usage: bufshim [OPTION]... [--] COMMAND [ARG]...\n"
"Run COMMAND with its writes to the chosen fds buffered: the same bytes,\n"
"in the same order, in far fewer write(2) syscalls.\n"
"\n"
"  -f, --fds=LIST         fds to buffer: 1  1,2  1:line,2:none  all  (default 1)\n"
"  -s, --size=SIZE        buffer size: 4096 64K 1M 10KB (1 B to 1G; default 4096)\n"
"  -m, --mode=MODE        auto (line on a terminal, else full), full, line, none\n"
"  -t, --max-latency=MS   no byte waits longer than MS ms while the program is busy\n"
"      --stats[=FILE]     at exit, one line per buffered fd on stderr or FILE\n"
"      --stats=summary    when COMMAND ends, one line on stderr: the totals of\n"
"                         COMMAND and every process it started\n"
"      --no-stdio         leave stdio streams out of the buffer\n"
"      --threads=HOW      shared (default): one buffer per file, in the order\n"
"                         the threads wrote; local: a buffer per thread, faster\n"
"                         with many writing threads, order between threads lost\n"
"      --async            a helper thread writes each full buffer of a regular\n"
"                         file while the program fills a second one\n"
"  -h, --help             show this help and exit\n"
"  -V, --version          show the version and exit\n"
"\n"
"Each option sets the environment variable the library reads (BUFSHIM_FDS,\n"
"BUFSHIM_SIZE, BUFSHIM_MODE, BUFSHIM_FLUSH_MS, BUFSHIM_STATS, BUFSHIM_STDIO,\n"
"BUFSHIM_THREADS, BUFSHIM_ASYNC);\n"
"BUFSHIM_LIB names the library to preload instead of the one installed with\n"
"this command. Exit status: 125 if bufshim itself fails, 126 if COMMAND\n"
"cannot run, 127 if it is not found, else the status of COMMAND.\n";

/*
 * Every message of the command is "bufshim: SUBJECT: PROBLEM", where the
 * subject is what the user typed or set: an option, a variable, a command.
 * die(usage, fmt, ...) prints one and exits 125, after a hint to --help
 * when usage is set. (A macro: the analyzer loses a va_list in a function.)
 */
__attribute__((noreturn)) static void leave(int usage)
{
	if (usage)
		fputs("Try 'bufshim --help' for more information.\n", stderr);
	exit(EXIT_OURS);
}

#define die(usage, fmt, ...)                                                \
	do {                                                                \
		fprintf(stderr, "bufshim: " fmt "\n", ##__VA_ARGS__);       \
		leave(usage);                                               \
	} while (0)

/* The library: BUFSHIM_LIB, else beside this command (the build tree),
 * else at LIBDIR's place relative to this command (an install, staged or
 * not), else the configured LIBDIR. */
static const char *find_library(void)
{
	static char path[PATH_MAX + 64];
	const char *env = getenv("BUFSHIM_LIB");
	static const char *const rel[] = { "/libbufshim.so",
					   "/" BUFSHIM_LIBDIR_REL "/libbufshim.so" };
	char self[PATH_MAX];
	ssize_t n;

	if (env && *env) {
		/* LD_PRELOAD's list: a missing file would only make the loader
		 * complain and run the program unbuffered */
		for (const char *p = env; *p;) {
			size_t len = strcspn(p, ": ");

			snprintf(path, sizeof path, "%.*s", (int)len, p);
			if (memchr(p, '/', len) && access(path, R_OK) < 0)
				die(0, "BUFSHIM_LIB='%s': %s", path, strerror(errno));
			p += len + (p[len] != '\0');
		}
		return env;
	}
	n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n > 0) {
		self[n] = '\0';
		*strrchr(self, '/') = '\0';
		for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
			snprintf(path, sizeof path, "%s%s", self, rel[i]);
			if (access(path, R_OK) == 0)
				return path;
		}
	}
	snprintf(path, sizeof path, "%s/libbufshim.so", BUFSHIM_LIBDIR);
	if (access(path, R_OK) == 0)
		return path;
	die(0, "libbufshim.so: not found in %s nor beside the command (set BUFSHIM_LIB)",
	    BUFSHIM_LIBDIR);
}

static void set_env(const char *name, const char *value)
{
	if (setenv(name, value, 1) < 0)
		die(0, "%s: cannot set it: %s", name, strerror(errno));
}

/* Our library goes first; what the user preloads stays. */
static void add_preload(const char *lib)
{
	const char *old = getenv("LD_PRELOAD");
	char *v;

	if (!old || !*old) {
		set_env("LD_PRELOAD", lib);
		return;
	}
	if (asprintf(&v, "%s:%s", lib, old) < 0)
		die(0, "LD_PRELOAD: out of memory");
	set_env("LD_PRELOAD", v);
	free(v);
}

/* The file execvp would run for name, or NULL. */
static const char *resolve_command(const char *name, char *buf, size_t n)
{
	const char *path = getenv("PATH");

	if (strchr(name, '/'))
		return name;
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		size_t len = strcspn(path, ":");

		snprintf(buf, n, "%.*s%s%s", (int)len, path, len ? "/" : "", name);
		if (access(buf, X_OK) == 0)
			return buf;
		path += len + (path[len] == ':');
	}
	return NULL;
}

/* An ELF executable without an interpreter is statically linked. */
static int is_static_elf(const char *file)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	int fd = open(file, O_RDONLY | O_CLOEXEC), interp = 0, elf = 0;

	if (fd < 0)
		return 0;
	if (pread(fd, &eh, sizeof eh, 0) == sizeof eh &&
	    !memcmp(eh.e_ident, ELFMAG, SELFMAG) && eh.e_ident[EI_CLASS] == ELFCLASS64) {
		elf = 1;
		for (int i = 0; i < eh.e_phnum; i++) {
			if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + (size_t)i * eh.e_phentsize)) !=
			    sizeof ph)
				break;
			interp |= ph.p_type == PT_INTERP;
		}
	}
	close(fd);
	return elf && !interp;
}

/* Say so when the preload library cannot reach the command; run it anyway. */
static void warn_unreachable(const char *name)
{
	char buf[PATH_MAX + 256];
	const char *file = resolve_command(name, buf, sizeof buf);
	struct stat st;

	if (!file || stat(file, &st) < 0)
		return;
	if (st.st_mode & (S_ISUID | S_ISGID))
		fprintf(stderr, "bufshim: warning: %s is set-user-ID or set-group-ID; "
			"the loader ignores the library, output is not buffered\n", name);
	else if (is_static_elf(file))
		fprintf(stderr, "bufshim: warning: %s is statically linked; "
			"a preload library cannot reach it, output is not buffered\n", name);
}

static const struct option longopts[] = {
	{ "fds", required_argument, NULL, 'f' },
	{ "size", required_argument, NULL, 's' },
	{ "mode", required_argument, NULL, 'm' },
	{ "max-latency", required_argument, NULL, 't' },
	{ "stats", optional_argument, NULL, 'S' },
	{ "no-stdio", no_argument, NULL, 'N' },
	{ "threads", required_argument, NULL, 'T' },
	{ "async", no_argument, NULL, 'A' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

/* For each variable an option sets, the option as the user typed it
 * ("--size", "-s"; empty when it came from the environment), so that a
 * bad value is reported in the user's own words. */
static struct {
	const char *var;
	char opt[32];
} typed[] = {
	{ "BUFSHIM_FDS", "" },	    { "BUFSHIM_SIZE", "" },  { "BUFSHIM_MODE", "" },
	{ "BUFSHIM_FLUSH_MS", "" }, { "BUFSHIM_STATS", "" }, { "BUFSHIM_STDIO", "" },
	{ "BUFSHIM_THREADS", "" }, { "BUFSHIM_ASYNC", "" },
};

static void set_option(const char *var, const char *value, int c, int longindex)
{
	set_env(var, value);
	for (size_t i = 0; i < sizeof typed / sizeof typed[0]; i++) {
		if (strcmp(typed[i].var, var) != 0)
			continue;
		if (longindex >= 0)
			snprintf(typed[i].opt, sizeof typed[i].opt, "--%s", longopts[longindex].name);
		else
			snprintf(typed[i].opt, sizeof typed[i].opt, "-%c", c);
	}
}

/*
 * The parser's line says "bufshim: VAR='value' is not ...; buffering off",
 * as the library says it about the environment. Here it is fatal, and it
 * names the option when the value came from one:
 * "bufshim: --size='12x': not a size (e.g. 4096, 64K, 1M)".
 */
__attribute__((noreturn)) static void bad_value(char *line)
{
	static const char off[] = "; buffering off";
	size_t len = strlen(line);

	if (len >= sizeof off - 1 && !strcmp(line + len - (sizeof off - 1), off))
		line[len - (sizeof off - 1)] = '\0';
	for (size_t i = 0; i < sizeof typed / sizeof typed[0]; i++) {
		const char *value = getenv(typed[i].var);
		char pre[256], shown[128], why[256];
		struct bs_str p, v;
		size_t n;

		if (!value)
			continue;
		bs_str_init(&v, shown, sizeof shown);
		bs_str_value(&v, value);
		bs_str_init(&p, pre, sizeof pre);
		bs_str_add(&p, "bufshim: ");
		bs_str_add(&p, typed[i].var);
		bs_str_add(&p, "='");
		bs_str_add(&p, shown);
		bs_str_add(&p, "' ");
		if (strncmp(line, pre, p.len) != 0)
			continue;
		snprintf(why, sizeof why, "%s", line + p.len);
		n = strncmp(why, "is ", 3) ? 0 : 3;
		if (!typed[i].opt[0])
			die(0, "%s='%s': %s", typed[i].var, shown, why + n);
		if (typed[i].opt[1] == '-')
			die(0, "%s='%s': %s", typed[i].opt, shown, why + n);
		die(0, "%s '%s': %s", typed[i].opt, shown, why + n);
	}
	/* a variable this table does not know yet: the parser's words */
	die(0, "%s", strncmp(line, "bufshim: ", 9) ? line : line + 9);
}

/* getopt's complaint, in our words; word is the argument it was reading. */
__attribute__((noreturn)) static void bad_option(int c, const char *word)
{
	int is_long = word && word[0] == '-' && word[1] == '-';
	int len = is_long ? (int)strcspn(word, "=") : 0;
	char which[128] = "";
	int matches = 0;

	if (!is_long)
		die(1, "-%c: %s", optopt, c == ':' ? "needs a value" : "unknown option");
	if (c == ':')
		die(1, "%.*s: needs a value", len, word);
	if (optopt)
		die(1, "%.*s: takes no value", len, word);
	for (const struct option *o = longopts; o->name; o++) {
		if (strncmp(o->name, word + 2, (size_t)len - 2) != 0)
			continue;
		snprintf(which + strlen(which), sizeof which - strlen(which), "%s--%s",
			 matches++ ? ", " : "", o->name);
	}
	if (matches > 1)
		die(1, "%.*s: ambiguous option (%s)", len, word, which);
	die(1, "%.*s: unknown option", len, word);
}

/* ---- --stats=summary ------------------------------------------------------------ */

/* Where the processes append their records: a private directory of ours. */
static char summary_dir[PATH_MAX], summary_file[PATH_MAX + 16];

static void summary_prepare(void)
{
	const char *tmp = getenv("TMPDIR");
	char *value;

	if (!tmp || tmp[0] != '/')
		tmp = "/tmp";
	if (snprintf(summary_dir, sizeof summary_dir, "%s/bufshim.XXXXXX", tmp) >=
	    (int)sizeof summary_dir)
		die(0, "--stats=summary: TMPDIR='%s': too long a path", tmp);
	if (!mkdtemp(summary_dir))
		die(0, "--stats=summary: cannot make a directory in %s: %s", tmp, strerror(errno));
	snprintf(summary_file, sizeof summary_file, "%s/totals", summary_dir);
	if (asprintf(&value, "summary:%s", summary_file) < 0)
		die(0, "BUFSHIM_STATS: out of memory");
	set_env("BUFSHIM_STATS", value);
	free(value);
}

static void summary_remove(void)
{
	unlink(summary_file);
	rmdir(summary_dir);
}

static int cmp_pid(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return (x > y) - (x < y);
}

/* Add up the records, remove them, and print the summary on stderr. */
static void summary_print(void)
{
	struct bs_stats sum, st;
	FILE *f;
	char buf[512], line[512];
	struct bs_str s;
	long pid, *pids = NULL;
	size_t n = 0, cap = 0, distinct = 0;
	int fd = open(summary_file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	memset(&sum, 0, sizeof sum);
	f = fd >= 0 ? fdopen(fd, "r") : NULL;
	while (f && fgets(buf, sizeof buf, f)) {
		memset(&st, 0, sizeof st);
		if (bs_stats_record_parse(buf, &pid, &st) < 0)
			continue;
		bs_stats_add(&sum, &st);
		if (n == cap) {
			long *more = realloc(pids, (cap = cap ? cap * 2 : 64) * sizeof *pids);

			if (!more)
				break;
			pids = more;
		}
		pids[n++] = pid;
	}
	if (f)
		fclose(f);
	else if (fd >= 0)
		close(fd);
	summary_remove();
	/* a process that execs reports before the exec and after it: one pid */
	if (n)
		qsort(pids, n, sizeof *pids, cmp_pid);
	for (size_t i = 0; i < n; i++)
		distinct += i == 0 || pids[i] != pids[i - 1];
	free(pids);
	bs_str_init(&s, line, sizeof line);
	bs_stats_summary_line(&s, distinct, &sum);
	fprintf(stderr, "%s\n", line);
	fflush(stderr);
}

/* The signals passed on to the command: all it could be sent, but the ones
 * that stop or end us only when we fault, SIGCHLD (ours to wait), and the
 * terminal's background stops, which concern each process alone. */
static void forwarded_signals(sigset_t *set)
{
	static const int keep[] = { SIGKILL, SIGSTOP, SIGCHLD, SIGTTIN, SIGTTOU, SIGSEGV,
				    SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT };

	sigemptyset(set);
	for (int sig = 1; sig <= SIGRTMAX; sig++)
		sigaddset(set, sig);	/* glibc's own real-time signals refuse */
	for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
		sigdelset(set, keep[i]);
}

/* End as the command ended: its status, or its signal raised on us. */
__attribute__((noreturn)) static void end_like(int status)
{
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		struct rlimit none = { 0, 0 };
		sigset_t one;

		/* no second core file over the command's own */
		setrlimit(RLIMIT_CORE, &none);
		signal(sig, SIG_DFL);
		sigemptyset(&one);
		sigaddset(&one, sig);
		raise(sig);
		sigprocmask(SIG_UNBLOCK, &one, NULL);
		exit(128 + sig);	/* a signal we cannot die of */
	}
	exit(WIFEXITED(status) ? WEXITSTATUS(status) : EXIT_OURS);
}

/*
 * Run argv as our child, its signals passed on, and wait for it. A signal
 * the terminal sent to the whole foreground group (Ctrl-C, Ctrl-\, a
 * resize) reached the command too and is not sent twice. A stop (Ctrl-Z,
 * or SIGTSTP sent to us) stops us as well, so that the shell sees the job
 * stopped; SIGCONT goes on to the command when it was sent to us alone.
 */
__attribute__((noreturn)) static void run_summed(char **argv)
{
	sigset_t fwd, old, wait_set;
	siginfo_t si;
	int pipefd[2], status = 0, err = 0;
	pid_t pid;
	ssize_t r;

	forwarded_signals(&fwd);
	wait_set = fwd;
	sigaddset(&wait_set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &wait_set, &old);
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		summary_remove();
		die(0, "%s: %s", argv[0], strerror(errno));
	}
	pid = fork();
	if (pid == 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		execvp(argv[0], argv);
		err = errno;
		if (write(pipefd[1], &err, sizeof err) < 0)
			_exit(EXIT_CANNOT_RUN);
		_exit(err == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_RUN);
	}
	close(pipefd[1]);
	if (pid < 0) {
		summary_remove();
		die(0, "%s: %s", argv[0], strerror(errno));
	}
	/* the exec closes the pipe; a failed one writes its errno first */
	do
		r = read(pipefd[0], &err, sizeof err);
	while (r < 0 && errno == EINTR);
	close(pipefd[0]);
	if (r == (ssize_t)sizeof err) {
		waitpid(pid, NULL, 0);
		summary_remove();
		fprintf(stderr, "bufshim: %s: %s\n", argv[0], strerror(err));
		exit(err == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_RUN);
	}
	for (;;) {
		int sig = sigwaitinfo(&wait_set, &si);

		if (sig == SIGCHLD || sig < 0) {
			if (waitpid(pid, &status, WNOHANG) == pid)
				break;
			continue;
		}
		if (si.si_code != SI_KERNEL)
			kill(pid, sig);
		if (sig == SIGTSTP)
			raise(SIGSTOP);
	}
	signal(SIGPIPE, SIG_IGN);	/* a reader of stderr gone: still end as the command did */
	summary_print();
	end_like(status);
}

static void print_and_exit(const char *text)
{
	if (fputs(text, stdout) < 0 || fflush(stdout) != 0)
		die(0, "standard output: %s", strerror(errno));
	exit(0);
}

int main(int argc, char **argv)
{
	struct bs_config cfg;
	struct bs_env env;
	struct bs_str msg;
	char line[512];
	int c, longindex, summary = 0;
	const char *word;

	opterr = 0;
	for (;;) {
		word = optind < argc ? argv[optind] : NULL;
		longindex = -1;
		c = getopt_long(argc, argv, "+:f:s:m:t:hV", longopts, &longindex);
		if (c == -1)
			break;
		switch (c) {
		case 'f': set_option("BUFSHIM_FDS", optarg, c, longindex); break;
		case 's': set_option("BUFSHIM_SIZE", optarg, c, longindex); break;
		case 'm': set_option("BUFSHIM_MODE", optarg, c, longindex); break;
		case 't': set_option("BUFSHIM_FLUSH_MS", optarg, c, longindex); break;
		case 'S':
			summary = optarg && !strcmp(optarg, "summary");
			set_option("BUFSHIM_STATS", summary ? "0" : optarg ? optarg : "1", c, longindex);
			break;
		case 'N': set_option("BUFSHIM_STDIO", "0", c, longindex); break;
		case 'T': set_option("BUFSHIM_THREADS", optarg, c, longindex); break;
		case 'A': set_option("BUFSHIM_ASYNC", "1", c, longindex); break;
		case 'h': print_and_exit(usage_text); break;
		case 'V': print_and_exit("bufshim " BUFSHIM_VERSION "\n"); break;
		default: bad_option(c, word);
		}
	}
	if (optind == argc)
		die(1, "missing command");
	bs_env_read(&env, getenv);
	bs_str_init(&msg, line, sizeof line);
	if (bs_config_parse(&cfg, &env, &msg) < 0)
		bad_value(line);
	add_preload(find_library());
	warn_unreachable(argv[optind]);
	if (summary) {
		summary_prepare();
		run_summed(argv + optind);
	}
	execvp(argv[optind], argv + optind);
	c = errno;
	fprintf(stderr, "bufshim: %s: %s\n", argv[optind], strerror(c));
	return c == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_RUN;
}
