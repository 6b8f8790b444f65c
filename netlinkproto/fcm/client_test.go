package fcm

import (
	"errors"
	"strings"
	"syscall"
	"testing"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"

	"github.com/nlkit/nlkit/netlinkproto/genl"
	"github.com/nlkit/nlkit/netlinkproto/genl/genlfake"
)

// qdiscReply is what the kernel answers for an fcm qdisc on ifindex.
func qdiscReply(t *testing.T, ifindex uint32, name string) []byte {
	t.Helper()
	ae := netlink.NewAttributeEncoder()
	ae.Uint32(AttrQdiscIfindex, ifindex)
	ae.Uint32(AttrQdiscHandle, 0x10000)
	ae.Uint32(AttrQdiscParent, 0xffffffff)
	ae.String(AttrQdiscIfname, name)
	ae.Uint32(AttrQdiscId, 3)
	ae.Nested(AttrQdiscOpts, func(ne *netlink.AttributeEncoder) error {
		ne.Uint64(AttrOptsRate, 1250000)
		ne.Uint32(AttrOptsLimit, 65536)
		ne.Uint32(AttrOptsBval, 10)
		ne.Uint32(AttrOptsQmin, 30)
		return nil
	})
	ae.Uint32(AttrQdiscQlen, 40)
	ae.Uint32(AttrQdiscPrice, 100)
	ae.Uint64(AttrQdiscBytes, 1<<33)
	b, err := ae.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func fake(t *testing.T, h genlfake.Handler) (*Client, *genlfake.Kernel) {
	t.Helper()
	k := &genlfake.Kernel{Family: genetlink.Family{Name: FamilyName, ID: 0x21, Version: FamilyVersion}, Handler: h}
	c, err := NewClient(k.Dial())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, k
}

// A get names the device, and the handle only when one is given; the reply's nested
// configuration and counters decode.
func TestQdiscGet(t *testing.T) {
	c, k := fake(t, func(r genlfake.Request) ([][]byte, error) { return [][]byte{qdiscReply(t, 7, "r1")}, nil })
	for _, handle := range []uint32{0, 0x10000} {
		q, err := c.Qdisc(7, handle)
		if err != nil {
			t.Fatal(err)
		}
		want := Qdisc{Ifindex: 7, Handle: 0x10000, Parent: 0xffffffff, Ifname: "r1", ID: 3, Qlen: 40, Price: 100, Bytes: 1 << 33,
			Config: Config{Rate: 1250000, Limit: 65536, Bval: 10, Qmin: 30}}
		if q != want {
			t.Errorf("decoded %+v, want %+v", q, want)
		}
		r := k.Requests[len(k.Requests)-1]
		got := map[uint16]uint32{}
		ad, _ := netlink.NewAttributeDecoder(r.Attrs)
		for ad.Next() {
			got[ad.Type()] = ad.Uint32()
		}
		if r.Command != CmdGetQdisc || got[AttrQdiscIfindex] != 7 || len(got) != map[bool]int{true: 1, false: 2}[handle == 0] ||
			(handle != 0 && got[AttrQdiscHandle] != handle) {
			t.Errorf("handle %#x: request %d with attributes %v", handle, r.Command, got)
		}
	}
}

// The kernel's refusal reaches the caller with its extack message and errno.
func TestQdiscGetRefused(t *testing.T) {
	c, _ := fake(t, func(r genlfake.Request) ([][]byte, error) {
		return nil, &genlfake.Error{Errno: syscall.ENOENT, Message: "no fcm qdisc on this device"}
	})
	_, err := c.Qdisc(9, 0)
	var ge *genl.Error
	if !errors.As(err, &ge) || !errors.Is(err, syscall.ENOENT) || ge.Message != "no fcm qdisc on this device" ||
		!strings.Contains(err.Error(), "no fcm qdisc on this device") {
		t.Fatalf("error %v, want ENOENT with the kernel's message", err)
	}
}

// A dump lists every qdisc and leaves out (and counts) a reply without an ifindex.
func TestQdiscsDump(t *testing.T) {
	c, k := fake(t, func(r genlfake.Request) ([][]byte, error) {
		return [][]byte{qdiscReply(t, 2, "a"), {}, qdiscReply(t, 3, "b")}, nil
	})
	qs, err := c.Qdiscs()
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) != 2 || qs[0].Ifname != "a" || qs[1].Ifname != "b" || c.Skipped != 1 || !k.Requests[0].Dump() {
		t.Errorf("dump: %d qdiscs (%+v), %d skipped", len(qs), qs, c.Skipped)
	}
}
