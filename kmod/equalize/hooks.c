// SPDX-License-Identifier: GPL-2.0
/*
 * equalize's datapath (main.c has the design): PRE_ROUTING gives a forwarded packet
 * bound for an equalize route or prefix the next hash of a golden-ratio sequence, which
 * the kernel's own multipath selection turns into each nexthop's weighted share;
 * FORWARD clears it again.
 */
#include <linux/hash.h>
#include <linux/inetdevice.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <linux/skbuff.h>
#include <net/ip_fib.h>
#include <net/ipv6.h>
#include <net/nexthop.h>

#include <nlkit/compat.h>

#include "equalize.h"

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
			NLKIT_FLOWI4_DSFIELD(iph->tos),
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

const struct nf_hook_ops eq_hooks_tmpl[EQ_NHOOKS] = {
	{ .hook = eq_in4, .pf = NFPROTO_IPV4, .hooknum = NF_INET_PRE_ROUTING, .priority = NF_IP_PRI_NAT_SRC + 200 },
	{ .hook = eq_fwd, .pf = NFPROTO_IPV4, .hooknum = NF_INET_FORWARD, .priority = NF_IP_PRI_FIRST },
	{ .hook = eq_in6, .pf = NFPROTO_IPV6, .hooknum = NF_INET_PRE_ROUTING, .priority = NF_IP6_PRI_NAT_SRC + 200 },
	{ .hook = eq_fwd, .pf = NFPROTO_IPV6, .hooknum = NF_INET_FORWARD, .priority = NF_IP6_PRI_FIRST },
};
