// SPDX-License-Identifier: GPL-2.0
/*
 * nlkit_smoke: the foundation's smoke module.
 *
 * It registers the generic netlink family "nlkit_smoke" from its spec
 * (netlinkproto/specs/nlkit_smoke.yaml; the ops and policy tables are generated in
 * nlkit_smoke_nl.c) so that the VM runner, the generator and the Go client can prove
 * themselves before any mechanism arrives:
 *  - get-info: the module's version, ABI and build;
 *  - get-value / set-value: a per-netns number; set needs CAP_NET_ADMIN in the
 *    netns's user namespace (GENL_UNS_ADMIN_PERM) and multicasts value-changed;
 *  - add-items / del-items / get-item (do and dump): a per-netns table, large enough
 *    that a dump spans many messages, with NLM_F_DUMP_INTR on concurrent changes.
 *
 * This file is the module's load and unload; smoke.h lists the files by concern.
 */
#include <linux/module.h>
#include <net/genetlink.h>

#include "smoke.h"

/* For tests of the client's ABI check only: register the family with another version. */
static unsigned int fake_abi;
module_param(fake_abi, uint, 0444);
MODULE_PARM_DESC(fake_abi, "testing only: register the family with this version instead of the real ABI");

static int __init smoke_init(void)
{
	int err;

	err = register_pernet_subsys(&smoke_net_ops);
	if (err)
		return err;
	if (fake_abi)
		nlkit_smoke_nl_family.version = fake_abi;
	err = genl_register_family(&nlkit_smoke_nl_family);
	if (err) {
		unregister_pernet_subsys(&smoke_net_ops);
		return err;
	}
	pr_info("nlkit_smoke %s loaded (family %s, ABI %u)\n", NLKIT_VERSION,
		NLKIT_SMOKE_FAMILY_NAME, nlkit_smoke_nl_family.version);
	return 0;
}

static void __exit smoke_exit(void)
{
	genl_unregister_family(&nlkit_smoke_nl_family);
	unregister_pernet_subsys(&smoke_net_ops);
}

module_init(smoke_init);
module_exit(smoke_exit);
MODULE_LICENSE("GPL");
MODULE_AUTHOR("nlkit developers");
MODULE_DESCRIPTION("nlkit smoke module: a generic netlink family generated from its spec");
MODULE_VERSION(NLKIT_VERSION);
MODULE_ALIAS_GENL_FAMILY(NLKIT_SMOKE_FAMILY_NAME);
