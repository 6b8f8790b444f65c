// Package equalize is the Go side of per-packet multipath (RTM_F_EQUALIZE): the client
// of the equalize module's generic netlink family (kmod/equalize; constants generated
// from netlinkproto/specs/equalize.yaml), and Detect, which says whether the running
// kernel spreads an equalize route's packets at all.
package equalize

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/nlkit/nlkit/netlinkproto/genl"
)

// Support is how the running kernel treats RTM_F_EQUALIZE.
type Support int

const (
	// None: the flag is stored (IPv4) or dropped (IPv6) and ignored.
	None Support = iota
	// ModuleOnly: the equalize module spreads forwarded packets; locally generated
	// ones stay on one path per flow.
	ModuleOnly
	// Kernel: the kernel implements the flag (nlkit's patch): forwarded and local
	// traffic, IPv4 and IPv6.
	Kernel
)

func (s Support) String() string {
	switch s {
	case Kernel:
		return "kernel"
	case ModuleOnly:
		return "module"
	}
	return "none"
}

// Describe is a sentence for the user.
func (s Support) Describe() string {
	switch s {
	case Kernel:
		return "the kernel implements equalize (net.ipv4.fib_multipath_equalize = 1): forwarded and local packets are spread"
	case ModuleOnly:
		return "the equalize module spreads forwarded packets; this kernel does not implement equalize itself, so locally generated traffic stays on one path per flow"
	}
	return "this kernel ignores equalize and the equalize module is not loaded (modprobe equalize, or boot a kernel with nlkit's patch)"
}

// SysctlPath is the patch's read-only sysctl.
const SysctlPath = "/proc/sys/net/ipv4/fib_multipath_equalize"

// Detect says how the kernel of the caller's network namespace treats RTM_F_EQUALIZE.
func Detect() Support {
	if b, err := os.ReadFile(SysctlPath); err == nil && strings.TrimSpace(string(b)) == "1" {
		return Kernel
	}
	if c, err := Dial(); err == nil {
		c.Close()
		return ModuleOnly
	}
	return None
}

// ErrNotSupported is returned when asked for equalize on a kernel that would ignore it.
var ErrNotSupported = errors.New("equalize is not supported here")

// Status is generated from the spec (equalize_gen.go).

// Prefix is a destination prefix the module spreads. It is written by hand, not
// generated: it joins address and length into one value.
type Prefix struct {
	Net     *net.IPNet `json:"-"`
	Packets uint64     `json:"packets"`
}

func decode(b []byte, fn func(*netlink.AttributeDecoder)) error {
	return genl.Decode(FamilyName, b, fn)
}

// Status reports the module's counters and the netns's hash policies.
func (c *Client) Status() (Status, error) {
	return genl.DoDecode(c.c, "get-status", CmdGetStatus, nil, func(b []byte) (Status, error) { return decodeStatusAttrs(b, nil) })
}

// EncodePrefix is the request of add-prefix and del-prefix.
func EncodePrefix(p *net.IPNet) ([]byte, error) {
	ones, bits := p.Mask.Size()
	fam, ip := uint8(unix.AF_INET6), p.IP.To16()
	if ip4 := p.IP.To4(); ip4 != nil && bits == 32 {
		fam, ip = unix.AF_INET, ip4
	}
	if ip == nil || bits == 0 {
		return nil, fmt.Errorf("bad prefix %v", p)
	}
	ae := netlink.NewAttributeEncoder()
	ae.Uint8(AttrPrefixFamily, fam)
	ae.Bytes(AttrPrefixAddr, ip)
	ae.Uint8(AttrPrefixLen, uint8(ones))
	return ae.Encode()
}

// AddPrefix makes the module spread forwarded packets to p.
func (c *Client) AddPrefix(p *net.IPNet) error {
	b, err := EncodePrefix(p)
	if err != nil {
		return err
	}
	_, err = c.c.Do("add-prefix", CmdAddPrefix, b)
	return err
}

// DelPrefix undoes AddPrefix.
func (c *Client) DelPrefix(p *net.IPNet) error {
	b, err := EncodePrefix(p)
	if err != nil {
		return err
	}
	_, err = c.c.Do("del-prefix", CmdDelPrefix, b)
	return err
}

// Raw sends a request as it is (tests of the module's input checks).
func (c *Client) Raw(op string, cmd uint8, attrs []byte) error {
	_, err := c.c.Do(op, cmd, attrs)
	return err
}

func decodePrefix(b []byte) (Prefix, error) {
	var p Prefix
	var addr []byte
	var plen int
	err := decode(b, func(ad *netlink.AttributeDecoder) {
		switch ad.Type() {
		case AttrPrefixAddr:
			addr = ad.Bytes()
		case AttrPrefixLen:
			plen = int(ad.Uint8())
		case AttrPrefixPackets:
			p.Packets = ad.Uint64()
		}
	})
	if err != nil {
		return p, err
	}
	if len(addr) != 4 && len(addr) != 16 {
		return p, fmt.Errorf("prefix address of %d bytes", len(addr))
	}
	p.Net = &net.IPNet{IP: net.IP(addr), Mask: net.CIDRMask(plen, len(addr)*8)}
	return p, nil
}

// Prefix gets the configured prefix p (exactly: address and length) with its counter;
// ENOENT if it is not configured.
func (c *Client) Prefix(p *net.IPNet) (Prefix, error) {
	b, err := EncodePrefix(p)
	if err != nil {
		return Prefix{}, err
	}
	return genl.DoDecode(c.c, "get-prefix", CmdGetPrefix, b, decodePrefix)
}

// Prefixes dumps the configured prefixes.
func (c *Client) Prefixes() ([]Prefix, error) {
	out, skipped, err := genl.DumpDecode(c.c, "get-prefix", CmdGetPrefix, nil, decodePrefix)
	c.Skipped = skipped
	return out, err
}
