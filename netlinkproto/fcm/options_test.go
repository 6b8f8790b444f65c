package fcm

import (
	"testing"

	"github.com/mdlayher/netlink"
)

// TCA_OPTIONS carry exactly the fields a request names: a zero that is named (qmin 0,
// a change back to option 92 with exid 0) is sent, a field left nil is not.
func TestOptionsEncode(t *testing.T) {
	for _, tc := range []struct {
		o    Options
		want map[uint16]uint64
	}{
		{Options{Rate: new(uint64(1250000))}, map[uint16]uint64{AttrOptsRate: 1250000}},
		{Options{Rate: new(uint64(1250000)), Limit: new(uint32(64000)), Bval: new(uint32(7)), Qmin: new(uint32(0))},
			map[uint16]uint64{AttrOptsRate: 1250000, AttrOptsLimit: 64000, AttrOptsBval: 7, AttrOptsQmin: 0}},
		{Options{Exid: new(uint16(0xfc11))}, map[uint16]uint64{AttrOptsExid: 0xfc11}},
		{Options{Exid: new(uint16(0))}, map[uint16]uint64{AttrOptsExid: 0}},
		{Options{}, map[uint16]uint64{}},
	} {
		b, err := EncodeOptions(tc.o)
		if err != nil {
			t.Fatal(err)
		}
		got := map[uint16]uint64{}
		ad, err := netlink.NewAttributeDecoder(b)
		if err != nil {
			t.Fatal(err)
		}
		for ad.Next() {
			switch len(ad.Bytes()) {
			case 8:
				got[ad.Type()] = ad.Uint64()
			case 4:
				got[ad.Type()] = uint64(ad.Uint32())
			case 2:
				got[ad.Type()] = uint64(ad.Uint16())
			}
		}
		if len(got) != len(tc.want) {
			t.Errorf("%+v sent %v, want %v", tc.o, got, tc.want)
		}
		for k, v := range tc.want {
			if g, ok := got[k]; !ok || g != v {
				t.Errorf("%+v sent %v, want %v", tc.o, got, tc.want)
			}
		}
		// what the kernel reports decodes to the same values
		c, err := DecodeOptions(b)
		if err != nil {
			t.Fatal(err)
		}
		if tc.o.Rate != nil && c.Rate != *tc.o.Rate || tc.o.Exid != nil && c.Exid != *tc.o.Exid {
			t.Errorf("%+v decoded as %+v", tc.o, c)
		}
	}
}
