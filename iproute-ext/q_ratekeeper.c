// SPDX-License-Identifier: GPL-2.0
/*
 * q_ratekeeper.so: the `ratekeeper` qdisc for Debian's iproute2 tc.
 *
 *   tc qdisc add dev X root ratekeeper rate 50mbit min 10mbit max 100mbit \
 *	[burst BYTES] [limit BYTES] [interval TIME] [linkrate RATE] [highmark PCT]
 *	[group N] [eventgap TIME]
 *   tc [-j] -s qdisc show dev X
 *
 * Built without iproute2's source tree: tc loads q_<kind>.so and looks up
 * <kind>_qdisc_util; the few helpers used below are exported by the tc binary. Their
 * declarations (a small, long-stable ABI) are written out here.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/types.h>

#include <uapi/linux/ratekeeper.h>
#include <uapi/linux/ratekeeper_qdisc.h>

#include "tc_plugin.h"

static void explain(void)
{
	fprintf(stderr,
		"Usage: ... ratekeeper rate RATE [ min RATE ] [ max RATE ] [ burst BYTES ] [ limit BYTES ]\n"
		"                      [ interval TIME ] [ linkrate RATE ] [ highmark PERCENT ]\n"
		"                      [ group N ] [ eventgap TIME ]\n"
		"rate: current shaping rate (the daemon moves it between min and max);\n"
		"min: the tenant's guarantee; linkrate: the host link's capacity (0: no detection);\n"
		"highmark: percentage of linkrate that counts as congested.\n");
}

static int bad(const char *what, const char *val)
{
	fprintf(stderr, "ratekeeper: illegal %s \"%s\"\n", what, val ? val : "");
	explain();
	return -1;
}

static int rk_parse_opt(struct qdisc_util *qu, int argc, char **argv, struct nlmsghdr *n,
			const char *dev)
{
	struct rtattr *tail;
	__u64 v64;
	__u32 v32;
	unsigned int u;

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
		if (!strcmp(k, "rate") || !strcmp(k, "min") || !strcmp(k, "max") ||
		    !strcmp(k, "linkrate")) {
			int type = !strcmp(k, "rate") ? RATEKEEPER_A_OPTS_RATE :
				   !strcmp(k, "min") ? RATEKEEPER_A_OPTS_MIN_RATE :
				   !strcmp(k, "max") ? RATEKEEPER_A_OPTS_MAX_RATE :
				   RATEKEEPER_A_OPTS_LINKRATE;

			if (get_rate64(&v64, val))
				return bad(k, val);
			addattr_l(n, 1024, type, &v64, sizeof(v64));
		} else if (!strcmp(k, "burst") || !strcmp(k, "limit")) {
			if (get_size(&u, val))
				return bad(k, val);
			v32 = u;
			addattr_l(n, 1024, !strcmp(k, "burst") ? RATEKEEPER_A_OPTS_BURST :
				  RATEKEEPER_A_OPTS_LIMIT, &v32, sizeof(v32));
		} else if (!strcmp(k, "interval")) {
			if (get_time(&u, val))
				return bad(k, val);
			v32 = u;
			addattr_l(n, 1024, RATEKEEPER_A_OPTS_INTERVAL, &v32, sizeof(v32));
		} else if (!strcmp(k, "eventgap")) {
			if (get_time(&u, val))
				return bad(k, val);
			v32 = u / 1000;
			addattr_l(n, 1024, RATEKEEPER_A_OPTS_EVENT_GAP, &v32, sizeof(v32));
		} else if (!strcmp(k, "highmark") || !strcmp(k, "group")) {
			char buf[32];

			snprintf(buf, sizeof(buf), "%s", val);
			if (buf[0] && buf[strlen(buf) - 1] == '%')
				buf[strlen(buf) - 1] = 0;
			if (get_u32(&v32, buf, 10))
				return bad(k, val);
			addattr_l(n, 1024, !strcmp(k, "highmark") ? RATEKEEPER_A_OPTS_HIGHMARK :
				  RATEKEEPER_A_OPTS_GROUP, &v32, sizeof(v32));
		} else {
			fprintf(stderr, "ratekeeper: unknown parameter \"%s\"\n", k);
			explain();
			return -1;
		}
		argc--;
		argv++;
	}
	addattr_nest_end(n, tail);
	return 0;
}

static int rk_print_opt(struct qdisc_util *qu, FILE *f, struct rtattr *opt)
{
	struct rtattr *tb[RATEKEEPER_A_OPTS_MAX + 1];

	(void)qu;
	if (!opt)
		return 0;
	parse_rtattr_flags(tb, RATEKEEPER_A_OPTS_MAX, RTA_DATA(opt), RTA_PAYLOAD(opt), NLA_F_NESTED);
	out_rate(f, "rate", get64(tb[RATEKEEPER_A_OPTS_RATE]));
	out_rate(f, "min", get64(tb[RATEKEEPER_A_OPTS_MIN_RATE]));
	out_rate(f, "max", get64(tb[RATEKEEPER_A_OPTS_MAX_RATE]));
	out_u(f, "burst", "%s %llub ", get32(tb[RATEKEEPER_A_OPTS_BURST]));
	out_u(f, "limit", "%s %llub ", get32(tb[RATEKEEPER_A_OPTS_LIMIT]));
	out_u(f, "interval", "%s %lluus ", get32(tb[RATEKEEPER_A_OPTS_INTERVAL]));
	out_rate(f, "linkrate", get64(tb[RATEKEEPER_A_OPTS_LINKRATE]));
	out_u(f, "highmark", "%s %llu%% ", get32(tb[RATEKEEPER_A_OPTS_HIGHMARK]));
	out_u(f, "group", "%s %llu ", get32(tb[RATEKEEPER_A_OPTS_GROUP]));
	out_u(f, "eventgap", "%s %llums ", get32(tb[RATEKEEPER_A_OPTS_EVENT_GAP]));
	return 0;
}

static int rk_print_xstats(struct qdisc_util *qu, FILE *f, struct rtattr *xstats)
{
	struct tc_ratekeeper_xstats st = { 0 };
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
	out_rate(f, "current_rate", st.rate);
	out_rate(f, "measured", st.measured);
	out_rate(f, "link_load", st.link_load);
	out_u(f, "congested", "%s %llu ", st.congested);
	out_u(f, "severity", "%s %llu ", st.severity);
	out_u(f, "events", "%s %llu ", st.events);
	out_u(f, "events_suppressed", "%s %llu ", st.events_suppressed);
	return 0;
}

struct qdisc_util ratekeeper_qdisc_util = {
	.id		= "ratekeeper",
	.parse_qopt	= rk_parse_opt,
	.print_qopt	= rk_print_opt,
	.print_xstats	= rk_print_xstats,
};
