/* SPDX-License-Identifier: GPL-2.0 */
/* Do not edit directly, auto-generated from: netlinkproto/specs/ratekeeper.yaml */
/* by netlinkproto/gen: run `go generate ./...` after changing the spec. */

#ifndef _RATEKEEPER_NL_H
#define _RATEKEEPER_NL_H

#include <net/netlink.h>
#include <net/genetlink.h>

#include <uapi/linux/ratekeeper.h>

extern const struct nla_policy ratekeeper_opts_nl_policy[RATEKEEPER_A_OPTS_MAX + 1];
extern const struct nla_policy ratekeeper_sender_nl_policy[RATEKEEPER_A_SENDER_MAX + 1];
int ratekeeper_nl_get_qdisc_doit(struct sk_buff *skb, struct genl_info *info);
int ratekeeper_nl_get_qdisc_dumpit(struct sk_buff *skb, struct netlink_callback *cb);
int ratekeeper_nl_set_rate_doit(struct sk_buff *skb, struct genl_info *info);

extern const struct genl_ops ratekeeper_nl_ops[2];

enum {
	RATEKEEPER_NLGRP_EVENTS,
};

extern const struct genl_multicast_group ratekeeper_nl_mcgrps[1];

/* the family: the module registers it (genl_register_family) and puts replies with it */
extern struct genl_family ratekeeper_nl_family;

#endif /* _RATEKEEPER_NL_H */
