/* SPDX-License-Identifier: MIT */
/*
 * arch.h — what differs between processors, one small header each, with a
 * portable fallback. Nothing else in the library names a processor.
 */
#ifndef BS_ARCH_H
#define BS_ARCH_H

#if defined(__x86_64__) && !defined(BS_ARCH_FORCE_GENERIC)
#include "arch/x86_64.h"
#elif defined(__aarch64__) && !defined(BS_ARCH_FORCE_GENERIC)
#include "arch/aarch64.h"
#else
#include "arch/generic.h"
#endif

#endif
