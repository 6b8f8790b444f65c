// SPDX-License-Identifier: GPL-2.0
/*
 * The generic netlink family "ustack" (netlinkproto/specs/ustack.yaml; its policies,
 * op table and the family itself, ustack_nl_family, are generated in
 * generated/ustack_nl.c): get-port for anyone in the netns; new-port, del-port,
 * attach and set-stats for its admin (GENL_UNS_ADMIN_PERM), and of a port that
 * someone owns, for the owner's socket only. A port is looked up in the caller's
 * netns: a socket elsewhere cannot name it, whatever its capabilities.
 */
#include <linux/etherdevice.h>
#include <linux/slab.h>
#include <net/genetlink.h>
#include <net/rtnetlink.h>
#include <net/sock.h>

#include <nlkit/genl.h>

#include "ustack.h"
#include "generated/ustack_nl.h"

/*
 * The port that the request names by ifindex or ifname (both: the same device), in
 * the caller's netns, with a reference; an error pointer with its message otherwise.
 */
static struct net_device *ustack_lookup(struct genl_info *info)
{
	struct nlattr *idx = info->attrs[USTACK_A_PORT_IFINDEX];
	struct nlattr *name = info->attrs[USTACK_A_PORT_IFNAME];
	struct net *net = genl_info_net(info);
	struct net_device *dev;

	if (!idx && !name) {
		NL_SET_ERR_MSG(info->extack, "ustack: ifindex or ifname is required");
		NL_SET_ERR_ATTR_MISS(info->extack, NULL, USTACK_A_PORT_IFINDEX);
		return ERR_PTR(-EINVAL);
	}
	if (idx)
		dev = dev_get_by_index(net, nla_get_u32(idx));
	else
		dev = dev_get_by_name(net, nla_data(name));
	if (!dev) {
		NL_SET_ERR_MSG_ATTR(info->extack, idx ?: name, "ustack: no such device in this netns");
		return ERR_PTR(-ENODEV);
	}
	if (idx && name && strcmp(dev->name, nla_data(name))) {
		dev_put(dev);
		NL_SET_ERR_MSG_ATTR(info->extack, name, "ustack: ifindex and ifname name different devices");
		return ERR_PTR(-EINVAL);
	}
	if (dev->rtnl_link_ops != &ustack_link_ops) {
		dev_put(dev);
		NL_SET_ERR_MSG_ATTR(info->extack, idx ?: name, "ustack: the device is not a ustack port");
		return ERR_PTR(-ENODEV);
	}
	return dev;
}

static int ustack_put_u64(struct sk_buff *skb, int type, u64 v)
{
	return nla_put_u64_64bit(skb, type, v, 0);
}

static int ustack_put_stats(struct sk_buff *skb, const struct ustack_stats *s)
{
	struct nlattr *nest = nla_nest_start(skb, USTACK_A_PORT_STATS);
	int i, err = 0;

	if (!nest)
		return -EMSGSIZE;
	for (i = 1; i <= USTACK_A_STATS_MAX && !err; i++)
		err = ustack_put_u64(skb, i, s->v[i]);
	return nlkit_nest_close(skb, nest, err);
}

static int ustack_put_queue(struct sk_buff *skb, const struct net_device *dev,
			    const struct ustack_qstats *q, unsigned int index)
{
	struct nlattr *nest = nla_nest_start(skb, USTACK_A_PORT_QUEUE);
	int err;

	if (!nest)
		return -EMSGSIZE;
	err = nla_put_u32(skb, USTACK_A_QUEUE_INDEX, index);
	if (!err && index < dev->num_rx_queues)
		err = ustack_put_u64(skb, USTACK_A_QUEUE_RX_PACKETS, q->v[USTACK_A_QUEUE_RX_PACKETS]) ?:
		      ustack_put_u64(skb, USTACK_A_QUEUE_RX_BYTES, q->v[USTACK_A_QUEUE_RX_BYTES]);
	if (!err && index < dev->num_tx_queues)
		err = ustack_put_u64(skb, USTACK_A_QUEUE_TX_PACKETS, q->v[USTACK_A_QUEUE_TX_PACKETS]) ?:
		      ustack_put_u64(skb, USTACK_A_QUEUE_TX_BYTES, q->v[USTACK_A_QUEUE_TX_BYTES]);
	return nlkit_nest_close(skb, nest, err);
}

/* one port's message; @c is scratch for its totals */
static int ustack_fill(struct sk_buff *skb, struct net_device *dev, struct ustack_counters *c,
		       u32 portid, u32 seq, int flags)
{
	struct ustack_port *p = netdev_priv(dev);
	unsigned int q, nq = max(dev->num_rx_queues, dev->num_tx_queues);
	u32 owner, owners;
	bool roc;
	void *hdr;
	int err;

	hdr = genlmsg_put(skb, portid, seq, &ustack_nl_family, flags, USTACK_CMD_GET_PORT);
	if (!hdr)
		return -EMSGSIZE;
	spin_lock_bh(&p->lock);
	owner = p->owner;
	owners = p->owners;
	roc = p->remove_on_close;
	spin_unlock_bh(&p->lock);
	ustack_totals(p, c);
	err = nla_put_u32(skb, USTACK_A_PORT_IFINDEX, dev->ifindex) ?:
	      nla_put_string(skb, USTACK_A_PORT_IFNAME, dev->name) ?:
	      nla_put(skb, USTACK_A_PORT_ADDRESS, ETH_ALEN, dev->dev_addr) ?:
	      nla_put_u32(skb, USTACK_A_PORT_RX_QUEUES, dev->num_rx_queues) ?:
	      nla_put_u32(skb, USTACK_A_PORT_TX_QUEUES, dev->num_tx_queues) ?:
	      (roc ? nla_put_flag(skb, USTACK_A_PORT_REMOVE_ON_CLOSE) : 0) ?:
	      nla_put_u32(skb, USTACK_A_PORT_OWNER, owner) ?:
	      nla_put_u32(skb, USTACK_A_PORT_OWNERS, owners) ?:
	      nla_put_u8(skb, USTACK_A_PORT_CARRIER, netif_carrier_ok(dev)) ?:
	      ustack_put_u64(skb, USTACK_A_PORT_KERNEL_DROPPED, atomic64_read(&p->kernel_dropped)) ?:
	      ustack_put_stats(skb, &c->s);
	for (q = 0; q < nq && !err; q++)
		err = ustack_put_queue(skb, dev, &c->q[q], q);
	if (err) {
		genlmsg_cancel(skb, hdr);
		return err;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

int ustack_nl_get_port_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct ustack_counters *c;
	struct net_device *dev;
	struct sk_buff *msg;
	int err = -ENOMEM;

	dev = ustack_lookup(info);
	if (IS_ERR(dev))
		return PTR_ERR(dev);
	c = kmalloc(sizeof(*c), GFP_KERNEL);
	msg = genlmsg_new(2 * NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (c && msg)
		err = ustack_fill(msg, dev, c, info->snd_portid, info->snd_seq, 0);
	kfree(c);
	dev_put(dev);
	if (!msg)
		return -ENOMEM;
	return nlkit_genl_reply(msg, info, err);
}

/*
 * cb->args[0]: ports of the netns already dumped (the device list is in registration
 * order, not ifindex order: ip link add ... index N may register a low index late).
 * A device registered or unregistered between two parts of the dump marks it
 * NLM_F_DUMP_INTR, as rtnetlink's link dump does.
 */
int ustack_nl_get_port_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct net *net = sock_net(skb->sk);
	struct ustack_counters *c;
	struct net_device *dev;
	long idx = 0;
	int err = 0;

	c = kmalloc(sizeof(*c), GFP_KERNEL);
	if (!c)
		return -ENOMEM;
	rcu_read_lock();
	cb->seq = READ_ONCE(net->dev_base_seq);
	for_each_netdev_rcu(net, dev) {
		if (dev->rtnl_link_ops != &ustack_link_ops)
			continue;
		if (idx++ < cb->args[0])
			continue;
		err = ustack_fill(skb, dev, c, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
				  NLM_F_MULTI);
		if (err)
			break;
		nl_dump_check_consistent(cb, nlmsg_hdr(skb));
		cb->args[0] = idx;
	}
	rcu_read_unlock();
	kfree(c);
	return nlkit_dump_end(skb, err);
}

int ustack_nl_new_port_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *name = info->attrs[USTACK_A_PORT_IFNAME];
	struct nlattr *addr = info->attrs[USTACK_A_PORT_ADDRESS];
	struct nlattr *rxq = info->attrs[USTACK_A_PORT_RX_QUEUES];
	struct nlattr *txq = info->attrs[USTACK_A_PORT_TX_QUEUES];
	struct net *net = genl_info_net(info);
	struct ustack_port *p;
	struct net_device *dev;
	struct sk_buff *msg;
	void *hdr;
	int err;

	if (name && !dev_valid_name(nla_data(name))) {
		NL_SET_ERR_MSG_ATTR(info->extack, name, "ustack: not a valid device name");
		return -EINVAL;
	}
	if (addr && !is_valid_ether_addr(nla_data(addr))) {
		NL_SET_ERR_MSG_ATTR(info->extack, addr,
				    "ustack: the address must be a unicast MAC address, not zero");
		return -EADDRNOTAVAIL;
	}
	msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	rtnl_lock();
	if (name && __dev_get_by_name(net, nla_data(name))) {
		NL_SET_ERR_MSG_ATTR(info->extack, name, "ustack: a device with this name exists");
		err = -EEXIST;
		goto out;
	}
	err = -ENOMEM;
	dev = ustack_alloc(net, name ? nla_data(name) : NULL, txq ? nla_get_u32(txq) : 1,
			   rxq ? nla_get_u32(rxq) : 1);
	if (!dev)
		goto out;
	if (addr)
		eth_hw_addr_set(dev, nla_data(addr));
	p = netdev_priv(dev);
	/* not registered yet: nobody else can see it, the lock is for lockdep's sake */
	spin_lock_bh(&p->lock);
	ustack_set_owner(p, info);
	p->remove_on_close = nla_get_flag(info->attrs[USTACK_A_PORT_REMOVE_ON_CLOSE]);
	spin_unlock_bh(&p->lock);
	err = ustack_register(dev, info->extack);
	if (err) {
		free_netdev(dev);
		goto out;
	}
	hdr = genlmsg_put_reply(msg, info, &ustack_nl_family, 0, USTACK_CMD_NEW_PORT);
	if (!hdr || nla_put_u32(msg, USTACK_A_PORT_IFINDEX, dev->ifindex) ||
	    nla_put_string(msg, USTACK_A_PORT_IFNAME, dev->name)) {
		/* the port is made; only its reply failed */
		err = -EMSGSIZE;
		unregister_netdevice(dev);
		goto out;
	}
	genlmsg_end(msg, hdr);
out:
	rtnl_unlock();
	return nlkit_genl_reply(msg, info, err);
}

int ustack_nl_del_port_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct net_device *dev;
	struct ustack_port *p;
	bool ok;
	int err = 0;

	rtnl_lock();
	dev = ustack_lookup(info);
	if (IS_ERR(dev)) {
		rtnl_unlock();
		return PTR_ERR(dev);
	}
	p = netdev_priv(dev);
	spin_lock_bh(&p->lock);
	ok = ustack_may_change(p, info);
	spin_unlock_bh(&p->lock);
	if (ok) {
		unregister_netdevice(dev);
	} else {
		NL_SET_ERR_MSG(info->extack, "ustack: the port is owned by another netlink socket");
		err = -EPERM;
	}
	dev_put(dev);
	rtnl_unlock();
	return err;
}

int ustack_nl_attach_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct net_device *dev;
	struct ustack_port *p;
	int err = 0;

	dev = ustack_lookup(info);
	if (IS_ERR(dev))
		return PTR_ERR(dev);
	p = netdev_priv(dev);
	spin_lock_bh(&p->lock);
	if (p->doomed) {
		NL_SET_ERR_MSG(info->extack, "ustack: the port is being removed");
		err = -ENODEV;
	} else if (!p->owner) {
		ustack_set_owner(p, info);
	} else if (!ustack_may_change(p, info)) {
		NL_SET_ERR_MSG(info->extack, "ustack: the port is owned by another netlink socket");
		err = -EBUSY;
	}
	spin_unlock_bh(&p->lock);
	dev_put(dev);
	return err;
}

/*
 * The request's counters, checked against the owner's last ones before anything
 * changes: a counter that went down, a queue the port does not have or a queue
 * given twice refuses the whole update.
 */
struct ustack_update {
	struct nlattr *s[USTACK_A_STATS_MAX + 1];
	struct nlattr *q[USTACK_MAX_QUEUES][USTACK_A_QUEUE_MAX + 1];
	u32 queues;	/* bit per queue given */
};

static int ustack_parse_update(struct genl_info *info, struct net_device *dev,
			       struct ustack_update *u)
{
	const struct nlattr *a;
	int rem, err;

	memset(u, 0, sizeof(*u));
	if (info->attrs[USTACK_A_PORT_STATS]) {
		err = nla_parse_nested(u->s, USTACK_A_STATS_MAX, info->attrs[USTACK_A_PORT_STATS],
				       ustack_stats_nl_policy, info->extack);
		if (err)
			return err;
	}
	nlmsg_for_each_attr(a, info->nlhdr, GENL_HDRLEN, rem) {
		struct nlattr *tb[USTACK_A_QUEUE_MAX + 1];
		u32 i;

		if (nla_type(a) != USTACK_A_PORT_QUEUE)
			continue;
		err = nla_parse_nested(tb, USTACK_A_QUEUE_MAX, a, ustack_queue_nl_policy,
				       info->extack);
		if (err)
			return err;
		if (!tb[USTACK_A_QUEUE_INDEX]) {
			NL_SET_ERR_MSG_ATTR(info->extack, a, "ustack: a queue's counters need its index");
			return -EINVAL;
		}
		i = nla_get_u32(tb[USTACK_A_QUEUE_INDEX]);
		if ((tb[USTACK_A_QUEUE_RX_PACKETS] || tb[USTACK_A_QUEUE_RX_BYTES]) &&
		    i >= dev->num_rx_queues) {
			NL_SET_ERR_MSG_ATTR(info->extack, tb[USTACK_A_QUEUE_INDEX],
					    "ustack: the port has no rx queue of this index");
			return -EINVAL;
		}
		if ((tb[USTACK_A_QUEUE_TX_PACKETS] || tb[USTACK_A_QUEUE_TX_BYTES]) &&
		    i >= dev->num_tx_queues) {
			NL_SET_ERR_MSG_ATTR(info->extack, tb[USTACK_A_QUEUE_INDEX],
					    "ustack: the port has no tx queue of this index");
			return -EINVAL;
		}
		if (u->queues & BIT(i)) {
			NL_SET_ERR_MSG_ATTR(info->extack, tb[USTACK_A_QUEUE_INDEX],
					    "ustack: a queue's counters are given twice");
			return -EINVAL;
		}
		u->queues |= BIT(i);
		memcpy(u->q[i], tb, sizeof(tb));
	}
	return 0;
}

/* the first counter of @u below the owner's last value (p->lock held) */
static struct nlattr *ustack_backwards(const struct ustack_port *p, const struct ustack_update *u)
{
	int i, j;

	for (i = 1; i <= USTACK_A_STATS_MAX; i++)
		if (u->s[i] && nla_get_u64(u->s[i]) < p->cur.s.v[i])
			return u->s[i];
	for (j = 0; j < USTACK_MAX_QUEUES; j++)
		for (i = USTACK_A_QUEUE_RX_PACKETS; i <= USTACK_A_QUEUE_MAX; i++)
			if (u->q[j][i] && nla_get_u64(u->q[j][i]) < p->cur.q[j].v[i])
				return u->q[j][i];
	return NULL;
}

int ustack_nl_set_stats_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *carrier = info->attrs[USTACK_A_PORT_CARRIER];
	struct ustack_update *u;
	struct net_device *dev;
	struct ustack_port *p;
	struct nlattr *back;
	int i, j, err;

	dev = ustack_lookup(info);
	if (IS_ERR(dev))
		return PTR_ERR(dev);
	p = netdev_priv(dev);
	err = -ENOMEM;
	u = kmalloc(sizeof(*u), GFP_KERNEL);
	if (!u)
		goto out;
	err = ustack_parse_update(info, dev, u);
	if (err)
		goto out;
	spin_lock_bh(&p->lock);
	if (!ustack_may_change(p, info)) {
		NL_SET_ERR_MSG(info->extack, "ustack: the port is owned by another netlink socket");
		err = -EPERM;
		goto unlock;
	}
	back = ustack_backwards(p, u);
	if (back) {
		NL_SET_ERR_MSG_ATTR(info->extack, back,
				    "ustack: a counter went backwards (below the value it last had)");
		err = -EINVAL;
		goto unlock;
	}
	for (i = 1; i <= USTACK_A_STATS_MAX; i++)
		if (u->s[i])
			p->cur.s.v[i] = nla_get_u64(u->s[i]);
	for (j = 0; j < USTACK_MAX_QUEUES; j++)
		for (i = USTACK_A_QUEUE_RX_PACKETS; i <= USTACK_A_QUEUE_MAX; i++)
			if (u->q[j][i])
				p->cur.q[j].v[i] = nla_get_u64(u->q[j][i]);
	/* under the lock, so that an owner's release (carrier off) cannot interleave */
	if (carrier && nla_get_u8(carrier))
		netif_carrier_on(dev);
	else if (carrier)
		netif_carrier_off(dev);
unlock:
	spin_unlock_bh(&p->lock);
out:
	kfree(u);
	dev_put(dev);
	return err;
}

int ustack_genl_register(void)
{
	return genl_register_family(&ustack_nl_family);
}

void ustack_genl_unregister(void)
{
	genl_unregister_family(&ustack_nl_family);
}
