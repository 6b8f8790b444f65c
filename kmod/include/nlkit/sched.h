/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers the qdisc modules share.
 */
#ifndef _NLKIT_SCHED_H
#define _NLKIT_SCHED_H

#include <linux/rcupdate.h>
#include <net/sch_generic.h>

/*
 * sch_tree_lock() for readers that do not hold RTNL (it asserts RTNL): anyone in a netns
 * may read the modules' qdiscs (genl get and dump, /proc), and a reader must not hold up
 * every link change in the system meanwhile. The caller keeps q itself alive (the
 * module's list lock, which its destroy() takes).
 *
 * q's root is not q's to keep: between qdisc_create() and the graft a new q is on the
 * module's list while the device's old root is still in place, and the graft destroys
 * that root (and unregisters its lock class) without asking us. So the root is read,
 * locked, and read again: dev_graft_qdisc() swaps the root under the old root's lock,
 * so a root that is still the device's once locked stays so (and alive) until unlocked.
 * Returns the lock held; release it with nlkit_tree_unlock().
 */
static inline spinlock_t *nlkit_tree_lock(struct Qdisc *q)
{
	struct Qdisc *root;
	spinlock_t *lock;

	rcu_read_lock();
	for (;;) {
		root = q;
		if (!(q->flags & TCQ_F_MQROOT))
			root = rcu_dereference(q->dev_queue->qdisc_sleeping);
		lock = qdisc_lock(root);
		spin_lock_bh(lock);
		if (root == q || root == rcu_dereference(q->dev_queue->qdisc_sleeping))
			return lock;	/* rcu_read_unlock() in nlkit_tree_unlock() */
		spin_unlock_bh(lock);
	}
}

static inline void nlkit_tree_unlock(spinlock_t *lock)
{
	spin_unlock_bh(lock);
	rcu_read_unlock();
}

#endif /* _NLKIT_SCHED_H */
