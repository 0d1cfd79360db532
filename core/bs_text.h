/* SPDX-License-Identifier: MIT */
/*
 * bs_text.h — where the library's code sits in memory.
 *
 * A shell starts a process for each command, and most of those live a few
 * milliseconds: the first touch of each page of our code costs such a
 * process a fault (tens of microseconds on some virtual machines, more
 * than all of our instructions). So the code every process runs sits
 * together: BS_TEXT_START what runs at every start and end, even in a
 * process that writes nothing; BS_TEXT_HOT the write path and what a
 * process's first write sets up. The linker puts .text.startup and then
 * .text.hot at the front of the code, beside the constructor; the rest
 * (waits, signals, the less common hooks) follows.
 */
#ifndef BUFSHIM_BS_TEXT_H
#define BUFSHIM_BS_TEXT_H

#define BS_TEXT_START __attribute__((section(".text.startup")))
#define BS_TEXT_HOT __attribute__((section(".text.hot")))

#endif
