// Package scaffold creates the skeleton of a new nlkit mechanism, in the shape every
// mechanism has (README, "Adding a mechanism"): a spec with one guarded per-netns value
// (get-value for anyone, set-value with CAP_NET_ADMIN), a kernel module that registers
// its family (main.c load and unload only, state.c the per-netns state, netlink.c the
// handlers, generated/ from the spec), a client package with a host test and a VM
// test, an `nlkit NAME` command, and the entries in families.go, Kbuild, dkms.conf and
// the command list. It builds as created and its tests pass; the mechanism then grows
// from there. Run it as `go run ./netlinkproto/cmd/nlgen new NAME`.
package scaffold

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"text/template"

	"github.com/nlkit/nlkit/netlinkproto/gen"
)

// names are what the templates substitute.
type names struct {
	Name  string // snake_case: family, module, directories (demo, my_qdisc)
	Dash  string // the spec's dashed form (my-qdisc)
	Upper string // C macros (MY_QDISC)
	Go    string // Go package name (myqdisc)
	Camel string // Go identifiers' stem (myQdisc)
}

var nameRe = regexp.MustCompile(`^[a-z][a-z0-9_]{1,14}$`)

func newNames(name string) (names, error) {
	if !nameRe.MatchString(name) || strings.HasSuffix(name, "_") || strings.Contains(name, "__") {
		return names{}, fmt.Errorf("mechanism name %q: want 2 to 15 of a-z, 0-9 and single inner underscores, starting with a letter", name)
	}
	parts := strings.Split(name, "_")
	camel := parts[0]
	for _, p := range parts[1:] {
		camel += strings.ToUpper(p[:1]) + p[1:]
	}
	return names{Name: name, Dash: strings.ReplaceAll(name, "_", "-"), Upper: strings.ToUpper(name),
		Go: strings.ReplaceAll(name, "_", ""), Camel: camel}, nil
}

// GoPackage is the client package name of mechanism name.
func GoPackage(name string) string { return strings.ReplaceAll(name, "_", "") }

// Created lists what New wrote or changed, relative to the root.
type Created []string

// New creates mechanism name's skeleton in the repository at root, and its generated
// files. It refuses a name that is taken.
func New(root, name string) (Created, error) {
	n, err := newNames(name)
	if err != nil {
		return nil, err
	}
	files := map[string]string{
		"netlinkproto/specs/" + n.Name + ".yaml":              specTmpl,
		"kmod/" + n.Name + "/Kbuild":                          kbuildTmpl,
		"kmod/" + n.Name + "/" + n.Name + ".h":                headerTmpl,
		"kmod/" + n.Name + "/main.c":                          mainTmpl,
		"kmod/" + n.Name + "/state.c":                         stateTmpl,
		"kmod/" + n.Name + "/netlink.c":                       netlinkTmpl,
		"netlinkproto/" + n.Go + "/client.go":                 clientTmpl,
		"netlinkproto/" + n.Go + "/client_test.go":            clientTestTmpl,
		"netlinkproto/" + n.Go + "/" + n.Name + "_vm_test.go": vmTestTmpl,
		"tools/nlkit/cmd/" + n.Name + ".go":                   cliTmpl,
	}
	for p := range files {
		if _, err := os.Stat(filepath.Join(root, p)); err == nil {
			return nil, fmt.Errorf("%s exists: mechanism %q is taken", p, name)
		}
	}
	for _, d := range []string{"kmod/" + n.Name, "netlinkproto/" + n.Go} {
		if _, err := os.Stat(filepath.Join(root, d)); err == nil {
			return nil, fmt.Errorf("%s exists: mechanism %q is taken", d, name)
		}
	}
	var out Created
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		var b bytes.Buffer
		if err := template.Must(template.New(p).Delims("[[", "]]").Parse(files[p])).Execute(&b, n); err != nil {
			return nil, err
		}
		if err := write(root, p, b.Bytes()); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	fam := gen.Family{Spec: "netlinkproto/specs/" + n.Name + ".yaml", KernelDir: "kmod/" + n.Name,
		GoDir: "netlinkproto/" + n.Go, GoPackage: n.Go, Module: n.Name,
		Go: map[string]gen.GoStruct{"value": {Name: "Value"}}}
	edits := []struct{ path, marker, line string }{
		{"netlinkproto/families.go", familiesMarker,
			fmt.Sprintf("\t{Spec: %q, KernelDir: %q, GoDir: %q, GoPackage: %q, Module: %q,\n\t\tGo: map[string]gen.GoStruct{\"value\": {Name: \"Value\"}}},\n", fam.Spec, fam.KernelDir, fam.GoDir, fam.GoPackage, fam.Module)},
		{"tools/nlkit/cmd/app.go", commandsMarker, "\t\t\t" + n.Camel + "Command(),\n"},
		{"Kbuild", "", "obj-m += kmod/" + n.Name + "/\n"},
	}
	for _, e := range edits {
		if err := insert(root, e.path, e.marker, e.line); err != nil {
			return nil, err
		}
		out = append(out, e.path)
	}
	if err := addDKMS(root, n.Name); err != nil {
		return nil, err
	}
	out = append(out, "dkms.conf")
	gfiles, err := gen.RenderAll(root, []gen.Family{fam})
	if err != nil {
		return nil, err
	}
	for p, b := range gfiles {
		if err := write(root, p, b); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	sort.Strings(out)
	return out, nil
}

// The lines New inserts its entries above.
const (
	familiesMarker = "// nlgen new adds families above this line"
	commandsMarker = "// nlgen new adds commands above this line"
)

func write(root, p string, b []byte) error {
	full := filepath.Join(root, p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return err
	}
	return os.WriteFile(full, b, 0o644)
}

// insert puts line above the marker line of path (at the end with no marker).
func insert(root, path, marker, line string) error {
	full := filepath.Join(root, path)
	b, err := os.ReadFile(full)
	if err != nil {
		return err
	}
	s := string(b)
	if marker == "" {
		if !strings.HasSuffix(s, "\n") {
			s += "\n"
		}
		return os.WriteFile(full, []byte(s+line), 0o644)
	}
	i := strings.Index(s, marker)
	if i < 0 {
		return fmt.Errorf("%s: no line %q to add %q above", path, marker, strings.TrimSpace(line))
	}
	i = strings.LastIndex(s[:i], "\n") + 1
	return os.WriteFile(full, []byte(s[:i]+line+s[i:]), 0o644)
}

var dkmsIndex = regexp.MustCompile(`BUILT_MODULE_NAME\[(\d+)\]`)

func addDKMS(root, name string) error {
	full := filepath.Join(root, "dkms.conf")
	b, err := os.ReadFile(full)
	if err != nil {
		return err
	}
	next := 0
	for _, m := range dkmsIndex.FindAllStringSubmatch(string(b), -1) {
		var i int
		fmt.Sscan(m[1], &i)
		if i+1 > next {
			next = i + 1
		}
	}
	add := fmt.Sprintf("BUILT_MODULE_NAME[%d]=%q\nBUILT_MODULE_LOCATION[%d]=%q\nDEST_MODULE_LOCATION[%d]=\"/updates/dkms\"\n",
		next, name, next, "kmod/"+name+"/", next)
	return os.WriteFile(full, append(b, add...), 0o644)
}
