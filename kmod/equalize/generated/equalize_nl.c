// SPDX-License-Identifier: GPL-2.0
/* Do not edit directly, auto-generated from: netlinkproto/specs/equalize.yaml */
/* by netlinkproto/gen: run `go generate ./...` after changing the spec. */

#include <linux/module.h>
#include <net/netlink.h>
#include <net/genetlink.h>

#include "equalize_nl.h"

#include <uapi/linux/equalize.h>

/* GET_STATUS - request attributes (all others are rejected) */
static const struct nla_policy equalize_get_status_nl_policy[EQUALIZE_A_STATUS_MAX + 1] = {
	[EQUALIZE_A_STATUS_PREFIXES] = { .type = NLA_U32, },
	[EQUALIZE_A_STATUS_HASHED4] = { .type = NLA_U64, },
	[EQUALIZE_A_STATUS_HASHED6] = { .type = NLA_U64, },
	[EQUALIZE_A_STATUS_POLICY4] = { .type = NLA_U8, },
	[EQUALIZE_A_STATUS_POLICY6] = { .type = NLA_U8, },
	[EQUALIZE_A_STATUS_WRONG_POLICY] = { .type = NLA_U64, },
};

/* ADD_PREFIX - request attributes (all others are rejected) */
static const struct nla_policy equalize_add_prefix_nl_policy[EQUALIZE_A_PREFIX_MAX + 1] = {
	[EQUALIZE_A_PREFIX_FAMILY] = { .type = NLA_U8, },
	[EQUALIZE_A_PREFIX_ADDR] = { .type = NLA_BINARY, },
	[EQUALIZE_A_PREFIX_LEN] = NLA_POLICY_MAX(NLA_U8, 128),
};

/* DEL_PREFIX - request attributes (all others are rejected) */
static const struct nla_policy equalize_del_prefix_nl_policy[EQUALIZE_A_PREFIX_MAX + 1] = {
	[EQUALIZE_A_PREFIX_FAMILY] = { .type = NLA_U8, },
	[EQUALIZE_A_PREFIX_ADDR] = { .type = NLA_BINARY, },
	[EQUALIZE_A_PREFIX_LEN] = NLA_POLICY_MAX(NLA_U8, 128),
};

/* GET_PREFIX - request attributes (all others are rejected) */
static const struct nla_policy equalize_get_prefix_nl_policy[EQUALIZE_A_PREFIX_MAX + 1] = {
	[EQUALIZE_A_PREFIX_FAMILY] = { .type = NLA_U8, },
	[EQUALIZE_A_PREFIX_ADDR] = { .type = NLA_BINARY, },
	[EQUALIZE_A_PREFIX_LEN] = NLA_POLICY_MAX(NLA_U8, 128),
};

/* Ops table for equalize */
const struct genl_ops equalize_nl_ops[4] = {
	{
		.cmd		= EQUALIZE_CMD_GET_STATUS,
		.doit		= equalize_nl_get_status_doit,
		.policy		= equalize_get_status_nl_policy,
		.maxattr	= EQUALIZE_A_STATUS_MAX,
	},
	{
		.cmd		= EQUALIZE_CMD_ADD_PREFIX,
		.doit		= equalize_nl_add_prefix_doit,
		.policy		= equalize_add_prefix_nl_policy,
		.maxattr	= EQUALIZE_A_PREFIX_MAX,
		.flags		= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd		= EQUALIZE_CMD_DEL_PREFIX,
		.doit		= equalize_nl_del_prefix_doit,
		.policy		= equalize_del_prefix_nl_policy,
		.maxattr	= EQUALIZE_A_PREFIX_MAX,
		.flags		= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd		= EQUALIZE_CMD_GET_PREFIX,
		.doit		= equalize_nl_get_prefix_doit,
		.dumpit		= equalize_nl_get_prefix_dumpit,
		.policy		= equalize_get_prefix_nl_policy,
		.maxattr	= EQUALIZE_A_PREFIX_MAX,
	},
};

struct genl_family equalize_nl_family = {
	.name		= EQUALIZE_FAMILY_NAME,
	.version	= EQUALIZE_FAMILY_VERSION,
	.netnsok	= true,
	.parallel_ops	= true,
	.module		= THIS_MODULE,
	.ops		= equalize_nl_ops,
	.n_ops		= ARRAY_SIZE(equalize_nl_ops),
};
