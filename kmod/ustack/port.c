// SPDX-License-Identifier: GPL-2.0
/*
 * A ustack port: an Ethernet netdev (link kind "ustack") that stands for a NIC port a
 * user-level stack drives. Users give it addresses, routes and neighbours with ip; the
 * stack reads them over rtnetlink and pushes its counters and link state back through
 * the genl family (netlink.c), and the device shows them (ip -s link, /proc/net/dev,
 * ethtool -S per queue).
 *
 * The device carries none of the kernel's traffic: what the kernel transmits on it
 * (ARP, IPv6 ND, a ping from the host) is dropped and counted in kernel-dropped and in
 * the device's tx_dropped. mTCP's dpdk-iface takes them too (NETDEV_TX_OK), but
 * neither frees nor counts them; refusing them (NETDEV_TX_BUSY) would only make the
 * kernel retry forever.
 *
 * Ownership: a port belongs to the netlink socket that created it or attached to it.
 * When that socket is released (its process exits or is killed), the netlink
 * notifier below turns the port carrier-off and folds the owner's counters into the
 * port's base, so the totals freeze; a port made with remove-on-close is removed
 * instead (from a work item: the notifier runs without RTNL and may not take it).
 */
#include <linux/etherdevice.h>
#include <linux/ethtool.h>
#include <linux/module.h>
#include <linux/netlink.h>
#include <linux/workqueue.h>
#include <net/rtnetlink.h>

#include <nlkit/compat.h>

#include "ustack.h"

unsigned int ustack_max_ports = 64;
module_param_named(max_ports, ustack_max_ports, uint, 0644);
MODULE_PARM_DESC(max_ports, "most ustack ports a network namespace may have (default 64)");

/* every port of every netns, for the release notifier to find a socket's ports */
static LIST_HEAD(ustack_ports);
static DEFINE_MUTEX(ustack_lock);	/* ustack_ports; taken after RTNL */

static void ustack_reap(struct work_struct *work);
static DECLARE_WORK(ustack_reap_work, ustack_reap);

static int ustack_init(struct net_device *dev)
{
	struct ustack_port *p = netdev_priv(dev);

	ASSERT_RTNL();
	mutex_lock(&ustack_lock);
	list_add_tail(&p->node, &ustack_ports);
	mutex_unlock(&ustack_lock);
	ustack_pernet(dev_net(dev))->nports++;
	return 0;
}

static void ustack_uninit(struct net_device *dev)
{
	struct ustack_port *p = netdev_priv(dev);

	ASSERT_RTNL();
	mutex_lock(&ustack_lock);
	list_del(&p->node);
	mutex_unlock(&ustack_lock);
	ustack_pernet(dev_net(dev))->nports--;
}

static netdev_tx_t ustack_xmit(struct sk_buff *skb, struct net_device *dev)
{
	struct ustack_port *p = netdev_priv(dev);

	atomic64_inc(&p->kernel_dropped);
	kfree_skb(skb);
	return NETDEV_TX_OK;
}

/* the port's totals: earlier owners' counters plus the current owner's */
void ustack_totals(struct ustack_port *p, struct ustack_counters *c)
{
	int i, j;

	spin_lock_bh(&p->lock);
	for (i = 0; i <= USTACK_A_STATS_MAX; i++)
		c->s.v[i] = p->base.s.v[i] + p->cur.s.v[i];
	for (j = 0; j < USTACK_MAX_QUEUES; j++)
		for (i = 0; i <= USTACK_A_QUEUE_MAX; i++)
			c->q[j].v[i] = p->base.q[j].v[i] + p->cur.q[j].v[i];
	spin_unlock_bh(&p->lock);
}

static void ustack_get_stats64(struct net_device *dev, struct rtnl_link_stats64 *s)
{
	struct ustack_port *p = netdev_priv(dev);
	u64 t[USTACK_A_STATS_MAX + 1];
	int i;

	spin_lock_bh(&p->lock);
	for (i = 0; i <= USTACK_A_STATS_MAX; i++)
		t[i] = p->base.s.v[i] + p->cur.s.v[i];
	spin_unlock_bh(&p->lock);
	s->rx_packets = t[USTACK_A_STATS_RX_PACKETS];
	s->rx_bytes = t[USTACK_A_STATS_RX_BYTES];
	s->rx_errors = t[USTACK_A_STATS_RX_ERRORS];
	s->rx_dropped = t[USTACK_A_STATS_RX_DROPPED];
	s->tx_packets = t[USTACK_A_STATS_TX_PACKETS];
	s->tx_bytes = t[USTACK_A_STATS_TX_BYTES];
	s->tx_errors = t[USTACK_A_STATS_TX_ERRORS];
	s->tx_dropped = t[USTACK_A_STATS_TX_DROPPED] + atomic64_read(&p->kernel_dropped);
	s->multicast = t[USTACK_A_STATS_MULTICAST];
}

static const struct net_device_ops ustack_netdev_ops = {
	.ndo_init		= ustack_init,
	.ndo_uninit		= ustack_uninit,
	.ndo_start_xmit		= ustack_xmit,
	.ndo_get_stats64	= ustack_get_stats64,
	.ndo_set_mac_address	= eth_mac_addr,
	.ndo_validate_addr	= eth_validate_addr,
};

/*
 * ethtool -S: per queue, packets then bytes, as virtio_net and most multi-queue
 * drivers name them; then the kernel's own drops.
 */
static int ustack_sset_count(struct net_device *dev, int sset)
{
	if (sset != ETH_SS_STATS)
		return -EOPNOTSUPP;
	return 2 * dev->num_rx_queues + 2 * dev->num_tx_queues + 1;
}

static void ustack_get_strings(struct net_device *dev, u32 sset, u8 *data)
{
	unsigned int q;

	if (sset != ETH_SS_STATS)
		return;
	for (q = 0; q < dev->num_rx_queues; q++) {
		ethtool_sprintf(&data, "rx_queue_%u_packets", q);
		ethtool_sprintf(&data, "rx_queue_%u_bytes", q);
	}
	for (q = 0; q < dev->num_tx_queues; q++) {
		ethtool_sprintf(&data, "tx_queue_%u_packets", q);
		ethtool_sprintf(&data, "tx_queue_%u_bytes", q);
	}
	ethtool_sprintf(&data, "kernel_dropped");
}

static void ustack_get_ethtool_stats(struct net_device *dev, struct ethtool_stats *stats,
				     u64 *data)
{
	struct ustack_port *p = netdev_priv(dev);
	struct ustack_counters *c;
	unsigned int q;

	c = kmalloc(sizeof(*c), GFP_KERNEL);
	if (!c) {
		memset(data, 0, sizeof(u64) * ustack_sset_count(dev, ETH_SS_STATS));
		return;
	}
	ustack_totals(p, c);
	for (q = 0; q < dev->num_rx_queues; q++) {
		*data++ = c->q[q].v[USTACK_A_QUEUE_RX_PACKETS];
		*data++ = c->q[q].v[USTACK_A_QUEUE_RX_BYTES];
	}
	for (q = 0; q < dev->num_tx_queues; q++) {
		*data++ = c->q[q].v[USTACK_A_QUEUE_TX_PACKETS];
		*data++ = c->q[q].v[USTACK_A_QUEUE_TX_BYTES];
	}
	*data = atomic64_read(&p->kernel_dropped);
	kfree(c);
}

static void ustack_get_drvinfo(struct net_device *dev, struct ethtool_drvinfo *info)
{
	strscpy(info->driver, "ustack", sizeof(info->driver));
	strscpy(info->version, NLKIT_VERSION, sizeof(info->version));
}

static void ustack_get_channels(struct net_device *dev, struct ethtool_channels *ch)
{
	ch->max_rx = dev->num_rx_queues;
	ch->max_tx = dev->num_tx_queues;
	ch->rx_count = dev->num_rx_queues;
	ch->tx_count = dev->num_tx_queues;
}

static const struct ethtool_ops ustack_ethtool_ops = {
	.get_drvinfo		= ustack_get_drvinfo,
	.get_link		= ethtool_op_get_link,
	.get_sset_count		= ustack_sset_count,
	.get_strings		= ustack_get_strings,
	.get_ethtool_stats	= ustack_get_ethtool_stats,
	.get_channels		= ustack_get_channels,
};

static void ustack_setup(struct net_device *dev)
{
	struct ustack_port *p = netdev_priv(dev);

	ether_setup(dev);
	p->dev = dev;
	spin_lock_init(&p->lock);
	INIT_LIST_HEAD(&p->node);
	dev->netdev_ops = &ustack_netdev_ops;
	dev->ethtool_ops = &ustack_ethtool_ops;
	dev->needs_free_netdev = true;
	/* nothing to queue for: transmitting is dropping */
	dev->priv_flags |= IFF_NO_QUEUE | IFF_LIVE_ADDR_CHANGE;
	/* bound to its netns: its owner finds it there */
	nlkit_netdev_lltx_netns_local(dev);
	dev->min_mtu = ETH_MIN_MTU;
	dev->max_mtu = ETH_MAX_MTU;
	eth_hw_addr_random(dev);
}

/* ip link add ... type ustack: the address (if any) and the queue counts */
static int ustack_validate(struct nlattr *tb[], struct nlattr *data[],
			   struct netlink_ext_ack *extack)
{
	static const int queues[] = { IFLA_NUM_TX_QUEUES, IFLA_NUM_RX_QUEUES };
	int i;

	if (tb[IFLA_ADDRESS]) {
		if (nla_len(tb[IFLA_ADDRESS]) != ETH_ALEN) {
			NL_SET_ERR_MSG_ATTR(extack, tb[IFLA_ADDRESS], "ustack: the address must be 6 bytes");
			return -EINVAL;
		}
		if (!is_valid_ether_addr(nla_data(tb[IFLA_ADDRESS]))) {
			NL_SET_ERR_MSG_ATTR(extack, tb[IFLA_ADDRESS],
					    "ustack: the address must be a unicast MAC address, not zero");
			return -EADDRNOTAVAIL;
		}
	}
	for (i = 0; i < ARRAY_SIZE(queues); i++) {
		if (tb[queues[i]] && nla_get_u32(tb[queues[i]]) > USTACK_MAX_QUEUES) {
			NL_SET_ERR_MSG_ATTR(extack, tb[queues[i]],
					    "ustack: a port has at most 32 rx and 32 tx queues");
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * Register a port that ustack_alloc() or rtnetlink allocated, within the netns's
 * bound (RTNL held). It starts carrier-off: the stack says when its link is up.
 */
int ustack_register(struct net_device *dev, struct netlink_ext_ack *extack)
{
	ASSERT_RTNL();
	if (ustack_pernet(dev_net(dev))->nports >= READ_ONCE(ustack_max_ports)) {
		NL_SET_ERR_MSG(extack, "ustack: this netns has as many ports as the module's max_ports allows");
		return -ENOSPC;
	}
	netif_carrier_off(dev);
	return register_netdevice(dev);
}

static int ustack_newlink(NLKIT_NEWLINK_ARGS)
{
	/* created by rtnetlink: nobody owns it until a stack attaches */
	return ustack_register(dev, extack);
}

struct rtnl_link_ops ustack_link_ops = {
	.kind		= "ustack",
	.priv_size	= sizeof(struct ustack_port),
	.setup		= ustack_setup,
	.validate	= ustack_validate,
	.newlink	= ustack_newlink,
};

/* a port for new-port, in @net, not yet registered */
struct net_device *ustack_alloc(struct net *net, const char *name, unsigned int txqs,
				unsigned int rxqs)
{
	struct net_device *dev;

	dev = alloc_netdev_mqs(sizeof(struct ustack_port), name ?: "ustack%d",
			       name ? NET_NAME_USER : NET_NAME_ENUM, ustack_setup, txqs, rxqs);
	if (!dev)
		return NULL;
	dev_net_set(dev, net);
	dev->rtnl_link_ops = &ustack_link_ops;
	return dev;
}

/* whether the sender of @info may change @p: its owner, or anyone when nobody owns it */
bool ustack_may_change(const struct ustack_port *p, struct genl_info *info)
{
	lockdep_assert_held(&p->lock);
	return !p->owner || (p->owner == info->snd_portid && p->owner_net == genl_info_net(info));
}

/* an owner's counters become the base the next one's add to (p->lock held) */
static void ustack_fold(struct ustack_port *p)
{
	int i, j;

	for (i = 0; i <= USTACK_A_STATS_MAX; i++)
		p->base.s.v[i] += p->cur.s.v[i];
	for (j = 0; j < USTACK_MAX_QUEUES; j++)
		for (i = 0; i <= USTACK_A_QUEUE_MAX; i++)
			p->base.q[j].v[i] += p->cur.q[j].v[i];
	memset(&p->cur, 0, sizeof(p->cur));
}

/* the sender of @info becomes @p's owner (p->lock held, nobody owning it) */
void ustack_set_owner(struct ustack_port *p, struct genl_info *info)
{
	lockdep_assert_held(&p->lock);
	ustack_fold(p);
	p->owner = info->snd_portid;
	p->owner_net = genl_info_net(info);
	p->owners++;
}

/* remove the ports whose owners closed with remove-on-close */
static void ustack_reap(struct work_struct *work)
{
	struct ustack_port *p;
	LIST_HEAD(kill);

	rtnl_lock();
	mutex_lock(&ustack_lock);
	list_for_each_entry(p, &ustack_ports, node)
		if (READ_ONCE(p->doomed))
			unregister_netdevice_queue(p->dev, &kill);
	mutex_unlock(&ustack_lock);
	/* ndo_uninit takes ustack_lock: unregister after dropping it */
	unregister_netdevice_many(&kill);
	rtnl_unlock();
}

/*
 * A netlink socket is released: its ports go carrier-off with frozen counters, or
 * are removed. It is the socket's last moment, so no request of its can be in flight.
 */
static int ustack_netlink_notify(struct notifier_block *nb, unsigned long event, void *ptr)
{
	struct netlink_notify *n = ptr;
	struct ustack_port *p;
	bool reap = false;

	if (event != NETLINK_URELEASE || n->protocol != NETLINK_GENERIC || !n->portid)
		return NOTIFY_DONE;
	mutex_lock(&ustack_lock);
	list_for_each_entry(p, &ustack_ports, node) {
		spin_lock_bh(&p->lock);
		if (p->owner == n->portid && p->owner_net == n->net) {
			ustack_fold(p);
			p->owner = 0;
			p->owner_net = NULL;
			netif_carrier_off(p->dev);
			if (p->remove_on_close) {
				WRITE_ONCE(p->doomed, true);
				reap = true;
			}
		}
		spin_unlock_bh(&p->lock);
	}
	mutex_unlock(&ustack_lock);
	if (reap)
		schedule_work(&ustack_reap_work);
	return NOTIFY_OK;
}

static struct notifier_block ustack_netlink_nb = {
	.notifier_call = ustack_netlink_notify,
};

int ustack_ports_init(void)
{
	int err;

	err = rtnl_link_register(&ustack_link_ops);
	if (err)
		return err;
	err = netlink_register_notifier(&ustack_netlink_nb);
	if (err)
		rtnl_link_unregister(&ustack_link_ops);
	return err;
}

void ustack_ports_exit(void)
{
	netlink_unregister_notifier(&ustack_netlink_nb);
	cancel_work_sync(&ustack_reap_work);
	/* removes every port of every netns */
	rtnl_link_unregister(&ustack_link_ops);
}

MODULE_ALIAS_RTNL_LINK("ustack");
