// SPDX-License-Identifier: GPL-2.0
/*
 * fcm_receiver: turns the price that FCM routers (sch_fcm) stamp into TCP segments
 * (p(q) of the router's queue, in option 92, or with an exid in the RFC 6994 form: kind
 * 253 or 254 with that ExID) into window control at the receiving host.
 *
 * Netfilter hooks, IPv4 and IPv6, per network namespace:
 *  - LOCAL_OUT: on an outgoing SYN or SYN-ACK the MSS option is lowered by mss_delta
 *    (so full-size segments leave the router room for the option) and the connection
 *    enters the table with the window scale it offers; on every other outgoing segment
 *    of a tracked connection the advertised window is lowered to the law's window w
 *    when w is below it (never raised), in units of the connection's window scale.
 *  - LOCAL_IN: incoming segments of tracked connections give the payload received,
 *    the price and a round-trip sample (TSecr against the TSval we sent); a SYN-ACK
 *    tells whether window scaling is on.
 *
 * The control law (nlkit's reconstruction of CLAMP; units in brackets), once per round,
 * a round being the smoothed RTT measured from timestamps (100 ms without them):
 *
 *   x <- x + alpha/100 * (received/round - x)           [bytes/s]
 *   u  = 100 * (W - x*p) / W                           [percent; x here in kbit/s]
 *   prime start: w is not limited (the sender's own slow start runs) until
 *                u < -ps_thresh; then w = bytes received in that round.
 *   steady:      w <- clamp(w + tau * MSS * u / 100, MSS, window the kernel offered)
 *
 * p is the last price received, W (weight) the connection's budget in kbit/s x price.
 * With no price (no FCM router on the path) u = 100 and w only grows. At equilibrium
 * x * p = W for every connection through the same queue, so the rates are equal (for
 * equal weights) and the queue's price is N * W / C. Linearised, one round changes
 * the queue by -(tau * b * C / W) times its excess (C in kbit/s, b the router's bval),
 * and the change is seen one round later: the loop is stable for tau * b * C < W
 * (README, "FCM control law"). The defaults (tau 1, W 300000) keep the gain at 1/3 at
 * 10 Mbit/s with b = 10, with 3 packets of queue above q_min per connection.
 *
 * State: an rhashtable per netns keyed by the connection's addresses and ports, at
 * most max_conns entries (more are counted as table_full and left alone), entries
 * freed after idle_timeout seconds without a segment (10 s after a FIN, at once on a
 * RST) by a per-netns worker that runs only while the table holds entries and looks at
 * most FCM_GC_BATCH of them a second; entries are read and changed under their
 * spinlock and freed after an RCU grace period. Only a local TCP socket's own segments
 * create an entry (its SYN, or its first segment once established), charged to the
 * socket's memory cgroup: SYN-ACKs (a request, a syncookie) and raw packets create
 * none, so a spoofed SYN flood fills nothing. A namespace's owner may lower max_conns;
 * raising it above the module parameter takes CAP_NET_ADMIN in the initial namespace.
 */

#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/jiffies.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <linux/percpu.h>
#include <linux/rhashtable.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/tcp.h>
#include <linux/workqueue.h>
#include <net/checksum.h>
#include <net/genetlink.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>
#include <net/sock.h>
#include <net/tcp.h>

#include <nlkit/compat.h>
#include <nlkit/genl.h>

#include "fcm.h"

#define FCM_DEFAULT_ROUND_NS	(100 * NSEC_PER_MSEC)
#define FCM_FIN_TIMEOUT		(10 * HZ)
#define FCM_MIN_MSS		88
#define FCM_GC_BATCH		4096	/* entries the worker looks at per run */
#define FCM_MAX_WIN		(65535U << TCP_MAX_WSCALE)	/* the most a TCP window can say */
#define FCM_U_MIN		(-1000000LL)	/* percent: see fcm_round() */

static bool enable;
module_param(enable, bool, 0444);
MODULE_PARM_DESC(enable, "Act on every netns from its creation (default N: enable per netns with nlkit fcm receiver set enable on)");
static uint alpha = 25;
module_param(alpha, uint, 0444);
MODULE_PARM_DESC(alpha, "Smoothing of the rate estimate, percent per round, 1..100 (default 25)");
static uint tau = 1;
module_param(tau, uint, 0444);
MODULE_PARM_DESC(tau, "Gain of the window law, MSS per round at full error, 1..100 (default 1)");
static uint ps_thresh = 20;
module_param(ps_thresh, uint, 0444);
MODULE_PARM_DESC(ps_thresh, "Prime start ends when the control term is below -ps_thresh percent (default 20)");
static uint weight = 300000;
module_param(weight, uint, 0444);
MODULE_PARM_DESC(weight, "Budget of each connection, kbit/s x price (default 300000)");
static uint mss_delta = 4;
module_param(mss_delta, uint, 0444);
MODULE_PARM_DESC(mss_delta, "Bytes taken off the MSS option of outgoing SYN/SYN-ACK, 0..256 (default 4)");
static uint max_conns = 65536;
module_param(max_conns, uint, 0444);
MODULE_PARM_DESC(max_conns, "Connections tracked per netns, 1..4194304 (default 65536)");
static uint idle_timeout = 120;
module_param(idle_timeout, uint, 0444);
MODULE_PARM_DESC(idle_timeout, "Seconds after which an idle connection is forgotten, 1..86400 (default 120)");
static ushort exid;
module_param(exid, ushort, 0444);
MODULE_PARM_DESC(exid, "0: the price comes in option 92 (default); else in the RFC 6994 form with this ExID (then mss_delta 0 or >= 8)");

struct fcm_rcv_params {
	u32 enabled, alpha, tau, ps_thresh, weight, mss_delta, max_conns, idle_timeout;
	u32 exid;
};

struct fcm_key {
	struct in6_addr local, remote;	/* IPv4 as v4-mapped */
	__be16 lport, rport;
	u32 pad;			/* zero: the key is hashed and compared whole */
};

struct fcm_conn {
	struct rhash_head node;
	struct fcm_key key;
	struct rcu_head rcu;
	spinlock_t lock;
	bool dead;		/* removed from the table (or being removed) */
	bool fin;
	u8 state;		/* FCM_CONN_STATE_* */
	s8 our_wscale;		/* the scale our SYN offered, -1 if none */
	u8 shift;		/* scale of the windows we advertise */
	u32 mss;
	u32 w;			/* bytes */
	u32 kwin;		/* bytes, last window the kernel offered */
	u32 price;
	u32 srtt_us;
	u64 x;			/* bytes/s */
	u64 rx_bytes, lowered;
	u64 round_start, round_bytes;	/* ns, bytes */
	u32 ts_sample;		/* TSval whose echo we wait for */
	bool ts_pending;
	u64 ts_sent;		/* ns */
	unsigned long last_seen;	/* jiffies */
};

struct fcm_rcv_stats {
	u64 tracked, table_full, priced, malformed, lowered, mss_lowered, expired;
};

struct fcm_rcv_net {
	struct net *net;
	struct mutex lock;		/* params writers, hooks */
	struct fcm_rcv_params p;	/* READ_ONCE in the hooks */
	struct nf_hook_ops *hooks;	/* registered while enabled */
	struct rhashtable conns;
	atomic_t count;
	struct fcm_rcv_stats __percpu *stats;
	struct delayed_work gc;		/* queued while count > 0 */
	struct rhashtable_iter gc_iter;	/* the worker's place in the table */
	bool gc_walking;
};

static unsigned int fcm_rcv_net_id __read_mostly;

static const struct rhashtable_params fcm_conn_params = {
	.key_len = sizeof(struct fcm_key),
	.key_offset = offsetof(struct fcm_conn, key),
	.head_offset = offsetof(struct fcm_conn, node),
	.automatic_shrinking = true,
};

#define fcm_stat_inc(rn, field) this_cpu_inc((rn)->stats->field)

/* ------------------------------------------------------------- parsing */

struct fcm_seg {
	struct fcm_key key;	/* from the local end's view */
	unsigned int thoff;	/* TCP header, from skb->data */
	unsigned int thlen;
	unsigned int payload;
	struct tcphdr th;	/* copy of the fixed header */
	u8 opts[40];
};

struct fcm_opts {
	unsigned int mss_off;	/* offset of the MSS value in the TCP header, 0 if none */
	int wscale;		/* -1 if none */
	bool ts, price_ok, malformed;
	u32 tsval, tsecr;
	u16 price;
};

/* The RFC 6994 form takes 8 bytes (two NOPs align it): the MSS must leave that room. */
#define FCM_EXP_ROOM	8

/*
 * fcm_parse_opts reads the options the receiver needs; the price from option 92 when
 * exid is 0, else from an RFC 6994 option (kind 253 or 254) with that ExID. An option
 * of the expected form with the wrong length counts as malformed; other experiments'
 * options (another ExID, or kind 92 while an exid is set) are not ours and are skipped.
 */
static void fcm_parse_opts(const u8 *o, unsigned int len, u16 exid, struct fcm_opts *r)
{
	unsigned int i = 0;

	memset(r, 0, sizeof(*r));
	r->wscale = -1;
	while (i < len) {
		u8 kind = o[i], olen;

		if (kind == TCPOPT_EOL)
			break;
		if (kind == TCPOPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= len) {
			r->malformed = true;
			break;
		}
		olen = o[i + 1];
		if (olen < 2 || i + olen > len) {
			r->malformed = true;
			break;
		}
		switch (kind) {
		case TCPOPT_MSS:
			if (olen == TCPOLEN_MSS)
				r->mss_off = sizeof(struct tcphdr) + i + 2;
			break;
		case TCPOPT_WINDOW:
			if (olen == TCPOLEN_WINDOW)
				r->wscale = min_t(int, o[i + 2], TCP_MAX_WSCALE);
			break;
		case TCPOPT_TIMESTAMP:
			if (olen == TCPOLEN_TIMESTAMP) {
				r->ts = true;
				r->tsval = get_unaligned_be32(o + i + 2);
				r->tsecr = get_unaligned_be32(o + i + 6);
			}
			break;
		case FCM_OPTION_KIND:
			if (exid)
				break;
			if (olen != FCM_OPTION_LEN) {
				r->malformed = true;
				break;
			}
			r->price_ok = true;
			r->price = get_unaligned_be16(o + i + 2);
			break;
		case TCPOPT_EXP:	/* 254 */
		case FCM_OPTION_EXP_KIND:	/* 253 */
			if (!exid || olen < 4 || get_unaligned_be16(o + i + 2) != exid)
				break;
			if (olen != FCM_OPTION_EXP_LEN) {
				r->malformed = true;
				break;
			}
			r->price_ok = true;
			r->price = get_unaligned_be16(o + i + 4);
			break;
		}
		i += olen;
	}
}

/*
 * fcm_tcp reads the TCP segment in skb (data at the network header, as in the
 * LOCAL_IN and LOCAL_OUT hooks); out: the local end is the source. False for anything
 * that is not a whole, well-formed TCP segment.
 */
static bool fcm_tcp(struct sk_buff *skb, u8 pf, bool out, struct fcm_seg *s)
{
	unsigned int noff = skb_network_offset(skb), l3end;
	struct in6_addr src, dst;
	const struct tcphdr *th;

	if (skb->encapsulation)
		return false;
	if (pf == NFPROTO_IPV4) {
		const struct iphdr *iph;
		struct iphdr _iph;

		iph = skb_header_pointer(skb, noff, sizeof(_iph), &_iph);
		if (!iph || iph->ihl < 5 || iph->protocol != IPPROTO_TCP ||
		    (iph->frag_off & htons(IP_MF | IP_OFFSET)))
			return false;
		s->thoff = noff + iph->ihl * 4;
		l3end = noff + ntohs(iph->tot_len);
		ipv6_addr_set_v4mapped(iph->saddr, &src);
		ipv6_addr_set_v4mapped(iph->daddr, &dst);
	} else {
		const struct ipv6hdr *ip6h;
		struct ipv6hdr _ip6h;
		unsigned short fragoff = 0;
		unsigned int off = 0;
		int flags = 0;

		ip6h = skb_header_pointer(skb, noff, sizeof(_ip6h), &_ip6h);
		if (!ip6h)
			return false;
		if (ipv6_find_hdr(skb, &off, IPPROTO_TCP, &fragoff, &flags) != IPPROTO_TCP ||
		    (flags & IP6_FH_F_FRAG))
			return false;
		s->thoff = off;
		l3end = noff + sizeof(*ip6h) + ntohs(ip6h->payload_len);
		src = ip6h->saddr;
		dst = ip6h->daddr;
	}
	if (l3end > skb->len)	/* GSO skbs count too: skb->len covers them */
		l3end = skb->len;
	th = skb_header_pointer(skb, s->thoff, sizeof(s->th), &s->th);
	if (!th)
		return false;
	if (th != &s->th)
		s->th = *th;
	s->thlen = s->th.doff * 4;
	if (s->thlen < sizeof(struct tcphdr) || s->thoff + s->thlen > l3end)
		return false;
	if (s->thlen > sizeof(struct tcphdr) &&
	    skb_copy_bits(skb, s->thoff + sizeof(struct tcphdr), s->opts,
			  s->thlen - sizeof(struct tcphdr)))
		return false;
	s->payload = l3end - s->thoff - s->thlen;
	memset(&s->key, 0, sizeof(s->key));
	if (out) {
		s->key.local = src;
		s->key.remote = dst;
		s->key.lport = s->th.source;
		s->key.rport = s->th.dest;
	} else {
		s->key.local = dst;
		s->key.remote = src;
		s->key.lport = s->th.dest;
		s->key.rport = s->th.source;
	}
	return true;
}

/* ------------------------------------------------------------- table */

static void fcm_conn_free_rcu(struct rcu_head *h)
{
	kfree(container_of(h, struct fcm_conn, rcu));
}

/* Called with c->lock held: marks c dead; true if the caller must unlink it. */
static bool fcm_conn_kill(struct fcm_conn *c)
{
	if (c->dead)
		return false;
	c->dead = true;
	return true;
}

static void fcm_conn_unlink(struct fcm_rcv_net *rn, struct fcm_conn *c)
{
	rhashtable_remove_fast(&rn->conns, &c->node, fcm_conn_params);
	atomic_dec(&rn->count);
	fcm_stat_inc(rn, expired);
	call_rcu(&c->rcu, fcm_conn_free_rcu);
}

/* The local TCP socket that sent skb, or NULL (a request or timewait socket, a raw or
 * control socket, no socket).
 */
static struct sock *fcm_tcp_sk(const struct sk_buff *skb)
{
	struct sock *sk = skb->sk;

	if (!sk || !sk_fullsock(sk) || sk->sk_type != SOCK_STREAM || sk->sk_protocol != IPPROTO_TCP)
		return NULL;
	return sk;
}

/* An entry charged to the socket's memory cgroup (if it has one), else the caller's. */
static struct fcm_conn *fcm_conn_alloc(struct sock *sk)
{
	struct fcm_conn *c;
#ifdef CONFIG_MEMCG
	struct mem_cgroup *old = set_active_memcg(sk->sk_memcg);
#endif

	c = kzalloc(sizeof(*c), GFP_ATOMIC | __GFP_ACCOUNT);
#ifdef CONFIG_MEMCG
	set_active_memcg(old);
#endif
	return c;
}

/* The connection of key, created if absent for sk's segment; RCU held. */
static struct fcm_conn *fcm_conn_get(struct fcm_rcv_net *rn, const struct fcm_key *key, struct sock *sk)
{
	struct fcm_conn *c, *old;
	int n;

	c = rhashtable_lookup(&rn->conns, key, fcm_conn_params);
	if (c)
		return c;
	n = atomic_inc_return(&rn->count);
	if (n > READ_ONCE(rn->p.max_conns)) {
		atomic_dec(&rn->count);
		fcm_stat_inc(rn, table_full);
		return NULL;
	}
	if (n == 1)
		schedule_delayed_work(&rn->gc, HZ);	/* the worker runs while there are entries */
	c = fcm_conn_alloc(sk);
	if (!c) {
		atomic_dec(&rn->count);
		return NULL;
	}
	c->key = *key;
	spin_lock_init(&c->lock);
	c->our_wscale = -1;
	c->last_seen = jiffies;
	old = rhashtable_lookup_get_insert_fast(&rn->conns, &c->node, fcm_conn_params);
	if (old) {
		kfree(c);
		atomic_dec(&rn->count);
		return IS_ERR(old) ? NULL : old;
	}
	fcm_stat_inc(rn, tracked);
	return c;
}

/* A connection whose opening the receiver did not see (it answered the SYN, or the
 * connection was there before the receiver was enabled, or the table was full then):
 * its entry comes with the established socket's first segment, with the window scale
 * and the MSS (less mss_delta, as its SYN-ACK went out) the socket advertises. RCU held.
 */
static struct fcm_conn *fcm_conn_established(struct fcm_rcv_net *rn, struct sk_buff *skb,
					     const struct fcm_key *key)
{
	struct sock *sk = fcm_tcp_sk(skb);
	const struct tcp_sock *tp;
	struct fcm_conn *c;
	u32 mss, delta;

	if (!sk || READ_ONCE(sk->sk_state) != TCP_ESTABLISHED)
		return NULL;
	c = fcm_conn_get(rn, key, sk);
	if (!c)
		return NULL;
	tp = tcp_sk(sk);
	mss = tp->advmss;
	delta = READ_ONCE(rn->p.mss_delta);
	if (delta && mss > FCM_MIN_MSS)
		mss = max_t(u32, mss - min(delta, mss), FCM_MIN_MSS);
	spin_lock_bh(&c->lock);
	if (!c->dead && !c->mss) {	/* new: not set up by another CPU meanwhile */
		c->state = FCM_CONN_STATE_PRIME;
		c->shift = tp->rx_opt.wscale_ok ? tp->rx_opt.rcv_wscale : 0;
		c->mss = mss ?: TCP_MSS_DEFAULT;
		c->round_start = ktime_get_ns();
	}
	spin_unlock_bh(&c->lock);
	return c;
}

/* ------------------------------------------------------------- the law */

static void fcm_round(struct fcm_rcv_net *rn, struct fcm_conn *c, u64 now)
{
	u64 round = c->srtt_us ? max_t(u64, (u64)c->srtt_us * NSEC_PER_USEC, NSEC_PER_MSEC) :
				 FCM_DEFAULT_ROUND_NS;
	u64 dt = now - c->round_start, meas, pay;
	u32 a = READ_ONCE(rn->p.alpha), wgt = READ_ONCE(rn->p.weight);
	s64 u, w;

	if (dt < round)
		return;
	meas = mul_u64_u64_div_u64(c->round_bytes, NSEC_PER_SEC, dt);
	c->x = c->x ? div_u64(c->x * (100 - a) + meas * a, 100) : meas;
	pay = div_u64(c->x * 8, 1000) * c->price;		/* kbit/s x price */
	/* u = 100 (1 - pay / W), in percent. The price comes from the network (a peer
	 * can send the largest), so u is bounded below before it is multiplied: at
	 * FCM_U_MIN the window drops to one MSS in a round anyway.
	 */
	u = 100 - (s64)min_t(u64, mul_u64_u32_div(pay, 100, wgt), 100 - FCM_U_MIN);
	switch (c->state) {
	case FCM_CONN_STATE_PRIME:
		if (u < -(s64)READ_ONCE(rn->p.ps_thresh)) {
			c->state = FCM_CONN_STATE_STEADY;
			c->w = max_t(u64, c->round_bytes, c->mss);
		}
		break;
	case FCM_CONN_STATE_STEADY:
		w = (s64)c->w + (s64)READ_ONCE(rn->p.tau) * c->mss * u / 100;
		/* no more than the kernel offers, nor than a TCP window can say (the
		 * kernel may have offered 0)
		 */
		if (c->kwin && w > c->kwin)
			w = c->kwin;
		w = min_t(s64, w, FCM_MAX_WIN);
		c->w = max_t(s64, w, c->mss);
		break;
	}
	c->round_start = now;
	c->round_bytes = 0;
}

/* ------------------------------------------------------------- hooks */

static unsigned int fcm_in(void *priv, struct sk_buff *skb, const struct nf_hook_state *state)
{
	struct fcm_rcv_net *rn = priv;
	bool unlink = false;
	struct fcm_conn *c;
	struct fcm_opts o;
	struct fcm_seg s;
	u64 now;

	if (!fcm_tcp(skb, state->pf, false, &s))
		return NF_ACCEPT;
	fcm_parse_opts(s.opts, s.thlen - sizeof(struct tcphdr), READ_ONCE(rn->p.exid), &o);
	if (o.malformed)
		fcm_stat_inc(rn, malformed);
	rcu_read_lock();
	c = rhashtable_lookup(&rn->conns, &s.key, fcm_conn_params);
	if (!c)
		goto out;
	now = ktime_get_ns();
	spin_lock_bh(&c->lock);
	if (c->dead)
		goto unlock;
	c->last_seen = jiffies;
	if (s.th.rst) {
		unlink = fcm_conn_kill(c);
		goto unlock;
	}
	if (s.th.fin)
		c->fin = true;
	if (c->state == FCM_CONN_STATE_SYN_SENT) {
		if (s.th.syn && s.th.ack) {
			c->shift = (o.wscale >= 0 && c->our_wscale >= 0) ? c->our_wscale : 0;
			c->state = FCM_CONN_STATE_PRIME;
			c->round_start = now;
		}
		goto unlock;
	}
	c->rx_bytes += s.payload;
	c->round_bytes += s.payload;
	if (o.price_ok) {
		c->price = o.price;
		fcm_stat_inc(rn, priced);
	}
	if (o.ts && c->ts_pending && !before(o.tsecr, c->ts_sample)) {
		u32 rtt = div_u64(now - c->ts_sent, NSEC_PER_USEC);

		c->srtt_us = c->srtt_us ? (7 * (u64)c->srtt_us + rtt) / 8 : rtt;
		c->ts_pending = false;
	}
	fcm_round(rn, c, now);
unlock:
	spin_unlock_bh(&c->lock);
	if (unlink)
		fcm_conn_unlink(rn, c);
out:
	rcu_read_unlock();
	return NF_ACCEPT;
}

/* Writes a 16-bit field of the TCP header at off (from th) and fixes the checksum. An
 * option's field can sit at an odd offset (a NOP before MSS): it is then unaligned, and
 * its two bytes fall in two 16-bit words of the checksum, each in the other half, so
 * the checksum changes by the byte-swapped difference (RFC 1071's byte-order
 * independence).
 */
static int fcm_rewrite16(struct sk_buff *skb, unsigned int thoff, unsigned int thlen,
			 unsigned int off, u16 val)
{
	__be16 old, new = htons(val);
	struct tcphdr *th;
	void *p;

	if (skb_ensure_writable(skb, thoff + thlen))
		return -ENOMEM;
	th = (struct tcphdr *)(skb->data + thoff);
	p = (u8 *)th + off;
	old = get_unaligned((__be16 *)p);
	put_unaligned(new, (__be16 *)p);
	if (off & 1) {
		old = (__force __be16)swab16((__force u16)old);
		new = (__force __be16)swab16((__force u16)new);
	}
	inet_proto_csum_replace2(&th->check, skb, old, new, false);
	return 0;
}

static unsigned int fcm_out(void *priv, struct sk_buff *skb, const struct nf_hook_state *state)
{
	struct fcm_rcv_net *rn = priv;
	bool unlink = false;
	struct fcm_conn *c;
	struct fcm_opts o;
	struct fcm_seg s;
	struct sock *sk;
	u32 win, kwin;

	if (!fcm_tcp(skb, state->pf, true, &s))
		return NF_ACCEPT;
	fcm_parse_opts(s.opts, s.thlen - sizeof(struct tcphdr), 0, &o);	/* not the price */
	rcu_read_lock();
	if (s.th.syn) {
		u32 delta = READ_ONCE(rn->p.mss_delta), mss = 0;

		if (o.mss_off) {
			mss = get_unaligned_be16(s.opts + o.mss_off - sizeof(struct tcphdr));
			if (delta && mss > FCM_MIN_MSS) {
				u32 nmss = max_t(u32, mss - min(delta, mss), FCM_MIN_MSS);

				if (!fcm_rewrite16(skb, s.thoff, s.thlen, o.mss_off, nmss)) {
					mss = nmss;
					fcm_stat_inc(rn, mss_lowered);
				}
			}
		}
		if (s.th.ack) {
			/* A SYN-ACK answers from a request (or a syncookie): the entry waits
			 * for the established socket's first segment (below), so a SYN
			 * flood makes none. An earlier connection's entry on these ports
			 * goes now.
			 */
			c = rhashtable_lookup(&rn->conns, &s.key, fcm_conn_params);
			if (c) {
				spin_lock_bh(&c->lock);
				unlink = fcm_conn_kill(c);
				spin_unlock_bh(&c->lock);
				if (unlink)
					fcm_conn_unlink(rn, c);
			}
			goto out;
		}
		sk = fcm_tcp_sk(skb);
		if (!sk)
			goto out;
		c = fcm_conn_get(rn, &s.key, sk);
		if (!c)
			goto out;
		spin_lock_bh(&c->lock);
		if (!c->dead) {
			/* a new connection, or a SYN again: start afresh */
			c->fin = false;
			c->shift = 0;
			c->w = 0;
			c->kwin = 0;
			c->price = 0;
			c->srtt_us = 0;
			c->x = 0;
			c->rx_bytes = 0;
			c->lowered = 0;
			c->round_bytes = 0;
			c->ts_pending = false;
			c->mss = mss ?: TCP_MSS_DEFAULT;
			c->last_seen = jiffies;
			c->state = FCM_CONN_STATE_SYN_SENT;
			c->our_wscale = o.wscale;
		}
		spin_unlock_bh(&c->lock);
		goto out;
	}
	c = rhashtable_lookup(&rn->conns, &s.key, fcm_conn_params);
	if (!c) {
		c = fcm_conn_established(rn, skb, &s.key);
		if (!c)
			goto out;
	}
	spin_lock_bh(&c->lock);
	if (c->dead || c->state == FCM_CONN_STATE_SYN_SENT)
		goto unlock;
	c->last_seen = jiffies;
	if (s.th.rst) {
		unlink = fcm_conn_kill(c);
		goto unlock;
	}
	if (s.th.fin)
		c->fin = true;
	if (o.ts && !c->ts_pending) {
		c->ts_sample = o.tsval;
		c->ts_sent = ktime_get_ns();
		c->ts_pending = true;
	}
	win = ntohs(s.th.window);
	kwin = min_t(u64, (u64)win << c->shift, U32_MAX);
	c->kwin = kwin;
	if (c->state == FCM_CONN_STATE_STEADY && c->w < kwin) {
		u32 nwin = DIV_ROUND_UP(c->w, 1U << c->shift);

		if (nwin < win && !fcm_rewrite16(skb, s.thoff, s.thlen,
						 offsetof(struct tcphdr, window), nwin)) {
			c->lowered++;
			fcm_stat_inc(rn, lowered);
		}
	}
unlock:
	spin_unlock_bh(&c->lock);
	if (unlink)
		fcm_conn_unlink(rn, c);
out:
	rcu_read_unlock();
	return NF_ACCEPT;
}

static const struct nf_hook_ops fcm_hooks_tmpl[] = {
	{ .hook = fcm_in,  .pf = NFPROTO_IPV4, .hooknum = NF_INET_LOCAL_IN,  .priority = NF_IP_PRI_NAT_SRC + 200 },
	{ .hook = fcm_out, .pf = NFPROTO_IPV4, .hooknum = NF_INET_LOCAL_OUT, .priority = NF_IP_PRI_NAT_DST - 20 },
	{ .hook = fcm_in,  .pf = NFPROTO_IPV6, .hooknum = NF_INET_LOCAL_IN,  .priority = NF_IP6_PRI_NAT_SRC + 200 },
	{ .hook = fcm_out, .pf = NFPROTO_IPV6, .hooknum = NF_INET_LOCAL_OUT, .priority = NF_IP6_PRI_NAT_DST - 20 },
};

/* rn->lock held. */
static int fcm_set_enabled(struct fcm_rcv_net *rn, bool on)
{
	struct nf_hook_ops *ops;
	int i, err;

	if (on == !!rn->hooks)
		return 0;
	if (!on) {
		nf_unregister_net_hooks(rn->net, rn->hooks, ARRAY_SIZE(fcm_hooks_tmpl));
		kfree(rn->hooks);
		rn->hooks = NULL;
		return 0;
	}
	ops = kmemdup(fcm_hooks_tmpl, sizeof(fcm_hooks_tmpl), GFP_KERNEL);
	if (!ops)
		return -ENOMEM;
	for (i = 0; i < ARRAY_SIZE(fcm_hooks_tmpl); i++)
		ops[i].priv = rn;
	err = nf_register_net_hooks(rn->net, ops, ARRAY_SIZE(fcm_hooks_tmpl));
	if (err) {
		kfree(ops);
		return err;
	}
	rn->hooks = ops;
	return 0;
}

/* ------------------------------------------------------------- expiry */

/* Runs while the table holds entries; each run looks at FCM_GC_BATCH of them at most,
 * going on where the last run stopped, so a full table costs a bounded time a second.
 */
static void fcm_gc(struct work_struct *work)
{
	struct fcm_rcv_net *rn = container_of(to_delayed_work(work), struct fcm_rcv_net, gc);
	unsigned long idle = READ_ONCE(rn->p.idle_timeout) * HZ, now = jiffies;
	struct fcm_conn *c = NULL;
	int n = 0;

	if (!rn->gc_walking) {
		rhashtable_walk_enter(&rn->conns, &rn->gc_iter);
		rn->gc_walking = true;
	}
	rhashtable_walk_start(&rn->gc_iter);
	while (n < FCM_GC_BATCH && (c = rhashtable_walk_next(&rn->gc_iter))) {
		bool unlink = false;

		if (IS_ERR(c))
			continue;	/* -EAGAIN: a resize; the walk goes on */
		n++;
		spin_lock_bh(&c->lock);
		if (time_after(now, c->last_seen + (c->fin ? min(idle, FCM_FIN_TIMEOUT) : idle)))
			unlink = fcm_conn_kill(c);
		spin_unlock_bh(&c->lock);
		if (unlink)
			fcm_conn_unlink(rn, c);
	}
	rhashtable_walk_stop(&rn->gc_iter);
	if (!c) {	/* the end of the table: the next run starts from the beginning */
		rhashtable_walk_exit(&rn->gc_iter);
		rn->gc_walking = false;
	}
	if (atomic_read(&rn->count))
		schedule_delayed_work(&rn->gc, HZ);
}

/* ------------------------------------------------------------- netlink */

static struct fcm_rcv_net *fcm_rn(struct net *net)
{
	return net_generic(net, fcm_rcv_net_id);
}

static int fcm_put_params(struct sk_buff *skb, const struct fcm_rcv_params *p)
{
	return nla_put_u8(skb, FCM_A_RECEIVER_PARAMS_ENABLED, !!p->enabled) ||
	       nla_put_u32(skb, FCM_A_RECEIVER_PARAMS_ALPHA, p->alpha) ||
	       nla_put_u32(skb, FCM_A_RECEIVER_PARAMS_TAU, p->tau) ||
	       nla_put_u32(skb, FCM_A_RECEIVER_PARAMS_PS_THRESH, p->ps_thresh) ||
	       nla_put_u32(skb, FCM_A_RECEIVER_PARAMS_WEIGHT, p->weight) ||
	       nla_put_u32(skb, FCM_A_RECEIVER_PARAMS_MSS_DELTA, p->mss_delta) ||
	       nla_put_u32(skb, FCM_A_RECEIVER_PARAMS_MAX_CONNS, p->max_conns) ||
	       nla_put_u32(skb, FCM_A_RECEIVER_PARAMS_IDLE_TIMEOUT, p->idle_timeout) ||
	       nla_put_u16(skb, FCM_A_RECEIVER_PARAMS_EXID, p->exid);
}

static int fcm_put64(struct sk_buff *skb, int type, u64 v, int pad)
{
	return nla_put_u64_64bit(skb, type, v, pad);
}

static int fcm_get_receiver(struct sk_buff *skb, struct genl_info *info)
{
	struct fcm_rcv_net *rn = fcm_rn(genl_info_net(info));
	struct fcm_rcv_stats t = {};
	struct fcm_rcv_params p;
	struct nlattr *nest;
	struct sk_buff *msg;
	void *hdr;
	int cpu;

	mutex_lock(&rn->lock);
	p = rn->p;
	mutex_unlock(&rn->lock);
	for_each_possible_cpu(cpu) {
		const struct fcm_rcv_stats *s = per_cpu_ptr(rn->stats, cpu);

		t.tracked += READ_ONCE(s->tracked);
		t.table_full += READ_ONCE(s->table_full);
		t.priced += READ_ONCE(s->priced);
		t.malformed += READ_ONCE(s->malformed);
		t.lowered += READ_ONCE(s->lowered);
		t.mss_lowered += READ_ONCE(s->mss_lowered);
		t.expired += READ_ONCE(s->expired);
	}
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = fcm_genlmsg_put(msg, info->snd_portid, info->snd_seq, 0, FCM_CMD_GET_RECEIVER);
	if (!hdr)
		goto nospace;
	nest = nla_nest_start(msg, FCM_A_RECEIVER_PARAMS);
	if (!nest || fcm_put_params(msg, &p))
		goto nospace;
	nla_nest_end(msg, nest);
	if (nla_put_u32(msg, FCM_A_RECEIVER_CONNS, atomic_read(&rn->count)) ||
	    fcm_put64(msg, FCM_A_RECEIVER_TRACKED, t.tracked, FCM_A_RECEIVER_UNSPEC) ||
	    fcm_put64(msg, FCM_A_RECEIVER_TABLE_FULL, t.table_full, FCM_A_RECEIVER_UNSPEC) ||
	    fcm_put64(msg, FCM_A_RECEIVER_PRICED, t.priced, FCM_A_RECEIVER_UNSPEC) ||
	    fcm_put64(msg, FCM_A_RECEIVER_MALFORMED, t.malformed, FCM_A_RECEIVER_UNSPEC) ||
	    fcm_put64(msg, FCM_A_RECEIVER_LOWERED, t.lowered, FCM_A_RECEIVER_UNSPEC) ||
	    fcm_put64(msg, FCM_A_RECEIVER_MSS_LOWERED, t.mss_lowered, FCM_A_RECEIVER_UNSPEC) ||
	    fcm_put64(msg, FCM_A_RECEIVER_EXPIRED, t.expired, FCM_A_RECEIVER_UNSPEC))
		goto nospace;
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
nospace:
	nlmsg_free(msg);
	return -EMSGSIZE;
}

static int fcm_set_receiver(struct sk_buff *skb, struct genl_info *info)
{
	struct fcm_rcv_net *rn = fcm_rn(genl_info_net(info));
	struct nlattr *tb[FCM_A_RECEIVER_PARAMS_MAX + 1];
	struct fcm_rcv_params p;
	int err;

	if (nlkit_genl_require(info, FCM_A_RECEIVER_PARAMS, "params are required"))
		return -EINVAL;
	/* already validated against the op's policy (fcm_nl.c, in sch_fcm) */
	err = nla_parse_nested(tb, FCM_A_RECEIVER_PARAMS_MAX, info->attrs[FCM_A_RECEIVER_PARAMS],
			       NULL, info->extack);
	if (err)
		return err;
	mutex_lock(&rn->lock);
	p = rn->p;
#define FCM_SET(f, A) do { if (tb[A]) p.f = nla_get_u32(tb[A]); } while (0)
	FCM_SET(alpha, FCM_A_RECEIVER_PARAMS_ALPHA);
	FCM_SET(tau, FCM_A_RECEIVER_PARAMS_TAU);
	FCM_SET(ps_thresh, FCM_A_RECEIVER_PARAMS_PS_THRESH);
	FCM_SET(weight, FCM_A_RECEIVER_PARAMS_WEIGHT);
	FCM_SET(mss_delta, FCM_A_RECEIVER_PARAMS_MSS_DELTA);
	FCM_SET(max_conns, FCM_A_RECEIVER_PARAMS_MAX_CONNS);
	/* the table's memory is the machine's: only its admin raises the bound */
	if (tb[FCM_A_RECEIVER_PARAMS_MAX_CONNS] && p.max_conns > max_conns &&
	    !netlink_capable(skb, CAP_NET_ADMIN)) {
		NL_SET_ERR_MSG_ATTR(info->extack, tb[FCM_A_RECEIVER_PARAMS_MAX_CONNS],
				    "raising max-conns above the module parameter needs CAP_NET_ADMIN in the initial user namespace");
		mutex_unlock(&rn->lock);
		return -EPERM;
	}
	FCM_SET(idle_timeout, FCM_A_RECEIVER_PARAMS_IDLE_TIMEOUT);
#undef FCM_SET
	if (tb[FCM_A_RECEIVER_PARAMS_EXID])
		p.exid = nla_get_u16(tb[FCM_A_RECEIVER_PARAMS_EXID]);
	if (p.exid && p.mss_delta && p.mss_delta < FCM_EXP_ROOM) {
		NL_SET_ERR_MSG_ATTR(info->extack, tb[FCM_A_RECEIVER_PARAMS_EXID] ?: tb[FCM_A_RECEIVER_PARAMS_MSS_DELTA],
				    "the RFC 6994 option (exid) takes 8 bytes: an mss-delta below 8 leaves routers no room, set it to 8 (or 0)");
		mutex_unlock(&rn->lock);
		return -EINVAL;
	}
	if (tb[FCM_A_RECEIVER_PARAMS_ENABLED])
		p.enabled = nla_get_u8(tb[FCM_A_RECEIVER_PARAMS_ENABLED]);
	err = fcm_set_enabled(rn, p.enabled);
	if (err) {
		NL_SET_ERR_MSG(info->extack, "cannot register the netfilter hooks");
		mutex_unlock(&rn->lock);
		return err;
	}
	WRITE_ONCE(rn->p.enabled, p.enabled);
	WRITE_ONCE(rn->p.alpha, p.alpha);
	WRITE_ONCE(rn->p.tau, p.tau);
	WRITE_ONCE(rn->p.ps_thresh, p.ps_thresh);
	WRITE_ONCE(rn->p.weight, p.weight);
	WRITE_ONCE(rn->p.mss_delta, p.mss_delta);
	WRITE_ONCE(rn->p.max_conns, p.max_conns);
	WRITE_ONCE(rn->p.idle_timeout, p.idle_timeout);
	WRITE_ONCE(rn->p.exid, p.exid);
	mutex_unlock(&rn->lock);
	return 0;
}

static int fcm_fill_conn(struct sk_buff *skb, struct netlink_callback *cb, struct fcm_conn *c)
{
	bool v4 = ipv6_addr_v4mapped(&c->key.local);
	unsigned int alen = v4 ? 4 : 16, off = v4 ? 12 : 0;
	u8 state;
	u32 idle;
	void *hdr;
	int pad = FCM_A_CONN_UNSPEC;

	hdr = fcm_genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq, NLM_F_MULTI,
			      FCM_CMD_GET_CONN);
	if (!hdr)
		return -EMSGSIZE;
	spin_lock_bh(&c->lock);
	state = c->fin ? FCM_CONN_STATE_CLOSING : c->state;
	idle = jiffies_to_msecs(jiffies - c->last_seen);
	if (nla_put_u8(skb, FCM_A_CONN_FAMILY, v4 ? 4 : 6) ||
	    nla_put(skb, FCM_A_CONN_LOCAL, alen, (u8 *)&c->key.local + off) ||
	    nla_put(skb, FCM_A_CONN_REMOTE, alen, (u8 *)&c->key.remote + off) ||
	    nla_put_u16(skb, FCM_A_CONN_LPORT, ntohs(c->key.lport)) ||
	    nla_put_u16(skb, FCM_A_CONN_RPORT, ntohs(c->key.rport)) ||
	    nla_put_u8(skb, FCM_A_CONN_STATE, state) ||
	    nla_put_u8(skb, FCM_A_CONN_WSCALE, c->shift) ||
	    nla_put_u32(skb, FCM_A_CONN_MSS, c->mss) ||
	    nla_put_u32(skb, FCM_A_CONN_WINDOW, c->state == FCM_CONN_STATE_STEADY ? c->w : c->kwin) ||
	    nla_put_u32(skb, FCM_A_CONN_KERNEL_WINDOW, c->kwin) ||
	    fcm_put64(skb, FCM_A_CONN_RATE, c->x, pad) ||
	    nla_put_u32(skb, FCM_A_CONN_PRICE, c->price) ||
	    nla_put_u32(skb, FCM_A_CONN_SRTT, c->srtt_us) ||
	    fcm_put64(skb, FCM_A_CONN_RX_BYTES, c->rx_bytes, pad) ||
	    fcm_put64(skb, FCM_A_CONN_LOWERED, c->lowered, pad) ||
	    nla_put_u32(skb, FCM_A_CONN_IDLE, idle)) {
		spin_unlock_bh(&c->lock);
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	spin_unlock_bh(&c->lock);
	genlmsg_end(skb, hdr);
	return 0;
}

/* cb->args[0]: connections already dumped (a resize may repeat or skip some). */
static int fcm_get_conn_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct fcm_rcv_net *rn = fcm_rn(sock_net(skb->sk));
	struct rhashtable_iter it;
	struct fcm_conn *c;
	long idx = 0;
	int err = 0;

	rhashtable_walk_enter(&rn->conns, &it);
	rhashtable_walk_start(&it);
	while ((c = rhashtable_walk_next(&it))) {
		if (IS_ERR(c))
			continue;
		if (idx++ < cb->args[0])
			continue;
		err = fcm_fill_conn(skb, cb, c);
		if (err)
			break;
		cb->args[0] = idx;
	}
	rhashtable_walk_stop(&it);
	rhashtable_walk_exit(&it);
	return nlkit_dump_end(skb, err);
}

static const struct fcm_receiver_ops fcm_rcv_ops = {
	.get_receiver = fcm_get_receiver,
	.set_receiver = fcm_set_receiver,
	.get_conn_dumpit = fcm_get_conn_dumpit,
};

/* ------------------------------------------------------------- netns */

static void fcm_conn_free(void *ptr, void *arg)
{
	kfree(ptr);
}

static int __net_init fcm_rcv_net_init(struct net *net)
{
	struct fcm_rcv_net *rn = fcm_rn(net);
	int err;

	rn->net = net;
	mutex_init(&rn->lock);
	rn->p = (struct fcm_rcv_params){
		.enabled = enable, .alpha = alpha, .tau = tau, .ps_thresh = ps_thresh,
		.weight = weight, .mss_delta = mss_delta, .max_conns = max_conns,
		.idle_timeout = idle_timeout, .exid = exid,
	};
	rn->stats = alloc_percpu(struct fcm_rcv_stats);
	if (!rn->stats)
		return -ENOMEM;
	err = rhashtable_init(&rn->conns, &fcm_conn_params);
	if (err)
		goto err_stats;
	INIT_DELAYED_WORK(&rn->gc, fcm_gc);
	mutex_lock(&rn->lock);
	err = fcm_set_enabled(rn, rn->p.enabled);
	mutex_unlock(&rn->lock);
	if (err)
		goto err_table;
	return 0;
err_table:
	rhashtable_destroy(&rn->conns);
err_stats:
	free_percpu(rn->stats);
	return err;
}

static void __net_exit fcm_rcv_net_exit(struct net *net)
{
	struct fcm_rcv_net *rn = fcm_rn(net);

	mutex_lock(&rn->lock);
	fcm_set_enabled(rn, false);	/* waits for hooks in flight */
	mutex_unlock(&rn->lock);
	cancel_delayed_work_sync(&rn->gc);
	if (rn->gc_walking)
		rhashtable_walk_exit(&rn->gc_iter);
	synchronize_rcu();		/* RCU readers of entries */
	rhashtable_free_and_destroy(&rn->conns, fcm_conn_free, NULL);
	free_percpu(rn->stats);
}

static struct pernet_operations fcm_rcv_net_ops = {
	.init = fcm_rcv_net_init,
	.exit = fcm_rcv_net_exit,
	.id = &fcm_rcv_net_id,
	.size = sizeof(struct fcm_rcv_net),
};

static int __init fcm_rcv_init(void)
{
	int err;

	if (alpha < 1 || alpha > 100 || tau < 1 || tau > 100 || ps_thresh > 10000 || weight < 1 ||
	    mss_delta > 256 || max_conns < 1 || max_conns > 4194304 || idle_timeout < 1 ||
	    idle_timeout > 86400) {
		pr_err("fcm_receiver: parameter out of range (alpha 1..100, tau 1..100, ps_thresh 0..10000, weight >= 1, mss_delta 0..256, max_conns 1..4194304, idle_timeout 1..86400)\n");
		return -EINVAL;
	}
	if (exid && mss_delta && mss_delta < FCM_EXP_ROOM) {
		pr_err("fcm_receiver: exid (the RFC 6994 option) takes 8 bytes: load with mss_delta=8 (or 0)\n");
		return -EINVAL;
	}
	err = register_pernet_subsys(&fcm_rcv_net_ops);
	if (err)
		return err;
	err = fcm_receiver_register(&fcm_rcv_ops);
	if (err) {
		unregister_pernet_subsys(&fcm_rcv_net_ops);
		return err;
	}
	return 0;
}

static void __exit fcm_rcv_exit(void)
{
	fcm_receiver_unregister(&fcm_rcv_ops);
	unregister_pernet_subsys(&fcm_rcv_net_ops);
	rcu_barrier();		/* entries freed by call_rcu */
}

module_init(fcm_rcv_init);
module_exit(fcm_rcv_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("nlkit developers");
MODULE_DESCRIPTION("FCM receiver: window control from the queue price FCM routers stamp (TCP option 92 or RFC 6994)");
MODULE_VERSION(NLKIT_VERSION);
