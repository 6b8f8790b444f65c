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
	"time"

	"github.com/mdlayher/netlink"

	"github.com/nlkit/nlkit/netlinkproto/genl"
	"github.com/nlkit/nlkit/netlinkproto/rtnl"
)

// Config, Options, Sender and Qdisc are generated from the spec (ratekeeper_gen.go).

// MarshalJSON prints the MAC the usual way.
func (s Sender) MarshalJSON() ([]byte, error) {
	addr := ""
	if s.Addr.IsValid() {
		addr = s.Addr.String()
	}
	return []byte(fmt.Sprintf(`{"addr":%q,"mac":%q,"rate":%d}`, addr, s.MAC.String(), s.Rate)), nil
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
	encodeOptionsAttrs(ae, o)
	return ae.Encode()
}

// DecodeOptions decodes a TCA_OPTIONS payload (or the opts nest of a reply).
func DecodeOptions(b []byte) (Config, error) { return decodeConfigAttrs(b, nil) }

// decodeQdisc decodes a get-qdisc reply or a congestion event (with its time), which
// must name its device.
func decodeQdisc(b []byte) (Qdisc, time.Duration, error) {
	var t time.Duration
	q, err := decodeQdiscAttrs(b, func(ad *netlink.AttributeDecoder) {
		if ad.Type() == AttrQdiscTime {
			t = time.Duration(ad.Uint64())
		}
	})
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
