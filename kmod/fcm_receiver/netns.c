// SPDX-License-Identifier: GPL-2.0
/*
 * Per-netns state: the parameters (from the module's on creation), the counters, the
 * connection table and its expiry worker, and the hooks while enabled.
 */

#include <linux/rhashtable.h>
#include <linux/slab.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

#include "receiver.h"

static unsigned int fcm_rcv_net_id __read_mostly;

struct fcm_rcv_net *fcm_rn(struct net *net)
{
	return net_generic(net, fcm_rcv_net_id);
}

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
	rn->p = fcm_rcv_defaults;
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

struct pernet_operations fcm_rcv_net_ops = {
	.init = fcm_rcv_net_init,
	.exit = fcm_rcv_net_exit,
	.id = &fcm_rcv_net_id,
	.size = sizeof(struct fcm_rcv_net),
};
