package fuzz

import (
	"encoding/binary"
	"fmt"
	"strings"
	"syscall"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Conn is a blocking netlink socket driven with plain syscalls, for sending many
// requests fast: Run sends a group of requests in one sendmsg (the kernel handles
// them in order, each with its own answer) and reads the answers with one recvfrom
// each. Under TCG and the debug kernel's KASAN and lockdep every system call is
// expensive; the netlink library's send, deadline, peek and receive per request
// cost about as much as the request itself.
type Conn struct {
	fd  int
	seq uint32
	buf []byte
}

// Answer is the kernel's last word on one request: its error (0 when accepted), the
// extack message, and the messages it sent before (a get's object, a dump's parts).
type Answer struct {
	Errno syscall.Errno
	Msg   string
	Data  []netlink.Message
}

// Dial opens a netlink socket of the protocol (unix.NETLINK_GENERIC, NETLINK_ROUTE)
// in the calling thread's network namespace, with extended acks, capped acks (the
// kernel does not copy each request back) and a 4 MB receive buffer.
func Dial(proto int) (*Conn, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, proto)
	if err != nil {
		return nil, fmt.Errorf("netlink socket: %w", err)
	}
	c := &Conn{fd: fd, buf: make([]byte, 1<<20)}
	tv := unix.NsecToTimeval(int64(10 * time.Second))
	for _, o := range []struct {
		level, opt, v int
	}{
		{unix.SOL_NETLINK, unix.NETLINK_EXT_ACK, 1},
		{unix.SOL_NETLINK, unix.NETLINK_CAP_ACK, 1},
		{unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 4 << 20},
	} {
		if err := unix.SetsockoptInt(fd, o.level, o.opt, o.v); err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("netlink socket option %d/%d: %w", o.level, o.opt, err)
		}
	}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		return nil, err
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return c, nil
}

func (c *Conn) Close() error { return unix.Close(c.fd) }

func isDump(f netlink.HeaderFlags) bool { return f&netlink.Dump == netlink.Dump }

// maxGroup bounds the bytes of one sendmsg, well within the socket's send buffer.
const maxGroup = 64 << 10

// Run sends the requests and returns their answers, in order. Every request must ask
// for an ack (NLM_F_ACK), so that each has a last word. A socket runs one dump at a
// time (a second one is refused with EBUSY while the first has parts to read), so a
// dump ends a group: the requests before it and the dump go in one sendmsg.
func (c *Conn) Run(reqs []netlink.Message) ([]Answer, error) {
	out := make([]Answer, 0, len(reqs))
	for len(reqs) > 0 {
		n, size := 0, 0
		for n < len(reqs) && (n == 0 || size+len(reqs[n].Data) < maxGroup) {
			size += unix.NLMSG_HDRLEN + len(reqs[n].Data)
			n++
			if isDump(reqs[n-1].Header.Flags) {
				break
			}
		}
		a, err := c.group(reqs[:n])
		if err != nil {
			return out, err
		}
		out = append(out, a...)
		reqs = reqs[n:]
	}
	return out, nil
}

func (c *Conn) group(reqs []netlink.Message) ([]Answer, error) {
	var b []byte
	first := c.seq + 1
	for _, m := range reqs {
		if m.Header.Flags&netlink.Acknowledge == 0 {
			return nil, fmt.Errorf("request of type %d without NLM_F_ACK: it may have no answer", m.Header.Type)
		}
		c.seq++
		l := unix.NLMSG_HDRLEN + len(m.Data)
		h := make([]byte, unix.NLMSG_HDRLEN, (l+3)&^3)
		binary.NativeEndian.PutUint32(h[0:], uint32(l))
		binary.NativeEndian.PutUint16(h[4:], uint16(m.Header.Type))
		binary.NativeEndian.PutUint16(h[6:], uint16(m.Header.Flags))
		binary.NativeEndian.PutUint32(h[8:], c.seq)
		h = append(h, m.Data...)
		b = append(b, h[:cap(h)]...)
	}
	if err := unix.Sendto(c.fd, b, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, fmt.Errorf("send: %w", err)
	}
	out := make([]Answer, len(reqs))
	left := len(reqs)
	for left > 0 {
		n, _, err := unix.Recvfrom(c.fd, c.buf, unix.MSG_TRUNC)
		if err != nil {
			return nil, fmt.Errorf("receive (%d of %d answers missing): %w", left, len(reqs), err)
		}
		if n > len(c.buf) {
			return nil, fmt.Errorf("receive: a datagram of %d bytes", n)
		}
		msgs, err := split(c.buf[:n])
		if err != nil {
			return nil, err
		}
		for _, r := range msgs {
			i := int(r.Header.Sequence - first)
			if r.Header.Sequence < first || i >= len(reqs) {
				continue // not ours (a late answer of an earlier group cannot be: each has its last word)
			}
			a := &out[i]
			switch r.Header.Type {
			case netlink.Error, netlink.Done:
				if r.Header.Type == netlink.Done && !isDump(reqs[i].Header.Flags) {
					a.Data = append(a.Data, r)
					continue
				}
				if len(r.Data) < 4 {
					return nil, fmt.Errorf("answer %d: short %v message", i, r.Header.Type)
				}
				a.Errno = syscall.Errno(-int32(binary.NativeEndian.Uint32(r.Data)))
				a.Msg = extackMsg(r)
				left--
			default:
				a.Data = append(a.Data, r)
			}
		}
	}
	return out, nil
}

// split parses a datagram into its messages (the data is copied).
func split(b []byte) ([]netlink.Message, error) {
	var out []netlink.Message
	for len(b) >= unix.NLMSG_HDRLEN {
		l := int(binary.NativeEndian.Uint32(b))
		if l < unix.NLMSG_HDRLEN || l > len(b) {
			return nil, fmt.Errorf("a message of length %d in %d bytes", l, len(b))
		}
		out = append(out, netlink.Message{
			Header: netlink.Header{Length: uint32(l), Type: netlink.HeaderType(binary.NativeEndian.Uint16(b[4:])),
				Flags: netlink.HeaderFlags(binary.NativeEndian.Uint16(b[6:])), Sequence: binary.NativeEndian.Uint32(b[8:]),
				PID: binary.NativeEndian.Uint32(b[12:])},
			Data: append([]byte(nil), b[unix.NLMSG_HDRLEN:l]...),
		})
		b = b[min((l+3)&^3, len(b)):]
	}
	return out, nil
}

// extackMsg is NLMSGERR_ATTR_MSG of an error or done message, if any.
func extackMsg(r netlink.Message) string {
	if r.Header.Flags&0x200 == 0 { // NLM_F_ACK_TLVS
		return ""
	}
	off := 4
	if r.Header.Type == netlink.Error {
		if len(r.Data) < 20 {
			return ""
		}
		off = 20
		if r.Header.Flags&0x100 == 0 { // not NLM_F_CAPPED: the request follows in full
			off = 4 + int(binary.NativeEndian.Uint32(r.Data[4:]))
		}
	}
	for off+4 <= len(r.Data) {
		l := int(binary.NativeEndian.Uint16(r.Data[off:]))
		typ := binary.NativeEndian.Uint16(r.Data[off+2:])
		if l < 4 || off+l > len(r.Data) {
			break
		}
		if typ == 1 { // NLMSGERR_ATTR_MSG
			return strings.TrimRight(string(r.Data[off+4:off+l]), "\x00")
		}
		off += (l + 3) &^ 3
	}
	return ""
}
