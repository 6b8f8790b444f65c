package rtnl

// Routes are written here, not through jsimonetti/rtnetlink: nlkit sets and reads rtm_flags
// bits it does not know (RTM_F_EQUALIZE, the patch series' flag) and multipath
// routes over nexthop objects (RTA_NH_ID).

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// ---- routes ---------------------------------------------------------------------------
//
// Routes are encoded here rather than through a route library because nlkit needs two
// things those leave out: rtm_flags (RTM_F_EQUALIZE) and RTA_NH_ID (routes that use a
// nexthop object or group).

// RTMFEqualize is RTM_F_EQUALIZE: spread the route's packets over its nexthops one by
// one (honoured by kernels with nlkit's patch, or for forwarded traffic by the equalize
// module; see package equalize).
const RTMFEqualize = unix.RTM_F_EQUALIZE

const rtaNHID = 30 // RTA_NH_ID (not in x/sys/unix)

// Nexthop is one path of a multipath route (struct rtnexthop and its attributes).
type Nexthop struct {
	Gateway net.IP `json:"gateway,omitempty"`
	Index   int    `json:"-"`
	Dev     string `json:"dev,omitempty"`
	Weight  int    `json:"weight"` // 1..256
	Flags   uint8  `json:"-"`      // RTNH_F_*: dead, linkdown, onlink
}

// Route is a route as rtnetlink carries it.
type Route struct {
	Family   int        `json:"-"`
	Dst      *net.IPNet `json:"-"` // nil: the default route
	Table    uint32     `json:"table"`
	Protocol uint8      `json:"-"`
	Scope    uint8      `json:"-"`
	Type     uint8      `json:"-"`
	Metric   uint32     `json:"metric,omitempty"`
	Flags    uint32     `json:"-"` // rtm_flags, with RTMFEqualize among them
	Gateway  net.IP     `json:"gateway,omitempty"`
	Index    int        `json:"-"` // output device of a single-path route
	Dev      string     `json:"dev,omitempty"`
	Prefsrc  net.IP     `json:"prefsrc,omitempty"`
	NHID     uint32     `json:"nhid,omitempty"`
	Nexthops []Nexthop  `json:"multipath,omitempty"`
	Pref     *uint8     `json:"-"` // RTA_PREF (IPv6 router preference), as the kernel reports it
}

// Equalize reports whether the route carries RTM_F_EQUALIZE.
func (r Route) Equalize() bool { return r.Flags&RTMFEqualize != 0 }

// RouteHow says what an add does when the route exists (NLM_F_EXCL, NLM_F_REPLACE).
type RouteHow int

const (
	RouteAdd     RouteHow = iota // create, fail if it exists
	RouteReplace                 // create or replace
	RouteAppend                  // add another route with the same key (IPv6 siblings)
	RouteChange                  // replace, fail if it does not exist (ip route change)
)

func familyOf(ip net.IP) int {
	if ip.To4() != nil {
		return unix.AF_INET
	}
	return unix.AF_INET6
}

func ipBytes(family int, ip net.IP) []byte {
	if family == unix.AF_INET {
		return ip.To4()
	}
	return ip.To16()
}

func (r *Route) family() int {
	switch {
	case r.Family != 0:
		return r.Family
	case r.Dst != nil:
		return familyOf(r.Dst.IP)
	case r.Gateway != nil:
		return familyOf(r.Gateway)
	}
	for _, nh := range r.Nexthops {
		if nh.Gateway != nil {
			return familyOf(nh.Gateway)
		}
	}
	return unix.AF_INET
}

// rtmsg is struct rtmsg.
func rtmsg(family int, dstLen uint8, table uint32, protocol, scope, typ uint8, flags uint32) []byte {
	b := make([]byte, unix.SizeofRtMsg)
	b[0] = byte(family)
	b[1] = dstLen
	if table < 256 {
		b[4] = byte(table)
	} else {
		b[4] = unix.RT_TABLE_COMPAT
	}
	b[5] = protocol
	b[6] = scope
	b[7] = typ
	binary.NativeEndian.PutUint32(b[8:], flags)
	return b
}

func (r *Route) encode(forDelete bool) ([]byte, error) {
	fam := r.family()
	dstLen := uint8(0)
	if r.Dst != nil {
		ones, _ := r.Dst.Mask.Size()
		dstLen = uint8(ones)
	}
	table := r.Table
	if table == 0 {
		table = unix.RT_TABLE_MAIN
	}
	proto, scope, typ := r.Protocol, r.Scope, r.Type
	if !forDelete {
		if proto == 0 {
			proto = unix.RTPROT_BOOT
		}
		if typ == 0 {
			typ = unix.RTN_UNICAST
		}
		if scope == 0 && typ == unix.RTN_UNICAST && r.Gateway == nil && len(r.Nexthops) == 0 && r.NHID == 0 {
			scope = unix.RT_SCOPE_LINK
		}
	} else if scope == 0 {
		scope = unix.RT_SCOPE_NOWHERE
	}
	ae := netlink.NewAttributeEncoder()
	ae.Uint32(unix.RTA_TABLE, table)
	if r.Dst != nil {
		ae.Bytes(unix.RTA_DST, ipBytes(fam, r.Dst.IP))
	}
	if r.Metric != 0 {
		ae.Uint32(unix.RTA_PRIORITY, r.Metric)
	}
	if r.Prefsrc != nil {
		ae.Bytes(unix.RTA_PREFSRC, ipBytes(fam, r.Prefsrc))
	}
	if r.NHID != 0 {
		ae.Uint32(rtaNHID, r.NHID)
	}
	if r.Gateway != nil {
		if familyOf(r.Gateway) != fam {
			return nil, fmt.Errorf("gateway %s is not of the route's family", r.Gateway)
		}
		ae.Bytes(unix.RTA_GATEWAY, ipBytes(fam, r.Gateway))
	}
	if r.Index != 0 {
		ae.Uint32(unix.RTA_OIF, uint32(r.Index))
	}
	if len(r.Nexthops) > 0 {
		mp, err := encodeMultipath(fam, r.Nexthops)
		if err != nil {
			return nil, err
		}
		ae.Bytes(unix.RTA_MULTIPATH, mp)
	}
	attrs, err := ae.Encode()
	if err != nil {
		return nil, err
	}
	return append(rtmsg(fam, dstLen, table, proto, scope, typ, r.Flags), attrs...), nil
}

// encodeMultipath is RTA_MULTIPATH: a struct rtnexthop per path, each followed by its
// own attributes (RTA_GATEWAY).
func encodeMultipath(fam int, nhs []Nexthop) ([]byte, error) {
	var out []byte
	for i, nh := range nhs {
		if nh.Weight < 1 || nh.Weight > 256 {
			return nil, fmt.Errorf("nexthop %d: weight %d out of range 1..256", i+1, nh.Weight)
		}
		var attrs []byte
		if nh.Gateway != nil {
			if familyOf(nh.Gateway) != fam {
				return nil, fmt.Errorf("nexthop %d: gateway %s is not of the route's family", i+1, nh.Gateway)
			}
			ae := netlink.NewAttributeEncoder()
			ae.Bytes(unix.RTA_GATEWAY, ipBytes(fam, nh.Gateway))
			b, err := ae.Encode()
			if err != nil {
				return nil, err
			}
			attrs = b
		}
		l := unix.SizeofRtNexthop + len(attrs)
		h := make([]byte, unix.SizeofRtNexthop)
		binary.NativeEndian.PutUint16(h[0:], uint16(l))
		h[2] = nh.Flags
		h[3] = byte(nh.Weight - 1) // rtnh_hops is the weight minus one
		binary.NativeEndian.PutUint32(h[4:], uint32(nh.Index))
		out = append(out, h...)
		out = append(out, attrs...)
		for len(out)%4 != 0 {
			out = append(out, 0)
		}
	}
	return out, nil
}

// AddRoute adds (or replaces, or appends) a route.
func (c *Conn) AddRoute(r Route, how RouteHow) error {
	b, err := r.encode(false)
	if err != nil {
		return err
	}
	flags := netlink.Acknowledge | netlink.Create
	switch how {
	case RouteAdd:
		flags |= netlink.Excl
	case RouteReplace:
		flags |= netlink.Replace
	case RouteAppend:
		flags |= netlink.Append
	case RouteChange:
		flags = netlink.Acknowledge | netlink.Replace
	}
	_, err = c.execute("add route", unix.RTM_NEWROUTE, flags, b)
	return err
}

// DelRoute deletes the route r names (its destination, table and, when given, metric,
// gateway, device and nexthops narrow the match).
func (c *Conn) DelRoute(r Route) error {
	b, err := r.encode(true)
	if err != nil {
		return err
	}
	_, err = c.execute("delete route", unix.RTM_DELROUTE, netlink.Acknowledge, b)
	return err
}

func decodeRoute(b []byte) (Route, error) {
	if len(b) < unix.SizeofRtMsg {
		return Route{}, errors.New("short rtmsg")
	}
	r := Route{Family: int(b[0]), Table: uint32(b[4]), Protocol: b[5], Scope: b[6], Type: b[7],
		Flags: binary.NativeEndian.Uint32(b[8:])}
	dstLen := int(b[1])
	ad, err := netlink.NewAttributeDecoder(b[unix.SizeofRtMsg:])
	if err != nil {
		return Route{}, err
	}
	for ad.Next() {
		switch ad.Type() {
		case unix.RTA_TABLE:
			r.Table = ad.Uint32()
		case unix.RTA_DST:
			ip := net.IP(ad.Bytes())
			r.Dst = &net.IPNet{IP: ip, Mask: net.CIDRMask(dstLen, len(ip)*8)}
		case unix.RTA_PRIORITY:
			r.Metric = ad.Uint32()
		case unix.RTA_PREFSRC:
			r.Prefsrc = net.IP(ad.Bytes())
		case unix.RTA_GATEWAY:
			r.Gateway = net.IP(ad.Bytes())
		case unix.RTA_OIF:
			r.Index = int(ad.Uint32())
		case rtaNHID:
			r.NHID = ad.Uint32()
		case unix.RTA_PREF:
			p := ad.Uint8()
			r.Pref = &p
		case unix.RTA_MULTIPATH:
			nhs, err := decodeMultipath(ad.Bytes())
			if err != nil {
				return Route{}, err
			}
			r.Nexthops = nhs
		}
	}
	if err := ad.Err(); err != nil {
		return Route{}, err
	}
	if r.Dst == nil && dstLen != 0 {
		return Route{}, fmt.Errorf("route with prefix length %d but no destination", dstLen)
	}
	return r, nil
}

func decodeMultipath(b []byte) ([]Nexthop, error) {
	var nhs []Nexthop
	for len(b) >= unix.SizeofRtNexthop {
		l := int(binary.NativeEndian.Uint16(b[0:]))
		if l < unix.SizeofRtNexthop || l > len(b) {
			return nil, fmt.Errorf("bad rtnexthop length %d", l)
		}
		nh := Nexthop{Flags: b[2], Weight: int(b[3]) + 1, Index: int(binary.NativeEndian.Uint32(b[4:]))}
		if l > unix.SizeofRtNexthop {
			ad, err := netlink.NewAttributeDecoder(b[unix.SizeofRtNexthop:l])
			if err != nil {
				return nil, err
			}
			for ad.Next() {
				if ad.Type() == unix.RTA_GATEWAY {
					nh.Gateway = net.IP(ad.Bytes())
				}
			}
			if err := ad.Err(); err != nil {
				return nil, err
			}
		}
		nhs = append(nhs, nh)
		adv := (l + 3) &^ 3
		if adv > len(b) {
			adv = len(b)
		}
		b = b[adv:]
	}
	return nhs, nil
}

// Routes dumps the routes of a family (AF_INET, AF_INET6 or 0 for both) in a table (0:
// every table). Cached (cloned) IPv6 routes are left out, as `ip route show` does.
func (c *Conn) Routes(family int, table uint32) ([]Route, error) {
	all, err := dumpStrict(c, "dump routes", unix.RTM_GETROUTE, rtmsg(family, 0, 0, 0, 0, 0, 0), unix.RTM_NEWROUTE, decodeRoute)
	if err != nil {
		return nil, err
	}
	var out []Route
	for _, r := range all {
		if r.Flags&unix.RTM_F_CLONED == 0 && (table == 0 || r.Table == table) {
			out = append(out, r)
		}
	}
	return out, nil
}

// dumpStrict dumps with request req and decodes every message of type want; one that
// does not decode fails the dump (a listing that silently drops routes would mislead).
func dumpStrict[T any](c *Conn, op string, typ netlink.HeaderType, req []byte, want netlink.HeaderType, decode func([]byte) (T, error)) ([]T, error) {
	msgs, err := c.execute(op, typ, netlink.Dump, req)
	if err != nil {
		return nil, err
	}
	var out []T
	for _, m := range msgs {
		if m.Header.Type != want {
			continue
		}
		v, err := decode(m.Data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// RouteGet asks the kernel which route it would use for dst (`ip route get`): from
// (source), iif and oif are optional. With fibMatch the whole matching FIB entry comes
// back instead of the resolved path.
func (c *Conn) RouteGet(dst, from net.IP, iif, oif int, fibMatch bool) (Route, error) {
	fam := familyOf(dst)
	bits := 32
	if fam == unix.AF_INET6 {
		bits = 128
	}
	var flags uint32
	if fibMatch {
		flags = unix.RTM_F_FIB_MATCH
	}
	ae := netlink.NewAttributeEncoder()
	ae.Bytes(unix.RTA_DST, ipBytes(fam, dst))
	if from != nil {
		ae.Bytes(unix.RTA_SRC, ipBytes(fam, from))
	}
	if iif != 0 {
		ae.Uint32(unix.RTA_IIF, uint32(iif))
	}
	if oif != 0 {
		ae.Uint32(unix.RTA_OIF, uint32(oif))
	}
	attrs, err := ae.Encode()
	if err != nil {
		return Route{}, err
	}
	b := append(rtmsg(fam, uint8(bits), 0, 0, 0, 0, flags), attrs...)
	msgs, err := c.execute("get route", unix.RTM_GETROUTE, 0, b)
	if err != nil {
		return Route{}, err
	}
	for _, m := range msgs {
		if m.Header.Type == unix.RTM_NEWROUTE {
			return decodeRoute(m.Data)
		}
	}
	return Route{}, errors.New("get route: no answer")
}
