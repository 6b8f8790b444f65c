// SPDX-License-Identifier: GPL-2.0
/*
 * The generic netlink family "ratekeeper" (netlinkproto/specs/ratekeeper.yaml; the
 * policies, the ops table and the family are generated in ratekeeper_nl.c):
 *  - get-qdisc (do, dump): every ratekeeper qdisc of the caller's netns, its
 *    configuration and live state, for anyone in the netns; the heaviest senders only
 *    for callers with CAP_NET_ADMIN in the netns's user namespace;
 *  - set-rate: move one qdisc's rate (CAP_NET_ADMIN in the netns's user namespace);
 *  - congestion events to the "events" group, sent by event_work in process context;
 *    they name the device by ifindex only (the enqueue path that prepares them cannot
 *    read a name that a rename may be changing), and only the netns's admin may
 *    subscribe: they name tenants' heaviest senders.
 */

#include <linux/netdevice.h>
#include <linux/rtnetlink.h>
#include <linux/slab.h>
#include <net/genetlink.h>
#include <net/sock.h>

#include <nlkit/genl.h>
#include <nlkit/qdiscs.h>

#include "ratekeeper.h"
#include "generated/ratekeeper_nl.h"

static int rk_put_u64(struct sk_buff *skb, int type, u64 v)
{
	return nla_put_u64_64bit(skb, type, v, RATEKEEPER_A_QDISC_UNSPEC);
}

static int rk_fill(struct sk_buff *skb, u32 portid, u32 seq, int flags, u8 cmd,
		   const struct rk_snapshot *s)
{
	struct nlattr *nest;
	void *hdr;
	u32 i;

	hdr = genlmsg_put(skb, portid, seq, &ratekeeper_nl_family, flags, cmd);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_u32(skb, RATEKEEPER_A_QDISC_IFINDEX, s->ifindex) ||
	    nla_put_u32(skb, RATEKEEPER_A_QDISC_HANDLE, s->handle) ||
	    (s->ifname[0] && nla_put_string(skb, RATEKEEPER_A_QDISC_IFNAME, s->ifname)))
		goto cancel;
	if (cmd == RATEKEEPER_CMD_GET_QDISC &&
	    nla_put_u32(skb, RATEKEEPER_A_QDISC_PARENT, s->parent))
		goto cancel;
	if (rk_put_opts(skb, RATEKEEPER_A_QDISC_OPTS, &s->cfg) ||
	    rk_put_u64(skb, RATEKEEPER_A_QDISC_MEASURED, s->measured) ||
	    rk_put_u64(skb, RATEKEEPER_A_QDISC_LINK_LOAD, s->link_load) ||
	    nla_put_u32(skb, RATEKEEPER_A_QDISC_SEVERITY, s->severity))
		goto cancel;
	if (cmd == RATEKEEPER_CMD_GET_QDISC) {
		if (nla_put_u8(skb, RATEKEEPER_A_QDISC_CONGESTED, s->congested) ||
		    rk_put_u64(skb, RATEKEEPER_A_QDISC_PACKETS, s->packets) ||
		    rk_put_u64(skb, RATEKEEPER_A_QDISC_BYTES, s->bytes) ||
		    rk_put_u64(skb, RATEKEEPER_A_QDISC_DROPS, s->drops) ||
		    rk_put_u64(skb, RATEKEEPER_A_QDISC_OVERLIMITS, s->overlimits) ||
		    nla_put_u32(skb, RATEKEEPER_A_QDISC_BACKLOG, s->backlog) ||
		    nla_put_u32(skb, RATEKEEPER_A_QDISC_QLEN, s->qlen) ||
		    rk_put_u64(skb, RATEKEEPER_A_QDISC_EVENTS, s->events) ||
		    rk_put_u64(skb, RATEKEEPER_A_QDISC_EVENTS_SUPPRESSED, s->events_suppressed))
			goto cancel;
	} else if (rk_put_u64(skb, RATEKEEPER_A_QDISC_TIME, s->time)) {
		goto cancel;
	}
	for (i = 0; i < s->ntop; i++) {
		const struct rk_sender *t = &s->top[i];

		nest = nla_nest_start(skb, RATEKEEPER_A_QDISC_SENDER);
		if (!nest ||
		    nla_put(skb, RATEKEEPER_A_SENDER_ADDR, sizeof(t->addr), &t->addr) ||
		    nla_put(skb, RATEKEEPER_A_SENDER_MAC, ETH_ALEN, t->mac) ||
		    nla_put_u64_64bit(skb, RATEKEEPER_A_SENDER_RATE, t->rate, RATEKEEPER_A_SENDER_UNSPEC))
			goto cancel;
		nla_nest_end(skb, nest);
	}
	genlmsg_end(skb, hdr);
	return 0;
cancel:
	genlmsg_cancel(skb, hdr);
	return -EMSGSIZE;
}

#define rk_find(info)								\
	nlkit_qdiscs_find(&rk_qdiscs, (info), RATEKEEPER_A_QDISC_IFINDEX,		\
			  RATEKEEPER_A_QDISC_HANDLE, "ratekeeper")

int ratekeeper_nl_get_qdisc_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct nlkit_qdisc_node *n;
	struct rk_snapshot *s;
	struct sk_buff *msg;
	int err;

	if (nlkit_genl_require(info, RATEKEEPER_A_QDISC_IFINDEX, "ifindex is required"))
		return -EINVAL;
	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return -ENOMEM;
	mutex_lock(&rk_qdiscs.lock);
	n = rk_find(info);
	if (IS_ERR(n)) {
		mutex_unlock(&rk_qdiscs.lock);
		kfree(s);
		return PTR_ERR(n);
	}
	rk_snapshot(container_of(n, struct rk_sched, link), s);
	mutex_unlock(&rk_qdiscs.lock);
	if (!netlink_ns_capable(skb, genl_info_net(info)->user_ns, CAP_NET_ADMIN))
		s->ntop = 0;	/* tenants' heaviest senders are the admin's to read */

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg) {
		kfree(s);
		return -ENOMEM;
	}
	err = rk_fill(msg, info->snd_portid, info->snd_seq, 0, RATEKEEPER_CMD_GET_QDISC, s);
	kfree(s);
	return nlkit_genl_reply(msg, info, err);
}

struct rk_dump {
	struct rk_snapshot s;
	bool admin;
};

static int rk_dump_one(struct nlkit_qdisc_node *n, struct sk_buff *skb,
		       struct netlink_callback *cb, void *arg)
{
	struct rk_dump *d = arg;

	rk_snapshot(container_of(n, struct rk_sched, link), &d->s);
	if (!d->admin)
		d->s.ntop = 0;
	return rk_fill(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq, NLM_F_MULTI,
		       RATEKEEPER_CMD_GET_QDISC, &d->s);
}

int ratekeeper_nl_get_qdisc_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct rk_dump *d;
	int err;

	d = kzalloc(sizeof(*d), GFP_KERNEL);
	if (!d)
		return -ENOMEM;
	d->admin = netlink_ns_capable(cb->skb, sock_net(skb->sk)->user_ns, CAP_NET_ADMIN);
	err = nlkit_qdiscs_dump(&rk_qdiscs, skb, cb, rk_dump_one, d);
	kfree(d);
	return err;
}

int ratekeeper_nl_set_rate_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct nlkit_qdisc_node *n;
	int err;

	if (nlkit_genl_require(info, RATEKEEPER_A_QDISC_IFINDEX, "ifindex is required") ||
	    nlkit_genl_require(info, RATEKEEPER_A_QDISC_RATE, "rate is required"))
		return -EINVAL;
	rtnl_lock();	/* rk_set_rate() takes sch_tree_lock() */
	mutex_lock(&rk_qdiscs.lock);
	n = rk_find(info);
	if (IS_ERR(n)) {
		err = PTR_ERR(n);
	} else {
		err = rk_set_rate(container_of(n, struct rk_sched, link), nla_get_u64(info->attrs[RATEKEEPER_A_QDISC_RATE]), info->extack);
		if (err)
			NL_SET_BAD_ATTR(info->extack, info->attrs[RATEKEEPER_A_QDISC_RATE]);
	}
	mutex_unlock(&rk_qdiscs.lock);
	rtnl_unlock();
	return err;
}

/* event_work: multicast the congestion event the enqueue path prepared. */
void rk_send_event(struct work_struct *work)
{
	struct rk_sched *q = container_of(work, struct rk_sched, event_work);
	struct net *net = qdisc_net(q->sch);
	struct rk_snapshot *s;
	struct sk_buff *msg;
	bool pending;

	s = kmalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		goto out_clear;
	spin_lock_bh(&q->event_lock);
	pending = q->event_pending;
	*s = q->event;
	q->event_pending = false;
	spin_unlock_bh(&q->event_lock);
	if (!pending || !genl_has_listeners(&ratekeeper_nl_family, net, RATEKEEPER_NLGRP_EVENTS))
		goto out;
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		goto out;
	if (rk_fill(msg, 0, 0, 0, RATEKEEPER_CMD_CONGESTION, s)) {
		nlmsg_free(msg);
		goto out;
	}
	genlmsg_multicast_netns(&ratekeeper_nl_family, net, msg, 0, RATEKEEPER_NLGRP_EVENTS, GFP_KERNEL);
out:
	kfree(s);
	return;
out_clear:
	spin_lock_bh(&q->event_lock);
	q->event_pending = false;
	spin_unlock_bh(&q->event_lock);
}

int rk_genl_register(void)
{
	return genl_register_family(&ratekeeper_nl_family);
}

void rk_genl_unregister(void)
{
	genl_unregister_family(&ratekeeper_nl_family);
}
