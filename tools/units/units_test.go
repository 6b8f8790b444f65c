package units

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestParseRate(t *testing.T) {
	for in, want := range map[string]uint64{
		"8000": 1000, "50mbit": 6250000, "1gbit": 125000000, "10Mbps": 10000000,
		"1kibit": 128, "100kbit": 12500, "1.5mbit": 187500,
	} {
		got, err := ParseRate(in)
		if err != nil || got != want {
			t.Errorf("ParseRate(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "mbit", "fast", "-1mbit", "1e30gbit"} {
		if _, err := ParseRate(bad); err == nil {
			t.Errorf("ParseRate(%q) accepted", bad)
		}
	}
	if s := FormatRate(6250000); s != "50Mbit" {
		t.Errorf("FormatRate = %s", s)
	}
}

type valueRow struct {
	line        int
	kind, input string
	want        string // a number, or "error"
}

// valuesTable reads testdata/values.tsv, the rules both nlkit and the tc plugins follow.
func valuesTable(t *testing.T) []valueRow {
	t.Helper()
	b, err := os.ReadFile("testdata/values.tsv")
	if err != nil {
		t.Fatal(err)
	}
	var rows []valueRow
	for i, l := range strings.Split(string(b), "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		f := strings.Split(l, "\t")
		if len(f) != 3 {
			t.Fatalf("values.tsv:%d: %d columns, want 3", i+1, len(f))
		}
		rows = append(rows, valueRow{i + 1, f[0], f[1], f[2]})
	}
	if len(rows) < 50 {
		t.Fatalf("values.tsv has %d rows", len(rows))
	}
	return rows
}

func goParse(kind, in string) string {
	v, err := Parse(kind, in)
	if err != nil {
		return "error"
	}
	return strconv.FormatUint(v, 10)
}

// TestValuesTable: nlkit reads every value of the table as the table says.
func TestValuesTable(t *testing.T) {
	for _, r := range valuesTable(t) {
		if got := goParse(r.kind, r.input); got != r.want {
			t.Errorf("values.tsv:%d: %s %q: nlkit reads %s, want %s", r.line, r.kind, r.input, got, r.want)
		}
	}
}

// TestPluginParsesAsUnits: the tc plugins' parser (tc_plugin.h's tc_value, compiled into
// a small program with the host's gcc) reads every value of the table as the table
// says, and so as nlkit does.
func TestPluginParsesAsUnits(t *testing.T) {
	rows := valuesTable(t)
	// read by the test itself, so that go test's cache knows the result depends on them
	for _, src := range []string{"../../iproute-ext/tc_plugin.h", "../../iproute-ext/testdata/values.c"} {
		if _, err := os.ReadFile(src); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(t.TempDir(), "values")
	cmd := exec.Command("gcc", "-O2", "-Wall", "-Wextra", "-Werror", "-I../../kmod/include", "-I../../iproute-ext",
		"-o", bin, "../../iproute-ext/testdata/values.c")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	var in strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&in, "%s\t%s\n", r.kind, r.input)
	}
	run := exec.Command(bin)
	run.Stdin = strings.NewReader(in.String())
	out, err := run.Output()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(got) != len(rows) {
		t.Fatalf("the plugin's parser answered %d rows of %d", len(got), len(rows))
	}
	for i, r := range rows {
		if got[i] != r.want {
			t.Errorf("values.tsv:%d: %s %q: the tc plugins read %s, want %s (nlkit: %s)", r.line, r.kind, r.input, got[i], r.want, goParse(r.kind, r.input))
		}
	}
}
