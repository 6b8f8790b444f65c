// SPDX-License-Identifier: GPL-2.0
/*
 * Inserting the price option into a TCP segment as its first option: kind 92, length
 * 4, 16-bit big-endian p(q); or, with an ExID, the RFC 6994 form NOP, NOP, kind 253,
 * length 6, 16-bit ExID, p(q) (8 bytes: the data offset counts 32-bit words).
 *
 * The headers (link layer, IP, the 20 fixed bytes of TCP) move 4 or 8 bytes toward the
 * head and the option goes into the gap, so the payload is never copied. Then: IPv4
 * total length and header checksum, or the IPv6 payload length; TCP data offset; and
 * the TCP checksum, incrementally over the three changes (the data-offset word, the
 * option's 32-bit words, the pseudo-header's length). With CHECKSUM_PARTIAL only the
 * pseudo-header part is in th->check (the device sums the rest), which
 * inet_proto_csum_replace*() know; CHECKSUM_COMPLETE (a received skb's sum over its
 * data) no longer matches the data, so it is dropped to CHECKSUM_NONE first, after
 * which th->check is complete and updated as such.
 *
 * A TCP GSO packet (no-split-gso) is stamped once, in the header its segments will copy:
 * its gso_size shrinks by what the segments would otherwise pass the MTU by, so every
 * segment still fits with the option, and the stack or the device segments it after
 * the qdisc as usual (th->check's pseudo-header sum covers the packet's whole TCP
 * length, which GSO replaces by each segment's; it grows by the option like the rest).
 * Its shared info is then the qdisc's to change, as bpf_skb_net_grow() changes it:
 * gso_segs recomputed and the packet marked SKB_GSO_DODGY, so GSO checks its headers.
 */

#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <net/checksum.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/tcp.h>

#include "fcm.h"

u32 fcm_price(const struct fcm_config *c, u32 qlen)
{
	u64 p;

	if (qlen <= c->qmin)
		return 0;
	p = (u64)c->bval * (qlen - c->qmin);
	return min_t(u64, p, FCM_PRICE_MAX);
}

enum fcm_stamp_result fcm_stamp(struct sk_buff *skb, u16 price, u16 exid, unsigned int mtu,
			       unsigned int *segs)
{
	unsigned int olen = exid ? 8 : FCM_OPTION_LEN, i, gso_size = 0;
	unsigned int noff = skb_network_offset(skb), toff, l3len, thlen;
	__be16 old_word, new_word, old_len, new_len;
	struct tcphdr *th, _th;
	__be32 opt[2];
	int moff;

	*segs = fcm_skb_segs(skb);
	if (noff < 0 || noff > skb->len || skb->encapsulation)
		return FCM_OTHER;
	switch (skb->protocol) {
	case htons(ETH_P_IP): {
		struct iphdr *iph, _iph;

		iph = skb_header_pointer(skb, noff, sizeof(_iph), &_iph);
		if (!iph || iph->version != 4 || iph->ihl < 5 || iph->protocol != IPPROTO_TCP ||
		    (iph->frag_off & htons(IP_MF | IP_OFFSET)))
			return FCM_OTHER;
		l3len = ntohs(iph->tot_len);
		toff = noff + iph->ihl * 4;
		if (l3len < iph->ihl * 4 + sizeof(struct tcphdr) || noff + l3len > skb->len)
			return FCM_OTHER;
		break;
	}
	case htons(ETH_P_IPV6): {
		struct ipv6hdr *ip6h, _ip6h;
		__be16 frag_off;
		u8 nexthdr;
		int off;

		ip6h = skb_header_pointer(skb, noff, sizeof(_ip6h), &_ip6h);
		if (!ip6h || ip6h->version != 6)
			return FCM_OTHER;
		nexthdr = ip6h->nexthdr;
		off = ipv6_skip_exthdr(skb, noff + sizeof(*ip6h), &nexthdr, &frag_off);
		if (off < 0 || nexthdr != IPPROTO_TCP || frag_off)
			return FCM_OTHER;
		l3len = sizeof(*ip6h) + ntohs(ip6h->payload_len);
		toff = off;
		if (!ip6h->payload_len || noff + l3len > skb->len ||
		    toff + sizeof(struct tcphdr) > noff + l3len)
			return FCM_OTHER;
		break;
	}
	default:
		return FCM_OTHER;
	}
	th = skb_header_pointer(skb, toff, sizeof(_th), &_th);
	if (!th)
		return FCM_OTHER;
	thlen = th->doff * 4;
	if (thlen < sizeof(struct tcphdr) || toff + thlen > noff + l3len)
		return FCM_OTHER;	/* a malformed segment: leave it to the receiver */
	if (skb_is_gso(skb)) {
		struct skb_shared_info *si = skb_shinfo(skb);
		unsigned int hdrs = toff - noff + thlen + olen;	/* L3 and L4, stamped */

		if (!skb_is_gso_tcp(skb) || si->gso_size == GSO_BY_FRAGS)
			return FCM_OTHER;
		if (thlen + olen > 60 || hdrs + 64 > mtu)
			return FCM_NO_ROOM;
		gso_size = min_t(unsigned int, si->gso_size, mtu - hdrs);
	} else if (thlen + olen > 60 || l3len + olen > mtu) {
		return FCM_NO_ROOM;
	}

	/* headers writable and in the linear area; room in front for the option */
	if (skb_ensure_writable(skb, toff + sizeof(struct tcphdr)) ||
	    skb_cow_head(skb, olen))
		return FCM_OTHER;
	if (skb->ip_summed == CHECKSUM_COMPLETE)
		skb->ip_summed = CHECKSUM_NONE;

	moff = skb_mac_header_was_set(skb) ? skb_mac_offset(skb) : -1;
	__skb_push(skb, olen);
	memmove(skb->data, skb->data + olen, toff + sizeof(struct tcphdr));
	if (moff >= 0)
		skb_set_mac_header(skb, moff);
	skb_set_network_header(skb, noff);
	skb_set_transport_header(skb, toff);
	if (skb->ip_summed == CHECKSUM_PARTIAL)
		skb->csum_start -= olen;	/* it counts from skb->head */

	th = (struct tcphdr *)(skb->data + toff);
	if (exid) {
		opt[0] = htonl((TCPOPT_NOP << 24) | (TCPOPT_NOP << 16) |
			       (FCM_OPTION_EXP_KIND << 8) | FCM_OPTION_EXP_LEN);
		opt[1] = htonl(((u32)exid << 16) | price);
	} else {
		opt[0] = htonl((FCM_OPTION_KIND << 24) | (FCM_OPTION_LEN << 16) | price);
	}
	memcpy((u8 *)th + sizeof(struct tcphdr), opt, olen);

	/* the 16-bit word holding the data offset (and the flags) */
	old_word = ((__be16 *)th)[6];
	th->doff += olen / 4;
	new_word = ((__be16 *)th)[6];
	inet_proto_csum_replace2(&th->check, skb, old_word, new_word, false);
	for (i = 0; i < olen / 4; i++)
		inet_proto_csum_replace4(&th->check, skb, 0, opt[i], false);
	old_len = htons(l3len - (toff - noff));
	new_len = htons(l3len - (toff - noff) + olen);
	inet_proto_csum_replace2(&th->check, skb, old_len, new_len, true);

	if (skb->protocol == htons(ETH_P_IP)) {
		struct iphdr *iph = (struct iphdr *)(skb->data + noff);
		__be16 tot = htons(l3len + olen);

		csum_replace2(&iph->check, iph->tot_len, tot);
		iph->tot_len = tot;
	} else {
		struct ipv6hdr *ip6h = (struct ipv6hdr *)(skb->data + noff);

		ip6h->payload_len = htons(ntohs(ip6h->payload_len) + olen);
	}
	if (gso_size) {
		struct skb_shared_info *si = skb_shinfo(skb);

		si->gso_size = gso_size;
		si->gso_segs = DIV_ROUND_UP(l3len - (toff - noff) - thlen, gso_size);
		si->gso_type |= SKB_GSO_DODGY;
		*segs = si->gso_segs;
	}
	return FCM_STAMPED;
}
