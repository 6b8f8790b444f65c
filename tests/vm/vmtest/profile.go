package vmtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nlkit/nlkit/tests/vm/job"
)

// Profiling says whether the benchmarks profile the guest while they run (make bench
// PROFILE=1, vmrun -bench -profile): each benchmark then runs one more, unmeasured
// round of each side under Profile.
func Profiling() bool { return os.Getenv("NLKIT_PROFILE") == "1" && os.Getenv("NLKIT_RESULTS") != "" }

// StartProfile samples every CPU's kernel and user stacks with perf (cpu-clock: a TCG
// guest has no hardware counters) until stop, which writes the report into the results'
// profile directory as <test>-<label>.txt: the functions by their own share of the
// samples, by the share of the stacks they are on, and by CPU; the runner copies the
// reports to out/bench/profile/<kernel>/. It returns once perf samples: its set-up,
// reading every process's maps, takes seconds under TCG, and over a minute beside a
// flood that keeps both vCPUs busy, so start it before the workload. Without Profiling
// both do nothing.
func StartProfile(t testing.TB, label string) (stop func()) {
	t.Helper()
	if !Profiling() {
		return func() {}
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
	// perf samples from when it runs its command: a shell that says so (its pid, which
	// becomes sleep's) and waits to be stopped
	data := filepath.Join(os.TempDir(), filepath.Base(base)+".data")
	ready := data + ".ready"
	os.Remove(ready)
	rec := exec.Command("perf", "record", "-q", "-a", "-g", "-e", "cpu-clock", "-F", "499", "-o", data,
		"--", "sh", "-c", `echo $$ > "$0.tmp" && mv "$0.tmp" "$0" && exec sleep 600`, ready)
	var recOut strings.Builder
	rec.Stdout, rec.Stderr = &recOut, &recOut
	if err := rec.Start(); err != nil {
		t.Fatalf("profile %s: perf record: %v (make bench PROFILE=1 installs linux-perf)", label, err)
	}
	var pid int
	for deadline := time.Now().Add(time.Minute); pid == 0; time.Sleep(20 * time.Millisecond) {
		if b, err := os.ReadFile(ready); err == nil {
			pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
		if time.Now().After(deadline) {
			rec.Process.Kill()
			rec.Wait()
			t.Fatalf("profile %s: perf record did not start its command in a minute: %s", label, recOut.String())
		}
	}
	start := time.Now()
	return func() {
		t.Helper()
		defer os.Remove(data)
		defer os.Remove(ready)
		took := time.Since(start).Round(100 * time.Millisecond)
		_ = syscall.Kill(pid, syscall.SIGTERM)
		_ = rec.Wait() // perf exits with its command's status: sleep's, killed
		if _, err := os.Stat(data); err != nil {
			t.Errorf("profile %s: perf record wrote no data: %v: %s", label, err, recOut.String())
			return
		}
		var out strings.Builder
		for _, v := range []struct{ head, children, sort string }{
			{"functions by their own samples (self)", "--no-children", "sym"},
			{"functions by the samples of the stacks they are on (self and callees)", "--children", "sym"},
			// a chain that runs in one softirq can be the bottleneck on one CPU while
			// the other idles: what each CPU spent, and on what
			{"per CPU: functions by their own samples", "--no-children", "cpu,sym"},
		} {
			rep := exec.Command("perf", "report", "-i", data, "--kallsyms", "/proc/kallsyms", "--stdio", v.children,
				"-g", "none", "--sort", v.sort, "--percent-limit", "0.5")
			b, err := rep.Output()
			if err != nil {
				t.Errorf("profile %s: perf report: %v", label, err)
				return
			}
			fmt.Fprintf(&out, "# %s, %s, %s: %s\n%s\n", Kernel(), label, took, v.head, b)
		}
		if err := os.WriteFile(base+".txt", []byte(out.String()), 0o644); err != nil {
			t.Error(err)
		}
		t.Logf("profile %s: %s", label, filepath.Base(base)+".txt")
	}
}
