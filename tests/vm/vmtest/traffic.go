package vmtest

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Sink is a TCP server that reads and counts everything sent to it.
type Sink struct {
	ln    net.Listener
	bytes atomic.Int64
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]bool
}

// NewSink listens on addr ("10.0.0.1:5001") inside namespace ns.
func (tp *Topo) NewSink(ns, addr string) *Sink { return tp.newSink(ns, addr, false) }

// NewMPTCPSink is NewSink with an MPTCP listener (plain TCP clients still connect).
func (tp *Topo) NewMPTCPSink(ns, addr string) *Sink { return tp.newSink(ns, addr, true) }

func (tp *Topo) newSink(ns, addr string, mptcp bool) *Sink {
	tp.t.Helper()
	s := &Sink{}
	tp.Must(ns, func() error {
		var lc net.ListenConfig // as net.Listen unless MPTCP is asked for
		if mptcp {
			lc.SetMultipathTCP(true)
		}
		var err error
		s.ln, err = lc.Listen(context.Background(), "tcp", addr)
		return err
	})
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := s.ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			if s.conns == nil {
				s.conns = map[net.Conn]bool{}
			}
			s.conns[c] = true
			s.mu.Unlock()
			go func() {
				defer func() {
					s.mu.Lock()
					delete(s.conns, c)
					s.mu.Unlock()
					c.Close()
				}()
				buf := make([]byte, 64<<10)
				for {
					n, err := c.Read(buf)
					s.bytes.Add(int64(n))
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	tp.t.Cleanup(s.Close)
	return s
}

// DialMPTCP opens an MPTCP connection from namespace ns to addr; it is closed when
// the test ends.
func (tp *Topo) DialMPTCP(ns, addr string, timeout time.Duration) *net.TCPConn {
	tp.t.Helper()
	var c net.Conn
	tp.Must(ns, func() error {
		d := net.Dialer{Timeout: timeout}
		d.SetMultipathTCP(true)
		var err error
		c, err = d.Dial("tcp", addr)
		return err
	})
	tp.t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

// Bytes is the total received so far.
func (s *Sink) Bytes() int64 { return s.bytes.Load() }

// Close stops accepting.
func (s *Sink) Close() { s.ln.Close(); s.wg.Wait() }

// Rate measures the sink's goodput in bytes/s over d.
func (s *Sink) Rate(d time.Duration) float64 {
	b0, t0 := s.Bytes(), time.Now()
	time.Sleep(d)
	return float64(s.Bytes()-b0) / time.Since(t0).Seconds()
}

// Flood opens flows TCP connections from namespace ns to addr and writes as fast as
// they go until ctx ends.
func (tp *Topo) Flood(ctx context.Context, ns, addr string, flows int) {
	tp.t.Helper()
	tp.FloodAt(ctx, ns, addr, flows, 0)
}

// FloodAt is Flood with each connection paced by TCP to at most rate bytes/s
// (SO_MAX_PACING_RATE; 0: no limit): traffic that keeps flowing at a few Mbit/s
// whatever a qdisc on its path is configured to let through.
func (tp *Topo) FloodAt(ctx context.Context, ns, addr string, flows int, rate uint32) {
	tp.t.Helper()
	conns := make([]net.Conn, flows)
	tp.Must(ns, func() error {
		for i := range conns {
			c, err := net.DialTimeout("tcp", addr, 10*time.Second)
			if err != nil {
				return err
			}
			conns[i] = c
			if rate == 0 {
				continue
			}
			rc, err := c.(*net.TCPConn).SyscallConn()
			if err != nil {
				return err
			}
			var serr error
			if err := rc.Control(func(fd uintptr) {
				serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_MAX_PACING_RATE, int(rate))
			}); err != nil {
				return err
			}
			if serr != nil {
				return fmt.Errorf("SO_MAX_PACING_RATE: %w", serr)
			}
		}
		return nil
	})
	for _, c := range conns {
		go func(c net.Conn) {
			defer c.Close()
			go func() { <-ctx.Done(); c.Close() }()
			buf := make([]byte, 64<<10)
			for ctx.Err() == nil {
				if _, err := c.Write(buf); err != nil {
					return
				}
			}
		}(c)
	}
}

// BackloggedRate is a qdisc's own output while packets wait in it: sample reads the
// qdisc's queue length and sent-bytes counter every 100 ms; over runs of reads that
// all saw a queue it sums the bytes and the time, until want of such time has passed
// (or 30 s). It returns bytes per second, the backlogged time and the time it took.
// Unlike goodput at a sink, it does not measure senders that cannot keep a queue (a
// starved guest).
//
// The kernel reads the counters at some moment during sample, so a read is timed at
// the middle of its call, and a run is measured between its first and last reads that
// took at most slowRead (reads in between only need to see a queue): its time is then
// right within slowRead. Timed from the replies alone, a slow first read (its vCPU
// preempted, the reply waiting for the reader) made a run look 8% shorter than it was:
// ratekeeper on the debug kernel "sent" 4.33 Mbit/s at 4 Mbit/s while the sink's
// goodput was 95% of the rate.
func BackloggedRate(t testing.TB, want time.Duration, sample func() (qlen uint32, bytes uint64, err error)) (rate float64, busy, took time.Duration) {
	t.Helper()
	const slowRead = 5 * time.Millisecond
	type read struct {
		qlen  uint32
		bytes uint64
		at    time.Time     // the middle of the call
		took  time.Duration // the call's duration
	}
	get := func() read {
		t0 := time.Now()
		q, b, err := sample()
		if err != nil {
			t.Fatal(err)
		}
		d := time.Since(t0)
		return read{q, b, t0.Add(d / 2), d}
	}
	fast := func(r read) bool { return r.took <= slowRead }
	var sum uint64
	var first, last *read // the current run's first and last fast reads
	run := func() (time.Duration, uint64) {
		if first == nil {
			return 0, 0
		}
		return last.at.Sub(first.at), last.bytes - first.bytes
	}
	// for the failure message: a starved sender (no queue) and slow reads (no fast
	// ends) both leave busy short
	var reads, queued, fastQueued int
	var slowest time.Duration
	start := time.Now()
	for {
		r := get()
		reads++
		slowest = max(slowest, r.took)
		if r.qlen > 0 {
			queued++
			if fast(r) {
				fastQueued++
			}
		}
		switch {
		case r.qlen == 0: // the run ends
			d, b := run()
			busy, sum, first, last = busy+d, sum+b, nil, nil
		case fast(r) && first == nil:
			first, last = &r, &r
		case fast(r):
			last = &r
		}
		if d, _ := run(); busy+d >= want || time.Since(start) >= 30*time.Second {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	d, b := run()
	busy, sum, took = busy+d, sum+b, time.Since(start)
	if busy < want {
		t.Fatalf("the senders kept a queue at the qdisc for only %v in %v: %d reads, %d saw a queue, %d of those took at most %v (the slowest read %v)",
			busy, took.Round(100*time.Millisecond), reads, queued, fastQueued, slowRead, slowest.Round(time.Millisecond))
	}
	return float64(sum) / busy.Seconds(), busy, took
}

// Queued is what the sink's connections hold received, in order, and not yet read
// (SIOCINQ): on a starved guest the reader lags what the network delivered.
func (s *Sink) Queued() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for c := range s.conns {
		rc, err := c.(syscall.Conn).SyscallConn()
		if err != nil {
			continue
		}
		rc.Control(func(fd uintptr) {
			if q, err := unix.IoctlGetInt(int(fd), unix.SIOCINQ); err == nil {
				n += int64(q)
			}
		})
	}
	return n
}

// DeliveredRate is the rate at which data reached the sink's sockets in order over d,
// read or not yet read by the sink (bytes/s), and the sink's own read rate. Both are
// least-squares slopes of samples taken every 100 ms, not the difference of two: over
// paths of different delay (MPTCP) in-order data arrives in bursts, as each late
// segment releases what waited behind it, and a burst just inside or outside the
// window would move a two-point rate by its whole size.
func (s *Sink) DeliveredRate(d time.Duration) (delivered, read float64) {
	var ts, ds, rs []float64
	t0 := time.Now()
	for {
		b, q := s.Bytes(), s.Queued()
		el := time.Since(t0)
		ts, ds, rs = append(ts, el.Seconds()), append(ds, float64(b+q)), append(rs, float64(b))
		if el >= d {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return slope(ts, ds), slope(ts, rs)
}

// slope is the least-squares slope of y over x.
func slope(x, y []float64) float64 {
	n := float64(len(x))
	var sx, sy, sxx, sxy float64
	for i := range x {
		sx, sy, sxx, sxy = sx+x[i], sy+y[i], sxx+x[i]*x[i], sxy+x[i]*y[i]
	}
	den := n*sxx - sx*sx
	if den == 0 {
		return 0
	}
	return (n*sxy - sx*sy) / den
}
