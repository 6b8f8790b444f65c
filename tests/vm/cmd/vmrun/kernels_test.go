package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nlkit/nlkit/tests/vm/job"
)

// 6.18 runs only when named: not in -kernels all, and deps.sh unpacks it only then.
func TestKernelsOnRequest(t *testing.T) {
	all := kernelList("all")
	if want := []string{"6.1", "6.12", "7.3", "7.3-patched", "debug"}; !slices.Equal(all, want) {
		t.Errorf("-kernels all = %v, want %v", all, want)
	}
	if got := kernelList(" 6.18, debug"); !slices.Equal(got, []string{"6.18", "debug"}) {
		t.Errorf("a named list: %v", got)
	}
	if got := depsArgs("all", false); got != nil {
		t.Errorf("deps.sh for all: %v, want no arguments", got)
	}
	if got, want := depsArgs("6.1,6.18,7.3", false), []string{"--kernel", "6.18"}; !slices.Equal(got, want) {
		t.Errorf("deps.sh for 6.1,6.18,7.3: %v, want %v", got, want)
	}
	if got, want := depsArgs("6.12", true), []string{"--bench"}; !slices.Equal(got, want) {
		t.Errorf("deps.sh for make bench: %v, want %v", got, want)
	}
	if _, err := resolveKernels("6.19"); err == nil {
		t.Error("an unknown kernel was accepted")
	}
}

// 7.3-patched runs its series' tests only, as -run, -scenarios and -bench select them.
func TestSelectTests(t *testing.T) {
	k := builtKernels[slices.IndexFunc(builtKernels, func(k kernel) bool { return k.name == "7.3-patched" })]
	tests := []testBin{
		{pkg: "github.com/nlkit/nlkit/netlinkproto/fcm"},
		{pkg: "github.com/nlkit/nlkit/netlinkproto/equalize"},
		{pkg: "github.com/nlkit/nlkit/tests/kselftest"},
		{pkg: "github.com/nlkit/nlkit/tests/scenarios"},
	}
	check := func(what string, want map[string][]string) {
		t.Helper()
		got := map[string][]string{}
		for _, tb := range selectTests(k, tests) {
			got[tb.pkg[len("github.com/nlkit/nlkit/"):]] = tb.args
		}
		if len(got) != len(want) {
			t.Errorf("%s: %v, want %v", what, got, want)
		}
		for p, args := range want {
			if g, ok := got[p]; !ok || !slices.Equal(g, args) {
				t.Errorf("%s: %s runs with %q, want %q", what, p, g, args)
			}
		}
	}
	check("make test", map[string][]string{"netlinkproto/equalize": nil, "tests/kselftest": nil,
		"tests/scenarios": {"-test.run=^(TestScenarioEqualize|TestBenchmarkEqualize)"}})
	*flagScenarios = true
	check("-scenarios", map[string][]string{"netlinkproto/equalize": nil, "tests/kselftest": nil,
		"tests/scenarios": {"-test.run=^(TestScenarioEqualize)"}})
	*flagScenarios = false
	*flagRun = "TestX"
	check("-run", map[string][]string{"netlinkproto/equalize": nil, "tests/kselftest": nil, "tests/scenarios": nil})
	*flagRun = ""
}

// make bench's rows go from the guests' files to one table and out/bench/results.json.
func TestBenchTable(t *testing.T) {
	dir := t.TempDir()
	rows := `{"mechanism":"sch_fcm","baseline":"tbf","workload":"4 TCP flows","unit":"Mbit/s","nlkit":[600,611,620],"base":[2300,2376,2400],"kernel":"6.12"}
{"mechanism":"equalize module","baseline":"hash multipath","workload":"UDP","unit":"packets/s","nlkit":[14000],"base":[18000],"kernel":"6.1"}
`
	if err := os.WriteFile(filepath.Join(dir, job.Bench), []byte(rows), 0o644); err != nil {
		t.Fatal(err)
	}
	benchRows = nil
	if err := collectBench(dir); err != nil {
		t.Fatal(err)
	}
	if err := collectBench(t.TempDir()); err != nil { // a guest without benchmarks
		t.Fatal(err)
	}
	var b strings.Builder
	printBench(&b)
	for _, want := range []string{"6.12    sch_fcm", "611", "2376", "0.26", "3%", "6.1     equalize module"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
	root = dir
	out := filepath.Join(dir, "bench", "results.json")
	if err := writeBench(out, 1800); err != nil {
		t.Fatal(err)
	}
	var f benchFile
	raw, _ := os.ReadFile(out)
	if err := json.Unmarshal(raw, &f); err != nil || len(f.Rows) != 2 || f.Rows[0].NlkitMedian != 611 || f.Rows[0].BaseMedian != 2376 {
		t.Errorf("results.json: %v\n%s", err, raw)
	}
	benchRows = nil
}
