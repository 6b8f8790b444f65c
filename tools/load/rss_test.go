package load

import (
	"net/netip"
	"testing"
)

// Microsoft's RSS verification suite ("Verifying the RSS Hash Calculation"): each
// destination/source pair with the IPv4-only hash and the IPv4+TCP hash.
func TestToeplitzMicrosoftVectors(t *testing.T) {
	for _, v := range []struct {
		dst, src   string
		ip, ipPort uint32
	}{
		{"161.142.100.80:1766", "66.9.149.187:2794", 0x323e8fc2, 0x51ccc178},
		{"65.69.140.83:4739", "199.92.111.2:14230", 0xd718262a, 0xc626b0ea},
		{"12.22.207.184:38024", "24.19.198.95:12898", 0xd2d0a5de, 0x5c2b394a},
		{"209.142.163.6:2217", "38.27.205.30:48228", 0x82989176, 0xafc7327f},
		{"202.188.127.2:1303", "153.39.163.191:44251", 0x5d1809c5, 0x10e828a2},
	} {
		dst, src := netip.MustParseAddrPort(v.dst), netip.MustParseAddrPort(v.src)
		if h := AddrHash(MicrosoftKey, src.Addr(), dst.Addr()); h != v.ip {
			t.Errorf("%s -> %s IPv4: %08x, want %08x", v.src, v.dst, h, v.ip)
		}
		if h := TupleHash(MicrosoftKey, src, dst); h != v.ipPort {
			t.Errorf("%s -> %s IPv4+TCP: %08x, want %08x", v.src, v.dst, h, v.ipPort)
		}
	}
}

func TestToeplitzMicrosoftVectorsIPv6(t *testing.T) {
	for _, v := range []struct {
		dst, src   string
		ip, ipPort uint32
	}{
		{"[3ffe:2501:200:3::1]:1766", "[3ffe:2501:200:1fff::7]:2794", 0x2cc18cd5, 0x40207d3d},
		{"[ff02::1]:4739", "[3ffe:501:8::260:97ff:fe40:efab]:14230", 0x0f0c461c, 0xdde51bbf},
		{"[fe80::200:f8ff:fe21:67cf]:38024", "[3ffe:1900:4545:3:200:f8ff:fe21:67cf]:44251", 0x4b61e985, 0x02d1feef},
	} {
		dst, src := netip.MustParseAddrPort(v.dst), netip.MustParseAddrPort(v.src)
		if h := AddrHash(MicrosoftKey, src.Addr(), dst.Addr()); h != v.ip {
			t.Errorf("%s -> %s IPv6: %08x, want %08x", v.src, v.dst, h, v.ip)
		}
		if h := TupleHash(MicrosoftKey, src, dst); h != v.ipPort {
			t.Errorf("%s -> %s IPv6+TCP: %08x, want %08x", v.src, v.dst, h, v.ipPort)
		}
	}
}

func TestSourcePorts(t *testing.T) {
	r := RSS{Key: MicrosoftKey, Queues: 4}
	local, remote := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddrPort("10.0.0.2:80")
	seen := map[uint16]bool{}
	for q := 0; q < 4; q++ {
		ports, err := r.SourcePorts(local, remote, q, 50, 32768, 60999)
		if err != nil || len(ports) != 50 {
			t.Fatalf("queue %d: %d ports, %v", q, len(ports), err)
		}
		for _, p := range ports {
			if seen[p] {
				t.Fatalf("port %d chosen for two queues", p)
			}
			seen[p] = true
			if got := r.Queue(TupleHash(MicrosoftKey, remote, netip.AddrPortFrom(local, p))); got != q {
				t.Fatalf("port %d: reply on queue %d, want %d", p, got, q)
			}
		}
	}
	if _, err := r.SourcePorts(local, remote, 4, 1, 1, 2); err == nil {
		t.Error("queue 4 of 4 accepted")
	}
}
