// SPDX-License-Identifier: GPL-2.0
/*
 * In-module self-tests of sch_fcm's pure logic, run at load when built with
 * NLKIT_SELFTEST (the Kbuild sets it against a kernel with KASAN: the debug kernel),
 * as WireGuard's selftest/ does: the price function, and the stamp on hand-made
 * segments (IPv4 and IPv6, both option forms, checksums that still verify, segments
 * with no room). A failure fails the load.
 */

#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/skbuff.h>
#include <linux/tcp.h>
#include <net/checksum.h>
#include <net/ip6_checksum.h>
#include <net/ipv6.h>
#include <net/tcp.h>

#include "fcm.h"

#ifdef NLKIT_SELFTEST

static bool __init fcm_selftest_price(void)
{
	static const struct {
		u32 bval, qmin, qlen, price;
	} cases[] __initconst = {
		{ 10, 30, 0, 0 }, { 10, 30, 30, 0 }, { 10, 30, 31, 10 }, { 10, 30, 40, 100 },
		{ 65535, 0, 2, FCM_PRICE_MAX }, { 65535, 0, 0xffffffff, FCM_PRICE_MAX },
		{ 1, 1000000, 0xffffffff, FCM_PRICE_MAX },
	};
	bool ok = true;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct fcm_config c = { .bval = cases[i].bval, .qmin = cases[i].qmin };
		u32 p = fcm_price(&c, cases[i].qlen);

		if (p != cases[i].price) {
			pr_err("sch_fcm selftest: p(%u) with bval %u qmin %u is %u, want %u\n",
			       cases[i].qlen, cases[i].bval, cases[i].qmin, p, cases[i].price);
			ok = false;
		}
	}
	return ok;
}

/* The TCP checksum over skb's segment and its pseudo-header: 0 when it verifies. */
static __sum16 __init fcm_selftest_csum(struct sk_buff *skb)
{
	unsigned int tlen = skb->len - skb_transport_offset(skb);
	__wsum c = csum_partial(tcp_hdr(skb), tlen, 0);

	if (skb->protocol == htons(ETH_P_IPV6))
		return csum_ipv6_magic(&ipv6_hdr(skb)->saddr, &ipv6_hdr(skb)->daddr, tlen, IPPROTO_TCP, c);
	return csum_tcpudp_magic(ip_hdr(skb)->saddr, ip_hdr(skb)->daddr, tlen, IPPROTO_TCP, c);
}

/* A TCP segment with @optlen bytes of NOPs and @payload bytes, checksums set. */
static struct sk_buff *__init fcm_selftest_skb(bool v6, unsigned int optlen, unsigned int payload)
{
	unsigned int nhlen = v6 ? sizeof(struct ipv6hdr) : sizeof(struct iphdr);
	unsigned int thlen = sizeof(struct tcphdr) + optlen, len = nhlen + thlen + payload;
	struct sk_buff *skb = alloc_skb(LL_MAX_HEADER + len, GFP_KERNEL);
	struct tcphdr *th;

	if (!skb)
		return NULL;
	skb_reserve(skb, LL_MAX_HEADER);
	skb_reset_network_header(skb);
	skb_put_zero(skb, len);
	skb_set_transport_header(skb, nhlen);
	th = tcp_hdr(skb);
	th->source = htons(40000);
	th->dest = htons(5001);
	th->seq = htonl(1);
	th->ack_seq = htonl(2);
	th->doff = thlen / 4;
	th->ack = 1;
	th->window = htons(1000);
	memset(th + 1, TCPOPT_NOP, optlen);
	memset((u8 *)th + thlen, 0xab, payload);
	if (v6) {
		struct ipv6hdr *ip6h = ipv6_hdr(skb);

		ip6h->version = 6;
		ip6h->nexthdr = IPPROTO_TCP;
		ip6h->hop_limit = 64;
		ip6h->payload_len = htons(thlen + payload);
		ipv6_addr_set(&ip6h->saddr, htonl(0x20010db8), 0, 0, htonl(1));
		ipv6_addr_set(&ip6h->daddr, htonl(0x20010db8), 0, 0, htonl(2));
		skb->protocol = htons(ETH_P_IPV6);
	} else {
		struct iphdr *iph = ip_hdr(skb);

		iph->version = 4;
		iph->ihl = 5;
		iph->ttl = 64;
		iph->protocol = IPPROTO_TCP;
		iph->tot_len = htons(len);
		iph->saddr = htonl(0x0a000001);
		iph->daddr = htonl(0x0a000002);
		iph->check = ip_fast_csum(iph, iph->ihl);
		skb->protocol = htons(ETH_P_IP);
	}
	th->check = fcm_selftest_csum(skb);
	skb->ip_summed = CHECKSUM_NONE;
	return skb;
}

static bool __init fcm_selftest_stamp(void)
{
	static const struct {
		const char *name;
		bool v6;
		unsigned int optlen;
		u16 exid, price;
		unsigned int mtu;
		enum fcm_stamp_result want;
		u8 opt[8];
	} cases[] __initconst = {
		{ "IPv4, option 92", false, 0, 0, 0x1234, 1500, FCM_STAMPED,
		  { FCM_OPTION_KIND, FCM_OPTION_LEN, 0x12, 0x34 } },
		{ "IPv4 with options, RFC 6994 form", false, 12, 0xfc11, 0x1234, 1500, FCM_STAMPED,
		  { TCPOPT_NOP, TCPOPT_NOP, FCM_OPTION_EXP_KIND, FCM_OPTION_EXP_LEN, 0xfc, 0x11, 0x12, 0x34 } },
		{ "IPv6, option 92", true, 0, 0, 7, 1500, FCM_STAMPED,
		  { FCM_OPTION_KIND, FCM_OPTION_LEN, 0, 7 } },
		{ "IPv6 with options, RFC 6994 form", true, 20, 0xfc11, 65535, 1500, FCM_STAMPED,
		  { TCPOPT_NOP, TCPOPT_NOP, FCM_OPTION_EXP_KIND, FCM_OPTION_EXP_LEN, 0xfc, 0x11, 0xff, 0xff } },
		{ "a full TCP header has no room", false, 40, 0, 1, 1500, FCM_NO_ROOM, { 0 } },
		{ "the MTU leaves no room", false, 0, 0, 1, 20 + 20 + 100 + 3, FCM_NO_ROOM, { 0 } },
	};
	bool ok = true;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		unsigned int olen = cases[i].exid ? 8 : FCM_OPTION_LEN, len, l3len, doff, segs;
		struct sk_buff *skb = fcm_selftest_skb(cases[i].v6, cases[i].optlen, 100);
		enum fcm_stamp_result r;
		bool good;

		if (!skb)
			return false;
		len = skb->len;
		doff = tcp_hdr(skb)->doff;
		r = fcm_stamp(skb, cases[i].price, cases[i].exid, cases[i].mtu, &segs);
		if (r != FCM_STAMPED) {
			good = r == cases[i].want && skb->len == len && tcp_hdr(skb)->doff == doff &&
			       !fcm_selftest_csum(skb);
		} else {
			l3len = cases[i].v6 ? sizeof(struct ipv6hdr) + ntohs(ipv6_hdr(skb)->payload_len) :
					      ntohs(ip_hdr(skb)->tot_len);
			good = r == cases[i].want && skb->len == len + olen && l3len == skb->len &&
			       tcp_hdr(skb)->doff == doff + olen / 4 &&
			       !memcmp(tcp_hdr(skb) + 1, cases[i].opt, olen) &&
			       !fcm_selftest_csum(skb) &&
			       (cases[i].v6 || !ip_fast_csum(ip_hdr(skb), ip_hdr(skb)->ihl));
		}
		if (!good) {
			pr_err("sch_fcm selftest: stamp \"%s\": result %d (want %d), length %u -> %u, doff %u -> %u, TCP checksum %s\n",
			       cases[i].name, r, cases[i].want, len, skb->len, doff, tcp_hdr(skb)->doff,
			       fcm_selftest_csum(skb) ? "wrong" : "right");
			ok = false;
		}
		kfree_skb(skb);
	}
	return ok;
}

bool __init fcm_selftest(void)
{
	bool ok = fcm_selftest_price() & fcm_selftest_stamp();

	if (ok)
		pr_info("sch_fcm: selftests passed\n");
	return ok;
}

#endif /* NLKIT_SELFTEST */
