// Package ratekeeper is the Go client of the ratekeeper generic netlink family (module
// kmod/ratekeeper, sch_ratekeeper.ko): the configuration and live state of every
// ratekeeper qdisc of a network namespace, set-rate, and congestion events. It also
// encodes and decodes the qdisc's TCA_OPTIONS (the spec's "opts" set), which the
// tenant datapath setup (package ratekeeper/tenant) and `tc` share.
//
// Rates are in bytes per second, as in the kernel and in tc.
package ratekeeper

import (
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/mdlayher/netlink"

	"github.com/nlkit/nlkit/netlinkproto/genl"
	"github.com/nlkit/nlkit/netlinkproto/rtnl"
)

// Config is a ratekeeper qdisc's configuration as the kernel reports it: every field.
// Options is what a request sends.
type Config struct {
	Rate     uint64        `json:"rate"`      // current shaping rate, bytes/s
	MinRate  uint64        `json:"min_rate"`  // the guarantee, bytes/s
	MaxRate  uint64        `json:"max_rate"`  // bytes/s
	Burst    uint32        `json:"burst"`     // bytes
	Limit    uint32        `json:"limit"`     // queue bytes
	Interval time.Duration `json:"interval"`  // measurement interval (µs resolution)
	LinkRate uint64        `json:"linkrate"`  // host link capacity, bytes/s; 0: no detection
	HighMark uint32        `json:"highmark"`  // percent of LinkRate
	Group    uint32        `json:"group"`     // qdiscs sharing one host link
	EventGap time.Duration `json:"event_gap"` // least time between two events (ms resolution)
}

// Options is the configuration a tc qdisc add, change or replace sends (TCA_OPTIONS).
// As in wgctrl's Config, a nil field is left out of the request: on add the kernel's
// default (burst 10 ms at the rate, limit from max-rate, no congestion detection), on
// change the qdisc's value; a field set to 0 is sent (linkrate 0 turns detection off).
// Rate is required on add.
type Options struct {
	Rate, MinRate, MaxRate *uint64
	Burst, Limit           *uint32
	Interval               *time.Duration
	LinkRate               *uint64
	HighMark, Group        *uint32
	EventGap               *time.Duration
}

// Sender is one of the heaviest senders a qdisc saw in its last interval.
type Sender struct {
	Addr netip.Addr       `json:"addr"` // invalid when the packets carried no IP header
	MAC  net.HardwareAddr `json:"mac"`
	Rate uint64           `json:"rate"` // bytes/s
}

// MarshalJSON prints the MAC the usual way.
func (s Sender) MarshalJSON() ([]byte, error) {
	addr := ""
	if s.Addr.IsValid() {
		addr = s.Addr.String()
	}
	return []byte(fmt.Sprintf(`{"addr":%q,"mac":%q,"rate":%d}`, addr, s.MAC.String(), s.Rate)), nil
}

// Qdisc is one ratekeeper qdisc with its live state.
type Qdisc struct {
	Ifindex          uint32   `json:"ifindex"`
	Ifname           string   `json:"ifname"`
	Handle           uint32   `json:"handle"`
	Parent           uint32   `json:"parent"`
	Config           Config   `json:"config"`
	Measured         uint64   `json:"measured"`  // arrival rate (EWMA), bytes/s
	LinkLoad         uint64   `json:"link_load"` // the group's arrival rate, bytes/s
	Congested        bool     `json:"congested"`
	Severity         uint32   `json:"severity"`
	Packets          uint64   `json:"packets"`
	Bytes            uint64   `json:"bytes"`
	Drops            uint64   `json:"drops"`
	Overlimits       uint64   `json:"overlimits"`
	Backlog          uint32   `json:"backlog"`
	Qlen             uint32   `json:"qlen"`
	Events           uint64   `json:"events"`
	EventsSuppressed uint64   `json:"events_suppressed"`
	Senders          []Sender `json:"senders"`
}

// Event is a congestion report: the tenant behind Ifindex receives more than its
// guarantee (Config.MinRate) while its host link is congested; Senders are the
// heaviest senders, heaviest first.
type Event struct {
	Ifindex  uint32        `json:"ifindex"`
	Ifname   string        `json:"ifname"`
	Handle   uint32        `json:"handle"`
	Config   Config        `json:"config"`
	Measured uint64        `json:"measured"`
	LinkLoad uint64        `json:"link_load"`
	Severity uint32        `json:"severity"`
	Senders  []Sender      `json:"senders"`
	Time     time.Duration `json:"time"` // kernel CLOCK_MONOTONIC
}

// EncodeOptions encodes o as the qdisc's TCA_OPTIONS payload (without the outer
// attribute header).
func EncodeOptions(o Options) ([]byte, error) {
	ae := netlink.NewAttributeEncoder()
	encodeOptions(ae, o)
	return ae.Encode()
}

func encodeOptions(ae *netlink.AttributeEncoder, o Options) {
	dur := func(t uint16, v *time.Duration, unit time.Duration) {
		if v != nil {
			ae.Uint32(t, uint32(*v/unit))
		}
	}
	genl.Optional(ae, AttrOptsRate, o.Rate)
	genl.Optional(ae, AttrOptsMinRate, o.MinRate)
	genl.Optional(ae, AttrOptsMaxRate, o.MaxRate)
	genl.Optional(ae, AttrOptsBurst, o.Burst)
	genl.Optional(ae, AttrOptsLimit, o.Limit)
	dur(AttrOptsInterval, o.Interval, time.Microsecond)
	genl.Optional(ae, AttrOptsLinkrate, o.LinkRate)
	genl.Optional(ae, AttrOptsHighmark, o.HighMark)
	genl.Optional(ae, AttrOptsGroup, o.Group)
	dur(AttrOptsEventGap, o.EventGap, time.Millisecond)
}

// DecodeOptions decodes a TCA_OPTIONS payload (or the opts nest of a reply).
func DecodeOptions(b []byte) (Config, error) {
	var c Config
	err := genl.Decode(FamilyName, b, func(ad *netlink.AttributeDecoder) {
		switch ad.Type() {
		case AttrOptsRate:
			c.Rate = ad.Uint64()
		case AttrOptsMinRate:
			c.MinRate = ad.Uint64()
		case AttrOptsMaxRate:
			c.MaxRate = ad.Uint64()
		case AttrOptsBurst:
			c.Burst = ad.Uint32()
		case AttrOptsLimit:
			c.Limit = ad.Uint32()
		case AttrOptsInterval:
			c.Interval = time.Duration(ad.Uint32()) * time.Microsecond
		case AttrOptsLinkrate:
			c.LinkRate = ad.Uint64()
		case AttrOptsHighmark:
			c.HighMark = ad.Uint32()
		case AttrOptsGroup:
			c.Group = ad.Uint32()
		case AttrOptsEventGap:
			c.EventGap = time.Duration(ad.Uint32()) * time.Millisecond
		}
	})
	return c, err
}

func decodeSender(b []byte) (Sender, error) {
	var s Sender
	err := genl.Decode(FamilyName, b, func(ad *netlink.AttributeDecoder) {
		switch ad.Type() {
		case AttrSenderAddr:
			if a, ok := netip.AddrFromSlice(ad.Bytes()); ok && !a.IsUnspecified() {
				s.Addr = a.Unmap()
			}
		case AttrSenderMac:
			s.MAC = net.HardwareAddr(append([]byte(nil), ad.Bytes()...))
		case AttrSenderRate:
			s.Rate = ad.Uint64()
		}
	})
	return s, err
}

// decodeQdisc decodes a get-qdisc reply or a congestion event into q (and ev's time).
func decodeQdisc(b []byte) (Qdisc, time.Duration, error) {
	var q Qdisc
	var t time.Duration
	var inner error
	err := genl.Decode(FamilyName, b, func(ad *netlink.AttributeDecoder) {
		switch ad.Type() {
		case AttrQdiscIfindex:
			q.Ifindex = ad.Uint32()
		case AttrQdiscHandle:
			q.Handle = ad.Uint32()
		case AttrQdiscParent:
			q.Parent = ad.Uint32()
		case AttrQdiscIfname:
			q.Ifname = ad.String()
		case AttrQdiscOpts:
			c, err := DecodeOptions(ad.Bytes())
			if err != nil {
				inner = err
			}
			q.Config = c
		case AttrQdiscMeasured:
			q.Measured = ad.Uint64()
		case AttrQdiscLinkLoad:
			q.LinkLoad = ad.Uint64()
		case AttrQdiscCongested:
			q.Congested = ad.Uint8() != 0
		case AttrQdiscSeverity:
			q.Severity = ad.Uint32()
		case AttrQdiscPackets:
			q.Packets = ad.Uint64()
		case AttrQdiscBytes:
			q.Bytes = ad.Uint64()
		case AttrQdiscDrops:
			q.Drops = ad.Uint64()
		case AttrQdiscOverlimits:
			q.Overlimits = ad.Uint64()
		case AttrQdiscBacklog:
			q.Backlog = ad.Uint32()
		case AttrQdiscQlen:
			q.Qlen = ad.Uint32()
		case AttrQdiscEvents:
			q.Events = ad.Uint64()
		case AttrQdiscEventsSuppressed:
			q.EventsSuppressed = ad.Uint64()
		case AttrQdiscSender:
			s, err := decodeSender(ad.Bytes())
			if err != nil {
				inner = err
			}
			q.Senders = append(q.Senders, s)
		case AttrQdiscTime:
			t = time.Duration(ad.Uint64())
		}
	})
	if err == nil {
		err = inner
	}
	if err == nil && q.Ifindex == 0 {
		err = fmt.Errorf("%s: reply without ifindex", FamilyName)
	}
	return q, t, err
}

func selector(ifindex, handle uint32) *netlink.AttributeEncoder {
	ae := netlink.NewAttributeEncoder()
	ae.Uint32(AttrQdiscIfindex, ifindex)
	if handle != 0 {
		ae.Uint32(AttrQdiscHandle, handle)
	}
	return ae
}

// Qdisc gets the ratekeeper qdisc of a device (handle 0: the only one on it).
func (c *Client) Qdisc(ifindex, handle uint32) (Qdisc, error) {
	b, err := selector(ifindex, handle).Encode()
	if err != nil {
		return Qdisc{}, err
	}
	msgs, err := c.c.Do("get-qdisc", CmdGetQdisc, b)
	if err != nil {
		return Qdisc{}, err
	}
	m, err := genl.One(msgs, FamilyName, "get-qdisc")
	if err != nil {
		return Qdisc{}, err
	}
	q, _, err := decodeQdisc(m.Data)
	return q, err
}

// Qdiscs dumps every ratekeeper qdisc of the namespace.
func (c *Client) Qdiscs() ([]Qdisc, error) {
	out, skipped, err := genl.DumpDecode(c.c, "get-qdisc", CmdGetQdisc, nil, func(b []byte) (Qdisc, error) {
		q, _, err := decodeQdisc(b)
		return q, err
	})
	c.Skipped += skipped
	return out, err
}

// SetRate moves a qdisc's current rate (bytes/s, within its min and max rates).
func (c *Client) SetRate(ifindex, handle uint32, rate uint64) error {
	ae := selector(ifindex, handle)
	ae.Uint64(AttrQdiscRate, rate)
	b, err := ae.Encode()
	if err != nil {
		return err
	}
	_, err = c.c.Do("set-rate", CmdSetRate, b)
	return err
}

// Raw sends a request with arbitrary attributes; tests use it to check the kernel's
// validation of input the typed methods never produce.
func (c *Client) Raw(op string, cmd uint8, attrs []byte) error {
	_, err := c.c.Do(op, cmd, attrs)
	return err
}

// Monitor receives congestion events.
type Monitor struct {
	c     *genl.Conn
	netns int // the events' network namespace (0: the caller's), to name their devices
}

// Watch subscribes to the events group on a connection of its own.
func Watch() (*Monitor, error) { return WatchConfig(nil) }

// WatchConfig is Watch with netlink options.
func WatchConfig(cfg *netlink.Config) (*Monitor, error) {
	c, err := genl.DialConfig(Family, cfg)
	if err != nil {
		return nil, err
	}
	if err := c.JoinGroup(GroupEvents); err != nil {
		c.Close()
		return nil, err
	}
	m := &Monitor{c: c}
	if cfg != nil {
		m.netns = cfg.NetNS
	}
	return m, nil
}

// ifname names a device of the events' netns. The kernel sends events with the
// device's ifindex only: it prepares them in the datapath, where a device's name may be
// changing under it.
func (m *Monitor) ifname(index uint32) string {
	rc, err := rtnl.Dial(m.netns)
	if err != nil {
		return ""
	}
	defer rc.Close()
	l, err := rc.LinkByIndex(int(index))
	if err != nil {
		return ""
	}
	return l.Name
}

// Next waits for the next congestion event; timeout 0 waits for ever.
func (m *Monitor) Next(timeout time.Duration) (Event, error) {
	var dl time.Time
	if timeout > 0 {
		dl = time.Now().Add(timeout)
	}
	if err := m.c.SetReadDeadline(dl); err != nil {
		return Event{}, err
	}
	for {
		msgs, err := m.c.Receive()
		if err != nil {
			return Event{}, err
		}
		for _, msg := range msgs {
			if msg.Header.Command != CmdCongestion {
				continue
			}
			q, t, err := decodeQdisc(msg.Data)
			if err != nil {
				continue // a malformed event is skipped, not fatal
			}
			if q.Ifname == "" {
				q.Ifname = m.ifname(q.Ifindex)
			}
			return Event{Ifindex: q.Ifindex, Ifname: q.Ifname, Handle: q.Handle, Config: q.Config,
				Measured: q.Measured, LinkLoad: q.LinkLoad, Severity: q.Severity,
				Senders: q.Senders, Time: t}, nil
		}
	}
}

// Close ends the subscription.
func (m *Monitor) Close() error { return m.c.Close() }
