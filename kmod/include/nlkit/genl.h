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

#endif /* _NLKIT_GENL_H */
