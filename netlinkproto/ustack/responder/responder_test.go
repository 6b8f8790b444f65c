package responder

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nlkit/nlkit/netlinkproto/ustack"
)

var (
	me   = net.HardwareAddr{2, 0, 0, 0, 0, 2}
	peer = net.HardwareAddr{2, 0, 0, 0, 0, 1}
	conf = &ustack.Config{Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.0.2/24")}}
)

func eth(dst net.HardwareAddr, typ uint16, body []byte) []byte {
	f := append(append(append([]byte{}, dst...), peer...), 0, 0)
	binary.BigEndian.PutUint16(f[12:], typ)
	return append(f, body...)
}

func arpRequest(target [4]byte) []byte {
	a := make([]byte, 28)
	binary.BigEndian.PutUint16(a[0:], 1)
	binary.BigEndian.PutUint16(a[2:], unix.ETH_P_IP)
	a[4], a[5] = 6, 4
	binary.BigEndian.PutUint16(a[6:], 1)
	copy(a[8:], peer)
	copy(a[14:], []byte{10, 0, 0, 1})
	copy(a[24:], target[:])
	return eth(net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, unix.ETH_P_ARP, a)
}

func ipv4(proto byte, dst [4]byte, payload []byte) []byte {
	ip := make([]byte, 20)
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(20+len(payload)))
	ip[8], ip[9] = 64, proto
	copy(ip[12:], []byte{10, 0, 0, 1})
	copy(ip[16:], dst[:])
	binary.BigEndian.PutUint16(ip[10:], checksum(ip, 0))
	return eth(me, unix.ETH_P_IP, append(ip, payload...))
}

// The stack answers ARP, ICMP echo and UDP echo for its own address only, with
// checksums a kernel accepts, and flags malformed frames.
func TestAnswers(t *testing.T) {
	r := &Responder{mac: me}
	r.conf.Store(conf)

	rep, bad := r.answer(arpRequest([4]byte{10, 0, 0, 2}))
	if bad || len(rep) != 42 || binary.BigEndian.Uint16(rep[20:]) != 2 ||
		net.HardwareAddr(rep[22:28]).String() != me.String() || !netip.AddrFrom4([4]byte(rep[28:32])).IsValid() ||
		[4]byte(rep[28:32]) != [4]byte{10, 0, 0, 2} || [4]byte(rep[38:42]) != [4]byte{10, 0, 0, 1} ||
		net.HardwareAddr(rep[0:6]).String() != peer.String() {
		t.Errorf("ARP reply % x (bad %v)", rep, bad)
	}
	if rep, _ := r.answer(arpRequest([4]byte{10, 0, 0, 3})); rep != nil {
		t.Errorf("answered ARP for an address it does not have: % x", rep)
	}

	echo := []byte{8, 0, 0, 0, 0x12, 0x34, 0, 1, 'h', 'i'}
	binary.BigEndian.PutUint16(echo[2:], checksum(echo, 0))
	rep, bad = r.answer(ipv4(unix.IPPROTO_ICMP, [4]byte{10, 0, 0, 2}, echo))
	if bad || rep == nil {
		t.Fatalf("no ICMP echo reply (bad %v)", bad)
	}
	ip := rep[14:]
	if checksum(ip[:20], 0) != 0 || checksum(ip[20:], 0) != 0 || ip[20] != 0 ||
		[4]byte(ip[16:20]) != [4]byte{10, 0, 0, 1} || [4]byte(ip[12:16]) != [4]byte{10, 0, 0, 2} ||
		string(ip[28:]) != "hi" {
		t.Errorf("ICMP echo reply % x", rep)
	}

	udp := []byte{0x30, 0x39, 0, 7, 0, 10, 0, 0, 'x', 'y'}
	rep, _ = r.answer(ipv4(unix.IPPROTO_UDP, [4]byte{10, 0, 0, 2}, udp))
	if rep == nil || binary.BigEndian.Uint16(rep[34:]) != 7 || binary.BigEndian.Uint16(rep[36:]) != 0x3039 ||
		string(rep[42:]) != "xy" {
		t.Errorf("UDP echo reply % x", rep)
	}
	udp[3] = 9 // not the echo port
	if rep, _ := r.answer(ipv4(unix.IPPROTO_UDP, [4]byte{10, 0, 0, 2}, udp)); rep != nil {
		t.Errorf("answered UDP port 9: % x", rep)
	}

	broken := ipv4(unix.IPPROTO_ICMP, [4]byte{10, 0, 0, 2}, echo)
	broken[14+10] ^= 0xff // header checksum
	if rep, bad := r.answer(broken); rep != nil || !bad {
		t.Errorf("a bad IP checksum: reply %x, bad %v; want none, bad", rep, bad)
	}
	if _, bad := r.answer(broken[:20]); !bad {
		t.Error("a truncated IPv4 header was not flagged bad")
	}
}
