// SPDX-License-Identifier: GPL-2.0
/*
 * sch_ratekeeper: tenant bandwidth guarantees (a port of HP's ratekeeper, "Gatekeeper",
 * HPL-2010-151, with no kernel patch).
 *
 * A classless qdisc that does two jobs:
 *  - it shapes what it carries to cfg.rate with a token bucket (counted in ns of
 *    transmission time, burst bytes deep, paced with the qdisc watchdog); the
 *    ratekeeper daemon moves that rate between min-rate (the tenant's guarantee) and
 *    max-rate through the genl family;
 *  - it measures what arrives every interval (rate EWMA with weight 1/2, bytes per
 *    sender in a small space-saving table) and detects congestion the way the original
 *    meant to: qdiscs of one group share a host link whose capacity is linkrate; when
 *    the group's load reaches highmark percent of it and this tenant receives more than
 *    its guarantee for RATEKEEPER_OVER_INTERVALS intervals in a row, the severity rises
 *    by one (up to RATEKEEPER_SEVERITY_MAX); RATEKEEPER_UNDER_INTERVALS intervals
 *    otherwise lower it by one. While congested, over the guarantee and with a
 *    severity, the heaviest senders are multicast to the family's events group, at
 *    most once per event-gap (the original upcalled every interval).
 *
 * No floating point: rates are integers in bytes/s, the EWMA is a shift.
 */

#include <linux/etherdevice.h>
#include <linux/if_arp.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/jhash.h>
#include <linux/kernel.h>
#include <linux/math64.h>
#include <linux/module.h>
#include <linux/rtnetlink.h>
#include <linux/skbuff.h>
#include <net/ipv6.h>
#include <net/netlink.h>
#include <net/pkt_sched.h>

#include <nlkit/compat.h>
#include <nlkit/genl.h>
#include <nlkit/qdiscs.h>
#include <nlkit/sched.h>
#include <uapi/linux/ratekeeper_qdisc.h>

#include "ratekeeper.h"
#include "generated/ratekeeper_nl.h"

#define RK_DEFAULT_INTERVAL_US	10000	/* 10 ms */
#define RK_DEFAULT_HIGHMARK	90	/* percent */
#define RK_DEFAULT_EVENT_GAP_MS	100

/* every ratekeeper qdisc, for the family's get and dump (nlkit/qdiscs.h) */
DEFINE_NLKIT_QDISCS(rk_qdiscs);
static LIST_HEAD(rk_groups);	/* RTNL */

/* ---- groups: the qdiscs that share one host link ------------------------------------ */

static struct rk_group *rk_group_get(struct net *net, u32 id)
{
	struct rk_group *g;

	ASSERT_RTNL();
	list_for_each_entry(g, &rk_groups, node)
		if (g->id == id && net_eq(read_pnet(&g->net), net))
			return g;
	g = kzalloc(sizeof(*g), GFP_KERNEL_ACCOUNT);
	if (!g)
		return NULL;
	g->id = id;
	write_pnet(&g->net, net);
	INIT_LIST_HEAD(&g->members);
	list_add(&g->node, &rk_groups);
	return g;
}

static void rk_group_put_if_empty(struct rk_group *g)
{
	ASSERT_RTNL();
	if (g && list_empty(&g->members)) {
		list_del(&g->node);
		kfree_rcu(g, rcu);
	}
}

/* The measured rate of q as of now: an idle qdisc's EWMA halves every interval. */
static u64 rk_decayed(const struct rk_sched *q, u64 now)
{
	u64 m = READ_ONCE(q->measured);
	u64 at = READ_ONCE(q->measured_at);
	u64 ival = (u64)READ_ONCE(q->cfg.interval_us) * NSEC_PER_USEC;
	u64 n;

	if (!ival || now <= at + ival)
		return m;	/* (no interval: not configured yet) */
	n = div64_u64(now - at, ival);
	return n >= 64 ? 0 : m >> n;
}

/* Sum of the group's measured rates; caller holds an RCU read lock (any flavour). */
static u64 rk_group_load(struct rk_group *g, u64 now)
{
	struct rk_sched *m;
	u64 sum = 0;

	list_for_each_entry_rcu(m, &g->members, group_node)
		sum += rk_decayed(m, now);
	return sum;
}

/* ---- monitor ------------------------------------------------------------------------ */

static void rk_sender_key(struct sk_buff *skb, struct in6_addr *addr, u8 *mac)
{
	memset(addr, 0, sizeof(*addr));
	eth_zero_addr(mac);

	if (skb_mac_header_was_set(skb) && skb_mac_offset(skb) >= 0 &&
	    skb->dev && skb->dev->type == ARPHRD_ETHER) {
		struct ethhdr _eh;
		const struct ethhdr *eh;

		eh = skb_header_pointer(skb, skb_mac_offset(skb), sizeof(_eh), &_eh);
		if (eh)
			ether_addr_copy(mac, eh->h_source);
	}
	if (skb_network_offset(skb) < 0)
		return;
	switch (skb->protocol) {
	case htons(ETH_P_IP): {
		struct iphdr _iph;
		const struct iphdr *iph;

		iph = skb_header_pointer(skb, skb_network_offset(skb), sizeof(_iph), &_iph);
		if (iph && iph->version == 4)
			ipv6_addr_set_v4mapped(iph->saddr, addr);
		break;
	}
	case htons(ETH_P_IPV6): {
		struct ipv6hdr _ip6h;
		const struct ipv6hdr *ip6h;

		ip6h = skb_header_pointer(skb, skb_network_offset(skb), sizeof(_ip6h), &_ip6h);
		if (ip6h && ip6h->version == 6)
			*addr = ip6h->saddr;
		break;
	}
	}
}

/* Space-saving accounting: a sender that finds no slot takes the lightest one probed. */
static void rk_account_sender(struct rk_sched *q, struct sk_buff *skb, unsigned int len)
{
	struct rk_sender *s, *victim = NULL;
	struct in6_addr addr;
	u8 mac[ETH_ALEN];
	u32 h;
	int i;

	rk_sender_key(skb, &addr, mac);
	h = jhash2((const u32 *)&addr, 4, ((u32)mac[2] << 24 | (u32)mac[3] << 16 |
					    (u32)mac[4] << 8 | mac[5]));
	for (i = 0; i < RK_PROBES; i++) {
		s = &q->slots[(h + i) % RK_SLOTS];
		if (!s->bytes) {
			s->addr = addr;
			ether_addr_copy(s->mac, mac);
			s->bytes = len;
			return;
		}
		if (ipv6_addr_equal(&s->addr, &addr) && ether_addr_equal(s->mac, mac)) {
			s->bytes += len;
			return;
		}
		if (!victim || s->bytes < victim->bytes)
			victim = s;
	}
	victim->addr = addr;
	ether_addr_copy(victim->mac, mac);
	victim->bytes += len;
}

/* Keep the heaviest senders of the interval that just ended, heaviest first. */
static void rk_take_top(struct rk_sched *q, u64 elapsed)
{
	u32 n = 0;
	int i, j;

	for (i = 0; i < RK_SLOTS; i++) {
		struct rk_sender *s = &q->slots[i];

		if (!s->bytes)
			continue;
		/* insertion into top[], sorted by bytes */
		for (j = n; j > 0 && q->top[j - 1].bytes < s->bytes; j--)
			if (j < RATEKEEPER_TOP_SENDERS)
				q->top[j] = q->top[j - 1];
		if (j < RATEKEEPER_TOP_SENDERS) {
			q->top[j] = *s;
			if (n < RATEKEEPER_TOP_SENDERS)
				n++;
		}
	}
	for (i = 0; i < n; i++)
		q->top[i].rate = mul_u64_u64_div_u64(q->top[i].bytes, NSEC_PER_SEC, elapsed);
	q->ntop = n;
	memset(q->slots, 0, sizeof(q->slots));
}

static void rk_event(struct rk_sched *q, u64 now)
{
	u64 gap = (u64)q->cfg.event_gap_ms * NSEC_PER_MSEC;

	if ((q->last_event && now - q->last_event < gap) || READ_ONCE(q->event_pending)) {
		q->events_suppressed++;
		return;
	}
	q->last_event = now;
	q->events++;
	spin_lock(&q->event_lock);
	rk_snapshot_locked(q, &q->event, now);
	q->event_pending = true;
	spin_unlock(&q->event_lock);
	schedule_work(&q->event_work);
}

static void rk_detect(struct rk_sched *q, u64 now, u64 n)
{
	bool over = q->measured > q->cfg.min_rate;
	struct rk_group *g = q->group;

	if (!g) {
		q->congested = false;
		q->link_load = q->measured;
	} else {
		q->link_load = rk_group_load(g, now);
		q->congested = q->link_load >=
			mul_u64_u32_div(q->cfg.linkrate, q->cfg.highmark, 100);
	}
	if (q->congested && over) {
		q->under_run = 0;
		if (++q->over_run >= RATEKEEPER_OVER_INTERVALS) {
			q->over_run = 0;
			if (q->severity < RATEKEEPER_SEVERITY_MAX)
				q->severity++;
		}
		if (q->severity)
			rk_event(q, now);
		return;
	}
	q->over_run = 0;
	q->under_run += min_t(u64, n, RATEKEEPER_UNDER_INTERVALS * RATEKEEPER_SEVERITY_MAX);
	while (q->under_run >= RATEKEEPER_UNDER_INTERVALS) {
		q->under_run -= RATEKEEPER_UNDER_INTERVALS;
		if (q->severity)
			q->severity--;
	}
}

/* Close the measurement interval if it is over (n intervals may have passed idle). */
static void rk_roll(struct rk_sched *q, u64 now)
{
	u64 ival = (u64)q->cfg.interval_us * NSEC_PER_USEC;
	u64 elapsed, inst, n, m;

	/* now must be read under the qdisc lock: a time read before it may be older than
	 * the interval another CPU's enqueue just started (elapsed would wrap around)
	 */
	if (now < q->ival_start)
		return;
	elapsed = now - q->ival_start;
	if (elapsed < ival)
		return;
	inst = mul_u64_u64_div_u64(q->ival_bytes, NSEC_PER_SEC, elapsed);
	n = div64_u64(elapsed, ival);
	/* EWMA with weight 1/2 per interval: m = inst + (m - inst) / 2^n */
	m = q->measured;
	if (n >= 64)
		m = inst;
	else if (m >= inst)
		m = inst + ((m - inst) >> n);
	else
		m = inst - ((inst - m) >> n);
	WRITE_ONCE(q->measured, m);
	WRITE_ONCE(q->measured_at, now);
	rk_take_top(q, elapsed);
	q->ival_start = now;
	q->ival_bytes = 0;
	rk_detect(q, now, n);
}

/* ---- snapshots (genl replies, events) ------------------------------------------------ */

/* Caller holds the qdisc root lock (or sch_tree_lock); possibly in softirq (an event),
 * where the device's name may be changing: only rk_snapshot() copies it.
 */
void rk_snapshot_locked(struct rk_sched *q, struct rk_snapshot *s, u64 now)
{
	struct Qdisc *sch = q->sch;
	struct net_device *dev = qdisc_dev(sch);

	s->ifindex = dev->ifindex;
	s->ifname[0] = '\0';
	s->handle = sch->handle;
	s->parent = sch->parent;
	s->cfg = q->cfg;
	s->measured = rk_decayed(q, now);
	s->link_load = q->group ? rk_group_load(q->group, now) : s->measured;
	s->congested = q->congested;
	s->severity = q->severity;
	s->packets = u64_stats_read(&sch->bstats.packets);
	s->bytes = u64_stats_read(&sch->bstats.bytes);
	s->drops = sch->qstats.drops;
	s->overlimits = sch->qstats.overlimits;
	s->backlog = sch->qstats.backlog;
	s->qlen = sch->q.qlen;
	s->events = q->events;
	s->events_suppressed = q->events_suppressed;
	s->time = now;
	s->ntop = q->ntop;
	memcpy(s->top, q->top, sizeof(s->top));
}

/* Caller holds rk_qdiscs.lock (q is on it). The name is copied without RTNL: a
 * rename at that instant can give a mix of the two names (a report's cosmetic fault;
 * the ifindex is exact), never an unterminated one.
 */
void rk_snapshot(struct rk_sched *q, struct rk_snapshot *s)
{
	spinlock_t *lock;
	u64 now;

	lockdep_assert_held(&rk_qdiscs.lock);
	lock = nlkit_tree_lock(q->sch);
	now = ktime_get_ns();	/* under the lock: see rk_roll() */
	rk_roll(q, now);	/* an idle qdisc's state moves on when it is read */
	rk_snapshot_locked(q, s, now);
	nlkit_tree_unlock(lock);
	strscpy(s->ifname, qdisc_dev(q->sch)->name, sizeof(s->ifname));
}

/* ---- shaper -------------------------------------------------------------------------- */

static void rk_set_rate_locked(struct rk_sched *q, u64 rate)
{
	struct tc_ratespec rs = { .linklayer = TC_LINKLAYER_ETHERNET };
	struct net_device *dev = qdisc_dev(q->sch);
	u64 burst = q->cfg.burst, old = q->cfg.rate;

	if (old && old != rate) {
		/* The bucket counts time at the old rate. A debt is bytes already sent: what
		 * it costs in time follows the new rate, or a packet sent at 1 byte/s would
		 * hold the queue for hours after a change to 100 Mbit/s (found by the fuzzer:
		 * the qdisc passed nothing after 'tc qdisc replace ... rate 20mbit').
		 */
		u64 now = ktime_get_ns();
		s64 toks = min_t(s64, q->tokens + (s64)(now - q->t_c), q->burst_ns);

		if (toks < 0)
			toks = -(s64)min_t(u64, mul_u64_u64_div_u64(-toks, old, rate), S64_MAX);
		q->tokens = toks;
		q->t_c = now;
	}
	q->cfg.rate = rate;
	psched_ratecfg_precompute(&q->rcfg, &rs, rate);
	if (!burst)	/* auto: 10 ms at the rate, at least two full frames */
		burst = max_t(u64, div_u64(rate, 100), 2 * (dev->mtu + dev->hard_header_len));
	q->burst_ns = psched_l2t_ns(&q->rcfg, min_t(u64, burst, UINT_MAX));
	if (q->tokens > q->burst_ns)
		q->tokens = q->burst_ns;
}

/* Caller holds RTNL. */
int rk_set_rate(struct rk_sched *q, u64 rate, struct netlink_ext_ack *extack)
{
	ASSERT_RTNL();
	if (rate < q->cfg.min_rate || rate > q->cfg.max_rate) {
		NL_SET_ERR_MSG(extack, "rate is outside this qdisc's min-rate..max-rate");
		return -ERANGE;
	}
	sch_tree_lock(q->sch);
	rk_set_rate_locked(q, rate);
	sch_tree_unlock(q->sch);
	return 0;
}

static u32 rk_auto_limit(u64 rate)
{
	/* 100 ms at max-rate, at least 128 KiB (two 64 KiB GSO packets) */
	return min_t(u64, max_t(u64, div_u64(rate, 10), 128 * 1024), 1U << 30);
}

/* A GSO packet larger than the whole queue limit could never be queued: queue its
 * segments instead (as tbf does with packets above its burst), each against the limit.
 */
static int rk_enqueue_segments(struct sk_buff *skb, struct Qdisc *sch, struct sk_buff **to_free)
{
	struct rk_sched *q = qdisc_priv(sch);
	unsigned int len = qdisc_pkt_len(skb), slen = 0;
	netdev_features_t features = netif_skb_features(skb);
	struct sk_buff *segs, *nskb;
	int n = 0;

	segs = skb_gso_segment(skb, features & ~NETIF_F_GSO_MASK);
	if (IS_ERR_OR_NULL(segs))
		return qdisc_drop(skb, sch, to_free);
	skb_list_walk_safe(segs, segs, nskb) {
		skb_mark_not_on_list(segs);
		qdisc_skb_cb(segs)->pkt_len = segs->len;
		if (sch->qstats.backlog + segs->len > q->cfg.limit) {
			qdisc_drop(segs, sch, to_free);
			continue;
		}
		slen += segs->len;
		n++;
		qdisc_enqueue_tail(segs, sch);
	}
	consume_skb(skb);
	if (!n)
		return NET_XMIT_DROP;	/* every segment was dropped (and counted) */
	/* our parents count one packet of len bytes: make it n of slen */
	qdisc_tree_reduce_backlog(sch, 1 - n, (int)len - (int)slen);
	return NET_XMIT_SUCCESS;
}

static int rk_enqueue(struct sk_buff *skb, struct Qdisc *sch, struct sk_buff **to_free)
{
	struct rk_sched *q = qdisc_priv(sch);
	unsigned int len = qdisc_pkt_len(skb);

	rk_roll(q, ktime_get_ns());
	q->ival_bytes += len;
	rk_account_sender(q, skb, len);
	if (likely(sch->qstats.backlog + len <= q->cfg.limit))
		return qdisc_enqueue_tail(skb, sch);
	if (skb_is_gso(skb) && len > q->cfg.limit)
		return rk_enqueue_segments(skb, sch, to_free);
	return qdisc_drop(skb, sch, to_free);
}

static struct sk_buff *rk_dequeue(struct Qdisc *sch)
{
	struct rk_sched *q = qdisc_priv(sch);
	struct sk_buff *skb = qdisc_peek_head(sch);
	u64 now;
	s64 toks;

	if (!skb)
		return NULL;
	now = ktime_get_ns();
	toks = min_t(s64, q->tokens + (s64)(now - q->t_c), q->burst_ns);
	if (toks < 0) {
		/* in debt from the last packet: wait until it is paid */
		qdisc_watchdog_schedule_ns(&q->watchdog, now - toks);
		qdisc_qstats_overlimit(sch);
		return NULL;
	}
	skb = qdisc_dequeue_head(sch);
	/* Big (GSO) packets go out whole and leave the bucket in debt, so the long-term
	 * rate holds without splitting them.
	 */
	q->tokens = toks - (s64)psched_l2t_ns(&q->rcfg, qdisc_pkt_len(skb));
	q->t_c = now;
	return skb;
}

static void rk_reset(struct Qdisc *sch)
{
	struct rk_sched *q = qdisc_priv(sch);

	qdisc_reset_queue(sch);
	q->tokens = q->burst_ns;
	q->t_c = ktime_get_ns();
	qdisc_watchdog_cancel(&q->watchdog);
}

/* ---- configuration -------------------------------------------------------------------- */

/* Put c as a nest of type @type: TCA_OPTIONS, or the family's opts. */
int rk_put_opts(struct sk_buff *skb, int type, const struct rk_config *c)
{
	struct nlattr *nest = nla_nest_start(skb, type);

	if (!nest)
		return -EMSGSIZE;
	/* u64 attributes need no padding on the 64-bit arches nlkit supports; the pad
	 * attribute, where one is needed, is UNSPEC, which readers skip.
	 */
	return nlkit_nest_close(skb, nest,
	    nla_put_u64_64bit(skb, RATEKEEPER_A_OPTS_RATE, c->rate, RATEKEEPER_A_OPTS_UNSPEC) ||
	    nla_put_u64_64bit(skb, RATEKEEPER_A_OPTS_MIN_RATE, c->min_rate, RATEKEEPER_A_OPTS_UNSPEC) ||
	    nla_put_u64_64bit(skb, RATEKEEPER_A_OPTS_MAX_RATE, c->max_rate, RATEKEEPER_A_OPTS_UNSPEC) ||
	    nla_put_u32(skb, RATEKEEPER_A_OPTS_BURST, c->burst) ||
	    nla_put_u32(skb, RATEKEEPER_A_OPTS_LIMIT, c->limit) ||
	    nla_put_u32(skb, RATEKEEPER_A_OPTS_INTERVAL, c->interval_us) ||
	    nla_put_u64_64bit(skb, RATEKEEPER_A_OPTS_LINKRATE, c->linkrate, RATEKEEPER_A_OPTS_UNSPEC) ||
	    nla_put_u32(skb, RATEKEEPER_A_OPTS_HIGHMARK, c->highmark) ||
	    nla_put_u32(skb, RATEKEEPER_A_OPTS_GROUP, c->group) ||
	    nla_put_u32(skb, RATEKEEPER_A_OPTS_EVENT_GAP, c->event_gap_ms) ? -EMSGSIZE : 0);
}

/*
 * Parse TCA_OPTIONS into c: on create from defaults, on change from the current
 * configuration. Every rejection names its reason in extack.
 */
static int rk_parse(struct Qdisc *sch, struct nlattr *opt, struct rk_config *c, bool create,
		    struct netlink_ext_ack *extack)
{
	struct rk_sched *q = qdisc_priv(sch);
	struct nlattr *tb[RATEKEEPER_A_OPTS_MAX + 1];
	int err;

	err = nlkit_parse_opts(tb, RATEKEEPER_A_OPTS_MAX, opt, ratekeeper_opts_nl_policy,
			       "ratekeeper needs options: at least a rate", extack);
	if (err)
		return err;

	if (create) {
		memset(c, 0, sizeof(*c));
		c->interval_us = RK_DEFAULT_INTERVAL_US;
		c->highmark = RK_DEFAULT_HIGHMARK;
		c->event_gap_ms = RK_DEFAULT_EVENT_GAP_MS;
		if (!tb[RATEKEEPER_A_OPTS_RATE]) {
			NL_SET_ERR_MSG_ATTR(extack, opt, "rate is required");
			return -EINVAL;
		}
	} else {
		*c = q->cfg;
	}

	if (tb[RATEKEEPER_A_OPTS_RATE]) {
		c->rate = nla_get_u64(tb[RATEKEEPER_A_OPTS_RATE]);
		if (!c->rate) {
			NL_SET_ERR_MSG_ATTR(extack, tb[RATEKEEPER_A_OPTS_RATE], "rate must be greater than 0");
			return -EINVAL;
		}
	}
	if (tb[RATEKEEPER_A_OPTS_MIN_RATE]) {
		c->min_rate = nla_get_u64(tb[RATEKEEPER_A_OPTS_MIN_RATE]);
		if (!c->min_rate) {
			NL_SET_ERR_MSG_ATTR(extack, tb[RATEKEEPER_A_OPTS_MIN_RATE],
					    "min-rate must be greater than 0");
			return -EINVAL;
		}
	}
	if (tb[RATEKEEPER_A_OPTS_MAX_RATE]) {
		c->max_rate = nla_get_u64(tb[RATEKEEPER_A_OPTS_MAX_RATE]);
		if (!c->max_rate) {
			NL_SET_ERR_MSG_ATTR(extack, tb[RATEKEEPER_A_OPTS_MAX_RATE],
					    "max-rate must be greater than 0");
			return -EINVAL;
		}
	}
	if (create) {
		/* unset bounds default to the rate: a plain shaper with a fixed guarantee */
		if (!tb[RATEKEEPER_A_OPTS_MAX_RATE])
			c->max_rate = max(c->rate, c->min_rate);
		if (!tb[RATEKEEPER_A_OPTS_MIN_RATE])
			c->min_rate = min(c->rate, c->max_rate);
	}
	if (c->min_rate > c->max_rate) {
		NL_SET_ERR_MSG_ATTR(extack, tb[RATEKEEPER_A_OPTS_MIN_RATE] ?: tb[RATEKEEPER_A_OPTS_MAX_RATE],
				    "min-rate exceeds max-rate");
		return -EINVAL;
	}
	if (!tb[RATEKEEPER_A_OPTS_RATE] && !create) {
		/* a change of bounds keeps the daemon's rate where it still fits */
		c->rate = clamp(c->rate, c->min_rate, c->max_rate);
	} else if (c->rate < c->min_rate || c->rate > c->max_rate) {
		NL_SET_ERR_MSG_ATTR(extack, tb[RATEKEEPER_A_OPTS_RATE],
				    "rate must lie between min-rate and max-rate");
		return -EINVAL;
	}
	if (tb[RATEKEEPER_A_OPTS_BURST])
		c->burst = nla_get_u32(tb[RATEKEEPER_A_OPTS_BURST]);
	if (tb[RATEKEEPER_A_OPTS_LIMIT])
		c->limit = nla_get_u32(tb[RATEKEEPER_A_OPTS_LIMIT]);
	else if (create)
		c->limit = rk_auto_limit(c->max_rate);
	if (tb[RATEKEEPER_A_OPTS_INTERVAL])
		c->interval_us = nla_get_u32(tb[RATEKEEPER_A_OPTS_INTERVAL]);
	if (tb[RATEKEEPER_A_OPTS_LINKRATE])
		c->linkrate = nla_get_u64(tb[RATEKEEPER_A_OPTS_LINKRATE]);
	if (tb[RATEKEEPER_A_OPTS_HIGHMARK])
		c->highmark = nla_get_u32(tb[RATEKEEPER_A_OPTS_HIGHMARK]);
	if (tb[RATEKEEPER_A_OPTS_GROUP])
		c->group = nla_get_u32(tb[RATEKEEPER_A_OPTS_GROUP]);
	if (tb[RATEKEEPER_A_OPTS_EVENT_GAP])
		c->event_gap_ms = nla_get_u32(tb[RATEKEEPER_A_OPTS_EVENT_GAP]);
	if (c->linkrate && c->linkrate < c->min_rate) {
		NL_SET_ERR_MSG_ATTR(extack, tb[RATEKEEPER_A_OPTS_LINKRATE] ?: tb[RATEKEEPER_A_OPTS_MIN_RATE],
				    "linkrate is below the guarantee (min-rate)");
		return -EINVAL;
	}
	return 0;
}

/* Apply a parsed configuration; RTNL held, may sleep (group allocation). */
static int rk_apply(struct Qdisc *sch, const struct rk_config *c, struct netlink_ext_ack *extack)
{
	struct rk_sched *q = qdisc_priv(sch);
	struct rk_group *old = q->group, *g = NULL;
	unsigned int dropped = 0, dropped_bytes = 0;

	if (c->linkrate) {
		g = rk_group_get(qdisc_net(sch), c->group);
		if (!g) {
			NL_SET_ERR_MSG(extack, "out of memory for the qdisc's group");
			return -ENOMEM;
		}
	}
	if (g != old && old) {
		list_del_rcu(&q->group_node);
		/* A reader walking the old group (rk_group_load(), in the datapath too)
		 * may stand on q: wait until none can before q joins another list, or it
		 * would follow q into that list, take its head for a qdisc and go round
		 * it for ever.
		 */
		if (g)
			synchronize_net();
	}

	sch_tree_lock(sch);
	q->group = g;
	{
		u64 rate = q->cfg.rate;	/* the bucket's, until rk_set_rate_locked() */

		q->cfg = *c;
		q->cfg.rate = rate;
	}
	rk_set_rate_locked(q, c->rate);
	while (sch->qstats.backlog > q->cfg.limit) {
		struct sk_buff *skb = qdisc_dequeue_head(sch);

		if (!skb)
			break;
		dropped++;
		dropped_bytes += qdisc_pkt_len(skb);
		rtnl_qdisc_drop(skb, sch);
	}
	qdisc_tree_reduce_backlog(sch, dropped, dropped_bytes);
	sch_tree_unlock(sch);

	/* q joins its group's list, where other qdiscs' datapaths read it, only once its
	 * configuration is set (a new qdisc's interval was 0 there: a division by zero)
	 */
	if (g != old && g)
		list_add_rcu(&q->group_node, &g->members);
	if (g != old)
		rk_group_put_if_empty(old);
	return 0;
}

static int rk_change(struct Qdisc *sch, struct nlattr *opt, struct netlink_ext_ack *extack)
{
	struct rk_config c;
	int err;

	err = rk_parse(sch, opt, &c, false, extack);
	if (err)
		return err;
	return rk_apply(sch, &c, extack);
}

static int rk_init(struct Qdisc *sch, struct nlattr *opt, struct netlink_ext_ack *extack)
{
	struct rk_sched *q = qdisc_priv(sch);
	struct rk_config c;
	int err;

	/* everything destroy() undoes is set up before anything can fail */
	q->sch = sch;
	nlkit_qdisc_node_init(&q->link, sch);
	INIT_LIST_HEAD(&q->group_node);
	spin_lock_init(&q->event_lock);
	INIT_WORK(&q->event_work, rk_send_event);
	qdisc_watchdog_init(&q->watchdog, sch);

	err = rk_parse(sch, opt, &c, true, extack);
	if (err)
		return err;
	q->t_c = ktime_get_ns();
	q->ival_start = q->t_c;
	q->measured_at = q->t_c;
	err = rk_apply(sch, &c, extack);
	if (err)
		return err;
	q->tokens = q->burst_ns;
	nlkit_qdiscs_add(&rk_qdiscs, &q->link);
	return 0;
}

static void rk_destroy(struct Qdisc *sch)
{
	struct rk_sched *q = qdisc_priv(sch);
	struct rk_group *g = q->group;

	ASSERT_RTNL();
	cancel_work_sync(&q->event_work);
	qdisc_watchdog_cancel(&q->watchdog);
	nlkit_qdiscs_del(&rk_qdiscs, &q->link);
	if (g) {
		list_del_rcu(&q->group_node);
		q->group = NULL;
		rk_group_put_if_empty(g);
	}
}

static int rk_dump(struct Qdisc *sch, struct sk_buff *skb)
{
	struct rk_sched *q = qdisc_priv(sch);
	struct rk_config c;

	sch_tree_lock(sch);
	c = q->cfg;
	sch_tree_unlock(sch);
	return rk_put_opts(skb, TCA_OPTIONS, &c);
}

static int rk_dump_stats(struct Qdisc *sch, struct gnet_dump *d)
{
	struct rk_sched *q = qdisc_priv(sch);
	struct tc_ratekeeper_xstats st = { 0 };
	u64 now;

	rcu_read_lock();
	sch_tree_lock(sch);
	now = ktime_get_ns();	/* under the lock: see rk_roll() */
	rk_roll(q, now);
	st.rate = q->cfg.rate;
	st.measured = rk_decayed(q, now);
	st.link_load = q->group ? rk_group_load(q->group, now) : st.measured;
	st.events = q->events;
	st.events_suppressed = q->events_suppressed;
	st.severity = q->severity;
	st.congested = q->congested;
	sch_tree_unlock(sch);
	rcu_read_unlock();
	return gnet_stats_copy_app(d, &st, sizeof(st));
}

struct Qdisc_ops rk_qdisc_ops __read_mostly = {
	.id		= "ratekeeper",
	.priv_size	= sizeof(struct rk_sched),
	.enqueue	= rk_enqueue,
	.dequeue	= rk_dequeue,
	.peek		= qdisc_peek_dequeued,
	.init		= rk_init,
	.reset		= rk_reset,
	.destroy	= rk_destroy,
	.change		= rk_change,
	.dump		= rk_dump,
	.dump_stats	= rk_dump_stats,
	.owner		= THIS_MODULE,
};

#include "selftest.c"
