// SPDX-License-Identifier: GPL-2.0
/*
 * The netfilter hooks, IPv4 and IPv6, registered per netns while the receiver is
 * enabled there:
 *  - LOCAL_IN (fcm_in): the payload received, the price and a round-trip sample of
 *    tracked connections; a SYN-ACK tells whether window scaling is on.
 *  - LOCAL_OUT (fcm_out): an outgoing SYN's or SYN-ACK's MSS is lowered by mss_delta;
 *    a SYN enters the table; every other segment of a tracked connection has its
 *    advertised window lowered to the law's window when that is below it.
 */

#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <linux/slab.h>
#include <linux/tcp.h>
#include <net/checksum.h>
#include <net/tcp.h>

#include "receiver.h"

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
	if (c->state == FCM_RECEIVER_CONN_STATE_SYN_SENT) {
		if (s.th.syn && s.th.ack) {
			c->shift = (o.wscale >= 0 && c->our_wscale >= 0) ? c->our_wscale : 0;
			c->state = FCM_RECEIVER_CONN_STATE_PRIME;
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
			c->state = FCM_RECEIVER_CONN_STATE_SYN_SENT;
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
	if (c->dead || c->state == FCM_RECEIVER_CONN_STATE_SYN_SENT)
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
	if (c->state == FCM_RECEIVER_CONN_STATE_STEADY && c->w < kwin) {
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
int fcm_set_enabled(struct fcm_rcv_net *rn, bool on)
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
