// SPDX-License-Identifier: GPL-2.0
/*
 * nlkit_smoke's per-netns state: a value and an item table, made with the netns and
 * freed with it.
 */
#include <linux/slab.h>

#include "smoke.h"

unsigned int smoke_net_id __read_mostly;

/* sn->lock held */
void smoke_free_items(struct smoke_net *sn)
{
	struct smoke_item *it;
	unsigned long id;

	xa_for_each(&sn->items, id, it) {
		xa_erase(&sn->items, id);
		kfree(it);
	}
	sn->nitems = 0;
	sn->gen++;
}

static int __net_init smoke_net_init(struct net *net)
{
	struct smoke_net *sn = smoke_pernet(net);

	mutex_init(&sn->lock);
	xa_init(&sn->items);
	/* start from 1 so a fresh dump (cb->prev_seq == 0) is never seen as interrupted */
	sn->gen = 1;
	return 0;
}

static void __net_exit smoke_net_exit(struct net *net)
{
	struct smoke_net *sn = smoke_pernet(net);

	mutex_lock(&sn->lock);
	smoke_free_items(sn);
	mutex_unlock(&sn->lock);
	xa_destroy(&sn->items);
	mutex_destroy(&sn->lock);
}

struct pernet_operations smoke_net_ops = {
	.init = smoke_net_init,
	.exit = smoke_net_exit,
	.id = &smoke_net_id,
	.size = sizeof(struct smoke_net),
};
