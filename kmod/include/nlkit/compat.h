/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nlkit's modules build against several kernels: every difference between them is
 * handled here, not in the modules' code.
 */
#ifndef _NLKIT_COMPAT_H
#define _NLKIT_COMPAT_H

#include <linux/netdevice.h>

/* skb_gso_segment() moved from linux/netdevice.h to net/gso.h in 6.4 */
#if __has_include(<net/gso.h>)
#include <net/gso.h>
#endif

/* get_unaligned() and friends moved from asm/unaligned.h to linux/unaligned.h in 6.12 */
#if __has_include(<linux/unaligned.h>)
#include <linux/unaligned.h>
#else
#include <asm/unaligned.h>
#endif

#endif /* _NLKIT_COMPAT_H */
