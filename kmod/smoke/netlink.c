// SPDX-License-Identifier: GPL-2.0
/*
 * The genl family "nlkit_smoke" (netlinkproto/specs/nlkit_smoke.yaml; its policies and
 * op table are generated): info, the per-netns value with its change events, and the
 * item table with do and dump.
 */
#include <linux/slab.h>
#include <linux/utsname.h>
#include <generated/utsrelease.h>
#include <net/genetlink.h>
#include <net/sock.h>

#include <nlkit/genl.h>

#include "smoke.h"

int nlkit_smoke_nl_get_info_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct sk_buff *msg;
	void *hdr;

	msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &nlkit_smoke_nl_family, 0, info->genlhdr->cmd);
	if (!hdr)
		goto nospace;
	if (nla_put_string(msg, NLKIT_SMOKE_A_INFO_VERSION, NLKIT_VERSION) ||
	    nla_put_u32(msg, NLKIT_SMOKE_A_INFO_ABI, NLKIT_SMOKE_FAMILY_VERSION) ||
	    nla_put_string(msg, NLKIT_SMOKE_A_INFO_BUILD,
			   "built against " UTS_RELEASE " with gcc " __VERSION__) ||
	    nla_put_string(msg, NLKIT_SMOKE_A_INFO_KERNEL, init_utsname()->release))
		goto nospace;
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);

nospace:
	nlmsg_free(msg);
	return -EMSGSIZE;
}

static int smoke_fill_value(struct sk_buff *msg, u32 portid, u32 seq, int flags,
			    u8 cmd, const struct smoke_net *sn)
{
	void *hdr;

	hdr = genlmsg_put(msg, portid, seq, &nlkit_smoke_nl_family, flags, cmd);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_u32(msg, NLKIT_SMOKE_A_VALUE_VALUE, sn->value) ||
	    nla_put_u64_64bit(msg, NLKIT_SMOKE_A_VALUE_CHANGES, sn->changes,
			      NLKIT_SMOKE_A_VALUE_UNSPEC)) {
		genlmsg_cancel(msg, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return 0;
}

int nlkit_smoke_nl_get_value_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct smoke_net *sn = smoke_pernet(genl_info_net(info));
	struct sk_buff *msg;
	int err;

	msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	mutex_lock(&sn->lock);
	err = smoke_fill_value(msg, info->snd_portid, info->snd_seq, 0,
			       NLKIT_SMOKE_CMD_GET_VALUE, sn);
	mutex_unlock(&sn->lock);
	return nlkit_genl_reply(msg, info, err);
}

int nlkit_smoke_nl_set_value_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct net *net = genl_info_net(info);
	struct smoke_net *sn = smoke_pernet(net);
	struct sk_buff *ev;
	int err;

	if (nlkit_genl_require(info, NLKIT_SMOKE_A_VALUE_VALUE, "value is required"))
		return -EINVAL;

	ev = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	mutex_lock(&sn->lock);
	sn->value = nla_get_u32(info->attrs[NLKIT_SMOKE_A_VALUE_VALUE]);
	sn->changes++;
	err = ev ? smoke_fill_value(ev, 0, 0, 0, NLKIT_SMOKE_CMD_VALUE_CHANGED, sn) : -ENOMEM;
	mutex_unlock(&sn->lock);

	/* The change is made; a lost notification is not the caller's error. */
	if (!err)
		genlmsg_multicast_netns(&nlkit_smoke_nl_family, net, ev, 0,
					NLKIT_SMOKE_NLGRP_EVENTS, GFP_KERNEL);
	else
		nlmsg_free(ev);
	return 0;
}

int nlkit_smoke_nl_add_items_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct smoke_net *sn = smoke_pernet(genl_info_net(info));
	struct nlattr **attrs = info->attrs;
	u32 first, count = 1, i;
	int err = 0;

	if (nlkit_genl_require(info, NLKIT_SMOKE_A_ITEM_ID, "the first item id is required"))
		return -EINVAL;
	first = nla_get_u32(attrs[NLKIT_SMOKE_A_ITEM_ID]);
	if (attrs[NLKIT_SMOKE_A_ITEM_COUNT])
		count = nla_get_u32(attrs[NLKIT_SMOKE_A_ITEM_COUNT]);
	if (first > U32_MAX - (count - 1)) {
		NL_SET_ERR_MSG_ATTR(info->extack, attrs[NLKIT_SMOKE_A_ITEM_COUNT],
				    "id + count - 1 overflows the 32-bit id space");
		return -ERANGE;
	}

	mutex_lock(&sn->lock);
	if (sn->nitems + count > NLKIT_SMOKE_MAX_ITEMS) {
		NL_SET_ERR_MSG_ATTR(info->extack, attrs[NLKIT_SMOKE_A_ITEM_COUNT],
				    "the namespace's item table would exceed its limit");
		err = -ENOSPC;
		goto out;
	}
	for (i = 0; i < count; i++) {
		if (xa_load(&sn->items, first + i)) {
			NL_SET_ERR_MSG_ATTR(info->extack, attrs[NLKIT_SMOKE_A_ITEM_ID],
					    "an item with one of these ids exists already");
			err = -EEXIST;
			goto out;
		}
	}
	for (i = 0; i < count; i++) {
		struct smoke_item *it = kzalloc(sizeof(*it), GFP_KERNEL);

		if (!it) {
			err = -ENOMEM;
			break;
		}
		it->id = first + i;
		if (attrs[NLKIT_SMOKE_A_ITEM_LABEL])
			nla_strscpy(it->label, attrs[NLKIT_SMOKE_A_ITEM_LABEL], sizeof(it->label));
		err = xa_insert(&sn->items, it->id, it, GFP_KERNEL);
		if (err) {
			kfree(it);
			break;
		}
		sn->nitems++;
	}
	if (err) {
		/* all or nothing: take back what this request inserted */
		while (i--) {
			kfree(xa_erase(&sn->items, first + i));
			sn->nitems--;
		}
	}
	sn->gen++;
out:
	mutex_unlock(&sn->lock);
	return err;
}

int nlkit_smoke_nl_del_items_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct smoke_net *sn = smoke_pernet(genl_info_net(info));
	struct nlattr *id = info->attrs[NLKIT_SMOKE_A_ITEM_ID];
	struct smoke_item *it;
	int err = 0;

	mutex_lock(&sn->lock);
	if (!id) {
		smoke_free_items(sn);
	} else if ((it = xa_erase(&sn->items, nla_get_u32(id)))) {
		kfree(it);
		sn->gen++;
	} else {
		NL_SET_ERR_MSG_ATTR(info->extack, id, "no item with this id");
		err = -ENOENT;
	}
	mutex_unlock(&sn->lock);
	return err;
}

static int smoke_fill_item(struct sk_buff *msg, u32 portid, u32 seq, int flags,
			   const struct smoke_item *it)
{
	void *hdr;

	hdr = genlmsg_put(msg, portid, seq, &nlkit_smoke_nl_family, flags, NLKIT_SMOKE_CMD_GET_ITEM);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_u32(msg, NLKIT_SMOKE_A_ITEM_ID, it->id) ||
	    nla_put_string(msg, NLKIT_SMOKE_A_ITEM_LABEL, it->label)) {
		genlmsg_cancel(msg, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return 0;
}

int nlkit_smoke_nl_get_item_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct smoke_net *sn = smoke_pernet(genl_info_net(info));
	struct smoke_item *it;
	struct sk_buff *msg;
	int err;

	if (nlkit_genl_require(info, NLKIT_SMOKE_A_ITEM_ID, "an item id is required"))
		return -EINVAL;
	msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	mutex_lock(&sn->lock);
	it = xa_load(&sn->items, nla_get_u32(info->attrs[NLKIT_SMOKE_A_ITEM_ID]));
	if (!it) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[NLKIT_SMOKE_A_ITEM_ID],
				    "no item with this id");
		err = -ENOENT;
	} else {
		err = smoke_fill_item(msg, info->snd_portid, info->snd_seq, 0, it);
	}
	mutex_unlock(&sn->lock);
	return nlkit_genl_reply(msg, info, err);
}

/* cb->args[0]: next id to dump. cb->seq: table generation, for NLM_F_DUMP_INTR. */
int nlkit_smoke_nl_get_item_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct smoke_net *sn = smoke_pernet(sock_net(skb->sk));
	unsigned long id = cb->args[0];
	struct smoke_item *it;
	int err = 0;

	mutex_lock(&sn->lock);
	cb->seq = sn->gen;
	xa_for_each_start(&sn->items, id, it, cb->args[0]) {
		err = smoke_fill_item(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
				      NLM_F_MULTI, it);
		if (err)
			break;
		nl_dump_check_consistent(cb, nlmsg_hdr(skb));
		cb->args[0] = id + 1;
	}
	mutex_unlock(&sn->lock);
	return nlkit_dump_end(skb, err);	/* a full skb: the next call goes on from args[0] */
}
