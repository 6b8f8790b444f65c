package load

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"
)

func startServer(t *testing.T, cfg ServerConfig) *Server {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	s, err := Listen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve()
	t.Cleanup(s.Close)
	return s
}

func TestWgetAgainstServer(t *testing.T) {
	s := startServer(t, ServerConfig{Cores: 2, Synthetic: true, Files: map[string][]byte{"/index.html": []byte("hello\n")}})
	for _, keep := range []bool{false, true} {
		var lines []Progress
		r, err := Wget(context.Background(), WgetConfig{URL: "http://" + s.Addr() + "/20k", Requests: 300,
			Cores: 2, Concurrency: 5, KeepAlive: keep, Progress: func(p Progress) { lines = append(lines, p) }})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("keepalive=%v: %d requests in %v, %.0f/s, avg %v p50 %v p99 %v max %v, %d progress lines",
			keep, r.Requests, r.Elapsed, r.PerSecond, r.Avg, r.P50, r.P99, r.Max, len(lines))
		if r.Requests != 300 || r.Errors != 0 || r.Bytes != 300*20480 || len(r.Latencies) != 300 {
			t.Fatalf("result %+v (first error %s)", r, r.FirstError)
		}
		if !(r.P50 <= r.P99 && r.P99 <= r.Max && r.Avg > 0) {
			t.Errorf("percentiles out of order: %+v", r)
		}
	}
	if s.Requests.Load() != 600 || s.Errors.Load() != 0 {
		t.Errorf("server counted %d requests, %d errors", s.Requests.Load(), s.Errors.Load())
	}
	// a missing file is an error on both sides, and the run goes on
	r, err := Wget(context.Background(), WgetConfig{URL: "http://" + s.Addr() + "/nope", Requests: 10, Cores: 1, Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	if r.Errors != 10 || r.Requests != 0 || r.FirstError == "" {
		t.Errorf("404s: %+v", r)
	}
	t.Logf("404: %s", r.FirstError)
	// a duration bound
	r, err = Wget(context.Background(), WgetConfig{URL: "http://" + s.Addr() + "/index.html", Duration: 300 * time.Millisecond, Cores: 1, Concurrency: 2, KeepAlive: true})
	if err != nil || r.Requests == 0 || r.Errors != 0 {
		t.Errorf("duration run: %+v %v", r, err)
	}
	for _, bad := range []string{"ftp://x/", "http://", "::"} {
		if _, err := Wget(context.Background(), WgetConfig{URL: bad, Requests: 1}); err == nil {
			t.Errorf("URL %q accepted", bad)
		}
	}
}

// With RSS, every connection of core i leaves from a port whose reply the receiving NIC
// would hash to queue i.
func TestWgetRSSPorts(t *testing.T) {
	var mu sync.Mutex
	var remotes []netip.AddrPort
	s := startServer(t, ServerConfig{Cores: 1, Synthetic: true, OnConn: func(a net.Addr) {
		mu.Lock()
		remotes = append(remotes, netip.MustParseAddrPort(a.String()))
		mu.Unlock()
	}})
	rss := &RSS{Key: MicrosoftKey, Queues: 2}
	// A duration, not a request count: with a count, a busy host can let one slot serve
	// every request before the others ever dial. Every slot dials once (keep-alive) and
	// then loops until the time is up.
	r, err := Wget(context.Background(), WgetConfig{URL: "http://" + s.Addr() + "/1k", Duration: time.Second, Cores: 2,
		Concurrency: 2, KeepAlive: true, RSS: rss, Source: netip.MustParseAddr("127.0.0.1")})
	if err != nil || r.Errors != 0 || r.Requests == 0 {
		t.Fatalf("%+v %v", r, err)
	}
	server := netip.MustParseAddrPort(s.Addr())
	queues := map[int]int{}
	for _, c := range remotes {
		q := rss.Queue(TupleHash(MicrosoftKey, server, c))
		queues[q]++
	}
	t.Logf("%d connections, replies per queue: %v", len(remotes), queues)
	if len(remotes) != 4 || queues[0] != 2 || queues[1] != 2 {
		t.Errorf("want 2 connections per queue (2 per core), got %v over %d connections", queues, len(remotes))
	}
	if _, err := Wget(context.Background(), WgetConfig{URL: "http://" + s.Addr() + "/1k", Requests: 1, Cores: 3, RSS: rss, Source: netip.MustParseAddr("127.0.0.1")}); err == nil {
		t.Error("3 cores on 2 queues accepted")
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int{"512": 512, "20k": 20480, "1m": 1 << 20, "2G": 2 << 30} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("%s: %d %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "k", "-1", "3x", "9999999g"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// deadlineOnly has a deadline but no Err: the moment between a deadline passing, which
// a dial bounded by it sees at once, and the context's timer setting Err.
type deadlineOnly struct {
	context.Context
	d time.Time
}

func (c deadlineOnly) Deadline() (time.Time, bool) { return c.d, true }

// A request cut by the end of the run is not an error: at the end of a 20 s run on a
// busy guest, a dial failed with "i/o timeout" before the context reported that the
// run was over, and wget counted an error (TestScenarioFCM, debug kernel).
func TestWgetRequestCutByTheEndIsNoError(t *testing.T) {
	s := startServer(t, ServerConfig{Cores: 1, Synthetic: true})
	ctx := deadlineOnly{context.Background(), time.Now().Add(-time.Millisecond)}
	r, err := Wget(ctx, WgetConfig{URL: "http://" + s.Addr() + "/1k", Requests: 3, Cores: 1, Concurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	if r.Errors != 0 || r.Requests != 0 {
		t.Errorf("a run whose deadline had passed: %d requests, %d errors (first: %s), want none of either", r.Requests, r.Errors, r.FirstError)
	}
}
