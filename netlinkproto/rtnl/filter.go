package rtnl

import (
	"github.com/florianl/go-tc"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

const (
	tcaEgressRedir  = 1      // TCA_EGRESS_REDIR (tc_act/tc_mirred.h)
	ethPAllNetOrder = 0x0300 // htons(ETH_P_ALL)
)

// filters opens go-tc's connection on first use, with extended acks so the kernel's
// messages reach errors.
func (c *Conn) filters() (*tc.Tc, error) {
	if c.tc != nil {
		return c.tc, nil
	}
	t, err := tc.Open(&tc.Config{NetNS: c.netns})
	if err != nil {
		return nil, err
	}
	if err := t.SetOption(netlink.ExtendedAcknowledge, true); err != nil {
		t.Close()
		return nil, err
	}
	c.tc = t
	return t, nil
}

func filterMsg(ifindex int, handle, parent uint32, prio uint16) tc.Msg {
	return tc.Msg{Family: unix.AF_UNSPEC, Ifindex: uint32(ifindex), Handle: handle, Parent: parent,
		Info: uint32(prio)<<16 | ethPAllNetOrder}
}

// AddRedirect attaches a matchall filter (prio, handle 1) at parent that redirects
// every packet to the egress of device to (tc filter add ... matchall action mirred
// egress redirect dev TO).
func (c *Conn) AddRedirect(ifindex int, parent uint32, prio uint16, to int) error {
	t, err := c.filters()
	if err != nil {
		return wrap("add matchall filter", err)
	}
	actions := []*tc.Action{{Kind: "mirred", Mirred: &tc.Mirred{Parms: &tc.MirredParam{
		Action: tc.ActStolen, Eaction: tcaEgressRedir, IfIndex: uint32(to)}}}}
	err = t.Filter().Add(&tc.Object{Msg: filterMsg(ifindex, 1, parent, prio),
		Attribute: tc.Attribute{Kind: "matchall", Matchall: &tc.Matchall{Actions: &actions}}})
	return wrap("add matchall filter", err)
}

// DelRedirect deletes the filters of one priority at parent (what AddRedirect made).
func (c *Conn) DelRedirect(ifindex int, parent uint32, prio uint16) error {
	t, err := c.filters()
	if err != nil {
		return wrap("delete filter", err)
	}
	return wrap("delete filter", t.Filter().Delete(&tc.Object{Msg: filterMsg(ifindex, 0, parent, prio)}))
}
