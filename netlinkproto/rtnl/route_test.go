package rtnl

import (
	"net"
	"testing"

	"golang.org/x/sys/unix"
)

func TestRouteEncodeDecode(t *testing.T) {
	_, dst, _ := net.ParseCIDR("fd99::/64")
	r := Route{Dst: dst, Table: 1000, Metric: 5, Flags: RTMFEqualize, Nexthops: []Nexthop{
		{Gateway: net.ParseIP("fd09:1::2"), Index: 3, Weight: 1},
		{Gateway: net.ParseIP("fd09:2::2"), Index: 4, Weight: 256, Flags: unix.RTNH_F_ONLINK},
	}}
	b, err := r.encode(false)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeRoute(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Family != unix.AF_INET6 || got.Dst.String() != "fd99::/64" || got.Table != 1000 || got.Metric != 5 || !got.Equalize() ||
		got.Type != unix.RTN_UNICAST || got.Protocol != unix.RTPROT_BOOT {
		t.Errorf("decoded %+v", got)
	}
	if len(got.Nexthops) != 2 || !got.Nexthops[1].Gateway.Equal(net.ParseIP("fd09:2::2")) || got.Nexthops[1].Weight != 256 ||
		got.Nexthops[1].Index != 4 || got.Nexthops[1].Flags != unix.RTNH_F_ONLINK || got.Nexthops[0].Weight != 1 {
		t.Errorf("nexthops %+v", got.Nexthops)
	}
	r.Nexthops[0].Weight = 0
	if _, err := r.encode(false); err == nil {
		t.Errorf("weight 0 encoded")
	}
	if _, err := decodeMultipath([]byte{4, 0, 0, 0, 0, 0, 0, 0}); err == nil {
		t.Errorf("rtnexthop of length 4 accepted")
	}
}
