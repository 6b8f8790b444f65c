//go:build vmtest

package scenarios

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/nlkit/nlkit/netlinkproto/rtnl"
	"github.com/nlkit/nlkit/tests/vm/vmtest"
)

// benchPath is the forwarding benchmarks' network: a sender, a router and a receiver
// in a line (10.N.1.0/24 and 10.N.2.0/24), the router forwarding, a TCP sink on the
// receiver at 10.N.2.2:5001; the qdisc under test goes on the router's egress r1.
type benchPath struct {
	t       *testing.T
	tp      *vmtest.Topo
	s, r, d string // the namespaces
	dst     string // the sink's address
	sink    *vmtest.Sink
	rc      *rtnl.Conn // rtnetlink in the router's netns
	r1      int        // the router's egress ifindex
}

// newBenchPath builds the path in namespaces ns (sender, router, receiver) on the
// subnets 10.n.1.0/24 and 10.n.2.0/24; recv are more ip commands for the receiver.
func newBenchPath(t *testing.T, ns [3]string, n int, recv ...string) *benchPath {
	t.Helper()
	s, r, d := ns[0], ns[1], ns[2]
	tp := vmtest.NewTopo(t, s, r, d)
	tp.IP("", "link add eth0 netns "+s+" type veth peer name r0 netns "+r,
		"link add r1 netns "+r+" type veth peer name eth0 netns "+d)
	tp.IP(s, "link set lo up", "link set eth0 up", fmt.Sprintf("addr add 10.%d.1.1/24 dev eth0", n), fmt.Sprintf("route add default via 10.%d.1.2", n))
	tp.IP(r, "link set lo up", "link set r0 up", "link set r1 up", fmt.Sprintf("addr add 10.%d.1.2/24 dev r0", n), fmt.Sprintf("addr add 10.%d.2.1/24 dev r1", n))
	tp.IP(d, append([]string{"link set lo up", "link set eth0 up", fmt.Sprintf("addr add 10.%d.2.2/24 dev eth0", n),
		fmt.Sprintf("route add default via 10.%d.2.1", n)}, recv...)...)
	tp.Sysctl(r, "net/ipv4/ip_forward", "1")
	p := &benchPath{t: t, tp: tp, s: s, r: r, d: d, dst: fmt.Sprintf("10.%d.2.2:5001", n)}
	p.sink = tp.NewSink(d, p.dst)
	rc, err := rtnl.Dial(tp.FD(r))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rc.Close() })
	l, err := rc.LinkByName("r1")
	if err != nil {
		t.Fatal(err)
	}
	p.rc, p.r1 = rc, l.Index
	return p
}

// benchRounds is how long a benchmark measures each side of a round and how many
// rounds it runs: in full (make bench) 3 of 3 s, 2 of 4 s on the debug kernel; once
// for a second in make test, so that the benchmarks cannot rot.
func benchRounds() (measure time.Duration, rounds int) {
	switch {
	case !vmtest.Bench():
		return time.Second, 1
	case vmtest.Kernel() == "debug":
		return 4 * time.Second, 2
	}
	return 3 * time.Second, 3
}

// floodRounds runs rounds in which each of kinds in turn is set up (set), then 4 TCP
// flows flood the path and its goodput into the sink is measured for measure (after a
// second to settle); after is called before the flood stops. Alternating the kinds in
// every round spreads drift in the host's load over all of them. It returns each
// kind's goodput in each round, bytes/s. When profiling (make bench PROFILE=1), one
// more round, not counted, profiles each kind under the same flood.
func (p *benchPath) floodRounds(kinds []string, set func(kind string), after func(kind string)) map[string][]float64 {
	measure, rounds := benchRounds()
	results := map[string][]float64{}
	flood := func(kind string, during func()) {
		set(kind)
		ctx, cancel := context.WithCancel(context.Background())
		p.tp.Flood(ctx, p.s, p.dst, 4)
		time.Sleep(time.Second)
		during()
		if after != nil {
			after(kind)
		}
		cancel()
		time.Sleep(500 * time.Millisecond)
	}
	for r := 0; r < rounds; r++ {
		for _, kind := range kinds {
			flood(kind, func() { results[kind] = append(results[kind], p.sink.Rate(measure)) })
		}
	}
	if vmtest.Profiling() {
		for _, kind := range kinds {
			// perf starts before the flood: under it, its set-up took over a minute
			stop := vmtest.StartProfile(p.t, kind)
			flood(kind, func() { time.Sleep(measure); stop() })
		}
	}
	return results
}

// inMbit converts rates in bytes/s to Mbit/s, to a tenth.
func inMbit(v []float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = math.Round(x/mbit*10) / 10
	}
	return out
}
