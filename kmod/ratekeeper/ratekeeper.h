/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sch_ratekeeper internals shared by the qdisc (qdisc.c) and its generic netlink
 * family (netlink.c).
 *
 * Locking:
 *  - rk_qdiscs (every ratekeeper qdisc of every netns, nlkit/qdiscs.h) is changed
 *    under RTNL and its lock (qdisc init/destroy); get and dump, open to anyone in
 *    the netns, walk it under its lock and never take RTNL; set-rate, a writer of a
 *    qdisc's rate, walks it under both. The groups are changed under RTNL only.
 *  - A qdisc's state is changed in its enqueue/dequeue under the qdisc root lock; the
 *    genl ops read and change it under sch_tree_lock().
 *  - Group member lists are also walked under RCU from enqueue (softirq) to add up the
 *    link load; qdisc memory is freed after an RCU grace period by the core.
 */
#ifndef _RATEKEEPER_H
#define _RATEKEEPER_H

#include <linux/if.h>
#include <linux/in6.h>
#include <linux/spinlock.h>
#include <linux/if_ether.h>
#include <linux/list.h>
#include <linux/refcount.h>
#include <linux/workqueue.h>
#include <net/pkt_sched.h>
#include <net/sch_generic.h>

#include <nlkit/qdiscs.h>
#include <uapi/linux/ratekeeper.h>

#define RK_SLOTS	64	/* sender accounting slots per interval */
#define RK_PROBES	8	/* slots probed per sender */

struct rk_config {
	u64 rate;		/* bytes/s */
	u64 min_rate;
	u64 max_rate;
	u64 linkrate;		/* 0: no congestion detection */
	u32 burst;		/* bytes */
	u32 limit;		/* bytes */
	u32 interval_us;
	u32 highmark;		/* percent */
	u32 group;
	u32 event_gap_ms;
};

struct rk_sender {
	struct in6_addr addr;
	u8 mac[ETH_ALEN];
	u64 bytes;		/* in the slot table: bytes this interval */
	u64 rate;		/* in top[]: bytes/s over the last interval */
};

struct rk_group {
	struct list_head node;	/* rk_groups, RTNL */
	struct list_head members; /* rk_sched.group_node, RCU + RTNL */
	possible_net_t net;
	u32 id;
	struct rcu_head rcu;
};

/* What a congestion event or a get-qdisc reply reports; copied under the qdisc lock. */
struct rk_snapshot {
	int ifindex;
	char ifname[IFNAMSIZ];
	u32 handle, parent;
	struct rk_config cfg;
	u64 measured;
	u64 link_load;
	u32 severity;
	bool congested;
	u64 packets, bytes, drops, overlimits;
	u32 backlog, qlen;
	u64 events, events_suppressed;
	u64 time;
	u32 ntop;
	struct rk_sender top[RATEKEEPER_TOP_SENDERS];
};

struct rk_sched {
	struct Qdisc *sch;
	struct nlkit_qdisc_node link;	/* on rk_qdiscs */
	struct list_head group_node;	/* rk_group.members */
	struct rk_group *group;		/* NULL when linkrate is 0 */
	struct rk_config cfg;

	/* shaper: a token bucket counted in nanoseconds of transmission at cfg.rate */
	struct psched_ratecfg rcfg;
	s64 tokens;
	s64 burst_ns;
	u64 t_c;
	struct qdisc_watchdog watchdog;

	/* monitor */
	u64 ival_start;		/* ns */
	u64 ival_bytes;
	u64 measured;		/* EWMA, bytes/s; read locklessly by group members */
	u64 measured_at;	/* ns; read locklessly by group members */
	u64 link_load;
	bool congested;
	u32 severity, over_run, under_run;
	u32 nslots;
	struct rk_sender slots[RK_SLOTS];
	u32 ntop;
	struct rk_sender top[RATEKEEPER_TOP_SENDERS];

	/* congestion events, sent from process context by event_work */
	u64 last_event;
	u64 events, events_suppressed;
	spinlock_t event_lock;	/* event_pending, event; nests inside the root lock */
	bool event_pending;
	struct rk_snapshot event;
	struct work_struct event_work;
};

extern struct nlkit_qdiscs rk_qdiscs;

void rk_snapshot(struct rk_sched *q, struct rk_snapshot *s);
void rk_snapshot_locked(struct rk_sched *q, struct rk_snapshot *s, u64 now);
int rk_put_opts(struct sk_buff *skb, int type, const struct rk_config *c);
int rk_set_rate(struct rk_sched *q, u64 rate, struct netlink_ext_ack *extack);
void rk_send_event(struct work_struct *work);
int rk_genl_register(void);
void rk_genl_unregister(void);

extern struct Qdisc_ops rk_qdisc_ops;

/* selftest.c (in qdisc.c): the rate math, at load (NLKIT_SELFTEST) */
#ifdef NLKIT_SELFTEST
bool rk_selftest(void);
#endif

#endif /* _RATEKEEPER_H */
