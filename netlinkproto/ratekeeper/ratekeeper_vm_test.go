//go:build vmtest

package ratekeeper_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	rk "github.com/nlkit/nlkit/netlinkproto/ratekeeper"
	"github.com/nlkit/nlkit/netlinkproto/rtnl"
	"github.com/nlkit/nlkit/tests/vm/vmtest"
	"github.com/nlkit/nlkit/tools/rkd"
)

const mbit = 1000 * 1000 / 8 // bytes/s

// pair makes two namespaces a (10.9.0.1) and b (10.9.0.2) joined by veth a0-b0.
func pair(t *testing.T, a, b string) *vmtest.Topo {
	return vmtest.NewVeths(t, vmtest.Veth{A: a, DevA: "a0", AddrA: "10.9.0.1/24", B: b, DevB: "b0", AddrB: "10.9.0.2/24"})
}

func dialNS(t *testing.T, tp *vmtest.Topo, ns string) (*rtnl.Conn, *rk.Client) {
	t.Helper()
	rc, err := rtnl.Dial(tp.FD(ns))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rc.Close() })
	c, err := rk.DialConfig(&netlink.Config{NetNS: tp.FD(ns)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return rc, c
}

func opts(t *testing.T, c rk.Options) []byte {
	b, err := rk.EncodeOptions(c)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Every rejected option carries an extack message and leaves the device as it was.
func TestQdiscRejectsBadOptions(t *testing.T) {
	vmtest.Require(t)
	tp := pair(t, "rka", "rkb")
	rc, _ := dialNS(t, tp, "rka")
	l, err := rc.LinkByName("a0")
	if err != nil {
		t.Fatal(err)
	}
	good := rk.Options{Rate: new(uint64(50 * mbit)), MinRate: new(uint64(10 * mbit)), MaxRate: new(uint64(100 * mbit))}
	if err := rc.AddQdisc(l.Index, 0, rtnl.HandleRoot, "ratekeeper", opts(t, good), rtnl.Replace); err != nil {
		t.Fatal(err)
	}
	unknown := append(opts(t, good), 8, 0, 99, 0, 1, 2, 3, 4) // attribute type 99
	cases := []struct {
		name string
		opt  []byte
		want string
	}{
		{"rate 0", opts(t, rk.Options{Rate: new(uint64(0))}), "rate must be greater than 0"},
		{"min > max", opts(t, rk.Options{Rate: new(uint64(5 * mbit)), MinRate: new(uint64(20 * mbit)), MaxRate: new(uint64(10 * mbit))}), "min-rate exceeds max-rate"},
		{"rate outside", opts(t, rk.Options{Rate: new(uint64(50 * mbit)), MinRate: new(uint64(1 * mbit)), MaxRate: new(uint64(10 * mbit))}), "rate must lie between"},
		{"unknown attribute", unknown, ""},
		{"highmark 101", opts(t, rk.Options{Rate: new(uint64(mbit)), HighMark: new(uint32(101))}), ""},
		{"interval 1us", opts(t, rk.Options{Rate: new(uint64(mbit)), Interval: new(time.Microsecond)}), ""},
		{"linkrate below guarantee", opts(t, rk.Options{Rate: new(uint64(10 * mbit)), MinRate: new(uint64(10 * mbit)), LinkRate: new(uint64(mbit))}), "linkrate"},
	}
	for _, how := range []rtnl.QdiscFlags{rtnl.Replace, rtnl.Change} {
		for _, tc := range cases {
			err := rc.AddQdisc(l.Index, 0, rtnl.HandleRoot, "ratekeeper", tc.opt, how)
			var re *rtnl.Error
			if !errors.As(err, &re) || re.Message == "" || !strings.Contains(re.Message, tc.want) {
				t.Errorf("%s (flags %d): err = %v; want an extack message containing %q", tc.name, how, err, tc.want)
			}
		}
	}
	// a new qdisc needs options (with none, a replace of an existing one is a no-op)
	rb, _ := dialNS(t, tp, "rkb")
	lb, _ := rb.LinkByName("b0")
	err = rb.AddQdisc(lb.Index, 0, rtnl.HandleRoot, "ratekeeper", nil, rtnl.Create)
	var re *rtnl.Error
	if !errors.As(err, &re) || !strings.Contains(re.Message, "needs options") {
		t.Errorf("no options: %v", err)
	}
	q, ok, err := rc.RootQdisc(l.Index)
	if err != nil || !ok || q.Kind != "ratekeeper" {
		t.Fatalf("root qdisc after rejections: %+v %v %v", q, ok, err)
	}
	got, err := rk.DecodeOptions(q.Options)
	if err != nil || got.Rate != *good.Rate || got.MinRate != *good.MinRate || got.MaxRate != *good.MaxRate {
		t.Fatalf("configuration changed by rejected requests: %+v (%v)", got, err)
	}
}

// get/dump/set-rate over the genl family, per netns, with extack errors.
func TestGenlGetDumpSetRate(t *testing.T) {
	vmtest.Require(t)
	tp := pair(t, "rkc", "rkd")
	rc, c := dialNS(t, tp, "rkc")
	l, _ := rc.LinkByName("a0")
	cfg := rk.Options{Rate: new(uint64(50 * mbit)), MinRate: new(uint64(10 * mbit)), MaxRate: new(uint64(100 * mbit)),
		LinkRate: new(uint64(200 * mbit)), HighMark: new(uint32(80)), Group: new(uint32(3)),
		Interval: new(5 * time.Millisecond), EventGap: new(250 * time.Millisecond)}
	if err := rc.AddQdisc(l.Index, 0x10000, rtnl.HandleRoot, "ratekeeper", opts(t, cfg), rtnl.Create); err != nil {
		t.Fatal(err)
	}
	qs, err := c.Qdiscs()
	if err != nil || len(qs) != 1 {
		t.Fatalf("dump: %v %v", qs, err)
	}
	q := qs[0]
	if q.Ifname != "a0" || q.Handle != 0x10000 || q.Parent != rtnl.HandleRoot || q.Config.Rate != *cfg.Rate ||
		q.Config.MinRate != *cfg.MinRate || q.Config.MaxRate != *cfg.MaxRate || q.Config.LinkRate != *cfg.LinkRate ||
		q.Config.HighMark != 80 || q.Config.Group != 3 || q.Config.Interval != *cfg.Interval || q.Config.EventGap != *cfg.EventGap {
		t.Fatalf("dumped %+v", q)
	}
	// the family is per netns: the other namespace sees nothing
	_, other := dialNS(t, tp, "rkd")
	if qs, err := other.Qdiscs(); err != nil || len(qs) != 0 {
		t.Fatalf("other netns sees %v (%v)", qs, err)
	}
	if err := c.SetRate(uint32(l.Index), 0, 20*mbit); err != nil {
		t.Fatal(err)
	}
	if q, err := c.Qdisc(uint32(l.Index), 0); err != nil || q.Config.Rate != 20*mbit {
		t.Fatalf("after set-rate: %+v %v", q.Config, err)
	}
	tq, _, err := rc.RootQdisc(l.Index)
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := rk.DecodeOptions(tq.Options); o.Rate != 20*mbit {
		t.Fatalf("tc dump after set-rate: rate %d", o.Rate)
	}
	checkErr := func(err error, errno syscall.Errno, msg string) {
		t.Helper()
		var ge interface{ Unwrap() error }
		if !errors.Is(err, errno) || !errors.As(err, &ge) || !strings.Contains(err.Error(), msg) {
			t.Errorf("err = %v; want %v with %q", err, errno, msg)
		}
	}
	checkErr(c.SetRate(uint32(l.Index), 0, 200*mbit), syscall.ERANGE, "outside this qdisc's min-rate..max-rate")
	checkErr(c.SetRate(uint32(l.Index), 0, 1), syscall.ERANGE, "outside")
	checkErr(c.SetRate(uint32(l.Index), 0x20000, 20*mbit), syscall.ENOENT, "no ratekeeper qdisc with this handle")
	checkErr(c.SetRate(9999, 0, 20*mbit), syscall.ENOENT, "no ratekeeper qdisc on this device")
	_, err = c.Qdisc(9999, 0)
	checkErr(err, syscall.ENOENT, "no ratekeeper qdisc on this device")
	ae := netlink.NewAttributeEncoder()
	ae.Uint32(rk.AttrQdiscIfindex, uint32(l.Index))
	b, _ := ae.Encode()
	checkErr(c.Raw("set-rate", rk.CmdSetRate, b), syscall.EINVAL, "rate is required")
	ae.Uint32(rk.AttrQdiscEvents, 1) // not a request attribute
	b, _ = ae.Encode()
	if err := c.Raw("set-rate", rk.CmdSetRate, b); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("unexpected attribute: %v", err)
	}
}

// The shaper holds a TCP flow to its rate, and a changed rate takes effect.
func TestShaperHoldsRate(t *testing.T) {
	vmtest.Require(t)
	tp := pair(t, "rke", "rkf")
	rc, c := dialNS(t, tp, "rke")
	l, _ := rc.LinkByName("a0")
	if err := rc.AddQdisc(l.Index, 0, rtnl.HandleRoot, "ratekeeper",
		opts(t, rk.Options{Rate: new(uint64(8 * mbit)), MinRate: new(uint64(2 * mbit)), MaxRate: new(uint64(16 * mbit))}), rtnl.Replace); err != nil {
		t.Fatal(err)
	}
	sink := tp.NewSink("rkf", "10.9.0.2:5001")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tp.Flood(ctx, "rke", "10.9.0.2:5001", 2)
	time.Sleep(time.Second)
	rates := []uint64{8 * mbit, 4 * mbit}
	if vmtest.Kernel() == "debug" {
		// half the rates, as the debug scenarios run at a fraction of theirs: beside the
		// other guests in make test the debug guest's shaper, backlogged, sent 6.79 Mbit/s
		// at 8 (85%) and 3.97 at 4 (99.2%) in the same run. The suspected cause, not
		// proven: its vCPUs stall for longer than the 10 ms burst, and the tokens of the
		// stall beyond it are lost (as in sch_tbf).
		rates = []uint64{4 * mbit, 2 * mbit}
	}
	for _, want := range rates {
		if err := c.SetRate(uint32(l.Index), 0, want); err != nil {
			t.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond)
		// The shaper's own output while packets waited in it, over 100 ms samples that
		// saw a queue at both ends: it must neither leak nor starve. (Goodput at the
		// sink alone also measures the senders, which on a starved guest cannot keep a
		// queue: the debug kernel beside other guests got 40% with no queue.)
		b0 := sink.Bytes()
		shaped, busy, took := vmtest.BackloggedRate(t, 2*time.Second, func() (uint32, uint64, error) {
			q, err := c.Qdisc(uint32(l.Index), 0)
			return q.Qlen, q.Bytes, err
		})
		got := float64(sink.Bytes()-b0) / took.Seconds()
		t.Logf("rate %.1f Mbit/s: while backlogged (%v of %v) the shaper sent %.2f Mbit/s (%.1f%%); goodput %.2f Mbit/s (%.0f%%)",
			float64(want)/mbit, busy.Round(100*time.Millisecond), took.Round(100*time.Millisecond),
			shaped/mbit, 100*shaped/float64(want), got/mbit, 100*got/float64(want))
		// The upper bound is the one the goodput check had (102% of goodput, ~107% on
		// the wire with full-size segments): the shaper reads a steady 101-104% on the
		// wire here, an overshoot to find (the samples' host-side times add a little).
		if shaped > 1.07*float64(want) || shaped < 0.90*float64(want) {
			t.Errorf("the shaper sent %.2f Mbit/s while backlogged with rate %.1f Mbit/s", shaped/mbit, float64(want)/mbit)
		}
		if got > 1.05*float64(want) {
			t.Errorf("goodput %.2f Mbit/s exceeds the rate %.1f Mbit/s", got/mbit, float64(want)/mbit)
		}
	}
	// each read closes the measurement interval: read once the flood has filled one
	// again, not the few ms since the last sample above
	time.Sleep(500 * time.Millisecond)
	q, err := c.Qdisc(uint32(l.Index), 0)
	if err != nil {
		t.Fatal(err)
	}
	if q.Packets == 0 || q.Overlimits == 0 || q.Measured == 0 {
		t.Errorf("stats not counting: %+v", q)
	}
	if len(q.Senders) == 0 || q.Senders[0].Addr.String() != "10.9.0.1" {
		t.Errorf("top senders %+v, want 10.9.0.1 first", q.Senders)
	}
}

// A tenant receiving above its guarantee on a congested link raises its severity and
// reports its heaviest sender, paced by event-gap.
func TestCongestionEvents(t *testing.T) {
	vmtest.Require(t)
	tp := pair(t, "rkg", "rkh")
	rc, c := dialNS(t, tp, "rkg")
	l, _ := rc.LinkByName("a0")
	// a0's egress carries what "the tenant" in rkh receives: about 8 Mbit/s (shaped by
	// the max rate), on a link of 8 Mbit/s with a guarantee of 2 Mbit/s
	if err := rc.AddQdisc(l.Index, 0, rtnl.HandleRoot, "ratekeeper", opts(t, rk.Options{Rate: new(uint64(8 * mbit)), MinRate: new(uint64(2 * mbit)), MaxRate: new(uint64(8 * mbit)), LinkRate: new(uint64(8 * mbit)), HighMark: new(uint32(50)), EventGap: new(200 * time.Millisecond)}), rtnl.Replace); err != nil {
		t.Fatal(err)
	}
	mon, err := rk.WatchConfig(&netlink.Config{NetNS: tp.FD("rkg")})
	if err != nil {
		t.Fatal(err)
	}
	defer mon.Close()
	tp.NewSink("rkh", "10.9.0.2:5001")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := time.Now()
	tp.Flood(ctx, "rkg", "10.9.0.2:5001", 3)
	var evs []rk.Event
	for time.Since(start) < 4*time.Second {
		ev, err := mon.Next(5 * time.Second)
		if err != nil {
			t.Fatalf("no congestion event: %v", err)
		}
		evs = append(evs, ev)
	}
	el := time.Since(start)
	cancel()
	first := evs[0]
	t.Logf("%d events in %v; first: severity %d measured %.2f Mbit/s link %.2f Mbit/s senders %v",
		len(evs), el.Round(time.Millisecond), first.Severity, float64(first.Measured)/mbit, float64(first.LinkLoad)/mbit, first.Senders)
	if first.Ifname != "a0" || first.Severity < 1 || len(first.Senders) == 0 || first.Senders[0].Addr.String() != "10.9.0.1" {
		t.Errorf("event %+v", first)
	}
	if max := int(el/(200*time.Millisecond)) + 2; len(evs) > max {
		t.Errorf("%d events in %v: event-gap of 200ms allows at most %d", len(evs), el, max)
	}
	last := evs[len(evs)-1]
	if last.Severity <= first.Severity {
		t.Errorf("severity did not rise under sustained congestion: %d -> %d", first.Severity, last.Severity)
	}
	q, err := c.Qdisc(uint32(l.Index), 0)
	if err != nil {
		t.Fatal(err)
	}
	if q.Events < uint64(len(evs)) || q.EventsSuppressed == 0 {
		t.Errorf("events %d suppressed %d", q.Events, q.EventsSuppressed)
	}
	// once the flood (and its socket buffers) has drained, the severity decays: one
	// step per 11 intervals, computed on reads too
	deadline := time.Now().Add(20 * time.Second)
	for {
		q2, err := c.Qdisc(uint32(l.Index), 0)
		if err != nil {
			t.Fatal(err)
		}
		if q2.Severity == 0 {
			t.Logf("severity %d while congested, 0 after %v idle; measured %.2f Mbit/s", q.Severity,
				time.Since(start.Add(el)).Round(100*time.Millisecond), float64(q2.Measured)/mbit)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("severity still %d 20s after the flood ended", q2.Severity)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// TestMain lets the binary act as a child caller for the permission test.
func TestMain(m *testing.M) {
	if mode := os.Getenv(vmtest.ChildEnv); mode != "" {
		os.Exit(childMain(mode))
	}
	os.Exit(m.Run())
}

func childMain(mode string) int {
	idx, _ := strconv.Atoi(os.Getenv("RK_IFINDEX"))
	if mode == "senders" {
		return childSenders(idx)
	}
	c, err := rk.Dial()
	if err != nil {
		fmt.Println("dial:", err)
		return 3
	}
	defer c.Close()
	if _, err := c.Qdisc(uint32(idx), 0); err != nil && mode != "userns+netns" {
		fmt.Println("get:", err)
		return 4
	}
	err = c.SetRate(uint32(idx), 0, 3*mbit)
	fmt.Println(err)
	if errors.Is(err, syscall.EPERM) {
		return 1
	}
	return 0
}

// set-rate needs CAP_NET_ADMIN in the user namespace that owns the netns; reads do not.
func TestSetRateNeedsCapNetAdmin(t *testing.T) {
	vmtest.Require(t)
	rc, err := rtnl.Dial(0)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tp := vmtest.NewTopo(t) // for ip batches in the VM's root namespace
	tp.IP("", "link add rkp0 type veth peer name rkp1", "link set rkp0 up")
	defer tp.IP("", "link del rkp0")
	l, err := rc.LinkByName("rkp0")
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.AddQdisc(l.Index, 0, rtnl.HandleRoot, "ratekeeper", opts(t, rk.Options{Rate: new(uint64(5 * mbit)), MinRate: new(uint64(mbit)), MaxRate: new(uint64(10 * mbit))}), rtnl.Replace); err != nil {
		t.Fatal(err)
	}
	os.Setenv("RK_IFINDEX", strconv.Itoa(l.Index))
	for _, tc := range []struct {
		mode string
		attr *syscall.SysProcAttr
	}{{"nobody", vmtest.Unprivileged()}, {"userns", vmtest.OwnUserNs(false)}} {
		out, err := vmtest.RunChild(t, tc.mode, tc.attr)
		var ee interface{ ExitCode() int }
		if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(out, "CAP_NET_ADMIN") {
			t.Errorf("%s: set-rate not refused with EPERM: %v\n%s", tc.mode, err, out)
		}
	}
	c, err := rk.Dial()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if q, err := c.Qdisc(uint32(l.Index), 0); err != nil || q.Config.Rate != 5*mbit {
		t.Errorf("rate changed by refused callers: %+v %v", q.Config, err)
	}
}

// Debian's tc configures and shows the qdisc through iproute-ext/q_ratekeeper.so.
func TestTcPlugin(t *testing.T) {
	vmtest.Require(t)
	tp := pair(t, "rkt", "rku")
	lib := filepath.Join(vmtest.RepoRoot(t), "iproute-ext")
	tc := func(args ...string) (string, error) {
		cmd := exec.Command("tc", append([]string{"-n", "rkt"}, args...)...)
		cmd.Env = append(os.Environ(), "TC_LIB_DIR="+lib)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := tc("qdisc", "add", "dev", "a0", "root", "handle", "1:", "ratekeeper", "rate", "50mbit", "min", "10mbit",
		"max", "100mbit", "linkrate", "1gbit", "highmark", "80", "group", "2", "eventgap", "250ms", "interval", "5ms"); err != nil {
		t.Fatalf("tc qdisc add: %v\n%s", err, out)
	}
	out, err := tc("-s", "qdisc", "show", "dev", "a0")
	if err != nil {
		t.Fatalf("tc -s qdisc show: %v\n%s", err, out)
	}
	t.Logf("tc -s qdisc show:\n%s", out)
	for _, want := range []string{"qdisc ratekeeper 1: root", "rate 50Mbit min 10Mbit max 100Mbit", "interval 5000us",
		"linkrate 1Gbit highmark 80% group 2 eventgap 250ms", "current_rate 50Mbit", "severity 0"} {
		if !strings.Contains(out, want) {
			t.Errorf("tc output lacks %q", want)
		}
	}
	out, err = tc("-j", "-s", "qdisc", "show", "dev", "a0")
	if err != nil {
		t.Fatalf("tc -j: %v\n%s", err, out)
	}
	var js []map[string]any
	if err := json.Unmarshal([]byte(out), &js); err != nil || len(js) != 1 {
		t.Fatalf("tc -j output is not one qdisc: %v\n%s", err, out)
	}
	o, _ := js[0]["options"].(map[string]any)
	if js[0]["kind"] != "ratekeeper" || o["rate"] != float64(50*mbit) || o["highmark"] != float64(80) || js[0]["current_rate"] == nil {
		t.Errorf("tc -j: %v", js[0])
	}
	// tc change takes effect and shows through the genl family too
	if out, err := tc("qdisc", "change", "dev", "a0", "root", "handle", "1:", "ratekeeper", "rate", "20mbit"); err != nil {
		t.Fatalf("tc change: %v\n%s", err, out)
	}
	_, c := dialNS(t, tp, "rkt")
	qs, err := c.Qdiscs()
	if err != nil || len(qs) != 1 || qs[0].Config.Rate != 20*mbit || qs[0].Config.MinRate != 10*mbit {
		t.Fatalf("after tc change: %+v %v", qs, err)
	}
	// a rejected value: tc prints the kernel's extack message
	out, err = tc("qdisc", "change", "dev", "a0", "root", "handle", "1:", "ratekeeper", "min", "200mbit")
	if err == nil || !strings.Contains(out, "min-rate exceeds max-rate") {
		t.Errorf("tc change min 200mbit: %v\n%s", err, out)
	}
	// values the plugin refuses as nlkit does (tools/units/testdata/values.tsv), before
	// the kernel sees them: Debian's tc's own parser took "-5" as a rate
	for _, kv := range [][2]string{{"rate", "fast"}, {"rate", "-5"}, {"limit", "-1"}, {"interval", "1m"}, {"highmark", "80.5"}} {
		out, err = tc("qdisc", "change", "dev", "a0", "root", "handle", "1:", "ratekeeper", kv[0], kv[1])
		if err == nil || !strings.Contains(out, fmt.Sprintf("illegal %s %q", kv[0], kv[1])) {
			t.Errorf("tc change %s %s: %v\n%s", kv[0], kv[1], err, out)
		}
	}
	if qs, err = c.Qdiscs(); err != nil || len(qs) != 1 || qs[0].Config.Rate != 20*mbit {
		t.Errorf("after the refused changes: %+v %v, want rate 20mbit kept", qs, err)
	}
}

// Under classful parents that peek at their leaves (HFSC, DRR) ratekeeper behaves as tbf
// at the same rate in the same boot (vmtest.CheckUnderParents says how that is judged).
func TestUnderClassfulParents(t *testing.T) {
	vmtest.Require(t)
	// 2 Mbit/s over 4 s, as fcm's: at 8 Mbit/s over 1.5 s the debug guest, sharing the
	// host with two others, once offered tbf 2.60 Mbit/s (the flood short of CPU), tbf
	// never ran out of tokens and so drew no warning, and the comparison failed on a
	// measurement that said nothing. ratekeeper's queue is tbf's length (28 KB).
	vmtest.CheckUnderParents(t, 2*mbit, 4*time.Second, []string{"tbf", "rate", "2mbit", "burst", "16kb", "latency", "50ms"},
		[]string{"ratekeeper", "rate", "2mbit", "limit", "28kb"})
}

// Configuration, reads and traffic at once: tc change (rates, and the link group a
// qdisc belongs to), genl get and dump, and rtnetlink stats dumps (tc -s qdisc show) in
// loops on every CPU while TCP floods through four ratekeeper qdiscs of one link group,
// each closing a measurement interval every 100 µs (so the datapath walks the group all
// the time); 30 s on the debug kernel (lockdep, KASAN), 8 s on the others. Moving a
// qdisc between groups once let a reader walking the old group follow it into the new
// group's list (list_del_rcu then list_add_rcu without a grace period), take that list's
// head for a qdisc and go round it for ever. The kernel log is checked after the run.
func TestContention(t *testing.T) {
	vmtest.Require(t)
	d := 8 * time.Second
	if vmtest.Kernel() == "debug" {
		d = 30 * time.Second
	}
	const n = 4
	var vs []vmtest.Veth
	for i := 0; i < n; i++ {
		vs = append(vs, vmtest.Veth{A: "rkca", DevA: fmt.Sprintf("a%d", i), AddrA: fmt.Sprintf("10.20.%d.1/24", i),
			B: "rkcb", DevB: fmt.Sprintf("b%d", i), AddrB: fmt.Sprintf("10.20.%d.2/24", i)})
	}
	tp := vmtest.NewVeths(t, vs...)
	tp.IP("rkca", "link add churn type dummy", "link set churn up")
	cfg := func(group uint32, rate uint64) []byte {
		return opts(t, rk.Options{Rate: new(uint64(rate)), MinRate: new(uint64(1 * mbit)), MaxRate: new(uint64(100 * mbit)), LinkRate: new(uint64(100 * mbit)), HighMark: new(uint32(50)), Group: new(uint32(group)), Interval: new(100 * time.Microsecond)})
	}
	rc, c := dialNS(t, tp, "rkca")
	idx := make([]int, n)
	sinks := make([]*vmtest.Sink, n)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := range idx {
		l, err := rc.LinkByName(fmt.Sprintf("a%d", i))
		if err != nil {
			t.Fatal(err)
		}
		idx[i] = l.Index
		if err := rc.AddQdisc(l.Index, 0, rtnl.HandleRoot, "ratekeeper", cfg(1, 20*mbit), rtnl.Replace); err != nil {
			t.Fatal(err)
		}
		addr := fmt.Sprintf("10.20.%d.2:5001", i)
		sinks[i] = tp.NewSink("rkcb", addr)
		defer sinks[i].Close()
		tp.Flood(ctx, "rkca", addr, 1)
	}

	churn, err := rc.LinkByName("churn")
	if err != nil {
		t.Fatal(err)
	}
	kinds := []string{"tc change (rate, group)", "genl get + dump", "rtnetlink stats dump", "tc add + delete"}
	var ops [4]atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, len(kinds))
	deadline := time.Now().Add(d)
	loop := func(k int, fn func(i int) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				if err := fn(i); err != nil {
					errc <- fmt.Errorf("%s: %w", kinds[k], err)
					return
				}
				ops[k].Add(1)
			}
		}()
	}
	// qdisc 0 goes back and forth between groups 1 and 2; the others change rate
	wrc, _ := dialNS(t, tp, "rkca")
	loop(0, func(i int) error {
		q := i % n
		group := uint32(1)
		if q == 0 && i/n%2 == 1 {
			group = 2
		}
		return wrc.AddQdisc(idx[q], 0, rtnl.HandleRoot, "ratekeeper", cfg(group, uint64(10+i%20)*mbit), rtnl.Change)
	})
	loop(1, func(i int) error {
		if i%2 == 0 {
			_, err := c.Qdisc(uint32(idx[i/2%n]), 0)
			return err
		}
		qs, err := c.Qdiscs()
		if err == nil && len(qs) != n && len(qs) != n+1 {
			err = fmt.Errorf("dump returned %d qdiscs, want %d or %d", len(qs), n, n+1)
		}
		return err
	})
	// a qdisc comes and goes while get and dump walk the list without RTNL (under RCU)
	crc, _ := dialNS(t, tp, "rkca")
	loop(3, func(i int) error {
		if err := crc.AddQdisc(churn.Index, 0, rtnl.HandleRoot, "ratekeeper", cfg(1+uint32(i%2), 20*mbit), rtnl.Create); err != nil {
			return err
		}
		return crc.DelQdisc(churn.Index, 0, rtnl.HandleRoot)
	})
	src, _ := dialNS(t, tp, "rkca")
	loop(2, func(i int) error {
		_, err := src.Qdiscs(0)
		return err
	})
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	for k, name := range kinds {
		t.Logf("%-24s %7d in %v (%.0f/s)", name, ops[k].Load(), d, float64(ops[k].Load())/d.Seconds())
		if ops[k].Load() == 0 {
			t.Errorf("%s never completed", name)
		}
	}
	// the datapath and the families still work: every link carries its flood
	for i, s := range sinks {
		if r := s.Rate(500 * time.Millisecond); r == 0 {
			t.Errorf("link %d carried nothing after the run", i)
		}
	}
	qs, err := c.Qdiscs()
	if err != nil || len(qs) != n {
		t.Fatalf("dump after the run: %d qdiscs, %v", len(qs), err)
	}
}

// udpCounter counts the datagrams that arrive at addr in namespace ns, until the test ends.
func udpCounter(t *testing.T, tp *vmtest.Topo, ns, addr string) *atomic.Int64 {
	t.Helper()
	var got atomic.Int64
	var ln net.PacketConn
	tp.Must(ns, func() (err error) {
		ln, err = net.ListenPacket("udp4", addr)
		return err
	})
	t.Cleanup(func() { ln.Close() })
	go func() {
		b := make([]byte, 2048)
		for {
			if _, _, err := ln.ReadFrom(b); err != nil {
				return
			}
			got.Add(1)
		}
	}()
	return &got
}

// udpSegment turns on UDP GSO on cn: each write leaves as one packet of seg-byte segments.
func udpSegment(cn net.Conn, seg int) error {
	raw, err := cn.(*net.UDPConn).SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := raw.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.SOL_UDP, unix.UDP_SEGMENT, seg) }); err != nil {
		return err
	}
	return serr
}

// A GSO packet larger than the whole queue limit is queued as its segments (as many as
// the limit takes), not dropped whole every time (a TSO sender above the limit then got
// nothing through but its single-segment retransmissions). UDP GSO sends such packets
// deterministically: 20 segments of 1400 bytes (28000) against a 16000-byte limit, one
// every 10 ms, each reaching an empty queue at 200 Mbit/s.
func TestLimitBelowGSOSize(t *testing.T) {
	vmtest.Require(t)
	tp := pair(t, "rkg", "rkh")
	rc, c := dialNS(t, tp, "rkg")
	l, _ := rc.LinkByName("a0")
	const limit, seg, segs, sends = 16000, 1400, 20, 100
	if err := rc.AddQdisc(l.Index, 0, rtnl.HandleRoot, "ratekeeper",
		opts(t, rk.Options{Rate: new(uint64(200 * mbit)), MinRate: new(uint64(1 * mbit)), MaxRate: new(uint64(400 * mbit)), Limit: new(uint32(limit))}), rtnl.Replace); err != nil {
		t.Fatal(err)
	}
	got := udpCounter(t, tp, "rkh", "10.9.0.2:5009")
	tp.Must("rkg", func() error {
		cn, err := net.Dial("udp4", "10.9.0.2:5009")
		if err != nil {
			return err
		}
		defer cn.Close()
		if err := udpSegment(cn, seg); err != nil {
			return err
		}
		buf := make([]byte, seg*segs)
		for i := 0; i < sends; i++ {
			if _, err := cn.Write(buf); err != nil {
				return err
			}
			time.Sleep(10 * time.Millisecond)
		}
		return nil
	})
	time.Sleep(500 * time.Millisecond)
	q, err := c.Qdisc(uint32(l.Index), 0)
	if err != nil {
		t.Fatal(err)
	}
	// what fits: the limit's worth of segments (with their headers) per packet
	fit := limit / (seg + 8 + 20 + 14)
	t.Logf("%d UDP GSO packets of %d x %d bytes, limit %d bytes: %d datagrams arrived (%d fit per packet); qdisc sent %d packets, dropped %d",
		sends, segs, seg, limit, got.Load(), fit, q.Packets, q.Drops)
	if got.Load() < int64(sends*fit) {
		t.Errorf("%d datagrams arrived, want at least %d: GSO packets above the limit were dropped whole", got.Load(), sends*fit)
	}
}

// A rate change carries the bucket's debt over in bytes, not in time: a packet sent at
// the lowest rate left a debt of its transmission time at that rate, and a change to a
// high rate kept the queue shut until that time had passed (the fuzzer found a qdisc
// that passed nothing after 'tc qdisc replace ... rate 20mbit'). One UDP GSO packet of
// 28000 bytes at 1000 bytes/s is a debt of about 25 s; after 'tc qdisc change' to
// 100 Mbit/s and 'set-rate' back and forth, ten datagrams must pass within a second.
func TestRateChangeRepaysDebt(t *testing.T) {
	vmtest.Require(t)
	tp := pair(t, "rkd", "rke")
	rc, c := dialNS(t, tp, "rkd")
	l, _ := rc.LinkByName("a0")
	cfg := func(rate uint64) []byte {
		return opts(t, rk.Options{Rate: new(uint64(rate)), MinRate: new(uint64(1000)), MaxRate: new(uint64(100 * mbit)), Limit: new(uint32(1 << 20))})
	}
	if err := rc.AddQdisc(l.Index, 0, rtnl.HandleRoot, "ratekeeper", cfg(1000), rtnl.Replace); err != nil {
		t.Fatal(err)
	}
	got := udpCounter(t, tp, "rke", "10.9.0.2:5010")
	send := func(gso bool, n int) {
		tp.Must("rkd", func() error {
			cn, err := net.Dial("udp4", "10.9.0.2:5010")
			if err != nil {
				return err
			}
			defer cn.Close()
			buf := make([]byte, 100)
			if gso {
				if err := udpSegment(cn, 1400); err != nil {
					return err
				}
				buf = make([]byte, 1400*20)
			}
			for i := 0; i < n; i++ {
				if _, err := cn.Write(buf); err != nil {
					return err
				}
			}
			return nil
		})
	}
	wait := func(want int64, within time.Duration) time.Duration {
		start := time.Now()
		for got.Load() < want && time.Since(start) < within {
			time.Sleep(10 * time.Millisecond)
		}
		return time.Since(start)
	}
	send(true, 1)
	if took := wait(20, 2*time.Second); got.Load() < 20 {
		t.Fatalf("the GSO packet's 20 datagrams did not arrive (%d in %v)", got.Load(), took)
	}
	for _, step := range []struct {
		name   string
		change func() error
	}{
		{"tc qdisc change rate 100mbit", func() error {
			return rc.AddQdisc(l.Index, 0, rtnl.HandleRoot, "ratekeeper", cfg(100*mbit), rtnl.Change)
		}},
		{"set-rate 1000 B/s, a GSO packet, set-rate 100 Mbit/s", func() error {
			if err := c.SetRate(uint32(l.Index), 0, 1000); err != nil {
				return err
			}
			n := got.Load()
			send(true, 1)
			wait(n+20, 2*time.Second)
			return c.SetRate(uint32(l.Index), 0, 100*mbit)
		}},
	} {
		if err := step.change(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		n := got.Load()
		send(false, 10)
		took := wait(n+10, 3*time.Second)
		t.Logf("%s: 10 datagrams after the change, %d arrived in %v", step.name, got.Load()-n, took.Round(time.Millisecond))
		if got.Load() < n+10 || took > time.Second {
			t.Errorf("%s: %d of 10 datagrams arrived in %v: the debt of a packet sent at 1000 B/s still held the queue",
				step.name, got.Load()-n, took.Round(time.Millisecond))
		}
	}
}

// childSenders reads a qdisc and tries to watch the events as an unprivileged user.
func childSenders(idx int) int {
	c, err := rk.Dial()
	if err != nil {
		fmt.Println("dial:", err)
		return 3
	}
	defer c.Close()
	q, err := c.Qdisc(uint32(idx), 0)
	fmt.Printf("get: %v, %d senders, measured %d B/s\n", err, len(q.Senders), q.Measured)
	m, werr := rk.Watch()
	if werr == nil {
		m.Close()
	}
	fmt.Println("watch:", werr)
	if err != nil || len(q.Senders) != 0 || q.Measured == 0 || !errors.Is(werr, syscall.EPERM) {
		return 1
	}
	return 0
}

// Who may read tenants' heaviest senders (addresses and MACs): the netns's admin. Anyone
// in the netns reads a qdisc's state, without them, and only the admin may subscribe to
// the congestion events, which name them.
func TestSendersForAdminOnly(t *testing.T) {
	vmtest.Require(t)
	tp := pair(t, "rksa", "rksb")
	rc, c := dialNS(t, tp, "rksa")
	l, _ := rc.LinkByName("a0")
	if err := rc.AddQdisc(l.Index, 0, rtnl.HandleRoot, "ratekeeper",
		opts(t, rk.Options{Rate: new(uint64(8 * mbit)), MinRate: new(uint64(2 * mbit)), MaxRate: new(uint64(16 * mbit))}), rtnl.Replace); err != nil {
		t.Fatal(err)
	}
	sink := tp.NewSink("rksb", "10.9.0.2:5001")
	defer sink.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tp.Flood(ctx, "rksa", "10.9.0.2:5001", 1)
	time.Sleep(1500 * time.Millisecond)
	q, err := c.Qdisc(uint32(l.Index), 0)
	if err != nil || len(q.Senders) == 0 {
		t.Fatalf("the admin reads no senders under a flood: %+v %v", q.Senders, err)
	}
	cmd := exec.Command("ip", "netns", "exec", "rksa", "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", os.Args[0])
	cmd.Env = append(os.Environ(), vmtest.ChildEnv+"=senders", "RK_IFINDEX="+strconv.Itoa(l.Index))
	out, err := cmd.CombinedOutput()
	t.Logf("the admin reads %d senders; nobody in the same netns:\n%s", len(q.Senders), out)
	if err != nil {
		t.Errorf("nobody read the senders or subscribed to the events: %v", err)
	}
}

// TestRootGraftUnderReaders: root qdiscs come and go on several devices while genl
// readers dump them without RTNL. Between qdisc_create() and the graft a new root is
// already on the module's list while the device's old root (its default noqueue) is
// still in place; the graft then destroys that old root and unregisters its lock's
// lockdep class at once. A reader that locked the device's root instead of the new
// qdisc's own lock held a lock whose class was gone: on the debug kernel lockdep
// warned in hlock_class() and the next acquisition oopsed (seen once in make test's
// TestContention, the churn of one dummy device beside get/dump loops).
func TestRootGraftUnderReaders(t *testing.T) {
	vmtest.Require(t)
	d := 5 * time.Second
	if vmtest.Kernel() == "debug" {
		d = 20 * time.Second
	}
	const n = 4
	tp := vmtest.NewTopo(t, "rkgr")
	for i := 0; i < n; i++ {
		tp.IP("rkgr", fmt.Sprintf("link add g%d type dummy", i), fmt.Sprintf("link set g%d up", i))
	}
	cfg := opts(t, rk.Options{Rate: new(uint64(20 * mbit)), MinRate: new(uint64(1 * mbit)), MaxRate: new(uint64(100 * mbit)), LinkRate: new(uint64(100 * mbit)), HighMark: new(uint32(50)), Group: new(uint32(1))})
	var wg sync.WaitGroup
	var grafts, dumps, seen atomic.Int64
	errc := make(chan error, 2*n)
	deadline := time.Now().Add(d)
	for i := 0; i < n; i++ {
		rc, c := dialNS(t, tp, "rkgr")
		l, err := rc.LinkByName(fmt.Sprintf("g%d", i))
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(2)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				if err := rc.AddQdisc(l.Index, 0, rtnl.HandleRoot, "ratekeeper", cfg, rtnl.Create); err != nil {
					errc <- fmt.Errorf("add on g%d: %w", i, err)
					return
				}
				if err := rc.DelQdisc(l.Index, 0, rtnl.HandleRoot); err != nil {
					errc <- fmt.Errorf("delete on g%d: %w", i, err)
					return
				}
				grafts.Add(1)
			}
		}()
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				qs, err := c.Qdiscs()
				if err != nil {
					errc <- fmt.Errorf("dump: %w", err)
					return
				}
				dumps.Add(1)
				seen.Add(int64(len(qs)))
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	t.Logf("%d root grafts and deletes, %d dumps (%d qdiscs seen) in %v", grafts.Load(), dumps.Load(), seen.Load(), d)
	if grafts.Load() == 0 || dumps.Load() == 0 || seen.Load() == 0 {
		t.Errorf("the loops did not overlap: %d grafts, %d dumps, %d qdiscs seen", grafts.Load(), dumps.Load(), seen.Load())
	}
}

// A get-qdisc dump whose walk read every qdisc in its first round ends there, however
// the list changes before the reader takes the reply (vmtest.CheckDumpEndsWithWalk).
// It used to ask for one more round, and under tc churn its NLMSG_DONE came marked
// interrupted often enough that the client's retries ran out: TestContention and
// TestRootGraftUnderReaders on 6.12 alone, "dump interrupted by concurrent changes 6
// times in a row".
func TestDumpEndsWithWalk(t *testing.T) {
	vmtest.Require(t)
	vmtest.CheckDumpEndsWithWalk(t, rk.Family, rk.CmdGetQdisc, "ratekeeper", opts(t, rk.Options{Rate: new(uint64(10 * mbit))}))
}

// Issue 14, defect 3: a reader (genl get, tc -s qdisc show) read the clock before it
// took the qdisc's lock. An enqueue holding the lock meanwhile could start a new
// measurement interval later than that reading; the reader's roll then saw its time
// before the interval's start, elapsed wrapped to about 2^64 ns, and the measured rate
// became that of 2^64 ns (0) and severity fell to 0. The window is wide when enqueues
// hold the lock long: here ratekeeper is the leaf of a prio root whose 400 u32 filters
// (none matches) run under the root lock for every packet, a UDP flow sends 500
// datagrams/s through it, and a reader asks for the qdisc over genl as fast as it can
// for 3 s. Every reply must show the flow's rate: a measured rate of 0 (which the
// fixed qdisc reports only after 64 idle intervals, 320 ms with no packet) is the
// defect when the reader saw packets cross the leaf in the 300 ms before it. (A
// guest's sender can stall longer than that, and 0 is then the right answer: seen on
// 6.12 when vmrun was tried with QEMU's single-threaded TCG, where a vCPU waits up to
// 100 ms per turn for the other; a busy host can stall a vCPU too.)
func TestReadsWhileEnqueueHoldsTheLock(t *testing.T) {
	vmtest.Require(t)
	tp := pair(t, "rkla", "rklb")
	rc, c := dialNS(t, tp, "rkla")
	l, err := rc.LinkByName("a0")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := vmtest.TC(t, "rkla", "qdisc", "add", "dev", "a0", "root", "handle", "1:", "prio", "bands", "2",
		"priomap", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0"); err != nil {
		t.Fatalf("tc: %v\n%s", err, out)
	}
	if err := rc.AddQdisc(l.Index, 0x100000, 0x10001, "ratekeeper",
		opts(t, rk.Options{Rate: new(uint64(100 * mbit)), MinRate: new(uint64(10 * mbit)), MaxRate: new(uint64(100 * mbit)), Interval: new(5 * time.Millisecond)}), rtnl.Create); err != nil {
		t.Fatal(err)
	}
	var filters strings.Builder
	for i := 0; i < 400; i++ {
		fmt.Fprintf(&filters, "filter add dev a0 parent 1: protocol ip prio 1 u32 match ip dst 10.99.%d.%d/32 flowid 1:2\n", i/200, i%200+1)
	}
	batch := exec.Command("tc", "-n", "rkla", "-b", "-")
	batch.Stdin = strings.NewReader(filters.String())
	if out, err := batch.CombinedOutput(); err != nil {
		t.Fatalf("tc -b: %v\n%s", err, out)
	}
	got := udpCounter(t, tp, "rklb", "10.9.0.2:9")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sent := make(chan int64, 1)
	go func() {
		var n int64
		tp.Do("rkla", func() error {
			cn, err := net.Dial("udp4", "10.9.0.2:9")
			if err != nil {
				return err
			}
			defer cn.Close()
			b := make([]byte, 1000)
			start := time.Now()
			for ; ctx.Err() == nil; n++ {
				cn.Write(b)
				if d := time.Duration(n+1)*2*time.Millisecond - time.Since(start); d > 0 {
					time.Sleep(d)
				}
			}
			return nil
		})
		sent <- n
	}()
	time.Sleep(500 * time.Millisecond) // the first intervals
	reads, zero, idle := 0, 0, 0
	var first rk.Qdisc
	var firstAgo time.Duration
	// The leaf's latest packet crossed after the read before the one that first saw
	// it had started (at before): the leaf has been idle for less than
	// time.Since(before).
	var packets uint64
	var before, prev time.Time
	for start := time.Now(); time.Since(start) < 3*time.Second; reads++ {
		asked := time.Now()
		q, err := c.Qdisc(uint32(l.Index), 0x100000)
		if err != nil {
			t.Fatal(err)
		}
		if q.Packets != packets {
			packets, before = q.Packets, prev
		}
		prev = asked
		if q.Measured == 0 {
			if ago := time.Since(before); !before.IsZero() && ago < 300*time.Millisecond {
				if zero == 0 {
					first, firstAgo = q, ago
				}
				zero++
			} else {
				idle++
			}
		}
	}
	cancel()
	q, _ := c.Qdisc(uint32(l.Index), 0x100000)
	t.Logf("%d reads in 3 s; %d datagrams sent, %d arrived; measured %.2f Mbit/s at the end (%d packets through the leaf); %d replies of 0 after the leaf was idle 300 ms or more",
		reads, <-sent, got.Load(), float64(q.Measured)/mbit, q.Packets, idle)
	if q.Packets == 0 || q.Measured == 0 {
		t.Fatalf("the flow did not cross the leaf")
	}
	if idle > reads/2 {
		t.Fatalf("the leaf was idle 300 ms or more before %d of %d replies: the flow stalled, the test cannot judge", idle, reads)
	}
	if zero > 0 {
		t.Errorf("%d of %d replies showed a measured rate of 0 while the flow ran; the first, %v after a packet crossed the leaf: %+v", zero, reads, firstAgo.Round(time.Millisecond), first)
	}
}

// lockedBuf collects a child's output while the test reads it.
type lockedBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// nlkit ratekeeper daemon reloads its file on SIGHUP: a new key takes effect at once
// (feedback sealed with the old one is forged), an invalid file changes nothing, and
// SIGTERM stops it with its counters logged as key=value.
func TestCLIDaemonReload(t *testing.T) {
	vmtest.Require(t)
	tp := pair(t, "rkda", "rkdb")
	dir := t.TempDir()
	k1, k2 := filepath.Join(dir, "k1"), filepath.Join(dir, "k2")
	key1, key2 := []byte("the first shared key, 32 bytes.."), []byte("the second shared key, rotated..")
	os.WriteFile(k1, key1, 0o600)
	os.WriteFile(k2, key2, 0o600)
	conf := filepath.Join(dir, "ratekeeper.yaml")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(conf, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("listen: 10.9.0.1:34999\nkey-file: " + k1 + "\n")
	cmd := exec.Command("ip", "netns", "exec", "rkda", vmtest.Nlkit(t), "ratekeeper", "daemon", "-c", conf)
	out := &lockedBuf{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitLog := func(want string, n int) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); strings.Count(out.String(), want) < n; time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the daemon did not log %q %d times:\n%s", want, n, out.String())
			}
		}
	}
	var seq rkd.Sequencer
	send := func(key []byte) {
		t.Helper()
		fb := rkd.Feedback{Severity: 1, Seq: seq.Next(), Sender: netip.MustParseAddr("10.9.9.9")}.Seal(key)
		tp.Must("rkdb", func() error {
			c, err := net.Dial("udp", "10.9.0.1:34999")
			if err != nil {
				return err
			}
			defer c.Close()
			_, err = c.Write(fb)
			return err
		})
	}
	waitLog("listening", 1)
	send(key1)
	waitLog("feedback about no local tenant", 1)

	write("listen: 10.9.0.1:34999\nkey-file: " + k2 + "\ndecrease: 0.1\n")
	cmd.Process.Signal(syscall.SIGHUP)
	waitLog("configuration reloaded", 1)
	if !strings.Contains(out.String(), "key_changed=true") || !strings.Contains(out.String(), "decrease=0.1") {
		t.Errorf("the reload's record lacks key_changed=true or decrease=0.1:\n%s", out.String())
	}
	send(key1)
	waitLog("feedback dropped: forged", 1)
	send(key2)
	waitLog("feedback about no local tenant", 2)

	write("listen: 10.9.0.1:34999\nkey-file: " + k1 + "\ndecrease: 5\n")
	cmd.Process.Signal(syscall.SIGHUP)
	waitLog("reload refused", 1)
	send(key2) // still the key in force
	waitLog("feedback about no local tenant", 3)

	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the daemon's exit: %v\n%s", err, out.String())
	}
	for _, want := range []string{"stopped", "received=3", "forged=1", "unknown_dest=3"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the daemon's log lacks %q:\n%s", want, out.String())
		}
	}
}
