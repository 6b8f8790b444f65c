// SPDX-License-Identifier: GPL-2.0
/*
 * Reading a TCP segment in the hooks: its addresses and ports as the connection's key,
 * its header, and the options the receiver needs (MSS, window scale, timestamps, the
 * price). Anything that is not a whole, well-formed TCP segment is left alone.
 */

#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/netfilter.h>
#include <linux/tcp.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/tcp.h>

#include "receiver.h"

/*
 * fcm_parse_opts reads the options the receiver needs; the price from option 92 when
 * exid is 0, else from an RFC 6994 option (kind 253 or 254) with that ExID. An option
 * of the expected form with the wrong length counts as malformed; other experiments'
 * options (another ExID, or kind 92 while an exid is set) are not ours and are skipped.
 */
void fcm_parse_opts(const u8 *o, unsigned int len, u16 exid, struct fcm_opts *r)
{
	unsigned int i = 0;

	memset(r, 0, sizeof(*r));
	r->wscale = -1;
	while (i < len) {
		u8 kind = o[i], olen;

		if (kind == TCPOPT_EOL)
			break;
		if (kind == TCPOPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= len) {
			r->malformed = true;
			break;
		}
		olen = o[i + 1];
		if (olen < 2 || i + olen > len) {
			r->malformed = true;
			break;
		}
		switch (kind) {
		case TCPOPT_MSS:
			if (olen == TCPOLEN_MSS)
				r->mss_off = sizeof(struct tcphdr) + i + 2;
			break;
		case TCPOPT_WINDOW:
			if (olen == TCPOLEN_WINDOW)
				r->wscale = min_t(int, o[i + 2], TCP_MAX_WSCALE);
			break;
		case TCPOPT_TIMESTAMP:
			if (olen == TCPOLEN_TIMESTAMP) {
				r->ts = true;
				r->tsval = get_unaligned_be32(o + i + 2);
				r->tsecr = get_unaligned_be32(o + i + 6);
			}
			break;
		case FCM_OPTION_KIND:
			if (exid)
				break;
			if (olen != FCM_OPTION_LEN) {
				r->malformed = true;
				break;
			}
			r->price_ok = true;
			r->price = get_unaligned_be16(o + i + 2);
			break;
		case TCPOPT_EXP:	/* 254 */
		case FCM_OPTION_EXP_KIND:	/* 253 */
			if (!exid || olen < 4 || get_unaligned_be16(o + i + 2) != exid)
				break;
			if (olen != FCM_OPTION_EXP_LEN) {
				r->malformed = true;
				break;
			}
			r->price_ok = true;
			r->price = get_unaligned_be16(o + i + 4);
			break;
		}
		i += olen;
	}
}

/*
 * fcm_tcp reads the TCP segment in skb (data at the network header, as in the
 * LOCAL_IN and LOCAL_OUT hooks); out: the local end is the source. False for anything
 * that is not a whole, well-formed TCP segment.
 */
bool fcm_tcp(struct sk_buff *skb, u8 pf, bool out, struct fcm_seg *s)
{
	unsigned int noff = skb_network_offset(skb), l3end;
	struct in6_addr src, dst;
	const struct tcphdr *th;

	if (skb->encapsulation)
		return false;
	if (pf == NFPROTO_IPV4) {
		const struct iphdr *iph;
		struct iphdr _iph;

		iph = skb_header_pointer(skb, noff, sizeof(_iph), &_iph);
		if (!iph || iph->ihl < 5 || iph->protocol != IPPROTO_TCP ||
		    (iph->frag_off & htons(IP_MF | IP_OFFSET)))
			return false;
		s->thoff = noff + iph->ihl * 4;
		l3end = noff + ntohs(iph->tot_len);
		ipv6_addr_set_v4mapped(iph->saddr, &src);
		ipv6_addr_set_v4mapped(iph->daddr, &dst);
	} else {
		const struct ipv6hdr *ip6h;
		struct ipv6hdr _ip6h;
		unsigned short fragoff = 0;
		unsigned int off = 0;
		int flags = 0;

		ip6h = skb_header_pointer(skb, noff, sizeof(_ip6h), &_ip6h);
		if (!ip6h)
			return false;
		if (ipv6_find_hdr(skb, &off, IPPROTO_TCP, &fragoff, &flags) != IPPROTO_TCP ||
		    (flags & IP6_FH_F_FRAG))
			return false;
		s->thoff = off;
		l3end = noff + sizeof(*ip6h) + ntohs(ip6h->payload_len);
		src = ip6h->saddr;
		dst = ip6h->daddr;
	}
	if (l3end > skb->len)	/* GSO skbs count too: skb->len covers them */
		l3end = skb->len;
	th = skb_header_pointer(skb, s->thoff, sizeof(s->th), &s->th);
	if (!th)
		return false;
	if (th != &s->th)
		s->th = *th;
	s->thlen = s->th.doff * 4;
	if (s->thlen < sizeof(struct tcphdr) || s->thoff + s->thlen > l3end)
		return false;
	if (s->thlen > sizeof(struct tcphdr) &&
	    skb_copy_bits(skb, s->thoff + sizeof(struct tcphdr), s->opts,
			  s->thlen - sizeof(struct tcphdr)))
		return false;
	s->payload = l3end - s->thoff - s->thlen;
	memset(&s->key, 0, sizeof(s->key));
	if (out) {
		s->key.local = src;
		s->key.remote = dst;
		s->key.lport = s->th.source;
		s->key.rport = s->th.dest;
	} else {
		s->key.local = dst;
		s->key.remote = src;
		s->key.lport = s->th.dest;
		s->key.rport = s->th.source;
	}
	return true;
}
