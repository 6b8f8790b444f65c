//go:build !vmtest

// The generator's own tests run on the host (go test ./...), not in the guests,
// where they cost a stock guest 13 s and test no kernel.

package fuzz

import (
	"bytes"
	"encoding/binary"
	"path/filepath"
	"testing"

	"github.com/nlkit/nlkit/netlinkproto"
	"github.com/nlkit/nlkit/netlinkproto/gen"
)

func specs(t *testing.T) []*gen.Spec {
	t.Helper()
	var out []*gen.Spec
	for _, f := range netlinkproto.Families {
		s, err := gen.Load(filepath.Join("..", "..", f.Spec))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// wellFormed walks an attribute stream strictly, into nests: every length at least
// the header and within its parent.
func wellFormed(b []byte) bool {
	for off := 0; off < len(b); {
		if off+4 > len(b) {
			return false
		}
		l := int(binary.NativeEndian.Uint16(b[off:]))
		typ := binary.NativeEndian.Uint16(b[off+2:])
		if l < 4 || off+l > len(b) {
			return false
		}
		if typ&0x8000 != 0 && !wellFormed(b[off+4:off+l]) {
			return false
		}
		off += (l + 3) &^ 3
	}
	return true
}

// The generator is one sequence per seed, its structured requests are well-formed
// attribute trees that cover every operation, and its mutations break the form in
// a good share of requests (the rest carry wrong values or types, not wrong lengths).
func TestGenerator(t *testing.T) {
	for _, s := range specs(t) {
		a, b := New(s, 7), New(s, 7)
		ops := map[string]bool{}
		shapes := map[Shape]int{}
		broken := 0
		const n = 20000
		for i := 0; i < n; i++ {
			m, m2 := a.Next(), b.Next()
			if m.Cmd != m2.Cmd || m.Flags != m2.Flags || !bytes.Equal(m.Attrs, m2.Attrs) {
				t.Fatalf("%s: request %d differs between two generators of one seed", s.Name, i)
			}
			shapes[m.Shape]++
			switch m.Shape {
			case Structured:
				ops[m.Op] = true
				if !wellFormed(m.Attrs) {
					t.Fatalf("%s: structured request %d (%s) is not well-formed: %x", s.Name, i, m.Op, m.Attrs)
				}
			case Mutated:
				if !wellFormed(m.Attrs) {
					broken++
				}
			}
		}
		for _, op := range s.Operations.List {
			if !ops[op.Name] {
				t.Errorf("%s: no structured request for %s", s.Name, op.Name)
			}
		}
		for sh := Shape(0); sh < numShapes; sh++ {
			if shapes[sh] < n/20 {
				t.Errorf("%s: only %d %s requests in %d", s.Name, shapes[sh], sh, n)
			}
		}
		if broken < shapes[Mutated]/4 {
			t.Errorf("%s: only %d of %d mutated requests are malformed", s.Name, broken, shapes[Mutated])
		}
		t.Logf("%s: %v, %d mutated ones malformed", s.Name, shapes, broken)
	}
}
