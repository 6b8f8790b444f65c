/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fcm_receiver's shared state: per-netns parameters and counters, the connection
 * table, and what each file offers the others.
 *
 *   main.c     load and unload: module parameters, then per-netns state, then family
 *   netns.c    per-netns state (parameters, table, counters) made and torn down
 *   hooks.c    the netfilter hooks: read prices in, lower MSS and windows out
 *   parse.c    a TCP segment and the options the receiver reads
 *   conns.c    the connection table and its expiry
 *   law.c      the control law, once per round
 *   netlink.c  the generic netlink family "fcm_receiver" (generated/: its policies, ops, the family)
 *   selftest.c parser and law self-tests, run at load on the debug kernel
 */
#ifndef _FCM_RECEIVER_H
#define _FCM_RECEIVER_H

#include <linux/in6.h>
#include <linux/mutex.h>
#include <linux/netfilter.h>
#include <linux/percpu.h>
#include <linux/rhashtable.h>
#include <linux/skbuff.h>
#include <linux/tcp.h>
#include <linux/workqueue.h>
#include <net/net_namespace.h>
#include <net/tcp.h>

#include <uapi/linux/fcm.h>		/* the option the routers stamp */
#include <uapi/linux/fcm_receiver.h>

#define FCM_DEFAULT_ROUND_NS	(100 * NSEC_PER_MSEC)
#define FCM_FIN_TIMEOUT		(10 * HZ)
#define FCM_MIN_MSS		88
#define FCM_GC_BATCH		4096	/* entries the worker looks at per run */
#define FCM_MAX_WIN		(65535U << TCP_MAX_WSCALE)	/* the most a TCP window can say */
#define FCM_U_MIN		(-1000000LL)	/* percent: see fcm_round() */
/* The RFC 6994 form takes 8 bytes (two NOPs align it): the MSS must leave that room. */
#define FCM_EXP_ROOM	8

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
	u8 state;		/* FCM_RECEIVER_CONN_STATE_* */
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

static const struct rhashtable_params fcm_conn_params = {
	.key_len = sizeof(struct fcm_key),
	.key_offset = offsetof(struct fcm_conn, key),
	.head_offset = offsetof(struct fcm_conn, node),
	.automatic_shrinking = true,
};

#define fcm_stat_inc(rn, field) this_cpu_inc((rn)->stats->field)

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

/* main.c: the module parameters, which a new netns starts from */
extern struct fcm_rcv_params fcm_rcv_defaults;

/* netns.c */
extern struct pernet_operations fcm_rcv_net_ops;
struct fcm_rcv_net *fcm_rn(struct net *net);

/* parse.c */
void fcm_parse_opts(const u8 *o, unsigned int len, u16 exid, struct fcm_opts *r);
bool fcm_tcp(struct sk_buff *skb, u8 pf, bool out, struct fcm_seg *s);

/* conns.c */
bool fcm_conn_kill(struct fcm_conn *c);
void fcm_conn_unlink(struct fcm_rcv_net *rn, struct fcm_conn *c);
struct sock *fcm_tcp_sk(const struct sk_buff *skb);
struct fcm_conn *fcm_conn_get(struct fcm_rcv_net *rn, const struct fcm_key *key, struct sock *sk);
struct fcm_conn *fcm_conn_established(struct fcm_rcv_net *rn, struct sk_buff *skb,
				      const struct fcm_key *key);
void fcm_gc(struct work_struct *work);

/* law.c */
void fcm_round(struct fcm_rcv_net *rn, struct fcm_conn *c, u64 now);

/* hooks.c */
int fcm_set_enabled(struct fcm_rcv_net *rn, bool on);

/* netlink.c */
int fcm_rcv_genl_register(void);
void fcm_rcv_genl_unregister(void);

/* selftest.c: the parser and the law on hand-made input, at load (NLKIT_SELFTEST) */
#ifdef NLKIT_SELFTEST
bool fcm_rcv_selftest(void);
#endif

#endif /* _FCM_RECEIVER_H */
