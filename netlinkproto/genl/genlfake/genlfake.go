// Package genlfake is a fake kernel side of one generic netlink family, for host tests
// of nlkit's family clients (hand them Kernel.Dial's connection through their
// NewClient). It answers the controller's family lookup as the kernel does, passes
// every request of the family to a handler, and turns the handler's answer into what
// the kernel sends: the replies and an ack, a multi-part dump ending in NLMSG_DONE, or
// an error carrying an extack message.
//
// mdlayher/genetlink's genltest answers a lookup too, but it cannot send an ack or an
// extack message, both of which nlkit's clients rely on.
package genlfake

import (
	"encoding/binary"
	"errors"
	"syscall"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"github.com/mdlayher/netlink/nltest"
	"golang.org/x/sys/unix"
)

// Request is one request of the family, as the kernel would see it.
type Request struct {
	Command uint8
	Version uint8
	Flags   netlink.HeaderFlags
	Attrs   []byte // the attributes (decode them with netlink.NewAttributeDecoder)
}

// Dump is whether the request asks for a dump.
func (r Request) Dump() bool { return r.Flags&netlink.Dump == netlink.Dump }

// Error is what a handler returns to refuse a request: the errno, and the extack
// message (and the offset of the attribute at fault, 0 for none) the kernel sets.
type Error struct {
	Errno   syscall.Errno
	Message string
	Offset  uint32
}

func (e *Error) Error() string { return e.Errno.Error() + ": " + e.Message }

// Handler answers one request: the attributes of each reply message (each gets the
// request's command), or an *Error.
type Handler func(req Request) ([][]byte, error)

// Kernel is the fake kernel side of one family.
type Kernel struct {
	Family  genetlink.Family // name, ID, version and groups the lookup answers
	Handler Handler
	// Requests holds every request of the family the kernel was sent, in order.
	Requests []Request
}

// Dial returns a connection whose requests the fake kernel answers.
func (k *Kernel) Dial() *genetlink.Conn {
	return genetlink.NewConn(nltest.Dial(k.serve))
}

func (k *Kernel) serve(reqs []netlink.Message) ([]netlink.Message, error) {
	if len(reqs) != 1 {
		return nil, errors.New("genlfake: one request at a time")
	}
	req := reqs[0]
	var gm genetlink.Message
	if err := gm.UnmarshalBinary(req.Data); err != nil {
		return nil, err
	}
	if req.Header.Type == unix.GENL_ID_CTRL {
		return k.lookup(req, gm)
	}
	if req.Header.Type != netlink.HeaderType(k.Family.ID) {
		return errorMsg(req, &Error{Errno: unix.ENOENT, Message: "no such family id"}), nil
	}
	r := Request{Command: gm.Header.Command, Version: gm.Header.Version, Flags: req.Header.Flags, Attrs: gm.Data}
	k.Requests = append(k.Requests, r)
	replies, err := k.Handler(r)
	if err != nil {
		var fe *Error
		if !errors.As(err, &fe) {
			return nil, err
		}
		return errorMsg(req, fe), nil
	}
	var out []netlink.Message
	for _, attrs := range replies {
		b, err := (&genetlink.Message{Header: genetlink.Header{Command: gm.Header.Command, Version: k.Family.Version},
			Data: attrs}).MarshalBinary()
		if err != nil {
			return nil, err
		}
		m := netlink.Message{Header: netlink.Header{Type: req.Header.Type, Sequence: req.Header.Sequence, PID: req.Header.PID},
			Data: b}
		if r.Dump() {
			m.Header.Flags |= netlink.Multi
		}
		out = append(out, m)
	}
	switch {
	case r.Dump():
		out = append(out, netlink.Message{Header: netlink.Header{Type: netlink.Done, Flags: netlink.Multi,
			Sequence: req.Header.Sequence, PID: req.Header.PID}, Data: make([]byte, 4)})
	case req.Header.Flags&netlink.Acknowledge != 0:
		out = append(out, errorMsg(req, nil)...)
	}
	return out, nil
}

// lookup answers CTRL_CMD_GETFAMILY for the kernel's family, and ENOENT for others.
func (k *Kernel) lookup(req netlink.Message, gm genetlink.Message) ([]netlink.Message, error) {
	ad, err := netlink.NewAttributeDecoder(gm.Data)
	if err != nil {
		return nil, err
	}
	var name string
	for ad.Next() {
		if ad.Type() == unix.CTRL_ATTR_FAMILY_NAME {
			name = ad.String()
		}
	}
	if gm.Header.Command != unix.CTRL_CMD_GETFAMILY || name != k.Family.Name {
		return errorMsg(req, &Error{Errno: unix.ENOENT}), nil
	}
	ae := netlink.NewAttributeEncoder()
	ae.Uint16(unix.CTRL_ATTR_FAMILY_ID, k.Family.ID)
	ae.String(unix.CTRL_ATTR_FAMILY_NAME, k.Family.Name)
	ae.Uint32(unix.CTRL_ATTR_VERSION, uint32(k.Family.Version))
	if len(k.Family.Groups) > 0 {
		ae.Nested(unix.CTRL_ATTR_MCAST_GROUPS, func(ne *netlink.AttributeEncoder) error {
			for i, g := range k.Family.Groups {
				ne.Nested(uint16(i+1), func(ge *netlink.AttributeEncoder) error {
					ge.Uint32(unix.CTRL_ATTR_MCAST_GRP_ID, g.ID)
					ge.String(unix.CTRL_ATTR_MCAST_GRP_NAME, g.Name)
					return nil
				})
			}
			return nil
		})
	}
	attrs, err := ae.Encode()
	if err != nil {
		return nil, err
	}
	b, err := (&genetlink.Message{Header: genetlink.Header{Command: unix.CTRL_CMD_NEWFAMILY, Version: 2}, Data: attrs}).MarshalBinary()
	if err != nil {
		return nil, err
	}
	reply := netlink.Message{Header: netlink.Header{Type: unix.GENL_ID_CTRL, Sequence: req.Header.Sequence, PID: req.Header.PID}, Data: b}
	out := []netlink.Message{reply}
	if req.Header.Flags&netlink.Acknowledge != 0 {
		out = append(out, errorMsg(req, nil)...)
	}
	return out, nil
}

// errorMsg is an NLMSG_ERROR for req: an ack (e nil), or an error with the request's
// header echoed (capped, as a socket with strict checking gets it) and the extack TLVs.
func errorMsg(req netlink.Message, e *Error) []netlink.Message {
	b := make([]byte, 4+unix.NLMSG_HDRLEN)
	var flags netlink.HeaderFlags = 0x100 // NLM_F_CAPPED
	if e != nil {
		binary.NativeEndian.PutUint32(b, uint32(-int32(e.Errno)))
	}
	h := req.Header
	binary.NativeEndian.PutUint32(b[4:], unix.NLMSG_HDRLEN) // capped: the header alone
	binary.NativeEndian.PutUint16(b[8:], uint16(h.Type))
	binary.NativeEndian.PutUint16(b[10:], uint16(h.Flags))
	binary.NativeEndian.PutUint32(b[12:], h.Sequence)
	binary.NativeEndian.PutUint32(b[16:], h.PID)
	if e != nil && (e.Message != "" || e.Offset != 0) {
		ae := netlink.NewAttributeEncoder()
		if e.Message != "" {
			ae.String(unix.NLMSGERR_ATTR_MSG, e.Message)
		}
		if e.Offset != 0 {
			ae.Uint32(unix.NLMSGERR_ATTR_OFFS, e.Offset)
		}
		tlvs, _ := ae.Encode()
		b = append(b, tlvs...)
		flags |= netlink.AcknowledgeTLVs
	}
	return []netlink.Message{{Header: netlink.Header{Type: netlink.Error, Flags: flags, Sequence: h.Sequence, PID: h.PID}, Data: b}}
}
