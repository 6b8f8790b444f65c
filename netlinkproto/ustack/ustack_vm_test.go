//go:build vmtest

package ustack_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nlkit/nlkit/netlinkproto/genl"
	"github.com/nlkit/nlkit/netlinkproto/ustack"
	"github.com/nlkit/nlkit/netlinkproto/ustack/responder"
	"github.com/nlkit/nlkit/tests/vm/vmtest"
	nlkitcmd "github.com/nlkit/nlkit/tools/nlkit/cmd"
)

// TestMain lets the binary act as a child: the responder (a user-level stack run as
// its own process, so that a test can kill it), or a caller without privileges.
func TestMain(m *testing.M) {
	switch os.Getenv(vmtest.ChildEnv) {
	case "":
		os.Exit(m.Run())
	case "responder":
		os.Exit(responderMain())
	default:
		os.Exit(unprivilegedMain(os.Getenv(vmtest.ChildEnv)))
	}
}

// responderMain runs the responder on $LINK with a port $PORT of 2+2 queues, prints
// "ready IFINDEX" and each configuration the port takes as "config JSON", and on
// SIGTERM closes it (last counters pushed, carrier down).
func responderMain() int {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	out := json.NewEncoder(os.Stdout)
	r, err := responder.Start(responder.Config{Link: os.Getenv("LINK"), Interval: 20 * time.Millisecond,
		Port: ustack.PortConfig{Name: os.Getenv("PORT"), RxQueues: 2, TxQueues: 2},
		OnConfig: func(c ustack.Config) {
			fmt.Print("config ")
			out.Encode(c)
		}})
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	fmt.Println("ready", r.Port().Index)
	<-sig
	if err := r.Close(); err != nil {
		fmt.Println("error", err)
		return 1
	}
	return 0
}

// unprivilegedMain tries to create a port, and prints the outcome.
func unprivilegedMain(mode string) int {
	c, err := ustack.Dial()
	if err == nil {
		_, err = c.NewPort(ustack.PortConfig{Name: "upriv0"})
		c.Close()
	}
	fmt.Printf("%s: %v\n", mode, err)
	return 0
}

// child is the responder's process, its output lines in a channel.
type child struct {
	cmd   *exec.Cmd
	lines chan string
}

func startResponder(t *testing.T, ns, link, port string) (*child, int) {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", ns, os.Args[0])
	cmd.Env = append(os.Environ(), vmtest.ChildEnv+"=responder", "LINK="+link, "PORT="+port)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, lines: make(chan string, 100)}
	go func() {
		s := bufio.NewScanner(out)
		for s.Scan() {
			c.lines <- s.Text()
		}
		close(c.lines)
	}()
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	l := c.next(t, "ready ", 20*time.Second)
	idx, err := strconv.Atoi(strings.TrimPrefix(l, "ready "))
	if err != nil {
		t.Fatalf("responder: %q", l)
	}
	return c, idx
}

// next waits for the child's next line that starts with prefix.
func (c *child) next(t *testing.T, prefix string, timeout time.Duration) string {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				t.Fatalf("responder exited before printing %q", prefix)
			}
			if strings.HasPrefix(l, "error") {
				t.Fatalf("responder: %s", l)
			}
			if strings.HasPrefix(l, prefix) {
				return l
			}
		case <-deadline:
			t.Fatalf("responder printed no %q within %v", prefix, timeout)
		}
	}
}

// configWhere waits for the responder to report a configuration for which ok holds.
func (c *child) configWhere(t *testing.T, what string, ok func(ustack.Config) bool) ustack.Config {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var cfg ustack.Config
		l := c.next(t, "config ", time.Until(deadline))
		if err := json.Unmarshal([]byte(strings.TrimPrefix(l, "config ")), &cfg); err != nil {
			t.Fatalf("responder config %q: %v", l, err)
		}
		if ok(cfg) {
			return cfg
		}
	}
	t.Fatalf("the responder never learnt %s", what)
	return ustack.Config{}
}

// linkStats is a device's statistics as `ip -j -s link show` prints them, with its
// flags.
type linkStats struct {
	Flags []string `json:"flags"`
	Stats struct {
		RX struct {
			Bytes, Packets, Errors, Dropped, Multicast uint64
		} `json:"rx"`
		TX struct {
			Bytes, Packets, Errors, Dropped uint64
		} `json:"tx"`
	} `json:"stats64"`
}

func ipStats(t *testing.T, ns, dev string) linkStats {
	t.Helper()
	out, err := exec.Command("ip", "-n", ns, "-j", "-s", "link", "show", "dev", dev).CombinedOutput()
	if err != nil {
		t.Fatalf("ip -j -s link show %s: %v\n%s", dev, err, out)
	}
	var l []linkStats
	if err := json.Unmarshal(out, &l); err != nil || len(l) != 1 {
		t.Fatalf("ip -j -s link show %s: %v\n%s", dev, err, out)
	}
	return l[0]
}

func (l linkStats) has(flag string) bool {
	for _, f := range l.Flags {
		if f == flag {
			return true
		}
	}
	return false
}

// udpEcho sends n datagrams to addr:7 from namespace ns and counts the echoes.
func udpEcho(t *testing.T, tp *vmtest.Topo, ns, addr string, n int) (echoed int) {
	t.Helper()
	tp.Must(ns, func() error {
		c, err := net.Dial("udp4", addr+":7")
		if err != nil {
			return err
		}
		defer c.Close()
		buf := make([]byte, 2048)
		for i := 0; i < n; i++ {
			msg := fmt.Sprintf("echo %d %s", i, strings.Repeat("x", i*37))
			if _, err := c.Write([]byte(msg)); err != nil {
				return err
			}
			c.SetReadDeadline(time.Now().Add(time.Second))
			m, err := c.Read(buf)
			if err == nil && string(buf[:m]) == msg {
				echoed++
			}
		}
		return nil
	})
	return echoed
}

// ping sends n ICMP echo requests to addr from namespace ns (a raw socket: the
// guest has no ping) and counts the replies.
func ping(t *testing.T, tp *vmtest.Topo, ns, addr string, n int) (replies int) {
	t.Helper()
	tp.Must(ns, func() error {
		c, err := net.ListenPacket("ip4:icmp", "0.0.0.0")
		if err != nil {
			return err
		}
		defer c.Close()
		dst := &net.IPAddr{IP: net.ParseIP(addr)}
		buf := make([]byte, 1500)
		for i := 0; i < n; i++ {
			req := []byte{8, 0, 0, 0, 0x4e, 0x4c, 0, byte(i), 'n', 'l', 'k', 'i', 't'}
			var s uint32
			for j := 0; j+1 < len(req); j += 2 {
				s += uint32(req[j])<<8 | uint32(req[j+1])
			}
			s += uint32(req[len(req)-1]) << 8
			for s>>16 != 0 {
				s = s&0xffff + s>>16
			}
			req[2], req[3] = byte(^s>>8), byte(^s)
			if _, err := c.WriteTo(req, dst); err != nil {
				return err
			}
			c.SetReadDeadline(time.Now().Add(time.Second))
			for {
				m, _, err := c.ReadFrom(buf)
				if err != nil {
					break
				}
				if m >= 8 && buf[0] == 0 && buf[4] == 0x4e && buf[7] == byte(i) {
					replies++
					break
				}
			}
		}
		return nil
	})
	return replies
}

// The proof: a user-level stack (the responder, AF_PACKET on a veth, its own
// process) answers ARP, ICMP echo and UDP echo for the address a user gave its ustack
// port with ip, learns a new address without restarting, and mirrors its counters
// into the port: ip -s link, /proc/net/dev and ethtool -S agree exactly with what the
// peer's veth sent and received. Killed, its port goes carrier-off with its counters
// frozen, and is unowned.
func TestResponderOnAVeth(t *testing.T) {
	vmtest.Require(t)
	tp := vmtest.NewTopo(t, "peer", "stack")
	for _, ns := range []string{"peer", "stack"} {
		// nothing but the test's own frames on the wire: no IPv6 (ND, MLD)
		tp.Sysctl(ns, "net/ipv6/conf/default/disable_ipv6", "1")
		tp.Sysctl(ns, "net/ipv6/conf/all/disable_ipv6", "1")
	}
	tp.IP("", "link add vp netns peer type veth peer name vs netns stack")
	tp.IP("peer", "link set lo up", "addr add 10.0.0.1/24 dev vp", "link set vp up")
	tp.IP("stack", "link set lo up", "link set vs up")
	// the NIC belongs to the stack: the kernel of its netns sees none of its frames
	// (the packet socket takes them before ingress)
	for _, args := range [][]string{{"qdisc", "add", "dev", "vs", "clsact"},
		{"filter", "add", "dev", "vs", "ingress", "matchall", "action", "drop"}} {
		if out, err := vmtest.TC(t, "stack", args...); err != nil {
			t.Fatalf("tc %v: %v\n%s", args, err, out)
		}
	}

	r, idx := startResponder(t, "stack", "vs", "ustack0")
	tp.IP("stack", "addr add 10.0.0.2/24 dev ustack0", "link set ustack0 up")
	r.configWhere(t, "10.0.0.2/24", func(c ustack.Config) bool { return c.Has(netip.MustParseAddr("10.0.0.2")) })
	if got := ipStats(t, "stack", "ustack0"); !got.has("LOWER_UP") {
		t.Fatalf("ustack0 with its stack running: flags %v, want LOWER_UP", got.Flags)
	}

	if n := udpEcho(t, tp, "peer", "10.0.0.2", 20); n != 20 {
		t.Errorf("UDP echo to 10.0.0.2: %d of 20 answered", n)
	}
	if n := ping(t, tp, "peer", "10.0.0.2", 10); n != 10 {
		t.Errorf("ping 10.0.0.2: %d of 10 answered", n)
	}

	// a new address, a route and a neighbour: learnt without a restart
	tp.IP("stack", "addr del 10.0.0.2/24 dev ustack0", "addr add 10.0.0.3/24 dev ustack0",
		"route add 192.168.7.0/24 via 10.0.0.1 dev ustack0",
		"neigh add 10.0.0.1 lladdr 02:00:00:00:00:01 dev ustack0 nud permanent")
	cfg := r.configWhere(t, "10.0.0.3/24, its route and neighbour", func(c ustack.Config) bool {
		if !c.Has(netip.MustParseAddr("10.0.0.3")) || c.Has(netip.MustParseAddr("10.0.0.2")) {
			return false
		}
		route, neigh := false, false
		for _, r := range c.Routes {
			route = route || (r.Dst.String() == "192.168.7.0/24" && r.Gateway.String() == "10.0.0.1")
		}
		for _, n := range c.Neighs {
			neigh = neigh || (n.IP.String() == "10.0.0.1" && n.MAC.String() == "02:00:00:00:00:01")
		}
		return route && neigh
	})
	t.Logf("responder's configuration: addrs %v routes %v neighs %d", cfg.Addrs, cfg.Routes, len(cfg.Neighs))
	if n := udpEcho(t, tp, "peer", "10.0.0.3", 10); n != 10 {
		t.Errorf("UDP echo to the new address 10.0.0.3: %d of 10 answered", n)
	}
	if n := udpEcho(t, tp, "peer", "10.0.0.2", 1); n != 0 {
		t.Errorf("UDP echo to the old address 10.0.0.2: answered, want no answer")
	}

	// what the kernel sends on the port is dropped and counted (the route and
	// neighbour above make it one frame per datagram)
	var c *ustack.Client
	tp.Must("stack", func() (err error) { c, err = ustack.Dial(); return err })
	defer c.Close()
	tp.Must("stack", func() error {
		s, err := net.Dial("udp4", "192.168.7.9:9")
		if err != nil {
			return err
		}
		defer s.Close()
		for i := 0; i < 3; i++ {
			s.Write([]byte("kernel"))
		}
		return nil
	})

	// traffic has stopped: the port's counters are the peer's, mirrored
	var port, vp linkStats
	deadline := time.Now().Add(5 * time.Second)
	for {
		port, vp = ipStats(t, "stack", "ustack0"), ipStats(t, "peer", "vp")
		ps, vs := port.Stats, vp.Stats
		if ps.RX.Packets == vs.TX.Packets && ps.RX.Bytes == vs.TX.Bytes && ps.TX.Packets == vs.RX.Packets &&
			ps.TX.Bytes == vs.RX.Bytes || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	ps, vs := port.Stats, vp.Stats
	t.Logf("ustack0 rx %d packets %d bytes (multicast %d), tx %d packets %d bytes, tx dropped %d; vp tx %d/%d rx %d/%d",
		ps.RX.Packets, ps.RX.Bytes, ps.RX.Multicast, ps.TX.Packets, ps.TX.Bytes, ps.TX.Dropped,
		vs.TX.Packets, vs.TX.Bytes, vs.RX.Packets, vs.RX.Bytes)
	if ps.RX.Packets != vs.TX.Packets || ps.RX.Bytes != vs.TX.Bytes {
		t.Errorf("ustack0 received %d packets, %d bytes; the peer sent %d, %d", ps.RX.Packets, ps.RX.Bytes, vs.TX.Packets, vs.TX.Bytes)
	}
	if ps.TX.Packets != vs.RX.Packets || ps.TX.Bytes != vs.RX.Bytes {
		t.Errorf("ustack0 sent %d packets, %d bytes; the peer received %d, %d", ps.TX.Packets, ps.TX.Bytes, vs.RX.Packets, vs.RX.Bytes)
	}
	// 20+10+1 datagrams and 10 pings, 40 of them answered, and two broadcast ARP
	// requests (for 10.0.0.2 and 10.0.0.3), answered
	if ps.RX.Packets < 43 || ps.TX.Packets < 42 || ps.RX.Multicast < 2 || ps.RX.Multicast > ps.RX.Packets {
		t.Errorf("ustack0 rx %d (multicast %d) tx %d: want >= 43 (>= 2 broadcast ARP) and >= 42", ps.RX.Packets, ps.RX.Multicast, ps.TX.Packets)
	}
	p, err := c.Port(ustack.ByIndex(idx))
	if err != nil {
		t.Fatal(err)
	}
	if p.KernelDropped < 3 || ps.TX.Dropped != p.Stats.TxDropped+p.KernelDropped {
		t.Errorf("kernel-dropped %d (want >= 3: the datagrams sent on ustack0), ip's tx dropped %d, want the stack's %d + it",
			p.KernelDropped, ps.TX.Dropped, p.Stats.TxDropped)
	}
	checkProcNetDev(t, tp, "stack", "ustack0", ps.RX.Packets, ps.TX.Packets)
	checkEthtoolQueues(t, "stack", "ustack0", ps.RX.Packets, ps.RX.Bytes, ps.TX.Packets, ps.TX.Bytes)

	// killed: carrier off, counters frozen, nobody owns the port
	if err := r.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	r.cmd.Wait()
	var after linkStats
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if after = ipStats(t, "stack", "ustack0"); after.has("NO-CARRIER") {
			break
		}
	}
	if !after.has("NO-CARRIER") || after.has("LOWER_UP") {
		t.Errorf("ustack0 after its stack was killed: flags %v, want NO-CARRIER", after.Flags)
	}
	if after.Stats.RX.Packets != ps.RX.Packets || after.Stats.TX.Bytes != ps.TX.Bytes {
		t.Errorf("counters moved after the kill: rx %d -> %d packets, tx %d -> %d bytes", ps.RX.Packets,
			after.Stats.RX.Packets, ps.TX.Bytes, after.Stats.TX.Bytes)
	}
	if p, err := c.Port(ustack.ByIndex(idx)); err != nil || p.Owner != 0 || p.Carrier {
		t.Errorf("port after the kill: owner %d carrier %v (%v), want no owner, no carrier", p.Owner, p.Carrier, err)
	}
}

// checkProcNetDev finds dev's line in the netns's /proc/net/dev.
func checkProcNetDev(t *testing.T, tp *vmtest.Topo, ns, dev string, rx, tx uint64) {
	t.Helper()
	var line string
	tp.Must(ns, func() error {
		b, err := os.ReadFile("/proc/thread-self/net/dev")
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), dev+":") {
				line = l
			}
		}
		return err
	})
	f := strings.Fields(strings.SplitN(line, ":", 2)[1])
	// receive: bytes packets errs drop fifo frame compressed multicast; transmit: bytes packets ...
	if len(f) < 16 || f[1] != strconv.FormatUint(rx, 10) || f[9] != strconv.FormatUint(tx, 10) {
		t.Errorf("/proc/net/dev %q: want rx packets %d, tx packets %d", line, rx, tx)
	}
}

// checkEthtoolQueues reads ethtool -S: the queues' counters add up to the port's.
func checkEthtoolQueues(t *testing.T, ns, dev string, rxp, rxb, txp, txb uint64) {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", ns, "ethtool", "-S", dev).CombinedOutput()
	if err != nil {
		t.Fatalf("ethtool -S %s: %v\n%s", dev, err, out)
	}
	sum := map[string]uint64{}
	names := 0
	for _, l := range strings.Split(string(out), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(l), ": ")
		if !ok || !strings.Contains(k, "_queue_") {
			continue
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("ethtool -S line %q", l)
		}
		dir, _, _ := strings.Cut(k, "_")
		_, what, _ := strings.Cut(strings.TrimPrefix(k, dir+"_queue_"), "_")
		sum[dir+" "+what] += n
		names++
	}
	want := map[string]uint64{"rx packets": rxp, "rx bytes": rxb, "tx packets": txp, "tx bytes": txb}
	if names != 8 || fmt.Sprint(sum) != fmt.Sprint(want) {
		t.Errorf("ethtool -S %s: %d queue counters adding up to %v, want 8 adding up to %v\n%s", dev, names, sum, want, out)
	}
}

// errMsg is the kernel's errno and extack message of a refused request.
func errMsg(t *testing.T, err error, errno syscall.Errno, want string) {
	t.Helper()
	var ge *genl.Error
	if !errors.Is(err, errno) || !errors.As(err, &ge) || !strings.Contains(ge.Message, want) {
		t.Errorf("got %v, want %v with the message %q", err, errno, want)
	}
}

// Ownership and bad input: only the owning socket updates or deletes a port (another
// socket of the same root is refused, a socket of another netns cannot even name it);
// counters that go backwards, unknown ports, queues the port lacks, a taken name and
// one port too many are each refused with a message, and change nothing. A closed
// owner's port goes carrier-off with frozen counters; a new owner's counters add to
// them; a remove-on-close port goes with its owner.
func TestOwnershipAndBadInput(t *testing.T) {
	vmtest.Require(t)
	tp := vmtest.NewTopo(t, "a", "b")
	// the kernel sends nothing on the ports (IPv6 would: MLD, router solicitations),
	// so kernel-dropped stays put
	tp.Sysctl("a", "net/ipv6/conf/default/disable_ipv6", "1")
	dial := func(ns string) *ustack.Client {
		t.Helper()
		var c *ustack.Client
		tp.Must(ns, func() (err error) { c, err = ustack.Dial(); return err })
		t.Cleanup(func() { c.Close() })
		return c
	}
	owner, other, elsewhere := dial("a"), dial("a"), dial("b")
	d, err := owner.NewPort(ustack.PortConfig{Name: "us0", RxQueues: 2, TxQueues: 1})
	if err != nil {
		t.Fatal(err)
	}
	tp.IP("a", "link set us0 up") // ip shows NO-CARRIER on devices that are up
	up := true
	base := ustack.Update{Stats: &ustack.Stats{RxPackets: 10, RxBytes: 1000, TxPackets: 5, TxBytes: 500},
		RxQueues: []ustack.QueueCounters{{6, 600}, {4, 400}}, TxQueues: []ustack.QueueCounters{{5, 500}}, Carrier: &up}
	if err := owner.SetStats(d, base); err != nil {
		t.Fatal(err)
	}
	want, err := owner.Port(d)
	if err != nil {
		t.Fatal(err)
	}
	me, _ := owner.Portid()
	if want.Owner != me || want.Owners != 1 || !want.Carrier || want.Stats.RxPackets != 10 || len(want.Queues) != 2 ||
		want.Queues[1].RxBytes != 400 || want.Queues[0].TxPackets != 5 {
		t.Fatalf("port after the first update: %+v (owner should be %d)", want, me)
	}

	errMsg(t, other.SetStats(d, base), syscall.EPERM, "owned by another netlink socket")
	errMsg(t, other.DeletePort(d), syscall.EPERM, "owned by another netlink socket")
	errMsg(t, other.Attach(d), syscall.EBUSY, "owned by another netlink socket")
	errMsg(t, elsewhere.SetStats(ustack.ByName("us0"), base), syscall.ENODEV, "no such device")
	errMsg(t, owner.SetStats(ustack.ByName("nosuch0"), base), syscall.ENODEV, "no such device")
	errMsg(t, owner.SetStats(ustack.ByName("lo"), base), syscall.ENODEV, "not a ustack port")
	back := base
	back.Stats = &ustack.Stats{RxPackets: 9, RxBytes: 2000, TxPackets: 6, TxBytes: 600}
	errMsg(t, owner.SetStats(d, back), syscall.EINVAL, "went backwards")
	qback := ustack.Update{RxQueues: []ustack.QueueCounters{{7, 700}, {3, 400}}}
	errMsg(t, owner.SetStats(d, qback), syscall.EINVAL, "went backwards")
	noq := ustack.Update{TxQueues: []ustack.QueueCounters{{5, 500}, {1, 1}}}
	errMsg(t, owner.SetStats(d, noq), syscall.EINVAL, "no tx queue of this index")
	_, err = owner.NewPort(ustack.PortConfig{Name: "us0"})
	errMsg(t, err, syscall.EEXIST, "a device with this name exists")
	_, err = owner.NewPort(ustack.PortConfig{Name: "us1", Address: net.HardwareAddr{1, 0, 0, 0, 0, 1}})
	errMsg(t, err, syscall.EADDRNOTAVAIL, "unicast MAC")
	if got, err := owner.Port(d); err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("refused requests changed the port:\n got %+v (%v)\nwant %+v", got, err, want)
	}

	// the bound: max_ports per netns
	param := "/sys/module/ustack/parameters/max_ports"
	old, err := os.ReadFile(param)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.WriteFile(param, old, 0o644) })
	if err := os.WriteFile(param, []byte("2"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := other.NewPort(ustack.PortConfig{Name: "us2", RemoveOnClose: true}); err != nil {
		t.Fatal(err)
	}
	_, err = other.NewPort(ustack.PortConfig{Name: "us3"})
	errMsg(t, err, syscall.ENOSPC, "max_ports")
	if _, err := elsewhere.NewPort(ustack.PortConfig{Name: "us3"}); err != nil {
		t.Errorf("netns b's first port: %v (the bound is per netns)", err)
	}
	os.WriteFile(param, old, 0o644)

	// the owner closes: carrier off, counters frozen, unowned; a new owner adds to them
	owner.Close()
	got, err := other.Port(d)
	for deadline := time.Now().Add(time.Second); err == nil && got.Owner != 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		got, err = other.Port(d)
	}
	if err != nil || got.Owner != 0 || got.Carrier || got.Stats != want.Stats || fmt.Sprint(got.Queues) != fmt.Sprint(want.Queues) {
		t.Errorf("after its owner closed: %+v (%v), want unowned, carrier off, counters %+v", got, err, want.Stats)
	}
	// ip's NO-CARRIER is the operational state, which the kernel's linkwatch work
	// updates up to a second after the carrier (6.1: 1 s)
	l := ipStats(t, "a", "us0")
	for deadline := time.Now().Add(3 * time.Second); !l.has("NO-CARRIER") && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		l = ipStats(t, "a", "us0")
	}
	if !l.has("NO-CARRIER") || l.has("LOWER_UP") {
		t.Errorf("ip link after the owner closed: %v, want NO-CARRIER", l.Flags)
	}
	if err := other.Attach(d); err != nil {
		t.Fatal(err)
	}
	if err := other.SetStats(d, ustack.Update{Stats: &ustack.Stats{RxPackets: 1, RxBytes: 64},
		RxQueues: []ustack.QueueCounters{{1, 64}}}); err != nil {
		t.Fatalf("the new owner's counters start from 0: %v", err)
	}
	got, _ = other.Port(d)
	if got.Owners != 2 || got.Stats.RxPackets != 11 || got.Stats.RxBytes != 1064 || got.Queues[0].RxPackets != 7 {
		t.Errorf("after a second owner's update: %+v, want owners 2, rx 11 packets 1064 bytes, queue 0 rx 7", got)
	}
	if s := ipStats(t, "a", "us0").Stats; s.RX.Packets != 11 || s.TX.Packets != 5 {
		t.Errorf("ip -s link: rx %d tx %d packets, want 11 and 5", s.RX.Packets, s.TX.Packets)
	}

	// remove-on-close: us2 goes with other
	other.Close()
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := net.InterfaceByName("us2"); err == nil {
			t.Fatal("us2 is in the initial netns")
		}
		if out, _ := exec.Command("ip", "-n", "a", "link", "show", "dev", "us2").CombinedOutput(); strings.Contains(string(out), "does not exist") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("us2 (remove-on-close) still there 3 s after its owner closed")
		}
	}
	tp.Must("a", func() error {
		c, err := ustack.Dial()
		if err != nil {
			return err
		}
		defer c.Close()
		ports, err := c.Ports()
		if err != nil || len(ports) != 1 || ports[0].Ifname != "us0" {
			return fmt.Errorf("ports in netns a: %+v (%v), want us0 alone", ports, err)
		}
		return c.DeletePort(d) // nobody owns it: the admin may
	})
}

// ip link add ... type ustack makes an unowned port with the queues asked for, which a
// stack attaches to; ethtool shows its queues; bad link attributes are refused with
// rtnetlink's extack message.
func TestIPLinkAdd(t *testing.T) {
	vmtest.Require(t)
	tp := vmtest.NewTopo(t, "a")
	tp.IP("a", "link add us4 numrxqueues 4 numtxqueues 3 type ustack")
	for _, bad := range []struct{ args, want string }{
		{"link add us5 numrxqueues 33 type ustack", "at most 32"},
		{"link add us5 address 01:00:5e:00:00:01 type ustack", "unicast MAC"},
	} {
		out, err := exec.Command("ip", append([]string{"-n", "a"}, strings.Fields(bad.args)...)...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), bad.want) {
			t.Errorf("ip %s: %v %s, want refused with %q", bad.args, err, out, bad.want)
		}
	}
	out, err := exec.Command("ip", "netns", "exec", "a", "ethtool", "-S", "us4").CombinedOutput()
	if err != nil || strings.Count(string(out), "_queue_") != 14 || !strings.Contains(string(out), "rx_queue_3_bytes") ||
		!strings.Contains(string(out), "kernel_dropped") {
		t.Errorf("ethtool -S us4: %v\n%s\nwant 2x4 rx and 2x3 tx queue counters and kernel_dropped", err, out)
	}
	out, err = exec.Command("ip", "netns", "exec", "a", "ethtool", "-l", "us4").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "RX:\t\t4") {
		t.Errorf("ethtool -l us4: %v\n%s", err, out)
	}
	tp.Must("a", func() error {
		c, err := ustack.Dial()
		if err != nil {
			return err
		}
		defer c.Close()
		p, err := c.Port(ustack.ByName("us4"))
		if err != nil || p.Owner != 0 || p.RxQueues != 4 || p.TxQueues != 3 || p.Carrier {
			return fmt.Errorf("us4: %+v (%v), want unowned, 4 rx and 3 tx queues, no carrier", p, err)
		}
		if err := c.Attach(ustack.ByName("us4")); err != nil {
			return err
		}
		if err := c.SetCarrier(ustack.ByName("us4"), true); err != nil {
			return err
		}
		me, _ := c.Portid()
		if p, err = c.Port(ustack.ByName("us4")); err != nil || p.Owner != me || !p.Carrier {
			return fmt.Errorf("us4 after attach: %+v (%v), want owner %d and carrier", p, err, me)
		}
		return nil
	})
	tp.IP("a", "link del us4") // the admin's override, as for any device
}

// Creating ports needs CAP_NET_ADMIN in the netns's user namespace: nobody is refused;
// root of its own user namespace is refused in the initial netns but may in its own.
func TestPortsNeedCapNetAdmin(t *testing.T) {
	vmtest.Require(t)
	for _, c := range []struct {
		mode string
		attr *syscall.SysProcAttr
		want string
	}{
		{"nobody", vmtest.Unprivileged(), "operation not permitted"},
		{"userns", vmtest.OwnUserNs(false), "operation not permitted"},
		{"userns+netns", vmtest.OwnUserNs(true), "<nil>"},
	} {
		out, err := vmtest.RunChild(t, c.mode, c.attr)
		if err != nil || !strings.Contains(out, c.mode+": ") || !strings.Contains(strings.ToLower(out), c.want) {
			t.Errorf("%s: %q (%v), want %q", c.mode, out, err, c.want)
		}
	}
	if _, err := net.InterfaceByName("upriv0"); err == nil {
		t.Error("upriv0 exists in the initial netns: an unprivileged caller made it")
	}
}

// The module unloads with ports and an owner pushing updates, and comes back (twice).
func TestUnloadUnderUpdates(t *testing.T) {
	vmtest.Require(t)
	ko := vmtest.ModulePath(t, ustack.ModuleName)
	t.Cleanup(func() {
		if _, err := os.Stat("/sys/module/ustack"); err != nil {
			if err := vmtest.LoadModule(ko, ""); err != nil {
				t.Errorf("reload: %v", err)
			}
		}
	})
	tp := vmtest.NewTopo(t, "a")
	for i := 0; i < 2; i++ {
		var c *ustack.Client
		tp.Must("a", func() (err error) { c, err = ustack.Dial(); return err })
		defer c.Close()
		d, err := c.NewPort(ustack.PortConfig{RxQueues: 4, TxQueues: 4})
		if err != nil {
			t.Fatal(err)
		}
		tp.IP("a", "addr add 10.9.0."+strconv.Itoa(i+1)+"/24 dev "+d.Name, "link set "+d.Name+" up")
		stop := make(chan struct{})
		done := make(chan int)
		go func() {
			n := uint64(0)
			for {
				select {
				case <-stop:
					done <- int(n)
					return
				default:
				}
				n++
				up := n%2 == 0
				if c.SetStats(d, ustack.Update{Stats: &ustack.Stats{RxPackets: n, TxBytes: n * 100},
					RxQueues: []ustack.QueueCounters{{n, n}, {n, n}}, Carrier: &up}) != nil {
					done <- int(n)
					return
				}
			}
		}()
		time.Sleep(100 * time.Millisecond)
		if err := vmtest.UnloadModule(ustack.ModuleName); err != nil {
			close(stop)
			t.Fatalf("round %d: unload under updates: %v", i, err)
		}
		close(stop)
		n := <-done
		if _, err := os.Stat(filepath.Join("/run/netns", "a")); err != nil {
			t.Fatal(err)
		}
		if out, _ := exec.Command("ip", "-n", "a", "link", "show", "dev", d.Name).CombinedOutput(); !strings.Contains(string(out), "does not exist") {
			t.Errorf("round %d: %s still there after unload: %s", i, d.Name, out)
		}
		if err := vmtest.LoadModule(ko, ""); err != nil {
			t.Fatalf("round %d: load: %v", i, err)
		}
		t.Logf("round %d: %d updates before the unload", i, n)
	}
}

// nlkit ustack, as a script uses it: add (the port outlives the command, unowned and
// carrier-off), set-stats on it (counters that go down refused with the kernel's
// message, exit 1), show in text and JSON, del; a missing device is ip's error.
func TestCLI(t *testing.T) {
	vmtest.Require(t)
	tp := vmtest.NewTopo(t, "a")
	// in this process (as equalize's CLI tests): a dozen nlkit processes took 12 s
	// of 6.12's guest
	nlkit := func(want int, args ...string) string {
		t.Helper()
		var out bytes.Buffer
		code := 0
		tp.Must("a", func() error {
			code = nlkitcmd.Run(append([]string{"ustack"}, args...), &out, &out)
			return nil
		})
		if code != want {
			t.Fatalf("nlkit ustack %s: exit %d, want %d\n%s", strings.Join(args, " "), code, want, out.String())
		}
		return out.String()
	}
	if out := nlkit(0, "add", "us6", "address", "02:00:00:00:00:06", "numrxqueues", "2"); !strings.HasPrefix(out, "us6 (ifindex ") {
		t.Errorf("add: %q", out)
	}
	tp.IP("a", "link set us6 up")
	nlkit(0, "set-stats", "dev", "us6", "rx-packets", "5", "rx-bytes", "320", "tx-packets", "2", "carrier", "on")
	out := nlkit(1, "set-stats", "dev", "us6", "rx-packets", "4")
	if !strings.Contains(out, "went backwards") {
		t.Errorf("a counter going down: %q, want the kernel's message", out)
	}
	out = nlkit(0, "show", "-s")
	for _, want := range []string{"us6: <LOWER_UP> address 02:00:00:00:00:06 numrxqueues 2 numtxqueues 1",
		"owner none (owners so far 1)", "320          5", "queue 1: rx 0 packets 0 bytes"} {
		if !strings.Contains(out, want) {
			t.Errorf("show -s: no %q in\n%s", want, out)
		}
	}
	var ports []ustack.Port
	if err := json.Unmarshal([]byte(nlkit(0, "show", "-j", "dev", "us6")), &ports); err != nil || len(ports) != 1 ||
		ports[0].Stats.RxBytes != 320 || !ports[0].Carrier || ports[0].Owner != 0 {
		t.Errorf("show -j: %+v (%v)", ports, err)
	}
	if s := ipStats(t, "a", "us6").Stats; s.RX.Packets != 5 || s.TX.Packets != 2 {
		t.Errorf("ip -s link: rx %d tx %d, want 5 and 2", s.RX.Packets, s.TX.Packets)
	}
	tp.IP("a", "addr add 10.8.0.2/24 dev us6", "route add 10.77.0.0/16 via 10.8.0.1",
		"neigh add 10.8.0.1 lladdr 02:00:00:00:00:01 dev us6")
	var cfg ustack.Config
	if err := json.Unmarshal([]byte(nlkit(0, "config", "-j", "us6")), &cfg); err != nil ||
		fmt.Sprint(cfg.Addrs) != "[10.8.0.2/24]" || len(cfg.Routes) != 2 || len(cfg.Neighs) != 1 || !cfg.Up {
		t.Errorf("config -j: %+v (%v), want up, 10.8.0.2/24, its connected route and 10.77.0.0/16, one neighbour", cfg, err)
	}
	if out := nlkit(1, "del", "nosuch9"); !strings.Contains(out, `Cannot find device "nosuch9"`) {
		t.Errorf("del of a missing device: %q", out)
	}
	nlkit(0, "del", "us6")
	if out := nlkit(0, "show", "-j"); strings.TrimSpace(out) != "[]" {
		t.Errorf("show -j with no ports: %q, want []", out)
	}
}
