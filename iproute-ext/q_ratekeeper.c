// SPDX-License-Identifier: GPL-2.0
/*
 * q_ratekeeper.so: the `ratekeeper` qdisc for Debian's iproute2 tc.
 *
 *   tc qdisc add dev X root ratekeeper rate 50mbit min 10mbit max 100mbit \
 *	[burst BYTES] [limit BYTES] [interval TIME] [linkrate RATE] [highmark PCT]
 *	[group N] [eventgap TIME]
 *   tc [-j] -s qdisc show dev X
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

static const struct tc_opt rk_opts[] = {
	{ "rate", RATEKEEPER_A_OPTS_RATE, TC_OPT_RATE, NULL },
	{ "min", RATEKEEPER_A_OPTS_MIN_RATE, TC_OPT_RATE, NULL },
	{ "max", RATEKEEPER_A_OPTS_MAX_RATE, TC_OPT_RATE, NULL },
	{ "burst", RATEKEEPER_A_OPTS_BURST, TC_OPT_SIZE, NULL },
	{ "limit", RATEKEEPER_A_OPTS_LIMIT, TC_OPT_SIZE, NULL },
	{ "interval", RATEKEEPER_A_OPTS_INTERVAL, TC_OPT_USEC, NULL },
	{ "linkrate", RATEKEEPER_A_OPTS_LINKRATE, TC_OPT_RATE, NULL },
	{ "highmark", RATEKEEPER_A_OPTS_HIGHMARK, TC_OPT_PERCENT, NULL },
	{ "group", RATEKEEPER_A_OPTS_GROUP, TC_OPT_U32, NULL },
	{ "eventgap", RATEKEEPER_A_OPTS_EVENT_GAP, TC_OPT_MSEC, NULL },
	{ NULL },
};

static int rk_parse_opt(struct qdisc_util *qu, int argc, char **argv, struct nlmsghdr *n,
			const char *dev)
{
	(void)qu;
	(void)dev;
	return tc_opt_parse("ratekeeper", rk_opts, explain, argc, argv, n);
}

static int rk_print_opt(struct qdisc_util *qu, FILE *f, struct rtattr *opt)
{
	(void)qu;
	return tc_opt_print(rk_opts, RATEKEEPER_A_OPTS_MAX, f, opt);
}

static int rk_print_xstats(struct qdisc_util *qu, FILE *f, struct rtattr *xstats)
{
	struct tc_ratekeeper_xstats st = { 0 };

	(void)qu;
	if (!tc_xstats(&st, sizeof(st), f, xstats))
		return 0;
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
