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

// Params are fcm_receiver's parameters in one netns (kmod/fcm_receiver/law.c has the
// control law they drive).
type Params struct {
	Enabled     bool   `json:"enabled"`
	Alpha       uint32 `json:"alpha"`        // rate smoothing, percent per round
	Tau         uint32 `json:"tau"`          // window gain, MSS per round at full error
	PsThresh    uint32 `json:"ps_thresh"`    // prime start ends below -ps_thresh percent
	Weight      uint32 `json:"weight"`       // budget W, kbit/s x price
	MSSDelta    uint32 `json:"mss_delta"`    // bytes off the MSS option of SYN/SYN-ACK
	MaxConns    uint32 `json:"max_conns"`    // connections tracked at most
	IdleTimeout uint32 `json:"idle_timeout"` // seconds
	// Exid: 0, the price comes in option 92; else in the RFC 6994 form with this ExID.
	Exid uint16 `json:"exid"`
}

// Receiver is fcm_receiver's state in one netns.
type Receiver struct {
	Params     Params `json:"params"`
	Conns      uint32 `json:"conns"`
	Tracked    uint64 `json:"tracked"`
	TableFull  uint64 `json:"table_full"`
	Priced     uint64 `json:"priced"`
	Malformed  uint64 `json:"malformed"`
	Lowered    uint64 `json:"lowered"`
	MSSLowered uint64 `json:"mss_lowered"`
	Expired    uint64 `json:"expired"`
}

// Change names the parameters to change; nil fields stay as they are.
type Change struct {
	Enabled                                                       *bool
	Alpha, Tau, PsThresh, Weight, MSSDelta, MaxConns, IdleTimeout *uint32
	Exid                                                          *uint16
}

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

// Conn is one connection fcm_receiver tracks, from the local end.
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
	msgs, err := c.c.Do("get-receiver", CmdGetReceiver, nil)
	if err != nil {
		return Receiver{}, err
	}
	m, err := genl.One(msgs, FamilyName, "get-receiver")
	if err != nil {
		return Receiver{}, err
	}
	var r Receiver
	var perr error
	err = genl.Decode(FamilyName, m.Data, func(ad *netlink.AttributeDecoder) {
		switch ad.Type() {
		case AttrReceiverParams:
			r.Params, perr = decodeParams(ad.Bytes())
		case AttrReceiverConns:
			r.Conns = ad.Uint32()
		case AttrReceiverTracked:
			r.Tracked = ad.Uint64()
		case AttrReceiverTableFull:
			r.TableFull = ad.Uint64()
		case AttrReceiverPriced:
			r.Priced = ad.Uint64()
		case AttrReceiverMalformed:
			r.Malformed = ad.Uint64()
		case AttrReceiverLowered:
			r.Lowered = ad.Uint64()
		case AttrReceiverMssLowered:
			r.MSSLowered = ad.Uint64()
		case AttrReceiverExpired:
			r.Expired = ad.Uint64()
		}
	})
	if err == nil {
		err = perr
	}
	return r, err
}

func decodeParams(b []byte) (Params, error) {
	var p Params
	err := genl.Decode(FamilyName, b, func(ad *netlink.AttributeDecoder) {
		switch ad.Type() {
		case AttrParamsEnabled:
			p.Enabled = ad.Uint8() != 0
		case AttrParamsAlpha:
			p.Alpha = ad.Uint32()
		case AttrParamsTau:
			p.Tau = ad.Uint32()
		case AttrParamsPsThresh:
			p.PsThresh = ad.Uint32()
		case AttrParamsWeight:
			p.Weight = ad.Uint32()
		case AttrParamsMssDelta:
			p.MSSDelta = ad.Uint32()
		case AttrParamsMaxConns:
			p.MaxConns = ad.Uint32()
		case AttrParamsIdleTimeout:
			p.IdleTimeout = ad.Uint32()
		case AttrParamsExid:
			p.Exid = ad.Uint16()
		}
	})
	return p, err
}

// SetReceiver changes fcm_receiver's parameters in the client's netns (CAP_NET_ADMIN).
func (c *Client) SetReceiver(ch Change) error {
	ae := netlink.NewAttributeEncoder()
	ae.Nested(AttrReceiverParams, func(ne *netlink.AttributeEncoder) error {
		if ch.Enabled != nil {
			v := uint8(0)
			if *ch.Enabled {
				v = 1
			}
			ne.Uint8(AttrParamsEnabled, v)
		}
		genl.Optional(ne, AttrParamsAlpha, ch.Alpha)
		genl.Optional(ne, AttrParamsTau, ch.Tau)
		genl.Optional(ne, AttrParamsPsThresh, ch.PsThresh)
		genl.Optional(ne, AttrParamsWeight, ch.Weight)
		genl.Optional(ne, AttrParamsMssDelta, ch.MSSDelta)
		genl.Optional(ne, AttrParamsMaxConns, ch.MaxConns)
		genl.Optional(ne, AttrParamsIdleTimeout, ch.IdleTimeout)
		genl.Optional(ne, AttrParamsExid, ch.Exid)
		return nil
	})
	b, err := ae.Encode()
	if err != nil {
		return err
	}
	_, err = c.c.Do("set-receiver", CmdSetReceiver, b)
	return err
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
