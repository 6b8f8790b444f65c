/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ustack's internals shared by its files:
 *   main.c     load and unload, nothing else
 *   port.c     the port: a netdev (rtnl link kind "ustack") that carries none of the
 *              kernel's traffic and shows the counters its stack pushes; its owner
 *   state.c    the per-netns state (how many ports)
 *   netlink.c  the generic netlink family "ustack" (generated/: its policies, op table)
 *
 * Data flow: a user-level stack creates (new-port) or attaches to (attach) a port
 * over genl and becomes its owner; it pushes its counters and link state (set-stats)
 * into the port, which ndo_get_stats64 and the ethtool ops show; users configure the
 * port with ip, and the stack reads that over rtnetlink. When the owner's socket
 * closes, the netlink notifier (NETLINK_URELEASE) turns its ports carrier-off and
 * freezes their counters, or removes them (remove-on-close).
 */
#ifndef _USTACK_H
#define _USTACK_H

#include <linux/list.h>
#include <linux/netdevice.h>
#include <linux/spinlock.h>
#include <net/genetlink.h>
#include <net/net_namespace.h>

#include <uapi/linux/ustack.h>

/* a port's counters, indexed by their attribute type (USTACK_A_STATS_*; 0 unused) */
struct ustack_stats {
	u64 v[USTACK_A_STATS_MAX + 1];
};

/* one queue's counters, indexed by USTACK_A_QUEUE_* (0 and INDEX unused) */
struct ustack_qstats {
	u64 v[USTACK_A_QUEUE_MAX + 1];
};

/* what one owner reported, since it created or attached to the port */
struct ustack_counters {
	struct ustack_stats s;
	struct ustack_qstats q[USTACK_MAX_QUEUES];
};

/* a port: the netdev's private area */
struct ustack_port {
	struct net_device *dev;
	struct list_head node;		/* ustack_ports, under ustack_lock */
	atomic64_t kernel_dropped;	/* what the kernel sent to the device */

	spinlock_t lock;		/* all below */
	/*
	 * The owner: the netlink socket (port id in its netns) that created or attached
	 * to the port; 0 for none. owner_net is compared, never dereferenced: the
	 * socket's release (which clears it) comes before its netns can go.
	 */
	u32 owner;
	const struct net *owner_net;
	u32 owners;			/* sockets that have owned it so far */
	bool remove_on_close;
	bool doomed;			/* its owner closed: removal is queued */
	struct ustack_counters base;	/* what earlier owners reported */
	struct ustack_counters cur;	/* what the current owner (or scripts) reported */
};

struct ustack_net {
	unsigned int nports;		/* under RTNL */
};

extern struct pernet_operations ustack_net_ops;
struct ustack_net *ustack_pernet(struct net *net);

extern unsigned int ustack_max_ports;
extern struct rtnl_link_ops ustack_link_ops;

int ustack_ports_init(void);
void ustack_ports_exit(void);
int ustack_register(struct net_device *dev, struct netlink_ext_ack *extack);
struct net_device *ustack_alloc(struct net *net, const char *name, unsigned int txqs,
				unsigned int rxqs);
bool ustack_may_change(const struct ustack_port *p, struct genl_info *info);
void ustack_set_owner(struct ustack_port *p, struct genl_info *info);
void ustack_totals(struct ustack_port *p, struct ustack_counters *c);

int ustack_genl_register(void);
void ustack_genl_unregister(void);

#endif /* _USTACK_H */
