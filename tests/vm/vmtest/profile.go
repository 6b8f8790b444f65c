package vmtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nlkit/nlkit/tests/vm/job"
)

// Profiling says whether the benchmarks profile the guest while they run (make bench
// PROFILE=1, vmrun -bench -profile): each benchmark then runs one more, unmeasured
// round of each side under Profile.
func Profiling() bool { return os.Getenv("NLKIT_PROFILE") == "1" && os.Getenv("NLKIT_RESULTS") != "" }

// Profile samples every CPU's kernel and user stacks with perf for d (cpu-clock: a TCG
// guest has no hardware counters), while the caller's workload runs, and writes the
// report into the results' profile directory as <test>-<label>.txt: the functions by
// their own share of the samples, by the share of the stacks they are on, and by CPU. The
// runner copies the reports to out/bench/profile/<kernel>/. Without Profiling it only
// waits d.
func Profile(t testing.TB, label string, d time.Duration) {
	t.Helper()
	if !Profiling() {
		time.Sleep(d)
		return
	}
	dir := filepath.Join(os.Getenv("NLKIT_RESULTS"), job.ProfileDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	name := strings.NewReplacer("/", "-", " ", "-", "=", "-").Replace(t.Name() + "-" + label)
	base := filepath.Join(dir, name)
	for i := 2; ; i++ { // one file per profile, however often a label comes
		if _, err := os.Stat(base + ".txt"); os.IsNotExist(err) {
			break
		}
		base = filepath.Join(dir, fmt.Sprintf("%s-%d", name, i))
	}
	// perf's set-up (reading every process's maps) takes seconds under TCG: sampling
	// starts with the command it runs, sleep, so the profile covers d exactly
	data := filepath.Join(os.TempDir(), filepath.Base(base)+".data")
	defer os.Remove(data)
	rec := exec.Command("perf", "record", "-a", "-g", "-e", "cpu-clock", "-F", "499", "-o", data,
		"--", "sleep", strconv.FormatFloat(d.Seconds(), 'f', 1, 64))
	if b, err := rec.CombinedOutput(); err != nil {
		t.Fatalf("profile %s: perf record: %v: %s (make bench PROFILE=1 installs linux-perf)", label, err, b)
	}
	var out strings.Builder
	for _, v := range []struct{ head, children, sort string }{
		{"functions by their own samples (self)", "--no-children", "sym"},
		{"functions by the samples of the stacks they are on (self and callees)", "--children", "sym"},
		// a chain that runs in one softirq can be the bottleneck on one CPU while the
		// other idles: what each CPU spent, and on what
		{"per CPU: functions by their own samples", "--no-children", "cpu,sym"},
	} {
		rep := exec.Command("perf", "report", "-i", data, "--kallsyms", "/proc/kallsyms", "--stdio", v.children,
			"-g", "none", "--sort", v.sort, "--percent-limit", "0.5")
		b, err := rep.Output()
		if err != nil {
			t.Errorf("profile %s: perf report: %v", label, err)
			return
		}
		fmt.Fprintf(&out, "# %s, %s, %s: %s\n%s\n", Kernel(), label, d, v.head, b)
	}
	if err := os.WriteFile(base+".txt", []byte(out.String()), 0o644); err != nil {
		t.Error(err)
	}
	t.Logf("profile %s: %s", label, filepath.Base(base)+".txt")
}
