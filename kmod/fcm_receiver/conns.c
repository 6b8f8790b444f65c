// SPDX-License-Identifier: GPL-2.0
/*
 * The connection table.
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

#include <linux/jiffies.h>
#include <linux/rhashtable.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/tcp.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "receiver.h"

static void fcm_conn_free_rcu(struct rcu_head *h)
{
	kfree(container_of(h, struct fcm_conn, rcu));
}

/* Called with c->lock held: marks c dead; true if the caller must unlink it. */
bool fcm_conn_kill(struct fcm_conn *c)
{
	if (c->dead)
		return false;
	c->dead = true;
	return true;
}

void fcm_conn_unlink(struct fcm_rcv_net *rn, struct fcm_conn *c)
{
	rhashtable_remove_fast(&rn->conns, &c->node, fcm_conn_params);
	atomic_dec(&rn->count);
	fcm_stat_inc(rn, expired);
	call_rcu(&c->rcu, fcm_conn_free_rcu);
}

/* The local TCP socket that sent skb, or NULL (a request or timewait socket, a raw or
 * control socket, no socket).
 */
struct sock *fcm_tcp_sk(const struct sk_buff *skb)
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
struct fcm_conn *fcm_conn_get(struct fcm_rcv_net *rn, const struct fcm_key *key, struct sock *sk)
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
struct fcm_conn *fcm_conn_established(struct fcm_rcv_net *rn, struct sk_buff *skb,
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
		c->state = FCM_RECEIVER_CONN_STATE_PRIME;
		c->shift = tp->rx_opt.wscale_ok ? tp->rx_opt.rcv_wscale : 0;
		c->mss = mss ?: TCP_MSS_DEFAULT;
		c->round_start = ktime_get_ns();
	}
	spin_unlock_bh(&c->lock);
	return c;
}

/* ------------------------------------------------------------- expiry */

/* Runs while the table holds entries; each run looks at FCM_GC_BATCH of them at most,
 * going on where the last run stopped, so a full table costs a bounded time a second.
 */
void fcm_gc(struct work_struct *work)
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
