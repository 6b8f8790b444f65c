// SPDX-License-Identifier: GPL-2.0
/*
 * The genl family "equalize" (netlinkproto/specs/equalize.yaml; its policies and op
 * table are generated): the netns's counters and hash policies, and the prefixes the
 * module spreads (add, delete, dump).
 */
#include <linux/inetdevice.h>
#include <linux/slab.h>
#include <net/genetlink.h>
#include <net/ip_fib.h>
#include <net/ipv6.h>

#include <nlkit/genl.h>

#include "equalize.h"

int equalize_nl_get_status_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct net *net = genl_info_net(info);
	struct eq_net *en = eq_net(net);
	struct eq_stats t = {};
	struct sk_buff *msg;
	void *hdr;
	int cpu;

	for_each_possible_cpu(cpu) {
		const struct eq_stats *s = per_cpu_ptr(en->stats, cpu);

		t.hashed4 += READ_ONCE(s->hashed4);
		t.hashed6 += READ_ONCE(s->hashed6);
		t.wrong_policy += READ_ONCE(s->wrong_policy);
	}
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &equalize_nl_family, 0, EQUALIZE_CMD_GET_STATUS);
	if (!hdr)
		goto nospace;
	if (nla_put_u32(msg, EQUALIZE_A_STATUS_PREFIXES, READ_ONCE(en->nprefixes)) ||
	    nla_put_u64_64bit(msg, EQUALIZE_A_STATUS_HASHED4, t.hashed4, 0) ||
	    nla_put_u64_64bit(msg, EQUALIZE_A_STATUS_HASHED6, t.hashed6, 0) ||
	    nla_put_u8(msg, EQUALIZE_A_STATUS_POLICY4, READ_ONCE(net->ipv4.sysctl_fib_multipath_hash_policy)) ||
	    nla_put_u8(msg, EQUALIZE_A_STATUS_POLICY6, ip6_multipath_hash_policy(net)) ||
	    nla_put_u64_64bit(msg, EQUALIZE_A_STATUS_WRONG_POLICY, t.wrong_policy, 0))
		goto nospace;
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
nospace:
	nlmsg_free(msg);
	return -EMSGSIZE;
}

static bool eq_host_bits(const struct eq_prefix *p)
{
	struct in6_addr m;

	if (p->family == AF_INET)
		return p->addr.s6_addr32[0] & ~inet_make_mask(p->len);
	ipv6_addr_prefix(&m, &p->addr, p->len);
	return !ipv6_addr_equal(&m, &p->addr);
}

/* Parses family, addr and len into @p (the host bits must be zero). */
static int eq_parse_prefix(struct genl_info *info, struct eq_prefix *p)
{
	struct nlattr **tb = info->attrs;
	int alen, maxlen;

	if (nlkit_genl_require(info, EQUALIZE_A_PREFIX_FAMILY, "prefix family is required") ||
	    nlkit_genl_require(info, EQUALIZE_A_PREFIX_ADDR, "prefix address is required") ||
	    nlkit_genl_require(info, EQUALIZE_A_PREFIX_LEN, "prefix length is required"))
		return -EINVAL;
	p->family = nla_get_u8(tb[EQUALIZE_A_PREFIX_FAMILY]);
	switch (p->family) {
	case AF_INET:
		alen = 4;
		maxlen = 32;
		break;
	case AF_INET6:
		alen = 16;
		maxlen = 128;
		break;
	default:
		NL_SET_ERR_MSG_ATTR(info->extack, tb[EQUALIZE_A_PREFIX_FAMILY], "family must be AF_INET or AF_INET6");
		return -EAFNOSUPPORT;
	}
	if (nla_len(tb[EQUALIZE_A_PREFIX_ADDR]) != alen) {
		NL_SET_ERR_MSG_ATTR(info->extack, tb[EQUALIZE_A_PREFIX_ADDR], "address length does not match the family");
		return -EINVAL;
	}
	p->len = nla_get_u8(tb[EQUALIZE_A_PREFIX_LEN]);
	if (p->len > maxlen) {
		NL_SET_ERR_MSG_ATTR(info->extack, tb[EQUALIZE_A_PREFIX_LEN], "prefix length is longer than the address");
		return -EINVAL;
	}
	memset(&p->addr, 0, sizeof(p->addr));
	nla_memcpy(&p->addr, tb[EQUALIZE_A_PREFIX_ADDR], alen);
	if (eq_host_bits(p)) {
		NL_SET_ERR_MSG_ATTR(info->extack, tb[EQUALIZE_A_PREFIX_ADDR], "address has host bits set beyond the prefix length");
		return -EINVAL;
	}
	return 0;
}

static struct eq_prefix *eq_find_exact(struct eq_net *en, const struct eq_prefix *k)
{
	struct eq_prefix *p;

	list_for_each_entry(p, &en->prefixes, list)
		if (p->family == k->family && p->len == k->len && ipv6_addr_equal(&p->addr, &k->addr))
			return p;
	return NULL;
}

/* The list is kept longest prefix first, so the datapath's first match is the longest
 * (as the FIB matches), whatever order the prefixes were added in. en->lock held.
 */
static void eq_insert_prefix(struct eq_net *en, struct eq_prefix *p)
{
	struct eq_prefix *q;

	list_for_each_entry(q, &en->prefixes, list) {
		if (q->len < p->len) {
			list_add_tail_rcu(&p->list, &q->list);	/* before q */
			return;
		}
	}
	list_add_tail_rcu(&p->list, &en->prefixes);
}

int equalize_nl_add_prefix_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct eq_net *en = eq_net(genl_info_net(info));
	struct eq_prefix k, *p;
	int err;

	err = eq_parse_prefix(info, &k);
	if (err)
		return err;
	mutex_lock(&en->lock);
	if (eq_find_exact(en, &k)) {
		NL_SET_ERR_MSG(info->extack, "prefix is already configured");
		err = -EEXIST;
		goto out;
	}
	if (en->nprefixes >= EQUALIZE_MAX_PREFIXES) {
		NL_SET_ERR_MSG(info->extack, "too many prefixes (1024 per netns)");
		err = -ENOSPC;
		goto out;
	}
	p = kzalloc(sizeof(*p), GFP_KERNEL_ACCOUNT);
	if (!p) {
		err = -ENOMEM;
		goto out;
	}
	p->family = k.family;
	p->len = k.len;
	p->addr = k.addr;
	eq_insert_prefix(en, p);
	WRITE_ONCE(en->nprefixes, en->nprefixes + 1);
out:
	mutex_unlock(&en->lock);
	return err;
}

int equalize_nl_del_prefix_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct eq_net *en = eq_net(genl_info_net(info));
	struct eq_prefix k, *p;
	int err;

	err = eq_parse_prefix(info, &k);
	if (err)
		return err;
	mutex_lock(&en->lock);
	p = eq_find_exact(en, &k);
	if (p) {
		list_del_rcu(&p->list);
		WRITE_ONCE(en->nprefixes, en->nprefixes - 1);
		kfree_rcu(p, rcu);
	} else {
		NL_SET_ERR_MSG(info->extack, "no such prefix");
		err = -ENOENT;
	}
	mutex_unlock(&en->lock);
	return err;
}

static int eq_fill_prefix(struct sk_buff *skb, const struct eq_prefix *p, u32 portid, u32 seq, int flags)
{
	void *hdr;

	hdr = genlmsg_put(skb, portid, seq, &equalize_nl_family, flags, EQUALIZE_CMD_GET_PREFIX);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_u8(skb, EQUALIZE_A_PREFIX_FAMILY, p->family) ||
	    nla_put(skb, EQUALIZE_A_PREFIX_ADDR, p->family == AF_INET ? 4 : 16, &p->addr) ||
	    nla_put_u8(skb, EQUALIZE_A_PREFIX_LEN, p->len) ||
	    nla_put_u64_64bit(skb, EQUALIZE_A_PREFIX_PACKETS, atomic64_read(&p->packets), 0)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

/* One prefix, by family, addr and len (as `ip route get` takes one route). */
int equalize_nl_get_prefix_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct eq_net *en = eq_net(genl_info_net(info));
	struct eq_prefix k, *p;
	struct sk_buff *msg;
	int err;

	err = eq_parse_prefix(info, &k);
	if (err)
		return err;
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	mutex_lock(&en->lock);
	p = eq_find_exact(en, &k);
	if (p)
		err = eq_fill_prefix(msg, p, info->snd_portid, info->snd_seq, 0);
	mutex_unlock(&en->lock);
	if (!p) {
		NL_SET_ERR_MSG(info->extack, "no such prefix");
		err = -ENOENT;
	}
	return nlkit_genl_reply(msg, info, err);
}

/* cb->args[0]: prefixes already dumped. */
int equalize_nl_get_prefix_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct eq_net *en = eq_net(sock_net(skb->sk));
	struct eq_prefix *p;
	long idx = 0;
	int err = 0;

	mutex_lock(&en->lock);
	list_for_each_entry(p, &en->prefixes, list) {
		if (idx++ < cb->args[0])
			continue;
		err = eq_fill_prefix(skb, p, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq, NLM_F_MULTI);
		if (err)
			break;
		cb->args[0] = idx;
	}
	mutex_unlock(&en->lock);
	return nlkit_dump_end(skb, err);
}
