//go:build vmtest

package scenarios

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/mdlayher/netlink"

	"github.com/nlkit/nlkit/netlinkproto/fcm"
	"github.com/nlkit/nlkit/netlinkproto/rtnl"
	"github.com/nlkit/nlkit/tests/vmtest"
)

// TestBenchmarkFCMForwarding prints sch_fcm's forwarding cost against in-tree tbf at
// the same rate, in one VM run: both are set far above what the VM can forward, so
// the router's CPU is the bottleneck and TCP goodput through it measures the per-packet
// cost (fcm splits GSO packets and stamps every segment; tbf does neither). Rounds
// alternate between the two qdiscs so drift in the host's load hits both; the figure
// is the ratio of the medians. It asserts only that traffic flowed and fcm stamped it.
func TestBenchmarkFCMForwarding(t *testing.T) {
	vmtest.Require(t)
	tp := vmtest.NewTopo(t, "bs", "br", "bd")
	tp.IP("", "link add eth0 netns bs type veth peer name r0 netns br",
		"link add r1 netns br type veth peer name eth0 netns bd")
	tp.IP("bs", "link set lo up", "link set eth0 up", "addr add 10.5.1.1/24 dev eth0", "route add default via 10.5.1.2")
	tp.IP("br", "link set lo up", "link set r0 up", "link set r1 up", "addr add 10.5.1.2/24 dev r0", "addr add 10.5.2.1/24 dev r1")
	tp.IP("bd", "link set lo up", "link set eth0 up", "addr add 10.5.2.2/24 dev eth0", "route add default via 10.5.2.1",
		// MSS leaves room for the option, as the FCM receiver arranges
		"route add 10.5.1.0/24 via 10.5.2.1 advmss 1456")
	tp.Sysctl("br", "net/ipv4/ip_forward", "1")
	sink := tp.NewSink("bd", "10.5.2.2:5001")
	rc, err := rtnl.Dial(tp.FD("br"))
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	l, _ := rc.LinkByName("r1")
	fc, err := fcm.DialConfig(&netlink.Config{NetNS: tp.FD("br")})
	if err != nil {
		t.Fatal(err)
	}
	defer fc.Close()

	rate := "10gbit"
	measure := 3 * time.Second
	rounds := 3
	if vmtest.Kernel() == "debug" {
		measure, rounds = 4*time.Second, 2
	}
	set := func(kind string) {
		var cmd string
		switch kind {
		case "tbf":
			cmd = "qdisc replace dev r1 root handle 1: tbf rate " + rate + " burst 1mb latency 100ms"
		case "fcm":
			b, _ := fcm.EncodeOptions(fcm.Config{Rate: 10 * 1000 * 1000 * 1000 / 8, Limit: 4 << 20})
			rc.DelQdisc(l.Index, 0x10000, rtnl.HandleRoot)
			if err := rc.AddQdisc(l.Index, 0x10000, rtnl.HandleRoot, "fcm", b, rtnl.Create); err != nil {
				t.Fatal(err)
			}
			return
		}
		rc.DelQdisc(l.Index, 0x10000, rtnl.HandleRoot)
		tc := exec.Command("tc", "-n", "br", "-b", "-")
		tc.Stdin = strings.NewReader(cmd + "\n")
		if out, err := tc.CombinedOutput(); err != nil {
			t.Fatalf("tc: %v\n%s", err, out)
		}
	}
	results := map[string][]float64{}
	var modified uint64
	for r := 0; r < rounds; r++ {
		for _, kind := range []string{"tbf", "fcm"} {
			set(kind)
			ctx, cancel := context.WithCancel(context.Background())
			tp.Flood(ctx, "bs", "10.5.2.2:5001", 4)
			time.Sleep(time.Second)
			results[kind] = append(results[kind], sink.Rate(measure))
			if kind == "fcm" {
				q, err := fc.Qdisc(uint32(l.Index), 0)
				if err != nil {
					t.Fatal(err)
				}
				modified += q.Modified
			}
			cancel()
			time.Sleep(500 * time.Millisecond)
		}
	}
	med := func(v []float64) float64 {
		s := append([]float64(nil), v...)
		for i := range s {
			for j := i + 1; j < len(s); j++ {
				if s[j] < s[i] {
					s[i], s[j] = s[j], s[i]
				}
			}
		}
		return s[len(s)/2]
	}
	f := func(v []float64) string {
		var out []string
		for _, x := range v {
			out = append(out, fmt.Sprintf("%.0f", x/mbit))
		}
		return strings.Join(out, ", ")
	}
	tbf, fq := med(results["tbf"]), med(results["fcm"])
	t.Logf("CPU-bound forwarding of 4 TCP flows through the router (qdisc rate %s, far above the VM):", rate)
	t.Logf("  tbf: %s Mbit/s (median %.0f)", f(results["tbf"]), tbf/mbit)
	t.Logf("  fcm: %s Mbit/s (median %.0f); %d segments stamped", f(results["fcm"]), fq/mbit, modified)
	t.Logf("  fcm / tbf goodput: %.2f (forwarding cost per byte: %.2fx tbf's)", fq/tbf, tbf/fq)
	if tbf == 0 || fq == 0 || modified == 0 {
		t.Fatalf("no traffic: tbf %.0f, fcm %.0f, stamped %d", tbf, fq, modified)
	}
}
