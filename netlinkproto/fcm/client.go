// Package fcm is the client of the generic netlink family "fcm" (kmod/fcm, sch_fcm):
// the FCM router qdiscs of a network namespace, their configuration and live state,
// and the qdisc's TCA_OPTIONS encoding.
package fcm

import (
	"fmt"

	"github.com/mdlayher/netlink"

	"github.com/nlkit/nlkit/netlinkproto/genl"
)

// Config is one sch_fcm qdisc's configuration (its TCA_OPTIONS) as the kernel reports
// it: every field. Options is what a request sends.
type Config struct {
	Rate  uint64 `json:"rate"`  // bytes/s, the outgoing link's rate
	Limit uint32 `json:"limit"` // bytes
	Bval  uint32 `json:"bval"`
	Qmin  uint32 `json:"qmin"` // packets
	// Exid, when not 0, makes the qdisc stamp the RFC 6994 form of the option (kind
	// OptionExpKind with this ExID) in place of option 92.
	Exid uint16 `json:"exid,omitempty"`
}

// Options is the configuration a tc qdisc add, change or replace sends. As in wgctrl's
// Config, a nil field is left out of the request: on add the kernel's default (limit
// 100 ms at rate, bval 10, qmin 30, option 92), on change the qdisc's value. Rate is
// required on add.
type Options struct {
	Rate  *uint64
	Limit *uint32
	Bval  *uint32
	Qmin  *uint32
	Exid  *uint16
}

// Qdisc is one sch_fcm qdisc and its live state.
type Qdisc struct {
	Ifindex  uint32 `json:"ifindex"`
	Handle   uint32 `json:"handle"`
	Parent   uint32 `json:"parent"`
	Ifname   string `json:"ifname"`
	ID       uint32 `json:"id"`
	Config   Config `json:"config"`
	Qlen     uint32 `json:"qlen"`
	Backlog  uint32 `json:"backlog"`
	Price    uint32 `json:"price"`
	Modified uint64 `json:"modified"`
	Passed   uint64 `json:"passed"`
	Other    uint64 `json:"other"`
	Packets  uint64 `json:"packets"`
	Bytes    uint64 `json:"bytes"`
	Drops    uint64 `json:"drops"`
}

// Price is p(q) for a queue of qlen packets under c, as the kernel computes it.
func Price(c Config, qlen uint32) uint32 {
	if qlen <= c.Qmin {
		return 0
	}
	p := uint64(c.Bval) * uint64(qlen-c.Qmin)
	if p > PriceMax {
		return PriceMax
	}
	return uint32(p)
}

// EncodeOptions encodes o as the qdisc's TCA_OPTIONS payload.
func EncodeOptions(o Options) ([]byte, error) {
	ae := netlink.NewAttributeEncoder()
	genl.Optional(ae, AttrOptsRate, o.Rate)
	genl.Optional(ae, AttrOptsLimit, o.Limit)
	genl.Optional(ae, AttrOptsBval, o.Bval)
	genl.Optional(ae, AttrOptsQmin, o.Qmin)
	genl.Optional(ae, AttrOptsExid, o.Exid)
	return ae.Encode()
}

// DecodeOptions decodes a TCA_OPTIONS payload (or the opts nest of a reply).
func DecodeOptions(b []byte) (Config, error) {
	var c Config
	err := genl.Decode(FamilyName, b, func(ad *netlink.AttributeDecoder) {
		switch ad.Type() {
		case AttrOptsRate:
			c.Rate = ad.Uint64()
		case AttrOptsLimit:
			c.Limit = ad.Uint32()
		case AttrOptsBval:
			c.Bval = ad.Uint32()
		case AttrOptsQmin:
			c.Qmin = ad.Uint32()
		case AttrOptsExid:
			c.Exid = ad.Uint16()
		}
	})
	return c, err
}

func decodeQdisc(b []byte) (Qdisc, error) {
	var q Qdisc
	var oerr error
	err := genl.Decode(FamilyName, b, func(ad *netlink.AttributeDecoder) {
		switch ad.Type() {
		case AttrQdiscIfindex:
			q.Ifindex = ad.Uint32()
		case AttrQdiscHandle:
			q.Handle = ad.Uint32()
		case AttrQdiscParent:
			q.Parent = ad.Uint32()
		case AttrQdiscIfname:
			q.Ifname = ad.String()
		case AttrQdiscId:
			q.ID = ad.Uint32()
		case AttrQdiscOpts:
			q.Config, oerr = DecodeOptions(ad.Bytes())
		case AttrQdiscQlen:
			q.Qlen = ad.Uint32()
		case AttrQdiscBacklog:
			q.Backlog = ad.Uint32()
		case AttrQdiscPrice:
			q.Price = ad.Uint32()
		case AttrQdiscModified:
			q.Modified = ad.Uint64()
		case AttrQdiscPassed:
			q.Passed = ad.Uint64()
		case AttrQdiscOther:
			q.Other = ad.Uint64()
		case AttrQdiscPackets:
			q.Packets = ad.Uint64()
		case AttrQdiscBytes:
			q.Bytes = ad.Uint64()
		case AttrQdiscDrops:
			q.Drops = ad.Uint64()
		}
	})
	if err == nil {
		err = oerr
	}
	if err == nil && q.Ifindex == 0 {
		err = fmt.Errorf("%s: reply without an ifindex", FamilyName)
	}
	return q, err
}

// Qdisc gets the fcm qdisc of a device (handle 0: the only one on it).
func (c *Client) Qdisc(ifindex, handle uint32) (Qdisc, error) {
	ae := netlink.NewAttributeEncoder()
	ae.Uint32(AttrQdiscIfindex, ifindex)
	if handle != 0 {
		ae.Uint32(AttrQdiscHandle, handle)
	}
	b, err := ae.Encode()
	if err != nil {
		return Qdisc{}, err
	}
	msgs, err := c.c.Do("get-qdisc", CmdGetQdisc, b)
	if err != nil {
		return Qdisc{}, err
	}
	m, err := genl.One(msgs, FamilyName, "get-qdisc")
	if err != nil {
		return Qdisc{}, err
	}
	return decodeQdisc(m.Data)
}

// Qdiscs dumps every fcm qdisc of the namespace.
func (c *Client) Qdiscs() ([]Qdisc, error) {
	out, skipped, err := genl.DumpDecode(c.c, "get-qdisc", CmdGetQdisc, nil, decodeQdisc)
	c.Skipped += skipped
	return out, err
}
