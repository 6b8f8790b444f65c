package gen

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
)

// GoStruct makes the generator write a Go type for one attribute set: a struct of its
// attributes (reply and value side) with its decoder, and, when Request is set, a
// struct of pointer fields (wgctrl's style: nil is left out of the request) with its
// encoder. The specs stay pure YNL; what is Go-only (names, conversions) lives here.
type GoStruct struct {
	// Name of the struct (Config, Qdisc, ...). The generator writes
	// decode<Name>Attrs(b, other) (Name, error).
	Name string
	// Request, if set, names the request struct; the generator writes
	// encode<Request>Attrs(ae, Request).
	Request string
	// Fields holds the exceptions, by attribute name; an attribute not listed becomes a
	// field named in CamelCase (Go initialisms upper-cased) with its spec doc, and a
	// JSON key of its name with '_' for '-'.
	Fields map[string]GoField
}

// GoField is how one attribute appears in Go, where the defaults do not fit.
type GoField struct {
	Name string // field name
	JSON string // JSON tag, options included ("exid,omitempty")
	// Type converts the wire value: "bool" (u8 0/1), "time.Duration" (an integer in
	// Unit), "netip.Addr" (binary, 4 or 16 bytes; all-zero decodes as the zero Addr),
	// "net.HardwareAddr" (binary), or a named integer type of the client package.
	Type string
	Unit string // "ns", "us", "ms" or "s", for time.Duration
	// Omit keeps the attribute out of the structs: the decoder hands it to its other
	// callback (attributes only a request carries, or that a hand-written type joins).
	Omit bool
}

var goUnits = map[string]string{"ns": "time.Nanosecond", "us": "time.Microsecond", "ms": "time.Millisecond", "s": "time.Second"}

var goInts = map[string]string{
	"u8": "uint8", "u16": "uint16", "u32": "uint32", "u64": "uint64",
	"s8": "int8", "s16": "int16", "s32": "int32", "s64": "int64",
}

// decoderCall is the AttributeDecoder method that reads each integer type.
var decoderCall = map[string]string{
	"u8": "Uint8", "u16": "Uint16", "u32": "Uint32", "u64": "Uint64",
	"s8": "Int8", "s16": "Int16", "s32": "Int32", "s64": "Int64",
}

// goInitialisms are spelled upper-case in Go names (Go's own convention: ID, not Id).
var goInitialisms = map[string]bool{"id": true, "abi": true, "mss": true, "mac": true, "srtt": true, "rtt": true, "ip": true, "tcp": true, "udp": true, "ttl": true, "ecn": true, "gso": true}

func goName(attr string) string {
	var b strings.Builder
	for _, p := range strings.FieldsFunc(attr, func(r rune) bool { return r == '-' || r == '_' || r == '.' }) {
		if goInitialisms[p] {
			b.WriteString(strings.ToUpper(p))
		} else {
			b.WriteString(strings.ToUpper(p[:1]) + p[1:])
		}
	}
	return b.String()
}

// goField is one attribute's resolved Go form.
type goField struct {
	a                *Attr
	name, json, typ  string // typ: the field's Go type
	conv, unit, nest string // conv: the GoField.Type conversion; nest: nested struct name
}

// fields resolves a set's attributes into Go fields (Omit ones left out).
func (f Family) fields(set *AttrSet) []goField {
	g := f.Go[set.Name]
	var out []goField
	for _, a := range set.Attributes {
		h := g.Fields[a.Name]
		if h.Omit {
			continue
		}
		fl := goField{a: a, name: goName(a.Name), json: strings.ReplaceAll(a.Name, "-", "_"), conv: h.Type, unit: h.Unit}
		if h.Name != "" {
			fl.name = h.Name
		}
		if h.JSON != "" {
			fl.json = h.JSON
		}
		switch {
		case a.Type == "nest":
			fl.nest = f.Go[a.NestedAttributes].Name
			fl.typ = fl.nest
		case h.Type == "bool" || a.Type == "flag":
			fl.typ = "bool"
		case h.Type != "":
			fl.typ = h.Type
		case a.Type == "string":
			fl.typ = "string"
		case a.Type == "binary":
			fl.typ = "[]byte"
		default:
			fl.typ = goInts[a.Type]
		}
		if a.MultiAttr {
			fl.typ = "[]" + fl.typ
		}
		out = append(out, fl)
	}
	return out
}

// CheckGo reports Go mappings that do not fit the spec: unknown sets or attributes,
// conversions on the wrong wire type, nests to sets without a struct.
func (f Family) CheckGo(s *Spec) error {
	names := map[string]string{}
	for setName, g := range f.Go {
		set, ok := s.sets[setName]
		if !ok {
			return fmt.Errorf("%s: Go mapping of unknown attribute set %q", f.Spec, setName)
		}
		if g.Name == "" {
			return fmt.Errorf("%s: set %s: Go mapping without a struct name", f.Spec, setName)
		}
		for _, n := range []string{g.Name, g.Request} {
			if n == "" {
				continue
			}
			if other, dup := names[n]; dup {
				return fmt.Errorf("%s: Go type %s is named for sets %s and %s", f.Spec, n, other, setName)
			}
			names[n] = setName
		}
		for attr, h := range g.Fields {
			a := set.attr(attr)
			if a == nil {
				return fmt.Errorf("%s: %s.%s: Go mapping of an unknown attribute", f.Spec, setName, attr)
			}
			_, isInt := goInts[a.Type]
			bad := ""
			switch h.Type {
			case "":
			case "bool":
				if a.Type != "u8" {
					bad = "bool needs u8"
				}
			case "time.Duration":
				if !isInt || goUnits[h.Unit] == "" {
					bad = "time.Duration needs an integer type and a Unit of ns, us, ms or s"
				}
			case "netip.Addr", "net.HardwareAddr":
				if a.Type != "binary" {
					bad = h.Type + " needs binary"
				}
			default:
				if !isInt || strings.Contains(h.Type, ".") {
					bad = "a named type needs an integer attribute and a type of the client package"
				}
			}
			if bad != "" {
				return fmt.Errorf("%s: %s.%s: %s", f.Spec, setName, attr, bad)
			}
		}
		for _, a := range set.Attributes {
			if a.Type == "nest" && !g.Fields[a.Name].Omit && f.Go[a.NestedAttributes].Name == "" {
				return fmt.Errorf("%s: %s.%s nests set %s, which has no Go struct: map it or omit the attribute", f.Spec, setName, a.Name, a.NestedAttributes)
			}
			if g.Request != "" && !g.Fields[a.Name].Omit && (a.Type == "nest" || a.MultiAttr) {
				return fmt.Errorf("%s: %s.%s: request structs hold no nests or repeated attributes: omit it", f.Spec, setName, a.Name)
			}
		}
	}
	return nil
}

// goTypeSets lists the mapped sets in spec order.
func (f Family) goTypeSets(s *Spec) []*AttrSet {
	var out []*AttrSet
	for _, set := range s.AttributeSets {
		if f.Go[set.Name].Name != "" {
			out = append(out, set)
		}
	}
	return out
}

// goImports are the packages the Go types need beyond the family boilerplate's.
func (f Family) goImports(s *Spec) []string {
	need := map[string]bool{}
	for _, set := range f.goTypeSets(s) {
		for _, fl := range f.fields(set) {
			switch fl.conv {
			case "time.Duration":
				need["time"] = true
			case "netip.Addr":
				need["net/netip"] = true
			case "net.HardwareAddr":
				need["net"] = true
			}
		}
	}
	var out []string
	for p := range need {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

func (f Family) renderGoTypes(b *bytes.Buffer, s *Spec) {
	for _, set := range f.goTypeSets(s) {
		g := f.Go[set.Name]
		fields := f.fields(set)
		prefix := "Attr" + camel(set.Name)

		doc := strings.TrimSpace(set.Doc)
		fmt.Fprintf(b, "\n// %s is the %s set", g.Name, set.Name)
		if doc != "" {
			fmt.Fprintf(b, ": %s", strings.ReplaceAll(doc, "\n", "\n// "))
		} else {
			b.WriteString(".")
		}
		fmt.Fprintf(b, "\ntype %s struct {\n", g.Name)
		for _, fl := range fields {
			goDoc(b, "\t", fl.name, fl.a.Doc)
			fmt.Fprintf(b, "\t%s %s `json:%q`\n", fl.name, fl.typ, fl.json)
		}
		b.WriteString("}\n")

		fmt.Fprintf(b, "\n// decode%[1]sAttrs decodes attributes of the %[2]s set into a %[1]s; one that %[1]s\n// does not hold goes to other (nil: it is ignored).\n", g.Name, set.Name)
		fmt.Fprintf(b, "func decode%[1]sAttrs(b []byte, other func(*netlink.AttributeDecoder)) (%[1]s, error) {\n\tvar v %[1]s\n", g.Name)
		hasNest := false
		for _, fl := range fields {
			hasNest = hasNest || fl.nest != ""
		}
		if hasNest {
			b.WriteString("\tvar inner error\n")
		}
		b.WriteString("\terr := genl.Decode(FamilyName, b, func(ad *netlink.AttributeDecoder) {\n\t\tswitch ad.Type() {\n")
		for _, fl := range fields {
			fmt.Fprintf(b, "\t\tcase %s%s:\n", prefix, camel(fl.a.Name))
			b.WriteString(decodeStmt(fl))
		}
		b.WriteString("\t\tdefault:\n\t\t\tif other != nil {\n\t\t\t\tother(ad)\n\t\t\t}\n\t\t}\n\t})\n")
		if hasNest {
			b.WriteString("\tif err == nil {\n\t\terr = inner\n\t}\n")
		}
		b.WriteString("\treturn v, err\n}\n")

		if g.Request == "" {
			continue
		}
		fmt.Fprintf(b, "\n// %s is the %s set as a request sends it: as in wgctrl's Config, a nil field\n// is left out (the kernel keeps or defaults it), any other is sent, 0 included.\ntype %[1]s struct {\n", g.Request, set.Name)
		for _, fl := range fields {
			goDoc(b, "\t", fl.name, fl.a.Doc)
			fmt.Fprintf(b, "\t%s *%s\n", fl.name, fl.typ)
		}
		b.WriteString("}\n")
		fmt.Fprintf(b, "\n// encode%[1]sAttrs writes o's set fields as %[2]s attributes.\nfunc encode%[1]sAttrs(ae *netlink.AttributeEncoder, o %[1]s) {\n", g.Request, set.Name)
		for _, fl := range fields {
			b.WriteString(encodeStmt(prefix+camel(fl.a.Name), fl))
		}
		b.WriteString("}\n")
	}
}

func decodeStmt(fl goField) string {
	t := fl.a.Type
	set := "\t\t\tv." + fl.name + " = "
	if fl.a.MultiAttr {
		set = "\t\t\tv." + fl.name + " = append(v." + fl.name + ", "
	}
	end := "\n"
	if fl.a.MultiAttr {
		end = ")\n"
	}
	switch {
	case fl.nest != "":
		return fmt.Sprintf("\t\t\tx, err := decode%sAttrs(ad.Bytes(), nil)\n\t\t\tif err != nil && inner == nil {\n\t\t\t\tinner = err\n\t\t\t}\n%sx%s", fl.nest, set, end)
	case t == "flag":
		return set + "true" + end
	case fl.conv == "bool":
		return set + "ad.Uint8() != 0" + end
	case fl.conv == "time.Duration":
		return fmt.Sprintf("%stime.Duration(ad.%s()) * %s%s", set, decoderCall[t], goUnits[fl.unit], end)
	case fl.conv == "netip.Addr":
		return fmt.Sprintf("\t\t\tx, _ := netip.AddrFromSlice(ad.Bytes())\n\t\t\tif x.IsUnspecified() {\n\t\t\t\tx = netip.Addr{}\n\t\t\t}\n%sx.Unmap()%s", set, end)
	case fl.conv == "net.HardwareAddr":
		return set + "net.HardwareAddr(append([]byte(nil), ad.Bytes()...))" + end
	case fl.conv != "":
		return fmt.Sprintf("%s%s(ad.%s())%s", set, fl.conv, decoderCall[t], end)
	case t == "string":
		return set + "ad.String()" + end
	case t == "binary":
		return set + "append([]byte(nil), ad.Bytes()...)" + end
	}
	return fmt.Sprintf("%sad.%s()%s", set, decoderCall[t], end)
}

func encodeStmt(attr string, fl goField) string {
	t := fl.a.Type
	v := "o." + fl.name
	switch {
	case t == "flag":
		return fmt.Sprintf("\tif %s != nil && *%[1]s {\n\t\tae.Flag(%s, true)\n\t}\n", v, attr)
	case fl.conv == "bool":
		return fmt.Sprintf("\tif %s != nil {\n\t\tvar x uint8\n\t\tif *%[1]s {\n\t\t\tx = 1\n\t\t}\n\t\tae.Uint8(%s, x)\n\t}\n", v, attr)
	case fl.conv == "time.Duration":
		return fmt.Sprintf("\tif %[1]s != nil {\n\t\tae.%[2]s(%[3]s, %[4]s(*%[1]s / %[5]s))\n\t}\n", v, decoderCall[t], attr, goInts[t], goUnits[fl.unit])
	case fl.conv == "netip.Addr":
		return fmt.Sprintf("\tif %s != nil {\n\t\tae.Bytes(%s, %[1]s.AsSlice())\n\t}\n", v, attr)
	case fl.conv == "net.HardwareAddr":
		return fmt.Sprintf("\tif %s != nil {\n\t\tae.Bytes(%s, *%[1]s)\n\t}\n", v, attr)
	case fl.conv != "":
		return fmt.Sprintf("\tif %[1]s != nil {\n\t\tae.%[2]s(%[3]s, %[4]s(*%[1]s))\n\t}\n", v, decoderCall[t], attr, goInts[t])
	case t == "string":
		return fmt.Sprintf("\tif %s != nil {\n\t\tae.String(%s, *%[1]s)\n\t}\n", v, attr)
	case t == "binary":
		return fmt.Sprintf("\tif %s != nil {\n\t\tae.Bytes(%s, *%[1]s)\n\t}\n", v, attr)
	}
	return fmt.Sprintf("\tgenl.Optional(ae, %s, %s)\n", attr, v)
}
