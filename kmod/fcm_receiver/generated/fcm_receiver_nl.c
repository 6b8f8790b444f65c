// SPDX-License-Identifier: GPL-2.0
/* Do not edit directly, auto-generated from: netlinkproto/specs/fcm_receiver.yaml */
/* by netlinkproto/gen: run `go generate ./...` after changing the spec. */

#include <linux/module.h>
#include <net/netlink.h>
#include <net/genetlink.h>

#include "fcm_receiver_nl.h"

#include <uapi/linux/fcm_receiver.h>

/* Common nested types */
static struct netlink_range_validation fcm_receiver_a_params_idle_timeout_range = {
	.min = 1,
	.max = 86400,
};

static struct netlink_range_validation fcm_receiver_a_params_max_conns_range = {
	.min = 1,
	.max = 4194304,
};

const struct nla_policy fcm_receiver_params_nl_policy[FCM_RECEIVER_A_PARAMS_MAX + 1] = {
	[FCM_RECEIVER_A_PARAMS_ENABLED] = NLA_POLICY_MAX(NLA_U8, 1),
	[FCM_RECEIVER_A_PARAMS_ALPHA] = NLA_POLICY_RANGE(NLA_U32, 1, 100),
	[FCM_RECEIVER_A_PARAMS_TAU] = NLA_POLICY_RANGE(NLA_U32, 1, 100),
	[FCM_RECEIVER_A_PARAMS_PS_THRESH] = NLA_POLICY_MAX(NLA_U32, 10000),
	[FCM_RECEIVER_A_PARAMS_WEIGHT] = NLA_POLICY_MIN(NLA_U32, 1),
	[FCM_RECEIVER_A_PARAMS_MSS_DELTA] = NLA_POLICY_MAX(NLA_U32, 256),
	[FCM_RECEIVER_A_PARAMS_MAX_CONNS] = NLA_POLICY_FULL_RANGE(NLA_U32, &fcm_receiver_a_params_max_conns_range),
	[FCM_RECEIVER_A_PARAMS_IDLE_TIMEOUT] = NLA_POLICY_FULL_RANGE(NLA_U32, &fcm_receiver_a_params_idle_timeout_range),
	[FCM_RECEIVER_A_PARAMS_EXID] = { .type = NLA_U16, },
};

/* GET_RECEIVER - request attributes (all others are rejected) */
static const struct nla_policy fcm_receiver_get_receiver_nl_policy[FCM_RECEIVER_A_RECEIVER_MAX + 1] = {
	[FCM_RECEIVER_A_RECEIVER_PARAMS] = NLA_POLICY_NESTED(fcm_receiver_params_nl_policy),
	[FCM_RECEIVER_A_RECEIVER_CONNS] = { .type = NLA_U32, },
	[FCM_RECEIVER_A_RECEIVER_TRACKED] = { .type = NLA_U64, },
	[FCM_RECEIVER_A_RECEIVER_TABLE_FULL] = { .type = NLA_U64, },
	[FCM_RECEIVER_A_RECEIVER_PRICED] = { .type = NLA_U64, },
	[FCM_RECEIVER_A_RECEIVER_MALFORMED] = { .type = NLA_U64, },
	[FCM_RECEIVER_A_RECEIVER_LOWERED] = { .type = NLA_U64, },
	[FCM_RECEIVER_A_RECEIVER_MSS_LOWERED] = { .type = NLA_U64, },
	[FCM_RECEIVER_A_RECEIVER_EXPIRED] = { .type = NLA_U64, },
};

/* SET_RECEIVER - request attributes (all others are rejected) */
static const struct nla_policy fcm_receiver_set_receiver_nl_policy[FCM_RECEIVER_A_RECEIVER_MAX + 1] = {
	[FCM_RECEIVER_A_RECEIVER_PARAMS] = NLA_POLICY_NESTED(fcm_receiver_params_nl_policy),
};

/* GET_CONN - request attributes (all others are rejected) */
static const struct nla_policy fcm_receiver_get_conn_nl_policy[FCM_RECEIVER_A_CONN_MAX + 1] = {
	[FCM_RECEIVER_A_CONN_FAMILY] = { .type = NLA_U8, },
	[FCM_RECEIVER_A_CONN_LOCAL] = { .type = NLA_BINARY, },
	[FCM_RECEIVER_A_CONN_REMOTE] = { .type = NLA_BINARY, },
	[FCM_RECEIVER_A_CONN_LPORT] = { .type = NLA_U16, },
	[FCM_RECEIVER_A_CONN_RPORT] = { .type = NLA_U16, },
};

/* Ops table for fcm_receiver */
const struct genl_ops fcm_receiver_nl_ops[3] = {
	{
		.cmd		= FCM_RECEIVER_CMD_GET_RECEIVER,
		.doit		= fcm_receiver_nl_get_receiver_doit,
		.policy		= fcm_receiver_get_receiver_nl_policy,
		.maxattr	= FCM_RECEIVER_A_RECEIVER_MAX,
	},
	{
		.cmd		= FCM_RECEIVER_CMD_SET_RECEIVER,
		.doit		= fcm_receiver_nl_set_receiver_doit,
		.policy		= fcm_receiver_set_receiver_nl_policy,
		.maxattr	= FCM_RECEIVER_A_RECEIVER_MAX,
		.flags		= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd		= FCM_RECEIVER_CMD_GET_CONN,
		.doit		= fcm_receiver_nl_get_conn_doit,
		.dumpit		= fcm_receiver_nl_get_conn_dumpit,
		.policy		= fcm_receiver_get_conn_nl_policy,
		.maxattr	= FCM_RECEIVER_A_CONN_MAX,
	},
};

struct genl_family fcm_receiver_nl_family = {
	.name		= FCM_RECEIVER_FAMILY_NAME,
	.version	= FCM_RECEIVER_FAMILY_VERSION,
	.netnsok	= true,
	.parallel_ops	= true,
	.module		= THIS_MODULE,
	.ops		= fcm_receiver_nl_ops,
	.n_ops		= ARRAY_SIZE(fcm_receiver_nl_ops),
};
