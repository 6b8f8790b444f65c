// SPDX-License-Identifier: GPL-2.0
/*
 * In-module self-tests of the receiver's pure logic, run at load when built with
 * NLKIT_SELFTEST (the Kbuild sets it against a kernel with KASAN: the debug kernel),
 * as WireGuard's selftest/ does: the option parser on hand-made option lists, and the
 * control law on hand-made connections. A failure fails the load.
 */

#include <linux/kernel.h>
#include <linux/string.h>

#include "receiver.h"

#ifdef NLKIT_SELFTEST

struct fcm_opts_case {
	const char *name;
	u8 o[40];
	unsigned int len;
	u16 exid;
	/* expected */
	bool malformed, price_ok, ts;
	u16 price;
	int wscale;
	unsigned int mss_off;
};

static const struct fcm_opts_case fcm_opts_cases[] __initconst = {
	{ "price in option 92 after timestamps",
	  { 1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, FCM_OPTION_KIND, FCM_OPTION_LEN, 0x12, 0x34 }, 16, 0,
	  false, true, true, 0x1234, -1, 0 },
	{ "MSS at an odd offset (a NOP before it)",
	  { 1, 2, 4, 0x05, 0xb4 }, 5, 0, false, false, false, 0, -1, sizeof(struct tcphdr) + 3 },
	{ "window scale above 14 is clamped",
	  { 3, 3, 15 }, 3, 0, false, false, false, 0, TCP_MAX_WSCALE, 0 },
	{ "option 92 of length 3 is malformed",
	  { FCM_OPTION_KIND, 3, 0 }, 3, 0, true, false, false, 0, -1, 0 },
	{ "an option running past the end is malformed",
	  { 1, 8, 10, 0, 0 }, 5, 0, true, false, false, 0, -1, 0 },
	{ "a kind byte alone at the end is malformed",
	  { 1, 1, 8 }, 3, 0, true, false, false, 0, -1, 0 },
	{ "RFC 6994 form with our ExID",
	  { 1, 1, FCM_OPTION_EXP_KIND, FCM_OPTION_EXP_LEN, 0xfc, 0x11, 0xff, 0xfe }, 8, 0xfc11,
	  false, true, false, 0xfffe, -1, 0 },
	{ "kind 254 with our ExID",
	  { 254, FCM_OPTION_EXP_LEN, 0xfc, 0x11, 0x00, 0x07 }, 6, 0xfc11, false, true, false, 7, -1, 0 },
	{ "RFC 6994 form with another ExID is not ours",
	  { FCM_OPTION_EXP_KIND, FCM_OPTION_EXP_LEN, 0xfc, 0x12, 0x00, 0x07 }, 6, 0xfc11,
	  false, false, false, 0, -1, 0 },
	{ "option 92 is ignored while an ExID is set",
	  { FCM_OPTION_KIND, FCM_OPTION_LEN, 0x00, 0x07 }, 4, 0xfc11, false, false, false, 0, -1, 0 },
	{ "our ExID with the wrong length is malformed",
	  { FCM_OPTION_EXP_KIND, 8, 0xfc, 0x11, 0, 7, 0, 0 }, 8, 0xfc11, true, false, false, 0, -1, 0 },
	{ "EOL ends the list",
	  { 0, FCM_OPTION_KIND, FCM_OPTION_LEN, 0, 7 }, 5, 0, false, false, false, 0, -1, 0 },
};

static bool __init fcm_selftest_opts(void)
{
	bool ok = true;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(fcm_opts_cases); i++) {
		const struct fcm_opts_case *t = &fcm_opts_cases[i];
		struct fcm_opts r;

		fcm_parse_opts(t->o, t->len, t->exid, &r);
		if (r.malformed != t->malformed || r.price_ok != t->price_ok || r.ts != t->ts ||
		    (t->price_ok && r.price != t->price) || r.wscale != t->wscale ||
		    r.mss_off != t->mss_off) {
			pr_err("fcm_receiver selftest: options \"%s\": malformed %d price_ok %d price %u ts %d wscale %d mss_off %u\n",
			       t->name, r.malformed, r.price_ok, r.price, r.ts, r.wscale, r.mss_off);
			ok = false;
		}
	}
	return ok;
}

/* One round of the law on a connection that received @bytes in 200 ms at @price. */
static void __init fcm_selftest_round(struct fcm_rcv_net *rn, struct fcm_conn *c, u64 bytes, u32 price)
{
	u64 now = 10 * NSEC_PER_SEC;

	c->round_start = now - 200 * NSEC_PER_MSEC;	/* over the 100 ms default round */
	c->round_bytes = bytes;
	c->price = price;
	fcm_round(rn, c, now);
}

static bool __init fcm_selftest_law(void)
{
	static struct fcm_rcv_net rn __initdata;
	struct fcm_conn c;
	bool ok = true;

	rn.p = (struct fcm_rcv_params){ .alpha = 25, .tau = 1, .ps_thresh = 20, .weight = 300000 };

	/* prime start ends once the price says the path is full: w = the round's bytes.
	 * 1250000 B in 200 ms: x = 6.25 MB/s = 50000 kbit/s; at price 100, u = -1566%.
	 */
	memset(&c, 0, sizeof(c));
	c.state = FCM_RECEIVER_CONN_STATE_PRIME;
	c.mss = 1448;
	fcm_selftest_round(&rn, &c, 1250000, 100);
	if (c.state != FCM_RECEIVER_CONN_STATE_STEADY || c.w != 1250000 || c.x != 6250000) {
		pr_err("fcm_receiver selftest: prime start: state %u w %u x %llu, want steady, 1250000, 6250000\n",
		       c.state, c.w, c.x);
		ok = false;
	}
	/* the largest price (a peer may send it) takes w to one MSS in a round, no lower */
	c.kwin = 2000000;
	fcm_selftest_round(&rn, &c, 1250000, FCM_PRICE_MAX);
	if (c.w != c.mss) {
		pr_err("fcm_receiver selftest: price %u: w %u, want one MSS (%u)\n", FCM_PRICE_MAX, c.w, c.mss);
		ok = false;
	}
	/* a huge rate at the largest price must not overflow into a larger window */
	fcm_selftest_round(&rn, &c, 1ULL << 42, FCM_PRICE_MAX);
	if (c.w != c.mss) {
		pr_err("fcm_receiver selftest: 2^42 B a round at price %u: w %u, want one MSS\n", FCM_PRICE_MAX, c.w);
		ok = false;
	}
	/* no price: w grows by tau MSS a round, up to the window the kernel offered */
	c.w = 1000000;
	c.kwin = 1000100;
	fcm_selftest_round(&rn, &c, 1250000, 0);
	if (c.w != 1000100) {
		pr_err("fcm_receiver selftest: no price: w %u, want the kernel's window 1000100\n", c.w);
		ok = false;
	}
	c.kwin = 0;	/* the kernel offered 0: bounded by what a TCP window can say */
	c.w = FCM_MAX_WIN;
	fcm_selftest_round(&rn, &c, 1250000, 0);
	if (c.w != FCM_MAX_WIN) {
		pr_err("fcm_receiver selftest: no price, zero window: w %u, want %u\n", c.w, FCM_MAX_WIN);
		ok = false;
	}
	return ok;
}

bool __init fcm_rcv_selftest(void)
{
	bool ok = fcm_selftest_opts() & fcm_selftest_law();

	if (ok)
		pr_info("fcm_receiver: selftests passed\n");
	return ok;
}

#endif /* NLKIT_SELFTEST */
