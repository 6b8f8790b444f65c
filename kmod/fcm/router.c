// SPDX-License-Identifier: GPL-2.0
/*
 * sch_fcm: the router half of FCM (a port of the University of Melbourne's FCM Router,
 * sch_qsize). A classless FIFO paced at cfg.rate, the outgoing link's rate, so the
 * queue forms here; drop-tail at cfg.limit bytes. On dequeue every TCP segment (IPv4
 * and IPv6) gets a TCP option carrying the queue's price p(q) = min(65535, bval *
 * max(0, q - qmin)), q the segments still queued behind it, as its first option
 * (stamp.c): kind 92, length 4, or with cfg.exid the RFC 6994 form (kind 253 with that
 * ExID, 8 bytes with its two NOPs). GSO packets are segmented at enqueue, as sch_cake
 * does, so every segment carries the price at its own dequeue (split-gso, the
 * default below 1 Gbit/s: fcm.h); with no-split-gso (the default from there on) a GSO
 * packet stays whole and is stamped once, its segments all carrying the price at its
 * dequeue (stamp.c), and the stack or the device segments it after the qdisc: the
 * per-packet cost of tbf, one price per GSO packet. q
 * counts segments either way. A segment with no room (the data offset would pass 60
 * bytes, or the packet the device MTU) is sent unmodified and counted.
 *
 * State is visible through tc -s (xstats), the genl family "fcm" (netlink.c), and
 * /proc/net/fcm_queue in the original's format, per network namespace.
 */

#include <linux/idr.h>
#include <linux/kernel.h>
#include <linux/math64.h>
#include <linux/module.h>
#include <linux/netdevice.h>
#include <linux/proc_fs.h>
#include <linux/rtnetlink.h>
#include <linux/seq_file.h>
#include <net/net_namespace.h>
#include <net/netlink.h>
#include <net/netns/generic.h>
#include <net/pkt_sched.h>

#include <nlkit/compat.h>
#include <nlkit/genl.h>
#include <nlkit/qdiscs.h>
#include <nlkit/sched.h>
#include <uapi/linux/fcm_qdisc.h>

#include "fcm.h"
#include "generated/fcm_nl.h"

#define FCM_DEFAULT_BVAL	10
#define FCM_DEFAULT_QMIN	30
#define FCM_CATCHUP_NS		(100 * NSEC_PER_MSEC)	/* most a late dequeue catches up */

/* every fcm qdisc, for the family's get and dump and /proc (nlkit/qdiscs.h) */
DEFINE_NLKIT_QDISCS(fcm_qdiscs);
/* Instance ids (/proc/net/fcm_queue's first column) are per netns: one namespace's
 * owner cannot use up another's.
 */
struct fcm_net {
	struct ida ids;
};

static unsigned int fcm_net_id;

static struct fcm_net *fcm_ids(struct net *net)
{
	return net_generic(net, fcm_net_id);
}

/* ---- datapath ------------------------------------------------------------------------- */

static int fcm_enqueue_one(struct sk_buff *skb, struct Qdisc *sch, struct sk_buff **to_free)
{
	struct fcm_sched *q = qdisc_priv(sch);

	if (unlikely(sch->qstats.backlog + qdisc_pkt_len(skb) > q->cfg.limit))
		return qdisc_drop(skb, sch, to_free);
	if (!sch->q.qlen) {
		/* the link was idle: its clock restarts now, with no credit banked */
		u64 now = ktime_get_ns();

		if (q->t_next < now)
			q->t_next = now;
	}
	q->segs += fcm_skb_segs(skb);
	return qdisc_enqueue_tail(skb, sch);
}

static int fcm_enqueue(struct sk_buff *skb, struct Qdisc *sch, struct sk_buff **to_free)
{
	struct fcm_sched *q = qdisc_priv(sch);
	netdev_features_t features;
	struct sk_buff *segs, *nskb;
	unsigned int len, slen = 0, n = 0;

	if (!skb_is_gso(skb) || !q->cfg.split_gso)
		return fcm_enqueue_one(skb, sch, to_free);

	/* one option per segment: split the GSO packet here (as sch_cake's split_gso) */
	len = qdisc_pkt_len(skb);
	features = netif_skb_features(skb);
	segs = skb_gso_segment(skb, features & ~NETIF_F_GSO_MASK);
	if (IS_ERR_OR_NULL(segs))
		return qdisc_drop(skb, sch, to_free);
	skb_list_walk_safe(segs, segs, nskb) {
		skb_mark_not_on_list(segs);
		qdisc_skb_cb(segs)->pkt_len = segs->len;
		if (fcm_enqueue_one(segs, sch, to_free) == NET_XMIT_SUCCESS) {
			n++;
			slen += segs->len;
		}
	}
	consume_skb(skb);
	if (!n)
		return NET_XMIT_DROP;	/* every segment was dropped (and counted) */
	/* our parents count one packet of len bytes: make it n of slen */
	qdisc_tree_reduce_backlog(sch, 1 - (int)n, (int)len - (int)slen);
	return NET_XMIT_SUCCESS;
}

static struct sk_buff *fcm_dequeue(struct Qdisc *sch)
{
	struct fcm_sched *q = qdisc_priv(sch);
	struct sk_buff *skb = qdisc_peek_head(sch);
	unsigned int segs;
	u64 now;

	if (!skb)
		return NULL;
	now = ktime_get_ns();
	if (now < q->t_next) {
		qdisc_watchdog_schedule_ns(&q->watchdog, q->t_next);
		qdisc_qstats_overlimit(sch);
		return NULL;
	}
	skb = qdisc_dequeue_head(sch);
	q->segs -= fcm_skb_segs(skb);
	/* While packets wait, the link's clock runs on: a late wake-up (a busy CPU, a
	 * descheduled vCPU, timer slack) is caught up, up to FCM_CATCHUP_NS, so the queue
	 * drains at rate over time whatever the timer did. An idle link banks nothing:
	 * the clock restarts when a packet arrives at an empty queue (enqueue above).
	 */
	q->t_next = max(q->t_next, now - min_t(u64, now, FCM_CATCHUP_NS)) +
		    div64_u64((u64)qdisc_pkt_len(skb) * NSEC_PER_SEC, q->cfg.rate);
	q->price = fcm_price(&q->cfg, q->segs);
	switch (fcm_stamp(skb, q->price, q->cfg.exid, READ_ONCE(qdisc_dev(sch)->mtu), &segs)) {
	case FCM_STAMPED:
		q->modified += segs;
		break;
	case FCM_NO_ROOM:
		q->passed += segs;
		break;
	case FCM_OTHER:
		q->other += segs;
		break;
	}
	return skb;
}

static void fcm_reset(struct Qdisc *sch)
{
	struct fcm_sched *q = qdisc_priv(sch);

	qdisc_reset_queue(sch);
	q->segs = 0;
	q->t_next = 0;
	qdisc_watchdog_cancel(&q->watchdog);
}

/* ---- configuration -------------------------------------------------------------------- */

/* Put c as a nest of type @type: TCA_OPTIONS, or the family's opts. */
int fcm_put_opts(struct sk_buff *skb, int type, const struct fcm_config *c)
{
	struct nlattr *nest = nla_nest_start(skb, type);

	if (!nest)
		return -EMSGSIZE;
	return nlkit_nest_close(skb, nest,
		nla_put_u64_64bit(skb, FCM_A_OPTS_RATE, c->rate, FCM_A_OPTS_UNSPEC) ||
		nla_put_u32(skb, FCM_A_OPTS_LIMIT, c->limit) ||
		nla_put_u32(skb, FCM_A_OPTS_BVAL, c->bval) ||
		nla_put_u32(skb, FCM_A_OPTS_QMIN, c->qmin) ||
		(c->exid && nla_put_u16(skb, FCM_A_OPTS_EXID, c->exid)) ||
		nla_put_u8(skb, FCM_A_OPTS_SPLIT_GSO, c->split_gso) ? -EMSGSIZE : 0);
}

static u32 fcm_auto_limit(u64 rate)
{
	/* 100 ms at rate, at least 64 KiB */
	return min_t(u64, max_t(u64, div_u64(rate, 10), 64 * 1024), 1U << 30);
}

static int fcm_parse(struct Qdisc *sch, struct nlattr *opt, struct fcm_config *c, bool create,
		     struct netlink_ext_ack *extack)
{
	struct fcm_sched *q = qdisc_priv(sch);
	struct nlattr *tb[FCM_A_OPTS_MAX + 1];
	int err;

	err = nlkit_parse_opts(tb, FCM_A_OPTS_MAX, opt, fcm_opts_nl_policy,
			       "fcm needs options: at least a rate", extack);
	if (err)
		return err;
	if (create) {
		memset(c, 0, sizeof(*c));
		c->bval = FCM_DEFAULT_BVAL;
		c->qmin = FCM_DEFAULT_QMIN;
		if (!tb[FCM_A_OPTS_RATE]) {
			NL_SET_ERR_MSG_ATTR(extack, opt, "rate is required (the outgoing link's rate)");
			return -EINVAL;
		}
	} else {
		*c = q->cfg;
	}
	if (tb[FCM_A_OPTS_RATE]) {
		c->rate = nla_get_u64(tb[FCM_A_OPTS_RATE]);
		if (c->rate < 1000) {
			NL_SET_ERR_MSG_ATTR(extack, tb[FCM_A_OPTS_RATE], "rate must be at least 8kbit");
			return -EINVAL;
		}
	}
	if (tb[FCM_A_OPTS_LIMIT])
		c->limit = nla_get_u32(tb[FCM_A_OPTS_LIMIT]);
	else if (create)
		c->limit = fcm_auto_limit(c->rate);
	if (tb[FCM_A_OPTS_BVAL])
		c->bval = nla_get_u32(tb[FCM_A_OPTS_BVAL]);
	if (tb[FCM_A_OPTS_QMIN])
		c->qmin = nla_get_u32(tb[FCM_A_OPTS_QMIN]);
	if (tb[FCM_A_OPTS_EXID])
		c->exid = nla_get_u16(tb[FCM_A_OPTS_EXID]);
	if (tb[FCM_A_OPTS_SPLIT_GSO]) {
		c->split_gso = nla_get_u8(tb[FCM_A_OPTS_SPLIT_GSO]);
		c->split_gso_set = 1;
	}
	if (!c->split_gso_set)
		c->split_gso = c->rate < FCM_SPLIT_GSO_BELOW;
	return 0;
}

static void fcm_apply(struct Qdisc *sch, const struct fcm_config *c)
{
	struct fcm_sched *q = qdisc_priv(sch);
	unsigned int dropped = 0, dropped_bytes = 0;

	sch_tree_lock(sch);
	if (q->cfg.rate && c->rate != q->cfg.rate) {
		/* The clock holds what the bytes already sent cost at the old rate: that cost
		 * follows the new rate, or a packet paced at 8 kbit/s would hold the queue for
		 * a minute after a change to 10 Gbit/s (found by the fuzzer: after 'tc qdisc
		 * replace ... rate 10gbit' the qdisc passed nothing). As ratekeeper's bucket.
		 */
		u64 now = ktime_get_ns();

		if (q->t_next > now) {
			q->t_next = now + min_t(u64, mul_u64_u64_div_u64(q->t_next - now, q->cfg.rate, c->rate),
						 NSEC_PER_SEC * 3600);
			if (sch->q.qlen)	/* the watchdog was set for the old deadline */
				qdisc_watchdog_schedule_ns(&q->watchdog, q->t_next);
		}
	}
	q->cfg = *c;
	while (sch->qstats.backlog > q->cfg.limit) {
		struct sk_buff *skb = qdisc_dequeue_head(sch);

		if (!skb)
			break;
		dropped++;
		dropped_bytes += qdisc_pkt_len(skb);
		q->segs -= fcm_skb_segs(skb);
		rtnl_qdisc_drop(skb, sch);
	}
	qdisc_tree_reduce_backlog(sch, dropped, dropped_bytes);
	sch_tree_unlock(sch);
}

static int fcm_change(struct Qdisc *sch, struct nlattr *opt, struct netlink_ext_ack *extack)
{
	struct fcm_config c;
	int err;

	err = fcm_parse(sch, opt, &c, false, extack);
	if (err)
		return err;
	fcm_apply(sch, &c);
	return 0;
}

static int fcm_init(struct Qdisc *sch, struct nlattr *opt, struct netlink_ext_ack *extack)
{
	struct fcm_sched *q = qdisc_priv(sch);
	struct fcm_config c;
	int id, err;

	/* everything destroy() undoes is set up before anything can fail */
	q->sch = sch;
	nlkit_qdisc_node_init(&q->link, sch);
	q->id = FCM_MAX_INSTANCES;
	qdisc_watchdog_init(&q->watchdog, sch);

	err = fcm_parse(sch, opt, &c, true, extack);
	if (err)
		return err;
	id = ida_alloc_max(&fcm_ids(qdisc_net(sch))->ids, FCM_MAX_INSTANCES - 1, GFP_KERNEL);
	if (id < 0) {
		NL_SET_ERR_MSG(extack, "at most 128 fcm qdiscs per network namespace");
		return -ENOSPC;
	}
	q->id = id;
	fcm_apply(sch, &c);
	nlkit_qdiscs_add(&fcm_qdiscs, &q->link);
	return 0;
}

static void fcm_destroy(struct Qdisc *sch)
{
	struct fcm_sched *q = qdisc_priv(sch);

	ASSERT_RTNL();
	qdisc_watchdog_cancel(&q->watchdog);
	nlkit_qdiscs_del(&fcm_qdiscs, &q->link);
	if (q->id < FCM_MAX_INSTANCES)
		ida_free(&fcm_ids(qdisc_net(sch))->ids, q->id);
	q->id = FCM_MAX_INSTANCES;
}

static int fcm_dump(struct Qdisc *sch, struct sk_buff *skb)
{
	struct fcm_sched *q = qdisc_priv(sch);
	struct fcm_config c;

	sch_tree_lock(sch);
	c = q->cfg;
	sch_tree_unlock(sch);
	return fcm_put_opts(skb, TCA_OPTIONS, &c);
}

static int fcm_dump_stats(struct Qdisc *sch, struct gnet_dump *d)
{
	struct fcm_sched *q = qdisc_priv(sch);
	struct tc_fcm_xstats st = { 0 };

	sch_tree_lock(sch);
	st.price = q->price;
	st.id = q->id;
	st.modified = q->modified;
	st.passed = q->passed;
	st.other = q->other;
	sch_tree_unlock(sch);
	return gnet_stats_copy_app(d, &st, sizeof(st));
}

/* A consistent copy of one qdisc's state; fcm_qdiscs.lock held (q is on it). The
 * name is copied without RTNL: a rename at that instant can give a mix of the two names
 * (a report's cosmetic fault; the ifindex is exact), never an unterminated one.
 */
void fcm_snapshot(struct fcm_sched *q, struct fcm_snapshot *s)
{
	struct Qdisc *sch = q->sch;
	struct net_device *dev = qdisc_dev(sch);
	spinlock_t *lock;

	lockdep_assert_held(&fcm_qdiscs.lock);
	memset(s, 0, sizeof(*s));
	s->ifindex = dev->ifindex;
	strscpy(s->ifname, dev->name, sizeof(s->ifname));
	s->handle = sch->handle;
	s->parent = sch->parent;
	s->id = q->id;
	lock = nlkit_tree_lock(sch);
	s->cfg = q->cfg;
	s->qlen = sch->q.qlen;
	s->backlog = sch->qstats.backlog;
	s->price = q->price;
	s->modified = q->modified;
	s->passed = q->passed;
	s->other = q->other;
	s->packets = u64_stats_read(&sch->bstats.packets);
	s->bytes = u64_stats_read(&sch->bstats.bytes);
	s->drops = sch->qstats.drops;
	nlkit_tree_unlock(lock);
}

/* ---- /proc/net/fcm_queue: the original's format, per netns ----------------------------- */

static int fcm_proc_show(struct seq_file *seq, void *v)
{
	struct net *net = seq_file_single_net(seq);
	struct nlkit_qdisc_node *n;
	struct fcm_snapshot s;

	seq_puts(seq, "id queue_packets queue_bytes p(q) packets_passed packets_modified maxrate bval q_min limit\n");
	mutex_lock(&fcm_qdiscs.lock);
	nlkit_qdiscs_for_each(n, &fcm_qdiscs, net) {
		fcm_snapshot(container_of(n, struct fcm_sched, link), &s);
		/* maxrate in kbit/s, as the original's module parameter */
		seq_printf(seq, "%u %u %u %u %llu %llu %llu %u %u %u\n", s.id, s.qlen, s.backlog, s.price,
			   s.passed, s.modified, div_u64(s.cfg.rate * 8, 1000), s.cfg.bval, s.cfg.qmin,
			   s.cfg.limit);
	}
	mutex_unlock(&fcm_qdiscs.lock);
	return 0;
}

static int __net_init fcm_net_init(struct net *net)
{
	ida_init(&fcm_ids(net)->ids);
	if (!proc_create_net_single("fcm_queue", 0444, net->proc_net, fcm_proc_show, NULL))
		return -ENOMEM;
	return 0;
}

static void __net_exit fcm_net_exit(struct net *net)
{
	remove_proc_entry("fcm_queue", net->proc_net);
	/* the namespace's devices, and their qdiscs, are gone by now */
	ida_destroy(&fcm_ids(net)->ids);
}

struct pernet_operations fcm_net_ops = {
	.init = fcm_net_init,
	.exit = fcm_net_exit,
	.id = &fcm_net_id,
	.size = sizeof(struct fcm_net),
};

struct Qdisc_ops fcm_qdisc_ops __read_mostly = {
	.id		= "fcm",
	.priv_size	= sizeof(struct fcm_sched),
	.enqueue	= fcm_enqueue,
	.dequeue	= fcm_dequeue,
	.peek		= qdisc_peek_dequeued,
	.init		= fcm_init,
	.reset		= fcm_reset,
	.destroy	= fcm_destroy,
	.change		= fcm_change,
	.dump		= fcm_dump,
	.dump_stats	= fcm_dump_stats,
	.owner		= THIS_MODULE,
};
