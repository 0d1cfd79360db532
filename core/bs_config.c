/* SPDX-License-Identifier: MIT */
/*
 * bs_config — parse the BUFSHIM_* settings.
 *
 * Spaces around a value or a list item are forgiven; anything else that is
 * not in the grammar is an error, reported once, and buffering stays off.
 */
#include "bs_config.h"
#include "bs_text.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static const char *const mode_names[] = {
	[BS_MODE_NONE] = "none",
	[BS_MODE_LINE] = "line",
	[BS_MODE_FULL] = "full",
	[BS_MODE_AUTO] = "auto",
};

const char *bs_mode_name(enum bs_mode mode)
{
	return (unsigned)mode <= BS_MODE_AUTO ? mode_names[mode] : "?";
}

static int is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* [s, e) without the spaces around it. */
static void trim(const char **s, const char **e)
{
	while (*s < *e && is_space(**s))
		(*s)++;
	while (*e > *s && is_space((*e)[-1]))
		(*e)--;
}

static int span_is(const char *s, const char *e, const char *word)
{
	size_t n = strlen(word);

	return (size_t)(e - s) == n && memcmp(s, word, n) == 0;
}

/* Decimal digits [s, e) into *out. -1: not a number, -2: too large. */
static int parse_u64(const char *s, const char *e, uint64_t *out)
{
	uint64_t v = 0;

	if (s == e)
		return -1;
	for (; s < e; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (UINT64_MAX - 9) / 10)
			return -2;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

static int mode_from(const char *s, const char *e, enum bs_mode *out)
{
	for (unsigned m = 0; m <= BS_MODE_AUTO; m++) {
		if (span_is(s, e, mode_names[m])) {
			*out = (enum bs_mode)m;
			return 0;
		}
	}
	return -1;
}

int bs_parse_mode(const char *s, enum bs_mode *out)
{
	const char *e = s + strlen(s);

	trim(&s, &e);
	return mode_from(s, e, out);
}

int bs_parse_size(const char *s, size_t *out)
{
	static const struct { const char *suffix; uint64_t unit; } units[] = {
		{ "", 1 }, { "B", 1 },
		{ "K", 1ULL << 10 }, { "KiB", 1ULL << 10 }, { "KB", 1000 },
		{ "M", 1ULL << 20 }, { "MiB", 1ULL << 20 }, { "MB", 1000000 },
		{ "G", 1ULL << 30 }, { "GiB", 1ULL << 30 }, { "GB", 1000000000 },
		{ "k", 1ULL << 10 }, { "kB", 1000 }, { "m", 1ULL << 20 },
		{ "g", 1ULL << 30 },
	};
	const char *e = s + strlen(s), *d;
	uint64_t v;
	int rc;

	trim(&s, &e);
	for (d = s; d < e && *d >= '0' && *d <= '9'; d++)
		;
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (!span_is(d, e, units[i].suffix))
			continue;
		rc = parse_u64(s, d, &v);
		if (rc < 0)
			return rc;
		if (v == 0 || v > BS_SIZE_MAX / units[i].unit)
			return -2;
		*out = (size_t)(v * units[i].unit);
		return 0;
	}
	return -1;
}

/* ---- messages ---------------------------------------------------------------- */

static int fail(struct bs_str *msg, const char *var, const char *value,
		const char *why)
{
	bs_str_add(msg, "bufshim: ");
	bs_str_add(msg, var);
	bs_str_add(msg, "='");
	bs_str_value(msg, value);
	bs_str_add(msg, "' ");
	bs_str_add(msg, why);
	bs_str_add(msg, "; buffering off");
	return -1;
}

/* ---- BUFSHIM_FDS ------------------------------------------------------------- */

static const char *add_fd(struct bs_config *c, const char *s, const char *e)
{
	const char *colon = memchr(s, ':', (size_t)(e - s));
	const char *ne = colon ? colon : e;
	enum bs_mode mode = BS_MODE_AUTO;
	uint64_t fd = 0;
	int rc;

	trim(&s, &ne);
	rc = parse_u64(s, ne, &fd);
	if (rc == -1)
		return NULL;
	if (rc == -2 || fd >= BS_FD_LIMIT)
		return "has an fd number above 1048575";
	if (colon) {
		const char *m = colon + 1;

		trim(&m, &e);
		if (mode_from(m, e, &mode) < 0)
			return NULL;
	}
	for (int i = 0; i < c->nfds; i++)
		if (c->fds[i].fd == (int)fd)
			return "names an fd twice";
	if (c->nfds == BS_FDS_MAX)
		return "names more than 64 fds (use all)";
	c->fds[c->nfds].fd = (int)fd;
	c->fds[c->nfds].mode = colon ? (int)mode : -1;
	c->nfds++;
	return "";
}

static int parse_fds(struct bs_config *c, const char *value, struct bs_str *msg)
{
	static const char usage[] =
		"is not a list of fds (e.g. 1, 1,2, 1:line,2:none, all)";
	const char *s = value, *end = value + strlen(value);

	trim(&s, &end);
	if (span_is(s, end, "all")) {
		c->all = 1;
		return 0;
	}
	if (s == end)
		return fail(msg, "BUFSHIM_FDS", value, usage);
	for (;;) {
		const char *comma = memchr(s, ',', (size_t)(end - s));
		const char *e = comma ? comma : end;
		const char *why = add_fd(c, s, e);

		if (!why)
			return fail(msg, "BUFSHIM_FDS", value, usage);
		if (*why)
			return fail(msg, "BUFSHIM_FDS", value, why);
		if (!comma)
			return 0;
		s = comma + 1;
	}
}

/* ---- the whole configuration --------------------------------------------------- */

static int parse_flush_ms(struct bs_config *c, const char *value,
			  struct bs_str *msg)
{
	const char *s = value, *e = value + strlen(value);
	uint64_t ms;

	trim(&s, &e);
	if (parse_u64(s, e, &ms) < 0 || ms > BS_FLUSH_MS_MAX)
		return fail(msg, "BUFSHIM_FLUSH_MS", value,
			    "is not a time in ms (0 to 86400000, 0 for no bound)");
	c->flush_ms = (unsigned)ms;
	return 0;
}

/* "0" or nothing, "1", "summary:PATH", or PATH. */
static int parse_stats(struct bs_config *c, const char *value,
		       struct bs_str *msg)
{
	static const char summary[] = "summary:";
	const char *s = value, *e = value + strlen(value);

	trim(&s, &e);
	if (s == e || span_is(s, e, "0")) {
		c->stats = BS_STATS_OFF;
		return 0;
	}
	if (span_is(s, e, "1")) {
		c->stats = BS_STATS_STDERR;
		return 0;
	}
	c->stats = BS_STATS_FILE;
	if ((size_t)(e - s) >= sizeof summary - 1 &&
	    memcmp(s, summary, sizeof summary - 1) == 0) {
		c->stats = BS_STATS_SUMMARY;
		s += sizeof summary - 1;
		trim(&s, &e);
		if (s == e)
			return fail(msg, "BUFSHIM_STATS", value,
				    "names no file (summary:PATH)");
	}
	if ((size_t)(e - s) >= sizeof c->stats_path)
		return fail(msg, "BUFSHIM_STATS", value,
			    "is too long a path (4095 bytes at most)");
	memcpy(c->stats_path, s, (size_t)(e - s));
	c->stats_path[e - s] = '\0';
	return 0;
}

static int parse_stdio(struct bs_config *c, const char *value,
		       struct bs_str *msg)
{
	const char *s = value, *e = value + strlen(value);

	trim(&s, &e);
	if (span_is(s, e, "0") || span_is(s, e, "1")) {
		c->stdio = *s == '1';
		return 0;
	}
	return fail(msg, "BUFSHIM_STDIO", value, "is not 0 or 1");
}

static int parse_async(struct bs_config *c, const char *value,
		       struct bs_str *msg)
{
	const char *s = value, *e = value + strlen(value);

	trim(&s, &e);
	if (span_is(s, e, "0") || span_is(s, e, "1")) {
		c->async = *s == '1';
		return 0;
	}
	return fail(msg, "BUFSHIM_ASYNC", value, "is not 0 or 1");
}

static int parse_threads(struct bs_config *c, const char *value,
			 struct bs_str *msg)
{
	const char *s = value, *e = value + strlen(value);

	trim(&s, &e);
	if (span_is(s, e, "shared") || span_is(s, e, "local")) {
		c->threads_local = *s == 'l';
		return 0;
	}
	return fail(msg, "BUFSHIM_THREADS", value, "is not shared or local");
}

BS_TEXT_START int bs_config_parse(struct bs_config *c, const struct bs_env *env,
		    struct bs_str *msg)
{
	memset(c, 0, offsetof(struct bs_config, stats_path));
	c->stats_path[0] = '\0';
	c->size = BS_SIZE_DEFAULT;
	c->mode = BS_MODE_AUTO;
	c->stdio = 1;
	if (env->fds) {
		if (parse_fds(c, env->fds, msg) < 0)
			return -1;
	} else {
		c->nfds = 1;
		c->fds[0].fd = 1;
		c->fds[0].mode = -1;
	}
	if (env->size) {
		int rc = bs_parse_size(env->size, &c->size);

		if (rc == -1)
			return fail(msg, "BUFSHIM_SIZE", env->size,
				    "is not a size (e.g. 4096, 64K, 1M)");
		if (rc == -2)
			return fail(msg, "BUFSHIM_SIZE", env->size,
				    "is out of range (1 B to 1G)");
	}
	if (env->mode && bs_parse_mode(env->mode, &c->mode) < 0)
		return fail(msg, "BUFSHIM_MODE", env->mode,
			    "is not a mode (auto, full, line, none)");
	if (env->flush_ms && parse_flush_ms(c, env->flush_ms, msg) < 0)
		return -1;
	if (env->stats && parse_stats(c, env->stats, msg) < 0)
		return -1;
	if (env->stdio && parse_stdio(c, env->stdio, msg) < 0)
		return -1;
	if (env->threads && parse_threads(c, env->threads, msg) < 0)
		return -1;
	if (env->async && parse_async(c, env->async, msg) < 0)
		return -1;
	return 0;
}

BS_TEXT_START void bs_env_read(struct bs_env *env, char *(*lookup)(const char *name))
{
	env->fds = lookup("BUFSHIM_FDS");
	env->size = lookup("BUFSHIM_SIZE");
	env->mode = lookup("BUFSHIM_MODE");
	env->flush_ms = lookup("BUFSHIM_FLUSH_MS");
	env->stats = lookup("BUFSHIM_STATS");
	env->stdio = lookup("BUFSHIM_STDIO");
	env->threads = lookup("BUFSHIM_THREADS");
	env->async = lookup("BUFSHIM_ASYNC");
}

BS_TEXT_START int bs_config_fd_mode(const struct bs_config *c, int fd)
{
	if (c->all)
		return fd >= 0 && fd < BS_FD_LIMIT ? (int)c->mode : -1;
	for (int i = 0; i < c->nfds; i++)
		if (c->fds[i].fd == fd)
			return c->fds[i].mode < 0 ? (int)c->mode : c->fds[i].mode;
	return -1;
}
