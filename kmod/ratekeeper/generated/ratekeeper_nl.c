// SPDX-License-Identifier: GPL-2.0
/* Do not edit directly, auto-generated from: netlinkproto/specs/ratekeeper.yaml */
/* by netlinkproto/gen: run `go generate ./...` after changing the spec. */

#include <linux/module.h>
#include <net/netlink.h>
#include <net/genetlink.h>

#include "ratekeeper_nl.h"

#include <uapi/linux/ratekeeper.h>

/* Common nested types */
static struct netlink_range_validation ratekeeper_a_opts_burst_range = {
	.min = 1500,
	.max = 67108864,
};

static struct netlink_range_validation ratekeeper_a_opts_event_gap_range = {
	.min = 1,
	.max = 60000,
};

static struct netlink_range_validation ratekeeper_a_opts_interval_range = {
	.min = 100,
	.max = 10000000,
};

static struct netlink_range_validation ratekeeper_a_opts_limit_range = {
	.min = 1500,
	.max = 1073741824,
};

const struct nla_policy ratekeeper_opts_nl_policy[RATEKEEPER_A_OPTS_MAX + 1] = {
	[RATEKEEPER_A_OPTS_RATE] = { .type = NLA_U64, },
	[RATEKEEPER_A_OPTS_MIN_RATE] = { .type = NLA_U64, },
	[RATEKEEPER_A_OPTS_MAX_RATE] = { .type = NLA_U64, },
	[RATEKEEPER_A_OPTS_BURST] = NLA_POLICY_FULL_RANGE(NLA_U32, &ratekeeper_a_opts_burst_range),
	[RATEKEEPER_A_OPTS_LIMIT] = NLA_POLICY_FULL_RANGE(NLA_U32, &ratekeeper_a_opts_limit_range),
	[RATEKEEPER_A_OPTS_INTERVAL] = NLA_POLICY_FULL_RANGE(NLA_U32, &ratekeeper_a_opts_interval_range),
	[RATEKEEPER_A_OPTS_LINKRATE] = { .type = NLA_U64, },
	[RATEKEEPER_A_OPTS_HIGHMARK] = NLA_POLICY_RANGE(NLA_U32, 1, 100),
	[RATEKEEPER_A_OPTS_GROUP] = { .type = NLA_U32, },
	[RATEKEEPER_A_OPTS_EVENT_GAP] = NLA_POLICY_FULL_RANGE(NLA_U32, &ratekeeper_a_opts_event_gap_range),
};

/* Common nested types */
const struct nla_policy ratekeeper_sender_nl_policy[RATEKEEPER_A_SENDER_MAX + 1] = {
	[RATEKEEPER_A_SENDER_ADDR] = NLA_POLICY_RANGE(NLA_BINARY, 16, 16),
	[RATEKEEPER_A_SENDER_MAC] = NLA_POLICY_RANGE(NLA_BINARY, 6, 6),
	[RATEKEEPER_A_SENDER_RATE] = { .type = NLA_U64, },
};

/* GET_QDISC - request attributes (all others are rejected) */
static const struct nla_policy ratekeeper_get_qdisc_nl_policy[RATEKEEPER_A_QDISC_MAX + 1] = {
	[RATEKEEPER_A_QDISC_IFINDEX] = NLA_POLICY_MIN(NLA_U32, 1),
	[RATEKEEPER_A_QDISC_HANDLE] = { .type = NLA_U32, },
};

/* SET_RATE - request attributes (all others are rejected) */
static const struct nla_policy ratekeeper_set_rate_nl_policy[RATEKEEPER_A_QDISC_MAX + 1] = {
	[RATEKEEPER_A_QDISC_IFINDEX] = NLA_POLICY_MIN(NLA_U32, 1),
	[RATEKEEPER_A_QDISC_HANDLE] = { .type = NLA_U32, },
	[RATEKEEPER_A_QDISC_RATE] = { .type = NLA_U64, },
};

/* Ops table for ratekeeper */
const struct genl_ops ratekeeper_nl_ops[2] = {
	{
		.cmd		= RATEKEEPER_CMD_GET_QDISC,
		.doit		= ratekeeper_nl_get_qdisc_doit,
		.dumpit		= ratekeeper_nl_get_qdisc_dumpit,
		.policy		= ratekeeper_get_qdisc_nl_policy,
		.maxattr	= RATEKEEPER_A_QDISC_MAX,
	},
	{
		.cmd		= RATEKEEPER_CMD_SET_RATE,
		.doit		= ratekeeper_nl_set_rate_doit,
		.policy		= ratekeeper_set_rate_nl_policy,
		.maxattr	= RATEKEEPER_A_QDISC_MAX,
		.flags		= GENL_UNS_ADMIN_PERM,
	},
};

const struct genl_multicast_group ratekeeper_nl_mcgrps[1] = {
	[RATEKEEPER_NLGRP_EVENTS] = { "events", .flags = GENL_MCAST_CAP_NET_ADMIN, },
};

struct genl_family ratekeeper_nl_family = {
	.name		= RATEKEEPER_FAMILY_NAME,
	.version	= RATEKEEPER_FAMILY_VERSION,
	.netnsok	= true,
	.parallel_ops	= true,
	.module		= THIS_MODULE,
	.ops		= ratekeeper_nl_ops,
	.n_ops		= ARRAY_SIZE(ratekeeper_nl_ops),
	.mcgrps		= ratekeeper_nl_mcgrps,
	.n_mcgrps	= ARRAY_SIZE(ratekeeper_nl_mcgrps),
};
