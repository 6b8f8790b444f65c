// SPDX-License-Identifier: GPL-2.0
/*
 * equalize: per-packet weighted multipath for forwarded traffic on stock kernels.
 *
 * A multipath route flagged RTM_F_EQUALIZE should send successive packets over its
 * nexthops in proportion to their weights. Stock kernels store the flag on IPv4 routes
 * and ignore it (IPv6 drops it); nlkit's kernel patch implements it
 * (patches/linux-6.12). Without the patch, this module does it for forwarded packets:
 *
 *   PRE_ROUTING (after DNAT): if the destination is covered by an equalize route (the
 *   flag in the IPv4 FIB) or by a prefix configured through the genl family
 *   "equalize", give the packet a software L4 hash = (per-route packet counter) *
 *   2^32 / golden ratio.
 *   Routing: with fib_multipath_hash_policy 1, fib_multipath_hash() and
 *   rt6_multipath_hash() return a present L4 hash as it is, so the kernel's own
 *   nexthop selection (weights, dead and linkdown nexthops, nexthop groups) walks the
 *   route's hash space in a low-discrepancy sequence: each nexthop gets its weight's
 *   share of the packets, interleaved.
 *   FORWARD: the hash is cleared again, so egress qdiscs (fq, fq_codel) and XPS hash
 *   the packet's real flow.
 *
 * Limits: forwarded traffic only (a socket's own packets carry the socket's hash and
 * their dst is cached); one decision per GRO packet; the hash policy must be 1 in the
 * netns (counted in wrong-policy otherwise; nlkit sets it).
 */
#include <linux/hash.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <linux/percpu.h>
#include <linux/rculist.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <net/genetlink.h>
#include <linux/inetdevice.h>
#include <net/inet_dscp.h>
#include <net/fib_notifier.h>
#include <net/ip_fib.h>
#include <net/ipv6.h>
#include <net/net_namespace.h>
#include <net/nexthop.h>
#include <net/netns/generic.h>

#include <nlkit/genl.h>

#include "generated/equalize_nl.h"

#define EQ_CTR_BITS	6	/* counters for FIB routes, by fib_info address */

struct eq_prefix {
	struct list_head list;
	struct rcu_head rcu;
	u8 family;
	u8 len;
	struct in6_addr addr;	/* IPv4 in the first 4 bytes */
	atomic_t next;
	atomic64_t packets;
};

struct eq_stats {
	u64 hashed4;
	u64 hashed6;
	u64 wrong_policy;
};

struct eq_net {
	struct net *net;
	struct mutex lock;		/* prefix writers */
	struct list_head prefixes;	/* RCU */
	unsigned int nprefixes;
	struct eq_stats __percpu *stats;
	struct nf_hook_ops *hooks;
	atomic_t next[1 << EQ_CTR_BITS];
	/* set (for good) once an IPv4 route with RTM_F_EQUALIZE appears in the netns:
	 * until then forwarded packets cost no second FIB lookup
	 */
	bool eq_routes;
	struct notifier_block fib_nb;
};

static unsigned int eq_net_id;
static struct eq_net *eq_net(struct net *net)
{
	return net_generic(net, eq_net_id);
}

/* ----------------------------------------------------------------- datapath */

static bool eq_prefix_match(const struct eq_prefix *p, u8 family, const void *addr)
{
	if (p->family != family)
		return false;
	if (family == AF_INET) {
		return !((*(const __be32 *)addr ^ p->addr.s6_addr32[0]) & inet_make_mask(p->len));
	}
	return ipv6_prefix_equal(addr, &p->addr, p->len);
}

static struct eq_prefix *eq_lookup_prefix(struct eq_net *en, u8 family, const void *addr)
{
	struct eq_prefix *p;

	list_for_each_entry_rcu(p, &en->prefixes, list)
		if (eq_prefix_match(p, family, addr))
			return p;
	return NULL;
}

static void eq_set_hash(struct sk_buff *skb, atomic_t *next)
{
	/* The golden-ratio sequence of fib_equalize_hash() in the kernel patch. */
	__skb_set_sw_hash(skb, (u32)atomic_inc_return(next) * 0x9e3779b9U, true);
}

static unsigned int eq_in4(void *priv, struct sk_buff *skb, const struct nf_hook_state *state)
{
	struct eq_net *en = priv;
	const struct iphdr *iph = ip_hdr(skb);
	struct eq_stats *st;
	struct eq_prefix *p;
	atomic_t *next = NULL;

	if (ipv4_is_multicast(iph->daddr) || ipv4_is_lbcast(iph->daddr) || ipv4_is_zeronet(iph->daddr))
		return NF_ACCEPT;
	p = eq_lookup_prefix(en, AF_INET, &iph->daddr);
	if (!p) {
		/* A device can be without IPv4 config while its packets still get
		 * here (a VLAN below IPv4's minimum MTU: ip_rcv does not look), and
		 * such a device forwards nothing.
		 */
		struct in_device *in_dev = __in_dev_get_rcu(state->in);

		if (!READ_ONCE(en->eq_routes))
			return NF_ACCEPT;	/* no equalize route here: nothing to look up */
		if (!in_dev || !IN_DEV_FORWARD(in_dev))
			return NF_ACCEPT;	/* a host, not a router: nothing to spread */
	}
	if (p) {
		next = &p->next;
		atomic64_inc(&p->packets);
	} else {
		struct flowi4 fl4 = {
			.daddr = iph->daddr,
			.saddr = iph->saddr,
			.flowi4_iif = state->in->ifindex,
			.flowi4_mark = skb->mark,
			.flowi4_tos = iph->tos & INET_DSCP_MASK,
			.flowi4_scope = RT_SCOPE_UNIVERSE,
		};
		struct fib_result res;

		if (fib_lookup(state->net, &fl4, &res, 0) || res.type != RTN_UNICAST || !res.fi ||
		    !(res.fi->fib_flags & RTM_F_EQUALIZE) || fib_info_num_path(res.fi) < 2)
			return NF_ACCEPT;
		next = &en->next[hash_ptr(res.fi, EQ_CTR_BITS)];
	}
	eq_set_hash(skb, next);
	st = this_cpu_ptr(en->stats);
	st->hashed4++;
	if (READ_ONCE(state->net->ipv4.sysctl_fib_multipath_hash_policy) != 1)
		st->wrong_policy++;
	return NF_ACCEPT;
}

static unsigned int eq_in6(void *priv, struct sk_buff *skb, const struct nf_hook_state *state)
{
	struct eq_net *en = priv;
	struct eq_stats *st;
	struct eq_prefix *p;

	if (list_empty(&en->prefixes) || ipv6_addr_is_multicast(&ipv6_hdr(skb)->daddr))
		return NF_ACCEPT;
	p = eq_lookup_prefix(en, AF_INET6, &ipv6_hdr(skb)->daddr);
	if (!p)
		return NF_ACCEPT;
	atomic64_inc(&p->packets);
	eq_set_hash(skb, &p->next);
	st = this_cpu_ptr(en->stats);
	st->hashed6++;
	if (ip6_multipath_hash_policy(state->net) != 1)
		st->wrong_policy++;
	return NF_ACCEPT;
}

/* After routing: let egress qdiscs and XPS hash the packet's real flow again. */
static unsigned int eq_fwd(void *priv, struct sk_buff *skb, const struct nf_hook_state *state)
{
	if (skb->sw_hash && skb->l4_hash)
		skb_clear_hash(skb);
	return NF_ACCEPT;
}

static const struct nf_hook_ops eq_hooks_tmpl[] = {
	{ .hook = eq_in4, .pf = NFPROTO_IPV4, .hooknum = NF_INET_PRE_ROUTING, .priority = NF_IP_PRI_NAT_SRC + 200 },
	{ .hook = eq_fwd, .pf = NFPROTO_IPV4, .hooknum = NF_INET_FORWARD, .priority = NF_IP_PRI_FIRST },
	{ .hook = eq_in6, .pf = NFPROTO_IPV6, .hooknum = NF_INET_PRE_ROUTING, .priority = NF_IP6_PRI_NAT_SRC + 200 },
	{ .hook = eq_fwd, .pf = NFPROTO_IPV6, .hooknum = NF_INET_FORWARD, .priority = NF_IP6_PRI_FIRST },
};

/* ----------------------------------------------------------------- netlink */

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

/* cb->args[0]: prefixes already dumped. */
int equalize_nl_get_prefix_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct eq_net *en = eq_net(sock_net(skb->sk));
	struct eq_prefix *p;
	long idx = 0;
	int err = 0;

	mutex_lock(&en->lock);
	list_for_each_entry(p, &en->prefixes, list) {
		void *hdr;

		if (idx++ < cb->args[0])
			continue;
		hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq, &equalize_nl_family,
				  NLM_F_MULTI, EQUALIZE_CMD_GET_PREFIX);
		if (!hdr) {
			err = -EMSGSIZE;
			break;
		}
		if (nla_put_u8(skb, EQUALIZE_A_PREFIX_FAMILY, p->family) ||
		    nla_put(skb, EQUALIZE_A_PREFIX_ADDR, p->family == AF_INET ? 4 : 16, &p->addr) ||
		    nla_put_u8(skb, EQUALIZE_A_PREFIX_LEN, p->len) ||
		    nla_put_u64_64bit(skb, EQUALIZE_A_PREFIX_PACKETS, atomic64_read(&p->packets), 0)) {
			genlmsg_cancel(skb, hdr);
			err = -EMSGSIZE;
			break;
		}
		genlmsg_end(skb, hdr);
		cb->args[0] = idx;
	}
	mutex_unlock(&en->lock);
	return nlkit_dump_end(skb, err);
}

/* ----------------------------------------------------------------- netns */

/* FIB notifications of the netns (under RTNL, and a dump of the existing routes when
 * registered): notes that an IPv4 equalize route exists.
 */
static int eq_fib_event(struct notifier_block *nb, unsigned long event, void *ptr)
{
	struct eq_net *en = container_of(nb, struct eq_net, fib_nb);
	struct fib_notifier_info *info = ptr;
	struct fib_entry_notifier_info *fen;

	if (info->family != AF_INET ||
	    (event != FIB_EVENT_ENTRY_REPLACE && event != FIB_EVENT_ENTRY_APPEND))
		return NOTIFY_DONE;
	fen = container_of(info, struct fib_entry_notifier_info, info);
	if (fen->fi && fen->fi->fib_flags & RTM_F_EQUALIZE)
		WRITE_ONCE(en->eq_routes, true);
	return NOTIFY_DONE;
}

static int __net_init eq_net_init(struct net *net)
{
	struct eq_net *en = eq_net(net);
	struct nf_hook_ops *ops;
	int i, err;

	en->net = net;
	mutex_init(&en->lock);
	INIT_LIST_HEAD(&en->prefixes);
	en->stats = alloc_percpu(struct eq_stats);
	if (!en->stats)
		return -ENOMEM;
	ops = kmemdup(eq_hooks_tmpl, sizeof(eq_hooks_tmpl), GFP_KERNEL);
	if (!ops) {
		err = -ENOMEM;
		goto err_stats;
	}
	for (i = 0; i < ARRAY_SIZE(eq_hooks_tmpl); i++)
		ops[i].priv = en;
	en->fib_nb.notifier_call = eq_fib_event;
	err = register_fib_notifier(net, &en->fib_nb, NULL, NULL);
	if (err)
		goto err_ops;
	err = nf_register_net_hooks(net, ops, ARRAY_SIZE(eq_hooks_tmpl));
	if (err)
		goto err_fib;
	en->hooks = ops;
	return 0;
err_fib:
	unregister_fib_notifier(net, &en->fib_nb);
err_ops:
	kfree(ops);
err_stats:
	free_percpu(en->stats);
	return err;
}

static void __net_exit eq_net_exit(struct net *net)
{
	struct eq_net *en = eq_net(net);
	struct eq_prefix *p, *tmp;

	nf_unregister_net_hooks(net, en->hooks, ARRAY_SIZE(eq_hooks_tmpl));	/* waits for hooks in flight */
	kfree(en->hooks);
	unregister_fib_notifier(net, &en->fib_nb);
	list_for_each_entry_safe(p, tmp, &en->prefixes, list) {
		list_del(&p->list);
		kfree(p);
	}
	free_percpu(en->stats);
}

static struct pernet_operations eq_net_ops = {
	.init = eq_net_init,
	.exit = eq_net_exit,
	.id = &eq_net_id,
	.size = sizeof(struct eq_net),
};

static int __init eq_init(void)
{
	int err;

	err = register_pernet_subsys(&eq_net_ops);
	if (err)
		return err;
	err = genl_register_family(&equalize_nl_family);
	if (err) {
		unregister_pernet_subsys(&eq_net_ops);
		return err;
	}
	pr_info("equalize %s loaded (family %s, ABI %d)\n", NLKIT_VERSION, EQUALIZE_FAMILY_NAME, EQUALIZE_FAMILY_VERSION);
	return 0;
}

static void __exit eq_exit(void)
{
	genl_unregister_family(&equalize_nl_family);
	unregister_pernet_subsys(&eq_net_ops);
	rcu_barrier();	/* prefixes freed by kfree_rcu */
}

module_init(eq_init);
module_exit(eq_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("nlkit developers");
MODULE_DESCRIPTION("equalize: per-packet weighted multipath for forwarded traffic (RTM_F_EQUALIZE on stock kernels)");
MODULE_VERSION(NLKIT_VERSION);
