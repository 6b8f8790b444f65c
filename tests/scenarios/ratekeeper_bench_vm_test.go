//go:build vmtest

package scenarios

import (
	"fmt"
	"testing"

	"github.com/nlkit/nlkit/netlinkproto/ratekeeper"
	"github.com/nlkit/nlkit/netlinkproto/rtnl"
	"github.com/nlkit/nlkit/tests/vm/job"
	"github.com/nlkit/nlkit/tests/vm/vmtest"
)

// TestBenchmarkRatekeeper prints sch_ratekeeper's cost against in-tree tbf at the same
// rate and burst, on a router forwarding 4 TCP flows, rounds alternating between the
// two qdiscs: once with the rate far above what the VM can forward (the router's CPU
// is the bottleneck, so goodput measures the per-packet cost: ratekeeper also measures
// what it carries per interval and keeps its heaviest senders), and once shaped to
// 50 Mbit/s (both must deliver the rate). It asserts only that traffic flowed and
// ratekeeper counted it.
func TestBenchmarkRatekeeper(t *testing.T) {
	vmtest.Require(t)
	p := newBenchPath(t, [3]string{"ks", "kr", "kd"}, 6)
	const burst, limit = 1 << 20, 4 << 20
	for _, w := range []struct {
		what string
		rate uint64 // bytes/s
	}{
		{"4 TCP flows forwarded, rate above the VM", 10 * 1000 * 1000 * 1000 / 8},
		{"4 TCP flows forwarded, shaped to 50 Mbit/s", 50 * 1000 * 1000 / 8},
	} {
		set := func(kind string) {
			p.rc.DelQdisc(p.r1, 0x10000, rtnl.HandleRoot)
			if kind == "tbf" {
				tc(t, p.r, fmt.Sprintf("qdisc replace dev r1 root handle 1: tbf rate %dbit burst %d limit %d", w.rate*8, burst, limit))
				return
			}
			b, err := ratekeeper.EncodeOptions(ratekeeper.Options{Rate: &w.rate, MinRate: &w.rate, MaxRate: &w.rate,
				Burst: new(uint32(burst)), Limit: new(uint32(limit))})
			if err != nil {
				t.Fatal(err)
			}
			if err := p.rc.AddQdisc(p.r1, 0x10000, rtnl.HandleRoot, "ratekeeper", b, rtnl.Create); err != nil {
				t.Fatal(err)
			}
		}
		var packets uint64
		results := p.floodRounds([]string{"tbf", "ratekeeper"}, set, func(kind string) {
			if kind == "ratekeeper" {
				q, ok, err := p.rc.RootQdisc(p.r1)
				if err != nil || !ok || q.Kind != "ratekeeper" {
					t.Fatalf("root qdisc: %+v %v %v", q, ok, err)
				}
				packets += uint64(q.Packets)
			}
		})
		vmtest.ReportBench(t, job.BenchRow{Mechanism: "sch_ratekeeper", Baseline: "tbf (same rate, burst, limit)", Workload: w.what,
			Unit: "Mbit/s", Nlkit: inMbit(results["ratekeeper"]), Base: inMbit(results["tbf"])})
		if job.Median(results["tbf"]) == 0 || job.Median(results["ratekeeper"]) == 0 || packets == 0 {
			t.Fatalf("%s: no traffic: tbf %v, ratekeeper %v, %d packets through ratekeeper", w.what, results["tbf"], results["ratekeeper"], packets)
		}
	}
}
