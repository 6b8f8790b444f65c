// Package rtnl is the part of rtnetlink nlkit needs to set up datapaths without
// shelling out to ip or tc. Links and addresses go through jsimonetti/rtnetlink (link.go,
// addr.go), the matchall filter with a mirred redirect through florianl/go-tc
// (filter.go). What neither library has stays written here, each place saying why:
// qdiscs with raw TCA_OPTIONS (nlkit's own kinds), routes with rtm_flags such as
// RTM_F_EQUALIZE and RTA_NH_ID (route.go), and nexthop objects (nexthop.go). Errors
// carry the kernel's extack message.
package rtnl

import (
	"encoding/binary"
	"fmt"

	"github.com/florianl/go-tc"
	"github.com/jsimonetti/rtnetlink/v2"
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
type Conn struct {
	c     *netlink.Conn   // requests written here (qdiscs, routes, nexthops)
	rt    *rtnetlink.Conn // links and addresses
	tc    *tc.Tc          // filters; opened on first use
	netns int
}

// Dial opens rtnetlink sockets; netns is a network namespace fd, or 0 for the
// caller's.
func Dial(netns int) (*Conn, error) {
	c, err := netlink.Dial(unix.NETLINK_ROUTE, &netlink.Config{Strict: true, NetNS: netns})
	if err != nil {
		return nil, fmt.Errorf("rtnetlink: %w", err)
	}
	rt, err := rtnetlink.Dial(&netlink.Config{Strict: true, NetNS: netns})
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("rtnetlink: %w", err)
	}
	return &Conn{c: c, rt: rt, netns: netns}, nil
}

// Close closes the connection.
func (c *Conn) Close() error {
	err := c.c.Close()
	if e := c.rt.Close(); err == nil {
		err = e
	}
	if c.tc != nil {
		if e := c.tc.Close(); err == nil {
			err = e
		}
	}
	return err
}

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

// ---- qdiscs: written here, as go-tc encodes only the kinds it knows, not nlkit's own ----

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
