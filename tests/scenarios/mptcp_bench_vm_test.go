//go:build vmtest

package scenarios

import (
	"fmt"
	"net"
	"net/netip"
	"sort"
	"sync"
	"testing"
	"time"

	pm "github.com/nlkit/nlkit/netlinkproto/mptcp"
	"github.com/nlkit/nlkit/tests/vm/vmtest"
)

// TestBenchmarkMPTCPPathManager prints what nlkit's userspace path manager costs
// against the in-kernel PM doing the same fullmesh (2 local x 2 remote addresses, so 3
// subflows besides the initial one) when many connections open at once: the latency
// from a connection's ESTABLISHED event to its last policy subflow's SF_ESTABLISHED,
// and the events per second the namespace's PM got through. A passive monitor times
// both runs the same way. It asserts only that every connection got its subflows.
func TestBenchmarkMPTCPPathManager(t *testing.T) {
	vmtest.Require(t)
	n := 500
	within := 90 * time.Second
	switch {
	case !vmtest.Bench():
		n = 20
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
	run := func(name string, setup func() func()) result {
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
		var wg sync.WaitGroup
		workers := 8
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
					}
					return nil
				})
			}(w)
		}
		wg.Wait()
		deadline := time.Now().Add(within)
		for {
			mu.Lock()
			done := 0
			for tok := range est {
				if sfs[tok] >= 3 {
					done++
				}
			}
			mu.Unlock()
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
		t.Logf("%-12s %d connections: ESTABLISHED -> last subflow p50 %v p99 %v max %v; %d events in %v = %.0f events/s",
			name, n, r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond), r.max.Round(time.Microsecond),
			r.events, r.span.Round(time.Millisecond), r.eventsPerSec)
		return r
	}

	kernel := run("in-kernel PM", func() func() {
		for i, a := range []string{"10.1.0.1", "10.2.0.1"} {
			if err := cli.AddEndpoint(pm.Addr{ID: uint8(i + 1), IP: netip.MustParseAddr(a), Flags: pm.FlagSubflow | pm.FlagFullmesh}); err != nil {
				t.Fatal(err)
			}
		}
		return func() { cli.FlushEndpoints() }
	})
	nlkit := run("nlkit pm", func() func() {
		d := startPM(t, tp, "mpc", "fullmesh")
		d.mu.Lock()
		d.quiet = true
		d.mu.Unlock()
		return func() { d.stop(t) }
	})
	t.Logf("nlkit pm / in-kernel PM: latency p50 %.2fx, p99 %.2fx; events/s %.2fx",
		float64(nlkit.p50)/float64(kernel.p50), float64(nlkit.p99)/float64(kernel.p99), nlkit.eventsPerSec/kernel.eventsPerSec)
}
