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

// plan spreads the test binaries over guests. The debug kernel (KASAN, lockdep and
// kmemleak under TCG) takes about as long as the stock kernels together, so with more
// than one job it boots twice, side by side: one guest for the scenarios
// (tests/scenarios), one for every other package; the stock kernels, one guest each,
// follow one another beside them. Every test tolerates sharing the host: what a
// scenario asserts about time (utilisation, rates, delays) holds with the host's cores
// busy (see the README).
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
