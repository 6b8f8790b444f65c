package fcmreceiver

import (
	"errors"
	"net/netip"
	"strings"
	"syscall"
	"testing"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"

	"github.com/nlkit/nlkit/netlinkproto/genl"
	"github.com/nlkit/nlkit/netlinkproto/genl/genlfake"
)

func fake(t *testing.T, version uint8, h genlfake.Handler) (*Client, *genlfake.Kernel) {
	t.Helper()
	k := &genlfake.Kernel{Family: genetlink.Family{Name: FamilyName, ID: 0x20, Version: version}, Handler: h}
	c, err := NewClient(k.Dial())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, k
}

func encode(t *testing.T, fn func(ae *netlink.AttributeEncoder)) []byte {
	t.Helper()
	ae := netlink.NewAttributeEncoder()
	fn(ae)
	b, err := ae.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReceiverDecodes(t *testing.T) {
	reply := encode(t, func(ae *netlink.AttributeEncoder) {
		ae.Nested(AttrReceiverParams, func(ne *netlink.AttributeEncoder) error {
			ne.Uint8(AttrParamsEnabled, 1)
			ne.Uint32(AttrParamsAlpha, 25)
			ne.Uint32(AttrParamsWeight, 300000)
			ne.Uint32(AttrParamsMaxConns, 65536)
			ne.Uint16(AttrParamsExid, 0xfc11)
			return nil
		})
		ae.Uint32(AttrReceiverConns, 3)
		ae.Uint64(AttrReceiverPriced, 1<<40)
		ae.Uint64(AttrReceiverMssLowered, 7)
	})
	c, k := fake(t, FamilyVersion, func(r genlfake.Request) ([][]byte, error) { return [][]byte{reply}, nil })
	r, err := c.Receiver()
	if err != nil {
		t.Fatal(err)
	}
	want := Receiver{Params: Params{Enabled: true, Alpha: 25, Weight: 300000, MaxConns: 65536, Exid: 0xfc11},
		Conns: 3, Priced: 1 << 40, MSSLowered: 7}
	if r != want {
		t.Errorf("decoded %+v, want %+v", r, want)
	}
	if got := k.Requests; len(got) != 1 || got[0].Command != CmdGetReceiver || got[0].Version != FamilyVersion ||
		got[0].Dump() || len(got[0].Attrs) != 0 {
		t.Errorf("requests %+v, want one get-receiver of ABI %d with no attributes", got, FamilyVersion)
	}
}

func TestSetReceiverEncodesOnlyWhatChanges(t *testing.T) {
	c, k := fake(t, FamilyVersion, func(r genlfake.Request) ([][]byte, error) { return nil, nil })
	on, w, exid := true, uint32(1000), uint16(0)
	if err := c.SetReceiver(Change{Enabled: &on, Weight: &w, Exid: &exid}); err != nil {
		t.Fatal(err)
	}
	r := k.Requests[0]
	if r.Command != CmdSetReceiver || r.Flags&netlink.Acknowledge == 0 {
		t.Fatalf("request %+v, want set-receiver with an ack", r)
	}
	ad, _ := netlink.NewAttributeDecoder(r.Attrs)
	got := map[uint16]uint64{}
	for ad.Next() {
		if ad.Type() != AttrReceiverParams {
			t.Fatalf("attribute %d at the top, want only params", ad.Type())
		}
		ad.Nested(func(nd *netlink.AttributeDecoder) error {
			for nd.Next() {
				switch nd.Type() {
				case AttrParamsEnabled:
					got[nd.Type()] = uint64(nd.Uint8())
				case AttrParamsExid:
					got[nd.Type()] = uint64(nd.Uint16())
				default:
					got[nd.Type()] = uint64(nd.Uint32())
				}
			}
			return nil
		})
	}
	want := map[uint16]uint64{AttrParamsEnabled: 1, AttrParamsWeight: 1000, AttrParamsExid: 0}
	if len(got) != len(want) {
		t.Fatalf("params %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("param %d = %d, want %d", k, got[k], v)
		}
	}
}

func TestKernelRefusalCarriesExtack(t *testing.T) {
	c, _ := fake(t, FamilyVersion, func(r genlfake.Request) ([][]byte, error) {
		return nil, &genlfake.Error{Errno: syscall.EPERM, Message: "raising max-conns above the module parameter needs CAP_NET_ADMIN in the initial user namespace"}
	})
	n := uint32(1 << 20)
	err := c.SetReceiver(Change{MaxConns: &n})
	var ge *genl.Error
	if !errors.As(err, &ge) || !errors.Is(err, syscall.EPERM) || !strings.Contains(ge.Message, "CAP_NET_ADMIN") {
		t.Fatalf("error %v, want EPERM carrying the kernel's message", err)
	}
	if ge.Family != FamilyName || ge.Op != "set-receiver" {
		t.Errorf("error names %s %s, want %s set-receiver", ge.Family, ge.Op, FamilyName)
	}
}

func TestConnsDumpDecodesAndSkipsBadEntries(t *testing.T) {
	conn := func(local, remote string, lport, rport uint16) []byte {
		return encode(t, func(ae *netlink.AttributeEncoder) {
			ae.Uint8(AttrConnFamily, 4)
			ae.Bytes(AttrConnLocal, netip.MustParseAddr(local).AsSlice())
			ae.Bytes(AttrConnRemote, netip.MustParseAddr(remote).AsSlice())
			ae.Uint16(AttrConnLport, lport)
			ae.Uint16(AttrConnRport, rport)
			ae.Uint8(AttrConnState, ConnStateSteady)
			ae.Uint32(AttrConnWindow, 65536)
			ae.Uint64(AttrConnRate, 1250000)
		})
	}
	bad := encode(t, func(ae *netlink.AttributeEncoder) { ae.Uint16(AttrConnLport, 1) }) // no addresses
	c, k := fake(t, FamilyVersion, func(r genlfake.Request) ([][]byte, error) {
		return [][]byte{conn("10.0.0.2", "10.0.0.1", 5001, 40000), bad, conn("10.0.0.2", "10.0.0.3", 5001, 40001)}, nil
	})
	cs, err := c.Conns()
	if err != nil {
		t.Fatal(err)
	}
	if !k.Requests[0].Dump() || k.Requests[0].Command != CmdGetConn {
		t.Errorf("request %+v, want a get-conn dump", k.Requests[0])
	}
	if len(cs) != 2 || c.Skipped != 1 {
		t.Fatalf("%d connections, %d skipped; want 2 and 1", len(cs), c.Skipped)
	}
	want := Conn{Local: netip.MustParseAddrPort("10.0.0.2:5001"), Remote: netip.MustParseAddrPort("10.0.0.3:40001"),
		State: ConnStateSteady, Window: 65536, Rate: 1250000}
	if cs[1] != want {
		t.Errorf("second connection %+v, want %+v", cs[1], want)
	}
	if cs[1].State.String() != "steady" {
		t.Errorf("state prints %q", cs[1].State)
	}
}

func TestDialRefusesOtherABIAndMissingModule(t *testing.T) {
	k := &genlfake.Kernel{Family: genetlink.Family{Name: FamilyName, ID: 0x20, Version: FamilyVersion + 1}}
	_, err := NewClient(k.Dial())
	var ae *genl.ABIError
	if !errors.As(err, &ae) || ae.KernelABI != FamilyVersion+1 {
		t.Errorf("dial of a module with ABI %d: %v, want an ABI error", FamilyVersion+1, err)
	}
	k = &genlfake.Kernel{Family: genetlink.Family{Name: "another", ID: 0x20, Version: 1}}
	_, err = NewClient(k.Dial())
	if !errors.Is(err, genl.ErrNotLoaded) || !strings.Contains(err.Error(), "modprobe "+ModuleName) {
		t.Errorf("dial without the family: %v, want not loaded, naming the module", err)
	}
}
