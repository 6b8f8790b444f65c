// SPDX-License-Identifier: GPL-2.0
/* Do not edit directly, auto-generated from: netlinkproto/specs/ustack.yaml */
/* by netlinkproto/gen: run `go generate ./...` after changing the spec. */

#include <linux/module.h>
#include <net/netlink.h>
#include <net/genetlink.h>

#include "ustack_nl.h"

#include <uapi/linux/ustack.h>

/* Common nested types */
const struct nla_policy ustack_stats_nl_policy[USTACK_A_STATS_MAX + 1] = {
	[USTACK_A_STATS_RX_PACKETS] = { .type = NLA_U64, },
	[USTACK_A_STATS_RX_BYTES] = { .type = NLA_U64, },
	[USTACK_A_STATS_RX_ERRORS] = { .type = NLA_U64, },
	[USTACK_A_STATS_RX_DROPPED] = { .type = NLA_U64, },
	[USTACK_A_STATS_TX_PACKETS] = { .type = NLA_U64, },
	[USTACK_A_STATS_TX_BYTES] = { .type = NLA_U64, },
	[USTACK_A_STATS_TX_ERRORS] = { .type = NLA_U64, },
	[USTACK_A_STATS_TX_DROPPED] = { .type = NLA_U64, },
	[USTACK_A_STATS_MULTICAST] = { .type = NLA_U64, },
};

/* Common nested types */
const struct nla_policy ustack_queue_nl_policy[USTACK_A_QUEUE_MAX + 1] = {
	[USTACK_A_QUEUE_INDEX] = NLA_POLICY_MAX(NLA_U32, 31),
	[USTACK_A_QUEUE_RX_PACKETS] = { .type = NLA_U64, },
	[USTACK_A_QUEUE_RX_BYTES] = { .type = NLA_U64, },
	[USTACK_A_QUEUE_TX_PACKETS] = { .type = NLA_U64, },
	[USTACK_A_QUEUE_TX_BYTES] = { .type = NLA_U64, },
};

/* GET_PORT - request attributes (all others are rejected) */
static const struct nla_policy ustack_get_port_nl_policy[USTACK_A_PORT_MAX + 1] = {
	[USTACK_A_PORT_IFINDEX] = NLA_POLICY_MIN(NLA_U32, 1),
	[USTACK_A_PORT_IFNAME] = { .type = NLA_NUL_STRING, .len = 15, },
};

/* NEW_PORT - request attributes (all others are rejected) */
static const struct nla_policy ustack_new_port_nl_policy[USTACK_A_PORT_MAX + 1] = {
	[USTACK_A_PORT_IFNAME] = { .type = NLA_NUL_STRING, .len = 15, },
	[USTACK_A_PORT_ADDRESS] = NLA_POLICY_EXACT_LEN(6),
	[USTACK_A_PORT_RX_QUEUES] = NLA_POLICY_RANGE(NLA_U32, 1, USTACK_MAX_QUEUES),
	[USTACK_A_PORT_TX_QUEUES] = NLA_POLICY_RANGE(NLA_U32, 1, USTACK_MAX_QUEUES),
	[USTACK_A_PORT_REMOVE_ON_CLOSE] = { .type = NLA_FLAG, },
};

/* DEL_PORT - request attributes (all others are rejected) */
static const struct nla_policy ustack_del_port_nl_policy[USTACK_A_PORT_MAX + 1] = {
	[USTACK_A_PORT_IFINDEX] = NLA_POLICY_MIN(NLA_U32, 1),
	[USTACK_A_PORT_IFNAME] = { .type = NLA_NUL_STRING, .len = 15, },
};

/* ATTACH - request attributes (all others are rejected) */
static const struct nla_policy ustack_attach_nl_policy[USTACK_A_PORT_MAX + 1] = {
	[USTACK_A_PORT_IFINDEX] = NLA_POLICY_MIN(NLA_U32, 1),
	[USTACK_A_PORT_IFNAME] = { .type = NLA_NUL_STRING, .len = 15, },
};

/* SET_STATS - request attributes (all others are rejected) */
static const struct nla_policy ustack_set_stats_nl_policy[USTACK_A_PORT_MAX + 1] = {
	[USTACK_A_PORT_IFINDEX] = NLA_POLICY_MIN(NLA_U32, 1),
	[USTACK_A_PORT_IFNAME] = { .type = NLA_NUL_STRING, .len = 15, },
	[USTACK_A_PORT_CARRIER] = NLA_POLICY_MAX(NLA_U8, 1),
	[USTACK_A_PORT_STATS] = NLA_POLICY_NESTED(ustack_stats_nl_policy),
	[USTACK_A_PORT_QUEUE] = NLA_POLICY_NESTED(ustack_queue_nl_policy),
};

/* Ops table for ustack */
const struct genl_ops ustack_nl_ops[5] = {
	{
		.cmd		= USTACK_CMD_GET_PORT,
		.doit		= ustack_nl_get_port_doit,
		.dumpit		= ustack_nl_get_port_dumpit,
		.policy		= ustack_get_port_nl_policy,
		.maxattr	= USTACK_A_PORT_MAX,
	},
	{
		.cmd		= USTACK_CMD_NEW_PORT,
		.doit		= ustack_nl_new_port_doit,
		.policy		= ustack_new_port_nl_policy,
		.maxattr	= USTACK_A_PORT_MAX,
		.flags		= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd		= USTACK_CMD_DEL_PORT,
		.doit		= ustack_nl_del_port_doit,
		.policy		= ustack_del_port_nl_policy,
		.maxattr	= USTACK_A_PORT_MAX,
		.flags		= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd		= USTACK_CMD_ATTACH,
		.doit		= ustack_nl_attach_doit,
		.policy		= ustack_attach_nl_policy,
		.maxattr	= USTACK_A_PORT_MAX,
		.flags		= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd		= USTACK_CMD_SET_STATS,
		.doit		= ustack_nl_set_stats_doit,
		.policy		= ustack_set_stats_nl_policy,
		.maxattr	= USTACK_A_PORT_MAX,
		.flags		= GENL_UNS_ADMIN_PERM,
	},
};

struct genl_family ustack_nl_family = {
	.name		= USTACK_FAMILY_NAME,
	.version	= USTACK_FAMILY_VERSION,
	.netnsok	= true,
	.parallel_ops	= true,
	.module		= THIS_MODULE,
	.ops		= ustack_nl_ops,
	.n_ops		= ARRAY_SIZE(ustack_nl_ops),
};
