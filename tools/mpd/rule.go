// Package mpd is nlkit's MPTCP path manager: a daemon on the kernel's userspace path
// manager (generic netlink family mptcp_pm) that gives each new connection the
// subflows its policy asks for and keeps them while the connection lives.
//
// An out-of-tree path-manager module cannot exist (CONFIG_MPTCP is built in and
// mptcp_pm_register is not exported), so the seed's kernel half is upstream Linux's
// userspace PM and nlkit's part is this daemon.
package mpd

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// PolicyKind names what a rule does with a connection.
type PolicyKind string

const (
	// Ndiffports: N subflows in total over the connection's address pair, with local
	// ports in distinct residues mod N (the seed's experiment).
	Ndiffports PolicyKind = "ndiffports"
	// Fullmesh: a subflow from every local address to every remote address (the
	// connection's, announced ones, configured ones), backup flags per local address.
	Fullmesh PolicyKind = "fullmesh"
	// Announce: on server-side connections, announce local addresses (ADD_ADDR).
	Announce PolicyKind = "announce"
	// Exec: run a command with the connection's details; it prints how many
	// subflows the connection should have in total (the seed's map-resolver hook),
	// which are then opened as with ndiffports.
	Exec PolicyKind = "exec"
	// None leaves the connection alone.
	None PolicyKind = "none"
)

// Side restricts a rule to client- or server-side connections.
type Side string

// Rule is a match and a policy. The first rule that matches a connection applies.
type Rule struct {
	Dst   netip.Prefix // remote address of the connection (zero: any)
	Dport uint16       // remote port (0: any)
	Sport uint16       // local port (0: any), e.g. a server's listening port
	Side  Side         // "client", "server" or "" (any)

	Kind     PolicyKind
	N        int              // ndiffports
	Locals   []netip.Addr     // fullmesh: local addresses (empty: every global address)
	Backup   []netip.Addr     // fullmesh: local addresses whose subflows are backups
	Remotes  []netip.AddrPort // fullmesh: remote addresses besides the connection's and announced ones
	Announce []netip.Addr     // announce
	Command  []string         // exec
	Text     string           // the rule as given
}

// MaxSubflows bounds ndiffports and exec answers (the kernel's address ids are 8 bits).
const MaxSubflows = 64

// ParseRule parses `[dst PREFIX] [dport N] [sport N] [side client|server] POLICY`, where
// POLICY is one of
//
//	ndiffports N
//	fullmesh [local ADDR]... [backup ADDR]... [remote ADDR[:PORT]]...
//	announce ADDR...
//	exec COMMAND [ARG]...   (the rest of the line)
//	none
func ParseRule(s string) (Rule, error) {
	w := strings.Fields(s)
	r := Rule{Text: strings.Join(w, " ")}
	i := 0
	next := func(what string) (string, error) {
		if i+1 >= len(w) {
			return "", fmt.Errorf("%q: %s needs a value", s, what)
		}
		i++
		return w[i], nil
	}
	port := func(what string) (uint16, error) {
		v, err := next(what)
		if err != nil {
			return 0, err
		}
		p, err := strconv.ParseUint(v, 10, 16)
		if err != nil || p == 0 {
			return 0, fmt.Errorf("%q: %s %q is not a port (1-65535)", s, what, v)
		}
		return uint16(p), nil
	}
	for ; i < len(w); i++ {
		switch w[i] {
		case "dst":
			v, err := next("dst")
			if err != nil {
				return r, err
			}
			p, err := netip.ParsePrefix(v)
			if err != nil {
				a, aerr := netip.ParseAddr(v)
				if aerr != nil {
					return r, fmt.Errorf("%q: dst %q is not an address or prefix", s, v)
				}
				p = netip.PrefixFrom(a, a.BitLen())
			}
			r.Dst = p.Masked()
		case "dport":
			p, err := port("dport")
			if err != nil {
				return r, err
			}
			r.Dport = p
		case "sport":
			p, err := port("sport")
			if err != nil {
				return r, err
			}
			r.Sport = p
		case "side":
			v, err := next("side")
			if err != nil {
				return r, err
			}
			if v != "client" && v != "server" {
				return r, fmt.Errorf("%q: side must be client or server, not %q", s, v)
			}
			r.Side = Side(v)
		default:
			return r, r.parsePolicy(s, w[i:])
		}
	}
	return r, fmt.Errorf("%q: no policy (ndiffports N, fullmesh, announce ADDR..., exec CMD, none)", s)
}

func (r *Rule) parsePolicy(s string, w []string) error {
	r.Kind = PolicyKind(w[0])
	args := w[1:]
	addr := func(v string) (netip.Addr, error) {
		a, err := netip.ParseAddr(v)
		if err != nil {
			return a, fmt.Errorf("%q: %q is not an IP address", s, v)
		}
		return a.Unmap(), nil
	}
	switch r.Kind {
	case Ndiffports:
		if len(args) != 1 {
			return fmt.Errorf("%q: usage: ndiffports N", s)
		}
		n, err := strconv.Atoi(args[0])
		if err != nil || n < 1 || n > MaxSubflows {
			return fmt.Errorf("%q: ndiffports needs a number of subflows from 1 to %d, not %q", s, MaxSubflows, args[0])
		}
		r.N = n
	case Fullmesh:
		for j := 0; j < len(args); j++ {
			if j+1 >= len(args) {
				return fmt.Errorf("%q: fullmesh %s needs an address", s, args[j])
			}
			v := args[j+1]
			switch args[j] {
			case "local", "backup":
				a, err := addr(v)
				if err != nil {
					return err
				}
				if args[j] == "local" {
					r.Locals = append(r.Locals, a)
				} else {
					r.Backup = append(r.Backup, a)
				}
			case "remote":
				ap, err := netip.ParseAddrPort(v)
				if err != nil {
					a, aerr := addr(v)
					if aerr != nil {
						return fmt.Errorf("%q: remote %q is not ADDR or ADDR:PORT", s, v)
					}
					ap = netip.AddrPortFrom(a, 0) // the connection's port
				}
				r.Remotes = append(r.Remotes, netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()))
			default:
				return fmt.Errorf("%q: fullmesh takes local, backup and remote, not %q", s, args[j])
			}
			j++
		}
	case Announce:
		if len(args) == 0 {
			return fmt.Errorf("%q: announce needs at least one address", s)
		}
		for _, v := range args {
			a, err := addr(v)
			if err != nil {
				return err
			}
			r.Announce = append(r.Announce, a)
		}
	case Exec:
		if len(args) == 0 {
			return fmt.Errorf("%q: exec needs a command", s)
		}
		r.Command = args
	case None:
		if len(args) != 0 {
			return fmt.Errorf("%q: none takes no arguments", s)
		}
	default:
		return fmt.Errorf("%q: unknown policy %q (ndiffports N, fullmesh, announce ADDR..., exec CMD, none)", s, w[0])
	}
	return nil
}

// Matches reports whether the rule applies to a connection.
func (r *Rule) Matches(remote, local netip.AddrPort, server bool) bool {
	if r.Dst.IsValid() && !r.Dst.Contains(remote.Addr().Unmap()) {
		return false
	}
	if r.Dport != 0 && r.Dport != remote.Port() {
		return false
	}
	if r.Sport != 0 && r.Sport != local.Port() {
		return false
	}
	switch r.Side {
	case "client":
		return !server
	case "server":
		return server
	}
	return true
}

// ResiduePort picks a local port p in [lo, hi] with p mod n == residue, starting from
// the seed value so that retries walk different ports.
func ResiduePort(n, residue int, lo, hi uint16, seed uint32) uint16 {
	if n <= 1 {
		span := uint32(hi-lo) + 1
		return lo + uint16(seed%span)
	}
	// ports in range with the residue: first = lo rounded up to the residue
	first := int(lo) + ((residue-int(lo)%n)%n+n)%n
	count := (int(hi)-first)/n + 1
	if count <= 0 {
		return 0
	}
	return uint16(first + n*int(seed%uint32(count)))
}

// execTimeoutDefault bounds an exec policy's command.
const execTimeoutDefault = 2 * time.Second
