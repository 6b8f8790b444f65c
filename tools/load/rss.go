// Package load is nlkit's slice of mTCP's measurement tools (epserver/epwget): a
// multi-core epoll-style HTTP server serving in-memory files and an HTTP load generator
// with many concurrent connections per core, with mTCP's RSS-aware choice of source
// ports (mtcp_init_rss) so that each core's replies arrive on its own NIC queue.
package load

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// MicrosoftKey is the 40-byte Toeplitz key of Microsoft's RSS verification suite,
// also the default key of many NICs.
var MicrosoftKey = []byte{
	0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
	0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
	0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
}

// Toeplitz is the RSS hash of input under key: for every set bit of the input, from
// the most significant bit of input[0] on, XOR in the 32 bits of the key that start at
// that bit's position. The key must be at least len(input)+4 bytes.
func Toeplitz(key, input []byte) uint32 {
	var result uint32
	window := binary.BigEndian.Uint32(key) // key bits [i, i+32)
	for i, b := range input {
		for bit := 7; bit >= 0; bit-- {
			if b&(1<<bit) != 0 {
				result ^= window
			}
			// slide the window one bit: shift in the next key bit
			next := 0
			if idx := i + 4; idx < len(key) {
				next = int(key[idx]>>bit) & 1
			}
			window = window<<1 | uint32(next)
		}
	}
	return result
}

// TupleHash hashes a TCP/UDP 4-tuple the way a NIC does for the packet that carries
// it: source address, destination address, source port, destination port.
func TupleHash(key []byte, src, dst netip.AddrPort) uint32 {
	var in []byte
	s, d := src.Addr().Unmap(), dst.Addr().Unmap()
	in = append(in, s.AsSlice()...)
	in = append(in, d.AsSlice()...)
	in = binary.BigEndian.AppendUint16(in, src.Port())
	in = binary.BigEndian.AppendUint16(in, dst.Port())
	return Toeplitz(key, in)
}

// AddrHash hashes the address pair only (the NIC's hash for non-TCP/UDP packets).
func AddrHash(key []byte, src, dst netip.Addr) uint32 {
	in := append(src.Unmap().AsSlice(), dst.Unmap().AsSlice()...)
	return Toeplitz(key, in)
}

// RSS describes how a receiving NIC spreads flows over its queues: the Toeplitz key,
// the queue count and the indirection table size (entries filled round robin, as
// ethtool's default; queue = table[hash mod size]).
type RSS struct {
	Key       []byte
	Queues    int
	TableSize int // default 128
}

// Queue is the receive queue of a packet with this hash.
func (r RSS) Queue(hash uint32) int {
	size := r.TableSize
	if size <= 0 {
		size = 128
	}
	return int(hash%uint32(size)) % r.Queues
}

// SourcePorts returns up to n source ports in [lo, hi] for connections from local to
// remote whose replies (remote -> local) hash to queue: the ports a core that polls
// that queue should use (mTCP's mtcp_init_rss / GetRSSCPUCore).
func (r RSS) SourcePorts(local netip.Addr, remote netip.AddrPort, queue, n int, lo, hi uint16) ([]uint16, error) {
	if r.Queues <= 0 || queue < 0 || queue >= r.Queues {
		return nil, fmt.Errorf("rss: queue %d out of range (%d queues)", queue, r.Queues)
	}
	if len(r.Key) < 4+2*len(local.Unmap().AsSlice())+4 {
		return nil, fmt.Errorf("rss: key of %d bytes is too short for this tuple", len(r.Key))
	}
	var out []uint16
	for p := uint32(lo); p <= uint32(hi) && len(out) < n; p++ {
		reply := TupleHash(r.Key, remote, netip.AddrPortFrom(local, uint16(p)))
		if r.Queue(reply) == queue {
			out = append(out, uint16(p))
		}
	}
	return out, nil
}
