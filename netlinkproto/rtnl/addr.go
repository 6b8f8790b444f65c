package rtnl

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Addr is an interface address.
type Addr struct {
	Ifindex int
	Prefix  netip.Prefix // the address and its prefix length
	Scope   uint8        // RT_SCOPE_UNIVERSE (0) for global addresses
}

func addrOf(m *rtnetlink.AddressMessage) (Addr, error) {
	a := Addr{Ifindex: int(m.Index), Scope: m.Scope}
	var ip netip.Addr
	if at := m.Attributes; at != nil {
		ip, _ = netip.AddrFromSlice(at.Local) // IFA_LOCAL: the local address on point-to-point links
		if !ip.IsValid() {
			ip, _ = netip.AddrFromSlice(at.Address)
		}
	}
	if !ip.IsValid() {
		return Addr{}, errors.New("rtnetlink: address without IFA_ADDRESS")
	}
	if m.Family != unix.AF_INET6 {
		ip = ip.Unmap() // an IPv4 address the library kept in 16 bytes
	}
	a.Prefix = netip.PrefixFrom(ip, int(m.PrefixLength))
	return a, nil
}

// Addrs dumps every IPv4 and IPv6 address.
func (c *Conn) Addrs() ([]Addr, error) {
	ms, err := c.rt.Address.List()
	if err != nil {
		return nil, wrap("dump addresses", err)
	}
	var out []Addr
	for i := range ms {
		if a, err := addrOf(&ms[i]); err == nil {
			out = append(out, a)
		}
	}
	return out, nil
}

// Update is one notification of a Watcher: a link or an address that appeared,
// changed or went away.
type Update struct {
	Link    *Link // RTM_NEWLINK / RTM_DELLINK
	Addr    *Addr // RTM_NEWADDR / RTM_DELADDR
	Deleted bool
}

// Watcher receives link and address notifications.
type Watcher struct{ c *rtnetlink.Conn }

// Watch subscribes to link and address changes in a namespace (netns fd, 0 = own).
func Watch(netns int) (*Watcher, error) {
	c, err := rtnetlink.Dial(&netlink.Config{NetNS: netns,
		Groups: unix.RTMGRP_LINK | unix.RTMGRP_IPV4_IFADDR | unix.RTMGRP_IPV6_IFADDR})
	if err != nil {
		return nil, fmt.Errorf("rtnetlink watch: %w", err)
	}
	return &Watcher{c: c}, nil
}

// Close stops the watcher; a blocked Next returns an error.
func (w *Watcher) Close() error { return w.c.Close() }

// Next returns the next batch of changes.
func (w *Watcher) Next() ([]Update, error) {
	rms, nms, err := w.c.Receive()
	if err != nil {
		return nil, wrap("rtnetlink watch", err)
	}
	var out []Update
	for i, m := range rms {
		deleted := nms[i].Header.Type == unix.RTM_DELLINK || nms[i].Header.Type == unix.RTM_DELADDR
		switch m := m.(type) {
		case *rtnetlink.LinkMessage:
			l := linkOf(m)
			out = append(out, Update{Link: &l, Deleted: deleted})
		case *rtnetlink.AddressMessage:
			if a, err := addrOf(m); err == nil {
				out = append(out, Update{Addr: &a, Deleted: deleted})
			}
		}
	}
	return out, nil
}
