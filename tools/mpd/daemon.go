package mpd

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	pm "github.com/nlkit/nlkit/netlinkproto/mptcp"
	"github.com/nlkit/nlkit/netlinkproto/rtnl"
	"github.com/nlkit/nlkit/tools/daemonlog"
	"golang.org/x/sys/unix"
)

// Config configures a Daemon.
type Config struct {
	Rules          []Rule        // first match wins; a connection no rule matches is left alone
	ExecTimeout    time.Duration // exec policy command bound (default 2 s)
	BackoffMin     time.Duration // first re-creation delay (default 200 ms)
	BackoffMax     time.Duration // re-creation delay cap (default 10 s)
	PendingTimeout time.Duration // a created subflow not established by then is retried (default 10 s)
	EventBuffer    int           // event socket receive buffer in bytes (default 8 MiB)
	// CommandSockets are the netlink sockets subflow-create commands go out on, one
	// batch in flight on each (default 4): the event loop hands over the creates of
	// one step (an event's connection) as one batch, one sendmsg, and goes on with
	// the next event; the acks come back to the loop.
	CommandSockets int
	// Timing logs, for every event, how long it waited and how long the loop took on it
	// (Daemon.Timing has the percentiles either way).
	Timing bool
	// Log receives a record per thing the daemon does (default: text on stderr,
	// daemonlog); a connection's records carry its token. Logf, if set instead, gets
	// them as lines (tests).
	Log  *slog.Logger
	Logf func(format string, a ...any)
	// OnEvent, if set, sees every event the daemon receives, before it acts on it.
	OnEvent func(pm.Event)
	// SysctlRoot is /proc/sys unless a test says otherwise.
	SysctlRoot string
	// HoldEvents, if set, keeps the daemon from reading events until it is closed:
	// tests overflow the event socket with it to see the daemon resynchronise.
	HoldEvents <-chan struct{}
}

// Stats count what the daemon did.
type Stats struct {
	Events        uint64 `json:"events"`
	EventsLost    uint64 `json:"events_lost"` // ENOBUFS on the event socket
	Resyncs       uint64 `json:"resyncs"`     // state rebuilt from the kernel's sockets after events were lost
	Adopted       uint64 `json:"adopted"`     // connections and subflows a resync found that no event had shown
	Malformed     uint64 `json:"malformed"`
	Connections   uint64 `json:"connections"`
	Open          int    `json:"open"`
	SubflowsAsked uint64 `json:"subflows_asked"` // SUBFLOW_CREATE commands the kernel accepted
	SubflowsUp    uint64 `json:"subflows_up"`    // SF_ESTABLISHED of the daemon's subflows
	CommandErrors uint64 `json:"command_errors"`
	Recreations   uint64 `json:"recreations"`
	Destroyed     uint64 `json:"destroyed"`
	Announced     uint64 `json:"announced"`
	ExecRuns      uint64 `json:"exec_runs"`
	ExecErrors    uint64 `json:"exec_errors"`
}

// StatsHelp describes each counter of Stats, by json name (the Prometheus metrics'
// help).
var StatsHelp = map[string]string{
	"events": "MPTCP path-manager events received", "events_lost": "times the event socket overflowed (ENOBUFS)",
	"resyncs": "resynchronisations from sock_diag after lost events", "adopted": "connections and subflows a resynchronisation found that no event had shown",
	"malformed": "events that did not decode", "connections": "MPTCP connections seen", "open": "MPTCP connections open now",
	"subflows_asked": "subflow-creates the kernel accepted", "subflows_up": "subflows of the daemon's established",
	"command_errors": "path-manager commands that failed", "recreations": "subflows re-created after closing",
	"destroyed": "subflows destroyed (link down, no longer wanted)", "announced": "addresses announced (ADD_ADDR)",
	"exec_runs": "exec policy commands run", "exec_errors": "exec policy commands that failed",
}

// Daemon is the path manager of one network namespace (the caller's when NewDaemon
// runs).
type Daemon struct {
	cfg  Config
	cmd  *pm.Conn // commands the loop waits for (announce, destroy)
	mon  *pm.Monitor
	diag *pm.Diag // the kernel's connections and subflows, for resynchronisation
	// resyncing is set from events being lost to the resynchronisation that follows
	resyncing atomic.Bool
	// creators are the command sockets subflow-creates go out on; cmdq feeds them and
	// results brings the outcomes back to the loop
	creators []*pm.Conn
	cmdq     chan func(*pm.Conn)
	results  doneQueue
	batch    []createReq // subflow-creates of the loop's current step, sent by flush
	timing   timing
	rt       *rtnl.Conn
	watch    *rtnl.Watcher
	sel      *pmSelection

	conns   map[uint32]*conn
	addrs   []rtnl.Addr
	running map[int]bool
	work    chan func()
	stopped chan struct{} // closed when Run returns: timers and execs stop posting work

	mu    sync.Mutex
	stats Stats
}

type wantState int

const (
	idle    wantState = iota // not opened, nothing scheduled
	waiting                  // a retry is scheduled
	pending                  // SUBFLOW_CREATE accepted, not established yet
	up                       // established
)

// want is one subflow a policy asks for.
type want struct {
	local   netip.Addr
	residue int // ndiffports: local port mod n; -1 for any port
	n       int
	remote  netip.AddrPort
	remID   uint8
	backup  bool

	state   wantState
	cur     netip.AddrPort // local address and port of the current subflow (port 0 while unknown)
	fails   int
	gen     int // bumps on every state change so stale timers do nothing
	initial bool
	wasUp   bool // it has been established before: opening it again is a re-creation
}

type conn struct {
	token   uint32
	local   netip.AddrPort
	remote  netip.AddrPort
	server  bool
	dual    bool // an IPv6 socket: its subflows may be IPv4 too (each pair of one family)
	rule    *Rule
	wants   []*want
	remotes map[uint8]netip.AddrPort // id -> announced (0: the connection's)
	ids     map[netip.AddrPort]uint8 // local address ids handed to the kernel
	nextID  int
	closed  bool
	est     time.Time
}

// NewDaemon checks the kernel, selects the userspace path manager in the caller's
// network namespace and subscribes to its events. It needs CAP_NET_ADMIN.
func NewDaemon(cfg Config) (*Daemon, error) {
	if cfg.ExecTimeout == 0 {
		cfg.ExecTimeout = execTimeoutDefault
	}
	if cfg.BackoffMin == 0 {
		cfg.BackoffMin = 200 * time.Millisecond
	}
	if cfg.BackoffMax == 0 {
		cfg.BackoffMax = 10 * time.Second
	}
	if cfg.PendingTimeout == 0 {
		cfg.PendingTimeout = 10 * time.Second
	}
	if cfg.EventBuffer == 0 {
		cfg.EventBuffer = 8 << 20
	}
	if cfg.CommandSockets <= 0 {
		cfg.CommandSockets = 4
	}
	if cfg.SysctlRoot == "" {
		cfg.SysctlRoot = "/proc/sys"
	}
	if cfg.Logf == nil {
		if cfg.Log == nil {
			cfg.Log, _ = daemonlog.New(os.Stderr, "text")
		}
		log := cfg.Log
		cfg.Logf = func(f string, a ...any) { log.Info(fmt.Sprintf(f, a...)) }
	}
	d := &Daemon{cfg: cfg, conns: map[uint32]*conn{}, running: map[int]bool{}, work: make(chan func(), 256), stopped: make(chan struct{}),
		cmdq: make(chan func(*pm.Conn), 1024), results: doneQueue{ready: make(chan struct{}, 1)}}
	var err error
	if d.sel, err = selectUserspacePM(cfg.SysctlRoot); err != nil {
		return nil, err
	}
	fail := func(err error) (*Daemon, error) {
		d.close()
		return nil, err
	}
	if d.mon, err = pm.Watch(nil); err != nil {
		return fail(err)
	}
	if err := d.mon.SetReadBuffer(cfg.EventBuffer); err != nil {
		return fail(err)
	}
	if d.cmd, err = pm.Dial(); err != nil {
		return fail(err)
	}
	if d.diag, err = pm.DialDiag(nil); err != nil {
		return fail(err)
	}
	for i := 0; i < cfg.CommandSockets; i++ {
		c, err := pm.Dial()
		if err != nil {
			return fail(err)
		}
		d.creators = append(d.creators, c)
	}
	if d.watch, err = rtnl.Watch(0); err != nil {
		return fail(err)
	}
	if d.rt, err = rtnl.Dial(0); err != nil {
		return fail(err)
	}
	links, err := d.rt.Links()
	if err != nil {
		return fail(err)
	}
	for _, l := range links {
		d.running[l.Index] = l.Running
	}
	if d.addrs, err = d.rt.Addrs(); err != nil {
		return fail(err)
	}
	d.cfg.Logf("selected the userspace path manager (%s=%s, was %s); %d rules", d.sel.name, d.sel.set, d.sel.prev, len(cfg.Rules))
	return d, nil
}

// Close releases a daemon that will not Run (Run releases it itself): its sockets, and
// the path-manager setting goes back as it was.
func (d *Daemon) Close() { d.close() }

func (d *Daemon) close() {
	if d.mon != nil {
		d.mon.Close()
	}
	if d.cmd != nil {
		d.cmd.Close()
	}
	if d.diag != nil {
		d.diag.Close()
	}
	for _, c := range d.creators {
		c.Close()
	}
	d.creators = nil
	if d.watch != nil {
		d.watch.Close()
	}
	if d.rt != nil {
		d.rt.Close()
	}
	if d.sel != nil {
		if err := d.sel.restore(); err != nil {
			d.cfg.Logf("%v", err)
		} else if d.sel.prev != d.sel.set {
			d.cfg.Logf("restored %s=%s", d.sel.name, d.sel.prev)
		}
		d.sel = nil
	}
}

// Timing returns where the daemon's time went (the last 8192 samples of each kind).
func (d *Daemon) Timing() Timing { return d.timing.report() }

// Stats returns a snapshot of the counters.
func (d *Daemon) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.stats
	return s
}

func (d *Daemon) count(f func(s *Stats)) {
	d.mu.Lock()
	f(&d.stats)
	d.mu.Unlock()
}

// Run serves events until ctx ends, then restores the path-manager setting. Existing
// connections keep their subflows.
func (d *Daemon) Run(ctx context.Context) error {
	type evmsg struct {
		ev  pm.Event
		err error
	}
	evc := make(chan evmsg, 1024)
	upc := make(chan []rtnl.Update, 16)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if d.cfg.HoldEvents != nil {
			select {
			case <-d.cfg.HoldEvents:
			case <-done:
				return
			}
		}
		for {
			ev, err := d.mon.Next()
			if errors.Is(err, pm.ErrEventsLost) {
				d.count(func(s *Stats) { s.EventsLost++ })
				if d.resyncing.CompareAndSwap(false, true) {
					d.cfg.Logf("%v: resynchronising from the kernel's sockets", err)
					go d.post(d.resync)
				}
				continue
			}
			select {
			case evc <- evmsg{ev, err}:
			case <-done:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		for {
			u, err := d.watch.Next()
			if err != nil {
				return
			}
			select {
			case upc <- u:
			case <-done:
				return
			}
		}
	}()
	var cmdWG sync.WaitGroup
	for _, c := range d.creators {
		cmdWG.Add(1)
		go func(c *pm.Conn) {
			defer cmdWG.Done()
			for f := range d.cmdq {
				f(c)
			}
		}(c)
	}
	var runErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case m := <-evc:
			if m.err != nil {
				runErr = fmt.Errorf("mptcp events: %w", m.err)
				break loop
			}
			start := time.Now()
			d.handle(m.ev)
			wait, took := start.Sub(m.ev.Time), time.Since(start)
			d.timing.add(&d.timing.wait, wait)
			d.timing.add(&d.timing.handle, took)
			if d.cfg.Timing {
				d.cfg.Logf("timing %s token=%08x: waited %v, handled in %v", m.ev.Type, m.ev.Token, wait.Round(time.Microsecond), took.Round(time.Microsecond))
			}
		case <-d.results.ready:
			for _, f := range d.results.take() {
				f()
			}
		case u := <-upc:
			d.netChange(u)
		case f := <-d.work:
			f()
		}
		d.flush()
	}
	close(done)
	close(d.stopped)
	close(d.cmdq) // only the loop sends on it
	cmdWG.Wait()
	d.mon.Close()
	d.watch.Close()
	wg.Wait()
	d.count(func(s *Stats) { s.Malformed = uint64(d.mon.Malformed) })
	d.close()
	if d.cfg.Log != nil {
		d.cfg.Log.Info("stopped", daemonlog.Counters(d.Stats())...)
		tm := d.Timing()
		d.cfg.Log.Info("timing", "event_wait", tm.Wait.String(), "handle", tm.Handle.String(),
			"subflow_create", tm.Command.String(), "batch_round_trip", tm.RoundTrip.String())
	} else {
		d.cfg.Logf("stopped: %+v", d.Stats())
		d.cfg.Logf("timing: %s", d.Timing())
	}
	return runErr
}

func (d *Daemon) logc(c *conn, format string, a ...any) {
	if d.cfg.Log != nil {
		d.cfg.Log.Info(fmt.Sprintf(format, a...), "token", fmt.Sprintf("%08x", c.token))
		return
	}
	d.cfg.Logf("token=%08x "+format, append([]any{c.token}, a...)...)
}

func (d *Daemon) handle(ev pm.Event) {
	d.count(func(s *Stats) { s.Events++ })
	if d.cfg.OnEvent != nil {
		d.cfg.OnEvent(ev)
	}
	d.cfg.Logf("event %s", ev)
	c := d.conns[ev.Token]
	switch ev.Type {
	case pm.EventCreated, pm.EventEstablished:
		if c == nil {
			c = d.newConn(ev.Token)
		}
		c.identify(ev.Local(), ev.Remote(), ev.ServerSide, ev.Family)
		if ev.Type == pm.EventEstablished && c.rule == nil {
			c.est = ev.Time
			d.apply(c, nil)
		}
	case pm.EventClosed:
		if c != nil {
			c.closed = true
			delete(d.conns, ev.Token)
			d.count(func(s *Stats) { s.Open-- })
		}
	case pm.EventAnnounced:
		if c == nil {
			return
		}
		ap := ev.Remote()
		if ap.Port() == 0 {
			ap = netip.AddrPortFrom(ap.Addr(), c.remote.Port())
		}
		c.remotes[ev.RemID] = ap
		if c.rule != nil && c.rule.Kind == Fullmesh {
			d.meshWants(c)
			d.fill(c)
		}
	case pm.EventRemoved:
		if c == nil {
			return
		}
		delete(c.remotes, ev.RemID)
		kept := c.wants[:0]
		for _, w := range c.wants {
			if w.remID == ev.RemID && ev.RemID != 0 {
				w.gen++
				d.logc(c, "remote id %d removed: dropping subflow %s -> %s", ev.RemID, w.local, w.remote)
				continue
			}
			kept = append(kept, w)
		}
		c.wants = kept
	case pm.EventSubEstablished:
		if c == nil {
			return
		}
		if w := c.match(ev, true); w != nil {
			w.state, w.cur, w.fails, w.wasUp = up, ev.Local(), 0, true
			w.gen++
			d.count(func(s *Stats) { s.SubflowsUp++ })
			d.logc(c, "subflow up %s -> %s (%s)", ev.Local(), ev.Remote(), c.rule.Kind)
		}
	case pm.EventSubClosed:
		if c == nil || c.closed {
			return
		}
		if w := c.match(ev, false); w != nil {
			w.state = idle
			w.cur = netip.AddrPort{}
			w.gen++
			d.logc(c, "subflow closed %s -> %s (error=%d): re-creating", ev.Local(), ev.Remote(), ev.Error)
			d.retryLater(c, w)
		}
	}
}

// newConn is a connection the daemon learns of (an event, or a resynchronisation).
func (d *Daemon) newConn(token uint32) *conn {
	c := &conn{token: token, remotes: map[uint8]netip.AddrPort{}, ids: map[netip.AddrPort]uint8{}, nextID: 1}
	d.conns[token] = c
	d.count(func(s *Stats) { s.Connections++; s.Open++ })
	return c
}

// identify sets what the connection's initial subflow tells. Its family is the
// socket's (an IPv4 connection of an IPv6 socket comes as v4-mapped IPv6): on an IPv6
// socket the kernel takes subflows of either family, on an IPv4 one IPv4 only
// (mptcp_pm_addr_families_match).
func (c *conn) identify(local, remote netip.AddrPort, server bool, family uint16) {
	c.local, c.remote, c.server, c.dual = local, remote, server, family == unix.AF_INET6
	c.remotes[0] = c.remote
}

// match finds the want an SF_ESTABLISHED / SF_CLOSED event is about.
func (c *conn) match(ev pm.Event, establishing bool) *want {
	loc, rem := ev.Local(), ev.Remote()
	for _, w := range c.wants {
		if w.remote.Addr() != rem.Addr() || w.local != loc.Addr() {
			continue
		}
		if w.remote.Port() != 0 && w.remote.Port() != rem.Port() {
			continue
		}
		if w.cur.Port() != 0 && w.cur.Port() != loc.Port() {
			continue
		}
		if w.residue >= 0 && int(loc.Port())%w.n != w.residue {
			continue
		}
		if establishing && w.state != pending {
			continue
		}
		if !establishing && w.state != pending && w.state != up {
			continue
		}
		return w
	}
	return nil
}

// apply picks the connection's rule and sets up its wants; subflows the kernel has
// already (found by a resynchronisation) are taken as the wants they match.
func (d *Daemon) apply(c *conn, existing []pm.DiagSubflow) {
	for i := range d.cfg.Rules {
		if d.cfg.Rules[i].Matches(c.remote, c.local, c.server) {
			c.rule = &d.cfg.Rules[i]
			break
		}
	}
	side := "client"
	if c.server {
		side = "server"
	}
	if c.rule == nil {
		c.rule = &Rule{Kind: None, Text: "(no rule matched)"}
	}
	d.logc(c, "established %s -> %s %s side: policy %q", c.local, c.remote, side, c.rule.Text)
	switch c.rule.Kind {
	case Ndiffports:
		d.diffWants(c, c.rule.N)
		d.adopt(c, existing)
		d.fill(c)
	case Fullmesh:
		for _, s := range existing {
			if s.RemID != 0 {
				c.remotes[s.RemID] = s.Remote // announced by the peer, in an event lost
			}
		}
		d.meshWants(c)
		d.adopt(c, existing)
		d.fill(c)
	case Announce:
		if !c.server {
			d.logc(c, "announce applies to server-side connections only: nothing to do")
			return
		}
		for _, a := range c.rule.Announce {
			id := c.idFor(netip.AddrPortFrom(a, 0))
			err := d.cmd.Announce(c.token, pm.Addr{ID: id, IP: a})
			if err != nil {
				d.count(func(s *Stats) { s.CommandErrors++ })
				d.logc(c, "announce %s id %d: %v", a, id, err)
				continue
			}
			d.count(func(s *Stats) { s.Announced++ })
			d.logc(c, "announced %s id %d", a, id)
		}
	case Exec:
		d.runExec(c, side)
	}
}

func (c *conn) idFor(ap netip.AddrPort) uint8 {
	if id, ok := c.ids[ap]; ok {
		return id
	}
	if c.nextID > 255 {
		return 0
	}
	id := uint8(c.nextID)
	c.nextID++
	c.ids[ap] = id
	return id
}

// adopt takes established subflows of the kernel's as the wants they match (their
// SF_ESTABLISHED events were lost), and the local ids they use as used.
func (d *Daemon) adopt(c *conn, subs []pm.DiagSubflow) {
	for _, s := range subs {
		if s.LocalID != 0 {
			c.ids[s.Local] = s.LocalID
			c.nextID = max(c.nextID, int(s.LocalID)+1)
		}
		if !s.Established {
			continue
		}
		for _, w := range c.wants {
			if w.state == up || w.local != s.Local.Addr() || w.remote.Addr() != s.Remote.Addr() ||
				w.remote.Port() != 0 && w.remote.Port() != s.Remote.Port() ||
				w.residue >= 0 && int(s.Local.Port())%w.n != w.residue ||
				w.state == pending && w.cur.Port() != 0 && w.cur != s.Local {
				continue
			}
			w.state, w.cur, w.fails, w.wasUp = up, s.Local, 0, true
			w.gen++
			if !s.Initial {
				d.count(func(st *Stats) { st.Adopted++ })
				d.logc(c, "subflow up %s -> %s (found by resynchronisation)", s.Local, s.Remote)
			}
			break
		}
	}
}

// resync rebuilds the daemon's view from the kernel's after events were lost: the
// connections and subflows sock_diag lists. A connection no event showed established
// gets its rule applied, with its existing subflows taken as theirs; a known
// connection's pending subflows that are established are up, its up subflows that are
// gone are re-created, and a connection the kernel no longer has is closed. Events
// still queued after the dump are taken up as usual (and find their work done).
func (d *Daemon) resync() {
	d.resyncing.Store(false) // events lost from here on ask for another
	kcs, err := d.diag.Connections()
	if err != nil {
		d.cfg.Logf("resynchronisation: %v", err)
		return
	}
	d.count(func(s *Stats) { s.Resyncs++ })
	seen := map[uint32]bool{}
	found := 0
	for _, kc := range kcs {
		if !kc.Live() {
			continue // closed by the application, its subflows still closing
		}
		seen[kc.Token] = true
		init, ok := kc.Initial()
		c := d.conns[kc.Token]
		if c == nil || c.rule == nil {
			if !ok || !init.Established {
				continue // still opening: its events come, or the next resync finds it
			}
			if c == nil {
				c = d.newConn(kc.Token)
				d.count(func(s *Stats) { s.Adopted++ })
			}
			c.identify(init.Local, init.Remote, !init.Client, init.Family)
			c.est = time.Now()
			found++
			d.logc(c, "found by resynchronisation")
			d.apply(c, kc.Subflows)
			continue
		}
		d.adopt(c, kc.Subflows)
		for _, w := range c.wants {
			if w.state != up || slices.ContainsFunc(kc.Subflows, func(s pm.DiagSubflow) bool { return s.Local == w.cur && s.Remote.Addr() == w.remote.Addr() }) {
				continue
			}
			d.logc(c, "subflow %s -> %s is gone (found by resynchronisation): re-creating", w.cur, w.remote)
			w.state, w.cur = idle, netip.AddrPort{}
			w.gen++
			d.retryLater(c, w)
		}
	}
	closed := 0
	for tok, c := range d.conns {
		if !seen[tok] { // its CLOSED event was lost
			c.closed = true
			delete(d.conns, tok)
			d.count(func(s *Stats) { s.Open-- })
			closed++
		}
	}
	d.cfg.Logf("resynchronised: the kernel has %d MPTCP connections; %d found, %d closed meanwhile", len(kcs), found, closed)
}

// diffWants: n subflows over the connection's address pair, one per residue mod n;
// the initial subflow holds its own residue.
func (d *Daemon) diffWants(c *conn, n int) {
	first := int(c.local.Port()) % n
	for r := 0; r < n; r++ {
		w := &want{local: c.local.Addr(), residue: r, n: n, remote: c.remote}
		if r == first {
			w.state, w.cur, w.initial, w.wasUp = up, c.local, true, true
		}
		c.wants = append(c.wants, w)
	}
}

// meshWants adds a want for every local x remote pair not yet wanted.
func (d *Daemon) meshWants(c *conn) {
	locals := c.rule.Locals
	if len(locals) == 0 {
		for _, a := range d.addrs {
			ip := a.Prefix.Addr()
			if a.Scope == 0 && !ip.IsLoopback() && !ip.IsLinkLocalUnicast() && (ip.Is4() || c.dual) {
				locals = append(locals, ip)
			}
		}
	}
	type remote struct {
		ap netip.AddrPort
		id uint8
	}
	var remotes []remote
	for id, ap := range c.remotes {
		remotes = append(remotes, remote{ap, id})
	}
	for _, ap := range c.rule.Remotes {
		if ap.Port() == 0 {
			ap = netip.AddrPortFrom(ap.Addr(), c.remote.Port())
		}
		remotes = append(remotes, remote{ap, 0})
	}
	for _, l := range locals {
		for _, r := range remotes {
			if l.Is4() != r.ap.Addr().Unmap().Is4() || c.wanted(l, r.ap) {
				continue
			}
			w := &want{local: l, residue: -1, remote: r.ap, remID: r.id, backup: contains(c.rule.Backup, l)}
			if l == c.local.Addr() && r.ap == c.remote {
				w.state, w.cur, w.initial, w.wasUp = up, c.local, true, true
			}
			c.wants = append(c.wants, w)
		}
	}
}

func (c *conn) wanted(l netip.Addr, r netip.AddrPort) bool {
	for _, w := range c.wants {
		if w.local == l && w.remote == r {
			return true
		}
	}
	return false
}

func contains(list []netip.Addr, a netip.Addr) bool {
	for _, x := range list {
		if x == a {
			return true
		}
	}
	return false
}

// fill opens every idle want.
func (d *Daemon) fill(c *conn) {
	for _, w := range c.wants {
		if w.state == idle {
			d.create(c, w)
		}
	}
}

func (d *Daemon) create(c *conn, w *want) {
	if c.closed {
		return
	}
	local := pm.Addr{IP: w.local}
	if w.backup {
		local.Flags = pm.FlagBackup
	}
	if l, down := d.blocked(w); down {
		// wait for the link (linkUp re-creates it): a subflow from an address of a
		// down link might leave by another route and never hear back
		w.state, w.cur = waiting, netip.AddrPort{}
		w.gen++
		d.logc(c, "subflow %s -> %s waits for link %d to come up", w.local, w.remote, l)
		return
	}
	d.send(c, w, local, w.wasUp, 0)
}

// send hands a subflow-create to a command socket; the want is pending from now on
// (its subflow's SF_ESTABLISHED can come before the ack). The local port is always
// chosen here (ndiffports: in the residue class; else any), so that every subflow the
// daemon opens can be named to SUBFLOW_DESTROY; another is tried when one is taken.
func (d *Daemon) send(c *conn, w *want, local pm.Addr, recreate bool, try int) {
	n, residue := w.n, w.residue
	if residue < 0 {
		n, residue = 1, 0
	}
	local.Port = ResiduePort(n, residue, 32768, 60999, rand.Uint32())
	local.ID = c.idFor(netip.AddrPortFrom(local.IP, local.Port))
	w.gen++
	if local.ID == 0 {
		d.createFailed(c, w, local, errors.New("no local address id left on this connection (255 used)"))
		return
	}
	w.state, w.cur = pending, netip.AddrPortFrom(local.IP, local.Port)
	d.batch = append(d.batch, createReq{c: c, w: w, local: local, gen: w.gen, recreate: recreate, try: try})
}

// createReq is a subflow-create handed from the loop to a command socket.
type createReq struct {
	c        *conn
	w        *want
	local    pm.Addr
	gen, try int
	recreate bool
}

// maxBatch bounds the subflow-creates of one sendmsg: the kernel queues an ack per
// request on the command socket before the daemon reads any, and an ack that finds
// the receive buffer (208 KiB by default, about 1 KiB of it per ack) full is lost.
const maxBatch = 32

// flush hands the subflow-creates of the loop's last step to the command sockets, a
// batch (one sendmsg, mptcp.Conn.CreateSubflows) per maxBatch: the subflows of one
// event's connection go together, as the in-kernel PM opens them one after another
// from one worker. Sent one per socket they contended for the kernel's genl_mutex.
func (d *Daemon) flush() {
	handed := time.Now()
	for chunk := range slices.Chunk(d.batch, maxBatch) {
		reqs := slices.Clone(chunk) // d.batch's array is the next step's
		sfs := make([]pm.NewSubflow, len(reqs))
		for i, r := range reqs {
			sfs[i] = pm.NewSubflow{Token: r.c.token, Local: r.local, Remote: r.w.remote}
		}
		d.cmdq <- func(cmd *pm.Conn) {
			t0 := time.Now()
			errs, err := cmd.CreateSubflows(sfs)
			rtt := time.Since(t0)
			d.results.put(func() {
				d.timing.add(&d.timing.roundTrip, rtt)
				for i, r := range reqs {
					e := err
					if errs != nil {
						e = errs[i]
					}
					d.timing.add(&d.timing.command, time.Since(handed))
					d.created(r.c, r.w, r.local, r.gen, r.recreate, r.try, e)
				}
			})
		}
	}
	d.batch = d.batch[:0]
}

// created takes up a subflow-create's outcome in the loop.
func (d *Daemon) created(c *conn, w *want, local pm.Addr, gen int, recreate bool, try int, err error) {
	addr := netip.AddrPortFrom(local.IP, local.Port)
	current := w.gen == gen && !c.closed
	if err != nil && errors.Is(err, syscall.EADDRINUSE) && try < 7 && current {
		d.send(c, w, pm.Addr{IP: local.IP, Flags: local.Flags}, recreate, try+1)
		return
	}
	if err != nil {
		if !current {
			return // the want moved on meanwhile (a link went down, the connection closed)
		}
		d.createFailed(c, w, local, err)
		return
	}
	d.count(func(s *Stats) {
		s.SubflowsAsked++
		if recreate {
			s.Recreations++
		}
	})
	if !current && w.cur != addr && !c.closed {
		// the want moved on before the ack (a link went down): this subflow is no
		// one's, so it goes
		d.logc(c, "create subflow %s -> %s: no longer wanted, destroying it", addr, w.remote)
		d.cmd.DestroySubflow(c.token, addr, w.remote)
		return
	}
	d.logc(c, "create subflow %s -> %s id %d%s", addr, w.remote, local.ID, map[bool]string{true: " backup"}[w.backup])
	if w.state != pending || w.cur != addr {
		return // established already
	}
	gen = w.gen
	time.AfterFunc(d.cfg.PendingTimeout, func() {
		d.post(func() {
			if w.gen != gen || w.state != pending || c.closed {
				return
			}
			d.logc(c, "subflow %s -> %s not established after %v: retrying", w.cur, w.remote, d.cfg.PendingTimeout)
			d.cmd.DestroySubflow(c.token, w.cur, w.remote)
			w.state, w.cur = idle, netip.AddrPort{}
			d.retryLater(c, w)
		})
	})
}

func (d *Daemon) createFailed(c *conn, w *want, local pm.Addr, err error) {
	d.count(func(s *Stats) { s.CommandErrors++ })
	d.logc(c, "create subflow %s -> %s: %v", netip.AddrPortFrom(local.IP, local.Port), w.remote, err)
	w.state, w.cur = idle, netip.AddrPort{}
	w.gen++
	switch {
	case strings.Contains(err.Error(), "invalid token"):
		return // the connection is gone; its CLOSED event follows
	case strings.Contains(err.Error(), "families mismatch"):
		// an IPv6-only socket (IPV6_V6ONLY), which the events do not tell from a
		// dual-stack one: its IPv4 pairs are never possible
		d.logc(c, "the socket takes no subflow of this family: dropping %s -> %s", w.local, w.remote)
		c.wants = slices.DeleteFunc(c.wants, func(x *want) bool { return x == w })
		return
	}
	d.retryLater(c, w)
}

// retryLater schedules the want's re-creation with exponential backoff and jitter.
func (d *Daemon) retryLater(c *conn, w *want) {
	delay := d.cfg.BackoffMin << min(w.fails, 16)
	if delay > d.cfg.BackoffMax || delay <= 0 {
		delay = d.cfg.BackoffMax
	}
	delay = delay * time.Duration(80+rand.IntN(41)) / 100
	w.fails++
	w.state = waiting
	w.gen++
	gen := w.gen
	time.AfterFunc(delay, func() {
		d.post(func() {
			if w.gen == gen && w.state == waiting && !c.closed {
				d.create(c, w)
			}
		})
	})
}

// netChange reacts to links going down or up and to address changes.
func (d *Daemon) netChange(us []rtnl.Update) {
	for _, u := range us {
		switch {
		case u.Addr != nil:
			d.addrs, _ = d.rt.Addrs()
		case u.Link != nil:
			l := u.Link
			was, known := d.running[l.Index]
			now := l.Running && !u.Deleted
			d.running[l.Index] = now
			if known && was && !now {
				d.linkDown(l)
			} else if (!known || !was) && now {
				d.linkUp(l)
			}
		}
	}
}

// blocked reports a link that is down and that the want's subflow would use.
func (d *Daemon) blocked(w *want) (int, bool) {
	for idx, running := range d.running {
		if !running && d.onLink(idx, w.local, w.remote.Addr()) {
			return idx, true
		}
	}
	return 0, false
}

// onLink tells whether a subflow from local to remote uses the link: its local address
// is on it, or the remote is in one of the link's connected prefixes.
func (d *Daemon) onLink(ifindex int, local, remote netip.Addr) bool {
	for _, a := range d.addrs {
		if a.Ifindex != ifindex {
			continue
		}
		if a.Prefix.Addr() == local || a.Prefix.Masked().Contains(remote) {
			return true
		}
	}
	return false
}

func (d *Daemon) linkDown(l *rtnl.Link) {
	for _, c := range d.conns {
		for _, w := range c.wants {
			if (w.state != up && w.state != pending) || !d.onLink(l.Index, w.local, w.remote.Addr()) {
				continue
			}
			if w.cur.Port() != 0 {
				if err := d.cmd.DestroySubflow(c.token, w.cur, w.remote); err != nil {
					d.logc(c, "link %s down: destroy subflow %s -> %s: %v", l.Name, w.cur, w.remote, err)
				} else {
					d.count(func(s *Stats) { s.Destroyed++ })
					d.logc(c, "link %s down: destroyed subflow %s -> %s", l.Name, w.cur, w.remote)
				}
			}
			w.state, w.cur = waiting, netip.AddrPort{}
			w.fails = 0
			w.gen++ // linkUp re-creates it
		}
	}
}

func (d *Daemon) linkUp(l *rtnl.Link) {
	for _, c := range d.conns {
		for _, w := range c.wants {
			if w.state == waiting && d.onLink(l.Index, w.local, w.remote.Addr()) {
				d.logc(c, "link %s up: re-creating subflow %s -> %s now", l.Name, w.local, w.remote)
				w.gen++
				d.create(c, w)
			}
		}
	}
}

// runExec asks the rule's command how many subflows the connection should have.
func (d *Daemon) runExec(c *conn, side string) {
	d.count(func(s *Stats) { s.ExecRuns++ })
	argv := c.rule.Command
	env := append(os.Environ(),
		fmt.Sprintf("NLKIT_MPTCP_TOKEN=%08x", c.token),
		"NLKIT_MPTCP_SADDR="+c.local.Addr().String(), fmt.Sprintf("NLKIT_MPTCP_SPORT=%d", c.local.Port()),
		"NLKIT_MPTCP_DADDR="+c.remote.Addr().String(), fmt.Sprintf("NLKIT_MPTCP_DPORT=%d", c.remote.Port()),
		"NLKIT_MPTCP_SIDE="+side)
	timeout := d.cfg.ExecTimeout
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Env = env
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		n := 0
		if err == nil {
			line, _, _ := bufio.NewReader(bytes.NewReader(out)).ReadLine()
			n, err = strconv.Atoi(strings.TrimSpace(string(line)))
			if err != nil || n < 0 || n > MaxSubflows {
				err = fmt.Errorf("answered %q, want a number of subflows from 0 to %d", strings.TrimSpace(string(line)), MaxSubflows)
			}
		} else if ctx.Err() != nil {
			err = fmt.Errorf("timed out after %v", timeout)
		} else if stderr.Len() > 0 {
			err = fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))
		}
		d.post(func() {
			if err != nil {
				d.count(func(s *Stats) { s.ExecErrors++ })
				d.logc(c, "exec %s: %v: leaving the connection alone", argv[0], err)
				return
			}
			d.logc(c, "exec %s answered %d subflows", argv[0], n)
			if n > 1 && !c.closed {
				d.diffWants(c, n)
				d.fill(c)
			}
		})
	}()
}

// post hands f to the event loop, or drops it once the loop has stopped.
func (d *Daemon) post(f func()) {
	select {
	case d.work <- f:
	case <-d.stopped:
	}
}

// doneQueue brings command outcomes back to the event loop: unbounded, so a command
// socket never waits for the loop (which may itself wait to hand over a command).
type doneQueue struct {
	mu    sync.Mutex
	fs    []func()
	ready chan struct{} // capacity 1: something to take
}

func (q *doneQueue) put(f func()) {
	q.mu.Lock()
	q.fs = append(q.fs, f)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

func (q *doneQueue) take() []func() {
	q.mu.Lock()
	defer q.mu.Unlock()
	fs := q.fs
	q.fs = nil
	return fs
}
