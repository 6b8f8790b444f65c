package rkd

import (
	"net/netip"
	"testing"
	"time"
)

func TestFeedbackSealOpen(t *testing.T) {
	key := []byte("shared secret")
	f := Feedback{Severity: 7, Seq: uint64(time.Now().UnixNano()), Sender: netip.MustParseAddr("10.0.2.2"),
		Ifindex: 4, Thput: 3000000, Min: 1000000}
	b := f.Seal(key)
	if len(b) != FeedbackLen {
		t.Fatalf("len %d", len(b))
	}
	got, err := Open(b, key)
	if err != nil || got != f {
		t.Fatalf("Open = %+v, %v; want %+v", got, err, f)
	}
	if _, err := Open(b, []byte("other key")); err != ErrForged {
		t.Errorf("wrong key: %v", err)
	}
	for i := range b {
		c := append([]byte(nil), b...)
		c[i] ^= 0x40
		if _, err := Open(c, key); err == nil {
			t.Fatalf("flipped byte %d accepted", i)
		}
	}
	if _, err := Open(b[:40], key); err != ErrMalformed {
		t.Errorf("short: %v", err)
	}
	v6 := Feedback{Sender: netip.MustParseAddr("fd00::2"), Seq: 1}
	if g, _ := Open(v6.Seal(key), key); g.Sender != v6.Sender {
		t.Errorf("v6 sender %v", g.Sender)
	}
}

func TestGuard(t *testing.T) {
	g := Guard{Window: 5 * time.Second}
	now := time.Now()
	src := netip.MustParseAddr("192.0.2.1")
	f := Feedback{Seq: uint64(now.UnixNano())}
	if err := g.Check(src, f, now); err != nil {
		t.Fatal(err)
	}
	if err := g.Check(src, f, now); err != ErrReplayed {
		t.Errorf("replay: %v", err)
	}
	if err := g.Check(netip.MustParseAddr("192.0.2.9"), f, now); err != nil {
		t.Errorf("other source: %v", err)
	}
	old := Feedback{Seq: uint64(now.Add(-time.Minute).UnixNano())}
	if err := g.Check(src, old, now); err != ErrStale {
		t.Errorf("stale: %v", err)
	}
	var s Sequencer
	a, b := s.Next(), s.Next()
	if b <= a {
		t.Errorf("sequencer not increasing: %d %d", a, b)
	}
}
