package scaffold

const specTmpl = `# SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause)
#
# [[.Name]]: a new nlkit mechanism (kmod/[[.Name]]), created by nlgen new. Say here what
# it does and what its attributes mean; this file is the family's single source of
# truth (run go generate ./... after a change).
name: [[.Name]]
protocol: genetlink-legacy
version: 1
doc: [[.Name]]'s per-netns state.
uapi-header: linux/[[.Name]].h
c-family-name: [[.Dash]]-family-name
c-version-name: [[.Dash]]-family-version
kernel-policy: per-op

attribute-sets:
  - name: value
    doc: The per-netns value.
    attributes:
      - name: value
        type: u32
        checks:
          max: 1000000
        doc: A number, 0..1000000.

operations:
  list:
    - name: get-value
      doc: Get the caller's netns's value.
      attribute-set: value
      do:
        # the kernel's YNL generator (per-op policies) needs a request: as mptcp_pm's
        # get-limits, it lists the reply's attributes, which the kernel ignores
        request: &value-attrs
          attributes: [value]
        reply: *value-attrs
    - name: set-value
      doc: Set the caller's netns's value (needs CAP_NET_ADMIN in its user namespace).
      attribute-set: value
      flags: [uns-admin-perm]
      do:
        request:
          attributes: [value]
`

const kbuildTmpl = `# SPDX-License-Identifier: GPL-2.0
obj-m += [[.Name]].o
[[.Name]]-y := main.o state.o netlink.o generated/[[.Name]]_nl.o
`

const headerTmpl = `/* SPDX-License-Identifier: GPL-2.0 */
/*
 * [[.Name]]'s internals shared by its files:
 *   main.c     load and unload: per-netns state, then the family
 *   state.c    the per-netns state
 *   netlink.c  the generic netlink family "[[.Name]]" (generated/: its policies, op table)
 */
#ifndef _[[.Upper]]_H
#define _[[.Upper]]_H

#include <linux/mutex.h>
#include <net/net_namespace.h>

#include <uapi/linux/[[.Name]].h>

struct [[.Name]]_net {
	struct mutex lock;	/* value */
	u32 value;
};

extern struct pernet_operations [[.Name]]_net_ops;
struct [[.Name]]_net *[[.Name]]_pernet(struct net *net);

int [[.Name]]_genl_register(void);
void [[.Name]]_genl_unregister(void);

#endif /* _[[.Upper]]_H */
`

const mainTmpl = `// SPDX-License-Identifier: GPL-2.0
/*
 * [[.Name]]: the module's load and unload, nothing else. Per-netns state first (state.c),
 * then the family whose handlers read it (netlink.c); unload goes the other way round.
 */

#include <linux/module.h>
#include <net/genetlink.h>

#include "[[.Name]].h"

#ifndef NLKIT_VERSION
#define NLKIT_VERSION "unknown"
#endif

static int __init [[.Name]]_module_init(void)
{
	int err;

	err = register_pernet_subsys(&[[.Name]]_net_ops);
	if (err)
		return err;
	err = [[.Name]]_genl_register();
	if (err) {
		unregister_pernet_subsys(&[[.Name]]_net_ops);
		return err;
	}
	pr_info("[[.Name]] %s loaded (family %s, ABI %u)\n", NLKIT_VERSION, [[.Upper]]_FAMILY_NAME,
		[[.Upper]]_FAMILY_VERSION);
	return 0;
}

static void __exit [[.Name]]_module_exit(void)
{
	[[.Name]]_genl_unregister();
	unregister_pernet_subsys(&[[.Name]]_net_ops);
}

module_init([[.Name]]_module_init);
module_exit([[.Name]]_module_exit);
MODULE_LICENSE("GPL");
MODULE_AUTHOR("nlkit developers");
MODULE_DESCRIPTION("[[.Name]]: a new nlkit mechanism");
MODULE_VERSION(NLKIT_VERSION);
MODULE_ALIAS_GENL_FAMILY([[.Upper]]_FAMILY_NAME);
`

const stateTmpl = `// SPDX-License-Identifier: GPL-2.0
/* [[.Name]]'s per-netns state. */

#include <net/netns/generic.h>

#include "[[.Name]].h"

static unsigned int [[.Name]]_net_id __read_mostly;

struct [[.Name]]_net *[[.Name]]_pernet(struct net *net)
{
	return net_generic(net, [[.Name]]_net_id);
}

static int __net_init [[.Name]]_net_init(struct net *net)
{
	mutex_init(&[[.Name]]_pernet(net)->lock);
	return 0;
}

struct pernet_operations [[.Name]]_net_ops = {
	.init = [[.Name]]_net_init,
	.id = &[[.Name]]_net_id,
	.size = sizeof(struct [[.Name]]_net),
};
`

const netlinkTmpl = `// SPDX-License-Identifier: GPL-2.0
/*
 * The generic netlink family "[[.Name]]" (netlinkproto/specs/[[.Name]].yaml; its policies,
 * op table and the family itself, [[.Name]]_nl_family, are generated in
 * generated/[[.Name]]_nl.c): get-value for anyone in the
 * netns, set-value for its admin (GENL_UNS_ADMIN_PERM, from the spec's flags).
 */

#include <net/genetlink.h>

#include <nlkit/genl.h>

#include "[[.Name]].h"
#include "generated/[[.Name]]_nl.h"

int [[.Name]]_nl_get_value_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct [[.Name]]_net *n = [[.Name]]_pernet(genl_info_net(info));
	struct sk_buff *msg;
	void *hdr;
	u32 v;

	mutex_lock(&n->lock);
	v = n->value;
	mutex_unlock(&n->lock);
	msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &[[.Name]]_nl_family, 0, info->genlhdr->cmd);
	if (!hdr || nla_put_u32(msg, [[.Upper]]_A_VALUE_VALUE, v)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

int [[.Name]]_nl_set_value_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct [[.Name]]_net *n = [[.Name]]_pernet(genl_info_net(info));
	const int type = [[.Upper]]_A_VALUE_VALUE;

	if (nlkit_genl_require(info, type, "value is required"))
		return -EINVAL;
	mutex_lock(&n->lock);
	n->value = nla_get_u32(info->attrs[type]);
	mutex_unlock(&n->lock);
	return 0;
}

int [[.Name]]_genl_register(void)
{
	return genl_register_family(&[[.Name]]_nl_family);
}

void [[.Name]]_genl_unregister(void)
{
	genl_unregister_family(&[[.Name]]_nl_family);
}
`

const clientTmpl = `// Package [[.Go]] is the client of the generic netlink family "[[.Name]]" (kmod/[[.Name]]).
// The family's constants, Client, Dial and NewClient are generated ([[.Name]]_gen.go).
package [[.Go]]

import (
	"github.com/mdlayher/netlink"

	"github.com/nlkit/nlkit/netlinkproto/genl"
)

// Value gets the value of the client's network namespace.
func (c *Client) Value() (uint32, error) {
	msgs, err := c.c.Do("get-value", CmdGetValue, nil)
	if err != nil {
		return 0, err
	}
	m, err := genl.One(msgs, FamilyName, "get-value")
	if err != nil {
		return 0, err
	}
	v, err := decodeValueAttrs(m.Data, nil) // generated from the spec's value set
	return v.Value, err
}

// SetValue sets it (CAP_NET_ADMIN in the namespace's user namespace).
func (c *Client) SetValue(v uint32) error {
	ae := netlink.NewAttributeEncoder()
	ae.Uint32(AttrValueValue, v)
	b, err := ae.Encode()
	if err != nil {
		return err
	}
	_, err = c.c.Do("set-value", CmdSetValue, b)
	return err
}
`

const clientTestTmpl = `package [[.Go]]

import (
	"testing"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"

	"github.com/nlkit/nlkit/netlinkproto/genl/genlfake"
)

// SetValue sends the value and Value decodes it, against a fake kernel.
func TestValueRoundTrip(t *testing.T) {
	var value uint32
	k := &genlfake.Kernel{Family: genetlink.Family{Name: FamilyName, ID: 0x30, Version: FamilyVersion},
		Handler: func(r genlfake.Request) ([][]byte, error) {
			ae := netlink.NewAttributeEncoder()
			switch r.Command {
			case CmdSetValue:
				ad, err := netlink.NewAttributeDecoder(r.Attrs)
				if err != nil {
					return nil, err
				}
				for ad.Next() {
					if ad.Type() == AttrValueValue {
						value = ad.Uint32()
					}
				}
				return nil, nil
			default:
				ae.Uint32(AttrValueValue, value)
				b, err := ae.Encode()
				return [][]byte{b}, err
			}
		}}
	c, err := NewClient(k.Dial())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetValue(7); err != nil {
		t.Fatal(err)
	}
	if v, err := c.Value(); err != nil || v != 7 {
		t.Errorf("value %d (%v), want 7", v, err)
	}
}
`

const vmTestTmpl = `//go:build vmtest

package [[.Go]]_test

import (
	"errors"
	"syscall"
	"testing"

	"github.com/mdlayher/netlink"

	"github.com/nlkit/nlkit/netlinkproto/[[.Go]]"
	"github.com/nlkit/nlkit/netlinkproto/genl"
	"github.com/nlkit/nlkit/tests/vm/vmtest"
)

// The value is per network namespace, and the kernel refuses one above the spec's
// maximum (ERANGE) with its message.
func TestValuePerNetns(t *testing.T) {
	vmtest.Require(t)
	tp := vmtest.NewTopo(t, "a", "b")
	ca, err := [[.Go]].DialConfig(&netlink.Config{NetNS: tp.FD("a")})
	if err != nil {
		t.Fatal(err)
	}
	defer ca.Close()
	cb, err := [[.Go]].DialConfig(&netlink.Config{NetNS: tp.FD("b")})
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Close()
	if err := ca.SetValue(7); err != nil {
		t.Fatal(err)
	}
	if v, err := ca.Value(); err != nil || v != 7 {
		t.Errorf("netns a: value %d (%v), want 7", v, err)
	}
	if v, err := cb.Value(); err != nil || v != 0 {
		t.Errorf("netns b: value %d (%v), want 0", v, err)
	}
	err = ca.SetValue(1000001)
	var ge *genl.Error
	// (the spec's max check: the policy refuses with ERANGE and its own message)
	if !errors.As(err, &ge) || !errors.Is(err, syscall.ERANGE) || ge.Message == "" {
		t.Errorf("a value above the maximum: %v, want ERANGE with the kernel's message", err)
	}
}
`

const cliTmpl = `package cmd

import (
	"fmt"
	"strconv"

	"github.com/urfave/cli/v2"

	"github.com/nlkit/nlkit/netlinkproto/[[.Go]]"
)

// nlkit version reports the module and its ABI
func init() { moduleFamilies = append(moduleFamilies, [[.Go]].Family) }

func [[.Camel]]Command() *cli.Command {
	jsonFlag := newJSONFlag()
	return &cli.Command{
		Name:  "[[.Name]]",
		Usage: "[[.Name]]: a new nlkit mechanism",
		Subcommands: []*cli.Command{
			{
				Name:   "show",
				Usage:  "show this netns's value",
				Flags:  []cli.Flag{jsonFlag},
				Action: [[.Camel]]Show,
			},
			{
				Name:      "set",
				Usage:     "set this netns's value (needs CAP_NET_ADMIN)",
				ArgsUsage: "value N",
				Action:    [[.Camel]]Set,
			},
		},
	}
}

func [[.Camel]]Dial() (*[[.Go]].Client, error) {
	c, err := [[.Go]].Dial()
	if err != nil {
		return nil, fail(err)
	}
	return c, nil
}

func [[.Camel]]Show(c *cli.Context) error {
	cl, err := [[.Camel]]Dial()
	if err != nil {
		return err
	}
	defer cl.Close()
	v, err := cl.Value()
	if err != nil {
		return fail(err)
	}
	if jsonOut(c) {
		return printJSON(stdout, map[string]uint32{"value": v})
	}
	fmt.Fprintf(stdout, "value %d\n", v)
	return nil
}

func [[.Camel]]Set(c *cli.Context) error {
	a, err := kv(c.Args().Slice(), "value")
	if err != nil {
		return err
	}
	s, ok := a["value"]
	if !ok {
		return usageErr("[[.Name]] set: value N is required")
	}
	v, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return usageErr("value: %q is not a whole number", s)
	}
	cl, err := [[.Camel]]Dial()
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := cl.SetValue(uint32(v)); err != nil {
		return fail(err)
	}
	return nil
}
`
