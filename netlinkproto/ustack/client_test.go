package ustack

import (
	"net"
	"reflect"
	"testing"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"

	"github.com/nlkit/nlkit/netlinkproto/genl/genlfake"
)

// decodeRequest reads a set-stats request as the kernel does: the port, carrier, the
// stats nest and every queue nest.
func decodeRequest(t *testing.T, b []byte) (dev Dev, carrier *uint8, stats map[uint16]uint64, queues []map[uint16]uint64) {
	t.Helper()
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		t.Fatal(err)
	}
	nested := func(nb []byte) map[uint16]uint64 {
		m := map[uint16]uint64{}
		nd, err := netlink.NewAttributeDecoder(nb)
		if err != nil {
			t.Fatal(err)
		}
		for nd.Next() {
			if nd.Type() == AttrQueueIndex && len(nd.Bytes()) == 4 {
				m[nd.Type()] = uint64(nd.Uint32())
			} else {
				m[nd.Type()] = nd.Uint64()
			}
		}
		return m
	}
	for ad.Next() {
		switch ad.Type() {
		case AttrPortIfindex:
			dev.Index = int(ad.Uint32())
		case AttrPortIfname:
			dev.Name = ad.String()
		case AttrPortCarrier:
			v := ad.Uint8()
			carrier = &v
		case AttrPortStats:
			stats = nested(ad.Bytes())
		case AttrPortQueue:
			queues = append(queues, nested(ad.Bytes()))
		}
	}
	return
}

// SetStats puts every counter in the stats nest, one queue nest per queue index with
// rx counters only for rx queues and tx only for tx queues, and the carrier; Port
// decodes the reply's nests.
func TestSetStatsWireFormat(t *testing.T) {
	var got []byte
	k := &genlfake.Kernel{Family: genetlink.Family{Name: FamilyName, ID: 0x30, Version: FamilyVersion},
		Handler: func(r genlfake.Request) ([][]byte, error) {
			switch r.Command {
			case CmdSetStats:
				got = r.Attrs
				return nil, nil
			default:
				ae := netlink.NewAttributeEncoder()
				ae.Uint32(AttrPortIfindex, 7)
				ae.String(AttrPortIfname, "ustack0")
				ae.Bytes(AttrPortAddress, []byte{2, 0, 0, 0, 0, 1})
				ae.Uint8(AttrPortCarrier, 1)
				Update{Stats: &Stats{RxPackets: 5, Multicast: 2}}.encode(ae)
				ae.Nested(AttrPortQueue, func(ne *netlink.AttributeEncoder) error {
					ne.Uint32(AttrQueueIndex, 0)
					ne.Uint64(AttrQueueRxBytes, 99)
					return nil
				})
				b, err := ae.Encode()
				return [][]byte{b}, err
			}
		}}
	c, err := NewClient(k.Dial())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	up := false
	u := Update{Stats: &Stats{RxPackets: 1, RxBytes: 2, RxErrors: 3, RxDropped: 4, TxPackets: 5, TxBytes: 6,
		TxErrors: 7, TxDropped: 8, Multicast: 9},
		RxQueues: []QueueCounters{{10, 11}, {12, 13}}, TxQueues: []QueueCounters{{14, 15}}, Carrier: &up}
	if err := c.SetStats(ByName("ustack0"), u); err != nil {
		t.Fatal(err)
	}
	dev, carrier, stats, queues := decodeRequest(t, got)
	if dev != ByName("ustack0") || carrier == nil || *carrier != 0 {
		t.Errorf("port %v carrier %v, want ustack0 and 0", dev, carrier)
	}
	wantStats := map[uint16]uint64{}
	for i := AttrStatsRxPackets; i <= AttrStatsMulticast; i++ {
		wantStats[i] = uint64(i)
	}
	if !reflect.DeepEqual(stats, wantStats) {
		t.Errorf("stats nest %v, want %v", stats, wantStats)
	}
	wantQueues := []map[uint16]uint64{
		{AttrQueueIndex: 0, AttrQueueRxPackets: 10, AttrQueueRxBytes: 11, AttrQueueTxPackets: 14, AttrQueueTxBytes: 15},
		{AttrQueueIndex: 1, AttrQueueRxPackets: 12, AttrQueueRxBytes: 13},
	}
	if !reflect.DeepEqual(queues, wantQueues) {
		t.Errorf("queue nests %v, want %v", queues, wantQueues)
	}

	p, err := c.Port(ByIndex(7))
	if err != nil {
		t.Fatal(err)
	}
	want := Port{Ifindex: 7, Ifname: "ustack0", Address: net.HardwareAddr{2, 0, 0, 0, 0, 1}, Carrier: true,
		Stats: Stats{RxPackets: 5, Multicast: 2}, Queues: []QueueStats{{Index: 0, RxBytes: 99}}}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("port %+v, want %+v", p, want)
	}
}
