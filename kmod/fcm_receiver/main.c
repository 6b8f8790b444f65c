// SPDX-License-Identifier: GPL-2.0
/*
 * fcm_receiver: the module's load and unload, and its parameters (receiver.h lists
 * the files by concern). The module turns the price that FCM routers (sch_fcm) stamp
 * into TCP segments (p(q) of the router's queue, in option 92, or with an exid in the
 * RFC 6994 form: kind 253 or 254 with that ExID) into window control at the receiving
 * host. It needs no other nlkit module.
 *
 * Netfilter hooks, IPv4 and IPv6, per network namespace:
 *  - LOCAL_OUT: on an outgoing SYN or SYN-ACK the MSS option is lowered by mss_delta
 *    (so full-size segments leave the router room for the option) and the connection
 *    enters the table with the window scale it offers; on every other outgoing segment
 *    of a tracked connection the advertised window is lowered to the law's window w
 *    when w is below it (never raised), in units of the connection's window scale.
 *  - LOCAL_IN: incoming segments of tracked connections give the payload received,
 *    the price and a round-trip sample (TSecr against the TSval we sent); a SYN-ACK
 *    tells whether window scaling is on.
 *
 * The control law is in law.c, the connection table in conns.c.
 */

#include <linux/module.h>
#include <net/net_namespace.h>

#include "receiver.h"

#ifndef NLKIT_VERSION
#define NLKIT_VERSION "unknown"
#endif

static bool enable;
module_param(enable, bool, 0444);
MODULE_PARM_DESC(enable, "Act on every netns from its creation (default N: enable per netns with nlkit fcm receiver set enable on)");
static uint alpha = 25;
module_param(alpha, uint, 0444);
MODULE_PARM_DESC(alpha, "Smoothing of the rate estimate, percent per round, 1..100 (default 25)");
static uint tau = 1;
module_param(tau, uint, 0444);
MODULE_PARM_DESC(tau, "Gain of the window law, MSS per round at full error, 1..100 (default 1)");
static uint ps_thresh = 20;
module_param(ps_thresh, uint, 0444);
MODULE_PARM_DESC(ps_thresh, "Prime start ends when the control term is below -ps_thresh percent (default 20)");
static uint weight = 300000;
module_param(weight, uint, 0444);
MODULE_PARM_DESC(weight, "Budget of each connection, kbit/s x price (default 300000)");
static uint mss_delta = 4;
module_param(mss_delta, uint, 0444);
MODULE_PARM_DESC(mss_delta, "Bytes taken off the MSS option of outgoing SYN/SYN-ACK, 0..256 (default 4)");
static uint max_conns = 65536;
module_param(max_conns, uint, 0444);
MODULE_PARM_DESC(max_conns, "Connections tracked per netns, 1..4194304 (default 65536)");
static uint idle_timeout = 120;
module_param(idle_timeout, uint, 0444);
MODULE_PARM_DESC(idle_timeout, "Seconds after which an idle connection is forgotten, 1..86400 (default 120)");
static ushort exid;
module_param(exid, ushort, 0444);
MODULE_PARM_DESC(exid, "0: the price comes in option 92 (default); else in the RFC 6994 form with this ExID (then mss_delta 0 or >= 8)");


struct fcm_rcv_params fcm_rcv_defaults;

/*
 * Parameters first (checked, then what every netns starts from), then per-netns state,
 * then the family whose handlers read it; unload goes the other way round.
 */
static int __init fcm_rcv_init(void)
{
	int err;

#ifdef NLKIT_SELFTEST
	if (!fcm_rcv_selftest())
		return -ENOTRECOVERABLE;
#endif
	if (alpha < 1 || alpha > 100 || tau < 1 || tau > 100 || ps_thresh > 10000 || weight < 1 ||
	    mss_delta > 256 || max_conns < 1 || max_conns > 4194304 || idle_timeout < 1 ||
	    idle_timeout > 86400) {
		pr_err("fcm_receiver: parameter out of range (alpha 1..100, tau 1..100, ps_thresh 0..10000, weight >= 1, mss_delta 0..256, max_conns 1..4194304, idle_timeout 1..86400)\n");
		return -EINVAL;
	}
	if (exid && mss_delta && mss_delta < FCM_EXP_ROOM) {
		pr_err("fcm_receiver: exid (the RFC 6994 option) takes 8 bytes: load with mss_delta=8 (or 0)\n");
		return -EINVAL;
	}
	fcm_rcv_defaults = (struct fcm_rcv_params){
		.enabled = enable, .alpha = alpha, .tau = tau, .ps_thresh = ps_thresh,
		.weight = weight, .mss_delta = mss_delta, .max_conns = max_conns,
		.idle_timeout = idle_timeout, .exid = exid,
	};
	err = register_pernet_subsys(&fcm_rcv_net_ops);
	if (err)
		return err;
	err = fcm_rcv_genl_register();
	if (err) {
		unregister_pernet_subsys(&fcm_rcv_net_ops);
		return err;
	}
	pr_info("fcm_receiver %s loaded (family %s, ABI %u)\n", NLKIT_VERSION,
		FCM_RECEIVER_FAMILY_NAME, FCM_RECEIVER_FAMILY_VERSION);
	return 0;
}

static void __exit fcm_rcv_exit(void)
{
	fcm_rcv_genl_unregister();
	unregister_pernet_subsys(&fcm_rcv_net_ops);
	rcu_barrier();		/* entries freed by call_rcu */
}

module_init(fcm_rcv_init);
module_exit(fcm_rcv_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("nlkit developers");
MODULE_DESCRIPTION("FCM receiver: window control from the queue price FCM routers stamp (TCP option 92 or RFC 6994)");
MODULE_VERSION(NLKIT_VERSION);
/* No MODULE_ALIAS_GENL_FAMILY: a module that rewrites windows is loaded on purpose,
 * not by a query of its family.
 */
