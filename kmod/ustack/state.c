// SPDX-License-Identifier: GPL-2.0
/* ustack's per-netns state: how many ports the netns has (the max_ports bound). */

#include <net/netns/generic.h>

#include "ustack.h"

static unsigned int ustack_net_id __read_mostly;

struct ustack_net *ustack_pernet(struct net *net)
{
	return net_generic(net, ustack_net_id);
}

struct pernet_operations ustack_net_ops = {
	.id = &ustack_net_id,
	.size = sizeof(struct ustack_net),
};
