package smoke

import (
	"errors"
	"syscall"
	"testing"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"

	"github.com/nlkit/nlkit/netlinkproto/genl"
	"github.com/nlkit/nlkit/netlinkproto/genl/genlfake"
)

// set-value sends the value; get-value decodes it; an unprivileged caller's set comes
// back as EPERM with the kernel's message.
func TestValue(t *testing.T) {
	var value uint32
	k := &genlfake.Kernel{Family: genetlink.Family{Name: FamilyName, ID: 0x24, Version: FamilyVersion},
		Handler: func(r genlfake.Request) ([][]byte, error) {
			switch r.Command {
			case CmdSetValue:
				ad, _ := netlink.NewAttributeDecoder(r.Attrs)
				for ad.Next() {
					if ad.Type() == AttrValueValue {
						value = ad.Uint32()
					}
				}
				if value == 13 {
					return nil, &genlfake.Error{Errno: syscall.EPERM, Message: "unlucky"}
				}
				return nil, nil
			case CmdGetValue:
				ae := netlink.NewAttributeEncoder()
				ae.Uint32(AttrValueValue, value)
				ae.Uint64(AttrValueChanges, 1)
				b, _ := ae.Encode()
				return [][]byte{b}, nil
			}
			return nil, &genlfake.Error{Errno: syscall.EOPNOTSUPP}
		}}
	c, err := NewClient(k.Dial())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetValue(42); err != nil {
		t.Fatal(err)
	}
	v, err := c.Value()
	if err != nil || v != (Value{Value: 42, Changes: 1}) {
		t.Errorf("value %+v (%v), want 42 with 1 change", v, err)
	}
	err = c.SetValue(13)
	var ge *genl.Error
	if !errors.As(err, &ge) || !errors.Is(err, syscall.EPERM) || ge.Message != "unlucky" {
		t.Errorf("refused set-value: %v", err)
	}
}
