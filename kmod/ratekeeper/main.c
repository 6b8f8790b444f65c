// SPDX-License-Identifier: GPL-2.0
/*
 * sch_ratekeeper: the module's load and unload, nothing else. The qdisc (shaper and
 * rate monitor) is qdisc.c, the generic netlink family's handlers netlink.c, and the
 * family's policies, op table and the family itself generated/ratekeeper_nl.c (from its spec).
 *
 * The family registers first: a qdisc, once it can be created, sends its congestion
 * events on it. Unload goes the other way round.
 */

#include <linux/module.h>
#include <net/genetlink.h>
#include <net/pkt_sched.h>

#include <uapi/linux/ratekeeper.h>

#include "ratekeeper.h"

#ifndef NLKIT_VERSION
#define NLKIT_VERSION "unknown"
#endif

static int __init rk_module_init(void)
{
	int err;

#ifdef NLKIT_SELFTEST
	if (!rk_selftest())
		return -ENOTRECOVERABLE;
#endif
	err = rk_genl_register();
	if (err)
		return err;
	err = register_qdisc(&rk_qdisc_ops);
	if (err) {
		rk_genl_unregister();
		return err;
	}
	pr_info("sch_ratekeeper %s loaded (family %s, ABI %u)\n", NLKIT_VERSION,
		RATEKEEPER_FAMILY_NAME, RATEKEEPER_FAMILY_VERSION);
	return 0;
}

static void __exit rk_module_exit(void)
{
	unregister_qdisc(&rk_qdisc_ops);
	rk_genl_unregister();
}

module_init(rk_module_init);
module_exit(rk_module_exit);
MODULE_LICENSE("GPL");
MODULE_AUTHOR("nlkit developers");
MODULE_DESCRIPTION("ratekeeper: tenant bandwidth guarantees (shaper, rate monitor, congestion events)");
MODULE_VERSION(NLKIT_VERSION);
MODULE_ALIAS("net-sch-ratekeeper");
MODULE_ALIAS_GENL_FAMILY(RATEKEEPER_FAMILY_NAME);
