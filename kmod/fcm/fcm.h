/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _FCM_H
#define _FCM_H

#include <linux/list.h>
#include <linux/skbuff.h>
#include <net/genetlink.h>
#include <net/pkt_sched.h>

#include <nlkit/qdiscs.h>
#include <uapi/linux/fcm.h>

struct fcm_config {
	u64 rate;	/* bytes/s */
	u32 limit;	/* bytes */
	u32 bval;
	u32 qmin;	/* packets */
	u16 exid;	/* 0: option 92; else the RFC 6994 form with this ExID */
	u8 split_gso;	/* 1: GSO packets segmented at enqueue; 0: stamped whole */
	u8 split_gso_set;	/* split_gso was configured; else it follows the rate */
};

/* Without a configured mode, GSO packets are split below 1 Gbit/s, where a 64 KB GSO
 * packet sent whole would be a burst of half a millisecond or more on the emulated link,
 * and its segments' prices would not be their own; from 1 Gbit/s on they go whole, at
 * tbf's per-packet cost. (sch_cake splits at every rate unless told, and recommends
 * no-split-gso for the fastest links.)
 */
#define FCM_SPLIT_GSO_BELOW	(1000ULL * 1000 * 1000 / 8)	/* bytes/s */

struct fcm_sched {
	struct Qdisc *sch;
	struct fcm_config cfg;
	struct qdisc_watchdog watchdog;
	u64 t_next;		/* ns: when the next packet may start */
	u32 id;			/* instance id, /proc/net/fcm_queue */
	u32 price;		/* p(q) of the last segment sent */
	u32 segs;		/* segments queued (a GSO packet counts its segments) */
	u64 modified, passed, other;
	struct nlkit_qdisc_node link;	/* on fcm_qdiscs */
};

/* What get-qdisc and /proc report of one qdisc. */
struct fcm_snapshot {
	u32 ifindex, handle, parent, id;
	char ifname[IFNAMSIZ];
	struct fcm_config cfg;
	u32 qlen, backlog, price;
	u64 modified, passed, other, packets, bytes, drops;
};

enum fcm_stamp_result {
	FCM_STAMPED,	/* option inserted */
	FCM_NO_ROOM,	/* a TCP segment with no room for it: sent unmodified */
	FCM_OTHER,	/* not a TCP segment (or not parseable as one): sent untouched */
};

extern struct nlkit_qdiscs fcm_qdiscs;

/* the segments skb counts for, in q and in the counters (a GSO packet from an untrusted
 * source may say 0)
 */
static inline unsigned int fcm_skb_segs(const struct sk_buff *skb)
{
	return skb_is_gso(skb) ? max_t(unsigned int, skb_shinfo(skb)->gso_segs, 1) : 1;
}

enum fcm_stamp_result fcm_stamp(struct sk_buff *skb, u16 price, u16 exid, unsigned int mtu,
			       unsigned int *segs);
u32 fcm_price(const struct fcm_config *c, u32 qlen);
void fcm_snapshot(struct fcm_sched *q, struct fcm_snapshot *s);
int fcm_put_opts(struct sk_buff *skb, int type, const struct fcm_config *c);
int fcm_genl_register(void);

void fcm_genl_unregister(void);

extern struct Qdisc_ops fcm_qdisc_ops;
extern struct pernet_operations fcm_net_ops;

/* selftest.c: the price and the stamp on hand-made segments, at load (NLKIT_SELFTEST) */
#ifdef NLKIT_SELFTEST
bool fcm_selftest(void);
#endif

#endif /* _FCM_H */
