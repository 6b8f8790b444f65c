/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers the qdisc modules share.
 */
#ifndef _NLKIT_SCHED_H
#define _NLKIT_SCHED_H

#include <linux/rcupdate.h>
#include <net/netlink.h>
#include <net/sch_generic.h>

/*
 * The start of every nlkit qdisc's TCA_OPTIONS parse, on init and on change: options
 * are required, and they must pass the policy of the family's opts set (generated from
 * its spec). @need is the extack message when they are missing: a string literal that
 * says what the qdisc needs at least.
 */
#define nlkit_parse_opts(tb, maxtype, opt, policy, need, extack) ({		\
	int __err = -EINVAL;							\
										\
	if (!(opt))								\
		NL_SET_ERR_MSG(extack, need);					\
	else									\
		__err = nla_parse_nested(tb, maxtype, opt, policy, extack);	\
	__err;									\
})

/*
 * Does q sit, or is it about to sit, directly on a device queue: the device's root, or
 * a child of a multiqueue root (mq, mqprio, taprio) that grafts one child per queue?
 * Such a qdisc is its own root once grafted: the datapath then takes q's own lock.
 */
static inline bool nlkit_queue_slot(struct Qdisc *q)
{
	struct Qdisc *top;

	if (q->parent == TC_H_ROOT || (q->flags & TCQ_F_MQROOT))
		return true;
	top = rcu_dereference(qdisc_dev(q)->qdisc);
	return top && (top->flags & TCQ_F_MQROOT) && TC_H_MAJ(q->parent) == TC_H_MAJ(top->handle);
}

/*
 * sch_tree_lock() for readers that do not hold RTNL (it asserts RTNL): anyone in a netns
 * may read the modules' qdiscs (genl get and dump, /proc), and a reader must not hold up
 * every link change in the system meanwhile. The caller keeps q itself alive (the
 * module's list lock, which its destroy() takes).
 *
 * Which lock the datapath takes for q depends on where q sits:
 *  - on a device queue (nlkit_queue_slot()): q's own lock. Only that one may be taken
 *    here. Between qdisc_create() and the graft a new q is on the module's list while
 *    the queue's old qdisc is still in place, and the graft destroys that old qdisc at
 *    once, unregistering its lock's lockdep class (6.12: Qdisc.root_lock_key) even if a
 *    reader that read the old root before the swap holds its lock by then: lockdep then
 *    finds a held lock of no class, warns in hlock_class() and oopses on the next
 *    acquisition (TestRootGraftUnderReaders, with the host's cores busy).
 *  - under a class of a classful qdisc: the root of its tree, the queue's qdisc. That
 *    root is q's ancestor, now or once the graft is done, and an ancestor is destroyed
 *    only after q (a parent's destroy puts its children first, and q's destroy waits for
 *    the module's list lock). The root is read, locked, and read again:
 *    dev_graft_qdisc() swaps a queue's qdisc under the old one's lock, so a root that is
 *    still the queue's once locked stays so until unlocked.
 * Returns the lock held; release it with nlkit_tree_unlock().
 */
static inline spinlock_t *nlkit_tree_lock(struct Qdisc *q)
{
	struct Qdisc *root;
	spinlock_t *lock;

	rcu_read_lock();
	if (nlkit_queue_slot(q)) {
		lock = qdisc_lock(q);
		spin_lock_bh(lock);
		return lock;	/* rcu_read_unlock() in nlkit_tree_unlock() */
	}
	for (;;) {
		root = rcu_dereference(q->dev_queue->qdisc_sleeping);
		lock = qdisc_lock(root);
		spin_lock_bh(lock);
		if (root == rcu_dereference(q->dev_queue->qdisc_sleeping))
			return lock;
		spin_unlock_bh(lock);
	}
}

static inline void nlkit_tree_unlock(spinlock_t *lock)
{
	spin_unlock_bh(lock);
	rcu_read_unlock();
}

#endif /* _NLKIT_SCHED_H */
