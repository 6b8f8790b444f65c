package rtnl

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Addr is an interface address.
type Addr struct {
	Ifindex int
	Prefix  netip.Prefix // the address and its prefix length
	Scope   uint8        // RT_SCOPE_UNIVERSE (0) for global addresses
}

func decodeAddr(b []byte) (Addr, error) {
	if len(b) < unix.SizeofIfAddrmsg {
		return Addr{}, errors.New("rtnetlink: short ifaddrmsg")
	}
	a := Addr{Ifindex: int(int32(uint32(b[4]) | uint32(b[5])<<8 | uint32(b[6])<<16 | uint32(b[7])<<24)), Scope: b[3]}
	bits := int(b[1])
	ad, err := netlink.NewAttributeDecoder(b[unix.SizeofIfAddrmsg:])
	if err != nil {
		return Addr{}, err
	}
	var local, address netip.Addr
	for ad.Next() {
		switch ad.Type() {
		case unix.IFA_LOCAL:
			local, _ = netip.AddrFromSlice(ad.Bytes())
		case unix.IFA_ADDRESS:
			address, _ = netip.AddrFromSlice(ad.Bytes())
		}
	}
	if err := ad.Err(); err != nil {
		return Addr{}, err
	}
	ip := local // IFA_LOCAL is the local address on point-to-point links
	if !ip.IsValid() {
		ip = address
	}
	if !ip.IsValid() {
		return Addr{}, errors.New("rtnetlink: address without IFA_ADDRESS")
	}
	a.Prefix = netip.PrefixFrom(ip, bits)
	return a, nil
}

// Addrs dumps every IPv4 and IPv6 address.
func (c *Conn) Addrs() ([]Addr, error) {
	msg := make([]byte, unix.SizeofIfAddrmsg) // family AF_UNSPEC: both
	msgs, err := c.execute("dump addresses", unix.RTM_GETADDR, netlink.Dump, msg)
	if err != nil {
		return nil, err
	}
	var out []Addr
	for _, m := range msgs {
		if a, err := decodeAddr(m.Data); err == nil {
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
type Watcher struct{ c *netlink.Conn }

// Watch subscribes to link and address changes in a namespace (netns fd, 0 = own).
func Watch(netns int) (*Watcher, error) {
	c, err := netlink.Dial(unix.NETLINK_ROUTE, &netlink.Config{NetNS: netns,
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
	msgs, err := w.c.Receive()
	if err != nil {
		return nil, wrap("rtnetlink watch", err)
	}
	var out []Update
	for _, m := range msgs {
		switch m.Header.Type {
		case unix.RTM_NEWLINK, unix.RTM_DELLINK:
			if l, err := decodeLink(m.Data); err == nil {
				out = append(out, Update{Link: &l, Deleted: m.Header.Type == unix.RTM_DELLINK})
			}
		case unix.RTM_NEWADDR, unix.RTM_DELADDR:
			if a, err := decodeAddr(m.Data); err == nil {
				out = append(out, Update{Addr: &a, Deleted: m.Header.Type == unix.RTM_DELADDR})
			}
		}
	}
	return out, nil
}
