package vmtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// Topo is a set of named network namespaces (ip netns) that a test builds with `ip`
// batches, one exec per namespace (execs are slow under TCG with KASAN), and enters
// from Go for sockets, sysctls and netlink.
type Topo struct {
	t     testing.TB
	names []string
	fds   map[string]*os.File
}

// NewTopo creates the namespaces; they are deleted when the test ends.
func NewTopo(t testing.TB, names ...string) *Topo {
	t.Helper()
	return newTopo(t, names, nil)
}

// newTopo creates the namespaces and runs more commands in the initial namespace in
// the same batch (links into the new namespaces).
func newTopo(t testing.TB, names, then []string) *Topo {
	t.Helper()
	tp := &Topo{t: t, names: names, fds: map[string]*os.File{}}
	var cmds []string
	for _, n := range names {
		cmds = append(cmds, "netns add "+n)
	}
	tp.IP("", append(cmds, then...)...)
	for _, n := range names {
		f, err := os.Open(filepath.Join("/run/netns", n))
		if err != nil {
			t.Fatal(err)
		}
		tp.fds[n] = f
	}
	t.Cleanup(func() {
		var del []string
		for _, n := range names {
			tp.fds[n].Close()
			del = append(del, "netns del "+n)
		}
		cmd := exec.Command("ip", "-b", "-")
		cmd.Stdin = strings.NewReader(strings.Join(del, "\n") + "\n")
		cmd.Run()
	})
	return tp
}

// Veth is one veth pair between namespaces A and B: device DevA in A with address
// AddrA, DevB in B with AddrB (CIDR), both up, with MTU if not 0.
type Veth struct {
	A, DevA, AddrA string
	B, DevB, AddrB string
	MTU            int
}

// NewVeths creates the namespaces the pairs join (in order of appearance), loopback up
// in each, and the pairs: one ip batch for the namespaces and links, and one per
// namespace for its side, whatever the number of pairs.
func NewVeths(t testing.TB, vs ...Veth) *Topo {
	t.Helper()
	var names, links []string
	side := map[string][]string{}
	end := func(ns, dev, addr string, mtu int) {
		if _, ok := side[ns]; !ok {
			names = append(names, ns)
			side[ns] = []string{"link set lo up"}
		}
		up := "link set " + dev + " up"
		if mtu != 0 {
			up = fmt.Sprintf("link set %s mtu %d up", dev, mtu)
		}
		side[ns] = append(side[ns], up, "addr add "+addr+" dev "+dev)
	}
	for _, v := range vs {
		end(v.A, v.DevA, v.AddrA, v.MTU)
		end(v.B, v.DevB, v.AddrB, v.MTU)
		links = append(links, fmt.Sprintf("link add %s netns %s type veth peer name %s netns %s", v.DevA, v.A, v.DevB, v.B))
	}
	tp := newTopo(t, names, links)
	for _, ns := range names {
		tp.IP(ns, side[ns]...)
	}
	return tp
}

// FD is the namespace's fd (for netlink.Config.NetNS).
func (tp *Topo) FD(ns string) int { return int(tp.fds[ns].Fd()) }

// IP runs `ip [-n ns] -b -` with the commands (one per line); it fails the test on
// error, showing ip's output.
func (tp *Topo) IP(ns string, cmds ...string) {
	tp.t.Helper()
	args := []string{"-b", "-"}
	if ns != "" {
		args = append([]string{"-n", ns}, args...)
	}
	cmd := exec.Command("ip", args...)
	cmd.Stdin = strings.NewReader(strings.Join(cmds, "\n") + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		tp.t.Fatalf("ip %s: %v\n%s\ncommands:\n%s", strings.Join(args, " "), err, out, strings.Join(cmds, "\n"))
	}
}

// Do runs fn on an OS thread that is in namespace ns; sockets fn creates stay there.
func (tp *Topo) Do(ns string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			errc <- err
			return
		}
		defer orig.Close()
		if err := unix.Setns(tp.FD(ns), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns %s: %w", ns, err)
			return
		}
		err = fn()
		if unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread() // else the thread dies with the goroutine
		}
		errc <- err
	}()
	return <-errc
}

// Must is Do that fails the test on error.
func (tp *Topo) Must(ns string, fn func() error) {
	tp.t.Helper()
	if err := tp.Do(ns, fn); err != nil {
		tp.t.Fatal(err)
	}
}

// Sysctl writes a sysctl (e.g. "net/ipv4/ip_forward") inside namespace ns.
func (tp *Topo) Sysctl(ns, key, value string) {
	tp.t.Helper()
	tp.Must(ns, func() error {
		return os.WriteFile(filepath.Join("/proc/sys", key), []byte(value), 0o644)
	})
}
