package ratekeeper

import (
	"errors"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"

	"github.com/nlkit/nlkit/netlinkproto/genl"
	"github.com/nlkit/nlkit/netlinkproto/genl/genlfake"
)

// set-rate names the qdisc and the rate; the kernel's refusal comes back with its
// message.
func TestSetRate(t *testing.T) {
	refuse := false
	k := &genlfake.Kernel{Family: genetlink.Family{Name: FamilyName, ID: 0x22, Version: FamilyVersion,
		Groups: []genetlink.MulticastGroup{{ID: 9, Name: GroupEvents}}},
		Handler: func(r genlfake.Request) ([][]byte, error) {
			if refuse {
				return nil, &genlfake.Error{Errno: syscall.ERANGE, Message: "rate is outside the qdisc's min and max rates"}
			}
			return nil, nil
		}}
	c, err := NewClient(k.Dial())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetRate(4, 0x10000, 1250000); err != nil {
		t.Fatal(err)
	}
	r := k.Requests[0]
	got := map[uint16]uint64{}
	ad, _ := netlink.NewAttributeDecoder(r.Attrs)
	for ad.Next() {
		if ad.Type() == AttrQdiscRate {
			got[ad.Type()] = ad.Uint64()
		} else {
			got[ad.Type()] = uint64(ad.Uint32())
		}
	}
	if r.Command != CmdSetRate || len(got) != 3 || got[AttrQdiscIfindex] != 4 || got[AttrQdiscHandle] != 0x10000 ||
		got[AttrQdiscRate] != 1250000 {
		t.Errorf("request %d with %v", r.Command, got)
	}
	refuse = true
	err = c.SetRate(4, 0, 1)
	var ge *genl.Error
	if !errors.As(err, &ge) || !errors.Is(err, syscall.ERANGE) || ge.Message == "" || ge.Op != "set-rate" {
		t.Errorf("refused set-rate: %v", err)
	}
}

// The generated reply decoder converts what the spec's Go mapping says: the opts nest
// into Config with its durations in their units, congested (u8) into a bool, each
// repeated sender nest into Senders with a netip.Addr and a MAC; an event's time goes
// through decodeQdisc's other callback; Options round-trips through TCA_OPTIONS.
func TestQdiscReplyDecodes(t *testing.T) {
	interval, gap := 20*time.Millisecond, 250*time.Millisecond
	opts, err := EncodeOptions(Options{Rate: new(uint64(1e6)), MinRate: new(uint64(5e5)), MaxRate: new(uint64(2e6)),
		Interval: &interval, EventGap: &gap, LinkRate: new(uint64(0)), HighMark: new(uint32(90))})
	if err != nil {
		t.Fatal(err)
	}
	sender := func(addr []byte, mac string, rate uint64) func(*netlink.AttributeEncoder) error {
		return func(ne *netlink.AttributeEncoder) error {
			m, _ := net.ParseMAC(mac)
			ne.Bytes(AttrSenderAddr, addr)
			ne.Bytes(AttrSenderMac, m)
			ne.Uint64(AttrSenderRate, rate)
			return nil
		}
	}
	ae := netlink.NewAttributeEncoder()
	ae.Uint32(AttrQdiscIfindex, 7)
	ae.Uint32(AttrQdiscHandle, 0x10000)
	ae.Bytes(AttrQdiscOpts, opts)
	ae.Uint8(AttrQdiscCongested, 1)
	ae.Uint32(AttrQdiscSeverity, 3)
	ae.Nested(AttrQdiscSender, sender(netip.MustParseAddr("::ffff:10.0.0.9").AsSlice(), "02:00:00:00:00:09", 900))
	ae.Nested(AttrQdiscSender, sender(make([]byte, 16), "02:00:00:00:00:0a", 100)) // no IP header
	ae.Uint64(AttrQdiscTime, 123456789)
	ae.Uint16(99, 1) // an attribute of a newer module
	b, err := ae.Encode()
	if err != nil {
		t.Fatal(err)
	}
	q, tm, err := decodeQdisc(b)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Rate: 1e6, MinRate: 5e5, MaxRate: 2e6, Interval: interval, EventGap: gap, HighMark: 90}
	if q.Ifindex != 7 || q.Handle != 0x10000 || q.Config != want || !q.Congested || q.Severity != 3 || tm != 123456789 {
		t.Errorf("decoded %+v, time %v; want config %+v", q, tm, want)
	}
	if len(q.Senders) != 2 || q.Senders[0].Addr != netip.MustParseAddr("10.0.0.9") || q.Senders[0].MAC.String() != "02:00:00:00:00:09" ||
		q.Senders[0].Rate != 900 || q.Senders[1].Addr.IsValid() || q.Senders[1].Rate != 100 {
		t.Errorf("senders %+v", q.Senders)
	}
	// a malformed sender nest fails the reply, and a reply must name its device
	bad := netlink.NewAttributeEncoder()
	bad.Uint32(AttrQdiscIfindex, 7)
	bad.Bytes(AttrQdiscSender, []byte{9, 0, 1})
	noDev := netlink.NewAttributeEncoder()
	noDev.Uint32(AttrQdiscHandle, 0x10000)
	for name, e := range map[string]*netlink.AttributeEncoder{"a malformed sender nest": bad, "no ifindex": noDev} {
		b, err := e.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := decodeQdisc(b); err == nil {
			t.Errorf("a reply with %s decoded", name)
		}
	}
}
