package ustack

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"reflect"
	"slices"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/nlkit/nlkit/netlinkproto/rtnl"
)

// Config is what users set on a port with ip, for its stack to use (as mTCP reads
// ifconfig's address from its dpdk0): the device's state, its addresses, the routes
// through it and its neighbours. The stack reads it with ReadConfig, and follows it
// with WatchConfig.
type Config struct {
	Ifindex int              `json:"ifindex"`
	Name    string           `json:"ifname"`
	Up      bool             `json:"up"` // administratively up (ip link set up)
	MTU     int              `json:"mtu"`
	Addrs   []netip.Prefix   `json:"addrs"`
	Routes  []Route          `json:"routes"`
	Neighs  []Neigh          `json:"neighs"`
	Address net.HardwareAddr `json:"address"`
}

// Route is a unicast route through the port (any table but local).
type Route struct {
	Dst     netip.Prefix `json:"dst"`
	Gateway netip.Addr   `json:"gateway,omitzero"`
	Table   uint32       `json:"table"`
	Metric  uint32       `json:"metric"`
}

// Neigh is a neighbour entry on the port (ip neigh add ... dev PORT, or learnt by the
// kernel); multicast addresses' entries are left out.
type Neigh struct {
	IP    netip.Addr       `json:"ip"`
	MAC   net.HardwareAddr `json:"mac"`
	State uint16           `json:"state"` // NUD_*: NUD_PERMANENT is 0x80
}

// Addr4 is the port's first IPv4 address (the one mTCP would take), if any.
func (c Config) Addr4() (netip.Prefix, bool) {
	for _, p := range c.Addrs {
		if p.Addr().Is4() {
			return p, true
		}
	}
	return netip.Prefix{}, false
}

// Has reports whether ip is one of the port's addresses.
func (c Config) Has(ip netip.Addr) bool {
	return slices.ContainsFunc(c.Addrs, func(p netip.Prefix) bool { return p.Addr() == ip })
}

// ReadConfig reads port ifindex's configuration in namespace netns (an fd; 0: the
// caller's).
func ReadConfig(netns, ifindex int) (Config, error) {
	c, err := rtnl.Dial(netns)
	if err != nil {
		return Config{}, err
	}
	defer c.Close()
	return readConfig(c, ifindex)
}

func readConfig(c *rtnl.Conn, ifindex int) (Config, error) {
	l, err := c.LinkByIndex(ifindex)
	if err != nil {
		return Config{}, err
	}
	cfg := Config{Ifindex: ifindex, Name: l.Name, Up: l.Up, MTU: int(l.MTU), Address: l.Address}
	addrs, err := c.Addrs()
	if err != nil {
		return Config{}, err
	}
	for _, a := range addrs {
		if a.Ifindex == ifindex && !a.Prefix.Addr().IsLinkLocalUnicast() {
			cfg.Addrs = append(cfg.Addrs, a.Prefix)
		}
	}
	routes, err := c.Routes(0, 0)
	if err != nil {
		return Config{}, err
	}
	for _, r := range routes {
		if r.Table == unix.RT_TABLE_LOCAL || r.Type != unix.RTN_UNICAST || !through(r, ifindex) {
			continue
		}
		rt := Route{Table: r.Table, Metric: r.Metric}
		if r.Dst != nil {
			ip, _ := netip.AddrFromSlice(r.Dst.IP)
			ones, _ := r.Dst.Mask.Size()
			rt.Dst = netip.PrefixFrom(ip.Unmap(), ones)
		} else if r.Family == unix.AF_INET6 {
			rt.Dst = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
		} else {
			rt.Dst = netip.PrefixFrom(netip.IPv4Unspecified(), 0)
		}
		if gw, ok := netip.AddrFromSlice(r.Gateway); ok {
			rt.Gateway = gw.Unmap()
		}
		if rt.Dst.Addr().Is6() && rt.Dst.Addr().IsLinkLocalUnicast() {
			continue // fe80::/64, which every IPv6 device has
		}
		cfg.Routes = append(cfg.Routes, rt)
	}
	neighs, err := c.Neighs()
	if err != nil {
		return Config{}, err
	}
	for _, n := range neighs {
		// multicast entries (NUD_NOARP, IPv6's ff02::...) are no neighbours of a stack's
		if n.Ifindex == ifindex && !n.IP.IsMulticast() {
			cfg.Neighs = append(cfg.Neighs, Neigh{IP: n.IP, MAC: n.MAC, State: n.State})
		}
	}
	return cfg, nil
}

// through reports whether route r leaves by device ifindex (alone or in a multipath
// route).
func through(r rtnl.Route, ifindex int) bool {
	if r.Index == ifindex {
		return true
	}
	for _, nh := range r.Nexthops {
		if nh.Index == ifindex {
			return true
		}
	}
	return false
}

// ConfigWatcher follows a port's configuration through rtnetlink's notifications.
type ConfigWatcher struct {
	sub     *netlink.Conn
	c       *rtnl.Conn
	ifindex int
	last    Config
}

// WatchConfig subscribes to the changes of port ifindex's configuration in namespace
// netns (0: the caller's). Its Current is the configuration at subscription.
func WatchConfig(netns, ifindex int) (*ConfigWatcher, error) {
	sub, err := netlink.Dial(unix.NETLINK_ROUTE, &netlink.Config{NetNS: netns,
		Groups: unix.RTMGRP_LINK | unix.RTMGRP_IPV4_IFADDR | unix.RTMGRP_IPV6_IFADDR |
			unix.RTMGRP_IPV4_ROUTE | unix.RTMGRP_IPV6_ROUTE | unix.RTMGRP_NEIGH})
	if err != nil {
		return nil, fmt.Errorf("rtnetlink subscribe: %w", err)
	}
	c, err := rtnl.Dial(netns)
	if err != nil {
		sub.Close()
		return nil, err
	}
	w := &ConfigWatcher{sub: sub, c: c, ifindex: ifindex}
	// read after subscribing: a change in between is both read and notified
	if w.last, err = readConfig(c, ifindex); err != nil {
		w.Close()
		return nil, err
	}
	return w, nil
}

// Current is the configuration Next last returned (or read at subscription).
func (w *ConfigWatcher) Current() Config { return w.last }

// ErrTimeout is what Next returns when nothing changed before its deadline.
var ErrTimeout = errors.New("ustack: no configuration change before the deadline")

// Next waits up to timeout (0: forever) for the port's configuration to change, and
// returns the new one. Notifications that do not change it (other devices, neighbour
// confirmations of the same address) are read and passed over. A port that is
// deleted ends the watch with an error.
func (w *ConfigWatcher) Next(timeout time.Duration) (Config, error) {
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	for {
		if err := w.sub.SetReadDeadline(deadline); err != nil {
			return Config{}, err
		}
		if _, err := w.sub.Receive(); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return Config{}, ErrTimeout
			}
			return Config{}, fmt.Errorf("rtnetlink notifications: %w", err)
		}
		cfg, err := readConfig(w.c, w.ifindex)
		if err != nil {
			return Config{}, fmt.Errorf("port %d: %w", w.ifindex, err)
		}
		if !reflect.DeepEqual(cfg, w.last) {
			w.last = cfg
			return cfg, nil
		}
	}
}

// Close ends the watch.
func (w *ConfigWatcher) Close() error {
	err := w.sub.Close()
	if e := w.c.Close(); err == nil {
		err = e
	}
	return err
}
