//go:build vmtest

package scenarios

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/mdlayher/netlink"

	rk "github.com/nlkit/nlkit/netlinkproto/ratekeeper"
	"github.com/nlkit/nlkit/netlinkproto/rtnl"
	"github.com/nlkit/nlkit/tests/vm/vmtest"
	"github.com/nlkit/nlkit/tools/rkd"
)

const mbit = 1000 * 1000 / 8 // bytes/s

// TestScenarioRatekeeper is the ratekeeper proof. Two tenants' senders (vms1, vms2) on
// one host (hosts) send to their receivers (vmr1, vmr2) on another (hostr) over a
// 20 Mbit/s host link. Tenant 1 has a guarantee of 8 Mbit/s and one TCP flow; tenant 2
// floods with 16 flows. Without ratekeeper tenant 2 takes most of the link; with
// tenants set up and a daemon on each host, hostr's qdiscs detect the congestion,
// its daemon sends HMAC-authenticated feedback to hosts' daemon, which cuts tenant 2's
// transmit rate, and tenant 1 gets its guarantee.
func TestScenarioRatekeeper(t *testing.T) {
	vmtest.Require(t)
	// The debug kernel (KASAN under TCG) forwards about 8 Mbit/s through this topology,
	// so there the same scenario runs at a fifth of the rates. A stock kernel's guest
	// has one vCPU in make test (vmrun -stock-cpus) beside the debug guests: at 20
	// Mbit/s, 17 flows and both daemons on it, tenant 1 got 6.81 and 7.12 Mbit/s of its 8
	// in two runs of nine (7.95-8.01 in the others), so it runs at half the rates.
	var link, guarantee uint64 = 10 * mbit, 4 * mbit
	if vmtest.Kernel() == "debug" {
		link, guarantee = 4*mbit, 8*mbit/5
	}
	tp := vmtest.NewTopo(t, "hosts", "hostr", "vms1", "vms2", "vmr1", "vmr2")
	tp.IP("",
		"link add s0 netns hosts type veth peer name r0 netns hostr",
		"link add vs1 netns hosts type veth peer name eth0 netns vms1",
		"link add vs2 netns hosts type veth peer name eth0 netns vms2",
		"link add vr1 netns hostr type veth peer name eth0 netns vmr1",
		"link add vr2 netns hostr type veth peer name eth0 netns vmr2")
	tp.IP("hosts", "link set lo up", "link set s0 up", "link set vs1 up", "link set vs2 up",
		"addr add 192.168.0.1/24 dev s0", "addr add 10.1.1.1/24 dev vs1", "addr add 10.1.2.1/24 dev vs2",
		"route add 10.2.0.0/16 via 192.168.0.2")
	tp.IP("hostr", "link set lo up", "link set r0 up", "link set vr1 up", "link set vr2 up",
		"addr add 192.168.0.2/24 dev r0", "addr add 10.2.1.1/24 dev vr1", "addr add 10.2.2.1/24 dev vr2",
		"route add 10.1.0.0/16 via 192.168.0.1")
	for i, vm := range []string{"vms1", "vms2", "vmr1", "vmr2"} {
		net := []string{"10.1.1", "10.1.2", "10.2.1", "10.2.2"}[i]
		tp.IP(vm, "link set lo up", "link set eth0 up", "addr add "+net+".2/24 dev eth0", "route add default via "+net+".1")
	}
	tp.Sysctl("hosts", "net/ipv4/ip_forward", "1")
	tp.Sysctl("hostr", "net/ipv4/ip_forward", "1")

	// the host link: 20 Mbit/s from hosts to hostr (a ratekeeper qdisc as a plain shaper)
	rs, err := rtnl.Dial(tp.FD("hosts"))
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	rr, err := rtnl.Dial(tp.FD("hostr"))
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Close()
	s0, _ := rs.LinkByName("s0")
	bopts, _ := rk.EncodeOptions(rk.Options{Rate: new(uint64(link))})
	if err := rs.AddQdisc(s0.Index, 0, rtnl.HandleRoot, "ratekeeper", bopts, rtnl.Replace); err != nil {
		t.Fatal(err)
	}

	sink1 := tp.NewSink("vmr1", "10.2.1.2:5001")
	sink2 := tp.NewSink("vmr2", "10.2.2.2:5001")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tp.Flood(ctx, "vms1", "10.2.1.2:5001", 1)
	tp.Flood(ctx, "vms2", "10.2.2.2:5001", 16)
	measure := func() (float64, float64) {
		b1, b2, t0 := sink1.Bytes(), sink2.Bytes(), time.Now()
		time.Sleep(6 * time.Second)
		el := time.Since(t0).Seconds()
		return float64(sink1.Bytes()-b1) / el, float64(sink2.Bytes()-b2) / el
	}
	time.Sleep(3 * time.Second)
	off1, off2 := measure()
	t.Logf("without ratekeeper: tenant 1 (guarantee %.0f Mbit/s, 1 flow) %.2f Mbit/s, tenant 2 (16 flows) %.2f Mbit/s",
		float64(guarantee)/mbit, off1/mbit, off2/mbit)

	// tenants on both hosts, then the daemons
	for _, h := range []struct {
		c    *rtnl.Conn
		vnic string
		rx   bool
	}{{rr, "vr1", true}, {rr, "vr2", true}, {rs, "vs1", false}, {rs, "vs2", false}} {
		spec := rkd.TenantSpec{VNIC: h.vnic, Min: guarantee, Max: link}
		if h.rx {
			spec.LinkRate, spec.HighMark, spec.Group = link, 85, 1
		}
		if err := rkd.AddTenant(h.c, spec); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []*rtnl.Conn{rr, rs} {
		if ts, err := rkd.Tenants(c); err != nil || len(ts) != 2 || ts[0].Rx.MinRate != guarantee {
			t.Fatalf("tenant list: %+v %v", ts, err)
		}
	}
	key := []byte("scenario shared key 0123456789")
	var logw io.Writer = io.Discard
	if testing.Verbose() {
		logw = &tlog{t}
	}
	logger := slog.New(slog.NewTextHandler(logw, nil))
	start := func(ns string, cfg rkd.DaemonConfig) *rkd.Daemon {
		cfg.Key, cfg.NetNS, cfg.Log = key, tp.FD(ns), logger
		var d *rkd.Daemon
		tp.Must(ns, func() error {
			var err error
			d, err = rkd.NewDaemon(cfg)
			return err
		})
		return d
	}
	dr := start("hostr", rkd.DaemonConfig{Peers: []rkd.Peer{{Prefix: netip.MustParsePrefix("10.1.0.0/16"),
		Addr: netip.MustParseAddrPort("192.168.0.1:34953")}}})
	ds := start("hosts", rkd.DaemonConfig{Locals: []rkd.Local{
		{Prefix: netip.MustParsePrefix("10.1.1.2/32"), VNIC: "vs1"},
		{Prefix: netip.MustParsePrefix("10.1.2.2/32"), VNIC: "vs2"}}})
	dctx, dcancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { dr.Run(dctx); done <- struct{}{} }()
	go func() { ds.Run(dctx); done <- struct{}{} }()

	time.Sleep(8 * time.Second) // converge
	on1, on2 := measure()
	t.Logf("with ratekeeper:    tenant 1 %.2f Mbit/s, tenant 2 %.2f Mbit/s", on1/mbit, on2/mbit)
	sr, ss := dr.Stats(), ds.Stats()
	loopCuts := ss.Cuts
	t.Logf("daemons: hostr events %d sent %d; hosts received %d cuts %d coalesced %d recoveries %d",
		sr.Events, sr.Sent, ss.Received, ss.Cuts, ss.Coalesced, ss.Recoveries)

	// forged and replayed feedback change nothing and are counted: stop the traffic
	// first, so that no genuine feedback arrives meanwhile
	// (the flows' socket buffers drain for a while after they stop: wait until no cut
	// has come for 1.5 s)
	cancel()
	time.Sleep(2 * time.Second)
	ss = ds.Stats()
	for quiet, deadline := time.Now(), time.Now().Add(20*time.Second); time.Since(quiet) < 1500*time.Millisecond && time.Now().Before(deadline); {
		time.Sleep(250 * time.Millisecond)
		if s := ds.Stats(); s.Cuts != ss.Cuts || s.Received != ss.Received {
			ss, quiet = s, time.Now()
		}
	}
	cs, err := rk.DialConfig(&netlink.Config{NetNS: tp.FD("hosts")})
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	ifb1, _ := rs.LinkByName(rkd.DefaultIFB("vs1"))
	before, _ := cs.Qdisc(uint32(ifb1.Index), 0)
	var seq rkd.Sequencer
	forged := rkd.Feedback{Severity: 300, Seq: seq.Next(), Sender: netip.MustParseAddr("10.1.1.2")}.Seal([]byte("not the key at all!!"))
	replay := rkd.Feedback{Severity: 1, Seq: seq.Next(), Sender: netip.MustParseAddr("10.1.99.99")}.Seal(key)
	tp.Must("hostr", func() error {
		c, err := net.Dial("udp", "192.168.0.1:34953")
		if err != nil {
			return err
		}
		defer c.Close()
		for _, m := range [][]byte{forged, forged, replay, replay, replay} {
			if _, err := c.Write(m); err != nil {
				return err
			}
		}
		return nil
	})
	time.Sleep(300 * time.Millisecond)
	after, _ := cs.Qdisc(uint32(ifb1.Index), 0)
	ss2 := ds.Stats()

	dcancel()
	<-done
	<-done
	restored, _ := cs.Qdisc(uint32(ifb1.Index), 0)
	ifb2, _ := rs.LinkByName(rkd.DefaultIFB("vs2"))
	restored2, _ := cs.Qdisc(uint32(ifb2.Index), 0)

	if off1 >= 0.8*float64(guarantee) {
		t.Errorf("without ratekeeper tenant 1 got %.2f Mbit/s: the scenario does not congest", off1/mbit)
	}
	// goodput excludes ~5% of headers: the guarantee is met at 90% of it
	if on1 < 0.9*float64(guarantee) {
		t.Errorf("with ratekeeper tenant 1 got %.2f Mbit/s, below its guarantee of %.0f Mbit/s", on1/mbit, float64(guarantee)/mbit)
	}
	if sr.Sent == 0 || loopCuts == 0 {
		t.Errorf("no feedback loop: %+v %+v", sr, ss)
	}
	if ss2.Forged-ss.Forged != 2 || ss2.Replayed-ss.Replayed != 2 || ss2.Cuts != ss.Cuts || after.Config.Rate < before.Config.Rate {
		t.Errorf("forged %d replayed %d (want 2 and 2); cuts %d -> %d; tenant 1 rate %d -> %d", ss2.Forged-ss.Forged,
			ss2.Replayed-ss.Replayed, ss.Cuts, ss2.Cuts, before.Config.Rate, after.Config.Rate)
	}
	if restored.Config.Rate != link || restored2.Config.Rate != link {
		t.Errorf("daemon exit did not restore the rates it moved: %d %d", restored.Config.Rate, restored2.Config.Rate)
	}
	t.Logf("ratekeeper: tenant 1 %.2f -> %.2f Mbit/s (guarantee %.0f), tenant 2 %.2f -> %.2f Mbit/s; forged %d, replayed %d refused",
		off1/mbit, on1/mbit, float64(guarantee)/mbit, off2/mbit, on2/mbit, ss2.Forged-ss.Forged, ss2.Replayed-ss.Replayed)
}

type tlog struct{ t *testing.T }

func (l *tlog) Write(b []byte) (int, error) { l.t.Log(string(b)); return len(b), nil }
