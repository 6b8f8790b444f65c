/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers the qdisc modules share.
 */
#ifndef _NLKIT_SCHED_H
#define _NLKIT_SCHED_H

#include <linux/rcupdate.h>
#include <net/sch_generic.h>

/*
 * The lock sch_tree_lock() takes (the root qdisc's), for readers that hold the RCU read
 * lock instead of RTNL: sch_tree_lock() asserts RTNL. Anyone in a netns may read the
 * modules' qdiscs (genl get/dump, /proc), and a reader must not hold up every link
 * change in the system meanwhile. Under RCU both q and its root stay in memory (the
 * core frees qdiscs after a grace period); the root read here is the one the datapath
 * serialises q under, unless q is being torn down with its root, when no packet
 * reaches q any more.
 */
static inline spinlock_t *nlkit_tree_lock_rcu(struct Qdisc *q)
{
	struct Qdisc *root = q;

	RCU_LOCKDEP_WARN(!rcu_read_lock_held(), "nlkit_tree_lock_rcu() without rcu_read_lock()");
	if (!(q->flags & TCQ_F_MQROOT))
		root = rcu_dereference(q->dev_queue->qdisc_sleeping);
	return qdisc_lock(root);
}

#endif /* _NLKIT_SCHED_H */
