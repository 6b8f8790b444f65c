//go:build vmtest

package equalize_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/nlkit/nlkit/netlinkproto/equalize"
	"github.com/nlkit/nlkit/netlinkproto/genl"
	"github.com/nlkit/nlkit/tests/vm/vmtest"
	nlkitcmd "github.com/nlkit/nlkit/tools/nlkit/cmd"
)

func client(t *testing.T, tp *vmtest.Topo, ns string) *equalize.Client {
	t.Helper()
	c, err := equalize.DialConfig(&netlink.Config{NetNS: tp.FD(ns)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// nlkitNS runs nlkit in netns ns: as root in this process (tools/nlkit/cmd.Run on a
// thread in ns, no exec: seconds each on the debug kernel), as nobody without
// capabilities through setpriv.
func nlkitNS(t *testing.T, tp *vmtest.Topo, ns string, nobody bool, args ...string) (string, int) {
	t.Helper()
	if !nobody {
		var out bytes.Buffer
		code := 0
		tp.Must(ns, func() error {
			code = nlkitcmd.Run(args, &out, &out)
			return nil
		})
		return out.String(), code
	}
	argv := []string{"netns", "exec", ns, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", vmtest.Nlkit(t)}
	return vmtest.Run(t, exec.Command("ip", append(argv, args...)...))
}

func mustPrefix(s string) *net.IPNet {
	_, n, err := net.ParseCIDR(s)
	if err != nil {
		panic(err)
	}
	return n
}

// The prefix API: round trip, and every bad request refused with a message that names
// the problem (and the attribute), the state unchanged.
func TestPrefixes(t *testing.T) {
	vmtest.Require(t)
	tp := vmtest.NewTopo(t, "eqa")
	c := client(t, tp, "eqa")
	for _, p := range []string{"10.99.0.0/24", "fd99::/64", "0.0.0.0/0"} {
		if err := c.AddPrefix(mustPrefix(p)); err != nil {
			t.Fatalf("add %s: %v", p, err)
		}
	}
	ps, err := c.Prefixes()
	// longest prefix first: the order the datapath matches in
	if err != nil || len(ps) != 3 || ps[0].Net.String() != "fd99::/64" || ps[1].Net.String() != "10.99.0.0/24" || ps[2].Net.String() != "0.0.0.0/0" {
		t.Fatalf("dump: %v %v", ps, err)
	}
	st, err := c.Status()
	if err != nil || st.Prefixes != 3 {
		t.Fatalf("status %+v %v", st, err)
	}

	raw := func(fam uint8, addr []byte, plen uint8, omit string) []byte {
		ae := netlink.NewAttributeEncoder()
		if omit != "family" {
			ae.Uint8(equalize.AttrPrefixFamily, fam)
		}
		if omit != "addr" {
			ae.Bytes(equalize.AttrPrefixAddr, addr)
		}
		if omit != "len" {
			ae.Uint8(equalize.AttrPrefixLen, plen)
		}
		b, _ := ae.Encode()
		return b
	}
	v4 := net.ParseIP("10.1.0.0").To4()
	cases := []struct {
		name  string
		cmd   uint8
		attrs []byte
		errno syscall.Errno
		msg   string
	}{
		{"duplicate", equalize.CmdAddPrefix, raw(2, net.ParseIP("10.99.0.0").To4(), 24, ""), syscall.EEXIST, "already configured"},
		{"no family", equalize.CmdAddPrefix, raw(2, v4, 16, "family"), syscall.EINVAL, "family is required"},
		{"no address", equalize.CmdAddPrefix, raw(2, v4, 16, "addr"), syscall.EINVAL, "address is required"},
		{"no length", equalize.CmdAddPrefix, raw(2, v4, 16, "len"), syscall.EINVAL, "length is required"},
		{"family 7", equalize.CmdAddPrefix, raw(7, v4, 16, ""), syscall.EAFNOSUPPORT, "AF_INET or AF_INET6"},
		{"IPv6 family, 4 bytes", equalize.CmdAddPrefix, raw(10, v4, 16, ""), syscall.EINVAL, "does not match the family"},
		{"IPv4 /33", equalize.CmdAddPrefix, raw(2, v4, 33, ""), syscall.EINVAL, "longer than the address"},
		{"length 200", equalize.CmdAddPrefix, raw(10, net.ParseIP("fd00::"), 200, ""), syscall.ERANGE, "out of range"},
		{"host bits", equalize.CmdAddPrefix, raw(2, net.ParseIP("10.1.2.3").To4(), 16, ""), syscall.EINVAL, "host bits"},
		{"delete unknown", equalize.CmdDelPrefix, raw(2, v4, 16, ""), syscall.ENOENT, "no such prefix"},
	}
	for _, tc := range cases {
		err := c.Raw(tc.name, tc.cmd, tc.attrs)
		var ge *genl.Error
		if !errors.As(err, &ge) || !errors.Is(err, tc.errno) || !strings.Contains(ge.Message, tc.msg) {
			t.Errorf("%s: got %v, want %v with %q", tc.name, err, tc.errno, tc.msg)
			continue
		}
		t.Logf("%-22s %v", tc.name+":", err)
	}
	if st, _ := c.Status(); st.Prefixes != 3 {
		t.Errorf("refused requests changed the state: %d prefixes", st.Prefixes)
	}

	// CAP_NET_ADMIN: nobody may read, not change
	out, code := nlkitNS(t, tp, "eqa", true, "ip", "equalize", "prefix", "add", "10.5.0.0/16")
	if code != 1 || !strings.Contains(out, "CAP_NET_ADMIN") {
		t.Errorf("unprivileged add: exit %d: %s", code, out)
	}
	if out, code := nlkitNS(t, tp, "eqa", true, "ip", "equalize", "prefix", "show"); code != 0 || !strings.Contains(out, "fd99::/64") {
		t.Errorf("unprivileged show: exit %d: %s", code, out)
	}
	// the CLI's own checks: exit 2
	if out, code := nlkitNS(t, tp, "eqa", false, "ip", "equalize", "prefix", "add", "10.1.2.3/16"); code != 2 || !strings.Contains(out, "host bits") {
		t.Errorf("CLI host bits: exit %d: %s", code, out)
	}

	// the bound: 1024 per netns
	tp2 := vmtest.NewTopo(t, "eqb")
	c2 := client(t, tp2, "eqb")
	for i := 0; i < equalize.MaxPrefixes; i++ {
		if err := c2.AddPrefix(mustPrefix(fmt.Sprintf("10.%d.%d.0/24", i/256, i%256))); err != nil {
			t.Fatalf("prefix %d: %v", i, err)
		}
	}
	err = c2.AddPrefix(mustPrefix("11.0.0.0/24"))
	if !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("prefix 1025: %v", err)
	}
	t.Logf("prefix %d: %v", equalize.MaxPrefixes+1, err)
	if ps, _ := c2.Prefixes(); len(ps) != equalize.MaxPrefixes {
		t.Errorf("dump of %d prefixes returned %d", equalize.MaxPrefixes, len(ps))
	}
}

// The CLI's route syntax checks (exit 2, nothing configured), and equalize refused
// outright where nobody would honour it.
func TestRouteInput(t *testing.T) {
	vmtest.Require(t)
	tp := vmtest.NewTopo(t, "eqc")
	tp.IP("eqc", "link set lo up", "link add name a type dummy", "link add name b type dummy", "link set dev a up", "link set dev b up",
		"addr add 10.1.0.1/24 dev a", "addr add 10.2.0.1/24 dev b")
	bad := [][]string{
		{"10.9.0.0/24", "nexthop", "via", "10.1.0.2", "dev", "a", "weight", "0", "nexthop", "via", "10.2.0.2", "dev", "b"},
		{"10.9.0.0/24", "nexthop", "via", "10.1.0.2", "dev", "a", "weight", "257", "nexthop", "via", "10.2.0.2", "dev", "b"},
		{"10.9.0.1/24", "via", "10.1.0.2"},
		{"10.9.0.0/24", "via", "fd00::1"},
		{"10.9.0.0/24", "nexthop", "weight", "2"},
		{"10.9.0.0/24", "via", "10.1.0.2", "nexthop", "via", "10.2.0.2"},
		{"10.9.0.0/24", "nhid", "0"},
		{"10.9.0.0/24", "via", "10.1.0.2", "dev", "nosuchdev"},
		{"10.9.0.0/24", "frobnicate"},
	}
	for _, args := range bad {
		out, code := nlkitNS(t, tp, "eqc", false, append([]string{"ip", "route", "add"}, args...)...)
		if code != 2 {
			t.Errorf("%v: exit %d (want 2): %s", args, code, out)
		}
		t.Logf("%-60s -> %s", strings.Join(args, " "), strings.TrimSpace(out))
	}
	if out, _ := nlkitNS(t, tp, "eqc", false, "ip", "route", "show", "10.9.0.0/24"); strings.TrimSpace(out) != "" {
		t.Errorf("refused commands left a route: %s", out)
	}
	// weights at their limits are accepted and read back
	mp := []string{"ip", "route", "add", "10.9.0.0/24", "nexthop", "via", "10.1.0.2", "dev", "a", "weight", "1", "nexthop", "via", "10.2.0.2", "dev", "b", "weight", "256", "equalize"}
	if out, code := nlkitNS(t, tp, "eqc", false, mp...); code != 0 {
		t.Fatalf("weights 1 and 256: exit %d: %s", code, out)
	}
	out, _ := nlkitNS(t, tp, "eqc", false, "ip", "route", "show", "10.9.0.0/24")
	if !strings.Contains(out, "weight 1") || !strings.Contains(out, "weight 256") || !strings.Contains(out, "equalize") {
		t.Errorf("show: %s", out)
	}
	t.Logf("weights 1 and 256:\n%s", out)
	// an equalize route with one path: accepted, with a note
	out, code := nlkitNS(t, tp, "eqc", false, "ip", "route", "add", "10.8.0.0/24", "via", "10.1.0.2", "equalize")
	if code != 0 || !strings.Contains(out, "single path") {
		t.Errorf("one-path equalize route: exit %d: %s", code, out)
	}
	// IPv6 routes show up with -6, and -j is JSON with equalize among the flags
	out, code = nlkitNS(t, tp, "eqc", false, "-j", "ip", "route", "show", "10.9.0.0/24")
	if code != 0 || !strings.Contains(out, `"equalize"`) || !strings.Contains(out, `"weight":256`) {
		t.Errorf("-j show: exit %d: %s", code, out)
	}
}

// Without the patch and without the module, nlkit refuses an equalize route instead of
// adding one that would not be spread; unloading the module with equalize routes in
// place leaves the routes working (on one path) and loading it again resumes spreading.
func TestModuleGone(t *testing.T) {
	vmtest.Require(t)
	if _, err := os.Stat(equalize.SysctlPath); err == nil {
		t.Logf("patched kernel: equalize is the kernel's; checking that detection says so without the module")
	}
	tp := vmtest.NewTopo(t, "eqd")
	tp.IP("eqd", "link set lo up", "link add name a type dummy", "link add name b type dummy", "link set dev a up", "link set dev b up",
		"addr add 10.1.0.1/24 dev a", "addr add 10.2.0.1/24 dev b")
	mp := []string{"ip", "route", "add", "10.9.0.0/24", "nexthop", "via", "10.1.0.2", "dev", "a", "nexthop", "via", "10.2.0.2", "dev", "b", "equalize"}
	if out, code := nlkitNS(t, tp, "eqd", false, mp...); code != 0 {
		t.Fatalf("with the module: exit %d: %s", code, out)
	}
	if err := vmtest.UnloadModule(equalize.ModuleName); err != nil {
		t.Fatalf("unload with an equalize route in place: %v", err)
	}
	t.Cleanup(func() {
		if err := vmtest.LoadModule(vmtest.ModulePath(t, equalize.ModuleName), ""); err != nil && !errors.Is(err, syscall.EEXIST) {
			t.Errorf("reload: %v", err)
		}
	})
	out, code := nlkitNS(t, tp, "eqd", false, "ip", "equalize", "status")
	t.Logf("without the module: %s", strings.TrimSpace(out))
	mp6 := []string{"ip", "route", "add", "10.7.0.0/24", "nexthop", "via", "10.1.0.2", "dev", "a", "nexthop", "via", "10.2.0.2", "dev", "b", "equalize"}
	out2, code2 := nlkitNS(t, tp, "eqd", false, mp6...)
	show, _ := nlkitNS(t, tp, "eqd", false, "ip", "route", "show")
	if _, err := os.Stat(equalize.SysctlPath); err == nil {
		if code != 0 || !strings.HasPrefix(out, "support: kernel") || code2 != 0 {
			t.Errorf("patched kernel without the module: status %d %s; add %d %s", code, out, code2, out2)
		}
		return
	}
	if !strings.HasPrefix(out, "support: none") {
		t.Errorf("status without the module: %s", out)
	}
	if code2 != 1 || !strings.Contains(out2, "ignores equalize") || strings.Contains(show, "10.7.0.0") {
		t.Errorf("equalize route without support: exit %d: %s\nroutes:\n%s", code2, out2, show)
	}
	t.Logf("refused: %s", strings.TrimSpace(out2))
	if !strings.Contains(show, "equalize(ignored)") {
		t.Errorf("the route kept from before does not say it is ignored now:\n%s", show)
	}
}

// A packet that arrives on a device without IPv4 config passes the module's PRE_ROUTING
// hook all the same: a VLAN device set below IPv4's minimum MTU (68) loses its config,
// and ip_rcv does not look. The hook must not read the missing config (it dereferenced
// it: a NULL pointer in softirq, a kernel panic, from any netns owner). IPv6 drops such
// packets before PRE_ROUTING (ip6_rcv_core wants the device's inet6 config).
func TestNoIPv4Config(t *testing.T) {
	vmtest.Require(t)
	tp := vmtest.NewTopo(t, "eqa", "eqb")
	tp.IP("", "link add v0 netns eqa type veth peer name v1 netns eqb")
	tp.IP("eqa", "link set lo up", "link set v0 up", "link add link v0 name v0.10 type vlan id 10",
		"link set v0.10 up", "addr add 10.77.0.1/24 dev v0.10")
	tp.IP("eqb", "link set lo up", "link set v1 up", "link add link v1 name v1.10 type vlan id 10",
		"addr add 10.77.0.2/24 dev v1.10", "link set v1.10 mtu 60", "link set v1.10 up")
	tp.Must("eqb", func() error {
		if _, err := os.Stat("/proc/sys/net/ipv4/conf/v1.10"); err == nil {
			return fmt.Errorf("v1.10 kept its IPv4 config at MTU 60: the test would not test anything")
		}
		return nil
	})
	rx := func() uint64 {
		var n uint64
		tp.Must("eqb", func() error {
			b, err := os.ReadFile("/proc/thread-self/net/dev")
			if err != nil {
				return err
			}
			for _, l := range strings.Split(string(b), "\n") {
				if name, rest, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(name) == "v1.10" {
					if f := strings.Fields(rest); len(f) > 1 {
						n, err = strconv.ParseUint(f[1], 10, 64)
						return err
					}
				}
			}
			return fmt.Errorf("no v1.10 in /proc/net/dev")
		})
		return n
	}
	before := rx()
	const n = 20
	tp.Must("eqa", func() error {
		c, err := net.ListenPacket("udp4", "10.77.0.1:0")
		if err != nil {
			return err
		}
		defer c.Close()
		rc, err := c.(*net.UDPConn).SyscallConn()
		if err != nil {
			return err
		}
		var serr error
		if err := rc.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_BROADCAST, 1) }); err != nil {
			return err
		}
		if serr != nil {
			return serr
		}
		dst := &net.UDPAddr{IP: net.IPv4(10, 77, 0, 255), Port: 9}
		for i := 0; i < n; i++ {
			if _, err := c.WriteTo([]byte("tagged broadcast"), dst); err != nil {
				return err
			}
		}
		return nil
	})
	got := rx() - before
	for deadline := time.Now().Add(5 * time.Second); got < n && time.Now().Before(deadline); got = rx() - before {
		time.Sleep(50 * time.Millisecond)
	}
	if got < n {
		t.Fatalf("v1.10 received %d of %d broadcasts: the hook was not exercised", got, n)
	}
	st, err := client(t, tp, "eqb").Status()
	if err != nil {
		t.Fatalf("the module no longer answers: %v", err)
	}
	t.Logf("%d tagged IPv4 broadcasts reached a device without IPv4 config; the module answers (%+v)", got, st)
}

// Overlapping prefixes: a packet is counted (and spread) by the longest one that covers
// it, as the FIB would choose, whatever order they were added in (the first added won).
func TestLongestPrefix(t *testing.T) {
	vmtest.Require(t)
	tp := vmtest.NewVeths(t, vmtest.Veth{A: "eqla", DevA: "v0", AddrA: "10.99.0.1/24", B: "eqlb", DevB: "v1", AddrB: "10.99.0.2/24"})
	c := client(t, tp, "eqlb")
	for _, p := range []string{"10.0.0.0/8", "10.99.0.0/24", "10.99.0.0/16"} {
		if err := c.AddPrefix(mustPrefix(p)); err != nil {
			t.Fatalf("add %s: %v", p, err)
		}
	}
	const n = 50
	tp.Must("eqla", func() error {
		// unconnected: the port-unreachable replies must not fail the next send
		cn, err := net.ListenPacket("udp4", "10.99.0.1:0")
		if err != nil {
			return err
		}
		defer cn.Close()
		to := &net.UDPAddr{IP: net.IPv4(10, 99, 0, 2), Port: 9}
		for i := 0; i < n; i++ {
			if _, err := cn.WriteTo([]byte("x"), to); err != nil {
				return err
			}
		}
		return nil
	})
	time.Sleep(300 * time.Millisecond)
	ps, err := c.Prefixes()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]uint64{}
	for _, p := range ps {
		got[p.Net.String()] = p.Packets
	}
	t.Logf("%d datagrams to 10.99.0.2 with /8, /24, /16 added in that order: %v", n, got)
	if got["10.99.0.0/24"] < n || got["10.0.0.0/8"] != 0 || got["10.99.0.0/16"] != 0 {
		t.Errorf("the packets were not counted by the longest prefix (10.99.0.0/24): %v", got)
	}
	// get-prefix's do: one prefix, exactly as added, with the dump's counter
	p, err := c.Prefix(mustPrefix("10.99.0.0/24"))
	if err != nil || p.Net.String() != "10.99.0.0/24" || p.Packets != got["10.99.0.0/24"] {
		t.Errorf("get 10.99.0.0/24: %v %v, want its dump's %d packets", p, err, got["10.99.0.0/24"])
	}
	_, err = c.Prefix(mustPrefix("10.99.0.0/25"))
	if !errors.Is(err, unix.ENOENT) || !strings.Contains(err.Error(), "no such prefix") {
		t.Errorf("get of a prefix not added: %v, want ENOENT with \"no such prefix\"", err)
	}
}

// nlkit ip route shows and gets routes as ip -j does, field for field: kernel routes
// (protocol kernel, scope link), a route ip added (boot: no protocol), a gateway, a
// route in another table (named, or left out when that table is asked for), a local
// address's lookup (no protocol, scope or table; ip's uid and cache aside), and IPv6.
func TestIPRouteMatchesIproute(t *testing.T) {
	vmtest.Require(t)
	tp := vmtest.NewVeths(t, vmtest.Veth{A: "ipa", DevA: "a0", AddrA: "10.61.0.1/24", B: "ipb", DevB: "b0", AddrB: "10.61.0.2/24"})
	tp.IP("ipa", "addr add fd61::1/64 dev a0 nodad", "route add 10.62.0.0/24 via 10.61.0.2", "route add 10.63.0.0/24 dev a0 metric 7",
		"route add 10.64.0.0/24 via 10.61.0.2 table 100", "route add fd62::/64 via fd61::2", "route add 10.65.0.0/24 via 10.61.0.2 proto static")
	ipJSON := func(args ...string) []map[string]any {
		t.Helper()
		out, err := exec.Command("ip", append([]string{"-n", "ipa", "-j"}, args...)...).Output()
		if err != nil {
			t.Fatalf("ip %v: %v", args, err)
		}
		var v []map[string]any
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatalf("ip %v: %v\n%s", args, err, out)
		}
		for _, r := range v {
			delete(r, "uid") // route get's: the caller's uid, and the route cache
			delete(r, "cache")
			if f, ok := r["flags"].([]any); ok && len(f) == 0 {
				r["flags"] = []any{}
			}
		}
		return v
	}
	for _, c := range [][]string{
		{"route", "show"},
		{"-6", "route", "show"},
		{"route", "show", "table", "100"},
		{"route", "get", "10.62.0.9"},
		{"route", "get", "10.61.0.1"},
	} {
		want := ipJSON(c...)
		out, code := nlkitNS(t, tp, "ipa", false, append([]string{"-j", "ip"}, c...)...)
		var got []map[string]any
		if err := json.Unmarshal([]byte(out), &got); code != 0 || err != nil {
			t.Errorf("nlkit ip %v: exit %d, %v\n%s", c, code, err, out)
			continue
		}
		for _, r := range got {
			delete(r, "equalize")
		}
		gb, _ := json.Marshal(got)
		wb, _ := json.Marshal(want)
		if string(gb) != string(wb) {
			t.Errorf("nlkit ip %v:\n %s\nip -j:\n %s", c, gb, wb)
		}
	}
}
