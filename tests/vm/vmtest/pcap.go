package vmtest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TCPSegment is one TCP segment of a capture, with what a test checks of it.
type TCPSegment struct {
	Src, Dst   netip.AddrPort
	Flags      uint8
	HeaderLen  int    // TCP header length (data offset * 4)
	PayloadLen int    // TCP payload bytes
	Options    []byte // the raw options
	ChecksumOK bool   // the TCP checksum verifies over the pseudo-header
	IPv4SumOK  bool   // the IPv4 header checksum verifies (true for IPv6)
	L3Len      int
	Raw        []byte // the TCP header and payload as captured
}

// FirstOption returns the first TCP option's kind and value (for kinds with a length).
func (s TCPSegment) FirstOption() (kind uint8, value []byte, ok bool) {
	o := s.Options
	if len(o) < 2 || o[0] <= 1 || int(o[1]) < 2 || int(o[1]) > len(o) {
		return 0, nil, false
	}
	return o[0], o[2:o[1]], true
}

// ReadPcapTCP reads the TCP segments of a classic pcap file with Ethernet link type
// (tcpdump -w), verifying their checksums in software.
func ReadPcapTCP(path string) ([]TCPSegment, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) < 24 {
		return nil, errors.New("pcap: short file")
	}
	var bo binary.ByteOrder
	switch binary.LittleEndian.Uint32(b) {
	case 0xa1b2c3d4, 0xa1b23c4d:
		bo = binary.LittleEndian
	default:
		bo = binary.BigEndian
	}
	if lt := bo.Uint32(b[20:]); lt != 1 {
		return nil, fmt.Errorf("pcap: link type %d, want Ethernet (1)", lt)
	}
	var out []TCPSegment
	for off := 24; off+16 <= len(b); {
		incl := int(bo.Uint32(b[off+8:]))
		orig := int(bo.Uint32(b[off+12:]))
		off += 16
		if off+incl > len(b) {
			break
		}
		pkt := b[off : off+incl]
		off += incl
		if incl < orig {
			continue // truncated by the snap length
		}
		if s, ok := parseEthTCP(pkt); ok {
			out = append(out, s)
		}
	}
	return out, nil
}

func sum16(b []byte, s uint32) uint32 {
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	return s
}

func fold(s uint32) uint16 {
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

func parseEthTCP(p []byte) (TCPSegment, bool) {
	var s TCPSegment
	if len(p) < 14 {
		return s, false
	}
	et := binary.BigEndian.Uint16(p[12:])
	l3 := p[14:]
	var tcp []byte
	var pseudo uint32
	switch et {
	case 0x0800:
		if len(l3) < 20 || l3[0]>>4 != 4 || l3[9] != 6 {
			return s, false
		}
		ihl := int(l3[0]&0xf) * 4
		tot := int(binary.BigEndian.Uint16(l3[2:]))
		if tot > len(l3) || ihl < 20 || tot < ihl+20 {
			return s, false
		}
		s.IPv4SumOK = fold(sum16(l3[:ihl], 0)) == 0xffff
		src, dst := netip.AddrFrom4([4]byte(l3[12:16])), netip.AddrFrom4([4]byte(l3[16:20]))
		tcp = l3[ihl:tot]
		pseudo = sum16(l3[12:20], 0) + 6 + uint32(len(tcp))
		s.Src, s.Dst = netip.AddrPortFrom(src, 0), netip.AddrPortFrom(dst, 0)
		s.L3Len = tot
	case 0x86dd:
		if len(l3) < 40 || l3[6] != 6 {
			return s, false
		}
		pl := int(binary.BigEndian.Uint16(l3[4:]))
		if 40+pl > len(l3) {
			return s, false
		}
		s.IPv4SumOK = true
		src, dst := netip.AddrFrom16([16]byte(l3[8:24])), netip.AddrFrom16([16]byte(l3[24:40]))
		tcp = l3[40 : 40+pl]
		pseudo = sum16(l3[8:40], 0) + 6 + uint32(len(tcp))
		s.Src, s.Dst = netip.AddrPortFrom(src, 0), netip.AddrPortFrom(dst, 0)
		s.L3Len = 40 + pl
	default:
		return s, false
	}
	if len(tcp) < 20 {
		return s, false
	}
	s.Src = netip.AddrPortFrom(s.Src.Addr(), binary.BigEndian.Uint16(tcp[0:]))
	s.Dst = netip.AddrPortFrom(s.Dst.Addr(), binary.BigEndian.Uint16(tcp[2:]))
	s.HeaderLen = int(tcp[12]>>4) * 4
	s.Flags = tcp[13]
	if s.HeaderLen < 20 || s.HeaderLen > len(tcp) {
		return s, false
	}
	s.Options = tcp[20:s.HeaderLen]
	s.Raw = tcp
	s.PayloadLen = len(tcp) - s.HeaderLen
	s.ChecksumOK = fold(sum16(tcp, pseudo)) == 0xffff
	return s, true
}

// TCPChecksum computes the TCP checksum of an IPv4 segment (its checksum field zero).
func TCPChecksum(src, dst netip.Addr, tcp []byte) uint16 {
	s4, d4 := src.As4(), dst.As4()
	pseudo := sum16(s4[:], 0) + sum16(d4[:], 0) + 6 + uint32(len(tcp))
	return ^fold(sum16(tcp, pseudo))
}

// Capture is a running tcpdump writing a pcap file.
type Capture struct {
	Path string
	cmd  *exec.Cmd
	out  *strings.Builder
}

// StartCapture runs tcpdump on dev in netns ns (whole packets, filter as tcpdump takes
// it) into a file in the test's temporary directory, and returns once tcpdump
// captures (it creates the file then: seconds under KASAN and TCG).
func StartCapture(t testing.TB, ns, dev, filter string) *Capture {
	t.Helper()
	c := &Capture{Path: filepath.Join(t.TempDir(), ns+"-"+dev+".pcap"), out: &strings.Builder{}}
	c.cmd = exec.Command("ip", "netns", "exec", ns, "tcpdump", "-Z", "root", "-i", dev, "-s", "0", "-U", "-w", c.Path, filter)
	c.cmd.Stderr = c.out
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if _, err := os.Stat(c.Path); err == nil {
			break
		}
		if time.Now().After(deadline) {
			c.cmd.Process.Kill()
			c.cmd.Wait()
			t.Fatalf("tcpdump did not start:\n%s", c.out.String())
		}
	}
	time.Sleep(500 * time.Millisecond)
	return c
}

// Stop ends the capture and returns the file's path.
func (c *Capture) Stop() string {
	c.cmd.Process.Signal(syscall.SIGTERM)
	c.cmd.Wait()
	return c.Path
}
