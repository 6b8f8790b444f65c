// Package ustack is the Go client of the generic netlink family "ustack" (module
// kmod/ustack): user-level stack ports as netdevs. A packet stack written in Go (or a
// script, through `nlkit ustack`) creates its ports or attaches to ports an admin made
// with `ip link add NAME type ustack`, pushes its counters and link state into them,
// and reads the configuration users give them with ip (config.go).
//
// A port belongs to the Client (its netlink socket) that created or attached to it:
// only that Client updates or deletes it, and when it is closed, or its process
// exits or is killed, the port goes carrier-off with its counters frozen (or is
// removed, with RemoveOnClose). Counters pushed with SetStats are the Client's own,
// since it created or attached to the port, and must never go down; the port shows
// the totals of all its owners. The family's constants and Port, Stats and
// QueueStats are generated from netlinkproto/specs/ustack.yaml (ustack_gen.go).
package ustack

import (
	"errors"
	"fmt"
	"net"

	"github.com/mdlayher/netlink"

	"github.com/nlkit/nlkit/netlinkproto/genl"
)

// Dev names a port: by index (Index != 0) or by name.
type Dev struct {
	Index int
	Name  string
}

// ByIndex names the port with ifindex i; ByName the port called name.
func ByIndex(i int) Dev      { return Dev{Index: i} }
func ByName(name string) Dev { return Dev{Name: name} }

func (d Dev) String() string {
	if d.Index != 0 {
		return fmt.Sprintf("ifindex %d", d.Index)
	}
	return d.Name
}

func (d Dev) encode(ae *netlink.AttributeEncoder) {
	if d.Index != 0 {
		ae.Uint32(AttrPortIfindex, uint32(d.Index))
	}
	if d.Name != "" {
		ae.String(AttrPortIfname, d.Name)
	}
}

func (d Dev) attrs() ([]byte, error) {
	ae := netlink.NewAttributeEncoder()
	d.encode(ae)
	return ae.Encode()
}

// PortConfig is what NewPort creates.
type PortConfig struct {
	Name          string           // "" for ustack%d
	Address       net.HardwareAddr // the stack's NIC's MAC; nil for a random one
	RxQueues      int              // 0 for 1
	TxQueues      int              // 0 for 1
	RemoveOnClose bool             // remove the port when the Client closes
}

// NewPort creates a port the Client owns, and returns its index and name.
func (c *Client) NewPort(cfg PortConfig) (Dev, error) {
	ae := netlink.NewAttributeEncoder()
	if cfg.Name != "" {
		ae.String(AttrPortIfname, cfg.Name)
	}
	if cfg.Address != nil {
		ae.Bytes(AttrPortAddress, cfg.Address)
	}
	if cfg.RxQueues != 0 {
		ae.Uint32(AttrPortRxQueues, uint32(cfg.RxQueues))
	}
	if cfg.TxQueues != 0 {
		ae.Uint32(AttrPortTxQueues, uint32(cfg.TxQueues))
	}
	if cfg.RemoveOnClose {
		ae.Flag(AttrPortRemoveOnClose, true)
	}
	b, err := ae.Encode()
	if err != nil {
		return Dev{}, err
	}
	return genl.DoDecode(c.c, "new-port", CmdNewPort, b, func(b []byte) (Dev, error) {
		p, err := decodePortAttrs(b, nil)
		if err == nil && (p.Ifindex == 0 || p.Ifname == "") {
			err = errors.New("new-port reply without the port's index and name")
		}
		return Dev{Index: int(p.Ifindex), Name: p.Ifname}, err
	})
}

// DeletePort deletes a port the Client owns, or one nobody owns.
func (c *Client) DeletePort(d Dev) error {
	b, err := d.attrs()
	if err != nil {
		return err
	}
	_, err = c.c.Do("del-port", CmdDelPort, b)
	return err
}

// Attach makes the Client the owner of a port nobody owns (one made with ip link
// add, or whose stack died); the Client's counters start from zero on it.
func (c *Client) Attach(d Dev) error {
	b, err := d.attrs()
	if err != nil {
		return err
	}
	_, err = c.c.Do("attach", CmdAttach, b)
	return err
}

// Portid is the Client's netlink port id: a Port it owns has Owner equal to it.
func (c *Client) Portid() (uint32, error) { return c.c.Portid() }

// QueueCounters are one queue's counters in an Update.
type QueueCounters struct {
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
}

// Update is what SetStats pushes: the Client's counters (nil: unchanged), per queue
// (RxQueues[i] is rx queue i's; nil slices leave the queues unchanged), and the
// port's link state (nil: unchanged).
type Update struct {
	Stats *Stats
	// Counters gives some counters alone, by attribute (AttrStatsRxPackets ...); with
	// Stats, Stats wins.
	Counters map[uint16]uint64
	RxQueues []QueueCounters
	TxQueues []QueueCounters
	Carrier  *bool
}

// encode writes the update's attributes after the port's.
func (u Update) encode(ae *netlink.AttributeEncoder) {
	if u.Carrier != nil {
		var v uint8
		if *u.Carrier {
			v = 1
		}
		ae.Uint8(AttrPortCarrier, v)
	}
	if u.Stats == nil && len(u.Counters) > 0 {
		ae.Nested(AttrPortStats, func(ne *netlink.AttributeEncoder) error {
			for typ := AttrStatsRxPackets; typ <= AttrStatsMulticast; typ++ {
				if v, ok := u.Counters[typ]; ok {
					ne.Uint64(typ, v)
				}
			}
			return nil
		})
	}
	if s := u.Stats; s != nil {
		ae.Nested(AttrPortStats, func(ne *netlink.AttributeEncoder) error {
			ne.Uint64(AttrStatsRxPackets, s.RxPackets)
			ne.Uint64(AttrStatsRxBytes, s.RxBytes)
			ne.Uint64(AttrStatsRxErrors, s.RxErrors)
			ne.Uint64(AttrStatsRxDropped, s.RxDropped)
			ne.Uint64(AttrStatsTxPackets, s.TxPackets)
			ne.Uint64(AttrStatsTxBytes, s.TxBytes)
			ne.Uint64(AttrStatsTxErrors, s.TxErrors)
			ne.Uint64(AttrStatsTxDropped, s.TxDropped)
			ne.Uint64(AttrStatsMulticast, s.Multicast)
			return nil
		})
	}
	for i := 0; i < max(len(u.RxQueues), len(u.TxQueues)); i++ {
		ae.Nested(AttrPortQueue, func(ne *netlink.AttributeEncoder) error {
			ne.Uint32(AttrQueueIndex, uint32(i))
			if i < len(u.RxQueues) {
				ne.Uint64(AttrQueueRxPackets, u.RxQueues[i].Packets)
				ne.Uint64(AttrQueueRxBytes, u.RxQueues[i].Bytes)
			}
			if i < len(u.TxQueues) {
				ne.Uint64(AttrQueueTxPackets, u.TxQueues[i].Packets)
				ne.Uint64(AttrQueueTxBytes, u.TxQueues[i].Bytes)
			}
			return nil
		})
	}
}

// SetStats pushes an update into a port the Client owns (or that nobody owns). The
// kernel refuses the whole update, changing nothing, if a counter is below the value
// the Client last gave it.
func (c *Client) SetStats(d Dev, u Update) error {
	ae := netlink.NewAttributeEncoder()
	d.encode(ae)
	u.encode(ae)
	b, err := ae.Encode()
	if err != nil {
		return err
	}
	_, err = c.c.Do("set-stats", CmdSetStats, b)
	return err
}

// SetCarrier sets a port's link state alone.
func (c *Client) SetCarrier(d Dev, up bool) error {
	return c.SetStats(d, Update{Carrier: &up})
}

func decodePort(b []byte) (Port, error) {
	p, err := decodePortAttrs(b, nil)
	if err == nil && p.Ifindex == 0 {
		err = errors.New("port without ifindex")
	}
	return p, err
}

// Port gets one port: its owner, carrier, and totals.
func (c *Client) Port(d Dev) (Port, error) {
	b, err := d.attrs()
	if err != nil {
		return Port{}, err
	}
	return genl.DoDecode(c.c, "get-port", CmdGetPort, b, decodePort)
}

// Ports lists every port of the Client's netns. Entries that cannot be decoded are
// left out and counted in c.Skipped.
func (c *Client) Ports() ([]Port, error) {
	ps, skipped, err := genl.DumpDecode(c.c, "get-port", CmdGetPort, nil, decodePort)
	c.Skipped += skipped
	return ps, err
}

// CounterAttrs names the port counters as the spec (and `nlkit ustack set-stats`) does.
var CounterAttrs = map[string]uint16{
	"rx-packets": AttrStatsRxPackets, "rx-bytes": AttrStatsRxBytes, "rx-errors": AttrStatsRxErrors,
	"rx-dropped": AttrStatsRxDropped, "tx-packets": AttrStatsTxPackets, "tx-bytes": AttrStatsTxBytes,
	"tx-errors": AttrStatsTxErrors, "tx-dropped": AttrStatsTxDropped, "multicast": AttrStatsMulticast,
}
