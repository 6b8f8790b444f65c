/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nlkit's modules build against several kernels: every difference between them is
 * handled here, not in the modules' code.
 */
#ifndef _NLKIT_COMPAT_H
#define _NLKIT_COMPAT_H

#include <linux/netdevice.h>
#include <linux/version.h>
#include <net/flow.h>
#include <net/inet_dscp.h>

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

/*
 * struct flowi4's u8 flowi4_tos became a dscp_t, flowi4_dscp, in 6.18. For a
 * designated initializer of a flowi4: the DS field of an IPv4 header, ECN bits dropped.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 18, 0)
#define NLKIT_FLOWI4_DSFIELD(tos)	.flowi4_dscp = inet_dsfield_to_dscp(tos)
#else
#define NLKIT_FLOWI4_DSFIELD(tos)	.flowi4_tos = (tos) & INET_DSCP_MASK
#endif

#endif /* _NLKIT_COMPAT_H */
