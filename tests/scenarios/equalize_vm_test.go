//go:build vmtest

package scenarios

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nlkit/nlkit/netlinkproto/equalize"
	"github.com/nlkit/nlkit/netlinkproto/rtnl"
	"github.com/nlkit/nlkit/tests/vm/vmtest"
	nlkitcmd "github.com/nlkit/nlkit/tools/nlkit/cmd"
)

// The equalize scenario: sender es -- router er == three paths (p1, p2, p3) == ed.
// er routes 10.99.0.0/24 and fd99::/64 (addresses on ed's lo) over the three paths with
// weights 1:1:2; ed answers over p1 only. Shares are counted from er's transmit
// counters on p1..p3.

var eqWeights = []float64{1, 1, 2}

func eqTopo(t *testing.T) *vmtest.Topo {
	tp := vmtest.NewTopo(t, "es", "er", "ed")
	tp.IP("", "link add s0 netns es type veth peer name ri netns er",
		"link add p1 netns er type veth peer name q1 netns ed",
		"link add p2 netns er type veth peer name q2 netns ed",
		"link add p3 netns er type veth peer name q3 netns ed")
	tp.IP("es", "link set lo up", "link set s0 up", "addr add 10.8.0.1/24 dev s0", "addr add fd08::1/64 dev s0 nodad",
		"route add default via 10.8.0.2", "route add ::/0 via fd08::2")
	er := []string{"link set lo up", "link set ri up", "addr add 10.8.0.2/24 dev ri", "addr add fd08::2/64 dev ri nodad"}
	ed := []string{"link set lo up", "addr add 10.99.0.1/32 dev lo", "addr add fd99::1/128 dev lo",
		"route add default via 10.9.1.1", "route add ::/0 via fd09:1::1"}
	for k := 1; k <= 3; k++ {
		er = append(er, fmt.Sprintf("link set p%d up", k), fmt.Sprintf("addr add 10.9.%d.1/24 dev p%d", k, k),
			fmt.Sprintf("addr add fd09:%d::1/64 dev p%d nodad", k, k))
		ed = append([]string{fmt.Sprintf("link set q%d up", k), fmt.Sprintf("addr add 10.9.%d.2/24 dev q%d", k, k),
			fmt.Sprintf("addr add fd09:%d::2/64 dev q%d nodad", k, k)}, ed...)
	}
	tp.IP("er", er...)
	tp.IP("ed", ed...)
	tp.Sysctl("er", "net/ipv4/ip_forward", "1")
	tp.Sysctl("er", "net/ipv6/conf/all/forwarding", "1")
	for _, k := range []string{"all", "default", "q1", "q2", "q3"} {
		tp.Sysctl("ed", "net/ipv4/conf/"+k+"/rp_filter", "0")
	}
	// Forwarded traffic: one packet per segment (no GSO from the sender, no GRO at the
	// router), so that packet shares are segment shares; the router forwards each packet
	// as it came. The router's own paths p1-p3 keep veth's defaults (TSO and GSO on): a
	// local sender's GSO packets would cross them whole, so the local rows see whether
	// the kernel keeps a socket on an equalize route to one packet per lookup.
	for ns, devs := range map[string][]string{"es": {"s0"}, "er": {"ri"}} {
		for _, d := range devs {
			if out, err := exec.Command("ip", "netns", "exec", ns, "ethtool", "-K", d, "tso", "off", "gso", "off", "gro", "off").CombinedOutput(); err != nil {
				t.Fatalf("ethtool %s: %v\n%s", d, err, out)
			}
		}
	}
	// resolve every neighbour before counting
	for k := 1; k <= 3; k++ {
		poke(t, tp, "er", fmt.Sprintf("10.9.%d.2", k), fmt.Sprintf("fd09:%d::2", k))
	}
	poke(t, tp, "es", "10.8.0.2", "fd08::2")
	time.Sleep(500 * time.Millisecond)
	return tp
}

// poke sends a datagram to each address (so that neighbours get resolved).
func poke(t *testing.T, tp *vmtest.Topo, ns string, addrs ...string) {
	t.Helper()
	tp.Must(ns, func() error {
		for _, a := range addrs {
			c, err := net.Dial("udp", hostPort(a, 9))
			if err != nil {
				return err
			}
			_, _ = c.Write([]byte("x"))
			c.Close()
		}
		return nil
	})
}

// eqNlkit runs nlkit in ns, in this process (tools/nlkit/cmd.Run on a thread in ns):
// the same code as the command, without an exec (seconds each on the debug kernel).
func eqNlkit(t *testing.T, tp *vmtest.Topo, ns string, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	code := 0
	tp.Must(ns, func() error {
		code = nlkitcmd.Run(args, &out, &out)
		return nil
	})
	if code != 0 {
		t.Fatalf("nlkit %s: exit %d\n%s", strings.Join(args, " "), code, out.String())
	}
	return out.String()
}

// txPackets reads the transmit packet counters of devs in ns (/proc/net/dev of a
// thread in ns).
func txPackets(t *testing.T, tp *vmtest.Topo, ns string, devs ...string) []uint64 {
	t.Helper()
	pkts, _ := txCounters(t, tp, ns, devs...)
	return pkts
}

// txCounters reads the transmit packet and byte counters of devs in ns.
func txCounters(t *testing.T, tp *vmtest.Topo, ns string, devs ...string) (pkts, bytes []uint64) {
	t.Helper()
	return devCounters(t, tp, ns, 8, devs)
}

// rxCounters reads the receive packet and byte counters of devs in ns.
func rxCounters(t *testing.T, tp *vmtest.Topo, ns string, devs ...string) (pkts, bytes []uint64) {
	t.Helper()
	return devCounters(t, tp, ns, 0, devs)
}

// devCounters reads the bytes (field first) and packets (first+1) of devs from
// /proc/net/dev of a thread in ns.
func devCounters(t *testing.T, tp *vmtest.Topo, ns string, first int, devs []string) (pkts, bytes []uint64) {
	t.Helper()
	pkts, bytes = make([]uint64, len(devs)), make([]uint64, len(devs))
	tp.Must(ns, func() error {
		f, err := os.Open("/proc/thread-self/net/dev")
		if err != nil {
			return err
		}
		defer f.Close()
		s := bufio.NewScanner(f)
		for s.Scan() {
			name, rest, ok := strings.Cut(s.Text(), ":")
			if !ok {
				continue
			}
			fields := strings.Fields(rest)
			for i, d := range devs {
				if strings.TrimSpace(name) == d && len(fields) >= 10 {
					bytes[i], _ = strconv.ParseUint(fields[first], 10, 64)
					pkts[i], _ = strconv.ParseUint(fields[first+1], 10, 64)
				}
			}
		}
		return s.Err()
	})
	return pkts, bytes
}

// eqShares runs send and returns the packets each path carried meanwhile.
func eqShares(t *testing.T, tp *vmtest.Topo, send func()) []uint64 {
	t.Helper()
	pkts, _ := eqTraffic(t, tp, send)
	return pkts
}

// eqTraffic runs send and returns the packets and bytes each path carried meanwhile.
func eqTraffic(t *testing.T, tp *vmtest.Topo, send func()) (pkts, bytes []uint64) {
	t.Helper()
	p0, b0 := txCounters(t, tp, "er", "p1", "p2", "p3")
	send()
	// a TCP sender's buffer drains after close: wait until the paths are quiet
	p1, b1 := txCounters(t, tp, "er", "p1", "p2", "p3")
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		time.Sleep(300 * time.Millisecond)
		pn, bn := txCounters(t, tp, "er", "p1", "p2", "p3")
		if slices.Equal(pn, p1) {
			break
		}
		p1, b1 = pn, bn
	}
	pkts, bytes = make([]uint64, 3), make([]uint64, 3)
	for i := range pkts {
		pkts[i], bytes[i] = p1[i]-p0[i], b1[i]-b0[i]
	}
	return pkts, bytes
}

// eqCheck compares shares with the weights: the largest deviation in percentage points.
func eqDeviation(counts []uint64) (shares []float64, dev float64) {
	var total, wsum float64
	for i, c := range counts {
		total += float64(c)
		wsum += eqWeights[i]
	}
	for i, c := range counts {
		s := float64(c) / math.Max(total, 1)
		shares = append(shares, s)
		dev = math.Max(dev, math.Abs(s-eqWeights[i]/wsum))
	}
	return shares, dev
}

func maxShare(counts []uint64) float64 {
	var total, m uint64
	for _, c := range counts {
		total += c
		m = max(m, c)
	}
	return float64(m) / math.Max(float64(total), 1)
}

// udpSend sends n datagrams (a sequence number each) from ns to addr, at pps (0: as
// fast as the socket goes).
func udpSend(t *testing.T, tp *vmtest.Topo, ns, addr string, n, pps int) {
	t.Helper()
	udpSendCounted(t, tp, ns, addr, n, pps, nil)
}

// udpSendCounted is udpSend that adds one to written after each datagram's write has
// returned (nil: no count). Catching up after a late wake-up, the sender writes
// faster than pps, so written tells how many left in a time window, not pps.
func udpSendCounted(t *testing.T, tp *vmtest.Topo, ns, addr string, n, pps int, written *atomic.Int64) {
	t.Helper()
	tp.Must(ns, func() error {
		c, err := net.Dial("udp", addr)
		if err != nil {
			return err
		}
		defer c.Close()
		b := make([]byte, 64)
		start := time.Now()
		for i := 0; i < n; i++ {
			binary.BigEndian.PutUint32(b, uint32(i))
			if _, err := c.Write(b); err != nil && !isRefused(err) {
				return err
			}
			if written != nil {
				written.Add(1)
			}
			if pps > 0 {
				if d := time.Duration(i+1)*time.Second/time.Duration(pps) - time.Since(start); d > 0 {
					time.Sleep(d)
				}
			}
		}
		return nil
	})
}

func isRefused(err error) bool { return strings.Contains(err.Error(), "connection refused") }

// udpSink counts the datagrams arriving at addr in ns and records their sequence
// numbers.
type udpSink struct {
	c    net.PacketConn
	n    atomic.Int64
	done chan struct{}
	mu   sync.Mutex
	seen map[uint32]bool
}

// missing returns the sequence numbers below n that have not arrived, in order.
func (s *udpSink) missing(n int) []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	var m []int
	for i := 0; i < n; i++ {
		if !s.seen[uint32(i)] {
			m = append(m, i)
		}
	}
	return m
}

func newUDPSink(t *testing.T, tp *vmtest.Topo, ns, addr string) *udpSink {
	s := &udpSink{done: make(chan struct{}), seen: map[uint32]bool{}}
	tp.Must(ns, func() error {
		c, err := net.ListenPacket("udp", addr)
		if err != nil {
			return err
		}
		s.c = c
		// a receive buffer that holds seconds of the flows: a reader starved on a
		// busy host must not drop what the paths delivered (the default 208 KB
		// holds ~270 datagrams)
		rc, err := c.(*net.UDPConn).SyscallConn()
		if err != nil {
			return err
		}
		var serr error
		if err := rc.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 16<<20)
		}); err != nil {
			return err
		}
		return serr
	})
	go func() {
		defer close(s.done)
		b := make([]byte, 2048)
		for {
			n, _, err := s.c.ReadFrom(b)
			if err != nil {
				return
			}
			if n >= 4 {
				s.mu.Lock()
				s.seen[binary.BigEndian.Uint32(b)] = true
				s.mu.Unlock()
			}
			s.n.Add(1)
		}
	}()
	t.Cleanup(func() { s.c.Close(); <-s.done })
	return s
}

// udpRcvbufErrors reads the namespace's UDP RcvbufErrors counter (datagrams dropped
// because a socket's receive buffer was full).
func udpRcvbufErrors(t *testing.T, tp *vmtest.Topo, ns string) int64 {
	t.Helper()
	return snmpCounter(t, tp, ns, "Udp", "RcvbufErrors")
}

// tcpSend writes size bytes over one TCP connection from ns to addr.
func tcpSend(t *testing.T, tp *vmtest.Topo, ns, addr string, size int) {
	t.Helper()
	tp.Must(ns, func() error {
		c, err := net.DialTimeout("tcp", addr, 10*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(120 * time.Second))
		_, err = io.CopyN(c, zeroReader{}, int64(size))
		return err
	})
}

type zeroReader struct{}

func (zeroReader) Read(b []byte) (int, error) { clear(b); return len(b), nil }

func eqFamilies() []struct {
	name, prefix, dst string
	gw                func(k int) string
} {
	return []struct {
		name, prefix, dst string
		gw                func(k int) string
	}{
		{"IPv4", "10.99.0.0/24", "10.99.0.1", func(k int) string { return fmt.Sprintf("10.9.%d.2", k) }},
		{"IPv6", "fd99::/64", "fd99::1", func(k int) string { return fmt.Sprintf("fd09:%d::2", k) }},
	}
}

func multipathArgs(prefix string, gw func(int) string, equalize bool) []string {
	args := []string{"ip", "route", "replace", prefix}
	for k := 1; k <= 3; k++ {
		args = append(args, "nexthop", "via", gw(k), "dev", fmt.Sprintf("p%d", k), "weight", strconv.Itoa(int(eqWeights[k-1])))
	}
	if equalize {
		args = append(args, "equalize")
	}
	return args
}

// maxFrame is the largest Ethernet frame on the paths (MTU 1500 plus the header), as
// veth counts transmitted bytes.
const maxFrame = 1514

func hostPort(ip string, port int) string { return net.JoinHostPort(ip, strconv.Itoa(port)) }

// kernelEqualize says whether the kernel implements equalize itself (nlkit's patch:
// its read-only sysctl), rather than needing the module.
func kernelEqualize() bool {
	_, err := os.Stat(equalize.SysctlPath)
	return err == nil
}

// TestScenarioEqualize: per-packet weighted multipath on real traffic. With nlkit's patch
// (the debug kernel and 7.3-patched) forwarded and locally generated packets follow the weights 1:1:2
// within 1 percentage point, over a legacy multipath route and over a nexthop group, for
// IPv4 and IPv6; without the flag a flow stays on one path. On stock 6.1, 6.12 and 7.3
// the equalize module does the same for forwarded packets.
func TestScenarioEqualize(t *testing.T) {
	vmtest.Require(t)
	tp := eqTopo(t)
	patched := kernelEqualize()
	if vmtest.Patched() && !patched {
		t.Fatalf("kernel %s has no net.ipv4.fib_multipath_equalize: it was built without its patches/linux-*", vmtest.Kernel())
	}
	if !vmtest.Patched() && patched {
		t.Fatalf("stock kernel %s claims equalize support", vmtest.Kernel())
	}
	status := eqNlkit(t, tp, "er", "ip", "equalize", "status")
	t.Logf("nlkit ip equalize status: %s", strings.TrimSpace(status))
	want := "support: module"
	if patched {
		want = "support: kernel"
	}
	if !strings.HasPrefix(status, want) {
		t.Fatalf("detection says %q, want %q", status, want)
	}

	udpN, tcpBytes := 20000, 4<<20
	if vmtest.Kernel() == "debug" {
		udpN, tcpBytes = 2000, 512<<10
	}
	sink4 := tp.NewSink("ed", "10.99.0.1:5001")
	defer sink4.Close()
	sink6 := tp.NewSink("ed", "[fd99::1]:5001")
	defer sink6.Close()

	type row struct {
		kernel, family, route, traffic string
		counts                         []uint64
		shares                         []float64
		dev                            float64
		mean                           float64 // bytes per packet
		verdict                        string
		took                           time.Duration
	}
	var rows []row
	last := time.Now()
	record := func(fam, route, traffic string, send func(), spread bool, must bool) {
		counts, bytes := eqTraffic(t, tp, send)
		shares, dev := eqDeviation(counts)
		var npkt, nbytes uint64
		for i := range counts {
			npkt, nbytes = npkt+counts[i], nbytes+bytes[i]
		}
		mean := float64(nbytes) / math.Max(float64(npkt), 1)
		r := row{vmtest.Kernel(), fam, route, traffic, counts, shares, dev, mean, "", time.Since(last).Round(100 * time.Millisecond)}
		last = time.Now()
		// A spread route decides per packet: a GSO packet (one decision for many
		// segments) larger than an Ethernet frame must not leave on it.
		if spread && mean > maxFrame {
			t.Errorf("%s %s %s: %.0f bytes per packet on the paths, more than a %d-byte frame: GSO packets took one decision for all their segments", fam, route, traffic, mean, maxFrame)
		}
		switch {
		case spread && dev <= 0.01:
			r.verdict = "spread 1:1:2"
		case spread:
			r.verdict = "NOT within 1%"
			if must {
				t.Errorf("%s %s %s: shares %.4f %.4f %.4f deviate %.2f points from 1:1:2", fam, route, traffic, shares[0], shares[1], shares[2], 100*dev)
			}
		case maxShare(bytes) >= 0.99:
			// by bytes: a flow's data on one path (its SYN can take another: the
			// kernel routes it before the source port is chosen), whatever GSO did
			r.verdict = "one path"
		default:
			r.verdict = "NOT on one path"
			if must {
				bs, _ := eqDeviation(bytes)
				t.Errorf("%s %s %s without equalize: byte shares %.4f %.4f %.4f, not on one path", fam, route, traffic, bs[0], bs[1], bs[2])
			}
		}
		rows = append(rows, r)
	}

	for _, f := range eqFamilies() {
		// legacy multipath route, through nlkit ip route
		eqNlkit(t, tp, "er", multipathArgs(f.prefix, f.gw, true)...)
		show := eqNlkit(t, tp, "er", "ip", "route", "show", f.prefix)
		t.Logf("%s: nlkit ip route show %s:\n%s", f.name, f.prefix, show)
		if !strings.Contains(show, "equalize") {
			t.Errorf("%s: route show does not mark the equalize route:\n%s", f.name, show)
		}
		udpDst, tcpDst := hostPort(f.dst, 9000), hostPort(f.dst, 5001)
		record(f.name, "multipath", "forwarded UDP", func() { udpSend(t, tp, "es", udpDst, udpN, 0) }, true, true)
		record(f.name, "multipath", "forwarded TCP", func() { tcpSend(t, tp, "es", tcpDst, tcpBytes) }, true, true)
		// locally generated: spread by the patch only (the module sees forwarded packets)
		record(f.name, "multipath", "local UDP", func() { udpSend(t, tp, "er", udpDst, udpN, 0) }, patched, true)
		record(f.name, "multipath", "local TCP", func() { tcpSend(t, tp, "er", tcpDst, tcpBytes) }, patched, true)

		// the same route without the flag: a flow stays on one path
		eqNlkit(t, tp, "er", multipathArgs(f.prefix, f.gw, false)...)
		record(f.name, "multipath, no flag", "forwarded UDP", func() { udpSend(t, tp, "es", udpDst, udpN, 0) }, false, true)
		record(f.name, "multipath, no flag", "local TCP", func() { tcpSend(t, tp, "er", tcpDst, tcpBytes) }, false, true)

		// a nexthop group (hash-threshold) with the same weights
		base := 10
		if f.name == "IPv6" {
			base = 20
		}
		for k := 1; k <= 3; k++ {
			eqNlkit(t, tp, "er", "ip", "nexthop", "replace", "id", strconv.Itoa(base+k), "via", f.gw(k), "dev", fmt.Sprintf("p%d", k))
		}
		eqNlkit(t, tp, "er", "ip", "nexthop", "replace", "id", strconv.Itoa(base), "group",
			fmt.Sprintf("%d,1/%d,1/%d,2", base+1, base+2, base+3))
		eqNlkit(t, tp, "er", "ip", "route", "replace", f.prefix, "nhid", strconv.Itoa(base), "equalize")
		record(f.name, "nexthop group", "forwarded UDP", func() { udpSend(t, tp, "es", udpDst, udpN, 0) }, true, true)
		record(f.name, "nexthop group", "local UDP", func() { udpSend(t, tp, "er", udpDst, udpN, 0) }, patched, true)
		record(f.name, "nexthop group", "local TCP", func() { tcpSend(t, tp, "er", tcpDst, tcpBytes) }, patched, true)
		eqNlkit(t, tp, "er", "ip", "route", "del", f.prefix)
		eqNlkit(t, tp, "er", "ip", "nexthop", "del", "id", strconv.Itoa(base))
	}

	var b strings.Builder
	fmt.Fprintf(&b, "\n%-6s %-6s %-19s %-14s %8s %8s %8s   %-34s %6s %-14s %s\n", "kernel", "family", "route", "traffic", "p1", "p2", "p3", "shares (weights: .25 .25 .50)", "B/pkt", "verdict", "took")
	for _, r := range rows {
		dev := fmt.Sprintf("±%.2f pt", 100*r.dev)
		if r.verdict == "one path" {
			dev = "-"
		}
		fmt.Fprintf(&b, "%-6s %-6s %-19s %-14s %8d %8d %8d   %.4f %.4f %.4f %-10s %6.0f %-14s %s\n", r.kernel, r.family, r.route, r.traffic,
			r.counts[0], r.counts[1], r.counts[2], r.shares[0], r.shares[1], r.shares[2], dev, r.mean, r.verdict, r.took)
	}
	t.Log(b.String())
}

// TestScenarioEqualizeNexthopDown: a path going down moves its share to the others, 1:1,
// and a paced UDP flow loses only packets that reached the router while the kernel took
// the device down (its qdisc drops from the moment it stops until the FIB marks the
// nexthop dead, within the RTM_NEWLINK request) or were on their way on p3.
func TestScenarioEqualizeNexthopDown(t *testing.T) {
	vmtest.Require(t)
	tp := eqTopo(t)
	eqNlkit(t, tp, "er", multipathArgs("10.99.0.0/24", func(k int) string { return fmt.Sprintf("10.9.%d.2", k) }, true)...)
	sink := newUDPSink(t, tp, "ed", "10.99.0.1:9100")
	const pps, secs = 2000, 4
	// datagrams whose write returned before the down began but that may not have
	// passed er's routing yet (a veth hop and a backlog): at most 2 ms of the flow
	const inflight = pps * 2 / 1000
	var written atomic.Int64
	rcvbufErrs := udpRcvbufErrors(t, tp, "ed")
	rt, err := rtnl.Dial(tp.FD("er"))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	p3, err := rt.LinkByName("p3")
	if err != nil {
		t.Fatal(err)
	}
	devs := []string{"p1", "p2", "p3"}
	before := txPackets(t, tp, "er", devs...)
	var pre, post []uint64
	var took time.Duration
	var wBefore, wAfter int64
	var downErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		time.Sleep(secs * time.Second / 2)
		pre = txPackets(t, tp, "er", devs...)
		wBefore = written.Load()
		t0 := time.Now()
		downErr = rt.SetDown(p3.Index)
		took = time.Since(t0)
		wAfter = written.Load()
		post = txPackets(t, tp, "er", devs...)
	}()
	udpSendCounted(t, tp, "es", "10.99.0.1:9100", pps*secs, pps, &written)
	wg.Wait()
	if downErr != nil {
		t.Fatal(downErr)
	}
	time.Sleep(500 * time.Millisecond)
	after := txPackets(t, tp, "er", devs...)
	if err := rt.SetUp(p3.Index); err != nil {
		t.Fatal(err)
	}
	sent := int64(pps * secs)
	// the sink's reader may lag behind its socket: wait until it has read what arrived
	got := sink.n.Load()
	for deadline := time.Now().Add(3 * time.Second); got < sent && time.Now().Before(deadline); got = sink.n.Load() {
		time.Sleep(100 * time.Millisecond)
	}
	first := []uint64{pre[0] - before[0], pre[1] - before[1], pre[2] - before[2]}
	second := []uint64{after[0] - post[0], after[1] - post[1], after[2] - post[2]}
	s1, dev1 := eqDeviation(first)
	// A datagram can be lost only if er routed it to p3 while p3 went down: its write
	// returned at most inflight datagrams before the down began, and began before the
	// down's ack (#wAfter may have been in the middle of its write then).
	lo, hi := max(wBefore-inflight, 0), wAfter
	lost := sink.missing(int(sent))
	t.Logf("before p3 down: p1 %d p2 %d p3 %d (shares %.3f %.3f %.3f, ±%.2f pt)", first[0], first[1], first[2], s1[0], s1[1], s1[2], 100*dev1)
	t.Logf("taking p3 down took %v (RTM_NEWLINK to its ack); the sender wrote %d datagrams meanwhile, from #%d (%.1f at %d/s)",
		took.Round(time.Microsecond), wAfter-wBefore, wBefore, took.Seconds()*pps, pps)
	t.Logf("after p3 down:  p1 %d p2 %d p3 %d", second[0], second[1], second[2])
	t.Logf("sent %d, received %d, lost %d: %v; the sink's socket dropped %d (UDP RcvbufErrors in ed)",
		sent, got, len(lost), lost, udpRcvbufErrors(t, tp, "ed")-rcvbufErrs)
	if dev1 > 0.02 {
		t.Errorf("before the failure the shares were not 1:1:2")
	}
	if second[2] != 0 {
		t.Errorf("p3 carried %d packets after it went down", second[2])
	}
	if tot := second[0] + second[1]; tot == 0 || math.Abs(float64(second[0])/float64(tot)-0.5) > 0.02 {
		t.Errorf("after the failure p1 and p2 did not share 1:1: %d and %d", second[0], second[1])
	}
	for _, i := range lost {
		if int64(i) < lo || int64(i) > hi {
			t.Errorf("lost #%d, outside #%d-#%d (written while p3 went down, or at most %d before)", i, lo, hi, inflight)
		}
	}
	if int64(len(lost)) != sent-got {
		t.Errorf("the sink counted %d datagrams but %d distinct sequence numbers", got, sent-int64(len(lost)))
	}
}
