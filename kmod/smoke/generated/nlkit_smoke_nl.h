/* SPDX-License-Identifier: GPL-2.0 */
/* Do not edit directly, auto-generated from: netlinkproto/specs/nlkit_smoke.yaml */
/* by netlinkproto/gen: run `go generate ./...` after changing the spec. */

#ifndef _NLKIT_SMOKE_NL_H
#define _NLKIT_SMOKE_NL_H

#include <net/netlink.h>
#include <net/genetlink.h>

#include <uapi/linux/nlkit_smoke.h>

int nlkit_smoke_nl_get_info_doit(struct sk_buff *skb, struct genl_info *info);
int nlkit_smoke_nl_get_value_doit(struct sk_buff *skb, struct genl_info *info);
int nlkit_smoke_nl_set_value_doit(struct sk_buff *skb, struct genl_info *info);
int nlkit_smoke_nl_add_items_doit(struct sk_buff *skb, struct genl_info *info);
int nlkit_smoke_nl_del_items_doit(struct sk_buff *skb, struct genl_info *info);
int nlkit_smoke_nl_get_item_doit(struct sk_buff *skb, struct genl_info *info);
int nlkit_smoke_nl_get_item_dumpit(struct sk_buff *skb, struct netlink_callback *cb);

extern const struct genl_ops nlkit_smoke_nl_ops[6];

enum {
	NLKIT_SMOKE_NLGRP_EVENTS,
};

extern const struct genl_multicast_group nlkit_smoke_nl_mcgrps[1];

/* the family: the module registers it (genl_register_family) and puts replies with it */
extern struct genl_family nlkit_smoke_nl_family;

#endif /* _NLKIT_SMOKE_NL_H */
