// Package fcm is the client of the generic netlink family "fcm" (kmod/fcm, sch_fcm):
// the FCM router qdiscs of a network namespace, their configuration and live state,
// and the qdisc's TCA_OPTIONS encoding.
package fcm

import (
	"fmt"

	"github.com/mdlayher/netlink"

	"github.com/nlkit/nlkit/netlinkproto/genl"
)

// Config, Options and Qdisc are generated from the spec (fcm_gen.go).

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
	encodeOptionsAttrs(ae, o)
	return ae.Encode()
}

// DecodeOptions decodes a TCA_OPTIONS payload (or the opts nest of a reply).
func DecodeOptions(b []byte) (Config, error) { return decodeConfigAttrs(b, nil) }

// decodeQdisc decodes a get-qdisc reply, which must name its device.
func decodeQdisc(b []byte) (Qdisc, error) {
	q, err := decodeQdiscAttrs(b, nil)
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
	return genl.DoDecode(c.c, "get-qdisc", CmdGetQdisc, b, decodeQdisc)
}

// Qdiscs dumps every fcm qdisc of the namespace.
func (c *Client) Qdiscs() ([]Qdisc, error) {
	out, skipped, err := genl.DumpDecode(c.c, "get-qdisc", CmdGetQdisc, nil, decodeQdisc)
	c.Skipped += skipped
	return out, err
}
