//go:build vmtest

package scenarios

import (
	"fmt"
	"testing"

	"github.com/mdlayher/netlink"

	"github.com/nlkit/nlkit/netlinkproto/fcm"
	"github.com/nlkit/nlkit/netlinkproto/fcmreceiver"
	"github.com/nlkit/nlkit/netlinkproto/rtnl"
	"github.com/nlkit/nlkit/tests/vm/job"
	"github.com/nlkit/nlkit/tests/vm/vmtest"
)

// TestBenchmarkFCMForwarding prints sch_fcm's forwarding cost against in-tree tbf at
// the same rate, in one VM run: all are set far above what the VM can forward, so
// the router's CPU is the bottleneck and TCP goodput through it measures the per-packet
// cost. fcm in both modes: split-gso splits GSO packets and stamps every segment;
// no-split-gso stamps a GSO packet once and leaves it whole, as tbf forwards it. Rounds
// alternate between the qdiscs so drift in the host's load hits all; the figure is the
// ratio of the medians. It asserts only that traffic flowed and fcm stamped it.
func TestBenchmarkFCMForwarding(t *testing.T) {
	vmtest.Require(t)
	// the receiver's MSS leaves room for the option, as the FCM receiver arranges
	p := newBenchPath(t, [3]string{"bs", "br", "bd"}, 5, "route add 10.5.1.0/24 via 10.5.2.1 advmss 1456")
	fc, err := fcm.DialConfig(&netlink.Config{NetNS: p.tp.FD(p.r)})
	if err != nil {
		t.Fatal(err)
	}
	defer fc.Close()

	rate := "10gbit"
	set := func(kind string) {
		p.rc.DelQdisc(p.r1, 0x10000, rtnl.HandleRoot)
		if kind == "tbf" {
			tc(t, p.r, "qdisc replace dev r1 root handle 1: tbf rate "+rate+" burst 1mb latency 100ms")
			return
		}
		split := kind == "fcm"
		b, _ := fcm.EncodeOptions(fcm.Options{Rate: new(uint64(10 * 1000 * 1000 * 1000 / 8)), Limit: new(uint32(4 << 20)), SplitGSO: &split})
		if err := p.rc.AddQdisc(p.r1, 0x10000, rtnl.HandleRoot, "fcm", b, rtnl.Create); err != nil {
			t.Fatal(err)
		}
	}
	modified := map[string]uint64{}
	results := p.floodRounds([]string{"tbf", "fcm", "fcm no-split-gso"}, set, func(kind string) {
		if kind != "tbf" {
			q, err := fc.Qdisc(uint32(p.r1), 0)
			if err != nil {
				t.Fatal(err)
			}
			modified[kind] += q.Modified
		}
	})
	t.Logf("CPU-bound forwarding of 4 TCP flows through the router (qdisc rate %s, far above the VM): segments stamped %v", rate, modified)
	for _, kind := range []string{"fcm", "fcm no-split-gso"} {
		mech := map[string]string{"fcm": "sch_fcm split-gso", "fcm no-split-gso": "sch_fcm no-split-gso"}[kind]
		vmtest.ReportBench(t, job.BenchRow{Mechanism: mech, Baseline: "tbf", Workload: "4 TCP flows forwarded, rate above the VM",
			Unit: "Mbit/s", Nlkit: inMbit(results[kind]), Base: inMbit(results["tbf"])})
		if job.Median(results["tbf"]) == 0 || job.Median(results[kind]) == 0 || modified[kind] == 0 {
			t.Fatalf("no traffic: tbf %v, %s %v, stamped %d", results["tbf"], kind, results[kind], modified[kind])
		}
	}
}

// TestBenchmarkFCMReceiver prints fcm_receiver's cost to a receiving host's TCP
// throughput: 4 flows over a veth pair as fast as the VM can carry them, with the
// receiver on in the receiving netns (hooks on both directions, every segment parsed
// and looked up, every connection's rounds computed, window checks on every ACK)
// against off (its hooks unregistered: the same as no module). A second figure has an
// FCM router in the path (rate far above the VM) so every segment carries a price,
// with the receiver's weight at its maximum so the law never needs to lower a window:
// lowering windows cuts throughput by design, which is control, not cost. Both sides
// see the same segments: the receiving host's route advertises an MSS that leaves the
// router room for the option (1456), and the receiver's mss_delta is 0, so the router
// stamps every segment whether the receiver is on or off (with the module's default
// mss_delta and no route MSS, the off side's full-size segments had no room: they
// went unpriced, and the router skipped its stamping). Rounds alternate; the figures
// are ratios of medians.
func TestBenchmarkFCMReceiver(t *testing.T) {
	vmtest.Require(t)
	p := newBenchPath(t, [3]string{"ws", "wr", "wd"}, 8, "route add 10.8.1.0/24 via 10.8.2.1 advmss 1456")
	fc, err := fcmreceiver.DialConfig(&netlink.Config{NetNS: p.tp.FD(p.d)})
	if err != nil {
		t.Fatal(err)
	}
	defer fc.Close()
	rf, err := fcm.DialConfig(&netlink.Config{NetNS: p.tp.FD(p.r)})
	if err != nil {
		t.Fatal(err)
	}
	defer rf.Close()
	stamped := func() uint64 {
		q, err := rf.Qdisc(uint32(p.r1), 0)
		if err != nil {
			t.Fatal(err)
		}
		return q.Modified
	}
	on, off := true, false
	results := map[string][]float64{}
	var lowered, priced uint64
	stampedBy := map[string]uint64{} // the router's stamped segments in each kind's rounds
	for _, router := range []bool{false, true} {
		if router {
			// qmin 0 so prices flow at whatever queue the CPU-bound router keeps; bval 1
			// keeps x*p far below the maximal weight; split-gso (not the default at this
			// rate) so that every segment arrives alone, priced: the receiver's worst case
			split := true
			b, _ := fcm.EncodeOptions(fcm.Options{Rate: new(uint64(10 * 1000 * 1000 * 1000 / 8)), Limit: new(uint32(4 << 20)), Bval: new(uint32(1)),
				Qmin: new(uint32(0)), SplitGSO: &split})
			if err := p.rc.AddQdisc(p.r1, 0x10000, rtnl.HandleRoot, "fcm", b, rtnl.Replace); err != nil {
				t.Fatal(err)
			}
		}
		var before fcmreceiver.Receiver
		var stamped0 uint64
		set := func(kind string) {
			e := &off
			if kind == "on" {
				e = &on
			}
			maxWeight, noDelta := uint32(1<<32-1), uint32(0)
			if err := fc.SetReceiver(fcmreceiver.Change{Enabled: e, Weight: &maxWeight, MSSDelta: &noDelta}); err != nil {
				t.Fatal(err)
			}
			before, _ = fc.Receiver()
			if router {
				stamped0 = stamped()
			}
		}
		got := p.floodRounds([]string{"off", "on"}, set, func(kind string) {
			after, _ := fc.Receiver()
			if router {
				stampedBy[kind] += stamped() - stamped0
			}
			if router && kind == "on" {
				lowered += after.Lowered - before.Lowered
				priced += after.Priced - before.Priced
			}
		})
		for kind, v := range got {
			results[fmt.Sprintf("router=%v receiver=%v", router, kind == "on")] = v
		}
	}
	t.Logf("TCP goodput of 4 flows into the receiving netns, CPU-bound; with the router %d priced segments, %d windows lowered", priced, lowered)
	for _, router := range []bool{false, true} {
		offK, onK := fmt.Sprintf("router=%v receiver=false", router), fmt.Sprintf("router=%v receiver=true", router)
		what := "4 TCP flows received, no prices"
		if router {
			what = "4 TCP flows received, every segment priced"
		}
		vmtest.ReportBench(t, job.BenchRow{Mechanism: "fcm_receiver", Baseline: "no receiver (hooks off)", Workload: what,
			Unit: "Mbit/s", Nlkit: inMbit(results[onK]), Base: inMbit(results[offK])})
		if job.Median(results[offK]) == 0 || job.Median(results[onK]) == 0 {
			t.Fatalf("no traffic")
		}
	}
	// the router stamped while the receiver was off too: the same segments on both sides
	t.Logf("segments the router stamped: receiver off %d, on %d", stampedBy["off"], stampedBy["on"])
	if stampedBy["off"] == 0 || stampedBy["on"] == 0 {
		t.Errorf("the router stamped %d segments with the receiver off, %d with it on: want both", stampedBy["off"], stampedBy["on"])
	}
	if priced == 0 || lowered != 0 {
		t.Errorf("with the router: %d priced segments (want some), %d windows lowered (want none)", priced, lowered)
	}
	if err := fc.SetReceiver(fcmreceiver.Change{Enabled: &off}); err != nil {
		t.Fatal(err)
	}
}
