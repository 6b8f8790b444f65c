//go:build vmtest

package fcm_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mdlayher/netlink"

	"github.com/nlkit/nlkit/netlinkproto/fcm"
	"github.com/nlkit/nlkit/netlinkproto/fcmreceiver"
	"github.com/nlkit/nlkit/netlinkproto/genl"
	"github.com/nlkit/nlkit/tests/vm/vmtest"
)

func receiverClient(t *testing.T, tp *vmtest.Topo, ns string) *fcmreceiver.Client {
	t.Helper()
	c, err := fcmreceiver.DialConfig(&netlink.Config{NetNS: tp.FD(ns)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func u32p(v uint32) *uint32 { return &v }
func boolp(v bool) *bool    { return &v }

// nlkitNS runs nlkit in netns ns, as root or (nobody) as uid/gid 65534 without capabilities.
func nlkitNS(t *testing.T, ns string, nobody bool, args ...string) (string, int) {
	t.Helper()
	argv := []string{"netns", "exec", ns}
	if nobody {
		argv = append(argv, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")
	}
	return vmtest.Run(t, exec.Command("ip", append(append(argv, vmtest.Nlkit(t)), args...)...))
}

// Parameters: per netns, from the module parameters, changed only within range, and
// only with CAP_NET_ADMIN; every refusal says why.
func TestReceiverParams(t *testing.T) {
	vmtest.Require(t)
	tp := routerTopo(t)
	c := receiverClient(t, tp, "fd")
	r, err := c.Receiver()
	if err != nil {
		t.Fatal(err)
	}
	want := fcmreceiver.Params{Enabled: false, Alpha: 25, Tau: 1, PsThresh: 20, Weight: 300000, MSSDelta: 4, MaxConns: 65536, IdleTimeout: 120}
	if r.Params != want {
		t.Errorf("a new netns's params: %+v, want the module's (loaded with enable=0) %+v", r.Params, want)
	}
	ch := fcmreceiver.Change{Enabled: boolp(true), Alpha: u32p(50), Tau: u32p(2), PsThresh: u32p(0), Weight: u32p(12345),
		MSSDelta: u32p(0), MaxConns: u32p(7), IdleTimeout: u32p(9)}
	if err := c.SetReceiver(ch); err != nil {
		t.Fatal(err)
	}
	r, _ = c.Receiver()
	want = fcmreceiver.Params{Enabled: true, Alpha: 50, Tau: 2, PsThresh: 0, Weight: 12345, MSSDelta: 0, MaxConns: 7, IdleTimeout: 9}
	if r.Params != want {
		t.Errorf("after set: %+v, want %+v", r.Params, want)
	}
	other := receiverClient(t, tp, "fs")
	if o, _ := other.Receiver(); o.Params.Enabled || o.Params.Alpha != 25 {
		t.Errorf("another netns changed too: %+v", o.Params)
	}
	for _, bad := range []struct {
		name string
		ch   fcmreceiver.Change
	}{
		{"alpha 0", fcmreceiver.Change{Alpha: u32p(0)}},
		{"alpha 101", fcmreceiver.Change{Alpha: u32p(101)}},
		{"tau 0", fcmreceiver.Change{Tau: u32p(0)}},
		{"weight 0", fcmreceiver.Change{Weight: u32p(0)}},
		{"mss_delta 257", fcmreceiver.Change{MSSDelta: u32p(257)}},
		{"max_conns 0", fcmreceiver.Change{MaxConns: u32p(0)}},
		{"idle_timeout 0", fcmreceiver.Change{IdleTimeout: u32p(0)}},
	} {
		err := c.SetReceiver(bad.ch)
		var ge *genl.Error
		t.Logf("%s: %v", bad.name, err)
		if !errors.As(err, &ge) || ge.Message == "" || ge.Offset == 0 {
			t.Errorf("%s: want a kernel refusal with a message naming the attribute, got %v", bad.name, err)
		}
	}
	if r2, _ := c.Receiver(); r2.Params != want {
		t.Errorf("refused changes changed something: %+v", r2.Params)
	}
	// the command line: its own checks (exit 2), the kernel's (exit 1), permissions
	for _, tc := range []struct {
		args []string
		code int
		has  string
	}{
		{[]string{"fcm", "receiver", "set"}, 2, "nothing to set"},
		{[]string{"fcm", "receiver", "set", "alpha", "0"}, 2, "alpha"},
		{[]string{"fcm", "receiver", "set", "enable", "maybe"}, 2, "on or off"},
		{[]string{"fcm", "receiver", "set", "bogus", "1"}, 2, "unknown argument"},
		{[]string{"fcm", "receiver", "set", "alpha", "30"}, 0, ""},
	} {
		out, code := nlkitNS(t, "fd", false, tc.args...)
		if code != tc.code || !strings.Contains(out, tc.has) {
			t.Errorf("nlkit %s: exit %d %q, want exit %d containing %q", strings.Join(tc.args, " "), code, out, tc.code, tc.has)
		}
	}
	out, code := nlkitNS(t, "fd", true, "fcm", "receiver", "set", "alpha", "40")
	t.Logf("as nobody: exit %d: %s", code, strings.TrimSpace(out))
	if code != 1 || !strings.Contains(out, "CAP_NET_ADMIN") {
		t.Errorf("an unprivileged set: exit %d %q, want exit 1 naming CAP_NET_ADMIN", code, out)
	}
	if out, code := nlkitNS(t, "fd", true, "fcm", "receiver", "status"); code != 0 || !strings.Contains(out, "receiver on alpha 30") {
		t.Errorf("an unprivileged status: exit %d %q, want the status", code, out)
	}
	out, _ = nlkitNS(t, "fd", false, "fcm", "receiver", "status", "-j")
	t.Logf("nlkit fcm receiver status -j: %s", strings.TrimSpace(out))
}

// The table is bounded (more connections are counted, not tracked) and forgets idle
// and closed connections.
func TestReceiverTableFullAndExpiry(t *testing.T) {
	vmtest.Require(t)
	tp := routerTopo(t)
	c := receiverClient(t, tp, "fd")
	if err := c.SetReceiver(fcmreceiver.Change{Enabled: boolp(true), MaxConns: u32p(3), IdleTimeout: u32p(2)}); err != nil {
		t.Fatal(err)
	}
	sink := tp.NewSink("fs", "10.0.1.1:5001")
	defer sink.Close()
	var conns []net.Conn
	tp.Must("fd", func() error {
		for i := 0; i < 6; i++ {
			cn, err := net.DialTimeout("tcp", "10.0.1.1:5001", 10*time.Second)
			if err != nil {
				return err
			}
			conns = append(conns, cn)
		}
		return nil
	})
	r, _ := c.Receiver()
	cs, _ := c.Conns()
	t.Logf("6 connections with max_conns 3: conns %d (dump %d), tracked %d, table_full %d", r.Conns, len(cs), r.Tracked, r.TableFull)
	if r.Conns != 3 || len(cs) != 3 || r.TableFull < 3 {
		t.Errorf("want 3 tracked and at least 3 counted as table_full")
	}
	for _, cn := range conns {
		cn.Write([]byte("still works"))
	}
	time.Sleep(500 * time.Millisecond)
	if sink.Bytes() != int64(6*len("still works")) {
		t.Errorf("the sink got %d bytes, want %d: untracked connections must work", sink.Bytes(), 6*len("still works"))
	}
	for _, cn := range conns[:2] {
		cn.(*net.TCPConn).SetLinger(0) // close with a RST: forgotten at once
		cn.Close()
	}
	time.Sleep(300 * time.Millisecond)
	r2, _ := c.Receiver()
	t.Logf("after 2 resets: conns %d, expired %d", r2.Conns, r2.Expired)
	// the idle ones go after idle_timeout (2 s) plus the worker's period (1 s)
	var r3 fcmreceiver.Receiver
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		if r3, _ = c.Receiver(); r3.Conns == 0 {
			break
		}
	}
	t.Logf("idle: conns %d, expired %d", r3.Conns, r3.Expired)
	if r3.Conns != 0 || r3.Expired < 3 {
		t.Errorf("idle connections were not forgotten: conns %d expired %d", r3.Conns, r3.Expired)
	}
	for _, cn := range conns[2:] {
		cn.Close()
	}
}

// Hostile option lists on incoming segments are counted as malformed and ignored;
// segments too short to be TCP are left alone; the host and its connections are fine.
func TestReceiverHostileOptions(t *testing.T) {
	vmtest.Require(t)
	tp := routerTopo(t)
	c := receiverClient(t, tp, "fd")
	if err := c.SetReceiver(fcmreceiver.Change{Enabled: boolp(true)}); err != nil {
		t.Fatal(err)
	}
	sink := tp.NewSink("fd", "10.0.2.2:5001")
	defer sink.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tp.Flood(ctx, "fs", "10.0.2.2:5001", 1)
	src, dst := netip.MustParseAddr("10.0.1.1"), netip.MustParseAddr("10.0.2.2")
	seg := func(opts []byte, doff int) []byte {
		tcp := make([]byte, 20)
		binary.BigEndian.PutUint16(tcp[0:], 4000)
		binary.BigEndian.PutUint16(tcp[2:], 5001)
		tcp[12] = byte(doff << 4)
		tcp[13] = 0x18
		binary.BigEndian.PutUint16(tcp[14:], 1000)
		tcp = append(append(tcp, opts...), []byte("payload")...)
		binary.BigEndian.PutUint16(tcp[16:], vmtest.TCPChecksum(src, dst, tcp))
		ip := make([]byte, 20)
		ip[0] = 0x45
		binary.BigEndian.PutUint16(ip[2:], uint16(20+len(tcp)))
		ip[8], ip[9] = 64, 6
		copy(ip[12:], src.AsSlice())
		copy(ip[16:], dst.AsSlice())
		return append(ip, tcp...)
	}
	malformed := [][]byte{
		seg([]byte{92, 3, 0, 1}, 6),                    // option 92, length 3
		seg([]byte{92, 6, 0, 1, 0, 0, 1, 1}, 7),        // option 92, length 6
		seg([]byte{8, 0, 1, 1}, 6),                     // length 0
		seg([]byte{1, 1, 1, 5}, 6),                     // a kind with no length byte
		seg([]byte{1, 1, 92, 8}, 6),                    // runs past the header
		seg([]byte{2, 1, 1, 1}, 6),                     // length 1
		seg([]byte{92, 4, 0xff, 0xff, 92, 2, 1, 1}, 7), // a good price, then length 2
	}
	fine := [][]byte{
		seg([]byte{92, 4, 0, 7}, 6),
		seg([]byte{1, 1, 1, 0}, 6),
		seg(nil, 5),
	}
	short := seg(nil, 5)[:30] // 10 bytes of TCP header: not a TCP segment
	before, _ := c.Receiver()
	tp.Must("fs", func() error {
		fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW, syscall.IPPROTO_RAW)
		if err != nil {
			return err
		}
		defer syscall.Close(fd)
		to := &syscall.SockaddrInet4{Addr: dst.As4()}
		for _, p := range append(append(malformed, fine...), short) {
			if err := syscall.Sendto(fd, p, 0, to); err != nil {
				return fmt.Errorf("send: %w", err)
			}
		}
		return nil
	})
	time.Sleep(time.Second)
	after, _ := c.Receiver()
	got := after.Malformed - before.Malformed
	t.Logf("%d malformed option lists and %d fine ones sent: malformed +%d", len(malformed), len(fine), got)
	if got != uint64(len(malformed)) {
		t.Errorf("malformed +%d, want +%d", got, len(malformed))
	}
	b0 := sink.Bytes()
	time.Sleep(500 * time.Millisecond)
	if sink.Bytes() == b0 {
		t.Errorf("the flood stopped")
	}
}

// The receiver lowers the MSS of outgoing SYNs by mss_delta and fixes the TCP checksum,
// also when the option sits at an odd offset (a NOP before it: the field is unaligned and
// its bytes count swapped in the checksum; the checksum came out wrong). Raw-socket SYNs
// (checksum computed in full, CHECKSUM_NONE), captured on the wire.
func TestMSSRewriteChecksum(t *testing.T) {
	vmtest.Require(t)
	tp := routerTopo(t)
	c := receiverClient(t, tp, "fd")
	if err := c.SetReceiver(fcmreceiver.Change{Enabled: boolp(true), MSSDelta: u32p(4)}); err != nil {
		t.Fatal(err)
	}
	src, dst := netip.MustParseAddr("10.0.2.2"), netip.MustParseAddr("10.0.1.1")
	syn := func(sport uint16, opts []byte) []byte {
		tcp := make([]byte, 20)
		binary.BigEndian.PutUint16(tcp[0:], sport)
		binary.BigEndian.PutUint16(tcp[2:], 5001)
		binary.BigEndian.PutUint32(tcp[4:], 12345)
		tcp[12] = byte((20 + len(opts)) / 4 << 4)
		tcp[13] = 0x02 // SYN
		binary.BigEndian.PutUint16(tcp[14:], 64240)
		tcp = append(tcp, opts...)
		binary.BigEndian.PutUint16(tcp[16:], vmtest.TCPChecksum(src, dst, tcp))
		ip := make([]byte, 20)
		ip[0] = 0x45
		binary.BigEndian.PutUint16(ip[2:], uint16(20+len(tcp)))
		ip[8], ip[9] = 64, 6
		copy(ip[12:], src.AsSlice())
		copy(ip[16:], dst.AsSlice())
		return append(ip, tcp...)
	}
	cases := map[uint16]struct {
		name string
		opts []byte
	}{
		4101: {"MSS option at 20 (even)", []byte{2, 4, 0x05, 0xb4}},
		4102: {"MSS option at 21 (odd)", []byte{1, 2, 4, 0x05, 0xb4, 1, 1, 1}},
		4103: {"MSS option at 23 (odd)", []byte{1, 1, 1, 2, 4, 0x05, 0xb4, 0}},
	}
	capture := vmtest.StartCapture(t, "fr", "r1", "tcp[tcpflags] & tcp-syn != 0 and src host 10.0.2.2")
	tp.Must("fd", func() error {
		fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW, syscall.IPPROTO_RAW)
		if err != nil {
			return err
		}
		defer syscall.Close(fd)
		for sport, k := range cases {
			if err := syscall.Sendto(fd, syn(sport, k.opts), 0, &syscall.SockaddrInet4{Addr: dst.As4()}); err != nil {
				return fmt.Errorf("send: %w", err)
			}
		}
		return nil
	})
	// tcpdump writes each packet as it reads it (-U), late on a busy guest; stopping it
	// drops what it has not read yet: wait until the file holds the three SYNs
	var segs []vmtest.TCPSegment
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		n := 0
		segs, _ = vmtest.ReadPcapTCP(capture.Path)
		for _, s := range segs {
			if _, ok := cases[s.Src.Port()]; ok {
				n++
			}
		}
		if n >= len(cases) {
			break
		}
	}
	capture.Stop()
	seen := map[uint16]bool{}
	for _, s := range segs {
		k, ok := cases[s.Src.Port()]
		if !ok {
			continue
		}
		seen[s.Src.Port()] = true
		mss := -1
		for o := s.Options; len(o) >= 1; {
			if o[0] == 0 {
				break
			}
			if o[0] == 1 {
				o = o[1:]
				continue
			}
			if len(o) < 2 || int(o[1]) < 2 || int(o[1]) > len(o) {
				break
			}
			if o[0] == 2 && o[1] == 4 {
				mss = int(binary.BigEndian.Uint16(o[2:]))
			}
			o = o[o[1]:]
		}
		t.Logf("%-24s: MSS %d on the wire, checksum ok %v", k.name, mss, s.ChecksumOK)
		if mss != 1456 {
			t.Errorf("%s: MSS %d on the wire, want 1460 - 4", k.name, mss)
		}
		if !s.ChecksumOK {
			t.Errorf("%s: the TCP checksum is wrong after the rewrite", k.name)
		}
	}
	for sport, k := range cases {
		if !seen[sport] {
			t.Errorf("%s: the SYN was not seen on the wire", k.name)
		}
	}
}

// A spoofed SYN flood creates no entries: the receiver answers SYNs with SYN-ACKs from
// requests or syncookies, and an entry comes only with a local socket's own segments
// (each SYN-ACK made one, and a flood filled the table for idle_timeout). A real
// connection is then tracked from its established socket, with the scale it advertises.
func TestReceiverSynFlood(t *testing.T) {
	vmtest.Require(t)
	tp := routerTopo(t)
	c := receiverClient(t, tp, "fd")
	if err := c.SetReceiver(fcmreceiver.Change{Enabled: boolp(true)}); err != nil {
		t.Fatal(err)
	}
	sink := tp.NewSink("fd", "10.0.2.2:5003")
	defer sink.Close()
	dst := netip.MustParseAddr("10.0.2.2")
	flood := func(n int) {
		tp.Must("fs", func() error {
			fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW, syscall.IPPROTO_RAW)
			if err != nil {
				return err
			}
			defer syscall.Close(fd)
			for i := 0; i < n; i++ {
				src := netip.AddrFrom4([4]byte{10, 0, 1, byte(10 + i%240)})
				tcp := make([]byte, 24)
				binary.BigEndian.PutUint16(tcp[0:], uint16(20000+i))
				binary.BigEndian.PutUint16(tcp[2:], 5003)
				binary.BigEndian.PutUint32(tcp[4:], uint32(i)*7919)
				tcp[12], tcp[13] = 6<<4, 0x02
				binary.BigEndian.PutUint16(tcp[14:], 64240)
				copy(tcp[20:], []byte{2, 4, 0x05, 0xb4})
				binary.BigEndian.PutUint16(tcp[16:], vmtest.TCPChecksum(src, dst, tcp))
				ip := make([]byte, 20)
				ip[0] = 0x45
				binary.BigEndian.PutUint16(ip[2:], uint16(20+len(tcp)))
				ip[8], ip[9] = 64, 6
				copy(ip[12:], src.AsSlice())
				copy(ip[16:], dst.AsSlice())
				if err := syscall.Sendto(fd, append(ip, tcp...), 0, &syscall.SockaddrInet4{Addr: dst.As4()}); err != nil {
					return err
				}
			}
			return nil
		})
	}
	r0, _ := c.Receiver()
	// request sockets (below the listener's backlog), then syncookies for every SYN
	flood(100)
	tp.Sysctl("fd", "net/ipv4/tcp_syncookies", "2")
	flood(1000)
	time.Sleep(time.Second)
	r1, _ := c.Receiver()
	t.Logf("1100 spoofed SYNs (100 answered from requests, 1000 with syncookies): entries %d, tracked +%d", r1.Conns, r1.Tracked-r0.Tracked)
	if r1.Conns != 0 || r1.Tracked != r0.Tracked {
		t.Errorf("a SYN flood created %d entries (tracked +%d)", r1.Conns, r1.Tracked-r0.Tracked)
	}
	tp.Sysctl("fd", "net/ipv4/tcp_syncookies", "1")
	tp.Must("fs", func() error {
		cn, err := net.DialTimeout("tcp", "10.0.2.2:5003", 10*time.Second)
		if err != nil {
			return err
		}
		defer cn.Close()
		_, err = cn.Write(make([]byte, 64<<10))
		return err
	})
	var cs []fcmreceiver.Conn
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if cs, _ = c.Conns(); len(cs) > 0 {
			break
		}
	}
	if len(cs) != 1 || cs[0].Local.Port() != 5003 {
		t.Fatalf("a real connection to the listener: entries %+v, want one on port 5003", cs)
	}
	t.Logf("the real connection: %+v", cs[0])
	if cs[0].WScale == 0 || cs[0].MSS == 0 {
		t.Errorf("the entry lacks the socket's window scale or MSS: %+v", cs[0])
	}
	// get-conn's do: the same entry by its addresses and ports, and ENOENT for another port
	one, err := c.Conn(cs[0].Local, cs[0].Remote)
	if err != nil || one.Local != cs[0].Local || one.Remote != cs[0].Remote || one.MSS != cs[0].MSS {
		t.Errorf("get-conn %v -> %v: %+v %v, want the dump's entry", cs[0].Remote, cs[0].Local, one, err)
	}
	other := netip.AddrPortFrom(cs[0].Remote.Addr(), cs[0].Remote.Port()+1)
	if _, err = c.Conn(cs[0].Local, other); !errors.Is(err, syscall.ENOENT) || !strings.Contains(err.Error(), "no such connection") {
		t.Errorf("get-conn of a connection not tracked: %v, want ENOENT with \"no such connection\"", err)
	}
}

func TestMain(m *testing.M) {
	if mode := os.Getenv(vmtest.ChildEnv); mode != "" {
		os.Exit(childMain(mode))
	}
	os.Exit(m.Run())
}

// childMain runs in a re-executed test binary: as root of its own user namespace, in a
// network namespace that namespace owns.
func childMain(mode string) int {
	if mode != "max-conns" {
		return 2
	}
	c, err := fcmreceiver.Dial()
	if err != nil {
		fmt.Println("dial:", err)
		return 2
	}
	defer c.Close()
	up := c.SetReceiver(fcmreceiver.Change{MaxConns: u32p(1 << 20)})
	down := c.SetReceiver(fcmreceiver.Change{MaxConns: u32p(100)})
	r, err := c.Receiver()
	fmt.Printf("raise: %v\nlower: %v\nmax_conns now %d (%v)\n", up, down, r.Params.MaxConns, err)
	if !errors.Is(up, syscall.EPERM) || down != nil || r.Params.MaxConns != 100 {
		return 1
	}
	return 0
}

// The table's memory is the machine's: a user namespace's root, owning its network
// namespace, may lower max_conns there but not raise it above the module parameter (it
// could set 4194304 entries of kernel memory per namespace).
func TestReceiverMaxConnsBound(t *testing.T) {
	vmtest.Require(t)
	out, err := vmtest.RunChild(t, "max-conns", vmtest.OwnUserNs(true))
	t.Logf("as root of a user namespace, in its own network namespace:\n%s", out)
	if err != nil {
		t.Errorf("child: %v", err)
	}
	if !strings.Contains(out, "raising max-conns above the module parameter needs CAP_NET_ADMIN in the initial user namespace") {
		t.Errorf("the refusal does not carry its extack message")
	}
}

// The price travels in option 92 (the original FCM's, not assigned by IANA) or, with an
// exid on both ends, in the RFC 6994 experimental form: NOP, NOP, kind 253, length 6,
// the ExID, the price. Each form is checked on the wire and at the receiver, which reads
// only the form it is set to; the 8-byte form needs the receiver's mss_delta 8 for room
// in full-size segments, and the receiver refuses an exid with less.
func TestOptionForms(t *testing.T) {
	vmtest.Require(t)
	tp := routerTopo(t)
	for _, c := range [][]string{{"fr", "r1"}, {"fs", "eth0"}} { // checksums in software: the capture checks them
		if out, err := exec.Command("ip", "netns", "exec", c[0], "ethtool", "-K", c[1], "tx", "off").CombinedOutput(); err != nil {
			t.Fatalf("ethtool: %v\n%s", err, out)
		}
	}
	idx, fc := addFCM(t, tp, "fr", "r1", fcm.Options{Rate: new(uint64(20 * mbit)), Bval: new(uint32(100)), Qmin: new(uint32(0))})
	rc := receiverClient(t, tp, "fd")
	tp.NewSink("fd", "10.0.2.2:5001") // the default MTU: only the receiver's MSS makes room
	type result struct {
		priced, malformed, modified, passed uint64
		data, forms                         int // data segments captured, those in the expected form
		badSum                              int
	}
	// phase floods a new connection through the router until 300 segments went through
	// it, capturing at the receiver; want is the options a stamped segment starts with.
	phase := func(name string, want []byte) result {
		t.Helper()
		r0, err := rc.Receiver()
		if err != nil {
			t.Fatal(err)
		}
		q0, err := fc.Qdisc(uint32(idx), 0)
		if err != nil {
			t.Fatal(err)
		}
		capture := vmtest.StartCapture(t, "fd", "eth0", "tcp dst port 5001")
		ctx, cancel := context.WithCancel(context.Background())
		tp.Flood(ctx, "fs", "10.0.2.2:5001", 1)
		q1 := q0
		for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline) && q1.Packets < q0.Packets+300; time.Sleep(100 * time.Millisecond) {
			if q1, err = fc.Qdisc(uint32(idx), 0); err != nil {
				t.Fatal(err)
			}
		}
		cancel()
		time.Sleep(500 * time.Millisecond)
		segs, err := vmtest.ReadPcapTCP(capture.Stop())
		if err != nil {
			t.Fatal(err)
		}
		r1, err := rc.Receiver()
		if err != nil {
			t.Fatal(err)
		}
		if q1, err = fc.Qdisc(uint32(idx), 0); err != nil {
			t.Fatal(err)
		}
		res := result{priced: r1.Priced - r0.Priced, malformed: r1.Malformed - r0.Malformed,
			modified: q1.Modified - q0.Modified, passed: q1.Passed - q0.Passed}
		for _, s := range segs {
			if s.PayloadLen == 0 {
				continue
			}
			res.data++
			if !s.ChecksumOK || !s.IPv4SumOK {
				res.badSum++
			}
			if len(s.Options) >= len(want)+2 && string(s.Options[:len(want)]) == string(want) {
				res.forms++
			}
		}
		t.Logf("%s: receiver priced %d malformed %d; qdisc modified %d passed %d; capture: %d data segments, %d start with % x, %d bad checksums",
			name, res.priced, res.malformed, res.modified, res.passed, res.data, res.forms, want, res.badSum)
		if res.data < 100 || res.badSum != 0 {
			t.Errorf("%s: %d data segments captured, %d with bad checksums", name, res.data, res.badSum)
		}
		return res
	}
	setRcv := func(exid uint16, mssDelta uint32) {
		t.Helper()
		if err := rc.SetReceiver(fcmreceiver.Change{Enabled: boolp(true), Exid: &exid, MSSDelta: u32p(mssDelta)}); err != nil {
			t.Fatalf("receiver exid %#x mss_delta %d: %v", exid, mssDelta, err)
		}
	}
	opt92 := []byte{fcm.OptionKind, fcm.OptionLen}
	exp := []byte{1, 1, fcm.OptionExpKind, fcm.OptionExpLen, 0xfc, 0x11}

	setRcv(0, 4)
	if r := phase("option 92 at both ends", opt92); r.priced == 0 || r.passed != 0 || r.forms != r.data {
		t.Errorf("option 92: every data segment stamped and priced at the receiver, wanted")
	}

	if out, err := vmtest.TC(t, "fr", "qdisc", "change", "dev", "r1", "root", "fcm", "exid", "0xfc11"); err != nil {
		t.Fatalf("tc qdisc change ... exid: %v\n%s", err, out)
	}
	if out, _ := vmtest.TC(t, "fr", "qdisc", "show", "dev", "r1"); !strings.Contains(out, "exid 0xfc11") {
		t.Errorf("tc qdisc show does not show the exid:\n%s", out)
	}
	if out, code := nlkitNS(t, "fr", false, "fcm", "router", "status"); code != 0 || !strings.Contains(out, "exid:0xfc11") {
		t.Errorf("nlkit fcm router status does not show the exid (exit %d):\n%s", code, out)
	}
	setRcv(0, 8)
	if r := phase("RFC 6994 at the router, option 92 at the receiver", exp); r.priced != 0 || r.malformed != 0 || r.forms != r.data || r.passed != 0 {
		t.Errorf("every data segment stamped in the RFC 6994 form, and a receiver reading option 92 ignoring it, wanted")
	}
	setRcv(0, 4)

	out, code := nlkitNS(t, "fd", false, "fcm", "receiver", "set", "exid", "0xfc11")
	if code == 0 || !strings.Contains(out, "takes 8 bytes") {
		t.Errorf("exid with mss_delta 4: exit %d, want a refusal that says why:\n%s", code, out)
	}
	setRcv(0xfc11, 8)
	if out, _ := nlkitNS(t, "fd", false, "fcm", "receiver", "status"); !strings.Contains(out, "option exid:0xfc11") {
		t.Errorf("nlkit fcm receiver status does not show the exid:\n%s", out)
	}
	if r := phase("RFC 6994 at both ends", exp); r.priced == 0 || r.passed != 0 || r.forms != r.data {
		t.Errorf("RFC 6994: every data segment stamped (mss_delta 8 makes room) and priced at the receiver, wanted")
	}

	setRcv(0xfc12, 8)
	if r := phase("RFC 6994, another ExID at the receiver", exp); r.priced != 0 || r.malformed != 0 || r.forms != r.data {
		t.Errorf("a receiver must ignore another experiment's ExID")
	}
}

// Issue 14, defect 8: under the largest price a peer can send (65535) and weight 1,
// the law's step tau * MSS * u is far below -2^63 at a few hundred Mbit/s (u about
// -1.4e12 at 215 Mbit/s with a 65491-byte MSS and tau 100). The old law multiplied
// unclamped in s64: between about 215 and 430 Mbit/s the product wrapped positive and
// the window jumped to the kernel's instead of falling to one MSS. A raw sender in
// another netns sends 60000-byte segments of a real connection's 4-tuple, each priced
// 65535, at a rate ramped from 150 to 480 Mbit/s over 3 s, over a veth with a
// 65535-byte MTU; an nftables rule after the receiver's hook drops them before TCP
// (only the receiver's accounting sees them). No timestamps: the law's rounds are
// 100 ms. From the first round under the law on, the window must be one MSS in every
// sample (every 20 ms), and the rates the receiver measured must have crossed the
// band where the product wrapped.
func TestReceiverLawAtLargestPrice(t *testing.T) {
	vmtest.Require(t)
	tp := vmtest.NewVeths(t, vmtest.Veth{A: "fla", DevA: "eth0", AddrA: "10.0.9.1/24", B: "flb", DevB: "eth0", AddrB: "10.0.9.2/24", MTU: 65535})
	tp.Sysctl("fla", "net/ipv4/tcp_timestamps", "0")
	nft := exec.Command("ip", "netns", "exec", "flb", "nft", "-f", "-")
	nft.Stdin = strings.NewReader("table ip raw8 {\n chain in {\n  type filter hook input priority 400; policy accept;\n  ip dscp ef drop\n }\n}\n")
	if out, err := nft.CombinedOutput(); err != nil {
		t.Fatalf("nft: %v\n%s", err, out)
	}
	c := receiverClient(t, tp, "flb")
	if err := c.SetReceiver(fcmreceiver.Change{Enabled: boolp(true), Weight: u32p(1), Tau: u32p(100)}); err != nil {
		t.Fatal(err)
	}
	sink := tp.NewSink("flb", "10.0.9.2:5009")
	defer sink.Close()
	var cn net.Conn
	tp.Must("fla", func() (err error) {
		if cn, err = net.DialTimeout("tcp", "10.0.9.2:5009", 10*time.Second); err != nil {
			return err
		}
		_, err = cn.Write(make([]byte, 1000))
		return err
	})
	defer cn.Close()
	find := func() (fcmreceiver.Conn, bool) {
		cs, err := c.Conns()
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range cs {
			if x.Local.Port() == 5009 {
				return x, true
			}
		}
		return fcmreceiver.Conn{}, false
	}
	var entry fcmreceiver.Conn
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var ok bool
		if entry, ok = find(); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no receiver entry for the connection")
		}
	}
	t.Logf("the connection's entry: %+v", entry)

	// one segment, sent again and again: only the receiver's byte count matters
	src, dst := netip.MustParseAddr("10.0.9.1"), netip.MustParseAddr("10.0.9.2")
	const payload = 60000
	tcp := make([]byte, 24+payload)
	binary.BigEndian.PutUint16(tcp[0:], uint16(cn.LocalAddr().(*net.TCPAddr).Port))
	binary.BigEndian.PutUint16(tcp[2:], 5009)
	binary.BigEndian.PutUint32(tcp[4:], 1)
	tcp[12], tcp[13] = 6<<4, 0x10
	binary.BigEndian.PutUint16(tcp[14:], 1000)
	copy(tcp[20:], []byte{fcm.OptionKind, 4, 0xff, 0xff})
	binary.BigEndian.PutUint16(tcp[16:], vmtest.TCPChecksum(src, dst, tcp))
	ip := make([]byte, 20, 20+len(tcp))
	ip[0], ip[1] = 0x45, 0xb8 // DSCP EF: the nftables rule's mark
	binary.BigEndian.PutUint16(ip[2:], uint16(20+len(tcp)))
	binary.BigEndian.PutUint16(ip[6:], 0x4000)
	ip[8], ip[9] = 64, 6
	copy(ip[12:], src.AsSlice())
	copy(ip[16:], dst.AsSlice())
	pkt := append(ip, tcp...)

	const ramp, from, to = 3 * time.Second, 150e6, 480e6 // bit/s
	var sent int64
	sendErr := make(chan error, 1)
	go func() {
		sendErr <- tp.Do("fla", func() error {
			fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW, syscall.IPPROTO_RAW)
			if err != nil {
				return err
			}
			defer syscall.Close(fd)
			to4 := &syscall.SockaddrInet4{Addr: dst.As4()}
			start := time.Now()
			for el := time.Duration(0); el < ramp; el = time.Since(start) {
				s := el.Seconds()
				due := int64((from*s + (to-from)*s*s/(2*ramp.Seconds())) / 8)
				for ; sent+payload <= due; sent += payload {
					if err := syscall.Sendto(fd, pkt, 0, to4); err != nil {
						return fmt.Errorf("send: %w", err)
					}
				}
				time.Sleep(500 * time.Microsecond)
			}
			return nil
		})
	}()
	type sample struct {
		at time.Duration
		c  fcmreceiver.Conn
	}
	var samples []sample
	start := time.Now()
	for done := false; !done; time.Sleep(20 * time.Millisecond) {
		select {
		case err := <-sendErr:
			if err != nil {
				t.Fatal(err)
			}
			done = true
		default:
		}
		if x, ok := find(); ok {
			samples = append(samples, sample{time.Since(start), x})
		}
	}
	elapsed := time.Since(start)
	t.Logf("raw sender: %d MB in %v, %.0f Mbit/s on average (the ramp's average: %.0f)", sent>>20, elapsed.Round(time.Millisecond),
		float64(sent)*8/elapsed.Seconds()/1e6, (from+to)/2/1e6)

	// The rounds under the law: a connection enters steady with the window set to its
	// round's bytes (at least one MSS; often exactly one MSS, when the first priced
	// segment ends an idle round), and the law runs from the next round on. A round
	// has run when the measured rate (the kernel's average, updated once per round)
	// changes, so the law holds from the first steady sample whose rate differs from
	// the first steady sample's.
	var entryWin uint32
	var entryRate uint64
	entered := false
	law, inBand, underLaw := -1, 0, 0
	var rates []string
	var bad []sample
	for i, s := range samples {
		if s.c.State != fcmreceiver.ConnStateSteady {
			continue
		}
		if !entered {
			entered, entryWin, entryRate = true, s.c.Window, s.c.Rate
		}
		if law < 0 && s.c.Rate != entryRate {
			law = i
		}
		if law >= 0 {
			underLaw++
			mbit := float64(s.c.Rate) * 8 / 1e6
			if i == law || samples[i-1].c.Rate != s.c.Rate {
				rates = append(rates, fmt.Sprintf("%.0f", mbit))
			}
			if mbit >= 225 && mbit <= 420 {
				inBand++
			}
			if s.c.Window != s.c.MSS || s.c.Price != 65535 {
				bad = append(bad, s)
			}
		}
	}
	if len(bad) > 0 {
		mbit := func(s sample) float64 { return float64(s.c.Rate) * 8 / 1e6 }
		f, l := bad[0], bad[len(bad)-1]
		t.Errorf("%d of the %d samples under the law had a window other than one MSS (%d) or a price other than 65535: from %v (rate %.0f Mbit/s, window %d, price %d) to %v (rate %.0f Mbit/s, window %d, price %d)",
			len(bad), underLaw, f.c.MSS, f.at.Round(time.Millisecond), mbit(f), f.c.Window, f.c.Price, l.at.Round(time.Millisecond), mbit(l), l.c.Window, l.c.Price)
	}
	t.Logf("%d samples; steady, entered with window %d; under the law from sample %d on; rates measured there (Mbit/s): %s",
		len(samples), entryWin, law, strings.Join(rates, " "))
	if law < 0 {
		t.Fatal("the connection never came under the law")
	}
	if inBand == 0 {
		t.Errorf("no sample under the law at 225-420 Mbit/s, where the old law's product wrapped: the test did not reach its operating point")
	}
}
