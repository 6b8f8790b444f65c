//go:build vmtest

package kselftest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nlkit/nlkit/netlinkproto/equalize"
	"github.com/nlkit/nlkit/tests/vm/vmtest"
)

// patched says whether the kernel under test carries an equalize series (its
// read-only sysctl), as the debug kernel and 7.3-patched do.
func patched() bool {
	_, err := os.Stat(equalize.SysctlPath)
	return err == nil
}

// seriesDir is where the runner put the selftests of the series for this kernel's
// version (out/vm/kselftest/linux-7.3 on 7.3.x), or of the first series on a kernel
// that has none, where the selftest must skip.
func seriesDir(t *testing.T) string {
	t.Helper()
	rel := vmtest.Release(t)
	all, _ := filepath.Glob(filepath.Join(vmtest.RepoRoot(t), "out/vm/kselftest/linux-*"))
	if len(all) == 0 {
		t.Fatal("the runner built no selftests (out/vm/kselftest/linux-*)")
	}
	for _, d := range all {
		if strings.HasPrefix(rel, strings.TrimPrefix(filepath.Base(d), "linux-")+".") {
			return d
		}
	}
	if patched() {
		t.Fatalf("kernel %s carries an equalize series but there is no patches/linux-<its version>", rel)
	}
	return all[0]
}

// TestEqualizeKselftest runs tools/testing/selftests/net/fib_equalize.sh from the
// series. On a kernel with the series every check of the script must pass; on one
// without it the script must say so and exit with kselftest's skip code (4), which
// is what makes it safe to run in kselftest runs on any kernel.
func TestEqualizeKselftest(t *testing.T) {
	vmtest.Require(t)
	series := seriesDir(t)
	t.Logf("selftest from patches/%s", filepath.Base(series))
	dir := filepath.Join(series, "tools/testing/selftests/net")
	script := filepath.Join(dir, "fib_equalize.sh")
	if _, err := os.Stat(filepath.Join(dir, "fib_equalize")); err != nil {
		t.Fatalf("the selftest's helper was not built by the runner: %v", err)
	}
	start := time.Now()
	cmd := exec.Command("/bin/bash", script)
	cmd.Dir = dir
	out, rc := vmtest.Run(t, cmd)
	t.Logf("fib_equalize.sh (%s):\n%s", time.Since(start).Round(100*time.Millisecond), out)
	if patched() != vmtest.Patched() {
		t.Fatalf("kernel %s: the series' sysctl is there: %v; nlkit built this kernel with a series: %v", vmtest.Kernel(), patched(), vmtest.Patched())
	}
	if !patched() {
		if rc != 4 || !strings.Contains(string(out), "SKIP") {
			t.Fatalf("without the series the selftest must skip (exit 4), got exit %d", rc)
		}
		return
	}
	if rc != 0 || strings.Contains(string(out), "[FAIL]") {
		t.Fatalf("fib_equalize.sh exited %d", rc)
	}
	if n := strings.Count(string(out), "[ OK ]"); n != 28 {
		t.Fatalf("fib_equalize.sh passed %d checks, want 28", n)
	}
}
