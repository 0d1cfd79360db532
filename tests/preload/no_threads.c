/* SPDX-License-Identifier: MIT */
/*
 * libno_threads.so — another preload library, placed before ours in
 * LD_PRELOAD: no thread can be made (pthread_create says EAGAIN, as it
 * does when a process is at its limit), for the tests of what the library
 * does without the threads it would start.
 */
#include <errno.h>
#include <pthread.h>

int pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
	(void)t;
	(void)attr;
	(void)fn;
	(void)arg;
	return EAGAIN;
}
