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

/*
 * A virtual device's flags: lockless transmit, and bound to its netns. NETIF_F_LLTX
 * became dev->lltx in 6.12, NETIF_F_NETNS_LOCAL dev->netns_local, renamed
 * netns_immutable in 6.15 and in 6.12's stable series (Debian's 6.12.118 has it).
 */
static inline void nlkit_netdev_lltx_netns_local(struct net_device *dev)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
	dev->lltx = true;
	dev->netns_immutable = true;
#else
	dev->features |= NETIF_F_LLTX | NETIF_F_NETNS_LOCAL;
#endif
}

/*
 * rtnl_link_ops.newlink's arguments: 6.15 packed the netns and attributes into
 * struct rtnl_newlink_params. Both forms have dev and extack.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 15, 0)
#define NLKIT_NEWLINK_ARGS struct net_device *dev, struct rtnl_newlink_params *params, \
	struct netlink_ext_ack *extack
#else
#define NLKIT_NEWLINK_ARGS struct net *src_net, struct net_device *dev, struct nlattr *tb[], \
	struct nlattr *data[], struct netlink_ext_ack *extack
#endif

#endif /* _NLKIT_COMPAT_H */
