package main

import (
	"flag"
	"strings"
	"sync"
)

var (
	flagJobs = flag.Int("jobs", 3, "guests that run at the same time")
	flagCPUs = flag.Int("cpus", 2, "vCPUs per guest")
)

// plan spreads the test binaries over guests: one per stock kernel, and two for the
// debug kernel (KASAN, lockdep and kmemleak under TCG), which takes about as long as the
// stock kernels together: every package but the scenarios in one guest, run first
// beside both stock kernels (-jobs 3), and the scenarios (tests/scenarios) in another
// that runs alone at the end. Three guests at once keep both host cores busy: with two,
// the cores idled ~30% of the run (tests that wait on traffic at a fixed rate).
func plan(kernels []kernel, tests []testBin) []guest {
	var scen, rest []testBin
	for _, tb := range tests {
		if strings.HasSuffix(tb.pkg, "/tests/scenarios") {
			scen = append(scen, tb)
		} else {
			rest = append(rest, tb)
		}
	}
	var gs, last []guest
	for _, k := range kernels {
		switch {
		case k.debug && len(kernels) > 1 && len(scen) > 0 && len(rest) > 0:
			gs = append([]guest{{k: k, part: "tests", tests: rest, cpus: *flagCPUs}}, gs...)
			last = append(last, guest{k: k, part: "scenarios", tests: scen, cpus: *flagCPUs, alone: true})
		case k.debug:
			gs = append([]guest{{k: k, tests: tests, cpus: *flagCPUs}}, gs...)
		default:
			gs = append(gs, guest{k: k, tests: tests, cpus: *flagCPUs})
		}
	}
	return append(gs, last...)
}

// runGuests runs the guests in order, up to -jobs at a time; a guest marked alone
// starts when no other runs, and nothing starts beside it.
func runGuests(gs []guest, out string, useKVM bool) (tally, []string) {
	var mu sync.Mutex
	cond := sync.NewCond(&mu)
	running, aloneRunning := 0, false
	var total tally
	var failures []string
	var wg sync.WaitGroup
	for _, g := range gs {
		mu.Lock()
		for running >= max(*flagJobs, 1) || aloneRunning || (g.alone && running > 0) {
			cond.Wait()
		}
		running++
		aloneRunning = g.alone
		mu.Unlock()
		wg.Add(1)
		go func(g guest) {
			defer wg.Done()
			t, f := runGuest(g, out, useKVM)
			mu.Lock()
			total.add(t)
			failures = append(failures, f...)
			running--
			if g.alone {
				aloneRunning = false
			}
			cond.Broadcast()
			mu.Unlock()
		}(g)
	}
	wg.Wait()
	return total, failures
}
