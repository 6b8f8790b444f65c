// SPDX-License-Identifier: GPL-2.0
/*
 * nlkit_smoke: the foundation's smoke module.
 *
 * It registers the generic netlink family "nlkit_smoke" from its spec
 * (netlinkproto/specs/nlkit_smoke.yaml; the ops and policy tables are generated in
 * nlkit_smoke_nl.c) so that the VM runner, the generator and the Go client can prove
 * themselves before any mechanism arrives:
 *  - get-info: the module's version, ABI and build;
 *  - get-value / set-value: a per-netns number; set needs CAP_NET_ADMIN in the
 *    netns's user namespace (GENL_UNS_ADMIN_PERM) and multicasts value-changed;
 *  - add-items / del-items / get-item (do and dump): a per-netns table, large enough
 *    that a dump spans many messages, with NLM_F_DUMP_INTR on concurrent changes.
 */

#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/utsname.h>
#include <linux/xarray.h>
#include <generated/utsrelease.h>
#include <net/genetlink.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>
#include <net/sock.h>

#include <nlkit/genl.h>

#include "generated/nlkit_smoke_nl.h"

#ifndef NLKIT_VERSION
#define NLKIT_VERSION "unknown"
#endif

struct smoke_item {
	u32 id;
	char label[NLKIT_SMOKE_LABEL_MAX_LEN + 1];
};

struct smoke_net {
	struct mutex lock;	/* protects everything below */
	u32 value;
	u64 changes;
	struct xarray items;	/* id -> struct smoke_item */
	u32 nitems;
	unsigned int gen;	/* bumped on every table change, for NLM_F_DUMP_INTR */
};

static unsigned int smoke_net_id __read_mostly;

/* For tests of the client's ABI check only: register the family with another version. */
static unsigned int fake_abi;
module_param(fake_abi, uint, 0444);
MODULE_PARM_DESC(fake_abi, "testing only: register the family with this version instead of the real ABI");
static struct smoke_net *smoke_pernet(struct net *net)
{
	return net_generic(net, smoke_net_id);
}

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
	if (err) {
		nlmsg_free(msg);
		return err;
	}
	return genlmsg_reply(msg, info);
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

static void smoke_free_items(struct smoke_net *sn)
{
	struct smoke_item *it;
	unsigned long id;

	xa_for_each(&sn->items, id, it) {
		xa_erase(&sn->items, id);
		kfree(it);
	}
	sn->nitems = 0;
	sn->gen++;
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

	mutex_lock(&sn->lock);
	smoke_free_items(sn);
	mutex_unlock(&sn->lock);
	return 0;
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
	if (err) {
		nlmsg_free(msg);
		return err;
	}
	return genlmsg_reply(msg, info);
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

static int __net_init smoke_net_init(struct net *net)
{
	struct smoke_net *sn = smoke_pernet(net);

	mutex_init(&sn->lock);
	xa_init(&sn->items);
	/* start from 1 so a fresh dump (cb->prev_seq == 0) is never seen as interrupted */
	sn->gen = 1;
	return 0;
}

static void __net_exit smoke_net_exit(struct net *net)
{
	struct smoke_net *sn = smoke_pernet(net);

	mutex_lock(&sn->lock);
	smoke_free_items(sn);
	mutex_unlock(&sn->lock);
	xa_destroy(&sn->items);
	mutex_destroy(&sn->lock);
}

static struct pernet_operations smoke_net_ops = {
	.init = smoke_net_init,
	.exit = smoke_net_exit,
	.id = &smoke_net_id,
	.size = sizeof(struct smoke_net),
};

static int __init smoke_init(void)
{
	int err;

	err = register_pernet_subsys(&smoke_net_ops);
	if (err)
		return err;
	if (fake_abi)
		nlkit_smoke_nl_family.version = fake_abi;
	err = genl_register_family(&nlkit_smoke_nl_family);
	if (err) {
		unregister_pernet_subsys(&smoke_net_ops);
		return err;
	}
	pr_info("nlkit_smoke %s loaded (family %s, ABI %u)\n", NLKIT_VERSION,
		NLKIT_SMOKE_FAMILY_NAME, nlkit_smoke_nl_family.version);
	return 0;
}

static void __exit smoke_exit(void)
{
	genl_unregister_family(&nlkit_smoke_nl_family);
	unregister_pernet_subsys(&smoke_net_ops);
}

module_init(smoke_init);
module_exit(smoke_exit);
MODULE_LICENSE("GPL");
MODULE_AUTHOR("nlkit developers");
MODULE_DESCRIPTION("nlkit smoke module: a generic netlink family generated from its spec");
MODULE_VERSION(NLKIT_VERSION);
MODULE_ALIAS_GENL_FAMILY(NLKIT_SMOKE_FAMILY_NAME);
