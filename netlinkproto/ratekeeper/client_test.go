package ratekeeper

import (
	"errors"
	"syscall"
	"testing"

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
