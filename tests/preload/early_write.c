/* SPDX-License-Identifier: MIT */
/*
 * libearly_write.so — another preload library whose constructor writes a
 * line to fd 1, for the test that a write before our constructor, or
 * after it from another library's, keeps its place.
 */
#include <unistd.h>

__attribute__((constructor)) static void early(void)
{
	(void)!write(1, "early\n", 6);
}
