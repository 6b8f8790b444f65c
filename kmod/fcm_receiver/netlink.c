// SPDX-License-Identifier: GPL-2.0
/*
 * The generic netlink family "fcm_receiver" (netlinkproto/specs/fcm_receiver.yaml; the
 * policies, the ops table and the family are generated in generated/fcm_receiver_nl.c), per netns:
 *  - get-receiver: the parameters and counters, for anyone in the netns;
 *  - set-receiver: change the parameters (CAP_NET_ADMIN in the netns's user namespace;
 *    raising max-conns above the module parameter, in the initial one);
 *  - get-conn: one tracked connection by its addresses and ports, or (dump) all of them,
 *    for anyone in the netns.
 */

#include <linux/capability.h>
#include <linux/jiffies.h>
#include <net/genetlink.h>
#include <net/ipv6.h>
#include <net/sock.h>

#include <nlkit/genl.h>

#include "receiver.h"
#include "generated/fcm_receiver_nl.h"

static int fcm_put_params(struct sk_buff *skb, const struct fcm_rcv_params *p)
{
	return nla_put_u8(skb, FCM_RECEIVER_A_PARAMS_ENABLED, !!p->enabled) ||
	       nla_put_u32(skb, FCM_RECEIVER_A_PARAMS_ALPHA, p->alpha) ||
	       nla_put_u32(skb, FCM_RECEIVER_A_PARAMS_TAU, p->tau) ||
	       nla_put_u32(skb, FCM_RECEIVER_A_PARAMS_PS_THRESH, p->ps_thresh) ||
	       nla_put_u32(skb, FCM_RECEIVER_A_PARAMS_WEIGHT, p->weight) ||
	       nla_put_u32(skb, FCM_RECEIVER_A_PARAMS_MSS_DELTA, p->mss_delta) ||
	       nla_put_u32(skb, FCM_RECEIVER_A_PARAMS_MAX_CONNS, p->max_conns) ||
	       nla_put_u32(skb, FCM_RECEIVER_A_PARAMS_IDLE_TIMEOUT, p->idle_timeout) ||
	       nla_put_u16(skb, FCM_RECEIVER_A_PARAMS_EXID, p->exid);
}

static int fcm_put64(struct sk_buff *skb, int type, u64 v, int pad)
{
	return nla_put_u64_64bit(skb, type, v, pad);
}

int fcm_receiver_nl_get_receiver_doit(struct sk_buff *skb, struct genl_info *info)
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
	hdr = genlmsg_put(msg, info->snd_portid, info->snd_seq, &fcm_receiver_nl_family, 0,
			  FCM_RECEIVER_CMD_GET_RECEIVER);
	if (!hdr)
		goto nospace;
	nest = nla_nest_start(msg, FCM_RECEIVER_A_RECEIVER_PARAMS);
	if (!nest || fcm_put_params(msg, &p))
		goto nospace;
	nla_nest_end(msg, nest);
	if (nla_put_u32(msg, FCM_RECEIVER_A_RECEIVER_CONNS, atomic_read(&rn->count)) ||
	    fcm_put64(msg, FCM_RECEIVER_A_RECEIVER_TRACKED, t.tracked, FCM_RECEIVER_A_RECEIVER_UNSPEC) ||
	    fcm_put64(msg, FCM_RECEIVER_A_RECEIVER_TABLE_FULL, t.table_full, FCM_RECEIVER_A_RECEIVER_UNSPEC) ||
	    fcm_put64(msg, FCM_RECEIVER_A_RECEIVER_PRICED, t.priced, FCM_RECEIVER_A_RECEIVER_UNSPEC) ||
	    fcm_put64(msg, FCM_RECEIVER_A_RECEIVER_MALFORMED, t.malformed, FCM_RECEIVER_A_RECEIVER_UNSPEC) ||
	    fcm_put64(msg, FCM_RECEIVER_A_RECEIVER_LOWERED, t.lowered, FCM_RECEIVER_A_RECEIVER_UNSPEC) ||
	    fcm_put64(msg, FCM_RECEIVER_A_RECEIVER_MSS_LOWERED, t.mss_lowered, FCM_RECEIVER_A_RECEIVER_UNSPEC) ||
	    fcm_put64(msg, FCM_RECEIVER_A_RECEIVER_EXPIRED, t.expired, FCM_RECEIVER_A_RECEIVER_UNSPEC))
		goto nospace;
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
nospace:
	nlmsg_free(msg);
	return -EMSGSIZE;
}

int fcm_receiver_nl_set_receiver_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct fcm_rcv_net *rn = fcm_rn(genl_info_net(info));
	struct nlattr *tb[FCM_RECEIVER_A_PARAMS_MAX + 1];
	struct fcm_rcv_params p;
	int err;

	if (nlkit_genl_require(info, FCM_RECEIVER_A_RECEIVER_PARAMS, "params are required"))
		return -EINVAL;
	/* already validated against the op's policy (generated/fcm_receiver_nl.c) */
	err = nla_parse_nested(tb, FCM_RECEIVER_A_PARAMS_MAX, info->attrs[FCM_RECEIVER_A_RECEIVER_PARAMS],
			       NULL, info->extack);
	if (err)
		return err;
	mutex_lock(&rn->lock);
	p = rn->p;
#define FCM_SET(f, A) do { if (tb[A]) p.f = nla_get_u32(tb[A]); } while (0)
	FCM_SET(alpha, FCM_RECEIVER_A_PARAMS_ALPHA);
	FCM_SET(tau, FCM_RECEIVER_A_PARAMS_TAU);
	FCM_SET(ps_thresh, FCM_RECEIVER_A_PARAMS_PS_THRESH);
	FCM_SET(weight, FCM_RECEIVER_A_PARAMS_WEIGHT);
	FCM_SET(mss_delta, FCM_RECEIVER_A_PARAMS_MSS_DELTA);
	FCM_SET(max_conns, FCM_RECEIVER_A_PARAMS_MAX_CONNS);
	/* the table's memory is the machine's: only its admin raises the bound */
	if (tb[FCM_RECEIVER_A_PARAMS_MAX_CONNS] && p.max_conns > fcm_rcv_defaults.max_conns &&
	    !netlink_capable(skb, CAP_NET_ADMIN)) {
		NL_SET_ERR_MSG_ATTR(info->extack, tb[FCM_RECEIVER_A_PARAMS_MAX_CONNS],
				    "raising max-conns above the module parameter needs CAP_NET_ADMIN in the initial user namespace");
		mutex_unlock(&rn->lock);
		return -EPERM;
	}
	FCM_SET(idle_timeout, FCM_RECEIVER_A_PARAMS_IDLE_TIMEOUT);
#undef FCM_SET
	if (tb[FCM_RECEIVER_A_PARAMS_EXID])
		p.exid = nla_get_u16(tb[FCM_RECEIVER_A_PARAMS_EXID]);
	if (p.exid && p.mss_delta && p.mss_delta < FCM_EXP_ROOM) {
		NL_SET_ERR_MSG_ATTR(info->extack, tb[FCM_RECEIVER_A_PARAMS_EXID] ?: tb[FCM_RECEIVER_A_PARAMS_MSS_DELTA],
				    "the RFC 6994 option (exid) takes 8 bytes: an mss-delta below 8 leaves routers no room, set it to 8 (or 0)");
		mutex_unlock(&rn->lock);
		return -EINVAL;
	}
	if (tb[FCM_RECEIVER_A_PARAMS_ENABLED])
		p.enabled = nla_get_u8(tb[FCM_RECEIVER_A_PARAMS_ENABLED]);
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

static int fcm_fill_conn(struct sk_buff *skb, u32 portid, u32 seq, int flags, struct fcm_conn *c)
{
	bool v4 = ipv6_addr_v4mapped(&c->key.local);
	unsigned int alen = v4 ? 4 : 16, off = v4 ? 12 : 0;
	u8 state;
	u32 idle;
	void *hdr;
	int pad = FCM_RECEIVER_A_CONN_UNSPEC;

	hdr = genlmsg_put(skb, portid, seq, &fcm_receiver_nl_family, flags, FCM_RECEIVER_CMD_GET_CONN);
	if (!hdr)
		return -EMSGSIZE;
	spin_lock_bh(&c->lock);
	state = c->fin ? FCM_RECEIVER_CONN_STATE_CLOSING : c->state;
	idle = jiffies_to_msecs(jiffies - c->last_seen);
	if (nla_put_u8(skb, FCM_RECEIVER_A_CONN_FAMILY, v4 ? 4 : 6) ||
	    nla_put(skb, FCM_RECEIVER_A_CONN_LOCAL, alen, (u8 *)&c->key.local + off) ||
	    nla_put(skb, FCM_RECEIVER_A_CONN_REMOTE, alen, (u8 *)&c->key.remote + off) ||
	    nla_put_u16(skb, FCM_RECEIVER_A_CONN_LPORT, ntohs(c->key.lport)) ||
	    nla_put_u16(skb, FCM_RECEIVER_A_CONN_RPORT, ntohs(c->key.rport)) ||
	    nla_put_u8(skb, FCM_RECEIVER_A_CONN_STATE, state) ||
	    nla_put_u8(skb, FCM_RECEIVER_A_CONN_WSCALE, c->shift) ||
	    nla_put_u32(skb, FCM_RECEIVER_A_CONN_MSS, c->mss) ||
	    nla_put_u32(skb, FCM_RECEIVER_A_CONN_WINDOW, c->state == FCM_RECEIVER_CONN_STATE_STEADY ? c->w : c->kwin) ||
	    nla_put_u32(skb, FCM_RECEIVER_A_CONN_KERNEL_WINDOW, c->kwin) ||
	    fcm_put64(skb, FCM_RECEIVER_A_CONN_RATE, c->x, pad) ||
	    nla_put_u32(skb, FCM_RECEIVER_A_CONN_PRICE, c->price) ||
	    nla_put_u32(skb, FCM_RECEIVER_A_CONN_SRTT, c->srtt_us) ||
	    fcm_put64(skb, FCM_RECEIVER_A_CONN_RX_BYTES, c->rx_bytes, pad) ||
	    fcm_put64(skb, FCM_RECEIVER_A_CONN_LOWERED, c->lowered, pad) ||
	    nla_put_u32(skb, FCM_RECEIVER_A_CONN_IDLE, idle)) {
		spin_unlock_bh(&c->lock);
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	spin_unlock_bh(&c->lock);
	genlmsg_end(skb, hdr);
	return 0;
}

/* An address attribute of @family (4 or 6) into @a, IPv4 as v4-mapped. */
static int fcm_parse_addr(struct genl_info *info, int type, u8 family, struct in6_addr *a)
{
	const struct nlattr *nla = info->attrs[type];

	if (nla_len(nla) != (family == 4 ? 4 : 16)) {
		NL_SET_ERR_MSG_ATTR(info->extack, nla, "address length does not match the family");
		return -EINVAL;
	}
	if (family == 4)
		ipv6_addr_set_v4mapped(nla_get_in_addr(nla), a);
	else
		nla_memcpy(a, nla, sizeof(*a));
	return 0;
}

/* One connection, by family, local and remote address and port (the dump's key). */
int fcm_receiver_nl_get_conn_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct fcm_rcv_net *rn = fcm_rn(genl_info_net(info));
	struct fcm_key key = {};
	struct sk_buff *msg;
	struct fcm_conn *c;
	u8 family;
	int err;

	if (nlkit_genl_require(info, FCM_RECEIVER_A_CONN_FAMILY, "family is required") ||
	    nlkit_genl_require(info, FCM_RECEIVER_A_CONN_LOCAL, "local address is required") ||
	    nlkit_genl_require(info, FCM_RECEIVER_A_CONN_REMOTE, "remote address is required") ||
	    nlkit_genl_require(info, FCM_RECEIVER_A_CONN_LPORT, "local port is required") ||
	    nlkit_genl_require(info, FCM_RECEIVER_A_CONN_RPORT, "remote port is required"))
		return -EINVAL;
	family = nla_get_u8(info->attrs[FCM_RECEIVER_A_CONN_FAMILY]);
	if (family != 4 && family != 6) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[FCM_RECEIVER_A_CONN_FAMILY], "family must be 4 or 6");
		return -EAFNOSUPPORT;
	}
	err = fcm_parse_addr(info, FCM_RECEIVER_A_CONN_LOCAL, family, &key.local);
	if (!err)
		err = fcm_parse_addr(info, FCM_RECEIVER_A_CONN_REMOTE, family, &key.remote);
	if (err)
		return err;
	key.lport = htons(nla_get_u16(info->attrs[FCM_RECEIVER_A_CONN_LPORT]));
	key.rport = htons(nla_get_u16(info->attrs[FCM_RECEIVER_A_CONN_RPORT]));

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	rcu_read_lock();
	c = rhashtable_lookup(&rn->conns, &key, fcm_conn_params);
	if (c && !READ_ONCE(c->dead))
		err = fcm_fill_conn(msg, info->snd_portid, info->snd_seq, 0, c);
	else
		c = NULL;
	rcu_read_unlock();
	if (!c) {
		NL_SET_ERR_MSG(info->extack, "no such connection");
		err = -ENOENT;
	}
	return nlkit_genl_reply(msg, info, err);
}

/* cb->args[0]: connections already dumped (a resize may repeat or skip some). */
int fcm_receiver_nl_get_conn_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
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
		err = fcm_fill_conn(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq, NLM_F_MULTI, c);
		if (err)
			break;
		cb->args[0] = idx;
	}
	rhashtable_walk_stop(&it);
	rhashtable_walk_exit(&it);
	return nlkit_dump_end(skb, err);
}

int fcm_rcv_genl_register(void)
{
	return genl_register_family(&fcm_receiver_nl_family);
}

void fcm_rcv_genl_unregister(void)
{
	genl_unregister_family(&fcm_receiver_nl_family);
}
