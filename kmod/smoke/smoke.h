/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nlkit_smoke's shared state and the files by concern (main.c says what the module does):
 *   main.c     load and unload only
 *   state.c    the per-netns value and item table
 *   netlink.c  the genl family "nlkit_smoke": its handlers
 */
#ifndef _SMOKE_H
#define _SMOKE_H

#include <linux/mutex.h>
#include <linux/xarray.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

#include "generated/nlkit_smoke_nl.h"

#ifndef NLKIT_VERSION
#define NLKIT_VERSION "unknown"
#endif

struct smoke_item {
	u32 id;
	char label[NLKIT_SMOKE_LABEL_MAX_LEN + 1];
};

struct smoke_net {
	struct mutex lock;	/* protects everything below */
	u32 value;
	u64 changes;
	struct xarray items;	/* id -> struct smoke_item */
	u32 nitems;
	unsigned int gen;	/* bumped on every table change, for NLM_F_DUMP_INTR */
};

/* state.c */
extern unsigned int smoke_net_id;
extern struct pernet_operations smoke_net_ops;
void smoke_free_items(struct smoke_net *sn);

static inline struct smoke_net *smoke_pernet(struct net *net)
{
	return net_generic(net, smoke_net_id);
}

#endif /* _SMOKE_H */
