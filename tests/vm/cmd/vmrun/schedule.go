package main

import (
	"flag"
	"sync"
)

var (
	flagJobs = flag.Int("jobs", 2, "guests (kernels) that run at the same time")
	flagCPUs = flag.Int("cpus", 2, "vCPUs per guest")
)

// plan gives each kernel one guest running every test binary, the kernel whose run
// takes longest first: the debug kernel (KASAN, lockdep and kmemleak under TCG) takes
// about as long as the stock kernels together, so with two at a time it runs beside
// them in turn. Every test tolerates sharing the host: what a scenario asserts about
// time (utilisation, rates, delays) holds with both host cores busy (see the README).
func plan(kernels []kernel, tests []testBin) []guest {
	var gs []guest
	for _, k := range kernels {
		g := guest{k: k, tests: tests, cpus: *flagCPUs}
		if k.debug {
			gs = append([]guest{g}, gs...)
		} else {
			gs = append(gs, g)
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
