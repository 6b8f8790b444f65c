//go:build vmtest

package mptcp_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	pm "github.com/nlkit/nlkit/netlinkproto/mptcp"
	"github.com/nlkit/nlkit/tests/vm/vmtest"
	"github.com/nlkit/nlkit/tools/mpd"
)

func dialNS(t *testing.T, tp *vmtest.Topo, ns string) *pm.Conn {
	t.Helper()
	c, err := pm.DialConfig(&pm.Config{NetNS: tp.FD(ns)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// kernelErr checks that err is a kernel refusal carrying an extack message.
func kernelErr(t *testing.T, what string, err error, want string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: accepted, want an error", what)
		return
	}
	t.Logf("%s: %v", what, err)
	if want != "" && !strings.Contains(err.Error(), want) {
		t.Errorf("%s: error %q does not say %q", what, err, want)
	}
}

func TestEndpointsAndLimits(t *testing.T) {
	vmtest.Require(t)
	tp := vmtest.NewTopo(t, "mpe")
	tp.IP("mpe", "link add e0 type dummy", "link set e0 up", "addr add 10.7.0.1/24 dev e0", "addr add fd00::1/64 dev e0 nodad")
	c := dialNS(t, tp, "mpe")

	if err := c.AddEndpoint(pm.Addr{ID: 1, IP: netip.MustParseAddr("10.7.0.1"), Flags: pm.FlagSubflow | pm.FlagBackup}); err != nil {
		t.Fatal(err)
	}
	if err := c.AddEndpoint(pm.Addr{ID: 2, IP: netip.MustParseAddr("fd00::1"), Port: 8080, Flags: pm.FlagSignal}); err != nil {
		t.Fatal(err)
	}
	eps, err := c.Endpoints()
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(eps)
	if len(eps) != 2 || eps[0].IP.String() != "10.7.0.1" || eps[0].Flags != pm.FlagSubflow|pm.FlagBackup ||
		eps[1].IP.String() != "fd00::1" || eps[1].Port != 8080 || eps[1].Flags != pm.FlagSignal {
		t.Fatalf("endpoints: %s", got)
	}
	if err := c.ChangeEndpoint(pm.Addr{ID: 1, Flags: 0}); err != nil {
		t.Fatal(err)
	}
	if e, err := c.Endpoint(1); err != nil || e.Flags&pm.FlagBackup != 0 {
		t.Fatalf("after nobackup: %+v %v", e, err)
	}
	kernelErr(t, "duplicate endpoint", c.AddEndpoint(pm.Addr{ID: 1, IP: netip.MustParseAddr("10.7.0.1"), Flags: pm.FlagSubflow}), "")
	kernelErr(t, "delete unknown id", c.DelEndpoint(99, netip.Addr{}), "")
	_, err = c.Endpoint(99)
	kernelErr(t, "get unknown id", err, "")

	sub, acc := uint32(5), uint32(3)
	if err := c.SetLimits(pm.LimitsChange{Subflows: &sub, AddAddrAccepted: &acc}); err != nil {
		t.Fatal(err)
	}
	if l, err := c.Limits(); err != nil || l.Subflows != 5 || l.AddAddrAccepted != 3 {
		t.Fatalf("limits %+v %v", l, err)
	}
	huge := uint32(1000)
	kernelErr(t, "subflows limit 1000", c.SetLimits(pm.LimitsChange{Subflows: &huge}), "")
	if l, _ := c.Limits(); l.Subflows != 5 {
		t.Errorf("a refused limit changed the limits: %+v", l)
	}
	if err := c.FlushEndpoints(); err != nil {
		t.Fatal(err)
	}
	if eps, _ := c.Endpoints(); len(eps) != 0 {
		t.Errorf("after flush: %v", eps)
	}
}

// kernelAtLeast tells whether the running kernel's release is major.minor or newer.
func kernelAtLeast(t *testing.T, major, minor int) bool {
	rel := vmtest.Release(t)
	var ma, mi int
	if _, err := fmt.Sscanf(rel, "%d.%d", &ma, &mi); err != nil {
		t.Fatalf("release %q: %v", rel, err)
	}
	return ma > major || ma == major && mi >= minor
}

// The laminar endpoint flag (6.18) round-trips on kernels that have it, and the CLI
// names it; an older kernel does not report it back.
func TestLaminarEndpoint(t *testing.T) {
	vmtest.Require(t)
	tp := vmtest.NewTopo(t, "mpl")
	tp.IP("mpl", "link add e0 type dummy", "link set e0 up", "addr add 10.8.0.1/24 dev e0")
	c := dialNS(t, tp, "mpl")
	err := c.AddEndpoint(pm.Addr{ID: 5, IP: netip.MustParseAddr("10.8.0.1"), Flags: pm.FlagSubflow | pm.FlagLaminar})
	e, gerr := c.Endpoint(5)
	t.Logf("add subflow laminar: %v; get: %+v %v", err, e, gerr)
	if kernelAtLeast(t, 6, 18) {
		if err != nil || gerr != nil || e.Flags != pm.FlagSubflow|pm.FlagLaminar {
			t.Fatalf("laminar endpoint: add %v, get %+v %v", err, e, gerr)
		}
		out, err := exec.Command("ip", "netns", "exec", "mpl", vmtest.Nlkit(t), "mptcp", "endpoint", "show").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "laminar") {
			t.Errorf("nlkit mptcp endpoint show: %v\n%s", err, out)
		}
		return
	}
	if err == nil && gerr == nil && e.Flags&pm.FlagLaminar != 0 {
		t.Errorf("a kernel older than 6.18 reports the laminar flag back: %+v", e)
	}
}

// A laminar endpoint on real traffic: the client takes it as the source of the subflow
// to the address the server announces, where the routing picks the initial subflow's
// address (a /32 route with src). Configured with the nlkit command, as users do. On
// 6.18+ the subflow to the announced address leaves from the laminar endpoint; kernels
// before it drop the flag, and the subflow leaves from where the routing says.
func TestLaminarSubflow(t *testing.T) {
	vmtest.Require(t)
	tp := vmtest.NewVeths(t,
		vmtest.Veth{A: "mlc", DevA: "a0", AddrA: "10.1.0.1/24", B: "mls", DevB: "a1", AddrB: "10.1.0.2/24"},
		vmtest.Veth{A: "mlc", DevA: "b0", AddrA: "10.2.0.1/24", B: "mls", DevB: "b1", AddrB: "10.2.0.2/24"})
	tp.IP("mlc", "route add 10.2.0.2/32 via 10.1.0.2 dev a0 src 10.1.0.1")
	nlkit := vmtest.Nlkit(t)
	for _, c := range []struct{ ns, args string }{
		{"mls", "mptcp limits set subflows 2"},
		{"mls", "mptcp endpoint add 10.2.0.2 id 1 dev b1 signal"},
		{"mlc", "mptcp limits set subflows 2 add_addr_accepted 2"},
		{"mlc", "mptcp endpoint add 10.2.0.1 id 1 dev b0 laminar"},
	} {
		out, err := exec.Command("ip", append([]string{"netns", "exec", c.ns, nlkit}, strings.Fields(c.args)...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: nlkit %s: %v\n%s", c.ns, c.args, err, out)
		}
	}
	show, _ := exec.Command("ip", "netns", "exec", "mlc", nlkit, "mptcp", "endpoint", "show").CombinedOutput()
	t.Logf("client endpoints:\n%s", show)
	laminar, newer := strings.Contains(string(show), "laminar"), kernelAtLeast(t, 6, 18)
	if laminar != newer {
		t.Fatalf("the kernel kept the laminar flag: %v; 6.18 or later: %v", laminar, newer)
	}

	tp.NewMPTCPSink("mls", "0.0.0.0:5201") // joins come to the announced address too
	mc, err := pm.Watch(&pm.Config{NetNS: tp.FD("mlc")})
	if err != nil {
		t.Fatal(err)
	}
	defer mc.Close()
	conn := tp.DialMPTCP("mlc", "10.1.0.2:5201", 10*time.Second)
	defer conn.Close()
	if _, err := conn.Write(make([]byte, 64<<10)); err != nil {
		t.Fatal(err)
	}
	mc.SetDeadline(time.Now().Add(20 * time.Second))
	for {
		ev, err := mc.Next()
		if err != nil {
			t.Fatalf("waiting for the subflow to the announced 10.2.0.2: %v", err)
		}
		t.Logf("client: %s", ev)
		if ev.Type == pm.EventSubClosed {
			t.Fatalf("the subflow to the announced address failed: %s", ev)
		}
		if ev.Type != pm.EventSubEstablished {
			continue
		}
		want := "10.1.0.1" // the routing's choice
		if laminar {
			want = "10.2.0.1"
		}
		if ev.Remote().Addr().String() != "10.2.0.2" || ev.Local().Addr().String() != want {
			t.Fatalf("subflow %s -> %s, want %s -> 10.2.0.2 (laminar endpoint: %v)", ev.Local(), ev.Remote(), want, laminar)
		}
		return
	}
}

// twoHosts is a client and a server namespace joined by one veth pair.
func twoHosts(t *testing.T) *vmtest.Topo {
	return vmtest.NewVeths(t, vmtest.Veth{A: "mpc", DevA: "c0", AddrA: "10.1.0.1/24", B: "mps", DevB: "s0", AddrB: "10.1.0.2/24"})
}

// Events of a real connection, seen from both ends: typed, with the token the socket
// reports, and the side right on both (SERVER_SIDE is a u8 on 6.1/6.12).
func TestEventsOfARealConnection(t *testing.T) {
	vmtest.Require(t)
	tp := twoHosts(t)
	tp.NewMPTCPSink("mps", "10.1.0.2:5201")
	mc, err := pm.Watch(&pm.Config{NetNS: tp.FD("mpc")})
	if err != nil {
		t.Fatal(err)
	}
	defer mc.Close()
	ms, err := pm.Watch(&pm.Config{NetNS: tp.FD("mps")})
	if err != nil {
		t.Fatal(err)
	}
	defer ms.Close()
	conn := tp.DialMPTCP("mpc", "10.1.0.2:5201", 10*time.Second)
	conn.Write([]byte("hello"))
	rc, _ := conn.SyscallConn()
	info, err := pm.GetInfo(rc)
	if err != nil {
		t.Fatal(err)
	}
	local := netip.MustParseAddrPort(conn.LocalAddr().String())

	next := func(m *pm.Monitor, want pm.EventType) pm.Event {
		t.Helper()
		m.SetDeadline(time.Now().Add(20 * time.Second))
		for {
			ev, err := m.Next()
			if err != nil {
				t.Fatalf("waiting for %s: %v", want, err)
			}
			if ev.Type == pm.EventListenerCreated || ev.Type == pm.EventListenerClosed {
				continue
			}
			if ev.Type != want {
				t.Fatalf("got %s, want %s", ev, want)
			}
			return ev
		}
	}
	for _, typ := range []pm.EventType{pm.EventCreated, pm.EventEstablished} {
		ev := next(mc, typ)
		t.Logf("client: %s", ev)
		if ev.Token != info.Token || ev.ServerSide || ev.Local() != local || ev.Remote().String() != "10.1.0.2:5201" {
			t.Errorf("client %s: token %08x (socket says %08x), local %s (socket %s)", typ, ev.Token, info.Token, ev.Local(), local)
		}
	}
	sev := next(ms, pm.EventCreated)
	t.Logf("server: %s", sev)
	if !sev.ServerSide || sev.Remote() != local || sev.Local().String() != "10.1.0.2:5201" {
		t.Errorf("server event: %+v", sev)
	}
	conn.Close()
	if ev := next(mc, pm.EventClosed); ev.Token != info.Token {
		t.Errorf("CLOSED for token %08x, want %08x", ev.Token, info.Token)
	}
}

// The userspace PM's commands refuse what they cannot do with the kernel's message.
func TestUserspaceCommandErrors(t *testing.T) {
	vmtest.Require(t)
	tp := twoHosts(t)
	tp.Sysctl("mpc", "net/mptcp/pm_type", "1")
	c := dialNS(t, tp, "mpc")
	local := pm.Addr{ID: 1, IP: netip.MustParseAddr("10.1.0.1")}
	remote := netip.MustParseAddrPort("10.1.0.2:5201")
	kernelErr(t, "subflow-create, unknown token", c.CreateSubflow(0xdeadbeef, local, remote), "invalid token")
	kernelErr(t, "announce, unknown token", c.Announce(0xdeadbeef, local), "invalid token")
	kernelErr(t, "remove, unknown token", c.Remove(0xdeadbeef, 1), "")
	kernelErr(t, "subflow-destroy, unknown token", c.DestroySubflow(0xdeadbeef, netip.MustParseAddrPort("10.1.0.1:4000"), remote), "")

	// a live connection: a subflow to an unroutable address is refused, and the
	// connection is unharmed
	tp.NewMPTCPSink("mps", "10.1.0.2:5201")
	m, err := pm.Watch(&pm.Config{NetNS: tp.FD("mpc")})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	conn := tp.DialMPTCP("mpc", "10.1.0.2:5201", 10*time.Second)
	rc, _ := conn.SyscallConn()
	info, err := pm.GetInfo(rc)
	if err != nil {
		t.Fatal(err)
	}
	kernelErr(t, "subflow-create to an unroutable address", c.CreateSubflow(info.Token, local, netip.MustParseAddrPort("10.99.0.1:5201")), "")
	if _, err := conn.Write([]byte("still fine")); err != nil {
		t.Fatal(err)
	}
	if sf, err := pm.GetSubflows(rc); err != nil || len(sf) != 1 {
		t.Errorf("subflows after the refused command: %v %v", sf, err)
	}
}

// A batch of subflow-creates in one sendmsg gets each request's own outcome, in order:
// a refused request in the middle carries the kernel's message and does not stop the
// requests after it, whose subflows open.
func TestCreateSubflowsBatch(t *testing.T) {
	vmtest.Require(t)
	tp := twoHosts(t)
	tp.Sysctl("mpc", "net/mptcp/pm_type", "1")
	srv := dialNS(t, tp, "mps")
	if err := srv.SetLimits(pm.LimitsChange{Subflows: new(uint32(8))}); err != nil {
		t.Fatal(err)
	}
	tp.NewMPTCPSink("mps", "10.1.0.2:5201")
	c := dialNS(t, tp, "mpc")
	m, err := pm.Watch(&pm.Config{NetNS: tp.FD("mpc")})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	conn := tp.DialMPTCP("mpc", "10.1.0.2:5201", 10*time.Second)
	conn.Write([]byte("x"))
	rc, _ := conn.SyscallConn()
	info, err := pm.GetInfo(rc)
	if err != nil {
		t.Fatal(err)
	}
	// subflows join a fully established connection only (ENOTCONN before): the
	// ESTABLISHED event says when, as the daemon waits for it
	m.SetDeadline(time.Now().Add(20 * time.Second))
	for {
		ev, err := m.Next()
		if err != nil {
			t.Fatalf("waiting for ESTABLISHED: %v", err)
		}
		if ev.Type == pm.EventEstablished && ev.Token == info.Token {
			break
		}
	}
	ip, remote := netip.MustParseAddr("10.1.0.1"), netip.MustParseAddrPort("10.1.0.2:5201")
	batch := []pm.NewSubflow{
		{Token: info.Token, Local: pm.Addr{ID: 2, IP: ip, Port: 40002}, Remote: remote},
		{Token: 0xdeadbeef, Local: pm.Addr{ID: 3, IP: ip, Port: 40003}, Remote: remote},
		{Token: info.Token, Local: pm.Addr{ID: 4, IP: ip, Port: 40004}, Remote: remote},
		{Token: info.Token, Local: pm.Addr{ID: 5, IP: ip, Port: 40005}, Remote: netip.MustParseAddrPort("10.99.0.1:5201")},
		{Token: info.Token, Local: pm.Addr{ID: 6, IP: ip, Port: 40006}, Remote: remote},
	}
	errs, err := c.CreateSubflows(batch)
	if err != nil || len(errs) != len(batch) {
		t.Fatalf("batch: %v, %d outcomes", err, len(errs))
	}
	for i, want := range []string{"", "invalid token", "", "-", ""} {
		switch {
		case want == "" && errs[i] != nil:
			t.Errorf("request %d: %v, want it accepted", i, errs[i])
		case want != "":
			if want == "-" {
				want = ""
			}
			kernelErr(t, fmt.Sprintf("request %d", i), errs[i], want)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	var ports []uint16
	for ; time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		sfs, err := pm.GetSubflows(rc)
		if err != nil {
			t.Fatal(err)
		}
		ports = ports[:0]
		for _, sf := range sfs {
			ports = append(ports, sf.Local.Port())
		}
		if len(sfs) == 4 {
			break
		}
	}
	if len(ports) != 4 || !slices.Contains(ports, 40002) || !slices.Contains(ports, 40004) || !slices.Contains(ports, 40006) {
		t.Errorf("subflows' local ports %v, want the initial one and 40002, 40004, 40006", ports)
	}
	if _, err := conn.Write([]byte("still fine")); err != nil {
		t.Fatal(err)
	}
	defer func() {
		// closed by the application, the connection is no longer live, whatever its
		// subflows' states
		conn.Close()
		kcs, err := pm.Connections(&pm.Config{NetNS: tp.FD("mpc")})
		if err != nil {
			t.Fatal(err)
		}
		for _, kc := range kcs {
			if kc.Token == info.Token && kc.Live() {
				t.Errorf("after close: the connection is live in sock_diag: state %d, %+v", kc.State, kc.Subflows)
			}
		}
	}()

	// sock_diag's view (what the daemon resynchronises from) on both ends: the
	// connection by its token, its initial subflow and its three joins
	for _, side := range []struct {
		ns     string
		client bool
	}{{"mpc", true}, {"mps", false}} {
		kcs, err := pm.Connections(&pm.Config{NetNS: tp.FD(side.ns)})
		if err != nil {
			t.Fatal(err)
		}
		var kc *pm.DiagConn
		for i := range kcs {
			if init, ok := kcs[i].Initial(); ok && (init.Local.Port() == 5201 || init.Remote.Port() == 5201) {
				kc = &kcs[i]
			}
		}
		if kc == nil {
			t.Errorf("%s: sock_diag lists no connection of port 5201: %+v", side.ns, kcs)
			continue
		}
		t.Logf("%s: sock_diag: token %08x, %+v", side.ns, kc.Token, kc.Subflows)
		init, _ := kc.Initial()
		if side.client && (kc.Token != info.Token || init.Local != netip.MustParseAddrPort(conn.LocalAddr().String())) {
			t.Errorf("%s: token %08x initial %s, want the socket's %08x %s", side.ns, kc.Token, init.Local, info.Token, conn.LocalAddr())
		}
		if len(kc.Subflows) != 4 || kc.State != 1 || !kc.Live() || init.Client != side.client || !init.Established {
			t.Errorf("%s: %d subflows (want 4), MPTCP socket state %d (want 1, established), live %v, initial client %v (want %v)",
				side.ns, len(kc.Subflows), kc.State, kc.Live(), init.Client, side.client)
		}
	}
}

// TestMain lets the binary act as an unprivileged caller for the permission test.
func TestMain(m *testing.M) {
	if mode := os.Getenv(vmtest.ChildEnv); mode != "" {
		os.Exit(childMain(mode))
	}
	os.Exit(m.Run())
}

// childMain tries what needs CAP_NET_ADMIN; it exits 1 when every attempt was
// refused with a clear message, 0 when every one worked, 2 when mixed.
func childMain(mode string) int {
	var refused, ok int
	try := func(what string, err error) {
		fmt.Printf("%s: %v\n", what, err)
		switch {
		case err == nil:
			ok++
		case errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) || errors.Is(err, os.ErrPermission):
			refused++
		}
	}
	m, err := pm.Watch(nil)
	try("watch events", err)
	if err == nil {
		m.Close()
	}
	c, err := pm.Dial()
	if err != nil {
		fmt.Println("dial:", err)
		return 3
	}
	defer c.Close()
	n := uint32(4)
	try("set limits", c.SetLimits(pm.LimitsChange{Subflows: &n}))
	d, err := mpd.NewDaemon(mpd.Config{Rules: []mpd.Rule{{Kind: mpd.None}}, Logf: func(string, ...any) {}})
	try("daemon", err)
	if err == nil {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		d.Run(ctx)
	}
	switch {
	case refused == 3:
		return 1
	case ok == 3:
		return 0
	}
	return 2
}

// Every mutating operation and the events group need CAP_NET_ADMIN in the user
// namespace owning the netns: refused as nobody and as root of a user namespace that
// does not own the netns, allowed in a netns the caller's user namespace owns.
func TestNeedsCapNetAdmin(t *testing.T) {
	vmtest.Require(t)
	for _, tc := range []struct {
		mode string
		attr *syscall.SysProcAttr
		code int
	}{{"nobody", vmtest.Unprivileged(), 1}, {"userns", vmtest.OwnUserNs(false), 1}, {"userns+netns", vmtest.OwnUserNs(true), 0}} {
		out, err := vmtest.RunChild(t, tc.mode, tc.attr)
		code := 0
		var ee interface{ ExitCode() int }
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("%s: %v", tc.mode, err)
		}
		t.Logf("%s (exit %d):\n%s", tc.mode, code, out)
		if code != tc.code {
			t.Errorf("%s: exit %d, want %d", tc.mode, code, tc.code)
		}
		if tc.code == 1 && !strings.Contains(out, "CAP_NET_ADMIN") {
			t.Errorf("%s: the refusal does not name CAP_NET_ADMIN", tc.mode)
		}
	}
}

// A namespace with MPTCP disabled gets a clear error from the daemon, not a daemon
// that waits for events that never come.
func TestDaemonMPTCPDisabled(t *testing.T) {
	vmtest.Require(t)
	tp := vmtest.NewTopo(t, "mpoff")
	tp.Sysctl("mpoff", "net/mptcp/enabled", "0")
	var err error
	tp.Do("mpoff", func() error {
		_, err = mpd.NewDaemon(mpd.Config{Rules: []mpd.Rule{{Kind: mpd.None}}, Logf: t.Logf})
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "net.mptcp.enabled=0") {
		t.Fatalf("daemon in a netns with MPTCP disabled: %v", err)
	}
	t.Log(err)
}

// `nlkit mptcp endpoint|limits` take iproute2's syntax and print what `ip mptcp` prints.
func TestCLIMatchesIproute(t *testing.T) {
	vmtest.Require(t)
	nlkit := vmtest.Nlkit(t)
	tp := vmtest.NewTopo(t, "mpcli")
	tp.IP("mpcli", "link add e0 type dummy", "link set e0 up", "addr add 10.7.0.1/24 dev e0", "addr add 10.8.0.1/24 dev e0")
	run := func(name string, args ...string) (string, int) {
		out, code := vmtest.Run(t, exec.Command("ip", append([]string{"netns", "exec", "mpcli", name}, args...)...))
		return strings.TrimSpace(out), code
	}
	norm := func(s string) string {
		var lines []string
		for _, l := range strings.Split(s, "\n") {
			lines = append(lines, strings.Join(strings.Fields(l), " "))
		}
		return strings.Join(lines, "\n")
	}
	must := func(name string, args ...string) string {
		out, code := run(name, args...)
		if code != 0 {
			t.Fatalf("%s %s: exit %d: %s", name, strings.Join(args, " "), code, out)
		}
		return out
	}
	must(nlkit, "mptcp", "endpoint", "add", "10.7.0.1", "id", "3", "dev", "e0", "subflow", "fullmesh")
	must("ip", "mptcp", "endpoint", "add", "10.8.0.1", "id", "4", "port", "9000", "signal", "backup")
	must(nlkit, "mptcp", "limits", "set", "subflows", "6", "add_addr_accepted", "2")
	for _, args := range [][]string{{"endpoint", "show"}, {"endpoint", "show", "id", "4"}, {"limits", "show"}} {
		ours := must(nlkit, append([]string{"mptcp"}, args...)...)
		theirs := must("ip", append([]string{"mptcp"}, args...)...)
		t.Logf("mptcp %s:\n%s", strings.Join(args, " "), ours)
		if norm(ours) != norm(theirs) {
			t.Errorf("mptcp %s: nlkit printed\n%s\nip printed\n%s", strings.Join(args, " "), ours, theirs)
		}
	}
	if out := must(nlkit, "mptcp", "endpoint", "show", "-j"); !strings.Contains(out, `"fullmesh":true`) || !strings.Contains(out, `"dev":"e0"`) {
		t.Errorf("endpoint show -j: %s", out)
	}
	// change, as ip's: by id or address, the flags given set and the others cleared
	must(nlkit, "mptcp", "endpoint", "change", "id", "4", "nobackup")
	must(nlkit, "mptcp", "endpoint", "change", "10.7.0.1", "backup")
	for _, c := range []struct{ id, want, not string }{{"4", "signal", "backup"}, {"3", "subflow backup", "fullmesh"}} {
		out := must("ip", "mptcp", "endpoint", "show", "id", c.id)
		if !strings.Contains(out, c.want) || strings.Contains(out, c.not) {
			t.Errorf("after nlkit's change ip shows %q for id %s, want %q without %q", out, c.id, c.want, c.not)
		}
	}
	// bad input: refused by nlkit's parser (exit 2) or by the kernel (exit 1, its message)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"endpoint", "add", "10.7.0.1", "signal", "fullmesh"}, 2, "both signal and fullmesh"},
		{[]string{"endpoint", "add", "10.7.0.9", "port", "80", "subflow"}, 2, "signal"},
		{[]string{"endpoint", "add", "10.7.0.1", "id", "300"}, 2, "1-255"},
		{[]string{"endpoint", "add", "frob"}, 2, "unknown argument"},
		{[]string{"limits", "set", "subflows", "1000"}, 1, "limit greater than maximum"},
		{[]string{"endpoint", "del", "id", "77"}, 1, "mptcp_pm del-addr"},
		{[]string{"endpoint", "change", "id", "77", "backup"}, 1, "mptcp_pm set-flags"},
		{[]string{"endpoint", "add", "10.7.0.5", "dev", "nosuch9"}, 1, `Cannot find device "nosuch9"`},
		{[]string{"pm", "teleport", "3"}, 2, "unknown policy"},
	} {
		out, code := run(nlkit, append([]string{"mptcp"}, tc.args...)...)
		t.Logf("nlkit mptcp %s: exit %d: %s", strings.Join(tc.args, " "), code, out)
		if code != tc.code || !strings.Contains(out, tc.want) {
			t.Errorf("nlkit mptcp %s: exit %d %q, want exit %d saying %q", strings.Join(tc.args, " "), code, out, tc.code, tc.want)
		}
	}
	must(nlkit, "mptcp", "endpoint", "flush")
	if out := must("ip", "mptcp", "endpoint", "show"); out != "" {
		t.Errorf("after nlkit's flush ip shows %q", out)
	}
}

// `nlkit mptcp pm` selects the userspace PM, and on SIGTERM exits 0 having put the
// previous setting back.
func TestCLIDaemonSIGTERM(t *testing.T) {
	vmtest.Require(t)
	tp := vmtest.NewTopo(t, "mpsig")
	// the path manager's selector: net.mptcp.path_manager (6.15+), else pm_type, with
	// its userspace and kernel (in-kernel PM) values
	sysctl, user, kernel := "path_manager", "userspace", "kernel"
	if _, err := os.Stat("/proc/sys/net/mptcp/path_manager"); err != nil {
		sysctl, user, kernel = "pm_type", "1", "0"
	}
	pmType := func() string {
		var v string
		tp.Must("mpsig", func() error {
			b, err := os.ReadFile("/proc/sys/net/mptcp/" + sysctl)
			v = strings.TrimSpace(string(b))
			return err
		})
		return v
	}
	cmd := exec.Command("ip", "netns", "exec", "mpsig", vmtest.Nlkit(t), "mptcp", "pm", "ndiffports", "2")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for pmType() != user {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the daemon did not select the userspace PM:\n%s", out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // past the sysctl write, into the event loop
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	t.Logf("daemon output:\n%s", out.String())
	if err != nil {
		t.Errorf("exit after SIGTERM: %v", err)
	}
	if v := pmType(); v != kernel {
		t.Errorf("net.mptcp.%s after exit: %s, want %s", sysctl, v, kernel)
	}
	if want := "restored net.mptcp." + sysctl + "=" + kernel; !strings.Contains(out.String(), want) {
		t.Errorf("the daemon did not log the restore (%q)", want)
	}
}

// syncBuf is a command's output, read while the command writes it.
type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// `nlkit mptcp pm -c FILE` takes its rules from the file, and SIGHUP (systemctl reload)
// re-reads them: a connection opened after the reload gets the new rule, one opened
// before keeps its subflows, and a broken file is refused with the old rules kept.
func TestCLIDaemonConfigReload(t *testing.T) {
	vmtest.Require(t)
	tp := twoHosts(t)
	srv := dialNS(t, tp, "mps")
	if err := srv.SetLimits(pm.LimitsChange{Subflows: new(uint32(8))}); err != nil {
		t.Fatal(err)
	}
	tp.NewMPTCPSink("mps", "10.1.0.2:5201")
	conf := filepath.Join(t.TempDir(), "mptcp-pm.yaml")
	if err := os.WriteFile(conf, []byte("rules:\n  - ndiffports 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ip", "netns", "exec", "mpc", vmtest.Nlkit(t), "mptcp", "pm", "-c", conf, "--metrics", "127.0.0.1:9423")
	out := &syncBuf{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitLog := func(want string) {
		t.Helper()
		for deadline := time.Now().Add(60 * time.Second); !strings.Contains(out.String(), want); time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the daemon did not log %q:\n%s", want, out.String())
			}
		}
	}
	subflows := func(c *net.TCPConn, n int) {
		t.Helper()
		rc, _ := c.SyscallConn()
		var sfs []pm.Subflow
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			var err error
			if sfs, err = pm.GetSubflows(rc); err != nil {
				t.Fatal(err)
			}
			if len(sfs) == n {
				return
			}
		}
		t.Errorf("%d subflows, want %d: %v", len(sfs), n, sfs)
	}
	waitLog("selected the userspace path manager")
	waitLog("; 1 rules")
	c1 := tp.DialMPTCP("mpc", "10.1.0.2:5201", 10*time.Second)
	defer c1.Close()
	c1.Write([]byte("x"))
	subflows(c1, 2)

	if err := os.WriteFile(conf, []byte("rules:\n  - dport 9 none\n  - ndiffports 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd.Process.Signal(syscall.SIGHUP)
	waitLog("rules reloaded: 2 rules")
	c2 := tp.DialMPTCP("mpc", "10.1.0.2:5201", 10*time.Second)
	defer c2.Close()
	c2.Write([]byte("x"))
	subflows(c2, 3)
	subflows(c1, 2)

	if err := os.WriteFile(conf, []byte("rules:\n  - teleport 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd.Process.Signal(syscall.SIGHUP)
	waitLog("keeping the rules in use")
	c3 := tp.DialMPTCP("mpc", "10.1.0.2:5201", 10*time.Second)
	defer c3.Close()
	c3.Write([]byte("x"))
	subflows(c3, 3)

	// the counters for Prometheus, from the daemon's namespace
	var metrics string
	tp.Must("mpc", func() error {
		nc, err := net.Dial("tcp", "127.0.0.1:9423")
		if err != nil {
			return err
		}
		defer nc.Close()
		fmt.Fprintf(nc, "GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n")
		b, err := io.ReadAll(nc)
		metrics = string(b)
		return err
	})
	for _, want := range []string{"\nnlkit_mptcp_pm_connections_total 3\n", "\nnlkit_mptcp_pm_open 3\n", "# TYPE nlkit_mptcp_pm_subflows_asked_total counter\n"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, metrics)
		}
	}

	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	t.Logf("daemon output:\n%s", out.String())
	if err != nil {
		t.Errorf("exit after SIGTERM: %v", err)
	}
	// slog records: a connection's carry its token as a key, the final counters are
	// key=value
	for _, want := range []string{"level=INFO msg=stopped events=", " subflows_asked=", " token="} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the daemon's log lacks %q", want)
		}
	}
}
