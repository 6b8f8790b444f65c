package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nlkit/nlkit/tests/vm/job"
)

// The benchmarks' rows of this run (-bench), from every guest's results.
var (
	benchMu   sync.Mutex
	benchRows []job.BenchRow
)

// collectBench adds the rows a guest's benchmarks recorded (vmtest.ReportBench).
func collectBench(res string) error {
	f, err := os.Open(filepath.Join(res, job.Bench))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	benchMu.Lock()
	defer benchMu.Unlock()
	for sc.Scan() {
		var r job.BenchRow
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return fmt.Errorf("%s: %w", job.Bench, err)
		}
		benchRows = append(benchRows, r)
	}
	return sc.Err()
}

// collectProfiles copies the profiles a guest's benchmarks wrote (vmtest.Profile) to
// out/bench/profile/KERNEL/, replacing that kernel's earlier ones.
func collectProfiles(res, kernel string) error {
	files, _ := filepath.Glob(filepath.Join(res, job.ProfileDir, "*.txt"))
	if len(files) == 0 {
		return nil
	}
	dst := filepath.Join(root, "out/bench/profile", kernel)
	if err := os.RemoveAll(dst); err != nil {
		return err
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dst, filepath.Base(f)), b, 0o644); err != nil {
			return err
		}
	}
	fmt.Printf("%s: %d profiles in %s\n", kernel, len(files), dst)
	return nil
}

// printBench prints make bench's table: a row per mechanism, workload and kernel.
func printBench(w io.Writer) {
	benchMu.Lock()
	defer benchMu.Unlock()
	fmt.Fprintln(w, "benchmarks: nlkit against its baseline in the same boot, rounds alternating; median of the rounds (spread: (max-min)/median); ratio above 1: nlkit did better")
	// columns as wide as their widest text
	wk, wm, wb, ww, wu := len("kernel"), len("mechanism"), len("baseline"), len("workload"), len("unit")
	for _, r := range benchRows {
		wk, wm, wb = max(wk, len(r.Kernel)), max(wm, len(r.Mechanism)), max(wb, len(r.Baseline))
		ww, wu = max(ww, len(r.Workload)), max(wu, len(r.Unit))
	}
	fmt.Fprintf(w, "  %-*s  %-*s  %-*s  %-*s  %-*s  %10s %7s %10s %7s %6s %6s\n", wk, "kernel", wm, "mechanism", wb, "baseline",
		ww, "workload", wu, "unit", "nlkit", "spread", "baseline", "spread", "ratio", "rounds")
	for _, r := range benchRows {
		fmt.Fprintf(w, "  %-*s  %-*s  %-*s  %-*s  %-*s  %10.4g %6.0f%% %10.4g %6.0f%% %6.2f %6d\n", wk, r.Kernel, wm, r.Mechanism,
			wb, r.Baseline, ww, r.Workload, wu, r.Unit, job.Median(r.Nlkit), 100*job.Spread(r.Nlkit),
			job.Median(r.Base), 100*job.Spread(r.Base), r.Ratio(), min(len(r.Nlkit), len(r.Base)))
	}
}

// benchFile is out/bench/results.json: the table, with what is needed to compare runs.
type benchFile struct {
	Date      time.Time  `json:"date"`
	Commit    string     `json:"commit"`
	HostSpeed float64    `json:"host_speed_mb_s"` // hostSpeed() before the guests
	Rows      []benchOut `json:"rows"`
}

type benchOut struct {
	job.BenchRow
	NlkitMedian float64 `json:"nlkit_median"`
	BaseMedian  float64 `json:"base_median"`
	Ratio       float64 `json:"ratio"`
}

func writeBench(path string, speed float64) error {
	benchMu.Lock()
	defer benchMu.Unlock()
	commit, _ := exec.Command("git", "-C", root, "describe", "--always", "--dirty").Output()
	f := benchFile{Date: time.Now().UTC(), Commit: strings.TrimSpace(string(commit)), HostSpeed: speed}
	for _, r := range benchRows {
		f.Rows = append(f.Rows, benchOut{r, job.Median(r.Nlkit), job.Median(r.Base), r.Ratio()})
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
