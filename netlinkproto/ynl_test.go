//go:build !vmtest

package netlinkproto

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/nlkit/nlkit/netlinkproto/gen"
)

// The kernel's own YNL generator (tools/net/ynl/ynl-gen-c.py of Debian's 6.12 source,
// which `make ynl` unpacks into out/ynl) must generate every nlkit family in the modes
// the kernel's families use (uapi header, kernel header and source), and say the same
// as nlkit's generator:
//   - uapi: every constant, enum value and string YNL's header defines has the same
//     value in nlkit's header (both compiled with the host's gcc, which prints them);
//   - kernel: the ops table (commands, doit/dumpit handlers, flags), each op's request
//     policy attribute by attribute, the nested policies and the multicast groups.
//
// Where the two differ by design, the difference is named below:
//   - nlkit's uapi enums start with an _UNSPEC member, YNL's at "= 1" (same values);
//   - nlkit sizes a policy by the set's _MAX, YNL by the request's highest attribute.
//     The kernel's strict validation rejects an attribute above maxattr ("Unknown
//     attribute type") and one without a policy entry ("Unsupported attribute"), so
//     both reject the same requests, each with an extack message.
func TestYNLGeneratesEveryFamily(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	// make ynl unpacks the tools once per source tarball (about 20 s) and puts the
	// schemas beside the specs; make test's deps installed the source
	if out, err := exec.Command("make", "-s", "-C", root, "ynl").CombinedOutput(); err != nil {
		t.Fatalf("make ynl: %v\n%s", err, out)
	}
	ynlGen := filepath.Join(root, "out/ynl/tools/net/ynl/ynl-gen-c.py")
	for _, f := range Families {
		f := f
		t.Run(strings.TrimSuffix(filepath.Base(f.Spec), ".yaml"), func(t *testing.T) {
			t.Parallel()
			s, err := gen.Load(filepath.Join(root, f.Spec))
			if err != nil {
				t.Fatal(err)
			}
			mine := gen.Render(f, s)
			dir := t.TempDir()
			ynl := map[string]string{}
			for _, m := range []struct{ name, mode, kind string }{
				{"uapi.h", "uapi", "--header"}, {"kernel.h", "kernel", "--header"}, {"kernel.c", "kernel", "--source"},
			} {
				out := filepath.Join(dir, m.name)
				cmd := exec.Command("python3", ynlGen, "--mode", m.mode, m.kind, "--spec", f.Spec, "-o", out)
				cmd.Dir = root // ynl-gen-c.py names the spec relative to the tree's MAINTAINERS
				if b, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("ynl-gen-c.py --mode %s %s --spec %s: %v\n%s", m.mode, m.kind, f.Spec, err, b)
				}
				b, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				ynl[m.name] = string(b)
			}
			uapi := string(mine["kmod/include/uapi/"+s.UAPIHeaderPath()])
			compareUAPI(t, dir, ynl["uapi.h"], uapi)
			consts := defines(uapi)
			kc := string(mine[f.KernelDir+"/generated/"+strings.ReplaceAll(s.Name, "-", "_")+"_nl.c"])
			if kc == "" {
				t.Fatalf("no kernel source rendered for %s", f.Spec)
			}
			compareKernel(t, s, parseKernelC(t, ynl["kernel.c"], consts), parseKernelC(t, kc, consts))
		})
	}
}

var (
	reDefine   = regexp.MustCompile(`(?m)^#define\s+([A-Z][A-Z0-9_]*)\s+(\S.*?)\s*$`)
	reEnumBody = regexp.MustCompile(`(?s)\benum\s*(?:\w+\s*)?\{(.*?)\}`)
	reEnumItem = regexp.MustCompile(`(?m)^\s*([A-Z_][A-Z0-9_]*)\s*(?:=[^,\n]*)?,?\s*$`)
)

// defines maps a header's #define names to their values, as written.
func defines(h string) map[string]string {
	out := map[string]string{}
	for _, m := range reDefine.FindAllStringSubmatch(h, -1) {
		out[m[1]] = m[2]
	}
	return out
}

// compareUAPI compiles a program that prints each of YNL's header's names with each
// header and compares the two outputs.
func compareUAPI(t *testing.T, dir, ynlH, mineH string) {
	t.Helper()
	var names []string
	strs := map[string]bool{}
	for n, v := range defines(ynlH) {
		if strings.HasPrefix(n, "_") { // include guards
			continue
		}
		names = append(names, n)
		strs[n] = strings.HasPrefix(v, `"`)
	}
	for _, body := range reEnumBody.FindAllStringSubmatch(ynlH, -1) {
		for _, m := range reEnumItem.FindAllStringSubmatch(body[1], -1) {
			names = append(names, m[1])
		}
	}
	sort.Strings(names)
	if len(names) < 5 {
		t.Fatalf("YNL's uapi header defines %d names: %q", len(names), ynlH)
	}
	run := func(name, h string) string {
		hp := filepath.Join(dir, name+".h")
		var p strings.Builder
		fmt.Fprintf(&p, "#include <stdio.h>\n#include %q\nint main(void)\n{\n", hp)
		for _, n := range names {
			if strs[n] {
				fmt.Fprintf(&p, "\tprintf(\"%%s %%s\\n\", %q, %s);\n", n, n)
			} else {
				fmt.Fprintf(&p, "\tprintf(\"%%s %%lld\\n\", %q, (long long)(%s));\n", n, n)
			}
		}
		p.WriteString("\treturn 0;\n}\n")
		cp, bin := filepath.Join(dir, name+".c"), filepath.Join(dir, name)
		if err := os.WriteFile(hp, []byte(h), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(cp, []byte(p.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		if b, err := exec.Command("gcc", "-Wall", "-Werror", "-o", bin, cp).CombinedOutput(); err != nil {
			t.Fatalf("compiling %s's names with the %s header: %v\n%s", filepath.Base(hp), name, err, b)
		}
		b, err := exec.Command(bin).Output()
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	y, m := run("ynl", ynlH), run("nlkit", mineH)
	if y != m {
		t.Errorf("the uapi headers' values differ:\nYNL:\n%snlkit:\n%s", y, m)
	}
	t.Logf("uapi: %d names, the same values", len(names))
}

// kernelC is what a generated kernel source says, in canonical form.
type kernelC struct {
	policies map[string]map[string]string // policy name -> attribute -> canonical entry
	ops      map[string]map[string]string // command -> field -> value (policy: its entries)
	mcgrps   map[string]string            // index -> "name flags"
	opPolicy map[string]bool              // the policies the ops table names
}

var (
	reRange  = regexp.MustCompile(`(?s)struct netlink_range_validation(?:_signed)? (\w+) = \{(.*?)\};`)
	reBound  = regexp.MustCompile(`\.(min|max)\s*=\s*([^,]+),`)
	rePolicy = regexp.MustCompile(`(?s)const struct nla_policy (\w+)\[[^\]]+\] = \{\n(.*?)\n?\};`)
	reEntry  = regexp.MustCompile(`(?m)^\s*\[(\w+)\] = (.+),\s*$`)
	reOps    = regexp.MustCompile(`(?s)const struct genl_ops \w+\[\d+\] = \{\n(.*?)\n\};`)
	reOp     = regexp.MustCompile(`(?s)\{\n(.*?)\n\s*\},`)
	reField  = regexp.MustCompile(`(?m)^\s*\.(\w+)\s*=\s*(.+?),\s*$`)
	reMcgrp  = regexp.MustCompile(`\[(\w+)\] = \{ "([^"]+)",\s*(.*?)\s*\},`)
	reCall   = regexp.MustCompile(`^(NLA_POLICY_\w+)\((.*)\)$`)
	reType   = regexp.MustCompile(`^\{ \.type = (\w+),(?: \.len = ([^,]+),)? \}$`)
)

// typeBounds are the integer types' own limits: a bound equal to one checks nothing.
var typeBounds = map[string][2]string{
	"NLA_U8": {"0", "255"}, "NLA_U16": {"0", "65535"}, "NLA_U32": {"0", "4294967295"}, "NLA_U64": {"0", "18446744073709551615"},
	"NLA_S8": {"-128", "127"}, "NLA_S16": {"-32768", "32767"}, "NLA_S32": {"-2147483648", "2147483647"},
	"NLA_S64": {"-9223372036854775808", "9223372036854775807"},
}

// number evaluates a bound: a literal (with C suffixes), a macro of the uapi header, or a
// kernel limit macro.
func number(t *testing.T, v string, consts map[string]string) string {
	t.Helper()
	v = strings.TrimSpace(v)
	switch v {
	case "U64_MAX":
		return "18446744073709551615"
	case "S64_MIN":
		return "-9223372036854775808"
	case "S64_MAX":
		return "9223372036854775807"
	}
	if c, ok := consts[v]; ok {
		return number(t, c, consts)
	}
	lit := strings.TrimRight(v, "ULul")
	if n, err := strconv.ParseInt(lit, 0, 64); err == nil {
		return strconv.FormatInt(n, 10)
	}
	if n, err := strconv.ParseUint(lit, 0, 64); err == nil {
		return strconv.FormatUint(n, 10)
	}
	t.Fatalf("bound %q is neither a number nor a constant of the uapi header", v)
	return ""
}

// canonical writes a policy entry as type, bounds and nested policy, whichever macro
// or initializer wrote it.
func canonical(t *testing.T, e string, ranges map[string][2]string, consts map[string]string) string {
	t.Helper()
	typ, lo, hi, nest := "", "", "", ""
	if m := reType.FindStringSubmatch(e); m != nil {
		typ = m[1]
		if m[2] != "" {
			hi = "len " + number(t, m[2], consts)
		}
	} else if m := reCall.FindStringSubmatch(e); m != nil {
		args := strings.Split(m[2], ",")
		for i := range args {
			args[i] = strings.TrimSpace(args[i])
		}
		switch m[1] {
		case "NLA_POLICY_NESTED":
			typ, nest = "NLA_NESTED", args[0]
		case "NLA_POLICY_RANGE":
			typ, lo, hi = args[0], number(t, args[1], consts), number(t, args[2], consts)
		case "NLA_POLICY_MIN":
			typ, lo = args[0], number(t, args[1], consts)
		case "NLA_POLICY_MAX":
			typ, hi = args[0], number(t, args[1], consts)
		case "NLA_POLICY_FULL_RANGE", "NLA_POLICY_FULL_RANGE_SIGNED":
			r, ok := ranges[strings.TrimPrefix(args[1], "&")]
			if !ok {
				t.Fatalf("%s: no range struct %s", e, args[1])
			}
			typ, lo, hi = args[0], r[0], r[1]
		case "NLA_POLICY_EXACT_LEN":
			typ, lo, hi = "NLA_BINARY", number(t, args[0], consts), number(t, args[0], consts)
		case "NLA_POLICY_MIN_LEN":
			typ, lo = "NLA_BINARY", number(t, args[0], consts)
		case "NLA_POLICY_MAX_LEN":
			typ, hi = "NLA_BINARY", number(t, args[0], consts)
		default:
			t.Fatalf("policy entry %q: unknown macro", e)
		}
	} else {
		t.Fatalf("policy entry %q: unknown form", e)
	}
	if b, ok := typeBounds[typ]; ok {
		if lo == b[0] || (lo == "" && b[0] == "0") {
			lo = ""
		}
		if hi == b[1] {
			hi = ""
		}
	}
	return fmt.Sprintf("%s min=%s max=%s nest=%s", typ, lo, hi, nest)
}

func parseKernelC(t *testing.T, c string, consts map[string]string) kernelC {
	t.Helper()
	k := kernelC{policies: map[string]map[string]string{}, ops: map[string]map[string]string{}, mcgrps: map[string]string{}, opPolicy: map[string]bool{}}
	ranges := map[string][2]string{}
	for _, m := range reRange.FindAllStringSubmatch(c, -1) {
		var r [2]string // a bound left out is the type's own (YNL leaves out min 0)
		for _, b := range reBound.FindAllStringSubmatch(m[2], -1) {
			if b[1] == "min" {
				r[0] = number(t, b[2], consts)
			} else {
				r[1] = number(t, b[2], consts)
			}
		}
		ranges[m[1]] = r
	}
	for _, m := range rePolicy.FindAllStringSubmatch(c, -1) {
		ents := map[string]string{}
		for _, e := range reEntry.FindAllStringSubmatch(m[2], -1) {
			ents[e[1]] = canonical(t, e[2], ranges, consts)
		}
		k.policies[m[1]] = ents
	}
	ops := reOps.FindStringSubmatch(c)
	if ops == nil {
		t.Fatal("no genl_ops table")
	}
	for _, o := range reOp.FindAllStringSubmatch(ops[1]+"\n\t},", -1) {
		fields := map[string]string{}
		for _, f := range reField.FindAllStringSubmatch(o[1], -1) {
			fields[f[1]] = f[2]
		}
		cmd := fields["cmd"]
		if cmd == "" {
			t.Fatalf("an op without cmd: %q", o[1])
		}
		k.opPolicy[fields["policy"]] = true
		pol, ok := k.policies[fields["policy"]]
		if !ok {
			t.Fatalf("%s: policy %q is not in the source", cmd, fields["policy"])
		}
		ents := make([]string, 0, len(pol))
		for a, e := range pol {
			ents = append(ents, a+": "+e)
		}
		sort.Strings(ents)
		fields["policy"] = strings.Join(ents, "; ")
		delete(fields, "maxattr") // sized differently by design (see the test's comment)
		k.ops[cmd] = fields
	}
	for _, m := range reMcgrp.FindAllStringSubmatch(c, -1) {
		k.mcgrps[m[1]] = strings.TrimSpace(m[2] + " " + strings.TrimSuffix(m[3], ","))
	}
	return k
}

func compareKernel(t *testing.T, s *gen.Spec, ynl, mine kernelC) {
	t.Helper()
	if len(ynl.ops) == 0 {
		t.Fatal("YNL's source has no ops")
	}
	for cmd, yf := range ynl.ops {
		mf, ok := mine.ops[cmd]
		if !ok {
			t.Errorf("%s: in YNL's op table, not in nlkit's", cmd)
			continue
		}
		for _, k := range []string{"doit", "dumpit", "flags", "validate", "policy"} {
			if yf[k] != mf[k] {
				t.Errorf("%s .%s:\n  YNL   %q\n  nlkit %q", cmd, k, yf[k], mf[k])
			}
		}
	}
	for cmd := range mine.ops {
		if _, ok := ynl.ops[cmd]; !ok {
			t.Errorf("%s: in nlkit's op table, not in YNL's", cmd)
		}
	}
	// the nested policies YNL writes (those requests use): the same entries in nlkit's
	nested := 0
	for name, ents := range ynl.policies {
		if ynl.opPolicy[name] {
			continue
		}
		nested++
		m, ok := mine.policies[name]
		if !ok {
			t.Errorf("nested policy %s: in YNL's source, not in nlkit's", name)
			continue
		}
		for a, e := range ents {
			if m[a] != e {
				t.Errorf("%s[%s]:\n  YNL   %s\n  nlkit %s", name, a, e, m[a])
			}
		}
		if len(m) != len(ents) {
			t.Errorf("%s: YNL has %d entries, nlkit %d", name, len(ents), len(m))
		}
	}
	// YNL's generator (6.12 and 7.3) drops a group's flags, which the schema allows:
	// nlkit's must be GENL_MCAST_CAP_NET_ADMIN exactly where the spec says uns-admin-perm
	for _, g := range s.McastGroups.List {
		i := strings.ToUpper(strings.ReplaceAll(s.Name+"_nlgrp_"+g.Name, "-", "_"))
		want := g.Name
		if len(g.Flags) > 0 {
			want += " .flags = GENL_MCAST_CAP_NET_ADMIN"
			t.Logf("multicast group %s is uns-admin-perm: nlkit's source says so, YNL's drops it", g.Name)
		}
		if mine.mcgrps[i] != want {
			t.Errorf("multicast group %s: nlkit %q, want %q", i, mine.mcgrps[i], want)
		}
		if v, ok := mine.mcgrps[i]; ok {
			mine.mcgrps[i] = strings.TrimSuffix(v, " .flags = GENL_MCAST_CAP_NET_ADMIN")
		}
	}
	for i, g := range ynl.mcgrps {
		if mine.mcgrps[i] != g {
			t.Errorf("multicast group %s: YNL %q, nlkit %q", i, g, mine.mcgrps[i])
		}
	}
	if len(mine.mcgrps) != len(ynl.mcgrps) {
		t.Errorf("multicast groups: YNL %v, nlkit %v", ynl.mcgrps, mine.mcgrps)
	}
	t.Logf("kernel: %d ops, %d nested policies, %d multicast groups: the same", len(ynl.ops), nested, len(ynl.mcgrps))
}
