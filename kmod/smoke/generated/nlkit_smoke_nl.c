// SPDX-License-Identifier: GPL-2.0
/* Do not edit directly, auto-generated from: netlinkproto/specs/nlkit_smoke.yaml */
/* by netlinkproto/gen: run `go generate ./...` after changing the spec. */

#include <linux/module.h>
#include <net/netlink.h>
#include <net/genetlink.h>

#include "nlkit_smoke_nl.h"

#include <uapi/linux/nlkit_smoke.h>

/* GET_INFO - request attributes (all others are rejected) */
static const struct nla_policy nlkit_smoke_get_info_nl_policy[NLKIT_SMOKE_A_INFO_MAX + 1] = {
	[NLKIT_SMOKE_A_INFO_VERSION] = { .type = NLA_NUL_STRING, },
	[NLKIT_SMOKE_A_INFO_ABI] = { .type = NLA_U32, },
	[NLKIT_SMOKE_A_INFO_BUILD] = { .type = NLA_NUL_STRING, },
	[NLKIT_SMOKE_A_INFO_KERNEL] = { .type = NLA_NUL_STRING, },
};

/* GET_VALUE - request attributes (all others are rejected) */
static struct netlink_range_validation nlkit_smoke_a_value_value_range = {
	.min = 0,
	.max = 1000000,
};

static const struct nla_policy nlkit_smoke_get_value_nl_policy[NLKIT_SMOKE_A_VALUE_MAX + 1] = {
	[NLKIT_SMOKE_A_VALUE_VALUE] = NLA_POLICY_FULL_RANGE(NLA_U32, &nlkit_smoke_a_value_value_range),
	[NLKIT_SMOKE_A_VALUE_CHANGES] = { .type = NLA_U64, },
};

/* SET_VALUE - request attributes (all others are rejected) */
static const struct nla_policy nlkit_smoke_set_value_nl_policy[NLKIT_SMOKE_A_VALUE_MAX + 1] = {
	[NLKIT_SMOKE_A_VALUE_VALUE] = NLA_POLICY_FULL_RANGE(NLA_U32, &nlkit_smoke_a_value_value_range),
};

/* ADD_ITEMS - request attributes (all others are rejected) */
static const struct nla_policy nlkit_smoke_add_items_nl_policy[NLKIT_SMOKE_A_ITEM_MAX + 1] = {
	[NLKIT_SMOKE_A_ITEM_ID] = NLA_POLICY_MIN(NLA_U32, 1),
	[NLKIT_SMOKE_A_ITEM_LABEL] = { .type = NLA_NUL_STRING, .len = NLKIT_SMOKE_LABEL_MAX_LEN, },
	[NLKIT_SMOKE_A_ITEM_COUNT] = NLA_POLICY_RANGE(NLA_U32, 1, NLKIT_SMOKE_MAX_ITEMS),
};

/* DEL_ITEMS - request attributes (all others are rejected) */
static const struct nla_policy nlkit_smoke_del_items_nl_policy[NLKIT_SMOKE_A_ITEM_MAX + 1] = {
	[NLKIT_SMOKE_A_ITEM_ID] = NLA_POLICY_MIN(NLA_U32, 1),
};

/* GET_ITEM - request attributes (all others are rejected) */
static const struct nla_policy nlkit_smoke_get_item_nl_policy[NLKIT_SMOKE_A_ITEM_MAX + 1] = {
	[NLKIT_SMOKE_A_ITEM_ID] = NLA_POLICY_MIN(NLA_U32, 1),
};

/* Ops table for nlkit_smoke */
const struct genl_ops nlkit_smoke_nl_ops[6] = {
	{
		.cmd		= NLKIT_SMOKE_CMD_GET_INFO,
		.doit		= nlkit_smoke_nl_get_info_doit,
		.policy		= nlkit_smoke_get_info_nl_policy,
		.maxattr	= NLKIT_SMOKE_A_INFO_MAX,
	},
	{
		.cmd		= NLKIT_SMOKE_CMD_GET_VALUE,
		.doit		= nlkit_smoke_nl_get_value_doit,
		.policy		= nlkit_smoke_get_value_nl_policy,
		.maxattr	= NLKIT_SMOKE_A_VALUE_MAX,
	},
	{
		.cmd		= NLKIT_SMOKE_CMD_SET_VALUE,
		.doit		= nlkit_smoke_nl_set_value_doit,
		.policy		= nlkit_smoke_set_value_nl_policy,
		.maxattr	= NLKIT_SMOKE_A_VALUE_MAX,
		.flags		= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd		= NLKIT_SMOKE_CMD_ADD_ITEMS,
		.doit		= nlkit_smoke_nl_add_items_doit,
		.policy		= nlkit_smoke_add_items_nl_policy,
		.maxattr	= NLKIT_SMOKE_A_ITEM_MAX,
		.flags		= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd		= NLKIT_SMOKE_CMD_DEL_ITEMS,
		.doit		= nlkit_smoke_nl_del_items_doit,
		.policy		= nlkit_smoke_del_items_nl_policy,
		.maxattr	= NLKIT_SMOKE_A_ITEM_MAX,
		.flags		= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd		= NLKIT_SMOKE_CMD_GET_ITEM,
		.doit		= nlkit_smoke_nl_get_item_doit,
		.dumpit		= nlkit_smoke_nl_get_item_dumpit,
		.policy		= nlkit_smoke_get_item_nl_policy,
		.maxattr	= NLKIT_SMOKE_A_ITEM_MAX,
	},
};

const struct genl_multicast_group nlkit_smoke_nl_mcgrps[1] = {
	[NLKIT_SMOKE_NLGRP_EVENTS] = { "events", },
};

struct genl_family nlkit_smoke_nl_family = {
	.name		= NLKIT_SMOKE_FAMILY_NAME,
	.version	= NLKIT_SMOKE_FAMILY_VERSION,
	.netnsok	= true,
	.parallel_ops	= true,
	.module		= THIS_MODULE,
	.ops		= nlkit_smoke_nl_ops,
	.n_ops		= ARRAY_SIZE(nlkit_smoke_nl_ops),
	.mcgrps		= nlkit_smoke_nl_mcgrps,
	.n_mcgrps	= ARRAY_SIZE(nlkit_smoke_nl_mcgrps),
};
