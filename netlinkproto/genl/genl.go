// Package genl is the part every nlkit generic netlink client shares: dialing a family
// with a clear error when its module is not loaded, refusing a module whose ABI differs
// from the one the client was generated for, requests whose errors carry the kernel's
// extack message, dumps merged across messages and retried when the kernel marks them
// interrupted (NLM_F_DUMP_INTR), and multicast subscriptions.
//
// The rules it enforces (see the foundation issue): nested attributes always carry
// NLA_F_NESTED (netlink.AttributeEncoder.Nested sets it), the kernel's extack message
// reaches the user, a missing family is "module not loaded" in words, and a module's
// ABI mismatch is refused with a clear message.
package genl

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// DumpRetries is how often a dump the kernel marked interrupted is started again.
const DumpRetries = 5

// Family identifies a family and what the client expects of it.
type Family struct {
	Name   string // genl family name
	Module string // kernel module that registers it
	ABI    uint8  // the family version this client was generated for
	// Missing, if set, replaces the "module not loaded" text when the family is
	// absent (for families built into the kernel, such as mptcp_pm).
	Missing string
}

// Conn is a connection to one generic netlink family.
type Conn struct {
	c      *genetlink.Conn
	nc     *netlink.Conn // c's socket, for batches (nil when New was given c)
	fam    Family
	kernel genetlink.Family
}

// ErrNotLoaded is matched (errors.Is) by the error Dial returns when the family is
// not registered.
var ErrNotLoaded = errors.New("kernel module not loaded")

type notLoadedError struct{ f Family }

func (e *notLoadedError) Error() string {
	if e.f.Missing != "" {
		return fmt.Sprintf("generic netlink family %q is not registered: %s", e.f.Name, e.f.Missing)
	}
	return fmt.Sprintf("generic netlink family %q is not registered: the %s kernel module is not loaded (try: modprobe %s)",
		e.f.Name, e.f.Module, e.f.Module)
}

func (e *notLoadedError) Is(target error) bool { return target == ErrNotLoaded }

// ABIError is returned by Dial when the module speaks another ABI.
type ABIError struct {
	Family       Family
	KernelABI    uint32
	ExpectedABI  uint8
	ModuleLoaded string
}

func (e *ABIError) Error() string {
	return fmt.Sprintf("the loaded %s module speaks %s ABI %d, but this nlkit speaks ABI %d: load the module from the same nlkit release as this tool",
		e.Family.Module, e.Family.Name, e.KernelABI, e.ExpectedABI)
}

// Dial opens a connection to the family and checks its ABI.
func Dial(f Family) (*Conn, error) {
	return DialConfig(f, nil)
}

// DialConfig is Dial with netlink options (e.g. a network namespace).
func DialConfig(f Family, cfg *netlink.Config) (*Conn, error) {
	if cfg == nil {
		cfg = &netlink.Config{}
	}
	cfg.Strict = true // extended acks (the kernel's error messages) and strict checking
	nc, err := netlink.Dial(unix.NETLINK_GENERIC, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: open generic netlink socket: %w", f.Name, err)
	}
	c, err := New(f, genetlink.NewConn(nc))
	if err != nil {
		return nil, err
	}
	c.nc = nc
	return c, nil
}

// New is Dial on a connection the caller opened: a test's fake kernel (genlfake), or
// a socket set up in some other way. It looks the family up and checks its ABI as
// Dial does; on failure it closes c, else Close does.
func New(f Family, c *genetlink.Conn) (*Conn, error) {
	kf, err := c.GetFamily(f.Name)
	if err != nil {
		c.Close()
		if netlink.IsNotExist(err) || errors.Is(err, syscall.ENOENT) {
			return nil, &notLoadedError{f}
		}
		return nil, fmt.Errorf("%s: look up family: %w", f.Name, wrap(f.Name, "get-family", err))
	}
	if kf.Version != f.ABI {
		c.Close()
		return nil, &ABIError{Family: f, KernelABI: uint32(kf.Version), ExpectedABI: f.ABI}
	}
	return &Conn{c: c, fam: f, kernel: kf}, nil
}

// Close closes the connection.
func (c *Conn) Close() error { return c.c.Close() }

// Portid is the socket's netlink port id (the kernel's snd_portid of its requests):
// families that give a socket ownership of something (ustack's ports) name the
// owner by it.
func (c *Conn) Portid() (uint32, error) {
	rc, err := c.c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var (
		sa    unix.Sockaddr
		saErr error
	)
	if err := rc.Control(func(fd uintptr) { sa, saErr = unix.Getsockname(int(fd)) }); err != nil {
		return 0, err
	}
	if saErr != nil {
		return 0, fmt.Errorf("%s: getsockname: %w", c.fam.Name, saErr)
	}
	nl, ok := sa.(*unix.SockaddrNetlink)
	if !ok {
		return 0, fmt.Errorf("%s: not a netlink socket", c.fam.Name)
	}
	return nl.Pid, nil
}

// KernelFamily is the family as the kernel registered it (id, version, groups).
func (c *Conn) KernelFamily() genetlink.Family { return c.kernel }

// Error is a failed request, carrying the kernel's extended ack message.
type Error struct {
	Family  string
	Op      string
	Err     error  // the errno (errors.Is(err, syscall.EPERM) ...)
	Message string // the kernel's extack message, if any
	Offset  int    // the extack offset of the offending attribute, if any
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: ", e.Family, e.Op)
	if e.Message != "" {
		b.WriteString(e.Message)
		fmt.Fprintf(&b, " (%v)", e.Err)
	} else {
		b.WriteString(errText(e.Err))
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

func errText(err error) string {
	switch {
	case errors.Is(err, syscall.EPERM):
		return "operation not permitted: it needs CAP_NET_ADMIN in the network namespace's user namespace"
	}
	return err.Error()
}

// KernelReply splits an error of mdlayher/netlink into the kernel's errno and its
// extack message and offset; ok is false for errors that did not come from a netlink
// reply. Every nlkit netlink client (genl families, rtnl) reports errors through it.
func KernelReply(err error) (errno error, message string, offset int, ok bool) {
	var oe *netlink.OpError
	if !errors.As(err, &oe) {
		return err, "", 0, false
	}
	errno = oe.Err
	var se *os.SyscallError
	if errors.As(errno, &se) {
		errno = se.Err
	}
	return errno, oe.Message, oe.Offset, true
}

func wrap(family, op string, err error) error {
	if err == nil {
		return nil
	}
	errno, msg, off, _ := KernelReply(err)
	return &Error{Family: family, Op: op, Err: errno, Message: msg, Offset: off}
}

// Do sends one request (cmd with the encoded attributes) and returns its replies. It
// asks for an acknowledgement and reads up to it, so a request's ack can never be
// mistaken for the next request's answer. op names the request in errors.
func (c *Conn) Do(op string, cmd uint8, attrs []byte) ([]genetlink.Message, error) {
	msg := genetlink.Message{Header: genetlink.Header{Command: cmd, Version: c.fam.ABI}, Data: attrs}
	req, err := c.c.Send(msg, c.kernel.ID, netlink.Request|netlink.Acknowledge)
	if err != nil {
		return nil, wrap(c.fam.Name, op, err)
	}
	var out []genetlink.Message
	for {
		gms, nms, err := c.c.Receive()
		if err != nil {
			return nil, wrap(c.fam.Name, op, err)
		}
		for i, nm := range nms {
			if nm.Header.Sequence != req.Header.Sequence {
				continue // a stray (e.g. multicast) message
			}
			if nm.Header.Type == netlink.Error {
				return out, nil // the ack (errors come back from Receive as err)
			}
			out = append(out, gms[i])
		}
	}
}

// Request is one request of a batch: a command and its encoded attributes.
type Request struct {
	Cmd   uint8
	Attrs []byte
}

// DoBatch sends requests that have no reply but their ack in one sendmsg and returns
// each one's outcome (nil, or an *Error with the kernel's message), or err when the
// batch could not be sent or its acks read (then every request not acked before
// carries err too: its outcome is unknown). The kernel handles a datagram's requests
// one after another, in order, and acks each: one system call and one wake-up of the
// kernel's netlink receive path for all of them, instead of one round trip each. An
// error ack carries no usable sequence number through the netlink library, so acks are
// matched in order (the socket must be one that joined no multicast group). On a
// connection made by New, the requests go one at a time.
func (c *Conn) DoBatch(op string, reqs []Request) ([]error, error) {
	errs := make([]error, len(reqs))
	// fail gives every request from i on the batch's error: their outcome is unknown
	fail := func(i int, err error) ([]error, error) {
		for ; i < len(errs); i++ {
			errs[i] = err
		}
		return errs, err
	}
	if c.nc == nil {
		for i, r := range reqs {
			if _, err := c.Do(op, r.Cmd, r.Attrs); err != nil {
				if e := (*Error)(nil); !errors.As(err, &e) {
					return fail(i, err)
				}
				errs[i] = err
			}
		}
		return errs, nil
	}
	msgs := make([]netlink.Message, len(reqs))
	for i, r := range reqs {
		b, err := (genetlink.Message{Header: genetlink.Header{Command: r.Cmd, Version: c.fam.ABI}, Data: r.Attrs}).MarshalBinary()
		if err != nil {
			return fail(0, wrap(c.fam.Name, op, err))
		}
		msgs[i] = netlink.Message{Header: netlink.Header{Type: netlink.HeaderType(c.kernel.ID), Flags: netlink.Request | netlink.Acknowledge}, Data: b}
	}
	sent, err := c.nc.SendMessages(msgs)
	if err != nil {
		return fail(0, wrap(c.fam.Name, op, err))
	}
	index := make(map[uint32]int, len(sent))
	for i, m := range sent {
		index[m.Header.Sequence] = i
	}
	for next := 0; next < len(reqs); {
		ms, err := c.nc.Receive()
		if err != nil {
			if !kernelAck(err) {
				return fail(next, wrap(c.fam.Name, op, err))
			}
			errs[next] = wrap(c.fam.Name, op, err)
			next++
			continue
		}
		for _, m := range ms {
			if i, ok := index[m.Header.Sequence]; ok && m.Header.Type == netlink.Error && i >= next {
				next = i + 1
			}
		}
	}
	return errs, nil
}

// kernelAck tells whether err is the kernel's error ack (a bare errno in an OpError, as
// the netlink library reports an NLMSG_ERROR), not a failure of the socket (an errno
// wrapped in os.SyscallError, a timeout).
func kernelAck(err error) bool {
	var oe *netlink.OpError
	if !errors.As(err, &oe) {
		return false
	}
	_, ok := oe.Err.(syscall.Errno)
	return ok
}

// Dump runs a dump request and returns every message of it, merged across the
// kernel's multi-part replies. A dump the kernel marks interrupted (the table changed
// while it was read) is started again, DumpRetries times at most.
func (c *Conn) Dump(op string, cmd uint8, attrs []byte) ([]genetlink.Message, error) {
	for try := 0; ; try++ {
		out, interrupted, err := c.DumpOnce(op, cmd, attrs, nil)
		if err != nil {
			return nil, err
		}
		if !interrupted {
			return out, nil
		}
		if try >= DumpRetries {
			return nil, &Error{Family: c.fam.Name, Op: op, Err: syscall.EINTR,
				Message: fmt.Sprintf("dump interrupted by concurrent changes %d times in a row", try+1)}
		}
	}
}

// DumpOnce sends one dump request, runs between (if not nil) before it reads any of
// the reply, then reads the reply up to NLMSG_DONE and says whether the kernel marked
// it interrupted (NLM_F_DUMP_INTR on any message, NLMSG_DONE included). It does not
// retry. The kernel fills a dump's first skb while the request is sent and each
// further one as the reader drains the socket, so between runs after the first.
func (c *Conn) DumpOnce(op string, cmd uint8, attrs []byte, between func()) ([]genetlink.Message, bool, error) {
	msg := genetlink.Message{Header: genetlink.Header{Command: cmd, Version: c.fam.ABI}, Data: attrs}
	req, err := c.c.Send(msg, c.kernel.ID, netlink.Request|netlink.Dump)
	if err != nil {
		return nil, false, wrap(c.fam.Name, op, err)
	}
	if between != nil {
		between()
	}
	// Read the raw datagrams ourselves: mdlayher/netlink drops the NLMSG_DONE
	// message, and the kernel may mark only that one NLM_F_DUMP_INTR (when the
	// table changed and the last round had nothing left to send).
	out, interrupted, err := c.receiveDump(req.Header.Sequence)
	if err != nil {
		return nil, false, wrap(c.fam.Name, op, err)
	}
	return out, interrupted, nil
}

// DumpDecode dumps op and decodes each entry with decode. Entries that cannot be
// decoded are left out and counted in skipped rather than failing the whole listing.
func DumpDecode[T any](c *Conn, op string, cmd uint8, attrs []byte, decode func([]byte) (T, error)) (out []T, skipped int, err error) {
	msgs, err := c.Dump(op, cmd, attrs)
	if err != nil {
		return nil, 0, err
	}
	out = make([]T, 0, len(msgs))
	for _, m := range msgs {
		v, err := decode(m.Data)
		if err != nil {
			skipped++
			continue
		}
		out = append(out, v)
	}
	return out, skipped, nil
}

// DoDecode sends op, which has exactly one reply, and decodes that reply with decode.
func DoDecode[T any](c *Conn, op string, cmd uint8, attrs []byte, decode func([]byte) (T, error)) (T, error) {
	var zero T
	msgs, err := c.Do(op, cmd, attrs)
	if err != nil {
		return zero, err
	}
	m, err := One(msgs, c.fam.Name, op)
	if err != nil {
		return zero, err
	}
	return decode(m.Data)
}

// JoinGroup subscribes the connection to a multicast group of the family.
func (c *Conn) JoinGroup(name string) error {
	for _, g := range c.kernel.Groups {
		if g.Name == name {
			if err := c.c.JoinGroup(g.ID); err != nil {
				return wrap(c.fam.Name, "join "+name, err)
			}
			return nil
		}
	}
	return fmt.Errorf("%s: the module has no multicast group %q", c.fam.Name, name)
}

// Receive waits for messages (events of joined groups).
func (c *Conn) Receive() ([]genetlink.Message, error) {
	msgs, _, err := c.c.Receive()
	if err != nil {
		return nil, wrap(c.fam.Name, "receive", err)
	}
	return msgs, nil
}

// SetReadDeadline bounds Receive.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.c.SetReadDeadline(t) }

// SetReadBuffer sizes the socket's receive buffer; with CAP_NET_ADMIN it may exceed
// net.core.rmem_max (SO_RCVBUFFORCE), as event listeners that take bursts need.
func (c *Conn) SetReadBuffer(bytes int) error {
	rc, err := c.c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, bytes)
	}); err != nil {
		return err
	}
	if serr == nil {
		return nil
	}
	return c.c.SetReadBuffer(bytes)
}

// receiveDump reads one dump's datagrams up to NLMSG_DONE, reporting whether any
// message (NLMSG_DONE included) carried NLM_F_DUMP_INTR.
func (c *Conn) receiveDump(seq uint32) ([]genetlink.Message, bool, error) {
	rc, err := c.c.SyscallConn()
	if err != nil {
		// no socket under the connection (a test's fake kernel): read through
		// mdlayher/netlink, which sees NLM_F_DUMP_INTR on every message but
		// NLMSG_DONE
		return c.receiveDumpMessages(seq)
	}
	var out []genetlink.Message
	interrupted := false
	peek := make([]byte, 1)
	for {
		var buf []byte // fresh per datagram: decoded messages keep slices of it
		var n int
		var rerr error
		if err := rc.Read(func(fd uintptr) bool {
			// peek at the datagram's real size first: a dump round can exceed any
			// fixed buffer, and a truncated datagram would lose messages
			n, _, rerr = unix.Recvfrom(int(fd), peek, unix.MSG_PEEK|unix.MSG_TRUNC)
			if rerr == nil {
				buf = make([]byte, n)
				n, _, rerr = unix.Recvfrom(int(fd), buf, 0)
			}
			return rerr != unix.EAGAIN && rerr != unix.EWOULDBLOCK
		}); err != nil {
			return nil, false, err
		}
		if rerr != nil {
			return nil, false, os.NewSyscallError("recvfrom", rerr)
		}
		b := buf[:n]
		for len(b) >= unix.NLMSG_HDRLEN {
			l := int(binary.NativeEndian.Uint32(b[0:4]))
			if l < unix.NLMSG_HDRLEN || l > len(b) {
				return nil, false, errors.New("malformed netlink message in dump")
			}
			typ := binary.NativeEndian.Uint16(b[4:6])
			flags := binary.NativeEndian.Uint16(b[6:8])
			mseq := binary.NativeEndian.Uint32(b[8:12])
			body := b[unix.NLMSG_HDRLEN:l]
			adv := (l + unix.NLMSG_ALIGNTO - 1) &^ (unix.NLMSG_ALIGNTO - 1)
			if adv > len(b) {
				adv = len(b)
			}
			b = b[adv:]
			if mseq != seq {
				continue
			}
			if flags&unix.NLM_F_DUMP_INTR != 0 {
				interrupted = true
			}
			switch typ {
			case unix.NLMSG_DONE:
				if len(body) >= 4 {
					if e := int32(binary.NativeEndian.Uint32(body[:4])); e < 0 {
						return nil, false, kernelError(e, flags, body[4:], true)
					}
				}
				return out, interrupted, nil
			case unix.NLMSG_ERROR:
				if len(body) >= 4 {
					if e := int32(binary.NativeEndian.Uint32(body[:4])); e < 0 {
						return nil, false, kernelError(e, flags, body[4:], false)
					}
				}
				return out, interrupted, nil
			default:
				var gm genetlink.Message
				if err := gm.UnmarshalBinary(body); err != nil {
					continue // not decodable: left out, not fatal to the listing
				}
				out = append(out, gm)
			}
		}
	}
}

func (c *Conn) receiveDumpMessages(seq uint32) ([]genetlink.Message, bool, error) {
	gms, nms, err := c.c.Receive()
	if err != nil {
		return nil, false, err
	}
	var out []genetlink.Message
	interrupted := false
	for i, nm := range nms {
		if nm.Header.Sequence != seq {
			continue
		}
		if nm.Header.Flags&netlink.DumpInterrupted != 0 {
			interrupted = true
		}
		out = append(out, gms[i])
	}
	return out, interrupted, nil
}

// kernelError builds the OpError the rest of the package unwraps, with the extack
// message if the kernel sent one. rest follows the errno: for NLMSG_ERROR the echoed
// request header (and payload unless capped), then TLVs; for NLMSG_DONE, TLVs.
func kernelError(errno int32, flags uint16, rest []byte, done bool) error {
	oe := &netlink.OpError{Op: "receive", Err: syscall.Errno(-errno)}
	if flags&unix.NLM_F_ACK_TLVS == 0 {
		return oe
	}
	if !done {
		if len(rest) < unix.NLMSG_HDRLEN {
			return oe
		}
		skip := unix.NLMSG_HDRLEN
		if flags&unix.NLM_F_CAPPED == 0 {
			skip = int(binary.NativeEndian.Uint32(rest[0:4]))
		}
		if skip > len(rest) {
			return oe
		}
		rest = rest[skip:]
	}
	if ad, err := netlink.NewAttributeDecoder(rest); err == nil {
		for ad.Next() {
			switch ad.Type() {
			case unix.NLMSGERR_ATTR_MSG:
				oe.Message = ad.String()
			case unix.NLMSGERR_ATTR_OFFS:
				oe.Offset = int(ad.Uint32())
			}
		}
	}
	return oe
}

// Optional writes attribute typ with *v when v is not nil, and nothing when it is:
// the request side of every client's optional fields (nil is left out, 0 is sent).
func Optional[T uint8 | uint16 | uint32 | uint64 | int8 | int16 | int32 | int64](ae *netlink.AttributeEncoder, typ uint16, v *T) {
	if v == nil {
		return
	}
	switch x := any(*v).(type) {
	case uint8:
		ae.Uint8(typ, x)
	case uint16:
		ae.Uint16(typ, x)
	case uint32:
		ae.Uint32(typ, x)
	case uint64:
		ae.Uint64(typ, x)
	case int8:
		ae.Int8(typ, x)
	case int16:
		ae.Int16(typ, x)
	case int32:
		ae.Int32(typ, x)
	case int64:
		ae.Int64(typ, x)
	}
}

// Decode walks the attributes of a reply, calling fn for each; unknown attributes are
// the callback's to ignore (newer modules may add some). A malformed reply is an error
// naming the family.
func Decode(family string, b []byte, fn func(*netlink.AttributeDecoder)) error {
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return fmt.Errorf("%s: malformed reply: %w", family, err)
	}
	for ad.Next() {
		fn(ad)
	}
	if err := ad.Err(); err != nil {
		return fmt.Errorf("%s: malformed reply: %w", family, err)
	}
	return nil
}

// One returns the single reply of a request that must have exactly one.
func One(msgs []genetlink.Message, family, op string) (genetlink.Message, error) {
	if len(msgs) != 1 {
		return genetlink.Message{}, fmt.Errorf("%s %s: expected one reply, got %d", family, op, len(msgs))
	}
	return msgs[0], nil
}
