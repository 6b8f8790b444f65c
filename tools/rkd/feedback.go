package rkd

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"net/netip"
	"sync"
	"time"
)

// DefaultPort is the UDP port of ratekeeper feedback.
const DefaultPort = 34953

// EtherType is the original's L2 feedback frame type.
const EtherType = 0x6473

// Feedback is one congestion report from the host of a congested receiver to the host
// of one of its heaviest senders: "the tenant receiving from Sender is above its
// guarantee on a congested link, at this severity".
//
// Wire format (big-endian), 88 bytes:
//
//	0  "RK" magic        2  version (1)     3  type (1: feedback)
//	4  severity u16      6  reserved
//	8  seq u64: the sender daemon's clock in ns, strictly increasing per source
//	16 sender address [16] (IPv4-mapped for IPv4): the offending sender
//	32 ifindex u32 of the congested receiver's vNIC at the reporting host
//	36 reserved
//	40 thput u64: the receiver's measured rate, bytes/s
//	48 min u64: the receiver's guarantee, bytes/s
//	56 HMAC-SHA256 over bytes 0..55 with the shared key
type Feedback struct {
	Severity uint16
	Seq      uint64
	Sender   netip.Addr
	Ifindex  uint32
	Thput    uint64
	Min      uint64
}

// FeedbackLen is the size of an encoded Feedback.
const FeedbackLen = 88

const bodyLen = 56

// Errors Open reports; the daemon counts them.
var (
	ErrMalformed = errors.New("malformed feedback")
	ErrForged    = errors.New("feedback with a bad HMAC")
	ErrStale     = errors.New("feedback outside the time window")
	ErrReplayed  = errors.New("replayed feedback")
)

// Seal encodes f and appends its HMAC.
func (f Feedback) Seal(key []byte) []byte {
	b := make([]byte, FeedbackLen)
	b[0], b[1], b[2], b[3] = 'R', 'K', 1, 1
	binary.BigEndian.PutUint16(b[4:], f.Severity)
	binary.BigEndian.PutUint64(b[8:], f.Seq)
	a16 := f.Sender.As16()
	copy(b[16:32], a16[:])
	binary.BigEndian.PutUint32(b[32:], f.Ifindex)
	binary.BigEndian.PutUint64(b[40:], f.Thput)
	binary.BigEndian.PutUint64(b[48:], f.Min)
	m := hmac.New(sha256.New, key)
	m.Write(b[:bodyLen])
	copy(b[bodyLen:], m.Sum(nil))
	return b
}

// Open checks a message's HMAC and decodes it (no freshness check: see Guard).
func Open(b, key []byte) (Feedback, error) {
	if len(b) != FeedbackLen || b[0] != 'R' || b[1] != 'K' || b[2] != 1 || b[3] != 1 {
		return Feedback{}, ErrMalformed
	}
	m := hmac.New(sha256.New, key)
	m.Write(b[:bodyLen])
	if !hmac.Equal(m.Sum(nil), b[bodyLen:]) {
		return Feedback{}, ErrForged
	}
	var a16 [16]byte
	copy(a16[:], b[16:32])
	return Feedback{
		Severity: binary.BigEndian.Uint16(b[4:]),
		Seq:      binary.BigEndian.Uint64(b[8:]),
		Sender:   netip.AddrFrom16(a16).Unmap(),
		Ifindex:  binary.BigEndian.Uint32(b[32:]),
		Thput:    binary.BigEndian.Uint64(b[40:]),
		Min:      binary.BigEndian.Uint64(b[48:]),
	}, nil
}

// Guard refuses authentic messages that are stale or replayed: seq (the sender's
// clock) must be within Window of ours and above the last seq accepted from the same
// source.
type Guard struct {
	Window time.Duration
	mu     sync.Mutex
	last   map[netip.Addr]uint64
}

// Check accepts or refuses f from source at time now.
func (g *Guard) Check(source netip.Addr, f Feedback, now time.Time) error {
	d := time.Duration(int64(f.Seq) - now.UnixNano())
	if d < 0 {
		d = -d
	}
	if d > g.Window {
		return ErrStale
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.last == nil {
		g.last = map[netip.Addr]uint64{}
	}
	if f.Seq <= g.last[source] {
		return ErrReplayed
	}
	g.last[source] = f.Seq
	return nil
}

// Sequencer hands out strictly increasing sequence numbers from the clock.
type Sequencer struct {
	mu   sync.Mutex
	last uint64
}

// Next returns max(now in ns, last+1).
func (s *Sequencer) Next() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := uint64(time.Now().UnixNano())
	if n <= s.last {
		n = s.last + 1
	}
	s.last = n
	return n
}
