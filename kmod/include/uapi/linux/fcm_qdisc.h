/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause) */
/*
 * sch_fcm's xstats (tc -s qdisc show). Its options are the attribute set "opts" of
 * netlinkproto/specs/fcm.yaml (FCM_A_OPTS_* in linux/fcm.h).
 * Append only: tc plugins of older releases read a prefix of this struct.
 */
#ifndef _UAPI_LINUX_FCM_QDISC_H
#define _UAPI_LINUX_FCM_QDISC_H

#include <linux/types.h>

struct tc_fcm_xstats {
	__u64 modified;	/* TCP segments stamped with option 92 */
	__u64 passed;	/* TCP segments sent unmodified for lack of room */
	__u64 other;	/* packets that are not TCP segments, sent untouched */
	__u32 price;	/* p(q) of the last segment sent */
	__u32 id;	/* instance id (/proc/net/fcm_queue) */
};

#endif /* _UAPI_LINUX_FCM_QDISC_H */
