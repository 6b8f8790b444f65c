package rtnl

import (
	"fmt"
	"net"

	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Link is what nlkit needs to know of a network device.
type Link struct {
	Index int
	Name  string
	Kind  string
	Alias string
	MTU   uint32
	Up    bool // administratively up (IFF_UP)
	// Running is the operational state: up and with carrier (IFF_RUNNING).
	Running bool
	Address net.HardwareAddr // IFLA_ADDRESS
}

func linkOf(m *rtnetlink.LinkMessage) Link {
	l := Link{Index: int(m.Index), Up: m.Flags&unix.IFF_UP != 0}
	l.Running = l.Up && m.Flags&unix.IFF_RUNNING != 0
	if a := m.Attributes; a != nil {
		l.Name, l.MTU, l.Address = a.Name, a.MTU, a.Address
		if a.Alias != nil {
			l.Alias = *a.Alias
		}
		if a.Info != nil {
			l.Kind = a.Info.Kind
		}
	}
	return l
}

// getLink is one RTM_GETLINK by index or name, without the statistics.
func (c *Conn) getLink(op string, index uint32, name string) (Link, error) {
	skipStats := uint32(1 << 3) // RTEXT_FILTER_SKIP_STATS
	msgs, err := c.rt.Execute(&rtnetlink.LinkMessage{Family: unix.AF_UNSPEC, Index: index,
		Attributes: &rtnetlink.LinkAttributes{Name: name, ExtMask: &skipStats}}, unix.RTM_GETLINK, netlink.Request)
	if err != nil {
		return Link{}, wrap(op, err)
	}
	if len(msgs) != 1 {
		return Link{}, fmt.Errorf("%s: %d replies", op, len(msgs))
	}
	m, ok := msgs[0].(*rtnetlink.LinkMessage)
	if !ok {
		return Link{}, fmt.Errorf("%s: a reply of another type (%T)", op, msgs[0])
	}
	return linkOf(m), nil
}

// LinkByName looks a device up by name.
func (c *Conn) LinkByName(name string) (Link, error) {
	return c.getLink("get link "+name, 0, name)
}

// LinkByIndex looks a device up by ifindex.
func (c *Conn) LinkByIndex(index int) (Link, error) {
	return c.getLink(fmt.Sprintf("get link %d", index), uint32(index), "")
}

// Links dumps every device.
func (c *Conn) Links() ([]Link, error) {
	ms, err := c.rt.Link.List()
	if err != nil {
		return nil, wrap("dump links", err)
	}
	out := make([]Link, 0, len(ms))
	for i := range ms {
		out = append(out, linkOf(&ms[i]))
	}
	return out, nil
}

// AddIFB creates an IFB device (set its alias with SetAlias).
func (c *Conn) AddIFB(name string) error {
	err := c.rt.Link.New(&rtnetlink.LinkMessage{Family: unix.AF_UNSPEC,
		Attributes: &rtnetlink.LinkAttributes{Name: name, Info: &rtnetlink.LinkInfo{Kind: "ifb"}}})
	return wrap("add ifb "+name, err)
}

// SetAlias sets a device's ifalias (the kernel ignores IFLA_IFALIAS on creation).
func (c *Conn) SetAlias(index int, alias string) error {
	err := c.rt.Link.Set(&rtnetlink.LinkMessage{Family: unix.AF_UNSPEC, Index: uint32(index),
		Attributes: &rtnetlink.LinkAttributes{Alias: &alias}})
	return wrap("set alias", err)
}

// SetUp brings a device up.
func (c *Conn) SetUp(index int) error {
	err := c.rt.Link.Set(&rtnetlink.LinkMessage{Family: unix.AF_UNSPEC, Index: uint32(index),
		Flags: unix.IFF_UP, Change: unix.IFF_UP})
	return wrap("set link up", err)
}

// SetDown takes a device down.
func (c *Conn) SetDown(index int) error {
	err := c.rt.Link.Set(&rtnetlink.LinkMessage{Family: unix.AF_UNSPEC, Index: uint32(index),
		Change: unix.IFF_UP})
	return wrap("set link down", err)
}

// DelLink deletes a device.
func (c *Conn) DelLink(index int) error {
	return wrap("delete link", c.rt.Link.Delete(uint32(index)))
}
