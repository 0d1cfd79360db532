/* SPDX-License-Identifier: MIT */
/*
 * bs_str — a bounded string builder.
 */
#include "bs_str.h"
#include "bs_text.h"

#include <string.h>

#define BS_STR_VALUE_MAX 64

BS_TEXT_START void bs_str_init(struct bs_str *s, char *buf, size_t cap)
{
	s->p = buf;
	s->cap = cap;
	s->len = 0;
	if (cap)
		buf[0] = '\0';
}

void bs_str_addn(struct bs_str *s, const char *text, size_t n)
{
	if (!s->cap)
		return;
	if (n > s->cap - 1 - s->len)
		n = s->cap - 1 - s->len;
	memcpy(s->p + s->len, text, n);
	s->len += n;
	s->p[s->len] = '\0';
}

void bs_str_add(struct bs_str *s, const char *text)
{
	bs_str_addn(s, text, strlen(text));
}

void bs_str_u64(struct bs_str *s, uint64_t v)
{
	char digits[20];
	size_t i = sizeof digits;

	do {
		digits[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	bs_str_addn(s, digits + i, sizeof digits - i);
}

void bs_str_value(struct bs_str *s, const char *value)
{
	size_t i;

	for (i = 0; i < BS_STR_VALUE_MAX && value[i]; i++) {
		unsigned char c = (unsigned char)value[i];
		char out = (char)((c < 0x20 || c == 0x7f) ? '?' : c);

		bs_str_addn(s, &out, 1);
	}
	if (value[i])
		bs_str_add(s, "...");
}
