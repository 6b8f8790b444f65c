/* SPDX-License-Identifier: GPL-2.0 */
/*
 * equalize's shared state and the files by concern (main.c says what the module does):
 *   main.c     load and unload only
 *   hooks.c    the datapath: netfilter hooks that give forwarded packets their hash
 *   netlink.c  the genl family "equalize": status and the configured prefixes
 *   netns.c    per-netns state: prefixes, counters, hooks, the FIB notifier
 */
#ifndef _EQUALIZE_H
#define _EQUALIZE_H

#include <linux/atomic.h>
#include <linux/in6.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/netfilter.h>
#include <linux/notifier.h>
#include <linux/percpu.h>
#include <linux/rcupdate.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

#include "generated/equalize_nl.h"

#define EQ_CTR_BITS	6	/* counters for FIB routes, by fib_info address */

struct eq_prefix {
	struct list_head list;
	struct rcu_head rcu;
	u8 family;
	u8 len;
	struct in6_addr addr;	/* IPv4 in the first 4 bytes */
	atomic_t next;
	atomic64_t packets;
};

struct eq_stats {
	u64 hashed4;
	u64 hashed6;
	u64 wrong_policy;
};

struct eq_net {
	struct net *net;
	struct mutex lock;		/* prefix writers */
	struct list_head prefixes;	/* RCU */
	unsigned int nprefixes;
	struct eq_stats __percpu *stats;
	struct nf_hook_ops *hooks;
	atomic_t next[1 << EQ_CTR_BITS];
	/* set (for good) once an IPv4 route with RTM_F_EQUALIZE appears in the netns:
	 * until then forwarded packets cost no second FIB lookup
	 */
	bool eq_routes;
	struct notifier_block fib_nb;
};

extern unsigned int eq_net_id;
static inline struct eq_net *eq_net(struct net *net)
{
	return net_generic(net, eq_net_id);
}

/* hooks.c */
#define EQ_NHOOKS	4
extern const struct nf_hook_ops eq_hooks_tmpl[EQ_NHOOKS];

/* netns.c */
extern struct pernet_operations eq_net_ops;

#endif /* _EQUALIZE_H */
