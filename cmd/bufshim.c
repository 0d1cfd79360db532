/* SPDX-License-Identifier: MIT */
/*
 * bufshim — run a command with fewer write(2) syscalls.
 *
 * Like stdbuf: check the options with the library's own parser, put the
 * library in front of LD_PRELOAD, and exec the command in place.
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
#include <sys/stat.h>
#include <unistd.h>

#include "../core/bs_config.h"

#ifndef BUFSHIM_VERSION
#define BUFSHIM_VERSION "0.1.0"
#endif
#ifndef BUFSHIM_LIBDIR
#define BUFSHIM_LIBDIR "/usr/local/lib/bufshim"
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
"      --no-stdio         leave stdio streams out of the buffer\n"
"  -h, --help             show this help and exit\n"
"  -V, --version          show the version and exit\n"
"\n"
"Each option sets the environment variable the library reads (BUFSHIM_FDS,\n"
"BUFSHIM_SIZE, BUFSHIM_MODE, BUFSHIM_FLUSH_MS, BUFSHIM_STATS, BUFSHIM_STDIO);\n"
"BUFSHIM_LIB names the library to preload instead of the one found next to\n"
"this command. Exit status: 125 if bufshim itself fails, 126 if COMMAND\n"
"cannot run, 127 if it is not found, else the status of COMMAND.\n";

__attribute__((noreturn)) static void die(const char *msg, const char *arg)
{
	fprintf(stderr, "bufshim: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
	exit(EXIT_OURS);
}

/* The library: BUFSHIM_LIB, else beside this command (the build tree),
 * else in ../lib/bufshim (an install), else the configured LIBDIR. */
static const char *find_library(void)
{
	static char path[PATH_MAX + 64];
	const char *env = getenv("BUFSHIM_LIB");
	static const char *const rel[] = { "/libbufshim.so",
					   "/../lib/bufshim/libbufshim.so" };
	char self[PATH_MAX];
	ssize_t n;

	if (env && *env)
		return env;
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
	die("cannot find libbufshim.so (set BUFSHIM_LIB)", NULL);
}

static void set_env(const char *name, const char *value)
{
	if (!value || setenv(name, value, 1) < 0)
		die("cannot set the environment", name);
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
		die("out of memory", NULL);
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

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "fds", required_argument, NULL, 'f' },
		{ "size", required_argument, NULL, 's' },
		{ "mode", required_argument, NULL, 'm' },
		{ "max-latency", required_argument, NULL, 't' },
		{ "stats", optional_argument, NULL, 'S' },
		{ "no-stdio", no_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct bs_config cfg;
	struct bs_env env;
	struct bs_str msg;
	char line[256];
	int c;

	while ((c = getopt_long(argc, argv, "+f:s:m:t:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'f': set_env("BUFSHIM_FDS", optarg); break;
		case 's': set_env("BUFSHIM_SIZE", optarg); break;
		case 'm': set_env("BUFSHIM_MODE", optarg); break;
		case 't': set_env("BUFSHIM_FLUSH_MS", optarg); break;
		case 'S': set_env("BUFSHIM_STATS", optarg ? optarg : "1"); break;
		case 'N': set_env("BUFSHIM_STDIO", "0"); break;
		case 'h': fputs(usage_text, stdout); return 0;
		case 'V': puts("bufshim " BUFSHIM_VERSION); return 0;
		default:
			fputs("Try 'bufshim --help' for more information.\n", stderr);
			return EXIT_OURS;
		}
	}
	if (optind == argc) {
		fputs("bufshim: missing command\n"
		      "Try 'bufshim --help' for more information.\n", stderr);
		return EXIT_OURS;
	}
	bs_env_read(&env, getenv);
	bs_str_init(&msg, line, sizeof line);
	if (bs_config_parse(&cfg, &env, &msg) < 0) {
		/* The library's message, but here it is fatal: say so. */
		char *cut = strstr(line, "; buffering off");

		if (cut)
			*cut = '\0';
		fprintf(stderr, "%s\n", line);
		return EXIT_OURS;
	}
	add_preload(find_library());
	warn_unreachable(argv[optind]);
	execvp(argv[optind], argv + optind);
	c = errno;
	fprintf(stderr, "bufshim: %s: %s\n", argv[optind], strerror(c));
	return c == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_RUN;
}
