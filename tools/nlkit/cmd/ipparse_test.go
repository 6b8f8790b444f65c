package cmd

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nlkit/nlkit/netlinkproto/rtnl"
)

func TestParseRouteArgs(t *testing.T) {
	s, err := parseRouteArgs(strings.Fields("10.99.0.0/24 nexthop via 10.9.1.2 dev p1 weight 1 nexthop via 10.9.2.2 dev p2 nexthop via 10.9.3.2 dev p3 weight 256 equalize table 100 metric 7"), 0)
	if err != nil {
		t.Fatal(err)
	}
	r := s.Route
	if r.Family != unix.AF_INET || r.Dst.String() != "10.99.0.0/24" || r.Table != 100 || r.Metric != 7 || !r.Equalize() || !s.Equalize {
		t.Errorf("route %+v", r)
	}
	if len(r.Nexthops) != 3 || r.Nexthops[1].Weight != 1 || r.Nexthops[2].Weight != 256 || s.NhDevs[2] != "p3" || r.Nexthops[0].Gateway.String() != "10.9.1.2" {
		t.Errorf("nexthops %+v %v", r.Nexthops, s.NhDevs)
	}
	s, err = parseRouteArgs(strings.Fields("default via fd00::1 dev x"), 0)
	if err != nil || s.Route.Family != unix.AF_INET6 || s.Route.Dst == nil || s.Route.Dst.String() != "::/0" || s.Dev != "x" {
		t.Errorf("v6 default: %+v %v", s.Route, err)
	}
	s, err = parseRouteArgs(strings.Fields("to 10.1.2.3 nhid 5"), 0)
	if err != nil || s.Route.NHID != 5 || s.Route.Dst.String() != "10.1.2.3/32" {
		t.Errorf("host route with nhid: %+v %v", s.Route, err)
	}
	for _, bad := range []string{
		"", "10.0.0.1/8", "10.0.0.0/8 via fd00::1", "fd00::/8 via 10.0.0.1", "10.0.0.0/8 weight 3",
		"10.0.0.0/8 nexthop via 10.0.0.1 weight 0", "10.0.0.0/8 nexthop via 10.0.0.1 weight 257",
		"10.0.0.0/8 nexthop dev", "10.0.0.0/8 via 1.1.1.1 nexthop via 1.1.1.2", "10.0.0.0/8 nhid 3 via 1.1.1.1",
		"10.0.0.0/8 table 0", "10.0.0.0/8 metric x", "10.0.0.0/8 proto nonsense", "10.0.0.0/8 11.0.0.0/8",
	} {
		if _, err := parseRouteArgs(strings.Fields(bad), 0); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := parseRouteArgs(strings.Fields("10.0.0.0/8 via 10.0.0.1"), unix.AF_INET6); err == nil {
		t.Errorf("-6 with an IPv4 prefix accepted")
	}
}

func TestParseNexthopObj(t *testing.T) {
	n, dev, err := parseNexthopObjArgs(strings.Fields("id 10 group 1/2,3/3,256 type resilient"))
	if err != nil || n.ID != 10 || dev != "" || len(n.Group) != 3 || n.Group[1].Weight != 3 || n.Group[2].Weight != 256 || n.GroupType != rtnl.GroupResilient {
		t.Errorf("%+v %v", n, err)
	}
	for _, bad := range []string{"id 0 via 1.1.1.1", "id 1 group 1,0", "id 1 group 1,257", "id 1 group 1/2 via 1.1.1.1", "id 1 type x", "id 1 frob 2", "id"} {
		if _, _, err := parseNexthopObjArgs(strings.Fields(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestRouteText(t *testing.T) {
	s, _ := parseRouteArgs(strings.Fields("10.99.0.0/24 nexthop via 10.9.1.2 weight 1 nexthop via 10.9.2.2 weight 2 equalize"), 0)
	s.Route.Protocol, s.Route.Table = unix.RTPROT_BOOT, unix.RT_TABLE_MAIN
	got := routeText(toJSON(s.Route, nil, "module"))
	want := "10.99.0.0/24 equalize(module)\n\tnexthop via 10.9.1.2 weight 1\n\tnexthop via 10.9.2.2 weight 2"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
