// SPDX-License-Identifier: GPL-2.0
/*
 * equalize's per-netns state: the prefix list, the counters, the netfilter hooks and
 * the FIB notifier that notices IPv4 equalize routes.
 */
#include <linux/slab.h>
#include <net/fib_notifier.h>
#include <net/ip_fib.h>

#include "equalize.h"

unsigned int eq_net_id;

/* FIB notifications of the netns (under RTNL, and a dump of the existing routes when
 * registered): notes that an IPv4 equalize route exists.
 */
static int eq_fib_event(struct notifier_block *nb, unsigned long event, void *ptr)
{
	struct eq_net *en = container_of(nb, struct eq_net, fib_nb);
	struct fib_notifier_info *info = ptr;
	struct fib_entry_notifier_info *fen;

	if (info->family != AF_INET ||
	    (event != FIB_EVENT_ENTRY_REPLACE && event != FIB_EVENT_ENTRY_APPEND))
		return NOTIFY_DONE;
	fen = container_of(info, struct fib_entry_notifier_info, info);
	if (fen->fi && fen->fi->fib_flags & RTM_F_EQUALIZE)
		WRITE_ONCE(en->eq_routes, true);
	return NOTIFY_DONE;
}

static int __net_init eq_net_init(struct net *net)
{
	struct eq_net *en = eq_net(net);
	struct nf_hook_ops *ops;
	int i, err;

	en->net = net;
	mutex_init(&en->lock);
	INIT_LIST_HEAD(&en->prefixes);
	en->stats = alloc_percpu(struct eq_stats);
	if (!en->stats)
		return -ENOMEM;
	ops = kmemdup(eq_hooks_tmpl, sizeof(eq_hooks_tmpl), GFP_KERNEL);
	if (!ops) {
		err = -ENOMEM;
		goto err_stats;
	}
	for (i = 0; i < EQ_NHOOKS; i++)
		ops[i].priv = en;
	en->fib_nb.notifier_call = eq_fib_event;
	err = register_fib_notifier(net, &en->fib_nb, NULL, NULL);
	if (err)
		goto err_ops;
	err = nf_register_net_hooks(net, ops, EQ_NHOOKS);
	if (err)
		goto err_fib;
	en->hooks = ops;
	return 0;
err_fib:
	unregister_fib_notifier(net, &en->fib_nb);
err_ops:
	kfree(ops);
err_stats:
	free_percpu(en->stats);
	return err;
}

static void __net_exit eq_net_exit(struct net *net)
{
	struct eq_net *en = eq_net(net);
	struct eq_prefix *p, *tmp;

	nf_unregister_net_hooks(net, en->hooks, EQ_NHOOKS);	/* waits for hooks in flight */
	kfree(en->hooks);
	unregister_fib_notifier(net, &en->fib_nb);
	list_for_each_entry_safe(p, tmp, &en->prefixes, list) {
		list_del(&p->list);
		kfree(p);
	}
	free_percpu(en->stats);
}

struct pernet_operations eq_net_ops = {
	.init = eq_net_init,
	.exit = eq_net_exit,
	.id = &eq_net_id,
	.size = sizeof(struct eq_net),
};
