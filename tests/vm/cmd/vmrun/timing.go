package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"
)

// The time table: where a run's wall time went, per kernel (install, module build, boot,
// each test package, the kernel log and kmemleak checks) and the slowest tests. It is
// printed at the end of every run so that a change that makes `make test` slower shows.

type timeRow struct {
	kernel string // "" for the run as a whole (install, host tests, builds)
	phase  string
	d      time.Duration
	cpu    time.Duration // CPU time, where known: the guest's busy vCPU time, a process's user+sys
}

type testTime struct {
	kernel, pkg, test string
	d                 time.Duration
	failed            bool
}

type timeTable struct {
	mu    sync.Mutex
	rows  []timeRow
	tests []testTime
}

var timings timeTable

func (tt *timeTable) add(kernel, phase string, d time.Duration) { tt.addCPU(kernel, phase, d, 0) }

// addCPU records a phase with the CPU time it took (0: not known).
func (tt *timeTable) addCPU(kernel, phase string, d, cpu time.Duration) {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	tt.rows = append(tt.rows, timeRow{kernel, phase, d, cpu})
}

// since records the time from start to now and returns it.
func (tt *timeTable) since(kernel, phase string, start time.Time) time.Duration {
	d := time.Since(start)
	tt.add(kernel, phase, d)
	return d
}

func (tt *timeTable) addTest(t testTime) {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	tt.tests = append(tt.tests, t)
}

func fmtDur(d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	if d < time.Minute {
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
}

// printRow writes one phase's row: its name (shortened to the column) and a cell per kernel.
func printRow(w io.Writer, phase string, kernels []string, cells map[string]time.Duration) {
	name := strings.TrimPrefix(phase, "github.com/nlkit/nlkit/")
	if len(name) > 52 {
		name = name[:49] + "..."
	}
	fmt.Fprintf(w, "  %-52s", name)
	for _, k := range kernels {
		fmt.Fprintf(w, " %14s", fmtDur(cells[k]))
	}
	fmt.Fprintln(w)
}

// print writes the table: one row per phase, one column per kernel, phases in the
// order they first happened; then the slowest tests.
func (tt *timeTable) print(w io.Writer, total time.Duration) {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	fmt.Fprintln(w, "\ntime table (wall time; kernels' columns overlap when guests run side by side)")
	var run []timeRow
	var phases, kernels []string
	seen, seenK := map[string]bool{}, map[string]bool{}
	cell := map[string]map[string]time.Duration{}
	cpu := map[string]map[string]time.Duration{}
	for _, r := range tt.rows {
		if r.kernel == "" {
			run = append(run, r)
			continue
		}
		if !seenK[r.kernel] {
			seenK[r.kernel] = true
			kernels = append(kernels, r.kernel)
		}
		if !seen[r.phase] {
			seen[r.phase] = true
			phases = append(phases, r.phase)
		}
		if cell[r.phase] == nil {
			cell[r.phase] = map[string]time.Duration{}
		}
		cell[r.phase][r.kernel] += r.d
		if r.cpu > 0 {
			if cpu[r.phase] == nil {
				cpu[r.phase] = map[string]time.Duration{}
			}
			cpu[r.phase][r.kernel] += r.cpu
		}
	}
	for _, r := range run {
		fmt.Fprintf(w, "  %-52s %10s\n", r.phase, fmtDur(r.d))
	}
	if len(phases) > 0 {
		fmt.Fprintf(w, "  %-52s", "per kernel")
		for _, k := range kernels {
			fmt.Fprintf(w, " %14s", k)
		}
		fmt.Fprintln(w)
		for _, p := range phases {
			printRow(w, p, kernels, cell[p])
		}
		// CPU: on 2 host cores with guests side by side, wall time follows the sum
		// of what every guest asks of the host, so this is the table to cut from
		var cphases []string
		for _, p := range phases {
			if cpu[p] != nil {
				cphases = append(cphases, p)
			}
		}
		if len(cphases) > 0 {
			// (the guest's count is a lower bound where the kernel samples busy time at
			// ticks: softirq work run from idle between two ticks is never counted; on
			// the debug kernel the qemu total was half as much again)
			fmt.Fprintln(w, "CPU time (guest phases: busy vCPU time as the guest counts it, a lower bound; guest total: the qemu process's user+sys)")
			var sum time.Duration
			for _, p := range cphases {
				printRow(w, p, kernels, cpu[p])
				if strings.HasPrefix(p, "guest total") {
					for _, d := range cpu[p] {
						sum += d
					}
				}
			}
			if sum > 0 {
				fmt.Fprintf(w, "  %-52s %14s (%.2f host cores over the run's %s)\n", "all guests", fmtDur(sum), sum.Seconds()/total.Seconds(), fmtDur(total))
			}
		}
	}
	fmt.Fprintf(w, "  %-52s %10s\n", "total", fmtDur(total))
	if len(tt.tests) == 0 {
		return
	}
	ts := append([]testTime(nil), tt.tests...)
	sort.Slice(ts, func(i, j int) bool { return ts[i].d > ts[j].d })
	if len(ts) > 15 {
		ts = ts[:15]
	}
	fmt.Fprintln(w, "slowest tests")
	for _, t := range ts {
		mark := ""
		if t.failed {
			mark = " (failed)"
		}
		fmt.Fprintf(w, "  %10s  %-14s %s %s%s\n", fmtDur(t.d), t.kernel, strings.TrimPrefix(t.pkg, "github.com/nlkit/nlkit/"), t.test, mark)
	}
}
