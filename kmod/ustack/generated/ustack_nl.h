/* SPDX-License-Identifier: GPL-2.0 */
/* Do not edit directly, auto-generated from: netlinkproto/specs/ustack.yaml */
/* by netlinkproto/gen: run `go generate ./...` after changing the spec. */

#ifndef _USTACK_NL_H
#define _USTACK_NL_H

#include <net/netlink.h>
#include <net/genetlink.h>

#include <uapi/linux/ustack.h>

extern const struct nla_policy ustack_stats_nl_policy[USTACK_A_STATS_MAX + 1];
extern const struct nla_policy ustack_queue_nl_policy[USTACK_A_QUEUE_MAX + 1];
int ustack_nl_get_port_doit(struct sk_buff *skb, struct genl_info *info);
int ustack_nl_get_port_dumpit(struct sk_buff *skb, struct netlink_callback *cb);
int ustack_nl_new_port_doit(struct sk_buff *skb, struct genl_info *info);
int ustack_nl_del_port_doit(struct sk_buff *skb, struct genl_info *info);
int ustack_nl_attach_doit(struct sk_buff *skb, struct genl_info *info);
int ustack_nl_set_stats_doit(struct sk_buff *skb, struct genl_info *info);

extern const struct genl_ops ustack_nl_ops[5];

/* the family: the module registers it (genl_register_family) and puts replies with it */
extern struct genl_family ustack_nl_family;

#endif /* _USTACK_NL_H */
