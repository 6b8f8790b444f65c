//go:build vmtest

package kselftest

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nlkit/nlkit/tests/vm/vmtest"
)

// patched says whether the kernel under test carries the equalize series (its
// read-only sysctl), as the debug kernel does.
func patched() bool {
	_, err := os.Stat("/proc/sys/net/ipv4/fib_multipath_equalize")
	return err == nil
}

// TestEqualizeKselftest runs tools/testing/selftests/net/fib_equalize.sh from the
// series. On a kernel with the series every check of the script must pass; on one
// without it the script must say so and exit with kselftest's skip code (4), which
// is what makes it safe to run in kselftest runs on any kernel.
func TestEqualizeKselftest(t *testing.T) {
	vmtest.Require(t)
	dir := filepath.Join(vmtest.RepoRoot(t), "out/vm/kselftest/tools/testing/selftests/net")
	script := filepath.Join(dir, "fib_equalize.sh")
	if _, err := os.Stat(filepath.Join(dir, "fib_equalize")); err != nil {
		t.Fatalf("the selftest's helper was not built by the runner: %v", err)
	}
	start := time.Now()
	cmd := exec.Command("/bin/bash", script)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	t.Logf("fib_equalize.sh (%s):\n%s", time.Since(start).Round(100*time.Millisecond), out)
	rc := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		rc = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
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
