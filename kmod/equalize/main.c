// SPDX-License-Identifier: GPL-2.0
/*
 * equalize: per-packet weighted multipath for forwarded traffic on stock kernels.
 *
 * A multipath route flagged RTM_F_EQUALIZE should send successive packets over its
 * nexthops in proportion to their weights. Stock kernels store the flag on IPv4 routes
 * and ignore it (IPv6 drops it); nlkit's kernel patch implements it
 * (patches/linux-6.12, patches/linux-7.3). Without it, this module does it for forwarded
 * packets:
 *
 *   PRE_ROUTING (after DNAT): if the destination is covered by an equalize route (the
 *   flag in the IPv4 FIB) or by a prefix configured through the genl family
 *   "equalize", give the packet a software L4 hash = (per-route packet counter) *
 *   2^32 / golden ratio.
 *   Routing: with fib_multipath_hash_policy 1, fib_multipath_hash() and
 *   rt6_multipath_hash() return a present L4 hash as it is, so the kernel's own
 *   nexthop selection (weights, dead and linkdown nexthops, nexthop groups) walks the
 *   route's hash space in a low-discrepancy sequence: each nexthop gets its weight's
 *   share of the packets, interleaved.
 *   FORWARD: the hash is cleared again, so egress qdiscs (fq, fq_codel) and XPS hash
 *   the packet's real flow.
 *
 * Limits: forwarded traffic only (a socket's own packets carry the socket's hash and
 * their dst is cached); one decision per GRO packet; the hash policy must be 1 in the
 * netns (counted in wrong-policy otherwise; nlkit sets it).
 *
 * This file is the module's load and unload; equalize.h lists the files by concern.
 */
#include <linux/module.h>
#include <net/genetlink.h>

#include "equalize.h"

/* Per-netns state (and its hooks) first, then the family whose handlers read it;
 * unload goes the other way round.
 */
static int __init eq_init(void)
{
	int err;

	err = register_pernet_subsys(&eq_net_ops);
	if (err)
		return err;
	err = genl_register_family(&equalize_nl_family);
	if (err) {
		unregister_pernet_subsys(&eq_net_ops);
		return err;
	}
	pr_info("equalize %s loaded (family %s, ABI %d)\n", NLKIT_VERSION, EQUALIZE_FAMILY_NAME, EQUALIZE_FAMILY_VERSION);
	return 0;
}

static void __exit eq_exit(void)
{
	genl_unregister_family(&equalize_nl_family);
	unregister_pernet_subsys(&eq_net_ops);
	rcu_barrier();	/* prefixes freed by kfree_rcu */
}

module_init(eq_init);
module_exit(eq_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("nlkit developers");
MODULE_DESCRIPTION("equalize: per-packet weighted multipath for forwarded traffic (RTM_F_EQUALIZE on stock kernels)");
MODULE_VERSION(NLKIT_VERSION);
