//go:build vmtest

package scenarios

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nlkit/nlkit/tests/vm/job"
	"github.com/nlkit/nlkit/tests/vm/vmtest"
)

// netstat reads TcpExt and Tcp counters in ns (/proc/net/netstat and /proc/net/snmp).
func netstat(t *testing.T, tp *vmtest.Topo, ns string) map[string]int64 {
	m := map[string]int64{}
	tp.Must(ns, func() error {
		for _, f := range []string{"/proc/thread-self/net/netstat", "/proc/thread-self/net/snmp"} {
			fh, err := os.Open(f)
			if err != nil {
				return err
			}
			s := bufio.NewScanner(fh)
			var head []string
			for s.Scan() {
				fields := strings.Fields(s.Text())
				if len(fields) < 2 {
					continue
				}
				if head == nil || head[0] != fields[0] {
					head = fields
					continue
				}
				for i := 1; i < len(fields) && i < len(head); i++ {
					v, _ := strconv.ParseInt(fields[i], 10, 64)
					m[strings.TrimSuffix(head[0], ":")+"."+head[i]] = v
				}
				head = nil
			}
			fh.Close()
		}
		return nil
	})
	return m
}

// udpFlood sends from ns to addr on n sockets as fast as they go until ctx ends.
func udpFlood(ctx context.Context, t *testing.T, tp *vmtest.Topo, ns, addr string, n int) {
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		var c net.Conn
		tp.Must(ns, func() (err error) { c, err = net.Dial("udp", addr); return })
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			b := make([]byte, 64)
			for ctx.Err() == nil {
				_, _ = c.Write(b)
			}
		}()
	}
	wg.Wait()
}

// TestBenchmarkEqualize prints, in one VM run, rounds alternating: the router's
// forwarding rate with an equalize route against the same route with plain hash
// multipath, and the goodput of one TCP flow over the equalized paths against one path,
// with the reordering TCP saw. What spreads is the module on stock kernels and the
// kernel's own equalize with nlkit's patch.
func TestBenchmarkEqualize(t *testing.T) {
	vmtest.Require(t)
	tp := eqTopo(t)
	gw := func(k int) string { return fmt.Sprintf("10.9.%d.2", k) }
	d, rounds := benchRounds()
	mech := "equalize module"
	if kernelEqualize() {
		mech = "equalize (patch)"
	}
	fwd := func(equalize bool) (pps float64, counts []uint64) {
		eqNlkit(t, tp, "er", multipathArgs("10.99.0.0/24", gw, equalize)...)
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		counts = eqShares(t, tp, func() { udpFlood(ctx, t, tp, "es", "10.99.0.1:9200", 4) })
		var sum uint64
		for _, c := range counts {
			sum += c
		}
		return float64(sum) / d.Seconds(), counts
	}
	var hashPPS, eqPPS []float64
	for r := 0; r < rounds; r++ {
		h, hashCounts := fwd(false)
		e, eqCounts := fwd(true)
		_, dev := eqDeviation(eqCounts)
		t.Logf("round %d, 4 UDP flows of 64-byte datagrams for %s: hash multipath %.0f packets/s (per path %v), %s %.0f packets/s (per path %v, ±%.2f pt from 1:1:2)",
			r+1, d, h, hashCounts, mech, e, eqCounts, 100*dev)
		if h == 0 || e == 0 || dev > 0.01 {
			t.Errorf("forwarding benchmark: hash %.0f pps, equalize %.0f pps, deviation %.2f pt", h, e, 100*dev)
		}
		hashPPS, eqPPS = append(hashPPS, math.Round(h)), append(eqPPS, math.Round(e))
	}
	vmtest.ReportBench(t, job.BenchRow{Mechanism: mech, Baseline: "hash multipath", Workload: "4 UDP flows of 64-byte datagrams forwarded, 3 paths",
		Unit: "packets/s", Nlkit: eqPPS, Base: hashPPS})
	if vmtest.Profiling() {
		for _, equalize := range []bool{false, true} {
			eqNlkit(t, tp, "er", multipathArgs("10.99.0.0/24", gw, equalize)...)
			stop := vmtest.StartProfile(t, map[bool]string{false: "hash multipath", true: mech}[equalize]) // before the flood (perf's set-up)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); udpFlood(ctx, t, tp, "es", "10.99.0.1:9200", 4) }()
			time.Sleep(d)
			stop()
			cancel()
			<-done
		}
	}

	// one TCP flow: equalized over three paths vs the single path p1
	sink := tp.NewSink("ed", "10.99.0.1:5002")
	defer sink.Close()
	tcp := func(args []string) (goodput float64, st map[string]int64) {
		eqNlkit(t, tp, "er", args...)
		before := netstat(t, tp, "es")
		b0 := sink.Bytes()
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		start := time.Now()
		tp.Flood(ctx, "es", "10.99.0.1:5002", 1)
		<-ctx.Done()
		el := time.Since(start)
		time.Sleep(200 * time.Millisecond)                // the sink reads what was in flight
		goodput = float64(sink.Bytes()-b0) / el.Seconds() // bytes/s
		after := netstat(t, tp, "es")
		st = map[string]int64{}
		for _, k := range []string{"Tcp.OutSegs", "Tcp.RetransSegs", "TcpExt.TCPSACKReorder", "TcpExt.TCPTSReorder", "TcpExt.TCPRenoReorder",
			"TcpExt.TCPDSACKRecv", "TcpExt.TCPFastRetrans", "TcpExt.TCPSpuriousRTOs"} {
			st[k] = after[k] - before[k]
		}
		return goodput, st
	}
	line := func(round int, name string, gp float64, st map[string]int64) {
		t.Logf("round %d, one TCP flow for %s, %-20s %7.1f Mbit/s  segments %d, retransmitted %d, reordering seen (SACK %d, TS %d, Reno %d), D-SACKs %d, fast retransmits %d",
			round, d, name, gp/mbit, st["Tcp.OutSegs"], st["Tcp.RetransSegs"], st["TcpExt.TCPSACKReorder"], st["TcpExt.TCPTSReorder"],
			st["TcpExt.TCPRenoReorder"], st["TcpExt.TCPDSACKRecv"], st["TcpExt.TCPFastRetrans"])
	}
	var oneGPs, eqGPs []float64
	for r := 0; r < rounds; r++ {
		oneGP, oneSt := tcp([]string{"ip", "route", "replace", "10.99.0.0/24", "via", "10.9.1.2", "dev", "p1"})
		eqGP, eqSt := tcp(multipathArgs("10.99.0.0/24", gw, true))
		line(r+1, "one path (p1):", oneGP, oneSt)
		line(r+1, mech+", 3 paths:", eqGP, eqSt)
		if oneGP == 0 || eqGP == 0 {
			t.Errorf("TCP benchmark: one path %.0f bytes/s, equalize %.0f bytes/s", oneGP, eqGP)
		}
		oneGPs, eqGPs = append(oneGPs, oneGP), append(eqGPs, eqGP)
	}
	// shown, not hidden: what per-packet spreading costs one flow (reordering: the
	// counters above)
	vmtest.ReportBench(t, job.BenchRow{Mechanism: mech, Baseline: "one path", Workload: "1 TCP flow over 3 paths (sender's goodput)",
		Unit: "Mbit/s", Nlkit: inMbit(eqGPs), Base: inMbit(oneGPs)})
}

// TestScenarioEqualizeChurn: routes replaced (weights, flag, nexthop groups), deleted and
// added again, and on stock kernels the module unloaded and loaded, all while a flood
// crosses the router; afterwards the route spreads 1:1:2 again, on stock kernels after
// one more reload with the route already in place (the module's FIB notifier learns of
// it from the dump at registration). The kernel log is
// checked by the runner (KASAN and lockdep on the debug kernel).
func TestScenarioEqualizeChurn(t *testing.T) {
	vmtest.Require(t)
	tp := eqTopo(t)
	gw := func(k int) string { return fmt.Sprintf("10.9.%d.2", k) }
	gw6 := func(k int) string { return fmt.Sprintf("fd09:%d::2", k) }
	eqNlkit(t, tp, "er", multipathArgs("10.99.0.0/24", gw, true)...)
	eqNlkit(t, tp, "er", multipathArgs("fd99::/64", gw6, true)...)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); udpFlood(ctx, t, tp, "es", "10.99.0.1:9300", 2) }()
	go func() { defer wg.Done(); udpFlood(ctx, t, tp, "es", "[fd99::1]:9300", 1) }()
	patched := kernelEqualize()
	reload := func(when string) {
		if err := vmtest.UnloadModule("equalize"); err != nil {
			t.Fatalf("unload %s: %v", when, err)
		}
		if err := vmtest.LoadModule(vmtest.ModulePath(t, "equalize"), ""); err != nil {
			t.Fatalf("load %s: %v", when, err)
		}
	}
	rounds := 4
	if vmtest.Kernel() == "debug" {
		rounds = 2
	}
	var batch []string
	for r := 0; r < rounds; r++ {
		batch = append(batch,
			"route replace 10.99.0.0/24 nexthop via 10.9.1.2 dev p1 weight 256 nexthop via 10.9.2.2 dev p2 weight 1",
			"route replace 10.99.0.0/24 via 10.9.3.2 dev p3",
			"route del 10.99.0.0/24",
			"nexthop replace id 1 via 10.9.1.2 dev p1", "nexthop replace id 2 via 10.9.2.2 dev p2",
			"nexthop replace id 3 group 1/2", "route replace 10.99.0.0/24 nhid 3",
			"nexthop replace id 3 group 1,5/2,1", "route del 10.99.0.0/24", "nexthop del id 3",
			"route replace fd99::/64 via fd09:2::2 dev p2")
	}
	tp.IP("er", batch...) // iproute2 cannot set the flag: these replace equalize routes with plain ones
	for r := 0; r < rounds; r++ {
		eqNlkit(t, tp, "er", multipathArgs("10.99.0.0/24", gw, true)...)
		eqNlkit(t, tp, "er", "ip", "nexthop", "replace", "id", "3", "group", "1,2/2,1")
		eqNlkit(t, tp, "er", "ip", "route", "replace", "10.99.0.0/24", "nhid", "3", "equalize")
		eqNlkit(t, tp, "er", "ip", "route", "del", "10.99.0.0/24")
		eqNlkit(t, tp, "er", multipathArgs("fd99::/64", gw6, r%2 == 0)...)
		if !patched {
			reload("under traffic")
		}
	}
	cancel()
	wg.Wait()
	// afterwards: spreading as before
	eqNlkit(t, tp, "er", multipathArgs("10.99.0.0/24", gw, true)...)
	if !patched {
		// once more with the route in place: the module learns of it from the FIB
		// dump that registering its notifier replays, not from a route event
		reload("with the route in place")
	}
	counts := eqShares(t, tp, func() { udpSend(t, tp, "es", "10.99.0.1:9000", 3000, 0) })
	shares, dev := eqDeviation(counts)
	t.Logf("%d rounds of churn under traffic; then %v (%.3f %.3f %.3f, ±%.2f pt)", rounds, counts, shares[0], shares[1], shares[2], 100*dev)
	if dev > 0.01 {
		t.Errorf("after the churn the route no longer spreads 1:1:2")
	}
}
