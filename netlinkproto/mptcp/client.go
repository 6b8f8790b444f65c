// Package mptcp is a client of the kernel's MPTCP path-manager family `mptcp_pm`: the
// in-kernel path manager's endpoints and limits, the userspace path manager's commands
// (announce, remove, subflow create/destroy, set flags), and its events decoded into
// typed structs. It works on Linux 6.1, 6.12 and newer: attributes a kernel does not
// send are left at their zero value (see Event), and unknown ones are ignored.
//
// The family needs CAP_NET_ADMIN in the network namespace's user namespace for every
// command that changes something and for the events group.
package mptcp

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/nlkit/nlkit/netlinkproto/genl"
)

// Family is the mptcp_pm family as the genl layer needs it.
var Family = genl.Family{Name: FamilyName, Module: "mptcp", ABI: FamilyABI,
	Missing: "this kernel has no MPTCP (CONFIG_MPTCP is not set)"}

// Flags are an address's or endpoint's flags (signal, subflow, backup, fullmesh...).
type Flags uint32

var flagNames = []struct {
	f    Flags
	name string
}{{FlagSignal, "signal"}, {FlagSubflow, "subflow"}, {FlagBackup, "backup"},
	{FlagFullmesh, "fullmesh"}, {FlagImplicit, "implicit"}, {FlagLaminar, "laminar"}}

// String lists the flags the way `ip mptcp endpoint` does ("signal backup").
func (f Flags) String() string {
	var parts []string
	for _, n := range flagNames {
		if f&n.f != 0 {
			parts = append(parts, n.name)
			f &^= n.f
		}
	}
	if f != 0 {
		parts = append(parts, fmt.Sprintf("rawflags %02x", uint32(f)))
	}
	return strings.Join(parts, " ")
}

// ParseFlag maps one of iproute2's flag words to its bit.
func ParseFlag(s string) (Flags, bool) {
	for _, n := range flagNames {
		if n.name == s {
			return n.f, true
		}
	}
	return 0, false
}

// Addr is an address of the path manager: an in-kernel PM endpoint, or the local
// address of a userspace PM command. ID 0 means "none given" in requests.
type Addr struct {
	ID      uint8      `json:"id"`
	IP      netip.Addr `json:"address"`
	Port    uint16     `json:"port,omitempty"`
	Flags   Flags      `json:"-"`
	Ifindex int32      `json:"ifindex,omitempty"`
}

// Limits are the in-kernel PM's per-connection limits.
type Limits struct {
	AddAddrAccepted uint32 `json:"add_addr_accepted"`
	Subflows        uint32 `json:"subflows"`
}

// LimitsChange sets the limits that are not nil and leaves the others.
type LimitsChange struct {
	AddAddrAccepted *uint32
	Subflows        *uint32
}

// Config are dial options.
type Config struct {
	NetNS int // a network namespace fd; 0 is the caller's namespace
}

// Conn is a connection to mptcp_pm for commands. Events come through a Monitor (its
// own socket, so a command's reply is never mixed with events).
type Conn struct{ c *genl.Conn }

// Dial connects in the caller's network namespace.
func Dial() (*Conn, error) { return DialConfig(nil) }

// DialConfig connects with options.
func DialConfig(cfg *Config) (*Conn, error) {
	nc := &netlink.Config{}
	if cfg != nil {
		nc.NetNS = cfg.NetNS
	}
	c, err := genl.DialConfig(Family, nc)
	if err != nil {
		return nil, err
	}
	return &Conn{c: c}, nil
}

// Close closes the connection.
func (c *Conn) Close() error { return c.c.Close() }

func encodeAddr(e *netlink.AttributeEncoder, typ uint16, a Addr) error {
	if !a.IP.IsValid() && a.ID == 0 {
		return fmt.Errorf("mptcp: an address or an id is required")
	}
	e.Nested(typ, func(ne *netlink.AttributeEncoder) error {
		ip := a.IP.Unmap()
		if ip.IsValid() {
			if ip.Is4() {
				ne.Uint16(addrFamily, unix.AF_INET)
				b := ip.As4()
				ne.Bytes(addrAddr4, b[:])
			} else {
				ne.Uint16(addrFamily, unix.AF_INET6)
				b := ip.As16()
				ne.Bytes(addrAddr6, b[:])
			}
		} // by id alone: no family, or the kernel looks for address data
		if a.ID != 0 {
			ne.Uint8(addrID, a.ID)
		}
		if a.Port != 0 {
			ne.Uint16(addrPort, a.Port)
		}
		if a.Flags != 0 {
			ne.Uint32(addrFlags, uint32(a.Flags))
		}
		if a.Ifindex != 0 {
			ne.Int32(addrIfindex, a.Ifindex)
		}
		return nil
	})
	return nil
}

func decodeAddr(b []byte) (Addr, error) {
	var a Addr
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return a, err
	}
	for ad.Next() {
		switch ad.Type() {
		case addrID:
			a.ID = ad.Uint8()
		case addrAddr4:
			if v := ad.Bytes(); len(v) == 4 {
				a.IP = netip.AddrFrom4([4]byte(v))
			}
		case addrAddr6:
			if v := ad.Bytes(); len(v) == 16 {
				a.IP = netip.AddrFrom16([16]byte(v))
			}
		case addrPort:
			a.Port = ad.Uint16()
		case addrFlags:
			a.Flags = Flags(ad.Uint32())
		case addrIfindex:
			a.Ifindex = ad.Int32()
		}
	}
	return a, ad.Err()
}

func (c *Conn) do(op string, cmd uint8, fn func(e *netlink.AttributeEncoder) error) ([]byte, error) {
	e := netlink.NewAttributeEncoder()
	if fn != nil {
		if err := fn(e); err != nil {
			return nil, err
		}
	}
	b, err := e.Encode()
	if err != nil {
		return nil, fmt.Errorf("mptcp %s: %w", op, err)
	}
	msgs, err := c.c.Do(op, cmd, b)
	if err != nil {
		return nil, err
	}
	if len(msgs) == 0 {
		return nil, nil
	}
	return msgs[0].Data, nil
}

// Endpoints lists the in-kernel PM's endpoints.
func (c *Conn) Endpoints() ([]Addr, error) {
	msgs, err := c.c.Dump("get-addr", cmdGetAddr, nil)
	if err != nil {
		return nil, err
	}
	var out []Addr
	for _, m := range msgs {
		var a Addr
		var derr error
		if err := genl.Decode(FamilyName, m.Data, func(ad *netlink.AttributeDecoder) {
			if ad.Type() == attrAddr {
				a, derr = decodeAddr(ad.Bytes())
			}
		}); err != nil {
			return nil, err
		}
		if derr != nil {
			return nil, fmt.Errorf("mptcp get-addr: malformed address: %w", derr)
		}
		out = append(out, a)
	}
	return out, nil
}

// Endpoint returns the endpoint with the id.
func (c *Conn) Endpoint(id uint8) (Addr, error) {
	b, err := c.do("get-addr", cmdGetAddr, func(e *netlink.AttributeEncoder) error {
		return encodeAddr(e, attrAddr, Addr{ID: id})
	})
	if err != nil {
		return Addr{}, err
	}
	var a Addr
	var derr error
	err = genl.Decode(FamilyName, b, func(ad *netlink.AttributeDecoder) {
		if ad.Type() == attrAddr {
			a, derr = decodeAddr(ad.Bytes())
		}
	})
	if err == nil {
		err = derr
	}
	return a, err
}

// AddEndpoint adds an endpoint (`ip mptcp endpoint add`).
func (c *Conn) AddEndpoint(a Addr) error {
	if !a.IP.IsValid() {
		return fmt.Errorf("mptcp: an endpoint needs an address")
	}
	_, err := c.do("add-addr", cmdAddAddr, func(e *netlink.AttributeEncoder) error {
		return encodeAddr(e, attrAddr, a)
	})
	return err
}

// DelEndpoint deletes the endpoint with the id (id 0 needs the address).
func (c *Conn) DelEndpoint(id uint8, ip netip.Addr) error {
	if id == 0 && !ip.IsValid() {
		return fmt.Errorf("mptcp: deleting the id 0 endpoint needs its address")
	}
	_, err := c.do("del-addr", cmdDelAddr, func(e *netlink.AttributeEncoder) error {
		return encodeAddr(e, attrAddr, Addr{ID: id, IP: ip})
	})
	return err
}

// FlushEndpoints deletes every endpoint.
func (c *Conn) FlushEndpoints() error {
	_, err := c.do("flush-addrs", cmdFlushAddrs, nil)
	return err
}

// ChangeEndpoint sets an endpoint's backup and fullmesh flags (a.ID or a.IP selects it).
func (c *Conn) ChangeEndpoint(a Addr) error {
	_, err := c.do("set-flags", cmdSetFlags, func(e *netlink.AttributeEncoder) error {
		return encodeAddrFlags(e, a) // flags always sent, so 0 clears backup/fullmesh
	})
	return err
}

func encodeAddrFlags(e *netlink.AttributeEncoder, a Addr) error {
	e.Nested(attrAddr, func(ne *netlink.AttributeEncoder) error {
		ip := a.IP.Unmap()
		switch {
		case ip.Is4():
			ne.Uint16(addrFamily, unix.AF_INET)
			b := ip.As4()
			ne.Bytes(addrAddr4, b[:])
		case ip.IsValid():
			ne.Uint16(addrFamily, unix.AF_INET6)
			b := ip.As16()
			ne.Bytes(addrAddr6, b[:])
		} // by id alone: no family, or the kernel looks for address data
		if a.ID != 0 {
			ne.Uint8(addrID, a.ID)
		}
		if a.Port != 0 {
			ne.Uint16(addrPort, a.Port)
		}
		ne.Uint32(addrFlags, uint32(a.Flags))
		return nil
	})
	return nil
}

// Limits reads the in-kernel PM's limits.
func (c *Conn) Limits() (Limits, error) {
	b, err := c.do("get-limits", cmdGetLimits, nil)
	if err != nil {
		return Limits{}, err
	}
	var l Limits
	err = genl.Decode(FamilyName, b, func(ad *netlink.AttributeDecoder) {
		switch ad.Type() {
		case attrRcvAddAddrs:
			l.AddAddrAccepted = ad.Uint32()
		case attrSubflows:
			l.Subflows = ad.Uint32()
		}
	})
	return l, err
}

// SetLimits changes the limits given.
func (c *Conn) SetLimits(l LimitsChange) error {
	if l.AddAddrAccepted == nil && l.Subflows == nil {
		return fmt.Errorf("mptcp: no limit to set")
	}
	_, err := c.do("set-limits", cmdSetLimits, func(e *netlink.AttributeEncoder) error {
		genl.Optional(e, attrRcvAddAddrs, l.AddAddrAccepted)
		genl.Optional(e, attrSubflows, l.Subflows)
		return nil
	})
	return err
}

// Announce makes the userspace PM announce a local address (ADD_ADDR) on the
// connection. The address needs an ID (1-255); the signal flag is implied.
func (c *Conn) Announce(token uint32, local Addr) error {
	if local.ID == 0 || !local.IP.IsValid() {
		return fmt.Errorf("mptcp announce: an address and a non-zero id are required")
	}
	local.Flags |= FlagSignal
	_, err := c.do("announce", cmdAnnounce, func(e *netlink.AttributeEncoder) error {
		e.Uint32(attrToken, token)
		return encodeAddr(e, attrAddr, local)
	})
	return err
}

// Remove withdraws an announced address (REMOVE_ADDR) by its id.
func (c *Conn) Remove(token uint32, id uint8) error {
	_, err := c.do("remove", cmdRemove, func(e *netlink.AttributeEncoder) error {
		e.Uint32(attrToken, token)
		e.Uint8(attrLocID, id)
		return nil
	})
	return err
}

// CreateSubflow opens a subflow of the connection from local (address, ID, optional
// source port, flags such as backup, optional interface) to remote.
func (c *Conn) CreateSubflow(token uint32, local Addr, remote netip.AddrPort) error {
	if !local.IP.IsValid() || !remote.IsValid() {
		return fmt.Errorf("mptcp subflow-create: local and remote addresses are required")
	}
	_, err := c.do("subflow-create", cmdSubflowCreate, func(e *netlink.AttributeEncoder) error {
		return encodeSubflow(e, token, local, remote)
	})
	return err
}

// encodeSubflow writes a subflow-create's attributes (and a subflow-destroy's, whose
// local address has no id or flags).
func encodeSubflow(e *netlink.AttributeEncoder, token uint32, local Addr, remote netip.AddrPort) error {
	e.Uint32(attrToken, token)
	if err := encodeAddr(e, attrAddr, local); err != nil {
		return err
	}
	return encodeAddr(e, attrAddrRemote, Addr{IP: remote.Addr(), Port: remote.Port()})
}

// NewSubflow is one subflow to create: a connection's token, the local address (with
// its id, port and flags) and the remote address and port.
type NewSubflow struct {
	Token  uint32
	Local  Addr
	Remote netip.AddrPort
}

// CreateSubflows asks for several subflows in one system call (genl.Conn.DoBatch):
// the kernel opens them one after another, as CreateSubflow would, and each gets its
// own outcome. err is for the batch as a whole (not sent, acks not read).
func (c *Conn) CreateSubflows(sfs []NewSubflow) ([]error, error) {
	reqs := make([]genl.Request, len(sfs))
	for i, sf := range sfs {
		if !sf.Local.IP.IsValid() || !sf.Remote.IsValid() {
			return nil, fmt.Errorf("mptcp subflow-create: local and remote addresses are required")
		}
		e := netlink.NewAttributeEncoder()
		if err := encodeSubflow(e, sf.Token, sf.Local, sf.Remote); err != nil {
			return nil, fmt.Errorf("mptcp subflow-create: %w", err)
		}
		b, err := e.Encode()
		if err != nil {
			return nil, fmt.Errorf("mptcp subflow-create: %w", err)
		}
		reqs[i] = genl.Request{Cmd: cmdSubflowCreate, Attrs: b}
	}
	return c.c.DoBatch("subflow-create", reqs)
}

// DestroySubflow closes the subflow with these local and remote addresses and ports.
func (c *Conn) DestroySubflow(token uint32, local, remote netip.AddrPort) error {
	_, err := c.do("subflow-destroy", cmdSubflowDestroy, func(e *netlink.AttributeEncoder) error {
		return encodeSubflow(e, token, Addr{IP: local.Addr(), Port: local.Port()}, remote)
	})
	return err
}

// SetSubflowBackup changes a subflow's backup priority (MP_PRIO) on a connection of the
// userspace PM.
func (c *Conn) SetSubflowBackup(token uint32, local, remote netip.AddrPort, backup bool) error {
	var f Flags
	if backup {
		f = FlagBackup
	}
	_, err := c.do("set-flags", cmdSetFlags, func(e *netlink.AttributeEncoder) error {
		e.Uint32(attrToken, token)
		if err := encodeAddrFlags(e, Addr{IP: local.Addr(), Port: local.Port(), Flags: f}); err != nil {
			return err
		}
		return encodeAddr(e, attrAddrRemote, Addr{IP: remote.Addr(), Port: remote.Port()})
	})
	return err
}
