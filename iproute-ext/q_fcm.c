// SPDX-License-Identifier: GPL-2.0
/*
 * q_fcm.so: the `fcm` qdisc (FCM router, kmod/fcm) for Debian's iproute2 tc.
 *
 *   tc qdisc add dev X root fcm rate 10mbit [limit BYTES] [bval B] [qmin PACKETS] [exid N]
 *                                       [split-gso | no-split-gso]
 *   tc [-j] -s qdisc show dev X
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uapi/linux/fcm.h>
#include <uapi/linux/fcm_qdisc.h>

#include "tc_plugin.h"

static void explain(void)
{
	fprintf(stderr,
		"Usage: ... fcm rate RATE [ limit BYTES ] [ bval B ] [ qmin PACKETS ] [ exid N ]\n"
		"                [ split-gso | no-split-gso ]\n"
		"rate: the outgoing link's rate (the queue forms here);\n"
		"price p(q) = min(65535, bval * max(0, q - qmin)), q in segments, stamped into\n"
		"every TCP segment as option 92, or with exid N (1..65535, e.g. 0xfc11) in the\n"
		"RFC 6994 form: kind 253 with ExID N (exid 0: back to option 92). The receivers\n"
		"must read the same form. split-gso: GSO packets are segmented here, each segment\n"
		"priced at its own dequeue; no-split-gso: stamped whole, one price per GSO packet,\n"
		"segmented after the qdisc (cheaper). Defaults: limit 100 ms at rate, bval 10,\n"
		"qmin 30, split-gso below 1gbit and no-split-gso from there on (until one is given).\n");
}

static const struct tc_opt fcm_opts[] = {
	{ "rate", FCM_A_OPTS_RATE, TC_OPT_RATE, NULL },
	{ "limit", FCM_A_OPTS_LIMIT, TC_OPT_SIZE, NULL },
	{ "bval", FCM_A_OPTS_BVAL, TC_OPT_U32, NULL },
	{ "qmin", FCM_A_OPTS_QMIN, TC_OPT_U32, NULL },
	{ "exid", FCM_A_OPTS_EXID, TC_OPT_U16_HEX, NULL },
	{ "split-gso", FCM_A_OPTS_SPLIT_GSO, TC_OPT_SWITCH, "no-split-gso" },
	{ NULL },
};

static int fcm_parse_opt(struct qdisc_util *qu, int argc, char **argv, struct nlmsghdr *n,
			 const char *dev)
{
	(void)qu;
	(void)dev;
	return tc_opt_parse("fcm", fcm_opts, explain, argc, argv, n);
}

static int fcm_print_opt(struct qdisc_util *qu, FILE *f, struct rtattr *opt)
{
	(void)qu;
	return tc_opt_print(fcm_opts, FCM_A_OPTS_MAX, f, opt);
}

static int fcm_print_xstats(struct qdisc_util *qu, FILE *f, struct rtattr *xstats)
{
	struct tc_fcm_xstats st = { 0 };

	(void)qu;
	if (!tc_xstats(&st, sizeof(st), f, xstats))
		return 0;
	out_u(f, "id", "%s %llu ", st.id);
	out_u(f, "price", "%s %llu ", st.price);
	out_u(f, "modified", "%s %llu ", st.modified);
	out_u(f, "passed", "%s %llu ", st.passed);
	out_u(f, "other", "%s %llu ", st.other);
	return 0;
}

struct qdisc_util fcm_qdisc_util = {
	.id		= "fcm",
	.parse_qopt	= fcm_parse_opt,
	.print_qopt	= fcm_print_opt,
	.print_xstats	= fcm_print_xstats,
};
