// SPDX-License-Identifier: GPL-2.0
/*
 * q_fcm.so: the `fcm` qdisc (FCM router, kmod/fcm) for Debian's iproute2 tc.
 *
 *   tc qdisc add dev X root fcm rate 10mbit [limit BYTES] [bval B] [qmin PACKETS] [exid N]
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
		"rate: the outgoing link's rate (the queue forms here);\n"
		"price p(q) = min(65535, bval * max(0, q - qmin)), q in packets, stamped into\n"
		"every TCP segment as option 92, or with exid N (1..65535, e.g. 0xfc11) in the\n"
		"RFC 6994 form: kind 253 with ExID N (exid 0: back to option 92). The receivers\n"
		"must read the same form. Defaults: limit 100 ms at rate, bval 10, qmin 30.\n");
}

static int bad(const char *what, const char *val)
{
	fprintf(stderr, "fcm: illegal %s \"%s\"\n", what, val ? val : "");
	explain();
	return -1;
}

static int fcm_parse_opt(struct qdisc_util *qu, int argc, char **argv, struct nlmsghdr *n,
			 const char *dev)
{
	struct rtattr *tail;
	unsigned int u;
	__u64 v64;
	__u32 v32;

	(void)qu;
	(void)dev;
	tail = addattr_nest(n, 1024, TCA_OPTIONS | NLA_F_NESTED);
	for (; argc > 0; argc--, argv++) {
		const char *k = *argv, *val = argc > 1 ? argv[1] : NULL;

		if (!strcmp(k, "help")) {
			explain();
			return -1;
		}
		if (!val)
			return bad(k, "(missing value)");
		if (!strcmp(k, "rate")) {
			if (get_rate64(&v64, val))
				return bad(k, val);
			addattr_l(n, 1024, FCM_A_OPTS_RATE, &v64, sizeof(v64));
		} else if (!strcmp(k, "limit")) {
			if (get_size(&u, val))
				return bad(k, val);
			v32 = u;
			addattr_l(n, 1024, FCM_A_OPTS_LIMIT, &v32, sizeof(v32));
		} else if (!strcmp(k, "bval") || !strcmp(k, "qmin")) {
			if (get_u32(&v32, val, 10))
				return bad(k, val);
			addattr_l(n, 1024, !strcmp(k, "bval") ? FCM_A_OPTS_BVAL : FCM_A_OPTS_QMIN,
				  &v32, sizeof(v32));
		} else if (!strcmp(k, "exid")) {
			__u16 v16;

			if (get_u32(&v32, val, 0) || v32 > 0xffff)
				return bad(k, val);
			v16 = v32;
			addattr_l(n, 1024, FCM_A_OPTS_EXID, &v16, sizeof(v16));
		} else {
			fprintf(stderr, "fcm: unknown parameter \"%s\"\n", k);
			explain();
			return -1;
		}
		argc--;
		argv++;
	}
	addattr_nest_end(n, tail);
	return 0;
}

static int fcm_print_opt(struct qdisc_util *qu, FILE *f, struct rtattr *opt)
{
	struct rtattr *tb[FCM_A_OPTS_MAX + 1];

	(void)qu;
	if (!opt)
		return 0;
	parse_rtattr_flags(tb, FCM_A_OPTS_MAX, RTA_DATA(opt), RTA_PAYLOAD(opt), NLA_F_NESTED);
	out_rate(f, "rate", get64(tb[FCM_A_OPTS_RATE]));
	out_u(f, "limit", "%s %llub ", get32(tb[FCM_A_OPTS_LIMIT]));
	out_u(f, "bval", "%s %llu ", get32(tb[FCM_A_OPTS_BVAL]));
	out_u(f, "qmin", "%s %llu ", get32(tb[FCM_A_OPTS_QMIN]));
	if (tb[FCM_A_OPTS_EXID] && RTA_PAYLOAD(tb[FCM_A_OPTS_EXID]) >= sizeof(__u16))
		out_u(f, "exid", "%s %#llx ", *(__u16 *)RTA_DATA(tb[FCM_A_OPTS_EXID]));
	return 0;
}

static int fcm_print_xstats(struct qdisc_util *qu, FILE *f, struct rtattr *xstats)
{
	struct tc_fcm_xstats st = { 0 };
	size_t len;

	(void)qu;
	if (!xstats)
		return 0;
	len = RTA_PAYLOAD(xstats);
	if (len > sizeof(st))
		len = sizeof(st);	/* a newer module: print what this plugin knows */
	memcpy(&st, RTA_DATA(xstats), len);
	if (!is_json_context())
		fprintf(f, "  ");
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
