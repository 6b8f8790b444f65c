// Package rtnl is the small part of rtnetlink nlkit needs to set up datapaths without
// shelling out to ip or tc: links (look up, create an IFB, set up, alias, delete),
// qdiscs with raw TCA_OPTIONS (go-tc only encodes the kinds it knows), and a
// matchall filter with a mirred redirect. Errors carry the kernel's extack message.
package rtnl

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/nlkit/nlkit/netlinkproto/genl"
)

// Handles and parents of the tc API.
const (
	HandleRoot    uint32 = 0xFFFFFFFF // TC_H_ROOT
	HandleIngress uint32 = 0xFFFFFFF1 // TC_H_INGRESS == TC_H_CLSACT
	// ClsactIngress is the parent of ingress filters under clsact (ffff:fff2).
	ClsactIngress uint32 = 0xFFFFFFF2
	ClsactHandle  uint32 = 0xFFFF0000
)

// Conn is an rtnetlink connection (optionally in another network namespace).
type Conn struct{ c *netlink.Conn }

// Dial opens an rtnetlink socket; netns is a network namespace fd, or 0 for the
// caller's.
func Dial(netns int) (*Conn, error) {
	c, err := netlink.Dial(unix.NETLINK_ROUTE, &netlink.Config{Strict: true, NetNS: netns})
	if err != nil {
		return nil, fmt.Errorf("rtnetlink: %w", err)
	}
	return &Conn{c: c}, nil
}

// Close closes the connection.
func (c *Conn) Close() error { return c.c.Close() }

// Error is a failed rtnetlink request with the kernel's extack message.
type Error struct {
	Op      string
	Err     error
	Message string
}

func (e *Error) Error() string {
	if e.Message != "" {
		return fmt.Sprintf("%s: %s (%v)", e.Op, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Op, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	errno, msg, _, _ := genl.KernelReply(err)
	return &Error{Op: op, Err: errno, Message: msg}
}

func (c *Conn) execute(op string, typ netlink.HeaderType, flags netlink.HeaderFlags, data []byte) ([]netlink.Message, error) {
	msgs, err := c.c.Execute(netlink.Message{
		Header: netlink.Header{Type: typ, Flags: netlink.Request | flags},
		Data:   data,
	})
	return msgs, wrap(op, err)
}

// ---- links ----------------------------------------------------------------------------

// Link is what nlkit needs to know of a network device.
type Link struct {
	Index int
	Name  string
	Kind  string
	Alias string
	MTU   uint32
	Up    bool // administratively up (IFF_UP)
	// Running is the operational state: up and with carrier (IFF_RUNNING).
	Running bool
}

func ifinfomsg(index int32, flags, change uint32) []byte {
	b := make([]byte, unix.SizeofIfInfomsg)
	b[0] = unix.AF_UNSPEC
	binary.NativeEndian.PutUint32(b[4:], uint32(index))
	binary.NativeEndian.PutUint32(b[8:], flags)
	binary.NativeEndian.PutUint32(b[12:], change)
	return b
}

func decodeLink(b []byte) (Link, error) {
	if len(b) < unix.SizeofIfInfomsg {
		return Link{}, errors.New("rtnetlink: short ifinfomsg")
	}
	l := Link{
		Index: int(int32(binary.NativeEndian.Uint32(b[4:]))),
		Up:    binary.NativeEndian.Uint32(b[8:])&unix.IFF_UP != 0,
	}
	l.Running = l.Up && binary.NativeEndian.Uint32(b[8:])&unix.IFF_RUNNING != 0
	ad, err := netlink.NewAttributeDecoder(b[unix.SizeofIfInfomsg:])
	if err != nil {
		return Link{}, err
	}
	for ad.Next() {
		switch ad.Type() {
		case unix.IFLA_IFNAME:
			l.Name = ad.String()
		case unix.IFLA_IFALIAS:
			l.Alias = ad.String()
		case unix.IFLA_MTU:
			l.MTU = ad.Uint32()
		case unix.IFLA_LINKINFO:
			ad.Nested(func(nad *netlink.AttributeDecoder) error {
				for nad.Next() {
					if nad.Type() == unix.IFLA_INFO_KIND {
						l.Kind = nad.String()
					}
				}
				return nil
			})
		}
	}
	return l, ad.Err()
}

// LinkByName looks a device up by name.
func (c *Conn) LinkByName(name string) (Link, error) {
	ae := netlink.NewAttributeEncoder()
	ae.String(unix.IFLA_IFNAME, name)
	ae.Uint32(unix.IFLA_EXT_MASK, 1<<3) // RTEXT_FILTER_SKIP_STATS
	attrs, err := ae.Encode()
	if err != nil {
		return Link{}, err
	}
	msgs, err := c.execute("get link "+name, unix.RTM_GETLINK, 0, append(ifinfomsg(0, 0, 0), attrs...))
	if err != nil {
		return Link{}, err
	}
	if len(msgs) != 1 {
		return Link{}, fmt.Errorf("get link %s: %d replies", name, len(msgs))
	}
	return decodeLink(msgs[0].Data)
}

// LinkByIndex looks a device up by ifindex.
func (c *Conn) LinkByIndex(index int) (Link, error) {
	ae := netlink.NewAttributeEncoder()
	ae.Uint32(unix.IFLA_EXT_MASK, 1<<3) // RTEXT_FILTER_SKIP_STATS
	attrs, err := ae.Encode()
	if err != nil {
		return Link{}, err
	}
	msgs, err := c.execute(fmt.Sprintf("get link %d", index), unix.RTM_GETLINK, 0, append(ifinfomsg(int32(index), 0, 0), attrs...))
	if err != nil {
		return Link{}, err
	}
	if len(msgs) != 1 {
		return Link{}, fmt.Errorf("get link %d: %d replies", index, len(msgs))
	}
	return decodeLink(msgs[0].Data)
}

// Links dumps every device.
func (c *Conn) Links() ([]Link, error) {
	msgs, err := c.execute("dump links", unix.RTM_GETLINK, netlink.Dump, ifinfomsg(0, 0, 0))
	if err != nil {
		return nil, err
	}
	var out []Link
	for _, m := range msgs {
		if l, err := decodeLink(m.Data); err == nil {
			out = append(out, l)
		}
	}
	return out, nil
}

// AddIFB creates an IFB device (set its alias with SetAlias).
func (c *Conn) AddIFB(name string) error {
	ae := netlink.NewAttributeEncoder()
	ae.String(unix.IFLA_IFNAME, name)
	ae.Nested(unix.IFLA_LINKINFO, func(nae *netlink.AttributeEncoder) error {
		nae.String(unix.IFLA_INFO_KIND, "ifb")
		return nil
	})
	attrs, err := ae.Encode()
	if err != nil {
		return err
	}
	_, err = c.execute("add ifb "+name, unix.RTM_NEWLINK, netlink.Create|netlink.Excl|netlink.Acknowledge,
		append(ifinfomsg(0, 0, 0), attrs...))
	return err
}

// SetAlias sets a device's ifalias (the kernel ignores IFLA_IFALIAS on creation).
func (c *Conn) SetAlias(index int, alias string) error {
	ae := netlink.NewAttributeEncoder()
	ae.String(unix.IFLA_IFALIAS, alias)
	attrs, err := ae.Encode()
	if err != nil {
		return err
	}
	_, err = c.execute("set alias", unix.RTM_NEWLINK, netlink.Acknowledge, append(ifinfomsg(int32(index), 0, 0), attrs...))
	return err
}

// SetUp brings a device up.
func (c *Conn) SetUp(index int) error {
	_, err := c.execute("set link up", unix.RTM_NEWLINK, netlink.Acknowledge,
		ifinfomsg(int32(index), unix.IFF_UP, unix.IFF_UP))
	return err
}

// SetDown takes a device down.
func (c *Conn) SetDown(index int) error {
	_, err := c.execute("set link down", unix.RTM_NEWLINK, netlink.Acknowledge,
		ifinfomsg(int32(index), 0, unix.IFF_UP))
	return err
}

// DelLink deletes a device.
func (c *Conn) DelLink(index int) error {
	_, err := c.execute("delete link", unix.RTM_DELLINK, netlink.Acknowledge, ifinfomsg(int32(index), 0, 0))
	return err
}

// ---- qdiscs and filters ---------------------------------------------------------------

const sizeofTcmsg = 20

func tcmsg(ifindex int, handle, parent, info uint32) []byte {
	b := make([]byte, sizeofTcmsg)
	b[0] = unix.AF_UNSPEC
	binary.NativeEndian.PutUint32(b[4:], uint32(int32(ifindex)))
	binary.NativeEndian.PutUint32(b[8:], handle)
	binary.NativeEndian.PutUint32(b[12:], parent)
	binary.NativeEndian.PutUint32(b[16:], info)
	return b
}

// Attributes of TCA_STATS2 (linux/gen_stats.h).
const (
	tcaStatsBasic = 1
	tcaStatsQueue = 3
)

// Qdisc is a qdisc as the kernel dumps it; Options is the raw TCA_OPTIONS payload.
type Qdisc struct {
	Ifindex int
	Handle  uint32
	Parent  uint32
	Kind    string
	Options []byte
	// From TCA_STATS2 (zero when the kernel sent none).
	Bytes   uint64
	Packets uint32
	Qlen    uint32
	Backlog uint32
	Drops   uint32
}

// QdiscFlags choose how AddQdisc treats an existing qdisc.
type QdiscFlags int

const (
	Create  QdiscFlags = iota // fail if one exists (tc qdisc add)
	Replace                   // create or replace (tc qdisc replace)
	Change                    // change an existing one (tc qdisc change)
)

// AddQdisc adds, replaces or changes a qdisc; options is the TCA_OPTIONS payload
// (nested: sent with NLA_F_NESTED), or nil.
func (c *Conn) AddQdisc(ifindex int, handle, parent uint32, kind string, options []byte, how QdiscFlags) error {
	ae := netlink.NewAttributeEncoder()
	ae.String(unix.TCA_KIND, kind)
	if options != nil {
		ae.Bytes(unix.TCA_OPTIONS|unix.NLA_F_NESTED, options)
	}
	attrs, err := ae.Encode()
	if err != nil {
		return err
	}
	flags := netlink.Acknowledge
	switch how {
	case Create:
		flags |= netlink.Create | netlink.Excl
	case Replace:
		flags |= netlink.Create | netlink.Replace
	}
	_, err = c.execute("qdisc "+kind, unix.RTM_NEWQDISC, flags, append(tcmsg(ifindex, handle, parent, 0), attrs...))
	return err
}

// DelQdisc deletes the qdisc at parent (HandleRoot, HandleIngress ...).
func (c *Conn) DelQdisc(ifindex int, handle, parent uint32) error {
	_, err := c.execute("delete qdisc", unix.RTM_DELQDISC, netlink.Acknowledge, tcmsg(ifindex, handle, parent, 0))
	return err
}

// DecodeQdisc decodes one RTM_NEWQDISC message (of a dump, or the answer to a get).
func DecodeQdisc(m netlink.Message) (Qdisc, error) {
	if len(m.Data) < sizeofTcmsg {
		return Qdisc{}, fmt.Errorf("qdisc message of %d bytes", len(m.Data))
	}
	q := Qdisc{
		Ifindex: int(int32(binary.NativeEndian.Uint32(m.Data[4:]))),
		Handle:  binary.NativeEndian.Uint32(m.Data[8:]),
		Parent:  binary.NativeEndian.Uint32(m.Data[12:]),
	}
	ad, err := netlink.NewAttributeDecoder(m.Data[sizeofTcmsg:])
	if err != nil {
		return Qdisc{}, err
	}
	for ad.Next() {
		switch ad.Type() {
		case unix.TCA_KIND:
			q.Kind = ad.String()
		case unix.TCA_OPTIONS:
			q.Options = append([]byte(nil), ad.Bytes()...)
		case unix.TCA_STATS2:
			ad.Nested(func(nd *netlink.AttributeDecoder) error {
				for nd.Next() {
					b := nd.Bytes()
					switch nd.Type() {
					case tcaStatsBasic: // struct gnet_stats_basic
						if len(b) >= 12 {
							q.Bytes = binary.NativeEndian.Uint64(b)
							q.Packets = binary.NativeEndian.Uint32(b[8:])
						}
					case tcaStatsQueue: // struct gnet_stats_queue
						if len(b) >= 12 {
							q.Qlen = binary.NativeEndian.Uint32(b)
							q.Backlog = binary.NativeEndian.Uint32(b[4:])
							q.Drops = binary.NativeEndian.Uint32(b[8:])
						}
					}
				}
				return nil
			})
		}
	}
	return q, ad.Err()
}

// Qdiscs dumps the qdiscs of one device (ifindex 0: all).
func (c *Conn) Qdiscs(ifindex int) ([]Qdisc, error) {
	msgs, err := c.execute("dump qdiscs", unix.RTM_GETQDISC, netlink.Dump, tcmsg(ifindex, 0, 0, 0))
	if err != nil {
		return nil, err
	}
	var out []Qdisc
	for _, m := range msgs {
		q, err := DecodeQdisc(m)
		if err != nil || ifindex != 0 && q.Ifindex != ifindex {
			continue
		}
		out = append(out, q)
	}
	return out, nil
}

// RootQdisc returns the device's root qdisc.
func (c *Conn) RootQdisc(ifindex int) (Qdisc, bool, error) {
	qs, err := c.Qdiscs(ifindex)
	if err != nil {
		return Qdisc{}, false, err
	}
	for _, q := range qs {
		if q.Parent == HandleRoot {
			return q, true, nil
		}
	}
	return Qdisc{}, false, nil
}

// Filter attributes of matchall, the action API and mirred (uapi pkt_cls.h,
// tc_act/tc_mirred.h).
const (
	tcaMatchallAct  = 2
	tcaActKind      = 1
	tcaActOptions   = 2
	tcaMirredParms  = 2
	tcaEgressRedir  = 1
	tcActStolen     = 4
	sizeofTcMirred  = 28
	ethPAllNetOrder = 0x0300 // htons(ETH_P_ALL)
)

// AddRedirect attaches a matchall filter (prio, handle 1) at parent that redirects
// every packet to the egress of device to (tc filter add ... matchall action mirred
// egress redirect dev TO).
func (c *Conn) AddRedirect(ifindex int, parent uint32, prio uint16, to int) error {
	parms := make([]byte, sizeofTcMirred)
	binary.NativeEndian.PutUint32(parms[8:], tcActStolen)     // tc_gen.action
	binary.NativeEndian.PutUint32(parms[20:], tcaEgressRedir) // eaction
	binary.NativeEndian.PutUint32(parms[24:], uint32(to))     // ifindex
	ae := netlink.NewAttributeEncoder()
	ae.String(unix.TCA_KIND, "matchall")
	ae.Nested(unix.TCA_OPTIONS, func(o *netlink.AttributeEncoder) error {
		o.Nested(tcaMatchallAct, func(acts *netlink.AttributeEncoder) error {
			acts.Nested(1, func(a *netlink.AttributeEncoder) error {
				a.String(tcaActKind, "mirred")
				a.Nested(tcaActOptions, func(m *netlink.AttributeEncoder) error {
					m.Bytes(tcaMirredParms, parms)
					return nil
				})
				return nil
			})
			return nil
		})
		return nil
	})
	attrs, err := ae.Encode()
	if err != nil {
		return err
	}
	info := uint32(prio)<<16 | ethPAllNetOrder
	_, err = c.execute("add matchall filter", unix.RTM_NEWTFILTER, netlink.Create|netlink.Excl|netlink.Acknowledge,
		append(tcmsg(ifindex, 1, parent, info), attrs...))
	return err
}

// DelRedirect deletes the filters of one priority at parent (what AddRedirect made).
func (c *Conn) DelRedirect(ifindex int, parent uint32, prio uint16) error {
	info := uint32(prio)<<16 | ethPAllNetOrder
	_, err := c.execute("delete filter", unix.RTM_DELTFILTER, netlink.Acknowledge, tcmsg(ifindex, 0, parent, info))
	return err
}
