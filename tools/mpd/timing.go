package mpd

import (
	"fmt"
	"slices"
	"sync"
	"time"
)

// Where a path manager's time goes, per event and per command: the daemon keeps the
// last timingWindow samples of each and reports percentiles (Daemon.Timing), and with
// Config.Timing logs every event's figures.
const timingWindow = 8192

// samples is a ring of the last timingWindow durations.
type samples struct {
	v    []time.Duration
	next int
	n    uint64
}

func (s *samples) add(d time.Duration) {
	if len(s.v) < timingWindow {
		s.v = append(s.v, d)
	} else {
		s.v[s.next] = d
		s.next = (s.next + 1) % timingWindow
	}
	s.n++
}

// Spread is the percentiles of one kind of sample.
type Spread struct {
	Count uint64        `json:"count"` // samples taken in all (the figures are of the last 8192)
	P50   time.Duration `json:"p50_ns"`
	P99   time.Duration `json:"p99_ns"`
	Max   time.Duration `json:"max_ns"`
}

func (s *samples) spread() Spread {
	if len(s.v) == 0 {
		return Spread{}
	}
	v := slices.Clone(s.v)
	slices.Sort(v)
	return Spread{Count: s.n, P50: v[len(v)/2], P99: v[len(v)*99/100], Max: v[len(v)-1]}
}

func (s Spread) String() string {
	return fmt.Sprintf("p50 %v p99 %v max %v (%d)", s.P50.Round(time.Microsecond), s.P99.Round(time.Microsecond), s.Max.Round(time.Microsecond), s.Count)
}

// Timing is where the daemon's time went.
type Timing struct {
	// Wait: from reading an event off the socket to the event loop taking it up
	// (queued behind earlier events and command results).
	Wait Spread `json:"wait"`
	// Handle: the event loop's work on one event, commands it sends included (they
	// are handed to the command sockets, not waited for).
	Handle Spread `json:"handle"`
	// Command: a subflow-create from the loop handing it over to its ack; RoundTrip:
	// a batch's netlink round trip itself (its sendmsg, in which the kernel opens the
	// subflows, to its last ack on a command socket), one sample per batch.
	Command   Spread `json:"command"`
	RoundTrip Spread `json:"round_trip"`
}

func (t Timing) String() string {
	return fmt.Sprintf("event wait %v; handle %v; subflow-create %v, of which a batch's round trip %v", t.Wait, t.Handle, t.Command, t.RoundTrip)
}

type timing struct {
	mu                               sync.Mutex
	wait, handle, command, roundTrip samples
}

func (t *timing) add(s *samples, d time.Duration) {
	t.mu.Lock()
	s.add(d)
	t.mu.Unlock()
}

func (t *timing) report() Timing {
	t.mu.Lock()
	defer t.mu.Unlock()
	return Timing{Wait: t.wait.spread(), Handle: t.handle.spread(), Command: t.command.spread(), RoundTrip: t.roundTrip.spread()}
}
