package rtnl

// Nexthop objects (RTM_NEWNEXTHOP) are written here: jsimonetti/rtnetlink has no
// nexthop service.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// ---- nexthop objects (RTM_*NEXTHOP, `ip nexthop`) -------------------------------------

// Group types (NHA_GROUP_TYPE).
const (
	GroupMpath     = 0 // hash-threshold
	GroupResilient = 1
)

// GroupMember is one entry of a nexthop group (struct nexthop_grp).
type GroupMember struct {
	ID     uint32 `json:"id"`
	Weight int    `json:"weight"` // 1..256
}

// NexthopObj is a nexthop object: a single nexthop (gateway and/or device, or a
// blackhole) or a group of other nexthop objects.
type NexthopObj struct {
	ID        uint32        `json:"id"`
	Family    int           `json:"-"`
	Gateway   net.IP        `json:"gateway,omitempty"`
	Index     int           `json:"-"`
	Dev       string        `json:"dev,omitempty"`
	Blackhole bool          `json:"blackhole,omitempty"`
	Group     []GroupMember `json:"group,omitempty"`
	GroupType int           `json:"-"`
	Protocol  uint8         `json:"-"`
	Flags     uint32        `json:"-"` // RTNH_F_* (dead, linkdown)
}

func nhmsg(family int, protocol uint8, flags uint32) []byte {
	b := make([]byte, 8)
	b[0] = byte(family)
	b[2] = protocol
	binary.NativeEndian.PutUint32(b[4:], flags)
	return b
}

// AddNexthop creates (or with replace, replaces) a nexthop object.
func (c *Conn) AddNexthop(n NexthopObj, replace bool) error {
	fam := n.Family
	ae := netlink.NewAttributeEncoder()
	if n.ID != 0 {
		ae.Uint32(unix.NHA_ID, n.ID)
	}
	switch {
	case len(n.Group) > 0:
		fam = unix.AF_UNSPEC
		g := make([]byte, 8*len(n.Group))
		for i, m := range n.Group {
			if m.Weight < 1 || m.Weight > 256 {
				return fmt.Errorf("group member %d: weight %d out of range 1..256", m.ID, m.Weight)
			}
			binary.NativeEndian.PutUint32(g[8*i:], m.ID)
			g[8*i+4] = byte(m.Weight - 1)
		}
		ae.Bytes(unix.NHA_GROUP, g)
		ae.Uint16(unix.NHA_GROUP_TYPE, uint16(n.GroupType))
	case n.Blackhole:
		ae.Flag(unix.NHA_BLACKHOLE, true)
	default:
		if n.Gateway != nil {
			if fam == 0 {
				fam = familyOf(n.Gateway)
			}
			ae.Bytes(unix.NHA_GATEWAY, ipBytes(fam, n.Gateway))
		}
		if n.Index != 0 {
			ae.Uint32(unix.NHA_OIF, uint32(n.Index))
		}
		if fam == 0 {
			fam = unix.AF_INET
		}
	}
	attrs, err := ae.Encode()
	if err != nil {
		return err
	}
	proto := n.Protocol
	if proto == 0 {
		proto = unix.RTPROT_BOOT
	}
	flags := netlink.Acknowledge | netlink.Create | netlink.Excl
	if replace {
		flags = netlink.Acknowledge | netlink.Create | netlink.Replace
	}
	_, err = c.execute("add nexthop", unix.RTM_NEWNEXTHOP, flags, append(nhmsg(fam, proto, n.Flags), attrs...))
	return err
}

// DelNexthop deletes a nexthop object.
func (c *Conn) DelNexthop(id uint32) error {
	ae := netlink.NewAttributeEncoder()
	ae.Uint32(unix.NHA_ID, id)
	attrs, err := ae.Encode()
	if err != nil {
		return err
	}
	_, err = c.execute("delete nexthop", unix.RTM_DELNEXTHOP, netlink.Acknowledge, append(nhmsg(unix.AF_UNSPEC, 0, 0), attrs...))
	return err
}

func decodeNexthop(b []byte) (NexthopObj, error) {
	if len(b) < 8 {
		return NexthopObj{}, errors.New("short nhmsg")
	}
	n := NexthopObj{Family: int(b[0]), Protocol: b[2], Flags: binary.NativeEndian.Uint32(b[4:])}
	ad, err := netlink.NewAttributeDecoder(b[8:])
	if err != nil {
		return NexthopObj{}, err
	}
	for ad.Next() {
		switch ad.Type() {
		case unix.NHA_ID:
			n.ID = ad.Uint32()
		case unix.NHA_GATEWAY:
			n.Gateway = net.IP(ad.Bytes())
		case unix.NHA_OIF:
			n.Index = int(ad.Uint32())
		case unix.NHA_BLACKHOLE:
			n.Blackhole = true
		case unix.NHA_GROUP_TYPE:
			n.GroupType = int(ad.Uint16())
		case unix.NHA_GROUP:
			g := ad.Bytes()
			for len(g) >= 8 {
				n.Group = append(n.Group, GroupMember{ID: binary.NativeEndian.Uint32(g), Weight: int(g[4]) + 1})
				g = g[8:]
			}
		}
	}
	return n, ad.Err()
}

// Nexthops dumps the nexthop objects.
func (c *Conn) Nexthops() ([]NexthopObj, error) {
	return dumpStrict(c, "dump nexthops", unix.RTM_GETNEXTHOP, nhmsg(unix.AF_UNSPEC, 0, 0), unix.RTM_NEWNEXTHOP, decodeNexthop)
}
