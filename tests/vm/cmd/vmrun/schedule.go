package main

import (
	"flag"
	"strings"
	"sync"
)

var (
	flagJobs = flag.Int("jobs", 2, "guests that run at the same time (3 or more: the debug kernel's scenarios get a guest of their own)")
	flagCPUs = flag.Int("cpus", 2, "vCPUs per guest")
)

// plan spreads the test binaries over guests: one per kernel, the debug kernel (KASAN,
// lockdep and kmemleak under TCG) first, so that with two jobs it runs beside the stock
// kernels in turn. With three jobs or more the debug kernel boots twice, side by side:
// one guest for the scenarios (tests/scenarios), one for every other package; two debug
// guests at once starve each other on two cores (seen: the debug MPTCP fullmesh scenario
// got 1.4x one path's goodput, not 1.8x), so that is not the default.
func plan(kernels []kernel, tests []testBin) []guest {
	var scen, rest []testBin
	for _, tb := range tests {
		if strings.HasSuffix(tb.pkg, "/tests/scenarios") {
			scen = append(scen, tb)
		} else {
			rest = append(rest, tb)
		}
	}
	var gs []guest
	for _, k := range kernels {
		switch {
		case k.debug && *flagJobs > 2 && len(scen) > 0 && len(rest) > 0:
			gs = append([]guest{{k: k, part: "tests", tests: rest, cpus: *flagCPUs},
				{k: k, part: "scenarios", tests: scen, cpus: *flagCPUs}}, gs...)
		case k.debug:
			gs = append([]guest{{k: k, tests: tests, cpus: *flagCPUs}}, gs...)
		default:
			gs = append(gs, guest{k: k, tests: tests, cpus: *flagCPUs})
		}
	}
	return gs
}

// runGuests runs the guests in order, up to -jobs at a time.
func runGuests(gs []guest, out string, useKVM bool) (tally, []string) {
	var mu sync.Mutex
	var total tally
	var failures []string
	var wg sync.WaitGroup
	slots := make(chan struct{}, max(*flagJobs, 1))
	for _, g := range gs {
		slots <- struct{}{}
		wg.Add(1)
		go func(g guest) {
			defer wg.Done()
			defer func() { <-slots }()
			t, f := runGuest(g, out, useKVM)
			mu.Lock()
			total.add(t)
			failures = append(failures, f...)
			mu.Unlock()
		}(g)
	}
	wg.Wait()
	return total, failures
}
