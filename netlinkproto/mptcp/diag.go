package mptcp

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// The kernel's view of a network namespace's MPTCP connections, from sock_diag: every
// subflow is a TCP socket whose ULP info (INET_DIAG_ULP_INFO, with CAP_NET_ADMIN)
// names its connection's token and flags. A path manager that lost events (ENOBUFS on
// its multicast socket) resynchronises from it, as `ss -tni` shows the same
// ("tcp-ulp-mptcp flags:... token:...").

// Constants of include/uapi/linux/inet_diag.h and mptcp(_pm).h that x/sys/unix lacks.
const (
	diagInfo           = 2  // INET_DIAG_INFO
	diagULPInfo        = 19 // INET_DIAG_ULP_INFO
	ulpInfoName        = 1  // INET_ULP_INFO_NAME
	ulpInfoMPTCP       = 3  // INET_ULP_INFO_MPTCP
	subflowAttrTokLoc  = 2  // MPTCP_SUBFLOW_ATTR_TOKEN_LOC
	subflowAttrFlags   = 8  // MPTCP_SUBFLOW_ATTR_FLAGS
	subflowAttrIDRem   = 9  // MPTCP_SUBFLOW_ATTR_ID_REM
	subflowAttrIDLoc   = 10 // MPTCP_SUBFLOW_ATTR_ID_LOC
	subflowFlagMcapLoc = 2  // MPTCP_SUBFLOW_FLAG_MCAP_LOC: the initial subflow, this end asked MP_CAPABLE (the client)
	subflowFlagMcapRem = 1  // MPTCP_SUBFLOW_FLAG_MCAP_REM: the initial subflow, MP_CAPABLE agreed
	diagReqProtocol    = 3  // INET_DIAG_REQ_PROTOCOL: the protocol as a u32 (IPPROTO_MPTCP is 262)
	mptcpInfoToken     = 12 // offset of mptcpi_token in struct mptcp_info
	tcpListen          = 10 // TCP_LISTEN
	tcpEstablished     = 1  // TCP_ESTABLISHED
	diagMsgLen         = 72 // struct inet_diag_msg
)

// DiagSubflow is one subflow of a connection as sock_diag shows it.
type DiagSubflow struct {
	Local, Remote  netip.AddrPort
	Family         uint16 // AF_INET or AF_INET6 (of the subflow's socket)
	State          uint8  // TCP state (TCP_ESTABLISHED 1, ...)
	Established    bool   // TCP_ESTABLISHED
	Initial        bool   // the connection's first subflow (MP_CAPABLE)
	Client         bool   // of the initial subflow: this end opened the connection
	LocalID, RemID uint8
}

// DiagConn is an MPTCP connection: its local token (the one events carry), its own
// state (the MPTCP socket's) and its subflows, the initial one first when the kernel
// still has it.
type DiagConn struct {
	Token    uint32
	State    uint8 // the MPTCP socket's TCP-like state; 0 if the kernel did not list it
	Subflows []DiagSubflow
	// Sockets: the kernel listed its MPTCP sockets (mptcp_diag), so a connection it
	// did not list (State 0) has no socket left: closed, its subflows closing
	Sockets bool
}

// Live tells whether the connection is open: its MPTCP socket is established, opening,
// or half-closed by the peer only (CLOSE_WAIT). Once the application closes it, the
// socket is past that at once (and the kernel sends CLOSED), while its subflows may
// stay established until the DATA_FIN exchange ends (7.3 no longer lists the closed
// socket, 6.1 and 6.12 list it past ESTABLISHED); so the subflows' states decide only
// on a kernel that lists no MPTCP socket at all.
func (c *DiagConn) Live() bool {
	live := func(st uint8) bool { return st == 1 || st == 2 || st == 3 || st == 8 } // ESTABLISHED, SYN_SENT, SYN_RECV, CLOSE_WAIT
	if c.State != 0 || c.Sockets {
		return live(c.State)
	}
	for _, s := range c.Subflows { // a kernel without mptcp_diag
		if live(s.State) {
			return true
		}
	}
	return false
}

// Initial returns the connection's initial subflow, if it still exists.
func (c *DiagConn) Initial() (DiagSubflow, bool) {
	for _, s := range c.Subflows {
		if s.Initial {
			return s, true
		}
	}
	return DiagSubflow{}, false
}

// Diag is a sock_diag socket of one network namespace.
type Diag struct{ c *netlink.Conn }

// DialDiag opens a sock_diag socket in the namespace of cfg (the caller's when nil).
func DialDiag(cfg *Config) (*Diag, error) {
	nc := &netlink.Config{}
	if cfg != nil {
		nc.NetNS = cfg.NetNS
	}
	c, err := netlink.Dial(unix.NETLINK_SOCK_DIAG, nc)
	if err != nil {
		return nil, fmt.Errorf("sock_diag: %w", err)
	}
	return &Diag{c: c}, nil
}

// Close closes the socket.
func (d *Diag) Close() error { return d.c.Close() }

// Connections is DialDiag, Diag.Connections and Close.
func Connections(cfg *Config) ([]DiagConn, error) {
	d, err := DialDiag(cfg)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.Connections()
}

// Connections lists the namespace's MPTCP connections with their subflows, from a
// dump of TCP sockets of both families. It needs CAP_NET_ADMIN there (the kernel gives
// ULP info to no one else). Connections that fell back to TCP have no ULP info and
// are not listed.
func (d *Diag) Connections() ([]DiagConn, error) {
	byToken := map[uint32]*DiagConn{}
	var order []uint32
	conn := func(tok uint32) *DiagConn {
		dc := byToken[tok]
		if dc == nil {
			dc = &DiagConn{Token: tok}
			byToken[tok] = dc
			order = append(order, tok)
		}
		return dc
	}
	for _, family := range []uint8{unix.AF_INET, unix.AF_INET6} {
		msgs, err := d.dump(family, unix.IPPROTO_TCP)
		if err != nil {
			return nil, fmt.Errorf("sock_diag dump of TCP sockets: %w", err)
		}
		for _, m := range msgs {
			tok, sf, ok, err := parseDiagSubflow(m.Data)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
			dc := conn(tok)
			if sf.Initial {
				dc.Subflows = append([]DiagSubflow{sf}, dc.Subflows...)
			} else {
				dc.Subflows = append(dc.Subflows, sf)
			}
		}
	}
	// the MPTCP sockets themselves, for their state (a connection with no subflow left
	// is listed too); a kernel without mptcp_diag leaves the subflows to decide
	sockets := true
	for _, family := range []uint8{unix.AF_INET, unix.AF_INET6} {
		msgs, err := d.dump(family, unix.IPPROTO_MPTCP)
		if err != nil {
			sockets = false
			break
		}
		for _, m := range msgs {
			if tok, state, ok := parseDiagMPTCP(m.Data); ok {
				conn(tok).State = state
			}
		}
	}
	out := make([]DiagConn, 0, len(order))
	for _, tok := range order {
		dc := *byToken[tok]
		dc.Sockets = sockets
		out = append(out, dc)
	}
	return out, nil
}

// dump lists a family's sockets of protocol in every state but LISTEN, with their
// INET_DIAG_INFO (tcp_info, mptcp_info). A protocol past 255 (IPPROTO_MPTCP) goes in
// INET_DIAG_REQ_PROTOCOL, the request's own byte being too small for it.
func (d *Diag) dump(family uint8, protocol uint16) ([]netlink.Message, error) {
	req := make([]byte, 56) // struct inet_diag_req_v2
	req[0], req[1], req[2] = family, uint8(protocol), 1<<(diagInfo-1)
	binary.NativeEndian.PutUint32(req[4:], 0xfff&^(1<<tcpListen)) // every state but LISTEN
	if protocol > 0xff {
		ae := netlink.NewAttributeEncoder()
		ae.Uint32(diagReqProtocol, uint32(protocol))
		attrs, err := ae.Encode()
		if err != nil {
			return nil, err
		}
		req = append(req, attrs...)
	}
	return d.c.Execute(netlink.Message{
		Header: netlink.Header{Type: unix.SOCK_DIAG_BY_FAMILY, Flags: netlink.Request | netlink.Dump},
		Data:   req,
	})
}

// parseDiagMPTCP reads an MPTCP socket's state and token (mptcp_info, INET_DIAG_INFO).
func parseDiagMPTCP(b []byte) (token uint32, state uint8, ok bool) {
	if len(b) < diagMsgLen {
		return 0, 0, false
	}
	ad, err := netlink.NewAttributeDecoder(b[diagMsgLen:])
	if err != nil {
		return 0, 0, false
	}
	for ad.Next() {
		if v := ad.Bytes(); ad.Type() == diagInfo && len(v) >= mptcpInfoToken+4 {
			token = binary.NativeEndian.Uint32(v[mptcpInfoToken:])
		}
	}
	return token, b[1], token != 0
}

// parseDiagSubflow decodes one inet_diag_msg; ok is false for a TCP socket that is no
// MPTCP subflow.
func parseDiagSubflow(b []byte) (token uint32, sf DiagSubflow, ok bool, err error) {
	if len(b) < diagMsgLen {
		return 0, sf, false, fmt.Errorf("sock_diag: short message (%d bytes)", len(b))
	}
	family, state := b[0], b[1]
	id := b[4:52] // struct inet_diag_sockid
	sport, dport := binary.BigEndian.Uint16(id[0:]), binary.BigEndian.Uint16(id[2:])
	var src, dst netip.Addr
	if family == unix.AF_INET {
		src, dst = netip.AddrFrom4([4]byte(id[4:8])), netip.AddrFrom4([4]byte(id[20:24]))
	} else {
		src, dst = netip.AddrFrom16([16]byte(id[4:20])).Unmap(), netip.AddrFrom16([16]byte(id[20:36])).Unmap()
	}
	sf = DiagSubflow{Local: netip.AddrPortFrom(src, sport), Remote: netip.AddrPortFrom(dst, dport),
		Family: uint16(family), State: state, Established: state == tcpEstablished}
	ad, err := netlink.NewAttributeDecoder(b[diagMsgLen:])
	if err != nil {
		return 0, sf, false, fmt.Errorf("sock_diag attributes: %w", err)
	}
	for ad.Next() {
		if ad.Type() != diagULPInfo {
			continue
		}
		ad.Nested(func(ulp *netlink.AttributeDecoder) error {
			var mptcp []byte
			name := ""
			for ulp.Next() {
				switch ulp.Type() {
				case ulpInfoName:
					name = ulp.String()
				case ulpInfoMPTCP:
					mptcp = ulp.Bytes()
				}
			}
			if name != "mptcp" || mptcp == nil {
				return nil
			}
			md, err := netlink.NewAttributeDecoder(mptcp)
			if err != nil {
				return err
			}
			for md.Next() {
				switch md.Type() {
				case subflowAttrTokLoc:
					token, ok = md.Uint32(), true
				case subflowAttrFlags:
					f := md.Uint32()
					sf.Initial = f&(subflowFlagMcapLoc|subflowFlagMcapRem) != 0
					sf.Client = f&subflowFlagMcapLoc != 0
				case subflowAttrIDRem:
					sf.RemID = md.Uint8()
				case subflowAttrIDLoc:
					sf.LocalID = md.Uint8()
				}
			}
			return md.Err()
		})
	}
	if err := ad.Err(); err != nil {
		return 0, sf, false, fmt.Errorf("sock_diag attributes: %w", err)
	}
	return token, sf, ok && token != 0, nil
}
