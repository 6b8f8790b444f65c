/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers every nlkit generic netlink family uses. */
#ifndef _NLKIT_GENL_H
#define _NLKIT_GENL_H

#include <net/genetlink.h>

/*
 * nlkit_genl_require(info, type, msg): true when attribute @type is missing, after
 * setting both the extack message @msg (a string literal) and the missing-attribute
 * TLV, so every rejection carries words, not only an errno.
 */
#define nlkit_genl_require(info, type, msg) ({				\
	bool __missing = !(info)->attrs[(type)];			\
	if (__missing) {						\
		NL_SET_ERR_MSG((info)->extack, msg);			\
		NL_SET_ERR_ATTR_MISS((info)->extack, NULL, (type));	\
	}								\
	__missing;							\
})

/*
 * nlkit_dump_end(skb, err): what a dumpit that walks a list returns once its walk
 * stopped with @err (0: the list's end was reached). -EMSGSIZE with entries in @skb
 * means more to come, in the next call. At the list's end it returns 0 with the
 * entries still in @skb, so the core puts NLMSG_DONE in the same skb and the dump ends
 * in this call: returning skb->len would ask for one more call, and a list change
 * between the two (a qdisc added or deleted anywhere) would mark NLMSG_DONE
 * NLM_F_DUMP_INTR although every entry came from one walk under the list's lock.
 */
static inline int nlkit_dump_end(struct sk_buff *skb, int err)
{
	if (err == -EMSGSIZE && skb->len)
		return skb->len;
	return err;
}

/*
 * nlkit_nest_close(skb, nest, err): end @nest once its attributes are in, or cancel
 * it when putting them failed (@err); returns @err.
 */
static inline int nlkit_nest_close(struct sk_buff *skb, struct nlattr *nest, int err)
{
	if (err)
		nla_nest_cancel(skb, nest);
	else
		nla_nest_end(skb, nest);
	return err;
}

/*
 * nlkit_genl_reply(msg, info, err): the end of a doit that filled @msg for its reply:
 * the reply when filling it worked (@err 0), else @msg freed and @err returned.
 */
static inline int nlkit_genl_reply(struct sk_buff *msg, struct genl_info *info, int err)
{
	if (err) {
		nlmsg_free(msg);
		return err;
	}
	return genlmsg_reply(msg, info);
}

#endif /* _NLKIT_GENL_H */
