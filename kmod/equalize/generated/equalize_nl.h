/* SPDX-License-Identifier: GPL-2.0 */
/* Do not edit directly, auto-generated from: netlinkproto/specs/equalize.yaml */
/* by netlinkproto/gen: run `go generate ./...` after changing the spec. */

#ifndef _EQUALIZE_NL_H
#define _EQUALIZE_NL_H

#include <net/netlink.h>
#include <net/genetlink.h>

#include <uapi/linux/equalize.h>

int equalize_nl_get_status_doit(struct sk_buff *skb, struct genl_info *info);
int equalize_nl_add_prefix_doit(struct sk_buff *skb, struct genl_info *info);
int equalize_nl_del_prefix_doit(struct sk_buff *skb, struct genl_info *info);
int equalize_nl_get_prefix_doit(struct sk_buff *skb, struct genl_info *info);
int equalize_nl_get_prefix_dumpit(struct sk_buff *skb, struct netlink_callback *cb);

extern const struct genl_ops equalize_nl_ops[4];

/* the family: the module registers it (genl_register_family) and puts replies with it */
extern struct genl_family equalize_nl_family;

#endif /* _EQUALIZE_NL_H */
