package vmtest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/nlkit/nlkit/tests/vm/job"
)

// ReportBench logs one row of make bench's table (nlkit against its baseline, each
// round's figure) and, in make bench (Bench), records it for the runner, which prints
// every kernel's rows as one table and writes them to out/bench/results.json. A row
// without rounds on either side fails the test.
func ReportBench(t testing.TB, r job.BenchRow) {
	t.Helper()
	r.Kernel = Kernel()
	t.Logf("bench %s vs %s, %s: %.4g vs %.4g %s (median of %d and %d rounds: %v vs %v), ratio %.2f",
		r.Mechanism, r.Baseline, r.Workload, job.Median(r.Nlkit), job.Median(r.Base), r.Unit,
		len(r.Nlkit), len(r.Base), r.Nlkit, r.Base, r.Ratio())
	if len(r.Nlkit) == 0 || len(r.Base) == 0 {
		t.Errorf("bench %s vs %s, %s: no rounds measured", r.Mechanism, r.Baseline, r.Workload)
		return
	}
	dir := os.Getenv("NLKIT_RESULTS")
	if !Bench() || dir == "" {
		return
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(dir, job.Bench), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err == nil {
		_, err = fmt.Fprintf(f, "%s\n", b)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		t.Errorf("recording the bench row: %v", err)
	}
}
