// Package rkd is the userspace side of ratekeeper: the tenant datapath (Tenant*), the
// authenticated feedback protocol (feedback.go) and the distributed control daemon
// (daemon.go) that `nlkit ratekeeper daemon` runs.
package rkd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mdlayher/netlink"

	rk "github.com/nlkit/nlkit/netlinkproto/ratekeeper"
	"github.com/nlkit/nlkit/netlinkproto/rtnl"
	"github.com/nlkit/nlkit/tools/daemonlog"
	"github.com/nlkit/nlkit/tools/units"
	"github.com/nlkit/nlkit/tools/yamlfile"
)

// Peer routes feedback about senders in Prefix to the daemon at Addr.
type Peer struct {
	Prefix netip.Prefix
	Addr   netip.AddrPort
}

// Local says that senders in Prefix are the local tenant behind VNIC (their
// transmitted traffic is shaped on its IFB).
type Local struct {
	Prefix netip.Prefix
	VNIC   string
}

// DaemonConfig configures `nlkit ratekeeper daemon`.
type DaemonConfig struct {
	Listen   netip.AddrPort // UDP address for feedback (default [::]:34953)
	Key      []byte         // shared HMAC key (required)
	Peers    []Peer
	Locals   []Local
	Decrease float64       // multiplicative cut per feedback round (default 0.05)
	Round    time.Duration // at most one cut per tenant per round (default 100ms)
	Recover  time.Duration // additive recovery period (default 500ms)
	Step     uint64        // recovery step in bytes/s before dividing by severity (default max/20)
	MinShare float64       // senders below this share of the receiver's rate get no feedback (default 0.1)
	Window   time.Duration // accepted clock skew of feedback (default 30s)
	NetNS    int           // network namespace fd for netlink (0: the caller's)
	Log      *slog.Logger  // records (default: text on stderr, daemonlog)
}

// Stats are the daemon's counters.
type Stats struct {
	Events      uint64 `json:"events"`       // congestion events received from the kernel
	Sent        uint64 `json:"sent"`         // feedback messages sent
	Unroutable  uint64 `json:"unroutable"`   // offending senders with no peer
	Received    uint64 `json:"received"`     // authentic, fresh feedback received
	Forged      uint64 `json:"forged"`       // bad HMAC or malformed
	Replayed    uint64 `json:"replayed"`     // stale or replayed
	UnknownDest uint64 `json:"unknown_dest"` // feedback about no local tenant
	Cuts        uint64 `json:"cuts"`         // multiplicative decreases applied
	Coalesced   uint64 `json:"coalesced"`    // feedback within a round already cut
	Recoveries  uint64 `json:"recoveries"`   // additive increases applied
	Errors      uint64 `json:"errors"`
}

// StatsHelp describes each counter of Stats, by json name (the Prometheus metrics'
// help).
var StatsHelp = map[string]string{
	"events": "congestion events received from the kernel", "sent": "feedback messages sent",
	"unroutable": "offending senders with no peer to send feedback to", "received": "authentic, fresh feedback received",
	"forged": "feedback with a bad HMAC or malformed", "replayed": "stale or replayed feedback",
	"unknown_dest": "feedback about no local tenant", "cuts": "multiplicative rate decreases applied",
	"coalesced": "feedback within a round already cut", "recoveries": "additive rate increases applied",
	"errors": "errors (netlink, sockets)",
}

// tenantState is the sender-side control state of one local tenant.
type tenantState struct {
	vnic, ifb      string
	ifindex        uint32 // the IFB's
	min, max, rate uint64
	startRate      uint64
	severity       uint16
	lastCut        time.Time
	touched        bool
}

// Daemon is a running ratekeeper control daemon.
type Daemon struct {
	cfg   DaemonConfig
	mon   *rk.Monitor
	cl    *rk.Client
	rt    *rtnl.Conn
	udp   *net.UDPConn
	guard Guard
	seq   Sequencer
	log   *slog.Logger

	mu      sync.Mutex
	stats   Stats
	tenants map[string]*tenantState // by vNIC
}

// NewDaemon opens every socket the daemon uses (in the calling thread's network
// namespace for UDP; cfg.NetNS for netlink), so the caller can pick the namespace.
func NewDaemon(cfg DaemonConfig) (*Daemon, error) {
	cfg, err := withDefaults(cfg)
	if err != nil {
		return nil, err
	}
	d := &Daemon{cfg: cfg, log: cfg.Log, guard: Guard{Window: cfg.Window}, tenants: map[string]*tenantState{}}
	nc := &netlink.Config{NetNS: cfg.NetNS}
	if d.cl, err = rk.DialConfig(nc); err != nil {
		return nil, err
	}
	if d.mon, err = rk.WatchConfig(&netlink.Config{NetNS: cfg.NetNS}); err != nil {
		d.Close()
		return nil, err
	}
	if d.rt, err = rtnl.Dial(cfg.NetNS); err != nil {
		d.Close()
		return nil, err
	}
	if d.udp, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(cfg.Listen)); err != nil {
		d.Close()
		return nil, fmt.Errorf("ratekeeper daemon: listen %v: %w", cfg.Listen, err)
	}
	return d, nil
}

// withDefaults checks cfg and fills in the defaults.
func withDefaults(cfg DaemonConfig) (DaemonConfig, error) {
	if len(cfg.Key) == 0 {
		return cfg, errors.New("ratekeeper daemon: a shared key is required (--key-file)")
	}
	if !cfg.Listen.IsValid() {
		cfg.Listen = netip.AddrPortFrom(netip.IPv6Unspecified(), DefaultPort)
	}
	if cfg.Decrease == 0 {
		cfg.Decrease = 0.05
	}
	if cfg.Decrease <= 0 || cfg.Decrease >= 1 {
		return cfg, fmt.Errorf("ratekeeper daemon: decrease %v must be between 0 and 1", cfg.Decrease)
	}
	if cfg.Round == 0 {
		cfg.Round = 100 * time.Millisecond
	}
	if cfg.Recover == 0 {
		cfg.Recover = 500 * time.Millisecond
	}
	if cfg.MinShare == 0 {
		cfg.MinShare = 0.1
	}
	if cfg.Window == 0 {
		cfg.Window = 30 * time.Second
	}
	if cfg.Round < 0 || cfg.Recover < 0 || cfg.Window < 0 || cfg.MinShare < 0 || cfg.MinShare > 1 {
		return cfg, fmt.Errorf("ratekeeper daemon: round %v, recover %v and window %v must be positive, min-share %v between 0 and 1",
			cfg.Round, cfg.Recover, cfg.Window, cfg.MinShare)
	}
	if cfg.Log == nil {
		cfg.Log, _ = daemonlog.New(os.Stderr, "text")
	}
	return cfg, nil
}

// Close releases the sockets (Run closes them itself when it returns).
func (d *Daemon) Close() {
	if d.mon != nil {
		d.mon.Close()
	}
	if d.cl != nil {
		d.cl.Close()
	}
	if d.rt != nil {
		d.rt.Close()
	}
	if d.udp != nil {
		d.udp.Close()
	}
}

// conf is the configuration now (Reload may change it).
func (d *Daemon) conf() DaemonConfig {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cfg
}

// Reload applies a new configuration to the running daemon (SIGHUP): peers, local
// prefixes, the key (feedback sealed with the old one is then forged), and the control
// parameters. The sockets stay: a new listen address or netns is ignored, with a
// warning (it needs a restart). An invalid cfg changes nothing.
func (d *Daemon) Reload(cfg DaemonConfig) error {
	cfg.Log = d.log // (withDefaults would make one, for nothing)
	cfg, err := withDefaults(cfg)
	if err != nil {
		return err
	}
	d.mu.Lock()
	old := d.cfg
	if cfg.Listen != old.Listen {
		d.log.Warn("reload: a new listen address needs a restart", "listening", old.Listen.String(), "configured", cfg.Listen.String())
	}
	cfg.Listen, cfg.NetNS = old.Listen, old.NetNS
	d.cfg = cfg
	d.mu.Unlock()
	d.log.Info("configuration reloaded", "peers", len(cfg.Peers), "local_prefixes", len(cfg.Locals),
		"key_changed", string(cfg.Key) != string(old.Key), "decrease", cfg.Decrease, "round", cfg.Round.String(),
		"recover", cfg.Recover.String())
	return nil
}

// Stats returns a copy of the counters.
func (d *Daemon) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stats
}

// Run serves until ctx ends; then it puts back the rates of the tenants it cut (to
// where they were when it first touched them) and touches nothing else.
func (d *Daemon) Run(ctx context.Context) error {
	c := d.conf()
	d.log.Info("listening", "udp", d.udp.LocalAddr().String(), "peers", len(c.Peers), "local_prefixes", len(c.Locals))
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); d.events(ctx) }()
	go func() { defer wg.Done(); d.receive(ctx) }()
	go func() { defer wg.Done(); d.recover(ctx) }()
	<-ctx.Done()
	d.mon.Close()
	d.udp.Close()
	wg.Wait()
	d.restore()
	s := d.Stats()
	d.log.Info("stopped", daemonlog.Counters(s)...)
	d.cl.Close()
	d.rt.Close()
	return nil
}

func (d *Daemon) count(f func(*Stats)) {
	d.mu.Lock()
	f(&d.stats)
	d.mu.Unlock()
}

// events turns the kernel's congestion events into feedback to the senders' hosts.
func (d *Daemon) events(ctx context.Context) {
	for ctx.Err() == nil {
		ev, err := d.mon.Next(0)
		if err != nil {
			if ctx.Err() == nil {
				d.log.Error("congestion events", "err", err)
				d.count(func(s *Stats) { s.Errors++ })
				time.Sleep(100 * time.Millisecond)
			}
			continue
		}
		d.count(func(s *Stats) { s.Events++ })
		c := d.conf()
		for _, snd := range ev.Senders {
			if !snd.Addr.IsValid() || float64(snd.Rate) < c.MinShare*float64(ev.Measured) {
				continue
			}
			peer, ok := peerFor(c.Peers, snd.Addr)
			if !ok {
				d.count(func(s *Stats) { s.Unroutable++ })
				continue
			}
			sev := ev.Severity
			if sev > 0xffff {
				sev = 0xffff
			}
			f := Feedback{Severity: uint16(sev), Seq: d.seq.Next(), Sender: snd.Addr, Ifindex: ev.Ifindex,
				Thput: ev.Measured, Min: ev.Config.MinRate}
			if _, err := d.udp.WriteToUDPAddrPort(f.Seal(c.Key), peer); err != nil {
				d.log.Error("feedback not sent", "peer", peer.String(), "err", err)
				d.count(func(s *Stats) { s.Errors++ })
				continue
			}
			d.count(func(s *Stats) { s.Sent++ })
			d.log.Info("congestion: feedback sent", "dev", ifDesc(ev.Ifindex, ev.Ifname), "measured", units.FormatRate(ev.Measured),
				"guarantee", units.FormatRate(ev.Config.MinRate), "link", units.FormatRate(ev.LinkLoad), "severity", ev.Severity,
				"sender", snd.Addr.String(), "sender_rate", units.FormatRate(snd.Rate), "peer", peer.String())
		}
	}
}

func peerFor(peers []Peer, a netip.Addr) (netip.AddrPort, bool) {
	best := -1
	var out netip.AddrPort
	for _, p := range peers {
		if p.Prefix.Contains(a) && p.Prefix.Bits() > best {
			best, out = p.Prefix.Bits(), p.Addr
		}
	}
	return out, best >= 0
}

func localFor(locals []Local, a netip.Addr) (string, bool) {
	best := -1
	var out string
	for _, l := range locals {
		if l.Prefix.Contains(a) && l.Prefix.Bits() > best {
			best, out = l.Prefix.Bits(), l.VNIC
		}
	}
	return out, best >= 0
}

// receive applies authentic, fresh feedback to the named local tenant.
func (d *Daemon) receive(ctx context.Context) {
	buf := make([]byte, 2048)
	for ctx.Err() == nil {
		n, from, err := d.udp.ReadFromUDPAddrPort(buf)
		if err != nil {
			if ctx.Err() == nil {
				d.count(func(s *Stats) { s.Errors++ })
			}
			continue
		}
		c := d.conf()
		f, err := Open(buf[:n], c.Key)
		if err != nil {
			d.count(func(s *Stats) { s.Forged++ })
			d.log.Warn("feedback dropped: forged", "from", from.String(), "err", err)
			continue
		}
		d.guard.Window = c.Window // the guard is this goroutine's alone
		if err := d.guard.Check(from.Addr().Unmap(), f, time.Now()); err != nil {
			d.count(func(s *Stats) { s.Replayed++ })
			d.log.Warn("feedback dropped: stale or replayed", "from", from.String(), "err", err)
			continue
		}
		d.count(func(s *Stats) { s.Received++ })
		vnic, ok := localFor(c.Locals, f.Sender)
		if !ok {
			d.count(func(s *Stats) { s.UnknownDest++ })
			d.log.Warn("feedback about no local tenant", "from", from.String(), "sender", f.Sender.String())
			continue
		}
		d.cut(vnic, f.Severity, time.Now())
	}
}

// tenant loads a local tenant's state from the kernel (its IFB qdisc) once.
func (d *Daemon) tenant(vnic string) (*tenantState, error) {
	if t, ok := d.tenants[vnic]; ok {
		return t, nil
	}
	ts, err := Tenants(d.rt)
	if err != nil {
		return nil, err
	}
	for _, t := range ts {
		if t.VNIC != vnic {
			continue
		}
		l, err := d.rt.LinkByName(t.IFB)
		if err != nil {
			return nil, err
		}
		q, err := d.cl.Qdisc(uint32(l.Index), 0)
		if err != nil {
			return nil, err
		}
		st := &tenantState{vnic: vnic, ifb: t.IFB, ifindex: uint32(l.Index), min: q.Config.MinRate,
			max: q.Config.MaxRate, rate: q.Config.Rate, startRate: q.Config.Rate, severity: 1}
		d.tenants[vnic] = st
		return st, nil
	}
	return nil, fmt.Errorf("%s is not a ratekeeper tenant on this host", vnic)
}

// cut applies one multiplicative decrease per round.
func (d *Daemon) cut(vnic string, severity uint16, now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	t, err := d.tenant(vnic)
	if err != nil {
		d.stats.Errors++
		d.log.Error("feedback not applied", "vnic", vnic, "err", err)
		return
	}
	if severity > 0 {
		t.severity = severity
	}
	if !t.lastCut.IsZero() && now.Sub(t.lastCut) < d.cfg.Round {
		d.stats.Coalesced++
		return
	}
	nr := Decrease(t.rate, t.min, d.cfg.Decrease)
	t.lastCut = now
	if nr == t.rate {
		return
	}
	if err := d.cl.SetRate(t.ifindex, 0, nr); err != nil {
		d.stats.Errors++
		d.log.Error("cut failed", "vnic", vnic, "err", err)
		return
	}
	d.log.Info("tenant cut", "vnic", vnic, "severity", severity, "from", units.FormatRate(t.rate), "to", units.FormatRate(nr))
	t.rate, t.touched = nr, true
	d.stats.Cuts++
}

// Decrease is the multiplicative cut, never below min.
func Decrease(rate, min uint64, frac float64) uint64 {
	nr := uint64(float64(rate) * (1 - frac))
	if nr < min {
		nr = min
	}
	return nr
}

// Increase is the additive recovery: step divided by the severity, never above max.
func Increase(rate, max, step uint64, severity uint16) uint64 {
	if severity == 0 {
		severity = 1
	}
	nr := rate + step/uint64(severity)
	if nr > max || nr < rate {
		nr = max
	}
	return nr
}

func (d *Daemon) recover(ctx context.Context) {
	period := d.conf().Recover
	tk := time.NewTicker(period)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tk.C:
			d.mu.Lock()
			if d.cfg.Recover != period { // reloaded
				period = d.cfg.Recover
				tk.Reset(period)
			}
			for _, t := range d.tenants {
				if t.rate >= t.max || now.Sub(t.lastCut) < d.cfg.Recover {
					continue
				}
				step := d.cfg.Step
				if step == 0 {
					step = t.max / 20
				}
				nr := Increase(t.rate, t.max, step, t.severity)
				if err := d.cl.SetRate(t.ifindex, 0, nr); err != nil {
					d.stats.Errors++
					continue
				}
				t.rate = nr
				d.stats.Recoveries++
			}
			d.mu.Unlock()
		}
	}
}

// restore puts the rates the daemon moved back where it found them.
func (d *Daemon) restore() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, t := range d.tenants {
		if !t.touched || t.rate == t.startRate {
			continue
		}
		if err := d.cl.SetRate(t.ifindex, 0, t.startRate); err != nil {
			d.log.Error("restore failed", "vnic", t.vnic, "err", err)
			continue
		}
		d.log.Info("tenant restored", "vnic", t.vnic, "rate", units.FormatRate(t.startRate))
	}
}

// fileConfig is the config file's shape (YAML):
//
//	listen: "[::]:34953"
//	key-file: /etc/nlkit/ratekeeper.key
//	peers:   {"10.0.2.0/24": "192.0.2.2:34953"}
//	locals:  {"10.0.1.2/32": vnic1}
//	decrease: 0.05
//	round: 100ms
//	recover: 500ms
//	step: 1mbit
type fileConfig struct {
	Listen   string            `yaml:"listen"`
	KeyFile  string            `yaml:"key-file"`
	Peers    map[string]string `yaml:"peers"`
	Locals   map[string]string `yaml:"locals"`
	Decrease float64           `yaml:"decrease"`
	Round    string            `yaml:"round"`
	Recover  string            `yaml:"recover"`
	Step     string            `yaml:"step"`
	MinShare float64           `yaml:"min-share"`
	Window   string            `yaml:"window"`
}

// DefaultConfigPath is where `nlkit ratekeeper daemon` and its systemd unit look for
// the daemon's configuration.
const DefaultConfigPath = "/etc/nlkit/ratekeeper.yaml"

// LoadDaemonConfig reads a YAML config file into cfg (flags given later override).
func LoadDaemonConfig(path string, cfg *DaemonConfig) error {
	var fc fileConfig
	if err := yamlfile.Decode(path, &fc); err != nil {
		return err
	}
	var err error
	if fc.Listen != "" {
		if cfg.Listen, err = ParseListen(fc.Listen); err != nil {
			return fmt.Errorf("%s: listen: %w", path, err)
		}
	}
	if fc.KeyFile != "" {
		if cfg.Key, err = ReadKey(fc.KeyFile); err != nil {
			return err
		}
	}
	for p, a := range fc.Peers {
		peer, err := ParsePeer(p + "=" + a)
		if err != nil {
			return fmt.Errorf("%s: peers: %w", path, err)
		}
		cfg.Peers = append(cfg.Peers, peer)
	}
	for p, v := range fc.Locals {
		l, err := ParseLocal(p + "=" + v)
		if err != nil {
			return fmt.Errorf("%s: locals: %w", path, err)
		}
		cfg.Locals = append(cfg.Locals, l)
	}
	cfg.Decrease, cfg.MinShare = fc.Decrease, fc.MinShare
	for _, x := range []struct {
		s string
		d *time.Duration
	}{{fc.Round, &cfg.Round}, {fc.Recover, &cfg.Recover}, {fc.Window, &cfg.Window}} {
		if x.s != "" {
			if *x.d, err = time.ParseDuration(x.s); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
		}
	}
	if fc.Step != "" {
		if cfg.Step, err = units.ParseRate(fc.Step); err != nil {
			return fmt.Errorf("%s: step: %w", path, err)
		}
	}
	return nil
}

// ReadKey reads a shared key file (at least 16 bytes; surrounding space trimmed).
func ReadKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k := []byte(strings.TrimSpace(string(b)))
	if len(k) < 16 {
		return nil, fmt.Errorf("%s: the key must be at least 16 bytes", path)
	}
	return k, nil
}

// ParseListen parses "ADDR:PORT", ":PORT" or "PORT".
func ParseListen(s string) (netip.AddrPort, error) {
	if p, err := strconv.ParseUint(strings.TrimPrefix(s, ":"), 10, 16); err == nil {
		return netip.AddrPortFrom(netip.IPv6Unspecified(), uint16(p)), nil
	}
	return netip.ParseAddrPort(s)
}

// ParsePeer parses "PREFIX=HOST[:PORT]".
func ParsePeer(s string) (Peer, error) {
	p, a, ok := strings.Cut(s, "=")
	if !ok {
		return Peer{}, fmt.Errorf("peer %q: want PREFIX=HOST[:PORT]", s)
	}
	pfx, err := parsePrefix(p)
	if err != nil {
		return Peer{}, err
	}
	ap, err := netip.ParseAddrPort(a)
	if err != nil {
		ad, err2 := netip.ParseAddr(strings.Trim(a, "[]"))
		if err2 != nil {
			return Peer{}, fmt.Errorf("peer %q: %q is not an address", s, a)
		}
		ap = netip.AddrPortFrom(ad, DefaultPort)
	}
	return Peer{Prefix: pfx, Addr: ap}, nil
}

// ParseLocal parses "PREFIX=VNIC".
func ParseLocal(s string) (Local, error) {
	p, v, ok := strings.Cut(s, "=")
	if !ok || v == "" {
		return Local{}, fmt.Errorf("local %q: want PREFIX=VNIC", s)
	}
	pfx, err := parsePrefix(p)
	if err != nil {
		return Local{}, err
	}
	return Local{Prefix: pfx, VNIC: v}, nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not an address or prefix", s)
		}
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not a prefix", s)
	}
	return p.Masked(), nil
}

// ifDesc names a device of an event: events carry its ifindex only (the kernel prepares
// them where it cannot read a name safely); the name is looked up here.
func ifDesc(ifindex uint32, name string) string {
	if name != "" {
		return name
	}
	if ifi, err := net.InterfaceByIndex(int(ifindex)); err == nil {
		return ifi.Name
	}
	return fmt.Sprintf("ifindex %d", ifindex)
}
