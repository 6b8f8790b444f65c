// Package fcmreceiver is the client of the generic netlink family "fcm_receiver"
// (kmod/fcm_receiver): the receiver half of FCM in a network namespace, its
// parameters, counters and tracked connections. The router half is package fcm.
package fcmreceiver

import (
	"fmt"
	"net/netip"

	"github.com/mdlayher/netlink"

	"github.com/nlkit/nlkit/netlinkproto/genl"
)

// Params, Change and Receiver are generated from the spec (fcm_receiver_gen.go); the
// law they drive is kmod/fcm_receiver/law.c.

// ConnState is a tracked connection's state.
type ConnState uint8

func (s ConnState) String() string {
	switch s {
	case ConnStateSynSent:
		return "syn-sent"
	case ConnStatePrime:
		return "prime"
	case ConnStateSteady:
		return "steady"
	case ConnStateClosing:
		return "closing"
	}
	return fmt.Sprintf("state%d", uint8(s))
}

// MarshalText makes JSON carry the state's name.
func (s ConnState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Conn is one connection fcm_receiver tracks, from the local end. It is written by
// hand, not generated: it joins each address with its port.
type Conn struct {
	Local        netip.AddrPort `json:"local"`
	Remote       netip.AddrPort `json:"remote"`
	State        ConnState      `json:"state"`
	WScale       uint8          `json:"wscale"`
	MSS          uint32         `json:"mss"`
	Window       uint32         `json:"window"`        // bytes the law allows
	KernelWindow uint32         `json:"kernel_window"` // bytes the local TCP offered
	Rate         uint64         `json:"rate"`          // bytes/s, smoothed
	Price        uint32         `json:"price"`
	SRTT         uint32         `json:"srtt_us"`
	RxBytes      uint64         `json:"rx_bytes"`
	Lowered      uint64         `json:"lowered"`
	Idle         uint32         `json:"idle_ms"`
}

// Receiver gets fcm_receiver's parameters and counters in the client's netns.
func (c *Client) Receiver() (Receiver, error) {
	return genl.DoDecode(c.c, "get-receiver", CmdGetReceiver, nil, func(b []byte) (Receiver, error) { return decodeReceiverAttrs(b, nil) })
}

// SetReceiver changes fcm_receiver's parameters in the client's netns (CAP_NET_ADMIN).
func (c *Client) SetReceiver(ch Change) error {
	ae := netlink.NewAttributeEncoder()
	ae.Nested(AttrReceiverParams, func(ne *netlink.AttributeEncoder) error {
		encodeChangeAttrs(ne, ch)
		return nil
	})
	b, err := ae.Encode()
	if err != nil {
		return err
	}
	_, err = c.c.Do("set-receiver", CmdSetReceiver, b)
	return err
}

// Conn gets the tracked connection from local to remote (addresses of one family, seen
// from the receiving end); ENOENT if fcm_receiver does not track it.
func (c *Client) Conn(local, remote netip.AddrPort) (Conn, error) {
	l, r := local.Addr().Unmap(), remote.Addr().Unmap()
	if !l.IsValid() || l.Is4() != r.Is4() {
		return Conn{}, fmt.Errorf("fcm_receiver: %v and %v are not of one family", local, remote)
	}
	fam := uint8(6)
	if l.Is4() {
		fam = 4
	}
	ae := netlink.NewAttributeEncoder()
	ae.Uint8(AttrConnFamily, fam)
	ae.Bytes(AttrConnLocal, l.AsSlice())
	ae.Bytes(AttrConnRemote, r.AsSlice())
	ae.Uint16(AttrConnLport, local.Port())
	ae.Uint16(AttrConnRport, remote.Port())
	b, err := ae.Encode()
	if err != nil {
		return Conn{}, err
	}
	return genl.DoDecode(c.c, "get-conn", CmdGetConn, b, decodeConn)
}

// Conns dumps the connections fcm_receiver tracks in the client's netns.
func (c *Client) Conns() ([]Conn, error) {
	out, skipped, err := genl.DumpDecode(c.c, "get-conn", CmdGetConn, nil, decodeConn)
	c.Skipped += skipped
	return out, err
}

func decodeConn(b []byte) (Conn, error) {
	var cn Conn
	var local, remote netip.Addr
	var lport, rport uint16
	err := genl.Decode(FamilyName, b, func(ad *netlink.AttributeDecoder) {
		switch ad.Type() {
		case AttrConnLocal:
			local, _ = netip.AddrFromSlice(ad.Bytes())
		case AttrConnRemote:
			remote, _ = netip.AddrFromSlice(ad.Bytes())
		case AttrConnLport:
			lport = ad.Uint16()
		case AttrConnRport:
			rport = ad.Uint16()
		case AttrConnState:
			cn.State = ConnState(ad.Uint8())
		case AttrConnWscale:
			cn.WScale = ad.Uint8()
		case AttrConnMss:
			cn.MSS = ad.Uint32()
		case AttrConnWindow:
			cn.Window = ad.Uint32()
		case AttrConnKernelWindow:
			cn.KernelWindow = ad.Uint32()
		case AttrConnRate:
			cn.Rate = ad.Uint64()
		case AttrConnPrice:
			cn.Price = ad.Uint32()
		case AttrConnSrtt:
			cn.SRTT = ad.Uint32()
		case AttrConnRxBytes:
			cn.RxBytes = ad.Uint64()
		case AttrConnLowered:
			cn.Lowered = ad.Uint64()
		case AttrConnIdle:
			cn.Idle = ad.Uint32()
		}
	})
	if err != nil {
		return cn, err
	}
	if !local.IsValid() || !remote.IsValid() {
		return cn, fmt.Errorf("%s: connection without valid addresses", FamilyName)
	}
	cn.Local, cn.Remote = netip.AddrPortFrom(local, lport), netip.AddrPortFrom(remote, rport)
	return cn, nil
}
