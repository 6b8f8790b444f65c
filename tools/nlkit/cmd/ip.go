package cmd

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sort"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/nlkit/nlkit/netlinkproto/equalize"
	"github.com/nlkit/nlkit/netlinkproto/rtnl"
)

func ipCommand() *cli.Command {
	raw := func(name, usage, args string, action cli.ActionFunc) *cli.Command {
		return &cli.Command{Name: name, Usage: usage, ArgsUsage: args, SkipFlagParsing: true, Action: action}
	}
	routeArgs := "[to] PREFIX|default [via ADDR] [dev NAME] [table T] [metric N] [src ADDR] [proto P] [nhid ID] [nexthop via ADDR dev NAME weight W ...] [equalize]"
	return &cli.Command{
		Name:  "ip",
		Usage: "routes and nexthop objects in iproute2's syntax, with per-packet multipath (equalize)",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "4", Usage: "IPv4"},
			&cli.BoolFlag{Name: "6", Usage: "IPv6"},
			newJSONFlag(), newPrettyFlag(),
		},
		Subcommands: []*cli.Command{
			{
				Name:  "route",
				Usage: "add, change, delete and list routes; `equalize` spreads a multipath route's packets one by one",
				Subcommands: []*cli.Command{
					raw("add", "add a route (fails if it exists)", routeArgs, func(c *cli.Context) error { return routeAdd(c, rtnl.RouteAdd) }),
					raw("replace", "add or replace a route", routeArgs, func(c *cli.Context) error { return routeAdd(c, rtnl.RouteReplace) }),
					raw("append", "add a route with the same destination (IPv6 siblings)", routeArgs, func(c *cli.Context) error { return routeAdd(c, rtnl.RouteAppend) }),
					raw("change", "change a route that exists (fails if it does not)", routeArgs, func(c *cli.Context) error { return routeAdd(c, rtnl.RouteChange) }),
					raw("del", "delete a route", routeArgs, routeDel),
					raw("show", "list routes (equalize routes say so, and who spreads them)", "[table T|all] [dev NAME] [PREFIX]", routeShow),
					raw("get", "the route the kernel picks for an address (each call may pick another nexthop of an equalize route)", "ADDR [from ADDR] [iif NAME] [oif NAME] [fibmatch]", routeGet),
				},
			},
			{
				Name:  "nexthop",
				Usage: "nexthop objects and groups (for `route ... nhid ID`)",
				Subcommands: []*cli.Command{
					raw("add", "add a nexthop or a group", "id ID (via ADDR [dev NAME] | dev NAME | blackhole | group ID[,W]/ID[,W]... [type mpath|resilient])", func(c *cli.Context) error { return nexthopAdd(c, false) }),
					raw("replace", "add or replace a nexthop or a group", "id ID ...", func(c *cli.Context) error { return nexthopAdd(c, true) }),
					raw("del", "delete a nexthop", "id ID", nexthopDel),
					raw("show", "list nexthops and groups", "", nexthopShow),
				},
			},
			{
				Name:   "equalize",
				Usage:  "whether this kernel spreads equalize routes (itself, through the module, or not at all), and the module's prefixes and counters",
				Action: equalizeStatus,
				Subcommands: []*cli.Command{
					{Name: "status", Usage: "support and counters", Action: equalizeStatus},
					raw("prefix", "module prefixes: add|del PREFIX, or show", "add|del PREFIX | show", equalizePrefix),
				},
			},
		},
	}
}

// ipFamily is -4/-6 at any level (0: from the addresses).
func ipFamily(c *cli.Context) int {
	for _, l := range c.Lineage() {
		if l.Bool("6") {
			return unix.AF_INET6
		}
		if l.Bool("4") {
			return unix.AF_INET
		}
	}
	return 0
}

// rawArgs are a SkipFlagParsing command's arguments with -j/-4/-6 taken out (iproute2
// users put them anywhere).
func rawArgs(c *cli.Context) (args []string, json bool, fam int) {
	json, fam = jsonOut(c), ipFamily(c)
	for _, a := range c.Args().Slice() {
		switch a {
		case "-j", "-json", "--json":
			json = true
		case "-p", "-pretty", "--pretty": // Run has set prettyJSON: only taken out here
		case "-4":
			fam = unix.AF_INET
		case "-6":
			fam = unix.AF_INET6
		default:
			args = append(args, a)
		}
	}
	return
}

func linkNames(conn *rtnl.Conn) (map[int]string, map[string]int, error) {
	links, err := conn.Links()
	if err != nil {
		return nil, nil, err
	}
	byIdx, byName := map[int]string{}, map[string]int{}
	for _, l := range links {
		byIdx[l.Index] = l.Name
		byName[l.Name] = l.Index
	}
	return byIdx, byName, nil
}

func devIndex(byName map[string]int, name string) (int, error) {
	if name == "" {
		return 0, nil
	}
	if i, ok := byName[name]; ok {
		return i, nil
	}
	return 0, fmt.Errorf("cannot find device %q", name)
}

func sysctlPolicy(fam int) string {
	if fam == unix.AF_INET6 {
		return "/proc/sys/net/ipv6/fib_multipath_hash_policy"
	}
	return "/proc/sys/net/ipv4/fib_multipath_hash_policy"
}

// routeCommand parses an add/replace/del command line, opens rtnetlink and resolves the
// device names of the route and its nexthops; errors are ready to return (exit 2 for bad
// input, 1 for the kernel's refusals).
func routeCommand(args []string, fam int) (routeSpec, *rtnl.Conn, error) {
	spec, err := parseRouteArgs(args, fam)
	if err != nil {
		return spec, nil, usageErr("ip route: %v", err)
	}
	conn, err := rtnl.Dial(0)
	if err != nil {
		return spec, nil, fail(err)
	}
	if err := resolveRouteDevs(conn, &spec); err != nil {
		conn.Close()
		return spec, nil, err
	}
	return spec, conn, nil
}

func resolveRouteDevs(conn *rtnl.Conn, spec *routeSpec) error {
	_, byName, err := linkNames(conn)
	if err != nil {
		return fail(err)
	}
	if spec.Route.Index, err = devIndex(byName, spec.Dev); err != nil {
		return usageErr("ip route: %v", err)
	}
	for i := range spec.Route.Nexthops {
		if spec.Route.Nexthops[i].Index, err = devIndex(byName, spec.NhDevs[i]); err != nil {
			return usageErr("ip route: nexthop %d: %v", i+1, err)
		}
	}
	return nil
}

func routeAdd(c *cli.Context, how rtnl.RouteHow) error {
	args, _, fam := rawArgs(c)
	spec, conn, err := routeCommand(args, fam)
	if err != nil {
		return err
	}
	defer conn.Close()
	var sup equalize.Support
	if spec.Equalize {
		sup = equalize.Detect()
		if sup == equalize.None {
			return cli.Exit("nlkit: ip route: equalize: "+sup.Describe()+"; the route was not added", 1)
		}
		if len(spec.Route.Nexthops) == 1 || (len(spec.Route.Nexthops) == 0 && spec.Route.NHID == 0) {
			fmt.Fprintln(stderr, "nlkit: note: equalize on a route with a single path changes nothing until it has more")
		}
		if sup == equalize.ModuleOnly {
			p := sysctlPolicy(spec.Route.Family)
			if b, err := os.ReadFile(p); err == nil && strings.TrimSpace(string(b)) != "1" {
				if err := os.WriteFile(p, []byte("1"), 0); err != nil {
					return fail(fmt.Errorf("equalize needs %s = 1 for the module: %w", strings.TrimPrefix(p, "/proc/sys/"), err))
				}
				fmt.Fprintf(stderr, "nlkit: set %s = 1 (the equalize module's hash is used only with hash policy 1)\n", strings.ReplaceAll(strings.TrimPrefix(p, "/proc/sys/"), "/", "."))
			}
		}
	}
	if err := conn.AddRoute(spec.Route, how); err != nil {
		return fail(err)
	}
	if !spec.Equalize && how == rtnl.RouteReplace && spec.Route.Family == unix.AF_INET6 && equalize.Detect() == equalize.ModuleOnly &&
		modulePrefixes()[routeDst(spec.Route).String()] {
		// The route replaced an equalize one: the module must stop spreading it.
		if ec, err := equalize.Dial(); err == nil {
			err = ec.DelPrefix(routeDst(spec.Route))
			ec.Close()
			if err != nil {
				return fail(fmt.Errorf("the route was replaced, but the equalize module still spreads %s: %w", routeDst(spec.Route), err))
			}
			fmt.Fprintf(stderr, "nlkit: equalize: the module no longer spreads %s\n", routeDst(spec.Route))
		}
	}
	if spec.Equalize && sup == equalize.ModuleOnly {
		if spec.Route.Family == unix.AF_INET6 {
			// The stock kernel drops the flag on IPv6 routes: the module needs the prefix.
			if err := moduleAddPrefix(routeDst(spec.Route)); err != nil {
				_ = conn.DelRoute(spec.Route)
				return fail(fmt.Errorf("equalize: the module did not take the prefix, so the route was removed again: %w", err))
			}
		}
		fmt.Fprintln(stderr, "nlkit: equalize: "+sup.Describe())
	}
	return nil
}

// routeDst is the route's destination as a prefix (default: 0.0.0.0/0 or ::/0).
func routeDst(r rtnl.Route) *net.IPNet {
	if r.Dst != nil {
		return r.Dst
	}
	if r.Family == unix.AF_INET6 {
		return &net.IPNet{IP: net.IPv6zero, Mask: net.CIDRMask(0, 128)}
	}
	return &net.IPNet{IP: net.IPv4zero.To4(), Mask: net.CIDRMask(0, 32)}
}

func moduleAddPrefix(p *net.IPNet) error {
	ec, err := equalize.Dial()
	if err != nil {
		return err
	}
	defer ec.Close()
	if err := ec.AddPrefix(p); err != nil && !errors.Is(err, syscall.EEXIST) {
		return err
	}
	return nil
}

func routeDel(c *cli.Context) error {
	args, _, fam := rawArgs(c)
	spec, conn, err := routeCommand(args, fam)
	if err != nil {
		return err
	}
	defer conn.Close()
	spec.Route.Flags = 0 // the kernel matches routes by key, not by flags
	if err := conn.DelRoute(spec.Route); err != nil {
		return fail(err)
	}
	// An IPv6 route spread by the module: drop its prefix when no route to it is left.
	if spec.Route.Family == unix.AF_INET6 && equalize.Detect() == equalize.ModuleOnly {
		dst := routeDst(spec.Route)
		left, _ := conn.Routes(unix.AF_INET6, 0)
		for _, r := range left {
			if routeDst(r).String() == dst.String() {
				return nil
			}
		}
		if ec, err := equalize.Dial(); err == nil {
			_ = ec.DelPrefix(dst)
			ec.Close()
		}
	}
	return nil
}

// spreadBy says who spreads a route: "kernel", "module", "ignored" (flag set, nobody
// acts on it) or "".
func spreadBy(r rtnl.Route, sup equalize.Support, prefixes map[string]bool) string {
	switch {
	case r.Equalize() && sup == equalize.Kernel:
		return "kernel"
	case prefixes[routeDst(r).String()]:
		return "module"
	case r.Equalize() && sup == equalize.ModuleOnly && r.Family == unix.AF_INET:
		return "module"
	case r.Equalize():
		return "ignored"
	}
	return ""
}

func modulePrefixes() map[string]bool {
	m := map[string]bool{}
	ec, err := equalize.Dial()
	if err != nil {
		return m
	}
	defer ec.Close()
	ps, _ := ec.Prefixes()
	for _, p := range ps {
		m[p.Net.String()] = true
	}
	return m
}

func routeShow(c *cli.Context) error {
	args, asJSON, fam := rawArgs(c)
	table := uint32(unix.RT_TABLE_MAIN)
	var dev string
	var sel *net.IPNet
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "table", "dev":
			if i+1 >= len(args) {
				return usageErr("ip route show: %q needs a value", args[i])
			}
			v := args[i+1]
			i++
			if args[i-1] == "dev" {
				dev = v
			} else if v == "all" {
				table = 0
			} else {
				t, err := parseTable(v)
				if err != nil {
					return usageErr("ip route show: %v", err)
				}
				table = t
			}
		default:
			p, err := parsePrefix(strings.TrimPrefix(args[i], "to="), fam)
			if err != nil {
				return usageErr("ip route show: %v", err)
			}
			sel = p
		}
	}
	if fam == 0 {
		fam = unix.AF_INET
		if sel != nil {
			fam = familyOfIP(sel.IP)
		}
	}
	conn, err := rtnl.Dial(0)
	if err != nil {
		return fail(err)
	}
	defer conn.Close()
	names, byName, err := linkNames(conn)
	if err != nil {
		return fail(err)
	}
	if _, err := devIndex(byName, dev); err != nil {
		return fail(err) // as ip: Cannot find device, exit 1
	}
	routes, err := conn.Routes(fam, table)
	if err != nil {
		return fail(err)
	}
	sup, prefixes := equalize.Detect(), modulePrefixes()
	var out []routeJSON
	for _, r := range routes {
		if table == unix.RT_TABLE_MAIN && r.Type != unix.RTN_UNICAST && r.Type != unix.RTN_BLACKHOLE &&
			r.Type != unix.RTN_UNREACHABLE && r.Type != unix.RTN_PROHIBIT {
			continue
		}
		if dev != "" && names[r.Index] != dev && !nhOnDev(r, names, dev) {
			continue
		}
		if sel != nil && routeDst(r).String() != sel.String() {
			continue
		}
		j := toJSON(r, names, spreadBy(r, sup, prefixes))
		if table != 0 {
			j.Table = "" // one table asked for: ip does not repeat it
		}
		out = append(out, j)
	}
	if asJSON {
		if out == nil {
			out = []routeJSON{}
		}
		return printJSON(stdout, out)
	}
	for _, j := range out {
		fmt.Fprintln(stdout, routeText(j))
	}
	return nil
}

func nhOnDev(r rtnl.Route, names map[int]string, dev string) bool {
	for _, nh := range r.Nexthops {
		if names[nh.Index] == dev {
			return true
		}
	}
	return false
}

func routeGet(c *cli.Context) error {
	args, asJSON, _ := rawArgs(c)
	var dst, from net.IP
	var iif, oif string
	fibMatch := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch a {
		case "fibmatch":
			fibMatch = true
			continue
		case "from", "iif", "oif", "to":
			if i+1 >= len(args) {
				return usageErr("ip route get: %q needs a value", a)
			}
			v := args[i+1]
			i++
			var err error
			switch a {
			case "from":
				from, err = parseIP(strings.Split(v, "/")[0])
			case "iif":
				iif = v
			case "oif":
				oif = v
			case "to":
				dst, err = parseIP(v)
			}
			if err != nil {
				return usageErr("ip route get: %v", err)
			}
			continue
		}
		ip, err := parseIP(a)
		if err != nil {
			return usageErr("ip route get: %v", err)
		}
		dst = ip
	}
	if dst == nil {
		return usageErr("ip route get: which address?")
	}
	conn, err := rtnl.Dial(0)
	if err != nil {
		return fail(err)
	}
	defer conn.Close()
	names, byName, err := linkNames(conn)
	if err != nil {
		return fail(err)
	}
	ii, err := devIndex(byName, iif)
	if err != nil {
		return usageErr("ip route get: %v", err)
	}
	oi, err := devIndex(byName, oif)
	if err != nil {
		return usageErr("ip route get: %v", err)
	}
	r, err := conn.RouteGet(dst, from, ii, oi, fibMatch)
	if err != nil {
		return fail(err)
	}
	j := toJSON(r, names, spreadBy(r, equalize.Detect(), modulePrefixes()))
	j.Protocol, j.Scope, j.Table = "", "", "" // the lookup's answer, as ip route get prints it
	if asJSON {
		return printJSON(stdout, []routeJSON{j})
	}
	fmt.Fprintln(stdout, routeText(j))
	return nil
}

func nexthopAdd(c *cli.Context, replace bool) error {
	args, _, fam := rawArgs(c)
	n, dev, err := parseNexthopObjArgs(args)
	if err != nil {
		return usageErr("ip nexthop: %v", err)
	}
	if n.ID == 0 {
		return usageErr("ip nexthop: an id is required (id ID)")
	}
	n.Family = fam
	conn, err := rtnl.Dial(0)
	if err != nil {
		return fail(err)
	}
	defer conn.Close()
	_, byName, err := linkNames(conn)
	if err != nil {
		return fail(err)
	}
	if n.Index, err = devIndex(byName, dev); err != nil {
		return usageErr("ip nexthop: %v", err)
	}
	if err := conn.AddNexthop(n, replace); err != nil {
		return fail(err)
	}
	return nil
}

func nexthopDel(c *cli.Context) error {
	args, _, _ := rawArgs(c)
	n, _, err := parseNexthopObjArgs(args)
	if err != nil || n.ID == 0 {
		return usageErr("ip nexthop del: give id ID")
	}
	conn, err := rtnl.Dial(0)
	if err != nil {
		return fail(err)
	}
	defer conn.Close()
	if err := conn.DelNexthop(n.ID); err != nil {
		return fail(err)
	}
	return nil
}

func nexthopShow(c *cli.Context) error {
	_, asJSON, _ := rawArgs(c)
	conn, err := rtnl.Dial(0)
	if err != nil {
		return fail(err)
	}
	defer conn.Close()
	names, _, err := linkNames(conn)
	if err != nil {
		return fail(err)
	}
	nhs, err := conn.Nexthops()
	if err != nil {
		return fail(err)
	}
	sort.Slice(nhs, func(i, j int) bool { return nhs[i].ID < nhs[j].ID })
	if asJSON {
		for i := range nhs {
			nhs[i].Dev = names[nhs[i].Index]
		}
		if nhs == nil {
			nhs = []rtnl.NexthopObj{}
		}
		return printJSON(stdout, nhs)
	}
	for _, n := range nhs {
		var b strings.Builder
		fmt.Fprintf(&b, "id %d", n.ID)
		if len(n.Group) > 0 {
			var ms []string
			for _, m := range n.Group {
				if m.Weight != 1 {
					ms = append(ms, fmt.Sprintf("%d,%d", m.ID, m.Weight))
				} else {
					ms = append(ms, fmt.Sprint(m.ID))
				}
			}
			b.WriteString(" group " + strings.Join(ms, "/"))
			if n.GroupType == rtnl.GroupResilient {
				b.WriteString(" type resilient")
			}
		}
		if n.Gateway != nil {
			b.WriteString(" via " + n.Gateway.String())
		}
		if n.Index != 0 {
			b.WriteString(" dev " + names[n.Index])
		}
		if n.Blackhole {
			b.WriteString(" blackhole")
		}
		for _, f := range nhFlags(uint8(n.Flags)) {
			b.WriteString(" " + f)
		}
		fmt.Fprintln(stdout, b.String())
	}
	return nil
}

type equalizeStatusJSON struct {
	Support string           `json:"support"`
	Detail  string           `json:"detail"`
	Module  *equalize.Status `json:"module,omitempty"`
}

func equalizeStatus(c *cli.Context) error {
	sup := equalize.Detect()
	st := equalizeStatusJSON{Support: sup.String(), Detail: sup.Describe()}
	if ec, err := equalize.Dial(); err == nil {
		s, err := ec.Status()
		ec.Close()
		if err != nil {
			return fail(err)
		}
		st.Module = &s
	}
	if jsonOut(c) {
		return printJSON(stdout, st)
	}
	fmt.Fprintf(stdout, "support: %s (%s)\n", st.Support, st.Detail)
	if m := st.Module; m != nil {
		fmt.Fprintf(stdout, "module: prefixes %d, hashed ipv4 %d ipv6 %d, hash policy ipv4 %d ipv6 %d, packets hashed under another policy %d\n",
			m.Prefixes, m.Hashed4, m.Hashed6, m.Policy4, m.Policy6, m.WrongPolicy)
	}
	return nil
}

func equalizePrefix(c *cli.Context) error {
	args, asJSON, _ := rawArgs(c)
	if len(args) == 0 || args[0] == "show" || args[0] == "list" {
		ec, err := equalize.Dial()
		if err != nil {
			return fail(err)
		}
		defer ec.Close()
		ps, err := ec.Prefixes()
		if err != nil {
			return fail(err)
		}
		if asJSON {
			type pj struct {
				Prefix  string `json:"prefix"`
				Packets uint64 `json:"packets"`
			}
			out := []pj{}
			for _, p := range ps {
				out = append(out, pj{p.Net.String(), p.Packets})
			}
			return printJSON(stdout, out)
		}
		for _, p := range ps {
			fmt.Fprintf(stdout, "%s packets %d\n", p.Net, p.Packets)
		}
		return nil
	}
	if len(args) != 2 || (args[0] != "add" && args[0] != "del") {
		return usageErr("ip equalize prefix: add|del PREFIX, or show")
	}
	p, err := parsePrefix(args[1], 0)
	if err != nil {
		return usageErr("ip equalize prefix: %v", err)
	}
	if p == nil {
		p = &net.IPNet{IP: net.IPv4zero.To4(), Mask: net.CIDRMask(0, 32)}
	}
	ec, err := equalize.Dial()
	if err != nil {
		return fail(err)
	}
	defer ec.Close()
	if args[0] == "add" {
		err = ec.AddPrefix(p)
	} else {
		err = ec.DelPrefix(p)
	}
	if err != nil {
		return fail(err)
	}
	return nil
}
