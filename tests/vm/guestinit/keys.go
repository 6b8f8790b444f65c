package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Static keys are the other way live kernel text changes under the tests (see
// holdHookKeys): a key flipped while another vCPU runs the patched code can leave that
// CPU an int3 from a stale translation, and the guest dies with "Oops: int3". Seen on
// 6.12 in make test at 0e183a6: RIP inet_ehashfn+0x33, the DO_ONCE branch of
// net_get_random_once(&inet_ehash_secret), disabled (by a work item) while a TCP
// flood of the fcm tests ran on the other vCPU. The keys that flip on first use or
// follow a test's sockets are settled here, while nothing else runs:
//   - the once keys of the hashes and secrets the tests' traffic needs (TCP and UDP
//     lookups, connect's port perturbation, sequence numbers, IPv6 flow labels, IP
//     IDs of packets without DF): a little traffic over loopback, v4 and v6, then a
//     pause for the work items that disable the keys;
//   - netstamp_needed_key, which every capture (tcpdump's timestamps) would turn on
//     and off: held on by a socket with SO_TIMESTAMPNS for the whole job.
var netstampHolder = -1

func settleKeys(modlog *os.File) {
	if err := settleOnceKeys(); err != nil {
		fmt.Fprintf(modlog, "once keys (loopback traffic): FAIL %v\n", err)
		logf("once keys: %v (the tests' first traffic may crash TCG guests)", err)
	} else {
		fmt.Fprintf(modlog, "once keys settled by loopback traffic: ok\n")
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err == nil {
		err = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
	}
	if err != nil {
		fmt.Fprintf(modlog, "netstamp key (SO_TIMESTAMPNS): FAIL %v\n", err)
		return
	}
	netstampHolder = fd
	fmt.Fprintf(modlog, "netstamp key held by a socket with SO_TIMESTAMPNS: ok\n")
}

func settleOnceKeys() error {
	// lo is up already (setup's linkUp)
	for _, a := range []string{"127.0.0.1", "::1"} {
		if err := tcpRoundTrip(a); err != nil {
			return err
		}
		if err := udpRoundTrip(a); err != nil {
			return err
		}
	}
	time.Sleep(300 * time.Millisecond) // the once keys are disabled by work items
	return nil
}

func tcpRoundTrip(addr string) error {
	l, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		return err
	}
	defer l.Close()
	errc := make(chan error, 1)
	go func() {
		c, err := l.Accept()
		if err == nil {
			_, err = io.Copy(io.Discard, c)
			c.Close()
		}
		errc <- err
	}()
	c, err := net.DialTimeout("tcp", l.Addr().String(), 5*time.Second)
	if err != nil {
		return err
	}
	_, err = c.Write(make([]byte, 256<<10))
	c.Close()
	if err != nil {
		return err
	}
	select {
	case err = <-errc:
		return err
	case <-time.After(5 * time.Second):
		return fmt.Errorf("tcp %s: no end of stream in 5 s", addr)
	}
}

// udpRoundTrip sends one datagram with DF and one without (IP IDs come from a hashed
// table then) to a bound socket and reads both.
func udpRoundTrip(addr string) error {
	pc, err := net.ListenPacket("udp", net.JoinHostPort(addr, "0"))
	if err != nil {
		return err
	}
	defer pc.Close()
	c, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Write([]byte("df")); err != nil {
		return err
	}
	if rc, err := c.(*net.UDPConn).SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) {
			if addr == "::1" {
				unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_MTU_DISCOVER, unix.IPV6_PMTUDISC_DONT)
			} else {
				unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_DONT)
			}
		})
	}
	if _, err := c.Write([]byte("no df")); err != nil {
		return err
	}
	buf := make([]byte, 16)
	pc.SetReadDeadline(time.Now().Add(5 * time.Second))
	for i := 0; i < 2; i++ {
		if _, _, err := pc.ReadFrom(buf); err != nil {
			return fmt.Errorf("udp %s: %w", addr, err)
		}
	}
	return nil
}
