package cmd

// Parsing and printing of `nlkit ip route` and `nlkit ip nexthop` in iproute2's syntax.
// Device names are resolved by the caller (names here, indexes there).

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/nlkit/nlkit/netlinkproto/rtnl"
)

// routeSpec is a parsed `ip route` command line.
type routeSpec struct {
	Route    rtnl.Route
	Dev      string   // single-path device
	NhDevs   []string // per nexthop
	Equalize bool
	Family   int // forced by -4/-6, else from the addresses
}

func parseIP(s string) (net.IP, error) {
	ip := net.ParseIP(s)
	if ip == nil {
		return nil, fmt.Errorf("%q is not an IP address", s)
	}
	if ip4 := ip.To4(); ip4 != nil {
		return ip4, nil
	}
	return ip, nil
}

// parsePrefix accepts 10.0.0.0/24, 10.0.0.1 (a host route), default.
func parsePrefix(s string, family int) (*net.IPNet, error) {
	if s == "default" || s == "all" || s == "any" {
		if family == unix.AF_INET6 {
			return &net.IPNet{IP: net.IPv6zero, Mask: net.CIDRMask(0, 128)}, nil
		}
		return nil, nil
	}
	if !strings.Contains(s, "/") {
		ip, err := parseIP(s)
		if err != nil {
			return nil, err
		}
		return &net.IPNet{IP: ip, Mask: net.CIDRMask(len(ip)*8, len(ip)*8)}, nil
	}
	ip, n, err := net.ParseCIDR(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not a prefix", s)
	}
	if !ip.Equal(n.IP) {
		return nil, fmt.Errorf("%q has host bits set (did you mean %s?)", s, n)
	}
	if ip4 := n.IP.To4(); ip4 != nil {
		n.IP = ip4
	}
	return n, nil
}

func parseUint(what, s string, max uint64) (uint64, error) {
	v, err := strconv.ParseUint(s, 0, 64)
	if err != nil || v > max {
		return 0, fmt.Errorf("%s %q is not a number in 0..%d", what, s, max)
	}
	return v, nil
}

// parseTable accepts main, local, default or a number.
func parseTable(s string) (uint32, error) {
	switch s {
	case "main":
		return unix.RT_TABLE_MAIN, nil
	case "local":
		return unix.RT_TABLE_LOCAL, nil
	case "default":
		return unix.RT_TABLE_DEFAULT, nil
	}
	v, err := parseUint("table", s, 1<<32-1)
	if err != nil || v == 0 {
		return 0, fmt.Errorf("table %q is not main, local, default or a number 1..4294967295", s)
	}
	return uint32(v), nil
}

// parseRouteArgs parses `[to] PREFIX [via ADDR] [dev NAME] [table T] [metric N] [src ADDR]
// [proto P] [nhid ID] [nexthop via ADDR dev NAME weight W]... [equalize]`. need says whether
// the command needs a destination (every one but show).
func parseRouteArgs(args []string, family int) (routeSpec, error) {
	var s routeSpec
	s.Family = family
	var dst string
	next := func(i *int, what string) (string, error) {
		if *i+1 >= len(args) {
			return "", fmt.Errorf("%q needs a value", what)
		}
		*i++
		return args[*i], nil
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		var v string
		var err error
		switch a {
		case "to":
			if dst, err = next(&i, a); err != nil {
				return s, err
			}
		case "via":
			if v, err = next(&i, a); err != nil {
				return s, err
			}
			if v == "inet" || v == "inet6" {
				if v, err = next(&i, a); err != nil {
					return s, err
				}
			}
			if s.Route.Gateway, err = parseIP(v); err != nil {
				return s, fmt.Errorf("via: %w", err)
			}
		case "dev", "oif":
			if s.Dev, err = next(&i, a); err != nil {
				return s, err
			}
		case "table":
			if v, err = next(&i, a); err != nil {
				return s, err
			}
			if s.Route.Table, err = parseTable(v); err != nil {
				return s, err
			}
		case "metric", "preference", "priority":
			if v, err = next(&i, a); err != nil {
				return s, err
			}
			m, err := parseUint("metric", v, 1<<32-1)
			if err != nil {
				return s, err
			}
			s.Route.Metric = uint32(m)
		case "src":
			if v, err = next(&i, a); err != nil {
				return s, err
			}
			if s.Route.Prefsrc, err = parseIP(v); err != nil {
				return s, fmt.Errorf("src: %w", err)
			}
		case "proto", "protocol":
			if v, err = next(&i, a); err != nil {
				return s, err
			}
			p, err := parseProto(v)
			if err != nil {
				return s, err
			}
			s.Route.Protocol = p
		case "nhid":
			if v, err = next(&i, a); err != nil {
				return s, err
			}
			id, err := parseUint("nhid", v, 1<<32-1)
			if err != nil || id == 0 {
				return s, fmt.Errorf("nhid %q is not a nexthop id 1..4294967295", v)
			}
			s.Route.NHID = uint32(id)
		case "equalize":
			s.Equalize = true
		case "nexthop":
			nh, dev, used, err := parseNexthopArgs(args[i+1:])
			if err != nil {
				return s, fmt.Errorf("nexthop %d: %w", len(s.Route.Nexthops)+1, err)
			}
			s.Route.Nexthops = append(s.Route.Nexthops, nh)
			s.NhDevs = append(s.NhDevs, dev)
			i += used
		default:
			if dst != "" {
				return s, fmt.Errorf("unknown argument %q", a)
			}
			dst = a
		}
	}
	if dst == "" {
		return s, fmt.Errorf("no destination (a prefix, an address or default)")
	}
	fam := s.Family
	if fam == 0 {
		fam = guessFamily(dst, s)
	}
	d, err := parsePrefix(dst, fam)
	if err != nil {
		return s, err
	}
	s.Route.Dst = d
	if d != nil {
		if f := familyOfIP(d.IP); s.Family != 0 && f != s.Family {
			return s, fmt.Errorf("%s is not of the family asked for", dst)
		} else {
			fam = f
		}
	}
	s.Route.Family = fam
	for _, ip := range append([]net.IP{s.Route.Gateway, s.Route.Prefsrc}, nhGateways(s.Route.Nexthops)...) {
		if ip != nil && familyOfIP(ip) != fam {
			return s, fmt.Errorf("%s is not of the route's family", ip)
		}
	}
	if len(s.Route.Nexthops) > 0 && (s.Route.Gateway != nil || s.Dev != "") {
		return s, fmt.Errorf("give either via/dev or nexthop ..., not both")
	}
	if s.Route.NHID != 0 && (s.Route.Gateway != nil || s.Dev != "" || len(s.Route.Nexthops) > 0) {
		return s, fmt.Errorf("nhid cannot be combined with via, dev or nexthop")
	}
	if s.Equalize {
		s.Route.Flags |= rtnl.RTMFEqualize
	}
	return s, nil
}

func nhGateways(nhs []rtnl.Nexthop) []net.IP {
	var out []net.IP
	for _, nh := range nhs {
		out = append(out, nh.Gateway)
	}
	return out
}

func familyOfIP(ip net.IP) int {
	if ip.To4() != nil {
		return unix.AF_INET
	}
	return unix.AF_INET6
}

func guessFamily(dst string, s routeSpec) int {
	if ip, _, err := net.ParseCIDR(dst); err == nil {
		return familyOfIP(ip)
	}
	if ip := net.ParseIP(dst); ip != nil {
		return familyOfIP(ip)
	}
	for _, ip := range append([]net.IP{s.Route.Gateway}, nhGateways(s.Route.Nexthops)...) {
		if ip != nil {
			return familyOfIP(ip)
		}
	}
	return unix.AF_INET
}

// parseNexthopArgs reads `via ADDR dev NAME weight W [onlink]` up to the next "nexthop"
// (or a route keyword); it returns how many arguments it used.
func parseNexthopArgs(args []string) (rtnl.Nexthop, string, int, error) {
	nh := rtnl.Nexthop{Weight: 1}
	var dev string
	i := 0
	for ; i < len(args); i++ {
		switch args[i] {
		case "via", "dev", "weight":
			if i+1 >= len(args) {
				return nh, "", 0, fmt.Errorf("%q needs a value", args[i])
			}
			v := args[i+1]
			switch args[i] {
			case "via":
				ip, err := parseIP(v)
				if err != nil {
					return nh, "", 0, fmt.Errorf("via: %w", err)
				}
				nh.Gateway = ip
			case "dev":
				dev = v
			case "weight":
				w, err := strconv.Atoi(v)
				if err != nil || w < 1 || w > 256 {
					return nh, "", 0, fmt.Errorf("weight %q is not a number in 1..256", v)
				}
				nh.Weight = w
			}
			i++
		case "onlink":
			nh.Flags |= unix.RTNH_F_ONLINK
		default:
			if nh.Gateway == nil && dev == "" {
				return nh, "", 0, fmt.Errorf("needs via ADDR and/or dev NAME")
			}
			return nh, dev, i, nil
		}
	}
	if nh.Gateway == nil && dev == "" {
		return nh, "", 0, fmt.Errorf("needs via ADDR and/or dev NAME")
	}
	return nh, dev, i, nil
}

var protoNames = map[string]uint8{"kernel": unix.RTPROT_KERNEL, "boot": unix.RTPROT_BOOT, "static": unix.RTPROT_STATIC,
	"dhcp": unix.RTPROT_DHCP, "ra": unix.RTPROT_RA, "redirect": unix.RTPROT_REDIRECT}

func parseProto(s string) (uint8, error) {
	if p, ok := protoNames[s]; ok {
		return p, nil
	}
	v, err := parseUint("proto", s, 255)
	if err != nil {
		return 0, fmt.Errorf("proto %q is not kernel, boot, static, dhcp, ra, redirect or 0..255", s)
	}
	return uint8(v), nil
}

func protoName(p uint8) string {
	for n, v := range protoNames {
		if v == p {
			return n
		}
	}
	return strconv.Itoa(int(p))
}

// tableName is a table as ip names it (rt_tables' reserved names, else the number).
func tableName(t uint32) string {
	switch t {
	case unix.RT_TABLE_LOCAL:
		return "local"
	case unix.RT_TABLE_MAIN:
		return "main"
	case unix.RT_TABLE_DEFAULT:
		return "default"
	}
	return strconv.FormatUint(uint64(t), 10)
}

func scopeName(s uint8) string {
	switch s {
	case unix.RT_SCOPE_UNIVERSE:
		return "global"
	case unix.RT_SCOPE_LINK:
		return "link"
	case unix.RT_SCOPE_HOST:
		return "host"
	}
	return strconv.Itoa(int(s))
}

func nhFlags(f uint8) []string {
	var out []string
	if f&unix.RTNH_F_DEAD != 0 {
		out = append(out, "dead")
	}
	if f&unix.RTNH_F_LINKDOWN != 0 {
		out = append(out, "linkdown")
	}
	if f&unix.RTNH_F_ONLINK != 0 {
		out = append(out, "onlink")
	}
	return out
}

// routeJSON is a route as `ip -j route show` prints it, with equalize among the flags.
type routeJSON struct {
	Type     string   `json:"type,omitempty"`
	Dst      string   `json:"dst"`
	Gateway  string   `json:"gateway,omitempty"`
	Dev      string   `json:"dev,omitempty"`
	NHID     uint32   `json:"nhid,omitempty"`
	Protocol string   `json:"protocol,omitempty"` // as ip: not for boot (ip's own routes)
	Scope    string   `json:"scope,omitempty"`    // as ip: not for global
	Prefsrc  string   `json:"prefsrc,omitempty"`
	Metric   uint32   `json:"metric,omitempty"`
	Table    string   `json:"table,omitempty"` // as ip: a name, not for main (nor when one table was asked for)
	Flags    []string `json:"flags"`
	Pref     string   `json:"pref,omitempty"` // IPv6 router preference, as ip
	Nexthops []nhJSON `json:"nexthops,omitempty"`
	Equalize string   `json:"equalize,omitempty"` // kernel, module (or empty)
}

type nhJSON struct {
	Gateway string   `json:"gateway,omitempty"`
	Dev     string   `json:"dev,omitempty"`
	Weight  int      `json:"weight"`
	Flags   []string `json:"flags"`
}

func typeName(t uint8) string {
	switch t {
	case unix.RTN_UNICAST, unix.RTN_UNSPEC:
		return ""
	case unix.RTN_LOCAL:
		return "local"
	case unix.RTN_BROADCAST:
		return "broadcast"
	case unix.RTN_BLACKHOLE:
		return "blackhole"
	case unix.RTN_UNREACHABLE:
		return "unreachable"
	case unix.RTN_PROHIBIT:
		return "prohibit"
	case unix.RTN_MULTICAST:
		return "multicast"
	case unix.RTN_ANYCAST:
		return "anycast"
	}
	return strconv.Itoa(int(t))
}

func dstString(r rtnl.Route) string {
	if r.Dst == nil {
		return "default"
	}
	ones, bits := r.Dst.Mask.Size()
	if ones == 0 {
		return "default"
	}
	if ones == bits {
		return r.Dst.IP.String()
	}
	return r.Dst.String()
}

// toJSON converts a route; names maps ifindex to name; how is "kernel", "module" or ""
// for a route that is spread (the kernel's flag, or the module's prefix).
func toJSON(r rtnl.Route, names map[int]string, how string) routeJSON {
	j := routeJSON{Type: typeName(r.Type), Dst: dstString(r), Dev: names[r.Index], NHID: r.NHID, Metric: r.Metric,
		Flags: []string{}, Equalize: how}
	if r.Protocol != unix.RTPROT_BOOT {
		j.Protocol = protoName(r.Protocol)
	}
	if r.Scope != unix.RT_SCOPE_UNIVERSE {
		j.Scope = scopeName(r.Scope)
	}
	if r.Table != unix.RT_TABLE_MAIN && r.Table != 0 {
		j.Table = tableName(r.Table)
	}
	if r.Pref != nil {
		j.Pref = map[uint8]string{0: "medium", 1: "high", 3: "low"}[*r.Pref]
		if j.Pref == "" {
			j.Pref = strconv.Itoa(int(*r.Pref))
		}
	}
	if r.Gateway != nil {
		j.Gateway = r.Gateway.String()
	}
	if r.Prefsrc != nil {
		j.Prefsrc = r.Prefsrc.String()
	}
	if r.Equalize() || how != "" {
		j.Flags = append(j.Flags, "equalize")
	}
	j.Flags = append(j.Flags, nhFlags(uint8(r.Flags))...)
	for _, nh := range r.Nexthops {
		n := nhJSON{Dev: names[nh.Index], Weight: nh.Weight, Flags: nhFlags(nh.Flags)}
		if n.Flags == nil {
			n.Flags = []string{}
		}
		if nh.Gateway != nil {
			n.Gateway = nh.Gateway.String()
		}
		j.Nexthops = append(j.Nexthops, n)
	}
	return j
}

// routeText is the route in `ip route show` form (multipath nexthops on their own
// lines, tab-indented).
func routeText(j routeJSON) string {
	var b strings.Builder
	if j.Type != "" {
		b.WriteString(j.Type + " ")
	}
	b.WriteString(j.Dst)
	if j.NHID != 0 {
		fmt.Fprintf(&b, " nhid %d", j.NHID)
	}
	if j.Gateway != "" {
		b.WriteString(" via " + j.Gateway)
	}
	if j.Dev != "" {
		b.WriteString(" dev " + j.Dev)
	}
	if j.Table != "" {
		b.WriteString(" table " + j.Table)
	}
	if j.Protocol != "" {
		b.WriteString(" proto " + j.Protocol)
	}
	if j.Scope != "" {
		b.WriteString(" scope " + j.Scope)
	}
	if j.Prefsrc != "" {
		b.WriteString(" src " + j.Prefsrc)
	}
	if j.Metric != 0 {
		fmt.Fprintf(&b, " metric %d", j.Metric)
	}
	for _, f := range j.Flags {
		if f == "equalize" && j.Equalize != "" && j.Equalize != "kernel" {
			f = "equalize(" + j.Equalize + ")" // module, or ignored
		}
		b.WriteString(" " + f)
	}
	if j.Pref != "" {
		b.WriteString(" pref " + j.Pref)
	}
	for _, nh := range j.Nexthops {
		b.WriteString("\n\tnexthop")
		if nh.Gateway != "" {
			b.WriteString(" via " + nh.Gateway)
		}
		if nh.Dev != "" {
			b.WriteString(" dev " + nh.Dev)
		}
		fmt.Fprintf(&b, " weight %d", nh.Weight)
		for _, f := range nh.Flags {
			b.WriteString(" " + f)
		}
	}
	return b.String()
}

// parseNexthopObjArgs parses `id ID [via ADDR] [dev NAME] [blackhole] [group ID[,W]/ID[,W]...
// [type mpath|resilient]]`.
func parseNexthopObjArgs(args []string) (rtnl.NexthopObj, string, error) {
	var n rtnl.NexthopObj
	var dev string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "blackhole" {
			n.Blackhole = true
			continue
		}
		if i+1 >= len(args) {
			return n, "", fmt.Errorf("%q needs a value", a)
		}
		v := args[i+1]
		i++
		switch a {
		case "id":
			id, err := parseUint("id", v, 1<<32-1)
			if err != nil || id == 0 {
				return n, "", fmt.Errorf("id %q is not a number 1..4294967295", v)
			}
			n.ID = uint32(id)
		case "via":
			ip, err := parseIP(v)
			if err != nil {
				return n, "", fmt.Errorf("via: %w", err)
			}
			n.Gateway = ip
		case "dev":
			dev = v
		case "group":
			for _, m := range strings.Split(v, "/") {
				idS, wS, hasW := strings.Cut(m, ",")
				id, err := parseUint("group member", idS, 1<<32-1)
				if err != nil || id == 0 {
					return n, "", fmt.Errorf("group member %q is not a nexthop id", idS)
				}
				w := 1
				if hasW {
					w, err = strconv.Atoi(wS)
					if err != nil || w < 1 || w > 256 {
						return n, "", fmt.Errorf("weight %q of group member %s is not a number in 1..256", wS, idS)
					}
				}
				n.Group = append(n.Group, rtnl.GroupMember{ID: uint32(id), Weight: w})
			}
		case "type":
			switch v {
			case "mpath":
				n.GroupType = rtnl.GroupMpath
			case "resilient":
				n.GroupType = rtnl.GroupResilient
			default:
				return n, "", fmt.Errorf("group type %q is not mpath or resilient", v)
			}
		case "proto", "protocol":
			p, err := parseProto(v)
			if err != nil {
				return n, "", err
			}
			n.Protocol = p
		default:
			return n, "", fmt.Errorf("unknown argument %q", a)
		}
	}
	if len(n.Group) > 0 && (n.Gateway != nil || dev != "" || n.Blackhole) {
		return n, "", fmt.Errorf("a group cannot also have via, dev or blackhole")
	}
	return n, dev, nil
}
