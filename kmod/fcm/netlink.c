// SPDX-License-Identifier: GPL-2.0
/*
 * The generic netlink family "fcm" (netlinkproto/specs/fcm.yaml; the policies and the
 * ops table and the family are generated in fcm_nl.c): get-qdisc (do, dump) reports every fcm qdisc
 * of the caller's netns, its configuration and live state. (The receiver has a family
 * of its own, in kmod/fcm_receiver.)
 */

#include <linux/module.h>
#include <linux/netdevice.h>
#include <linux/rtnetlink.h>
#include <linux/slab.h>
#include <net/genetlink.h>
#include <net/sock.h>

#include <nlkit/genl.h>
#include <nlkit/qdiscs.h>

#include "fcm.h"
#include "generated/fcm_nl.h"

static int fcm_put_u64(struct sk_buff *skb, int type, u64 v)
{
	return nla_put_u64_64bit(skb, type, v, FCM_A_QDISC_UNSPEC);
}

static int fcm_fill(struct sk_buff *skb, u32 portid, u32 seq, int flags, const struct fcm_snapshot *s)
{
	void *hdr;

	hdr = genlmsg_put(skb, portid, seq, &fcm_nl_family, flags, FCM_CMD_GET_QDISC);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_u32(skb, FCM_A_QDISC_IFINDEX, s->ifindex) ||
	    nla_put_u32(skb, FCM_A_QDISC_HANDLE, s->handle) ||
	    nla_put_u32(skb, FCM_A_QDISC_PARENT, s->parent) ||
	    nla_put_string(skb, FCM_A_QDISC_IFNAME, s->ifname) ||
	    nla_put_u32(skb, FCM_A_QDISC_ID, s->id))
		goto cancel;
	if (fcm_put_opts(skb, FCM_A_QDISC_OPTS, &s->cfg) ||
	    nla_put_u32(skb, FCM_A_QDISC_QLEN, s->qlen) ||
	    nla_put_u32(skb, FCM_A_QDISC_BACKLOG, s->backlog) ||
	    nla_put_u32(skb, FCM_A_QDISC_PRICE, s->price) ||
	    fcm_put_u64(skb, FCM_A_QDISC_MODIFIED, s->modified) ||
	    fcm_put_u64(skb, FCM_A_QDISC_PASSED, s->passed) ||
	    fcm_put_u64(skb, FCM_A_QDISC_OTHER, s->other) ||
	    fcm_put_u64(skb, FCM_A_QDISC_PACKETS, s->packets) ||
	    fcm_put_u64(skb, FCM_A_QDISC_BYTES, s->bytes) ||
	    fcm_put_u64(skb, FCM_A_QDISC_DROPS, s->drops))
		goto cancel;
	genlmsg_end(skb, hdr);
	return 0;
cancel:
	genlmsg_cancel(skb, hdr);
	return -EMSGSIZE;
}

int fcm_nl_get_qdisc_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct nlkit_qdisc_node *n;
	struct fcm_snapshot s;
	struct sk_buff *msg;
	int err;

	if (nlkit_genl_require(info, FCM_A_QDISC_IFINDEX, "ifindex is required"))
		return -EINVAL;
	mutex_lock(&fcm_qdiscs.lock);
	n = nlkit_qdiscs_find(&fcm_qdiscs, info, FCM_A_QDISC_IFINDEX, FCM_A_QDISC_HANDLE, "fcm");
	if (IS_ERR(n)) {
		mutex_unlock(&fcm_qdiscs.lock);
		return PTR_ERR(n);
	}
	fcm_snapshot(container_of(n, struct fcm_sched, link), &s);
	mutex_unlock(&fcm_qdiscs.lock);

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	err = fcm_fill(msg, info->snd_portid, info->snd_seq, 0, &s);
	return nlkit_genl_reply(msg, info, err);
}

static int fcm_dump_one(struct nlkit_qdisc_node *n, struct sk_buff *skb,
			struct netlink_callback *cb, void *arg)
{
	struct fcm_snapshot *s = arg;

	fcm_snapshot(container_of(n, struct fcm_sched, link), s);
	return fcm_fill(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq, NLM_F_MULTI, s);
}

int fcm_nl_get_qdisc_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct fcm_snapshot s;

	return nlkit_qdiscs_dump(&fcm_qdiscs, skb, cb, fcm_dump_one, &s);
}

int fcm_genl_register(void)
{
	return genl_register_family(&fcm_nl_family);
}

void fcm_genl_unregister(void)
{
	genl_unregister_family(&fcm_nl_family);
}
