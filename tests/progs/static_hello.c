/* SPDX-License-Identifier: MIT */
/* Linked statically by the tests: bufshim must warn that it cannot reach it. */
#include <unistd.h>

int main(void)
{
	return write(1, "static\n", 7) == 7 ? 0 : 1;
}
