/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the configuration parser, fed six NUL-separated values
 * (BUFSHIM_FDS, _SIZE, _MODE, _FLUSH_MS, _STATS, _STDIO; a missing one is
 * unset). Checks what the parser promises: a valid configuration, or one
 * line that names the variable and ends in "; buffering off".
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/bs_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1), *p = copy, *end = copy + size;
	const char *v[6] = { NULL };
	struct bs_config c;
	struct bs_env env;
	struct bs_str msg;
	char line[256];

	memcpy(copy, data, size);
	copy[size] = '\0';
	for (int i = 0; i < 6 && p <= end; i++) {
		v[i] = p;
		p += strlen(p) + 1;
	}
	env = (struct bs_env){ v[0], v[1], v[2], v[3], v[4], v[5] };
	bs_str_init(&msg, line, sizeof line);
	if (bs_config_parse(&c, &env, &msg) == 0) {
		if (c.size < 1 || c.size > BS_SIZE_MAX || c.nfds > BS_FDS_MAX ||
		    c.flush_ms > BS_FLUSH_MS_MAX || c.mode > BS_MODE_AUTO || line[0])
			abort();
		for (int i = 0; i < c.nfds; i++)
			if (c.fds[i].fd < 0 || c.fds[i].fd >= BS_FD_LIMIT)
				abort();
	} else if (strncmp(line, "bufshim: BUFSHIM_", 17) != 0 || strchr(line, '\n') ||
		   !strstr(line, "; buffering off")) {
		abort();
	}
	free(copy);
	return 0;
}
