package rtnl

import (
	"net"
	"net/netip"
)

// Neigh is a neighbour (ARP or NDP) entry.
type Neigh struct {
	Ifindex int
	IP      netip.Addr
	MAC     net.HardwareAddr // nil while unresolved
	State   uint16           // NUD_* (rtnetlink(7)): NUD_PERMANENT 0x80, NUD_REACHABLE 0x02, ...
}

// Neighs dumps every neighbour entry of IPv4 and IPv6.
func (c *Conn) Neighs() ([]Neigh, error) {
	ms, err := c.rt.Neigh.List()
	if err != nil {
		return nil, wrap("dump neighbours", err)
	}
	var out []Neigh
	for _, m := range ms {
		if m.Attributes == nil {
			continue
		}
		ip, ok := netip.AddrFromSlice(m.Attributes.Address)
		if !ok {
			continue
		}
		out = append(out, Neigh{Ifindex: int(m.Index), IP: ip.Unmap(), MAC: m.Attributes.LLAddress, State: m.State})
	}
	return out, nil
}
