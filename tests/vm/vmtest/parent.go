package vmtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nlkit/nlkit/netlinkproto/rtnl"
)

// TC runs tc in netns ns with nlkit's qdisc plugins (iproute-ext) on TC_LIB_DIR.
func TC(t testing.TB, ns string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("tc", append([]string{"-n", ns}, args...)...)
	cmd.Env = append(os.Environ(), "TC_LIB_DIR="+filepath.Join(RepoRoot(t), "iproute-ext"))
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Parents are the classful qdiscs whose dequeue asks a leaf's peek first and then takes
// the peeked packet (qdisc_dequeue_peeked): a leaf that shapes must answer peek with the
// packet its dequeue will return, or with nothing while it waits.
// AddUnderParent also knows "qfq" and "ets", which behave as DRR here.
var Parents = []string{"hfsc", "drr"}

// AddUnderParent makes parent dev's root (handle 1:) with one class 1:1 that gets every
// packet, and the leaf qdisc (tc words: the kind and its options, e.g. "ratekeeper",
// "rate", "8mbit") as that class's qdisc with the given handle (hex, without colon).
func AddUnderParent(t testing.TB, ns, dev, parent, handle string, leaf ...string) {
	t.Helper()
	var cmds [][]string
	switch parent {
	case "hfsc":
		cmds = [][]string{
			{"qdisc", "add", "dev", dev, "root", "handle", "1:", "hfsc", "default", "1"},
			{"class", "add", "dev", dev, "parent", "1:", "classid", "1:1", "hfsc", "sc", "rate", "10gbit", "ul", "rate", "10gbit"},
		}
	case "drr", "qfq", "ets":
		cmds = [][]string{{"qdisc", "add", "dev", dev, "root", "handle", "1:", parent}}
		switch parent {
		case "drr":
			cmds = append(cmds, []string{"class", "add", "dev", dev, "parent", "1:", "classid", "1:1", "drr"})
		case "qfq":
			cmds = append(cmds, []string{"class", "add", "dev", dev, "parent", "1:", "classid", "1:1", "qfq", "weight", "1"})
		case "ets":
			cmds[0] = append(cmds[0], "bands", "1", "quanta", "1514", "priomap", "0")
		}
		cmds = append(cmds, []string{"filter", "add", "dev", dev, "parent", "1:", "matchall", "classid", "1:1"})
	default:
		t.Fatalf("no parent %q", parent)
	}
	cmds = append(cmds, append([]string{"qdisc", "add", "dev", dev, "parent", "1:1", "handle", handle + ":"}, leaf...))
	for _, c := range cmds {
		if out, err := TC(t, ns, c...); err != nil {
			t.Fatalf("tc %s: %v\n%s", strings.Join(c, " "), err, out)
		}
	}
}

// ParentResult is what one leaf did under one parent.
type ParentResult struct {
	Parent, Leaf string
	Goodput      float64    // bytes/s at the sink
	Warnings     []string   // the kernel's "non-work-conserving" lines about the leaf
	Counters     rtnl.Qdisc // the leaf's counters at the end of the measurement
}

// leafQdisc reads the counters of the qdisc with handle (hex, without colon) in ns.
func leafQdisc(t *testing.T, tp *Topo, ns, handle string) rtnl.Qdisc {
	t.Helper()
	h, err := strconv.ParseUint(handle, 16, 16)
	if err != nil {
		t.Fatal(err)
	}
	c, err := rtnl.Dial(tp.FD(ns))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	qs, err := c.Qdiscs(0)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range qs {
		if q.Handle == uint32(h)<<16 {
			return q
		}
	}
	t.Fatalf("no qdisc %s: in %s", handle, ns)
	return rtnl.Qdisc{}
}

// UnderParentsFor puts each leaf (tc words: kind and options) under each of Parents
// on a veth between two fresh namespaces, floods TCP through it, and returns the
// goodput over window and the kernel's non-work-conserving warnings about the leaf, in
// the order parent by parent, leaf by leaf. Under one parent the leaves run at the
// same time (parallel subtests, a network each), so a shaper and the reference beside
// it see the same guest. Callers pass tbf at the same rate first: the in-tree shaper is
// the reference. A subtest that fails leaves its result empty (Parent "").
func UnderParentsFor(t *testing.T, window time.Duration, leaves ...[]string) []ParentResult {
	t.Helper()
	res := make([]ParentResult, len(Parents)*len(leaves))
	for pi, parent := range Parents {
		t.Run(parent, func(t *testing.T) {
			for li, leaf := range leaves {
				n := pi*len(leaves) + li + 1
				t.Run(leaf[0], func(t *testing.T) {
					t.Parallel()
					res[n-1] = underParent(t, n, parent, window, leaf)
				})
			}
		})
	}
	return res
}

// underParent measures one leaf under one parent, in namespaces and with a leaf
// handle numbered n.
func underParent(t *testing.T, n int, parent string, window time.Duration, leaf []string) ParentResult {
	a, b := fmt.Sprintf("upa%d", n), fmt.Sprintf("upb%d", n)
	tp := NewVeths(t, Veth{A: a, DevA: "a0", AddrA: "10.9.0.1/24", B: b, DevB: "b0", AddrB: "10.9.0.2/24"})
	// a fresh handle per run: the kernel warns once per qdisc, by handle
	handle := fmt.Sprintf("%x", 0x100+n)
	kmsg := OpenKmsg(t)
	AddUnderParent(t, a, "a0", parent, handle, leaf...)
	sink := tp.NewSink(b, "10.9.0.2:5001")
	defer sink.Close() // on a failure below; a second Close is harmless
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tp.Flood(ctx, a, "10.9.0.2:5001", 2)
	time.Sleep(500 * time.Millisecond)
	rate := sink.Rate(window)
	leafStats := leafQdisc(t, tp, a, handle)
	cancel()
	sink.Close()
	warn := kmsg.Lines(fmt.Sprintf(" %s qdisc %s: is non-work-conserving", leaf[0], strings.ToUpper(handle)))
	return ParentResult{parent, leaf[0], rate, warn, leafStats}
}

// CheckUnderParents is the classful-parent test both shapers share: tbf (ref, tc words)
// and the shaper (leaf) at the same rate (bytes/s) under each of Parents, goodput
// measured over window. The parent must warn "non-work-conserving" about the shaper
// when, and only when, it warns about tbf; the shaper must not leak above its rate
// (5%) nor stall (less than half of tbf). tbf answers peek with the packet its dequeue
// will return (qdisc_peek_dequeued); a shaper that answered with the head of its queue,
// which its dequeue then refused, drew HFSC's warning and DRR's deficit charge. The warning comparison holds only while
// both leaves have a backlog, so tbf must have shaped (reached 80% of the rate): a
// guest that cannot offer the rate fails here, saying so, instead of comparing
// warnings that say nothing (tbf warns only when it runs out of tokens).
func CheckUnderParents(t *testing.T, rate float64, window time.Duration, ref, leaf []string) {
	t.Helper()
	const mbit = 1000 * 1000 / 8
	res := UnderParentsFor(t, window, ref, leaf)
	source := func(ws []string) string {
		var s []string
		for _, w := range ws {
			s = append(s, strings.SplitN(w, ":", 2)[0])
		}
		return strings.Join(s, ",")
	}
	kind := leaf[0]
	for i := 0; i+1 < len(res); i += 2 {
		r, got := res[i], res[i+1]
		if r.Parent == "" || got.Parent == "" {
			continue // its subtest failed and said why
		}
		t.Logf("under %-4s: tbf %5.2f Mbit/s, warned by [%s], %d packets %d dropped; %s %5.2f Mbit/s, warned by [%s], %d packets %d dropped", got.Parent,
			r.Goodput/mbit, source(r.Warnings), r.Counters.Packets, r.Counters.Drops,
			kind, got.Goodput/mbit, source(got.Warnings), got.Counters.Packets, got.Counters.Drops)
		if r.Goodput < 0.8*rate {
			t.Errorf("under %s tbf sent %.2f Mbit/s at rate %.2f: the guest did not offer the rate, so the warnings compare nothing",
				got.Parent, r.Goodput/mbit, rate/mbit)
			continue
		}
		// which of the parent's sites warns first depends on bursts (tbf's burst, a
		// pacer's none); whether the parent finds the leaf non-work-conserving does not
		if (len(r.Warnings) == 0) != (len(got.Warnings) == 0) {
			t.Errorf("under %s the kernel warned about %s %q, about tbf %q", got.Parent, kind, got.Warnings, r.Warnings)
		}
		if got.Goodput > 1.05*rate {
			t.Errorf("under %s %s let %.2f Mbit/s through at rate %.2f Mbit/s", got.Parent, kind, got.Goodput/mbit, rate/mbit)
		}
		if got.Goodput < 0.5*r.Goodput {
			t.Errorf("under %s %s sent %.2f Mbit/s where tbf sent %.2f: it stalls", got.Parent, kind, got.Goodput/mbit, r.Goodput/mbit)
		}
	}
}
