package gen

import (
	"strings"
	"testing"
)

const base = `
name: t
protocol: genetlink-legacy
version: 2
definitions:
  - type: const
    name: big
    value: 100000
attribute-sets:
  - name: s
    attributes:
      - name: a
        type: u32
        checks: {min: 1, max: big}
      - name: b
        type: string
        checks: {max-len: 15}
      - name: c
        type: u8
        value: 7
operations:
  list:
    - name: set
      attribute-set: s
      flags: [uns-admin-perm]
      do:
        request:
          attributes: [a, b]
`

func TestRenderPolicies(t *testing.T) {
	s, err := Parse([]byte(base))
	if err != nil {
		t.Fatal(err)
	}
	files := Render(Family{Spec: "x.yaml", KernelDir: "kmod/t", GoDir: "netlinkproto/t", GoPackage: "t"}, s)
	c := string(files["kmod/t/generated/t_nl.c"])
	for _, want := range []string{
		"NLA_POLICY_FULL_RANGE(NLA_U32, &t_a_s_a_range)", // 100000 does not fit the s16 range form
		".max = T_BIG",
		"[T_A_S_B] = { .type = NLA_NUL_STRING, .len = 15, }",
		".flags\t\t= GENL_UNS_ADMIN_PERM",
	} {
		if !strings.Contains(c, want) {
			t.Errorf("kernel C lacks %q:\n%s", want, c)
		}
	}
	if strings.Contains(c, "[T_A_S_C]") {
		t.Errorf("attribute c is not in the request but is in the policy:\n%s", c)
	}
	h := string(files["kmod/include/uapi/linux/t.h"])
	if !strings.Contains(h, "T_A_S_C = 7,") || !strings.Contains(h, "#define T_FAMILY_VERSION\t2") {
		t.Errorf("uapi header:\n%s", h)
	}
	g := string(files["netlinkproto/t/t_gen.go"])
	if !strings.Contains(g, "AttrSC uint16 = 7") || !strings.Contains(g, "CmdSet uint8 = 1") {
		t.Errorf("go constants:\n%s", g)
	}
}

func TestParseRejects(t *testing.T) {
	cases := map[string]string{
		"unknown type":         strings.Replace(base, "type: u8", "type: u24", 1),
		"unknown op attribute": strings.Replace(base, "attributes: [a, b]", "attributes: [a, zz]", 1),
		"unknown constant":     strings.Replace(base, "max: big", "max: huge", 1),
		"unknown flag":         strings.Replace(base, "uns-admin-perm", "root-only", 1),
		"unknown key":          base + "bogus: 1\n",
		"name too long":        strings.Replace(base, "name: t\n", "name: a-very-long-family-name\n", 1),
		"unsupported protocol": strings.Replace(base, "genetlink-legacy", "netlink-raw", 1),
		"undefined set":        strings.Replace(base, "attribute-set: s", "attribute-set: q", 1),
	}
	for name, spec := range cases {
		if _, err := Parse([]byte(spec)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestParseRejectsEnumCollision(t *testing.T) {
	spec := strings.Replace(base, "- name: a\n", "- name: max\n", 1)
	spec = strings.Replace(spec, "attributes: [a, b]", "attributes: [max, b]", 1)
	_, err := Parse([]byte(spec))
	if err == nil || !strings.Contains(err.Error(), "collides") {
		t.Fatalf("attribute named max: err = %v, want a collision error", err)
	}
}

// A Go mapping that does not fit the spec is refused at generation, with the place.
func TestCheckGoRejects(t *testing.T) {
	s, err := Parse([]byte(strings.Replace(base, "operations:", `  - name: n
    attributes:
      - name: inner
        type: nest
        nested-attributes: s
operations:`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	for want, m := range map[string]map[string]GoStruct{
		"unknown attribute set":        {"zz": {Name: "Z"}},
		"without a struct name":        {"s": {Request: "R"}},
		"s.zz: Go mapping of an unkno": {"s": {Name: "S", Fields: map[string]GoField{"zz": {}}}},
		"bool needs u8":                {"s": {Name: "S", Fields: map[string]GoField{"a": {Type: "bool"}}}},
		"a Unit of ns, us, ms or s":    {"s": {Name: "S", Fields: map[string]GoField{"a": {Type: "time.Duration"}}}},
		"netip.Addr needs binary":      {"s": {Name: "S", Fields: map[string]GoField{"b": {Type: "netip.Addr"}}}},
		"a type of the client package": {"s": {Name: "S", Fields: map[string]GoField{"a": {Type: "os.FileMode"}}}},
		"which has no Go struct":       {"n": {Name: "N"}},
		"hold no nests":                {"s": {Name: "S"}, "n": {Name: "N", Request: "R"}},
		"is named for sets":            {"s": {Name: "S"}, "n": {Name: "S"}},
	} {
		err := Family{Spec: "x.yaml", Go: m}.CheckGo(s)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("mapping %v: error %v, want one containing %q", m, err, want)
		}
	}
	ok := Family{Spec: "x.yaml", GoDir: "netlinkproto/t", GoPackage: "t", Go: map[string]GoStruct{
		"s": {Name: "S", Request: "R", Fields: map[string]GoField{"a": {Type: "time.Duration", Unit: "ms"}, "c": {Type: "bool"}}},
		"n": {Name: "N"},
	}}
	if err := ok.CheckGo(s); err != nil {
		t.Fatal(err)
	}
	g := string(Render(ok, s)["netlinkproto/t/t_gen.go"])
	for _, want := range []string{
		"v.A = time.Duration(ad.Uint32()) * time.Millisecond",
		"v.C = ad.Uint8() != 0",
		"x, err := decodeSAttrs(ad.Bytes(), nil)",
		"ae.Uint32(AttrSA, uint32(*o.A/time.Millisecond))",
		"\"time\"",
	} {
		if !strings.Contains(g, want) {
			t.Errorf("generated Go lacks %q:\n%s", want, g)
		}
	}
}
