/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause) */
/*
 * sch_ratekeeper's xstats (tc -s qdisc show). Its options are the attribute set "opts"
 * of netlinkproto/specs/ratekeeper.yaml (RATEKEEPER_A_OPTS_* in linux/ratekeeper.h).
 * Append only: tc plugins of older releases read a prefix of this struct.
 */
#ifndef _UAPI_LINUX_RATEKEEPER_QDISC_H
#define _UAPI_LINUX_RATEKEEPER_QDISC_H

#include <linux/types.h>

struct tc_ratekeeper_xstats {
	__u64 rate;		/* current shaping rate, bytes/s */
	__u64 measured;		/* measured arrival rate (EWMA), bytes/s */
	__u64 link_load;	/* measured rate of the qdisc's group, bytes/s */
	__u64 events;		/* congestion events sent */
	__u64 events_suppressed; /* events held back by event-gap */
	__u32 severity;
	__u32 congested;	/* 1 when the group's link is above its high mark */
};

#endif /* _UAPI_LINUX_RATEKEEPER_QDISC_H */
