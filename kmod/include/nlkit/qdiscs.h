/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The list of a qdisc kind's instances that its generic netlink family (and /proc)
 * reads: one per module, holding every instance of every netns.
 *
 * Locking: the qdisc's init() and destroy() change the list under RTNL and the list's
 * mutex. Readers (genl get and dump, /proc: anyone in the netns) take the mutex only,
 * so they hold up no link change; destroy() taking it too means a qdisc a reader
 * stands on is not torn down under it (the core unregisters the qdisc's lock class
 * right after destroy()).
 */
#ifndef _NLKIT_QDISCS_H
#define _NLKIT_QDISCS_H

#include <linux/err.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/netdevice.h>
#include <net/genetlink.h>
#include <net/pkt_sched.h>
#include <net/sch_generic.h>
#include <net/sock.h>

#include <nlkit/genl.h>

struct nlkit_qdiscs {
	struct mutex lock;
	struct list_head head;
	unsigned int gen;	/* bumped on every change: a dump's cb->seq, for NLM_F_DUMP_INTR */
};

#define DEFINE_NLKIT_QDISCS(name)					\
	struct nlkit_qdiscs name = {					\
		.lock = __MUTEX_INITIALIZER(name.lock),			\
		.head = LIST_HEAD_INIT(name.head),			\
		.gen = 1,						\
	}

/* One qdisc's place on its kind's list, in the qdisc's private data. */
struct nlkit_qdisc_node {
	struct list_head node;
	struct Qdisc *sch;
};

/* First thing in init(): destroy() may then run whatever init() did next. */
static inline void nlkit_qdisc_node_init(struct nlkit_qdisc_node *n, struct Qdisc *sch)
{
	INIT_LIST_HEAD(&n->node);
	n->sch = sch;
}

/* Last thing in init(): from here on readers see the qdisc. RTNL held. */
static inline void nlkit_qdiscs_add(struct nlkit_qdiscs *l, struct nlkit_qdisc_node *n)
{
	ASSERT_RTNL();
	mutex_lock(&l->lock);
	list_add_tail(&n->node, &l->head);
	l->gen++;
	mutex_unlock(&l->lock);
}

/*
 * In destroy(), before anything a reader may touch is torn down: waits for a reader
 * standing on the qdisc. A node never added (init() failed first) is left alone.
 */
static inline void nlkit_qdiscs_del(struct nlkit_qdiscs *l, struct nlkit_qdisc_node *n)
{
	ASSERT_RTNL();
	if (list_empty(&n->node))
		return;
	mutex_lock(&l->lock);
	list_del_init(&n->node);
	l->gen++;
	mutex_unlock(&l->lock);
}

/* Walk the qdiscs of @net; l->lock held. */
#define nlkit_qdiscs_for_each(n, l, net)				\
	list_for_each_entry(n, &(l)->head, node)			\
		if (!net_eq(qdisc_net((n)->sch), (net))) {} else

enum nlkit_qdisc_miss {
	NLKIT_QDISC_NONE = 1,		/* no such qdisc on the device */
	NLKIT_QDISC_NO_HANDLE,		/* none with the handle given */
	NLKIT_QDISC_SEVERAL,		/* several on the device, and no handle given */
};

/* See nlkit_qdiscs_find(). */
static inline struct nlkit_qdisc_node *
__nlkit_qdiscs_find(struct nlkit_qdiscs *l, struct net *net, u32 ifindex, u32 handle,
		    enum nlkit_qdisc_miss *miss)
{
	struct nlkit_qdisc_node *n, *found = NULL;

	lockdep_assert_held(&l->lock);
	nlkit_qdiscs_for_each(n, l, net) {
		if (qdisc_dev(n->sch)->ifindex != ifindex || (handle && n->sch->handle != handle))
			continue;
		if (found) {
			*miss = NLKIT_QDISC_SEVERAL;
			return NULL;
		}
		found = n;
	}
	if (!found)
		*miss = handle ? NLKIT_QDISC_NO_HANDLE : NLKIT_QDISC_NONE;
	return found;
}

/*
 * nlkit_qdiscs_find(l, info, ifindex_attr, handle_attr, kind): the qdisc of the
 * caller's netns on the device that attribute @ifindex_attr (required: check it first)
 * names, with the handle @handle_attr when that is given. Otherwise an ERR_PTR, with
 * an extack message naming @kind (a string literal) on the attribute at fault.
 * l->lock held.
 */
#define nlkit_qdiscs_find(l, info, ifindex_attr, handle_attr, kind) ({			\
	struct nlattr *__ifa = (info)->attrs[(ifindex_attr)];				\
	struct nlattr *__ha = (info)->attrs[(handle_attr)];				\
	enum nlkit_qdisc_miss __miss = 0;						\
	struct nlkit_qdisc_node *__n;							\
											\
	__n = __nlkit_qdiscs_find((l), genl_info_net(info), nla_get_u32(__ifa),	\
				  __ha ? nla_get_u32(__ha) : 0, &__miss);		\
	switch (__miss) {								\
	case NLKIT_QDISC_SEVERAL:							\
		NL_SET_ERR_MSG_ATTR((info)->extack, __ifa,				\
				    "this device has several " kind " qdiscs: give the handle"); \
		__n = ERR_PTR(-EINVAL);							\
		break;									\
	case NLKIT_QDISC_NO_HANDLE:							\
		NL_SET_ERR_MSG_ATTR((info)->extack, __ha,				\
				    "no " kind " qdisc with this handle on this device");	\
		__n = ERR_PTR(-ENOENT);							\
		break;									\
	case NLKIT_QDISC_NONE:								\
		NL_SET_ERR_MSG_ATTR((info)->extack, __ifa, "no " kind " qdisc on this device"); \
		__n = ERR_PTR(-ENOENT);							\
		break;									\
	}										\
	__n;										\
})

/*
 * The dump of a kind's qdiscs in the caller's netns: @fill puts one qdisc's message
 * in @skb (0, or -EMSGSIZE when it did not fit: the dump goes on in the next call),
 * with l->lock held. cb->args[0] counts the qdiscs of the netns already dumped.
 */
static inline int nlkit_qdiscs_dump(struct nlkit_qdiscs *l, struct sk_buff *skb,
				    struct netlink_callback *cb,
				    int (*fill)(struct nlkit_qdisc_node *n, struct sk_buff *skb,
						struct netlink_callback *cb, void *arg),
				    void *arg)
{
	struct nlkit_qdisc_node *n;
	long idx = 0;
	int err = 0;

	mutex_lock(&l->lock);
	cb->seq = l->gen;
	nlkit_qdiscs_for_each(n, l, sock_net(skb->sk)) {
		if (idx++ < cb->args[0])
			continue;
		err = fill(n, skb, cb, arg);
		if (err)
			break;
		nl_dump_check_consistent(cb, nlmsg_hdr(skb));
		cb->args[0] = idx;
	}
	mutex_unlock(&l->lock);
	return nlkit_dump_end(skb, err);
}

#endif /* _NLKIT_QDISCS_H */
