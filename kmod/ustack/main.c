// SPDX-License-Identifier: GPL-2.0
/*
 * ustack: user-level stack ports as netdevs (the kernel part of mTCP's dpdk-iface,
 * over generic netlink instead of ioctl). This file is the module's load and unload,
 * nothing else: per-netns state, then the link kind and the netlink notifier
 * (port.c), then the family whose handlers use them (netlink.c); unload goes the
 * other way round, and removes every port.
 */

#include <linux/module.h>
#include <net/genetlink.h>

#include "ustack.h"

#ifndef NLKIT_VERSION
#define NLKIT_VERSION "unknown"
#endif

static int __init ustack_module_init(void)
{
	int err;

	err = register_pernet_subsys(&ustack_net_ops);
	if (err)
		return err;
	err = ustack_ports_init();
	if (err)
		goto err_pernet;
	err = ustack_genl_register();
	if (err)
		goto err_ports;
	pr_info("ustack %s loaded (family %s, ABI %u)\n", NLKIT_VERSION, USTACK_FAMILY_NAME,
		USTACK_FAMILY_VERSION);
	return 0;

err_ports:
	ustack_ports_exit();
err_pernet:
	unregister_pernet_subsys(&ustack_net_ops);
	return err;
}

static void __exit ustack_module_exit(void)
{
	ustack_genl_unregister();
	ustack_ports_exit();
	unregister_pernet_subsys(&ustack_net_ops);
}

module_init(ustack_module_init);
module_exit(ustack_module_exit);
MODULE_LICENSE("GPL");
MODULE_AUTHOR("nlkit developers");
MODULE_DESCRIPTION("ustack: user-level stack ports as netdevs, their counters and carrier");
MODULE_VERSION(NLKIT_VERSION);
MODULE_ALIAS_GENL_FAMILY(USTACK_FAMILY_NAME);
