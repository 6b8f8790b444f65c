// Package fuzz is nlkit's netlink fuzzer: it makes requests for every nlkit generic
// netlink family and TCA_OPTIONS for both qdisc kinds, from the families' specs
// (netlinkproto/specs), and the VM tests in this package send them to the modules
// with qdiscs, the receiver and equalize routes set up and traffic flowing.
//
// A request is one of three shapes:
//   - structured: an operation of the spec with its request attributes, values at and
//     around their policy bounds (and the test's real ifindexes and handles);
//   - mutated: a structured request with one to three faults in its attribute stream:
//     a wrong payload size, a length that lies (past the end, under the header, odd),
//     a flipped NLA_F_NESTED or byte-order bit, an unknown or zero type, a duplicate,
//     a nest of garbage or one nested past the kernel's depth limit, a truncation,
//     trailing bytes;
//   - random: any command (known or not), random flags and random bytes.
//
// The generator is deterministic for a seed, so a failing batch can be replayed.
package fuzz

import (
	"encoding/binary"
	"math"
	"math/rand"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/nlkit/nlkit/netlinkproto/gen"
)

// Shape says how a request was made.
type Shape int

const (
	Structured Shape = iota
	Mutated
	Random
	numShapes
)

func (s Shape) String() string {
	return [...]string{"structured", "mutated", "random"}[s]
}

// Msg is one generic netlink request: the genl header's command and version, the
// netlink flags and the attributes after the genl header.
type Msg struct {
	Cmd     uint8
	Version uint8
	Flags   netlink.HeaderFlags
	Attrs   []byte
	Shape   Shape
	Op      string // the spec's operation, "" for an unknown command
}

// Gen makes requests for one family.
type Gen struct {
	r      *rand.Rand
	s      *gen.Spec
	sets   map[string]*gen.AttrSet
	consts map[string]int64
	// Hints are values worth trying for attributes of a name (ifindex, handle, ...):
	// real objects reach code that unknown ones are refused before.
	Hints map[string][]uint64
}

// New returns a generator for spec s, deterministic for seed.
func New(s *gen.Spec, seed int64) *Gen {
	g := &Gen{r: rand.New(rand.NewSource(seed)), s: s, sets: map[string]*gen.AttrSet{},
		consts: map[string]int64{}, Hints: map[string][]uint64{}}
	for _, set := range s.AttributeSets {
		g.sets[set.Name] = set
	}
	for _, d := range s.Definitions {
		g.consts[d.Name] = d.Value
	}
	return g
}

func (g *Gen) num(n *gen.Num) (int64, bool) {
	if n == nil {
		return 0, false
	}
	if n.Lit != nil {
		return *n.Lit, true
	}
	v, ok := g.consts[n.Name]
	return v, ok
}

// Next returns the next request: about half structured, 40% mutated, 10% random.
func (g *Gen) Next() Msg {
	switch p := g.r.Intn(10); {
	case p < 5:
		return g.structured()
	case p < 9:
		m := g.structured()
		for i := 1 + g.r.Intn(3); i > 0; i-- {
			m.Attrs = g.mutate(m.Attrs)
		}
		m.Shape = Mutated
		return m
	default:
		return g.random()
	}
}

func (g *Gen) flags(dump bool) netlink.HeaderFlags {
	f := netlink.Request | netlink.Acknowledge
	if dump || g.r.Intn(20) == 0 {
		f |= netlink.Dump
	}
	if g.r.Intn(10) == 0 { // new-object flags mean nothing to genl: it must not care
		f |= []netlink.HeaderFlags{netlink.Create, netlink.Excl, netlink.Replace, netlink.Append}[g.r.Intn(4)]
	}
	return f
}

func (g *Gen) structured() Msg {
	ops := g.s.Operations.List
	op := ops[g.r.Intn(len(ops))]
	m := Msg{Cmd: uint8(op.Value), Version: uint8(g.s.Version), Shape: Structured, Op: op.Name}
	if g.r.Intn(50) == 0 {
		m.Version = uint8(g.r.Intn(256))
	}
	var req *gen.OpAttrs
	dump := false
	switch {
	case op.Do != nil && op.Dump != nil:
		dump = g.r.Intn(2) == 0
	case op.Dump != nil:
		dump = true
	}
	if dump && op.Dump != nil {
		req = op.Dump.Request
	} else if op.Do != nil {
		req = op.Do.Request
	}
	m.Flags = g.flags(dump)
	set := g.sets[op.AttributeSet]
	var names []string
	if req != nil {
		names = req.Attributes
	}
	if len(names) == 0 || g.r.Intn(8) == 0 { // any attribute of the set
		for _, a := range set.Attributes {
			names = append(names, a.Name)
		}
	}
	m.Attrs = g.attrs(set, names, 0)
	return m
}

// attrs encodes some of the named attributes of set (each present with probability
// 3/4, some twice).
func (g *Gen) attrs(set *gen.AttrSet, names []string, depth int) []byte {
	var b []byte
	for _, name := range names {
		var a *gen.Attr
		for _, x := range set.Attributes {
			if x.Name == name {
				a = x
			}
		}
		if a == nil || g.r.Intn(4) == 0 {
			continue
		}
		n := 1
		if a.MultiAttr {
			n = g.r.Intn(6)
		} else if g.r.Intn(30) == 0 {
			n = 2
		}
		for ; n > 0; n-- {
			b = appendAttr(b, uint16(a.Value), g.payload(a, depth), a.Type == "nest")
		}
	}
	return b
}

func appendAttr(b []byte, typ uint16, payload []byte, nested bool) []byte {
	if nested {
		typ |= unix.NLA_F_NESTED
	}
	var h [4]byte
	binary.NativeEndian.PutUint16(h[0:], uint16(4+len(payload)))
	binary.NativeEndian.PutUint16(h[2:], typ)
	b = append(b, h[:]...)
	b = append(b, payload...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// integer picks a value for an integer attribute of size bytes: its hints, a value
// within its policy bounds (most often: a request is refused at its first bad value,
// so valid values take the fuzzer past the policy into the module's own checks), the
// bounds and their neighbours, 0, 1, the type's extremes, or anything.
func (g *Gen) integer(a *gen.Attr, size int) uint64 {
	bits := uint(size * 8)
	mask := uint64(math.MaxUint64)
	if bits < 64 {
		mask = 1<<bits - 1
	}
	cands := []uint64{0, 1, mask, mask >> 1, (mask >> 1) + 1}
	if h := g.Hints[a.Name]; len(h) > 0 && g.r.Intn(2) == 0 {
		return h[g.r.Intn(len(h))] & mask
	}
	lo, hasLo := g.num(a.Checks.Min)
	hi, hasHi := g.num(a.Checks.Max)
	if (hasLo || hasHi) && g.r.Intn(10) < 7 {
		if !hasHi {
			hi = lo + 1<<20
		}
		if hi >= lo {
			return uint64(lo+g.r.Int63n(hi-lo+1)) & mask
		}
	}
	for _, n := range []*gen.Num{a.Checks.Min, a.Checks.Max} {
		if v, ok := g.num(n); ok {
			cands = append(cands, uint64(v-1)&mask, uint64(v)&mask, uint64(v+1)&mask)
		}
	}
	if g.r.Intn(4) == 0 {
		v := g.r.Uint64() & mask
		if g.r.Intn(2) == 0 { // small values are where the meaning is
			v &= 0xffff
		}
		return v
	}
	return cands[g.r.Intn(len(cands))]
}

func (g *Gen) payload(a *gen.Attr, depth int) []byte {
	put := func(size int, v uint64) []byte {
		b := make([]byte, 8)
		binary.NativeEndian.PutUint64(b, v)
		if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 { // big-endian host
			return b[8-size:]
		}
		return b[:size]
	}
	switch a.Type {
	case "u8", "s8":
		return put(1, g.integer(a, 1))
	case "u16", "s16":
		return put(2, g.integer(a, 2))
	case "u32", "s32":
		return put(4, g.integer(a, 4))
	case "u64", "s64":
		return put(8, g.integer(a, 8))
	case "flag":
		return nil
	case "string":
		n := g.r.Intn(20)
		switch g.r.Intn(10) {
		case 0:
			n = 200 + g.r.Intn(400)
		case 1:
			n = 0
		}
		s := make([]byte, n)
		for i := range s {
			s[i] = byte('a' + g.r.Intn(26))
		}
		if g.r.Intn(8) != 0 { // NUL-terminated, mostly
			s = append(s, 0)
		}
		return s
	case "binary":
		lo, hi := int64(0), int64(64)
		if v, ok := g.num(a.Checks.MinLen); ok {
			lo = v
		}
		if v, ok := g.num(a.Checks.MaxLen); ok {
			hi = v
		}
		sizes := []int64{lo, hi, lo - 1, hi + 1, 4, 16, 0}
		n := sizes[g.r.Intn(len(sizes))]
		if n < 0 || n > 1024 {
			n = 0
		}
		b := make([]byte, n)
		g.r.Read(b)
		return b
	case "nest":
		set := g.sets[a.NestedAttributes]
		if set == nil || depth > 4 {
			return nil
		}
		var names []string
		for _, x := range set.Attributes {
			names = append(names, x.Name)
		}
		return g.attrs(set, names, depth+1)
	}
	return nil
}

// walk returns the offsets of the well-formed attribute headers at the top level of b.
func walk(b []byte) []int {
	var offs []int
	for off := 0; off+4 <= len(b); {
		l := int(binary.NativeEndian.Uint16(b[off:]))
		if l < 4 || off+l > len(b) {
			break
		}
		offs = append(offs, off)
		off += (l + 3) &^ 3
	}
	return offs
}

// mutate puts one fault into an attribute stream.
func (g *Gen) mutate(b []byte) []byte {
	b = append([]byte(nil), b...)
	offs := walk(b)
	pick := func() int { return offs[g.r.Intn(len(offs))] }
	span := func(off int) int { // the attribute's padded length, within b
		return min((int(binary.NativeEndian.Uint16(b[off:]))+3)&^3, len(b)-off)
	}
	if len(offs) == 0 {
		return g.garbage(b)
	}
	switch g.r.Intn(11) {
	case 0: // a payload one to eight bytes shorter or longer, the header saying so
		off := pick()
		l := int(binary.NativeEndian.Uint16(b[off:]))
		nl := l + g.r.Intn(17) - 8
		if nl < 4 {
			nl = 4
		}
		p := make([]byte, nl-4)
		copy(p, b[off+4:off+l])
		return g.splice(b, off, span(off), appendAttr(nil, binary.NativeEndian.Uint16(b[off+2:]), p, false))
	case 1: // a length past the end of the message
		off := pick()
		binary.NativeEndian.PutUint16(b[off:], uint16(len(b)-off+4+g.r.Intn(64)))
	case 2: // a length under the header's own size, or odd
		off := pick()
		l := binary.NativeEndian.Uint16(b[off:])
		binary.NativeEndian.PutUint16(b[off:], []uint16{0, 1, 3, l | 1, l + 1}[g.r.Intn(5)])
	case 3: // NLA_F_NESTED or NLA_F_NET_BYTEORDER flipped
		off := pick()
		t := binary.NativeEndian.Uint16(b[off+2:])
		binary.NativeEndian.PutUint16(b[off+2:], t^[]uint16{unix.NLA_F_NESTED, unix.NLA_F_NET_BYTEORDER}[g.r.Intn(2)])
	case 4: // a type the set does not have, or 0
		off := pick()
		binary.NativeEndian.PutUint16(b[off+2:], []uint16{0, uint16(64 + g.r.Intn(64)), 0x3fff, uint16(g.r.Intn(32))}[g.r.Intn(4)])
	case 5: // an attribute twice
		off := pick()
		return append(b, b[off:off+span(off)]...)
	case 6: // a nest of garbage in place of an attribute
		off := pick()
		junk := make([]byte, g.r.Intn(32))
		g.r.Read(junk)
		return g.splice(b, off, span(off), appendAttr(nil, binary.NativeEndian.Uint16(b[off+2:])&0x3fff, junk, true))
	case 7: // nested deeper than the kernel allows
		off := pick()
		l := span(off)
		inner := append([]byte(nil), b[off:off+l]...)
		typ := binary.NativeEndian.Uint16(b[off+2:]) & 0x3fff
		for i := 0; i < 12+g.r.Intn(20) && len(inner) < 60000; i++ {
			inner = appendAttr(nil, typ, inner, true)
		}
		return g.splice(b, off, l, inner)
	case 8: // truncated anywhere
		return b[:g.r.Intn(len(b)+1)]
	case 9: // trailing bytes that are not an attribute
		return g.garbage(b)
	case 10: // one attribute's payload rewritten with random bytes
		off := pick()
		l := int(binary.NativeEndian.Uint16(b[off:]))
		g.r.Read(b[off+4 : off+l])
	}
	return b
}

func (g *Gen) garbage(b []byte) []byte {
	junk := make([]byte, 1+g.r.Intn(16))
	g.r.Read(junk)
	return append(b, junk...)
}

func (g *Gen) splice(b []byte, off, l int, with []byte) []byte {
	out := append([]byte(nil), b[:off]...)
	out = append(out, with...)
	return append(out, b[off+l:]...)
}

func (g *Gen) random() Msg {
	m := Msg{Cmd: uint8(g.r.Intn(256)), Version: uint8(g.s.Version), Shape: Random}
	for _, op := range g.s.Operations.List {
		if uint8(op.Value) == m.Cmd {
			m.Op = op.Name
		}
	}
	m.Flags = netlink.Request | netlink.Acknowledge | netlink.HeaderFlags(g.r.Intn(0x1000))&^netlink.Request
	if g.r.Intn(2) == 0 {
		m.Version = uint8(g.r.Intn(256))
	}
	b := make([]byte, g.r.Intn(256))
	g.r.Read(b)
	m.Attrs = b
	return m
}

// Options returns the attributes of set (a qdisc's TCA_OPTIONS), structured or
// mutated like Next's requests.
func (g *Gen) Options(set string) ([]byte, Shape) {
	s := g.sets[set]
	var names []string
	for _, a := range s.Attributes {
		names = append(names, a.Name)
	}
	b := g.attrs(s, names, 0)
	switch p := g.r.Intn(10); {
	case p < 5:
		return b, Structured
	case p < 9:
		for i := 1 + g.r.Intn(3); i > 0; i-- {
			b = g.mutate(b)
		}
		return b, Mutated
	default:
		r := make([]byte, g.r.Intn(128))
		g.r.Read(r)
		return r, Random
	}
}

// Intn exposes the generator's source to the test (which device, which flags), so a
// run stays one deterministic sequence.
func (g *Gen) Intn(n int) int { return g.r.Intn(n) }
