/* SPDX-License-Identifier: GPL-2.0 */
/* Do not edit directly, auto-generated from: netlinkproto/specs/fcm.yaml */
/* by netlinkproto/gen: run `go generate ./...` after changing the spec. */

#ifndef _FCM_NL_H
#define _FCM_NL_H

#include <net/netlink.h>
#include <net/genetlink.h>

#include <uapi/linux/fcm.h>

extern const struct nla_policy fcm_opts_nl_policy[FCM_A_OPTS_MAX + 1];
int fcm_nl_get_qdisc_doit(struct sk_buff *skb, struct genl_info *info);
int fcm_nl_get_qdisc_dumpit(struct sk_buff *skb, struct netlink_callback *cb);

extern const struct genl_ops fcm_nl_ops[1];

/* the family: the module registers it (genl_register_family) and puts replies with it */
extern struct genl_family fcm_nl_family;

#endif /* _FCM_NL_H */
