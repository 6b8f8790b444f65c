/* SPDX-License-Identifier: GPL-2.0 */
/* Do not edit directly, auto-generated from: netlinkproto/specs/fcm_receiver.yaml */
/* by netlinkproto/gen: run `go generate ./...` after changing the spec. */

#ifndef _FCM_RECEIVER_NL_H
#define _FCM_RECEIVER_NL_H

#include <net/netlink.h>
#include <net/genetlink.h>

#include <uapi/linux/fcm_receiver.h>

extern const struct nla_policy fcm_receiver_params_nl_policy[FCM_RECEIVER_A_PARAMS_MAX + 1];
int fcm_receiver_nl_get_receiver_doit(struct sk_buff *skb, struct genl_info *info);
int fcm_receiver_nl_set_receiver_doit(struct sk_buff *skb, struct genl_info *info);
int fcm_receiver_nl_get_conn_doit(struct sk_buff *skb, struct genl_info *info);
int fcm_receiver_nl_get_conn_dumpit(struct sk_buff *skb, struct netlink_callback *cb);

extern const struct genl_ops fcm_receiver_nl_ops[3];

/* the family: the module registers it (genl_register_family) and puts replies with it */
extern struct genl_family fcm_receiver_nl_family;

#endif /* _FCM_RECEIVER_NL_H */
