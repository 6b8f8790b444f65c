package main

import (
	"flag"
	"strings"
	"sync"
)

var (
	flagJobs = flag.Int("jobs", 3, "guests that may run at the same time (each kernel's guests and the kernels' side by side)")
	flagCPUs = flag.Int("cpus", 2, "vCPUs per guest")
)

// plan spreads the test binaries over guests: per kernel, the scenario package
// (tests/scenarios: throughput and timing figures) in a guest of its own that runs
// alone, and every other package in one guest that may run beside other kernels'.
// The kernels whose runs take longest start first.
func plan(kernels []kernel, tests []testBin) []guest {
	var scen, rest []testBin
	for _, tb := range tests {
		if strings.HasSuffix(tb.pkg, "/tests/scenarios") {
			scen = append(scen, tb)
		} else {
			rest = append(rest, tb)
		}
	}
	// the debug kernel (KASAN, lockdep, kmemleak under TCG) takes longest
	ordered := append([]kernel(nil), kernels...)
	for i, k := range ordered {
		if k.debug && i > 0 {
			copy(ordered[1:i+1], ordered[:i])
			ordered[0] = k
		}
	}
	var gs []guest
	for _, k := range ordered {
		switch {
		case len(rest) > 0 && len(scen) > 0 && *flagJobs > 1:
			gs = append(gs, guest{k: k, part: "tests", tests: rest, cpus: *flagCPUs})
		default:
			gs = append(gs, guest{k: k, tests: tests, cpus: *flagCPUs})
		}
	}
	for _, k := range ordered {
		if len(rest) > 0 && len(scen) > 0 && *flagJobs > 1 {
			gs = append(gs, guest{k: k, part: "scenarios", tests: scen, cpus: *flagCPUs, alone: true})
		}
	}
	return gs
}

// runGuests runs the guests in order, up to -jobs at a time; a guest marked alone
// waits until no other runs, and nothing starts beside it.
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
