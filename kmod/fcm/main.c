// SPDX-License-Identifier: GPL-2.0
/*
 * sch_fcm: the module's load and unload, nothing else. The qdisc is router.c, the
 * option it stamps stamp.c, the generic netlink family's handlers netlink.c, and the
 * family's policies, op table and the family itself generated/fcm_nl.c (from its spec). The receiver
 * half is a module of its own, kmod/fcm_receiver.
 *
 * Per-netns state first (the qdisc ids and /proc/net/fcm_queue that a qdisc's init
 * uses), then the family, then the qdisc; unload goes the other way round.
 */

#include <linux/module.h>
#include <net/genetlink.h>
#include <net/net_namespace.h>
#include <net/pkt_sched.h>

#include <uapi/linux/fcm.h>

#include "fcm.h"

#ifndef NLKIT_VERSION
#define NLKIT_VERSION "unknown"
#endif

static int __init fcm_module_init(void)
{
	int err;

#ifdef NLKIT_SELFTEST
	if (!fcm_selftest())
		return -ENOTRECOVERABLE;
#endif
	err = register_pernet_subsys(&fcm_net_ops);
	if (err)
		return err;
	err = fcm_genl_register();
	if (err)
		goto err_pernet;
	err = register_qdisc(&fcm_qdisc_ops);
	if (err)
		goto err_genl;
	pr_info("sch_fcm %s loaded (family %s, ABI %u)\n", NLKIT_VERSION, FCM_FAMILY_NAME,
		FCM_FAMILY_VERSION);
	return 0;
err_genl:
	fcm_genl_unregister();
err_pernet:
	unregister_pernet_subsys(&fcm_net_ops);
	return err;
}

static void __exit fcm_module_exit(void)
{
	unregister_qdisc(&fcm_qdisc_ops);
	fcm_genl_unregister();
	unregister_pernet_subsys(&fcm_net_ops);
}

module_init(fcm_module_init);
module_exit(fcm_module_exit);
MODULE_LICENSE("GPL");
MODULE_AUTHOR("nlkit developers");
MODULE_DESCRIPTION("FCM router: paced FIFO that stamps its queue's price into TCP segments (option 92)");
MODULE_VERSION(NLKIT_VERSION);
MODULE_ALIAS("net-sch-fcm");
MODULE_ALIAS_GENL_FAMILY(FCM_FAMILY_NAME);
