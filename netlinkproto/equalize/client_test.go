package equalize

import (
	"net"
	"testing"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/nlkit/nlkit/netlinkproto/genl/genlfake"
)

// add-prefix carries the family, the address in its own length and the prefix length;
// a dump of prefixes decodes back to the same networks, IPv4 and IPv6, and leaves out
// an entry whose address has a wrong length.
func TestPrefixesRoundTrip(t *testing.T) {
	var stored [][]byte
	k := &genlfake.Kernel{Family: genetlink.Family{Name: FamilyName, ID: 0x23, Version: FamilyVersion},
		Handler: func(r genlfake.Request) ([][]byte, error) {
			switch r.Command {
			case CmdAddPrefix:
				stored = append(stored, r.Attrs)
				return nil, nil
			case CmdGetPrefix:
				bad := netlink.NewAttributeEncoder()
				bad.Bytes(AttrPrefixAddr, []byte{10, 0, 0})
				b, _ := bad.Encode()
				return append(stored, b), nil
			}
			return nil, &genlfake.Error{Errno: unix.EOPNOTSUPP}
		}}
	c, err := NewClient(k.Dial())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	nets := []string{"10.77.0.0/24", "2001:db8:1::/48"}
	for _, s := range nets {
		_, n, _ := net.ParseCIDR(s)
		if err := c.AddPrefix(n); err != nil {
			t.Fatal(err)
		}
	}
	ad, _ := netlink.NewAttributeDecoder(k.Requests[0].Attrs)
	got := map[uint16][]byte{}
	for ad.Next() {
		got[ad.Type()] = ad.Bytes()
	}
	if len(got[AttrPrefixAddr]) != 4 || got[AttrPrefixFamily][0] != unix.AF_INET || got[AttrPrefixLen][0] != 24 {
		t.Errorf("add-prefix 10.77.0.0/24 sent %v", got)
	}
	ps, err := c.Prefixes()
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || c.Skipped != 1 {
		t.Fatalf("%d prefixes, %d skipped; want 2 and 1", len(ps), c.Skipped)
	}
	for i, s := range nets {
		if ps[i].Net.String() != s {
			t.Errorf("prefix %d decodes as %v, want %s", i, ps[i].Net, s)
		}
	}
}
