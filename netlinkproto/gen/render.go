package gen

import (
	"bytes"
	"fmt"
	"go/format"
	"math"
	"sort"
	"strings"
)

// Family says where one spec's generated files go, relative to the repository root.
type Family struct {
	Spec      string // netlinkproto/specs/<name>.yaml
	KernelDir string // module directory; it compiles generated/<name>_nl.c
	GoDir     string // client package directory (gets <name>_gen.go)
	GoPackage string // client package name
	Module    string // kernel module that registers the family
	// Go maps attribute sets to the client's Go types, by set name (gotypes.go);
	// sets not listed get constants only.
	Go map[string]GoStruct
}

// Render returns every file generated from one family, by path.
func Render(f Family, s *Spec) map[string][]byte {
	return map[string][]byte{
		"kmod/include/uapi/" + s.UAPIHeaderPath():          renderUAPI(f, s),
		f.KernelDir + "/generated/" + s.cIdent() + "_nl.h": renderKernelH(f, s),
		f.KernelDir + "/generated/" + s.cIdent() + "_nl.c": renderKernelC(f, s),
		f.GoDir + "/" + s.cIdent() + "_gen.go":             renderGo(f, s),
	}
}

// UAPIHeaderPath is the header's path below an include directory.
func (s *Spec) UAPIHeaderPath() string {
	if s.UAPIHeader != "" {
		return s.UAPIHeader
	}
	return "linux/" + s.cIdent() + ".h"
}

func upper(s string) string {
	return strings.ToUpper(strings.NewReplacer("-", "_", ".", "_", "/", "_").Replace(s))
}
func lower(s string) string {
	return strings.ToLower(strings.NewReplacer("-", "_", ".", "_", "/", "_").Replace(s))
}

func camel(s string) string {
	var b strings.Builder
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == '-' || r == '_' || r == '.' }) {
		b.WriteString(strings.ToUpper(p[:1]) + p[1:])
	}
	return b.String()
}

func (s *Spec) cIdent() string  { return lower(s.Name) }
func (s *Spec) cPrefix() string { return upper(s.Name) }

func (s *Spec) cConstName(name string) string { return s.cPrefix() + "_" + upper(name) }

func (s *Spec) cFamilyNameMacro() string {
	if s.CFamilyName != "" {
		return upper(s.CFamilyName)
	}
	return s.cPrefix() + "_FAMILY_NAME"
}

func (s *Spec) cVersionMacro() string {
	if s.CVersionName != "" {
		return upper(s.CVersionName)
	}
	return s.cPrefix() + "_FAMILY_VERSION"
}

func (s *Spec) cAttrPrefix(set *AttrSet) string {
	if set.NamePrefix != "" {
		return upper(set.NamePrefix)
	}
	return s.cPrefix() + "_A_" + upper(set.Name) + "_"
}

func (s *Spec) cAttrMax(set *AttrSet) string {
	return strings.TrimSuffix(s.cAttrPrefix(set), "_") + "_MAX"
}
func (s *Spec) cCmd(op *Op) string { return s.cPrefix() + "_CMD_" + upper(op.Name) }

func header(f Family, comment string) string {
	return fmt.Sprintf("%s Do not edit directly, auto-generated from: %s */\n/* by netlinkproto/gen: run `go generate ./...` after changing the spec. */\n", comment, f.Spec)
}

func cDoc(b *bytes.Buffer, indent, doc string) {
	doc = strings.TrimSpace(doc)
	if doc == "" {
		return
	}
	lines := strings.Split(doc, "\n")
	if len(lines) == 1 {
		fmt.Fprintf(b, "%s/* %s */\n", indent, lines[0])
		return
	}
	fmt.Fprintf(b, "%s/*\n", indent)
	for _, l := range lines {
		fmt.Fprintf(b, "%s * %s\n", indent, strings.TrimRight(l, " "))
	}
	fmt.Fprintf(b, "%s */\n", indent)
}

func renderUAPI(f Family, s *Spec) []byte {
	var b bytes.Buffer
	guard := "_UAPI_" + upper(strings.TrimSuffix(s.UAPIHeaderPath(), ".h")) + "_H"
	b.WriteString("/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause) */\n")
	b.WriteString(header(f, "/*"))
	fmt.Fprintf(&b, "\n#ifndef %s\n#define %s\n\n", guard, guard)
	cDoc(&b, "", s.Doc)
	fmt.Fprintf(&b, "#define %s\t\"%s\"\n", s.cFamilyNameMacro(), s.Name)
	fmt.Fprintf(&b, "#define %s\t%d\n", s.cVersionMacro(), s.Version)
	if len(s.Definitions) > 0 {
		b.WriteString("\n")
		for _, d := range s.Definitions {
			cDoc(&b, "", d.Doc)
			fmt.Fprintf(&b, "#define %s\t%d\n", s.cConstName(d.Name), d.Value)
		}
	}
	for _, set := range s.AttributeSets {
		b.WriteString("\n")
		cDoc(&b, "", set.Doc)
		b.WriteString("enum {\n")
		p := s.cAttrPrefix(set)
		fmt.Fprintf(&b, "\t%sUNSPEC,\n", p)
		for i, a := range set.Attributes {
			cDoc(&b, "\t", fmt.Sprintf("%s: %s", a.Type, a.Doc))
			if (i == 0 && a.Value != 1) || (i > 0 && a.Value != set.Attributes[i-1].Value+1) {
				fmt.Fprintf(&b, "\t%s%s = %d,\n", p, upper(a.Name), a.Value)
			} else {
				fmt.Fprintf(&b, "\t%s%s,\n", p, upper(a.Name))
			}
		}
		max := s.cAttrMax(set)
		fmt.Fprintf(&b, "\n\t__%s,\n\t%s = (__%s - 1)\n};\n", max, max, max)
	}
	b.WriteString("\nenum {\n")
	fmt.Fprintf(&b, "\t%s_CMD_UNSPEC,\n", s.cPrefix())
	for i, op := range s.Operations.List {
		cDoc(&b, "\t", op.Doc)
		if (i == 0 && op.Value != 1) || (i > 0 && op.Value != s.Operations.List[i-1].Value+1) {
			fmt.Fprintf(&b, "\t%s = %d,\n", s.cCmd(op), op.Value)
		} else {
			fmt.Fprintf(&b, "\t%s,\n", s.cCmd(op))
		}
	}
	fmt.Fprintf(&b, "\n\t__%s_CMD_MAX,\n\t%s_CMD_MAX = (__%s_CMD_MAX - 1)\n};\n", s.cPrefix(), s.cPrefix(), s.cPrefix())
	if len(s.McastGroups.List) > 0 {
		b.WriteString("\n")
		for _, g := range s.McastGroups.List {
			fmt.Fprintf(&b, "#define %s_MCGRP_%s\t\"%s\"\n", s.cPrefix(), upper(g.Name), g.Name)
		}
	}
	fmt.Fprintf(&b, "\n#endif /* %s */\n", guard)
	return b.Bytes()
}

// intBounds are the limits of each integer type, for range checks.
var intBounds = map[string][2]float64{
	"u8": {0, math.MaxUint8}, "u16": {0, math.MaxUint16}, "u32": {0, math.MaxUint32}, "u64": {0, math.MaxUint64},
	"s8": {math.MinInt8, math.MaxInt8}, "s16": {math.MinInt16, math.MaxInt16},
	"s32": {math.MinInt32, math.MaxInt32}, "s64": {math.MinInt64, math.MaxInt64},
}

func fitsS16(v int64) bool { return v >= math.MinInt16 && v <= math.MaxInt16 }

// policyEntry renders one nla_policy initializer, and any range struct it needs.
func (s *Spec) policyEntry(set *AttrSet, a *Attr) (entry, extra string) {
	t := cTypes[a.Type]
	c := a.Checks
	switch a.Type {
	case "nest":
		return fmt.Sprintf("NLA_POLICY_NESTED(%s_%s_nl_policy)", s.cIdent(), lower(a.NestedAttributes)), ""
	case "string":
		if c.MaxLen != nil {
			return fmt.Sprintf("{ .type = %s, .len = %s, }", t, s.cNum(c.MaxLen)), ""
		}
		return fmt.Sprintf("{ .type = %s, }", t), ""
	case "binary":
		switch {
		case c.ExactLen != nil:
			return fmt.Sprintf("NLA_POLICY_EXACT_LEN(%s)", s.cNum(c.ExactLen)), ""
		case c.MinLen != nil && c.MaxLen != nil:
			return fmt.Sprintf("NLA_POLICY_RANGE(NLA_BINARY, %s, %s)", s.cNum(c.MinLen), s.cNum(c.MaxLen)), ""
		case c.MaxLen != nil:
			return fmt.Sprintf("NLA_POLICY_MAX_LEN(%s)", s.cNum(c.MaxLen)), ""
		case c.MinLen != nil:
			return fmt.Sprintf("NLA_POLICY_MIN_LEN(%s)", s.cNum(c.MinLen)), ""
		}
		return fmt.Sprintf("{ .type = %s, }", t), ""
	case "flag":
		return fmt.Sprintf("{ .type = %s, }", t), ""
	}
	// integers
	if c.Min == nil && c.Max == nil {
		return fmt.Sprintf("{ .type = %s, }", t), ""
	}
	small := (c.Min == nil || fitsS16(s.value(c.Min))) && (c.Max == nil || fitsS16(s.value(c.Max)))
	if small {
		switch {
		case c.Min != nil && c.Max != nil:
			return fmt.Sprintf("NLA_POLICY_RANGE(%s, %s, %s)", t, s.cNum(c.Min), s.cNum(c.Max)), ""
		case c.Max != nil:
			return fmt.Sprintf("NLA_POLICY_MAX(%s, %s)", t, s.cNum(c.Max)), ""
		default:
			return fmt.Sprintf("NLA_POLICY_MIN(%s, %s)", t, s.cNum(c.Min)), ""
		}
	}
	name := fmt.Sprintf("%s_a_%s_%s_range", s.cIdent(), lower(set.Name), lower(a.Name))
	b := intBounds[a.Type]
	lo, hi := fmt.Sprintf("%.0f", b[0]), fmt.Sprintf("%.0f", b[1])
	if a.Type == "u64" {
		hi = "U64_MAX"
	} else if a.Type == "s64" {
		lo, hi = "S64_MIN", "S64_MAX"
	}
	if c.Min != nil {
		lo = s.cNum(c.Min)
	}
	if c.Max != nil {
		hi = s.cNum(c.Max)
	}
	kind := "netlink_range_validation"
	if a.Type[0] == 's' {
		kind = "netlink_range_validation_signed"
	}
	extra = fmt.Sprintf("static struct %s %s = {\n\t.min = %s,\n\t.max = %s,\n};\n\n", kind, name, lo, hi)
	return fmt.Sprintf("NLA_POLICY_FULL_RANGE(%s, &%s)", t, name), extra
}

// nestedSets returns the sets used as nests, in spec order.
func (s *Spec) nestedSets() []*AttrSet {
	used := map[string]bool{}
	for _, set := range s.AttributeSets {
		for _, a := range set.Attributes {
			if a.Type == "nest" {
				used[a.NestedAttributes] = true
			}
		}
	}
	var out []*AttrSet
	for _, set := range s.AttributeSets {
		if used[set.Name] {
			out = append(out, set)
		}
	}
	return out
}

// requestAttrs is the union of an op's do and dump request attributes, in set order.
func (op *Op) requestAttrs(set *AttrSet) []*Attr {
	want := map[string]bool{}
	for _, m := range []*OpMode{op.Do, op.Dump} {
		if m != nil && m.Request != nil {
			for _, n := range m.Request.Attributes {
				want[n] = true
			}
		}
	}
	var out []*Attr
	for _, a := range set.Attributes {
		if want[a.Name] {
			out = append(out, a)
		}
	}
	return out
}

func (op *Op) kernelOp() bool { return op.Do != nil || op.Dump != nil }

func renderKernelH(f Family, s *Spec) []byte {
	var b bytes.Buffer
	guard := "_" + s.cPrefix() + "_NL_H"
	b.WriteString("/* SPDX-License-Identifier: GPL-2.0 */\n")
	b.WriteString(header(f, "/*"))
	fmt.Fprintf(&b, "\n#ifndef %s\n#define %s\n\n#include <net/netlink.h>\n#include <net/genetlink.h>\n\n#include <uapi/%s>\n\n", guard, guard, s.UAPIHeaderPath())
	for _, set := range s.nestedSets() {
		fmt.Fprintf(&b, "extern const struct nla_policy %s_%s_nl_policy[%s + 1];\n", s.cIdent(), lower(set.Name), s.cAttrMax(set))
	}
	nops := 0
	for _, op := range s.Operations.List {
		if !op.kernelOp() {
			continue
		}
		nops++
		if op.Do != nil {
			fmt.Fprintf(&b, "int %s_nl_%s_doit(struct sk_buff *skb, struct genl_info *info);\n", s.cIdent(), lower(op.Name))
		}
		if op.Dump != nil {
			fmt.Fprintf(&b, "int %s_nl_%s_dumpit(struct sk_buff *skb, struct netlink_callback *cb);\n", s.cIdent(), lower(op.Name))
		}
	}
	fmt.Fprintf(&b, "\nextern const struct genl_ops %s_nl_ops[%d];\n", s.cIdent(), nops)
	if n := len(s.McastGroups.List); n > 0 {
		b.WriteString("\nenum {\n")
		for _, g := range s.McastGroups.List {
			fmt.Fprintf(&b, "\t%s_NLGRP_%s,\n", s.cPrefix(), upper(g.Name))
		}
		b.WriteString("};\n\n")
		fmt.Fprintf(&b, "extern const struct genl_multicast_group %s_nl_mcgrps[%d];\n", s.cIdent(), n)
	}
	fmt.Fprintf(&b, "\n/* the family: the module registers it (genl_register_family) and puts replies with it */\nextern struct genl_family %s_nl_family;\n", s.cIdent())
	fmt.Fprintf(&b, "\n#endif /* %s */\n", guard)
	return b.Bytes()
}

func renderKernelC(f Family, s *Spec) []byte {
	var b bytes.Buffer
	b.WriteString("// SPDX-License-Identifier: GPL-2.0\n")
	b.WriteString(header(f, "/*"))
	fmt.Fprintf(&b, "\n#include <linux/module.h>\n#include <net/netlink.h>\n#include <net/genetlink.h>\n\n#include \"%s_nl.h\"\n\n#include <uapi/%s>\n", s.cIdent(), s.UAPIHeaderPath())

	// a range struct is written once, before the first policy that uses it (YNL writes
	// them all at the top): an attribute may be in several ops' requests
	written := map[string]bool{}
	emit := func(name, max string, set *AttrSet, attrs []*Attr, static bool) {
		var ents, extras []string
		for _, a := range attrs {
			e, x := s.policyEntry(set, a)
			ents = append(ents, fmt.Sprintf("\t[%s%s] = %s,\n", s.cAttrPrefix(set), upper(a.Name), e))
			if x != "" {
				extras = append(extras, x)
			}
		}
		sort.Strings(extras)
		b.WriteString("\n")
		for _, x := range extras {
			if !written[x] {
				written[x] = true
				b.WriteString(x)
			}
		}
		st := ""
		if static {
			st = "static "
		}
		fmt.Fprintf(&b, "%sconst struct nla_policy %s[%s + 1] = {\n", st, name, max)
		for _, e := range ents {
			b.WriteString(e)
		}
		b.WriteString("};\n")
	}

	for _, set := range s.nestedSets() {
		b.WriteString("\n/* Common nested types */")
		emit(fmt.Sprintf("%s_%s_nl_policy", s.cIdent(), lower(set.Name)), s.cAttrMax(set), set, set.Attributes, false)
	}
	for _, op := range s.Operations.List {
		if !op.kernelOp() {
			continue
		}
		set := s.sets[op.AttributeSet]
		fmt.Fprintf(&b, "\n/* %s - request attributes (all others are rejected) */", upper(op.Name))
		emit(fmt.Sprintf("%s_%s_nl_policy", s.cIdent(), lower(op.Name)), s.cAttrMax(set), set, op.requestAttrs(set), true)
	}

	nops := 0
	for _, op := range s.Operations.List {
		if op.kernelOp() {
			nops++
		}
	}
	fmt.Fprintf(&b, "\n/* Ops table for %s */\nconst struct genl_ops %s_nl_ops[%d] = {\n", s.Name, s.cIdent(), nops)
	for _, op := range s.Operations.List {
		if !op.kernelOp() {
			continue
		}
		set := s.sets[op.AttributeSet]
		fmt.Fprintf(&b, "\t{\n\t\t.cmd\t\t= %s,\n", s.cCmd(op))
		if op.Do != nil {
			fmt.Fprintf(&b, "\t\t.doit\t\t= %s_nl_%s_doit,\n", s.cIdent(), lower(op.Name))
		}
		if op.Dump != nil {
			fmt.Fprintf(&b, "\t\t.dumpit\t\t= %s_nl_%s_dumpit,\n", s.cIdent(), lower(op.Name))
		}
		fmt.Fprintf(&b, "\t\t.policy\t\t= %s_%s_nl_policy,\n", s.cIdent(), lower(op.Name))
		fmt.Fprintf(&b, "\t\t.maxattr\t= %s,\n", s.cAttrMax(set))
		if len(op.Flags) > 0 {
			var fl []string
			for _, x := range op.Flags {
				fl = append(fl, opFlags[x])
			}
			fmt.Fprintf(&b, "\t\t.flags\t\t= %s,\n", strings.Join(fl, " | "))
		}
		b.WriteString("\t},\n")
	}
	b.WriteString("};\n")
	if n := len(s.McastGroups.List); n > 0 {
		fmt.Fprintf(&b, "\nconst struct genl_multicast_group %s_nl_mcgrps[%d] = {\n", s.cIdent(), n)
		for _, g := range s.McastGroups.List {
			flags := ""
			if len(g.Flags) > 0 { // uns-admin-perm, checked when the spec is read
				flags = " .flags = GENL_MCAST_CAP_NET_ADMIN,"
			}
			fmt.Fprintf(&b, "\t[%s_NLGRP_%s] = { \"%s\",%s },\n", s.cPrefix(), upper(g.Name), g.Name, flags)
		}
		b.WriteString("};\n")
	}
	// the family itself, as YNL's C generator writes it: every nlkit family is per netns
	// and its handlers run in parallel (each takes the locks it needs)
	fmt.Fprintf(&b, "\nstruct genl_family %s_nl_family = {\n", s.cIdent())
	fmt.Fprintf(&b, "\t.name\t\t= %s,\n\t.version\t= %s,\n", s.cFamilyNameMacro(), s.cVersionMacro())
	b.WriteString("\t.netnsok\t= true,\n\t.parallel_ops\t= true,\n\t.module\t\t= THIS_MODULE,\n")
	fmt.Fprintf(&b, "\t.ops\t\t= %s_nl_ops,\n\t.n_ops\t\t= ARRAY_SIZE(%s_nl_ops),\n", s.cIdent(), s.cIdent())
	if len(s.McastGroups.List) > 0 {
		fmt.Fprintf(&b, "\t.mcgrps\t\t= %s_nl_mcgrps,\n\t.n_mcgrps\t= ARRAY_SIZE(%s_nl_mcgrps),\n", s.cIdent(), s.cIdent())
	}
	b.WriteString("};\n")
	return b.Bytes()
}

func goDoc(b *bytes.Buffer, indent, name, doc string) {
	doc = strings.TrimSpace(doc)
	if doc == "" {
		return
	}
	for i, l := range strings.Split(doc, "\n") {
		if i == 0 {
			fmt.Fprintf(b, "%s// %s: %s\n", indent, name, l)
		} else {
			fmt.Fprintf(b, "%s// %s\n", indent, l)
		}
	}
}

func renderGo(f Family, s *Spec) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by netlinkproto/gen from %s. DO NOT EDIT.\n\npackage %s\n\n", f.Spec, f.GoPackage)
	b.WriteString("import (\n")
	for _, p := range f.goImports(s) {
		fmt.Fprintf(&b, "\t%q\n", p)
	}
	b.WriteString("\n\t\"github.com/mdlayher/genetlink\"\n\t\"github.com/mdlayher/netlink\"\n\n\t\"github.com/nlkit/nlkit/netlinkproto/genl\"\n)\n\n")
	b.WriteString("// Family identity. FamilyVersion is the ABI this package speaks; the client refuses\n// a kernel module that registers another.\nconst (\n")
	fmt.Fprintf(&b, "\tFamilyName    = %q\n\tFamilyVersion = %d\n\t// ModuleName is the kernel module that registers the family.\n\tModuleName = %q\n)\n", s.Name, s.Version, f.Module)
	fmt.Fprintf(&b, clientTmpl, s.Name, f.Module)
	if len(s.Definitions) > 0 {
		b.WriteString("\n// Constants of the family.\nconst (\n")
		for _, d := range s.Definitions {
			goDoc(&b, "\t", camel(d.Name), d.Doc)
			fmt.Fprintf(&b, "\t%s = %d\n", camel(d.Name), d.Value)
		}
		b.WriteString(")\n")
	}
	b.WriteString("\n// Commands.\nconst (\n")
	for _, op := range s.Operations.List {
		goDoc(&b, "\t", "Cmd"+camel(op.Name), op.Doc)
		fmt.Fprintf(&b, "\tCmd%s uint8 = %d\n", camel(op.Name), op.Value)
	}
	b.WriteString(")\n")
	for _, set := range s.AttributeSets {
		fmt.Fprintf(&b, "\n// Attributes of the %s set.\nconst (\n", set.Name)
		for _, a := range set.Attributes {
			name := "Attr" + camel(set.Name) + camel(a.Name)
			goDoc(&b, "\t", name, a.Type+": "+a.Doc)
			fmt.Fprintf(&b, "\t%s uint16 = %d\n", name, a.Value)
		}
		b.WriteString(")\n")
	}
	if len(s.McastGroups.List) > 0 {
		b.WriteString("\n// Multicast groups.\nconst (\n")
		for _, g := range s.McastGroups.List {
			fmt.Fprintf(&b, "\tGroup%s = %q\n", camel(g.Name), g.Name)
		}
		b.WriteString(")\n")
	}
	f.renderGoTypes(&b, s)
	out, err := format.Source(b.Bytes())
	if err != nil {
		panic(fmt.Sprintf("gen: generated Go for %s does not parse: %v", s.Name, err))
	}
	return out
}

// clientTmpl is every client package's connection boilerplate (family name, module).
const clientTmpl = `
// Family is the family as the genl layer needs it.
var Family = genl.Family{Name: FamilyName, Module: ModuleName, ABI: FamilyVersion}

// Client talks to the %[1]s family of one network namespace.
type Client struct {
	c *genl.Conn
	// Skipped counts dump entries that could not be decoded (and were left out).
	Skipped int
}

// Dial connects in the caller's network namespace; it fails with a clear message when
// %[2]s is not loaded or speaks another ABI.
func Dial() (*Client, error) { return DialConfig(nil) }

// DialConfig is Dial with netlink options (e.g. Config.NetNS: another namespace).
func DialConfig(cfg *netlink.Config) (*Client, error) {
	return newClient(genl.DialConfig(Family, cfg))
}

// NewClient is Dial on a connection the caller opened (a test's genlfake kernel); the
// client owns it from then on.
func NewClient(conn *genetlink.Conn) (*Client, error) {
	return newClient(genl.New(Family, conn))
}

func newClient(c *genl.Conn, err error) (*Client, error) {
	if err != nil {
		return nil, err
	}
	return &Client{c: c}, nil
}

// Close closes the client.
func (c *Client) Close() error { return c.c.Close() }
`
