/* SPDX-License-Identifier: MIT */
/*
 * bs_str — a bounded string builder for diagnostics and stats lines.
 *
 * No stdio and no allocation, so it is safe on any path of the library.
 * The text is always NUL-terminated; what does not fit is cut off.
 */
#ifndef BS_STR_H
#define BS_STR_H

#include <stddef.h>
#include <stdint.h>

struct bs_str {
	char *p;
	size_t len;
	size_t cap;	/* bytes of p, the NUL included */
};

void bs_str_init(struct bs_str *s, char *buf, size_t cap);
void bs_str_add(struct bs_str *s, const char *text);
void bs_str_addn(struct bs_str *s, const char *text, size_t n);
void bs_str_u64(struct bs_str *s, uint64_t v);
/* value shown safely on one line: control bytes as '?', long values cut with "..." */
void bs_str_value(struct bs_str *s, const char *value);

#endif
