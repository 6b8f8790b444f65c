// SPDX-License-Identifier: GPL-2.0
/* Do not edit directly, auto-generated from: netlinkproto/specs/fcm.yaml */
/* by netlinkproto/gen: run `go generate ./...` after changing the spec. */

#include <linux/module.h>
#include <net/netlink.h>
#include <net/genetlink.h>

#include "fcm_nl.h"

#include <uapi/linux/fcm.h>

/* Common nested types */
static struct netlink_range_validation fcm_a_opts_bval_range = {
	.min = 1,
	.max = 65535,
};

static struct netlink_range_validation fcm_a_opts_limit_range = {
	.min = 1500,
	.max = 1073741824,
};

static struct netlink_range_validation fcm_a_opts_qmin_range = {
	.min = 0,
	.max = 1000000,
};

const struct nla_policy fcm_opts_nl_policy[FCM_A_OPTS_MAX + 1] = {
	[FCM_A_OPTS_RATE] = { .type = NLA_U64, },
	[FCM_A_OPTS_LIMIT] = NLA_POLICY_FULL_RANGE(NLA_U32, &fcm_a_opts_limit_range),
	[FCM_A_OPTS_BVAL] = NLA_POLICY_FULL_RANGE(NLA_U32, &fcm_a_opts_bval_range),
	[FCM_A_OPTS_QMIN] = NLA_POLICY_FULL_RANGE(NLA_U32, &fcm_a_opts_qmin_range),
	[FCM_A_OPTS_EXID] = { .type = NLA_U16, },
	[FCM_A_OPTS_SPLIT_GSO] = NLA_POLICY_MAX(NLA_U8, 1),
};

/* GET_QDISC - request attributes (all others are rejected) */
static const struct nla_policy fcm_get_qdisc_nl_policy[FCM_A_QDISC_MAX + 1] = {
	[FCM_A_QDISC_IFINDEX] = NLA_POLICY_MIN(NLA_U32, 1),
	[FCM_A_QDISC_HANDLE] = { .type = NLA_U32, },
};

/* Ops table for fcm */
const struct genl_ops fcm_nl_ops[1] = {
	{
		.cmd		= FCM_CMD_GET_QDISC,
		.doit		= fcm_nl_get_qdisc_doit,
		.dumpit		= fcm_nl_get_qdisc_dumpit,
		.policy		= fcm_get_qdisc_nl_policy,
		.maxattr	= FCM_A_QDISC_MAX,
	},
};

struct genl_family fcm_nl_family = {
	.name		= FCM_FAMILY_NAME,
	.version	= FCM_FAMILY_VERSION,
	.netnsok	= true,
	.parallel_ops	= true,
	.module		= THIS_MODULE,
	.ops		= fcm_nl_ops,
	.n_ops		= ARRAY_SIZE(fcm_nl_ops),
};
