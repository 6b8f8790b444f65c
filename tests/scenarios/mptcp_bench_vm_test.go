//go:build vmtest

package scenarios

import (
	"fmt"
	"math"
	"net"
	"net/netip"
	"sort"
	"sync"
	"testing"
	"time"

	pm "github.com/nlkit/nlkit/netlinkproto/mptcp"
	"github.com/nlkit/nlkit/tests/vm/job"
	"github.com/nlkit/nlkit/tests/vm/vmtest"
	"github.com/nlkit/nlkit/tools/mpd"
)

// TestBenchmarkMPTCPPathManager prints what nlkit's userspace path manager costs
// against the in-kernel PM doing the same fullmesh (2 local x 2 remote addresses, so 3
// subflows besides the initial one), with connections opened one at a time (each once
// the one before has its subflows) and many at once: the latency from a connection's
// ESTABLISHED event to its last policy subflow's SF_ESTABLISHED, and the events per
// second the namespace's PM got through, and where the daemon's time went (its own
// timing: events waiting for the loop, the loop's work, subflow-creates from hand-over
// to ack and their netlink round trips). A passive monitor times both PMs the same way.
// It asserts only that every connection got its subflows.
func TestBenchmarkMPTCPPathManager(t *testing.T) {
	vmtest.Require(t)
	n, seq := 500, 50
	within := 90 * time.Second
	switch {
	case !vmtest.Bench():
		n, seq = 20, 5
	case vmtest.Kernel() == "debug":
		n, within = 100, 240*time.Second
	}
	tp := mptcpTopo(t, "")
	tp.NewMPTCPSink("mps", "0.0.0.0:5301")
	srv, err := pm.DialConfig(&pm.Config{NetNS: tp.FD("mps")})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := srv.AddEndpoint(pm.Addr{ID: 1, IP: netip.MustParseAddr("10.2.0.2"), Flags: pm.FlagSignal}); err != nil {
		t.Fatal(err)
	}
	cli, err := pm.DialConfig(&pm.Config{NetNS: tp.FD("mpc")})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()

	type result struct {
		p50, p99, max time.Duration
		eventsPerSec  float64
		events        int
		span          time.Duration
	}
	// run opens n connections, from 8 dialers at once or (sequential) one at a time,
	// each once the one before has its subflows
	run := func(name string, n int, sequential bool, setup func() func()) result {
		mon, err := pm.Watch(&pm.Config{NetNS: tp.FD("mpc")})
		if err != nil {
			t.Fatal(err)
		}
		mon.SetReadBuffer(32 << 20)
		var mu sync.Mutex
		est := map[uint32]time.Time{}
		last := map[uint32]time.Time{}
		sfs := map[uint32]int{}
		var first, lastEv time.Time
		events := 0
		go func() {
			for {
				ev, err := mon.Next()
				if err == pm.ErrEventsLost {
					t.Errorf("%s: the monitor lost events", name)
					continue
				}
				if err != nil {
					return
				}
				mu.Lock()
				if first.IsZero() {
					first = ev.Time
				}
				lastEv = ev.Time
				events++
				switch ev.Type {
				case pm.EventEstablished:
					est[ev.Token] = ev.Time
				case pm.EventSubEstablished:
					sfs[ev.Token]++
					last[ev.Token] = ev.Time
				}
				mu.Unlock()
			}
		}()
		teardown := setup()
		conns := make([]net.Conn, n)
		complete := func() int { // connections with their 3 extra subflows
			mu.Lock()
			defer mu.Unlock()
			done := 0
			for tok := range est {
				if sfs[tok] >= 3 {
					done++
				}
			}
			return done
		}
		var wg sync.WaitGroup
		workers := 8
		if sequential {
			workers = 1
		}
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				tp.Must("mpc", func() error {
					d := net.Dialer{Timeout: 30 * time.Second}
					d.SetMultipathTCP(true)
					for i := w; i < n; i += workers {
						c, err := d.Dial("tcp", "10.1.0.2:5301")
						if err != nil {
							return fmt.Errorf("connection %d: %w", i, err)
						}
						conns[i] = c
						for deadline := time.Now().Add(within); sequential && complete() < i+1; {
							if time.Now().After(deadline) {
								return fmt.Errorf("connection %d has not its 3 extra subflows after %v", i, within)
							}
							time.Sleep(200 * time.Microsecond)
						}
					}
					return nil
				})
			}(w)
		}
		wg.Wait()
		deadline := time.Now().Add(within)
		for {
			done := complete()
			if done == n {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d of %d connections have their 3 extra subflows after %v", name, done, n, within)
			}
			time.Sleep(200 * time.Millisecond)
		}
		mu.Lock()
		var lat []time.Duration
		for tok, e := range est {
			lat = append(lat, last[tok].Sub(e))
		}
		r := result{events: events, span: lastEv.Sub(first)}
		mu.Unlock()
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		r.p50, r.p99, r.max = lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1]
		r.eventsPerSec = float64(r.events) / r.span.Seconds()
		for _, c := range conns {
			c.Close()
		}
		time.Sleep(2 * time.Second)
		mon.Close()
		teardown()
		how := "at once"
		if sequential {
			how = "one at a time"
		}
		t.Logf("%-12s %d connections %s: ESTABLISHED -> last subflow p50 %v p99 %v max %v; %d events in %v = %.0f events/s",
			name, n, how, r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond), r.max.Round(time.Microsecond),
			r.events, r.span.Round(time.Millisecond), r.eventsPerSec)
		return r
	}

	kernelPM := func() func() {
		for i, a := range []string{"10.1.0.1", "10.2.0.1"} {
			if err := cli.AddEndpoint(pm.Addr{ID: uint8(i + 1), IP: netip.MustParseAddr(a), Flags: pm.FlagSubflow | pm.FlagFullmesh}); err != nil {
				t.Fatal(err)
			}
		}
		return func() { cli.FlushEndpoints() }
	}
	// the daemon, which must lose no event and have no command fail
	nlkitPM := func(timing *mpd.Timing) func() func() {
		return func() func() {
			d := startPM(t, tp, "mpc", "fullmesh")
			d.mu.Lock()
			d.quiet = true
			d.mu.Unlock()
			return func() {
				*timing = d.d.Timing()
				st := d.d.Stats()
				d.stop(t)
				t.Logf("nlkit pm: %d events, %d lost, %d malformed; %d subflows asked, %d up, %d commands failed",
					st.Events, st.EventsLost, st.Malformed, st.SubflowsAsked, st.SubflowsUp, st.CommandErrors)
				if st.EventsLost != 0 || st.CommandErrors != 0 {
					t.Errorf("nlkit pm lost %d events, %d commands failed", st.EventsLost, st.CommandErrors)
				}
			}
		}
	}
	var seqTiming, burstTiming mpd.Timing
	kernelSeq := run("in-kernel PM", seq, true, kernelPM)
	nlkitSeq := run("nlkit pm", seq, true, nlkitPM(&seqTiming))
	t.Logf("nlkit pm, one at a time: %s", seqTiming)
	kernel := run("in-kernel PM", n, false, kernelPM)
	nlkit := run("nlkit pm", n, false, nlkitPM(&burstTiming))
	t.Logf("nlkit pm, %d at once: %s", n, burstTiming)
	if vmtest.Profiling() { // one more burst of each, profiled from its start
		for _, p := range []struct {
			name  string
			setup func() func()
		}{{"in-kernel PM", kernelPM}, {"nlkit pm", nlkitPM(new(mpd.Timing))}} {
			stop := vmtest.StartProfile(t, p.name+" at once")
			run(p.name, n, false, p.setup)
			stop()
		}
	}
	t.Logf("nlkit pm / in-kernel PM: one at a time p50 %.2fx; %d at once: latency p50 %.2fx, p99 %.2fx; events/s %.2fx",
		float64(nlkitSeq.p50)/float64(kernelSeq.p50), n,
		float64(nlkit.p50)/float64(kernel.p50), float64(nlkit.p99)/float64(kernel.p99), nlkit.eventsPerSec/kernel.eventsPerSec)
	ms := func(d time.Duration) []float64 { return []float64{math.Round(float64(d)/1e3) / 1e3} }
	what := "fullmesh 2x2, ESTABLISHED -> last of 3 subflows"
	vmtest.ReportBench(t, job.BenchRow{Mechanism: "nlkit mptcp pm", Baseline: "in-kernel PM", Workload: fmt.Sprintf("%s, p50, %d connections one at a time", what, seq),
		Unit: "ms", Nlkit: ms(nlkitSeq.p50), Base: ms(kernelSeq.p50), LowerBetter: true})
	vmtest.ReportBench(t, job.BenchRow{Mechanism: "nlkit mptcp pm", Baseline: "in-kernel PM", Workload: fmt.Sprintf("%s, p50, %d connections at once", what, n),
		Unit: "ms", Nlkit: ms(nlkit.p50), Base: ms(kernel.p50), LowerBetter: true})
	vmtest.ReportBench(t, job.BenchRow{Mechanism: "nlkit mptcp pm", Baseline: "in-kernel PM", Workload: fmt.Sprintf("%s, p99, %d connections at once", what, n),
		Unit: "ms", Nlkit: ms(nlkit.p99), Base: ms(kernel.p99), LowerBetter: true})
	vmtest.ReportBench(t, job.BenchRow{Mechanism: "nlkit mptcp pm", Baseline: "in-kernel PM", Workload: fmt.Sprintf("PM events handled per second, %d connections at once", n),
		Unit: "events/s", Nlkit: []float64{math.Round(nlkit.eventsPerSec)}, Base: []float64{math.Round(kernel.eventsPerSec)}})
}
