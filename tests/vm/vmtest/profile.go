package vmtest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/nlkit/nlkit/tests/vm/job"
)

// Profiling says whether the benchmarks profile the guest while they run (make bench
// PROFILE=1, vmrun -bench -profile): each benchmark then runs one more, unmeasured
// round of each side under Profile.
func Profiling() bool { return os.Getenv("NLKIT_PROFILE") == "1" && os.Getenv("NLKIT_RESULTS") != "" }

// Profile samples every CPU's kernel and user stacks with perf (cpu-clock: a TCG guest
// has no hardware counters) until the returned function is called, which writes the
// report into the results' profile directory as <test>-<label>.txt: the functions by
// their own share of the samples, then by the share of the stacks they are on. The
// runner copies the reports to out/bench/profile/<kernel>/. Without Profiling it does
// nothing.
func Profile(t testing.TB, label string) (stop func()) {
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
	data := base + ".data"
	rec := exec.Command("perf", "record", "-q", "-a", "-g", "-e", "cpu-clock", "-F", "499", "-o", data)
	rec.Stderr = os.Stderr
	if err := rec.Start(); err != nil {
		t.Fatalf("profile %s: perf record: %v (make bench PROFILE=1 installs linux-perf)", label, err)
	}
	return func() {
		t.Helper()
		_ = rec.Process.Signal(syscall.SIGINT)
		// perf record writes its data on SIGINT, then raises it again to die of it
		if err := rec.Wait(); err != nil && !killedBy(err, syscall.SIGINT) {
			t.Errorf("profile %s: perf record: %v", label, err)
			return
		}
		defer os.Remove(data)
		var out strings.Builder
		for _, v := range []struct{ head, children string }{
			{"functions by their own samples (self)", "--no-children"},
			{"functions by the samples of the stacks they are on (self and callees)", "--children"},
		} {
			rep := exec.Command("perf", "report", "-i", data, "--stdio", "--quiet", v.children, "-g", "none",
				"--sort", "sym", "--percent-limit", "0.5")
			b, err := rep.CombinedOutput()
			if err != nil {
				t.Errorf("profile %s: perf report: %v: %s", label, err, b)
				return
			}
			fmt.Fprintf(&out, "# %s, %s: %s\n%s\n", Kernel(), label, v.head, b)
		}
		if err := os.WriteFile(base+".txt", []byte(out.String()), 0o644); err != nil {
			t.Error(err)
		}
		t.Logf("profile %s: %s", label, filepath.Base(base)+".txt")
	}
}

// killedBy says whether err is a process's death by signal sig.
func killedBy(err error, sig syscall.Signal) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == sig
}
