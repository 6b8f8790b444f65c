package main

import (
	"flag"
	"slices"
	"strings"
	"sync"
)

var (
	flagJobs = flag.Int("jobs", 3, "guests that run at the same time")
	flagCPUs = flag.Int("cpus", 2, "vCPUs per guest")
)

// hungryScenarios are the scenarios whose assertions need the host's CPU to
// themselves on the debug kernel (KASAN under TCG forwards a few Mbit/s): beside the
// debug packages' guest, MPTCP fullmesh reached 1.51x one path (want 1.8x) and
// ratekeeper's tenant 0.99 Mbit/s of its 2 Mbit/s guarantee (make test at 7311a15).
const hungryScenarios = "^TestScenario(MPTCP|Ratekeeper)$"

// spinners are the debug kernel's packages that need the host's cores to themselves for
// another reason: the fuzzer keeps both vCPUs in the kernel, on locks, and a vCPU that
// spins on a lock whose holder's vCPU the host has preempted burns host CPU for
// nothing (TCG has no paravirtual spinlocks). Beside the quiet scenario guest its 10^4
// requests per family took 4m08s and 4m45s of CPU (make test at d3ffcfa); alone, or
// beside a guest that mostly waits, 49 s.
var spinners = []string{"/tests/fuzz"}

// plan spreads the test binaries over guests: one per stock kernel, and three for the
// debug kernel (KASAN, lockdep and kmemleak under TCG), which takes about as long as the
// stock kernels together:
//   - debug/tests, every package but the scenarios and the spinners, starts first,
//     beside both stock kernels (-jobs 3);
//   - debug/scenarios, the scenarios but the hungry ones, is quiet: it starts once the
//     stock kernels have finished (at most one other guest runs) and nothing starts
//     beside it;
//   - debug/alone, the hungry scenarios and the spinners, runs alone at the end.
//
// Three guests at once keep both host cores busy: with two, the cores idled ~30% of
// the run (tests that wait on traffic at a fixed rate). With -run, -scenarios or
// -bench the debug kernel has two guests: its packages, and its scenarios alone.
func plan(kernels []kernel, tests []testBin) []guest {
	split := *flagRun == "" && !*flagScenarios && !*flagBench
	var scen, rest, spin []testBin
	for _, tb := range tests {
		switch {
		case strings.HasSuffix(tb.pkg, "/tests/scenarios"):
			scen = append(scen, tb)
		case split && slices.ContainsFunc(spinners, func(s string) bool { return strings.HasSuffix(tb.pkg, s) }):
			spin = append(spin, tb)
		default:
			rest = append(rest, tb)
		}
	}
	var gs, last []guest
	for _, k := range kernels {
		switch {
		case k.debug && len(kernels) > 1 && len(scen) > 0 && len(rest)+len(spin) > 0:
			if len(rest) > 0 {
				gs = append([]guest{{k: k, part: "tests", tests: rest, cpus: *flagCPUs}}, gs...)
			}
			if !split {
				last = append(last, guest{k: k, part: "scenarios", tests: scen, cpus: *flagCPUs, alone: true})
				break
			}
			last = append(last,
				guest{k: k, part: "scenarios", tests: withArgs(scen, "-test.skip="+hungryScenarios), cpus: *flagCPUs, quiet: true},
				guest{k: k, part: "alone", tests: append(withArgs(scen, "-test.run="+hungryScenarios), spin...), cpus: *flagCPUs, alone: true})
		case k.debug:
			gs = append([]guest{{k: k, tests: tests, cpus: *flagCPUs}}, gs...)
		default:
			gs = append(gs, guest{k: k, tests: tests, cpus: *flagCPUs})
		}
	}
	return append(gs, last...)
}

func withArgs(tbs []testBin, args ...string) []testBin {
	out := make([]testBin, len(tbs))
	for i, tb := range tbs {
		tb.args = append(slices.Clip(tb.args), args...)
		out[i] = tb
	}
	return out
}

// runGuests runs the guests in order, up to -jobs at a time. A quiet guest starts when
// at most one other runs; an alone guest when no other runs; nothing starts beside
// either.
func runGuests(gs []guest, out string, useKVM bool) (tally, []string) {
	var mu sync.Mutex
	cond := sync.NewCond(&mu)
	running, exclusive := 0, false
	var total tally
	var failures []string
	var wg sync.WaitGroup
	for _, g := range gs {
		mu.Lock()
		for running >= max(*flagJobs, 1) || exclusive || (g.alone && running > 0) || (g.quiet && running > 1) {
			cond.Wait()
		}
		running++
		exclusive = g.alone || g.quiet
		mu.Unlock()
		wg.Add(1)
		go func(g guest) {
			defer wg.Done()
			t, f := runGuest(g, out, useKVM)
			mu.Lock()
			total.add(t)
			failures = append(failures, f...)
			running--
			if g.alone || g.quiet {
				exclusive = false
			}
			cond.Broadcast()
			mu.Unlock()
		}(g)
	}
	wg.Wait()
	return total, failures
}
