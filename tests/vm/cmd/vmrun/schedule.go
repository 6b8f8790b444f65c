package main

import (
	"flag"
	"regexp"
	"slices"
	"strings"
	"sync"
)

var (
	flagJobs      = flag.Int("jobs", 5, "guests that run at the same time")
	flagCPUs      = flag.Int("cpus", 2, "vCPUs per guest (but -stock-cpus)")
	flagStockCPUs = flag.Int("stock-cpus", 1, "vCPUs of a stock kernel's guest that runs beside the debug kernel's (make test)")
)

// hungryScenarios are the scenarios whose assertions need the host's CPU to
// themselves on the debug kernel (KASAN under TCG forwards a few Mbit/s): beside the
// debug packages' guest, ratekeeper's tenant got 0.99 Mbit/s of its 2 Mbit/s
// guarantee (make test at 7311a15); FCM's drop-tail variant kept the link 71.5% and
// 73.0% busy with no drop (its senders starved: its wget took 1m08s from exec to exit,
// against 26 s for fcm's), so its queue, and the delay fcm's is compared with, stayed
// short (make test at ab3f3e9 and 8c34957). (MPTCP fullmesh, which reached 1.51x one
// path there, want 1.8x, is no longer run on the debug kernel: notOnDebug.)
const hungryScenarios = "^TestScenario(Ratekeeper|FCM)$"

// hungryTests are the tests that need the host's CPU to themselves on the debug kernel,
// by package: the hungry scenarios, fcm's law test, which drives a raw sender to
// 225-420 Mbit/s (309 Mbit/s alone; 99 Mbit/s beside two other guests, make test at
// 21c4a15), and fcm's pacing test, which needs 3 s of samples of a backlogged queue
// read within 5 ms each: in debug/tests beside four stock guests on a host at 1143
// MB/s its senders kept a queue 1.9 s in 30 s and 61 of 65 reads were slower (the
// slowest 1.27 s; make test at the s39 tip, TestPacesAtRate failed). In make test they
// leave their package's guest for the last one.
var hungryTests = map[string]string{"/tests/scenarios": hungryScenarios,
	"/netlinkproto/fcm": "^(TestReceiverLawAtLargestPrice|TestPacesAtRate)$"}

// notOnDebug are tests the debug kernel, whose point is KASAN, lockdep and kmemleak on
// nlkit's kernel code, leaves to the stock kernels in make test, by package ("" for
// the whole package):
//   - tests with no nlkit kernel code on their path: the MPTCP path manager's (a
//     userspace daemon on the kernel's own MPTCP family; its client and CLI tests took
//     1m25s of debug/tests, its scenarios and benchmark 1m19s of debug/last, make test
//     at 6bac8b0) and nlkit's load tools against wrk and nginx over loopback
//     (TestBenchmarkLoad: 17.7 s of debug/last at ce37f4a);
//   - the benchmarks, whose figures mean nothing under KASAN and whose paths the
//     scenarios and the packages' tests take on the debug kernel too: the qdiscs
//     forwarding (TestStampsEverySegment, TestShaperHoldsRate), the receiver
//     (TestScenarioFCM), the equalize route (TestScenarioEqualize). They took 1m28s of
//     debug/last, the run's last guest;
//   - oneStockKernel's tests.
var notOnDebug = map[string]string{
	"/netlinkproto":       "", // its VM tests: TestYNLCLI alone
	"/netlinkproto/mptcp": "",
	"/tests/scenarios":    "^(TestBenchmark.*|TestScenarioMPTCP|TestMPTCPIPv6)$",
	// nlkit ustack's command line: the kernel paths it takes are the package's other
	// tests' (37 s of the debug guest for a dozen nlkit processes under KASAN)
	"/netlinkproto/ustack": "^TestCLI$",
}

// oneStockKernel are tests make test runs on one stock kernel (and not on the debug
// kernel), by package: what they check does not depend on the kernel, and their cost
// does. TestYNLCLI checks the kernel's YNL command line (Python's cli.py) on nlkit's
// specs; the ops it calls are each package's own tests' on every kernel. Under TCG each
// cli.py process takes seconds: seven took 1m33s-1m44s per kernel (with -run, at
// 6054215). -run runs them wherever it is asked to. re "": the whole package (the root
// netlinkproto package's VM tests are TestYNLCLI alone: elsewhere its binary ran nothing).
var oneStockKernel = map[string]struct{ kernel, re string }{
	"/netlinkproto": {"6.12", ""},
}

// spinners are the debug kernel's packages that need the host's cores to themselves for
// another reason: the fuzzer keeps both vCPUs in the kernel, on locks, and a vCPU that
// spins on a lock whose holder's vCPU the host has preempted burns host CPU for
// nothing (TCG has no paravirtual spinlocks). Beside the quiet scenario guest its 10^4
// requests per family took 4m08s and 4m45s of CPU (make test at d3ffcfa); alone, or
// beside a guest that mostly waits, 49 s.
var spinners = []string{"/tests/fuzz"}

// debugLate are debug packages that run in debug/last's quiet part, after its
// scenarios, instead of in debug/tests: debug/tests ended last of the two (its fcm
// package alone takes 8-9 minutes), and debug/last waited for it 1m54s at its alone
// gate, idle (make test at e6c36be: 21m09s). The equalize package took 1m25s of
// debug/tests there. ustack's package (1m16s of guest CPU on the debug kernel when
// it came, beside other guests) went there from the start.
var debugLate = []string{"/netlinkproto/equalize", "/netlinkproto/ustack"}

// plan spreads the test binaries over guests: one per stock kernel, and two for the
// debug kernel (KASAN, lockdep and kmemleak under TCG), which takes about as long as the
// stock kernels together:
//   - debug/tests, every package but the scenarios and the spinners, starts first,
//     beside the stock kernels and 7.3-patched (-jobs 5);
//   - debug/last is quiet: it runs the scenarios but the hungry ones once the stock
//     kernels have finished (at most one other guest runs, and nothing starts beside
//     it), then the hungry tests and the spinners alone, once debug/tests has ended.
//     (Two guests for these cost a debug boot and a kmemleak scan more: about 35 s of
//     host CPU.)
//
// Four guests at once (debug/tests and the three stock kernels) keep both host cores
// busy: the stock guests mostly wait on traffic at a fixed rate (about 3m40s of CPU in
// 8-9 minutes each). With three, 7.3 waited for a stock kernel to end and the fuzzer's
// alone phase for 7.3: 22m51s against 19m41s (make test at 7fa4261 with -jobs 3 and 4, both
// 372 passed); with two, the cores idled ~30% of the run. With -run, -scenarios or
// -bench the debug kernel has two guests: its packages, and its scenarios alone.
// A kernel that runs only some tests (7.3-patched: its series') has one guest, like a
// stock kernel's, after them. With -jobs 4 it started when the first stock guest ended,
// and debug/last then waited at its gate for it (34 s of make test's 19m45s at
// 51d96bc); -jobs 5 starts it with the others: a minute of guest time, about 30 s of
// host CPU, early in the run.
func plan(kernels []kernel, tests []testBin) []guest {
	split := *flagRun == "" && !*flagScenarios && !*flagBench
	var scen, rest, spin, hungry, late []testBin
	for _, tb := range tests {
		switch {
		case strings.HasSuffix(tb.pkg, "/tests/scenarios"):
			scen = append(scen, tb)
		case split && slices.ContainsFunc(spinners, func(s string) bool { return strings.HasSuffix(tb.pkg, s) }):
			spin = append(spin, tb)
		case split && slices.ContainsFunc(debugLate, func(s string) bool { return strings.HasSuffix(tb.pkg, s) }):
			late = append(late, tb)
		default:
			rest = append(rest, tb)
		}
	}
	// without their hungry tests, which go to hungry (the scenarios' first)
	scenQuiet := scen
	if split {
		scenQuiet, rest = withoutHungry(scen, &hungry), withoutHungry(rest, &hungry)
		scenQuiet = append(slices.Clip(scenQuiet), withoutHungry(late, &hungry)...)
	}
	var gs, last []guest
	for _, k := range kernels {
		ts := selectTests(k, tests) // all but for a kernel that runs only some
		if len(ts) == 0 {
			continue
		}
		switch {
		case k.debug && len(kernels) > 1 && len(scen) > 0 && len(rest)+len(spin) > 0:
			if len(rest) > 0 {
				gs = append([]guest{{k: k, part: "tests", tests: rest, cpus: *flagCPUs}}, gs...)
			}
			if !split {
				last = append(last, guest{k: k, part: "scenarios", tests: scen, cpus: *flagCPUs, alone: true})
				break
			}
			last = append(last, guest{k: k, part: "last", tests: append(slices.Clip(scenQuiet), append(slices.Clip(hungry), spin...)...),
				cpus: *flagCPUs, quiet: true, aloneFrom: len(scenQuiet)})
		case k.debug:
			gs = append([]guest{{k: k, tests: ts, cpus: *flagCPUs}}, gs...)
		case split && hasDebug(kernels):
			gs = append(gs, guest{k: k, tests: ts, cpus: *flagStockCPUs})
		default:
			gs = append(gs, guest{k: k, tests: ts, cpus: *flagCPUs})
		}
	}
	return append(gs, last...)
}

// modeTests is the prefix of the tests -scenarios or -bench selects ("" for neither).
func modeTests() string {
	switch {
	case *flagScenarios:
		return "TestScenario"
	case *flagBench:
		return "TestBenchmark"
	}
	return ""
}

// selectTests returns the tests k runs of tests: all of them, or those its only
// names. Named tests run as -run, -scenarios or -bench select them: -run's own pattern
// in place of k's, and with -scenarios (-bench) the named scenarios (benchmarks) only.
func selectTests(k kernel, tests []testBin) []testBin {
	if k.only == nil {
		if *flagRun != "" || k.debug {
			return tests
		}
		var out []testBin
	pkgs:
		for _, tb := range tests {
			for suffix, o := range oneStockKernel {
				if strings.HasSuffix(tb.pkg, suffix) && k.name != o.kernel {
					if o.re == "" {
						continue pkgs
					}
					tb = withArgs([]testBin{tb}, "-test.skip="+o.re)[0]
				}
			}
			out = append(out, tb)
		}
		return out
	}
	var out []testBin
	for _, tb := range tests {
		for suffix, prefixes := range k.only {
			if !strings.HasSuffix(tb.pkg, suffix) {
				continue
			}
			if prefixes != nil && *flagRun == "" {
				var names []string
				for _, p := range prefixes {
					if strings.HasPrefix(p, modeTests()) {
						names = append(names, regexp.QuoteMeta(p))
					}
				}
				if len(names) == 0 {
					continue
				}
				tb = withArgs([]testBin{tb}, "-test.run=^("+strings.Join(names, "|")+")")[0]
			}
			out = append(out, tb)
		}
	}
	return out
}

func hasDebug(kernels []kernel) bool {
	return slices.ContainsFunc(kernels, func(k kernel) bool { return k.debug })
}

// withoutHungry returns the debug kernel's tbs with each package's hungryTests and
// notOnDebug tests skipped (and packages notOnDebug as a whole left out), and appends
// to hungry the same packages running only their hungry tests.
func withoutHungry(tbs []testBin, hungry *[]testBin) []testBin {
	var out []testBin
next:
	for _, tb := range tbs {
		var skip []string
		for suffix, re := range notOnDebug {
			if strings.HasSuffix(tb.pkg, suffix) {
				if re == "" {
					continue next
				}
				skip = append(skip, re)
			}
		}
		for suffix, re := range hungryTests {
			if strings.HasSuffix(tb.pkg, suffix) {
				*hungry = append(*hungry, withArgs([]testBin{tb}, "-test.run="+re)...)
				skip = append(skip, re)
			}
		}
		if len(skip) > 0 { // one -test.skip: the last of several would win
			tb = withArgs([]testBin{tb}, "-test.skip="+strings.Join(skip, "|"))[0]
		}
		out = append(out, tb)
	}
	return out
}

func withArgs(tbs []testBin, args ...string) []testBin {
	out := make([]testBin, len(tbs))
	for i, tb := range tbs {
		tb.args = append(slices.Clip(tb.args), args...)
		out[i] = tb
	}
	return out
}

// tolerance is how many other guests may run beside g while it runs its tests.
func tolerance(g guest) int {
	switch {
	case g.alone:
		return 0
	case g.quiet:
		return 1
	}
	return max(*flagJobs, 1) - 1
}

var runGuestFn = runGuest // tests replace it

// runGuests runs the guests in order, up to -jobs at a time, so that no guest running
// its tests has more guests beside it than its tolerance: a quiet guest one, an alone
// guest none. A quiet or alone guest is gated: it boots (half a minute on the debug
// kernel, and its modules load) while one guest more than its tolerance still runs,
// then waits for the host's go until the others have finished. A quiet guest with
// tests that must run alone (aloneFrom) waits again before them, until it is alone.
func runGuests(gs []guest, out string, useKVM bool) (tally, []string) {
	var mu sync.Mutex
	cond := sync.NewCond(&mu)
	running := map[*guest]bool{} // booted and not finished
	// fits tells whether g may boot: -jobs at most, no running guest beyond its
	// tolerance with g beside it, and g itself within its own (plus one while it
	// waits at the gate)
	fits := func(g guest, gated bool) bool {
		n := len(running)
		limit := tolerance(g)
		if gated {
			limit++
		}
		if n >= max(*flagJobs, 1) || n > limit {
			return false
		}
		for r := range running {
			if n > tolerance(*r) {
				return false
			}
		}
		return true
	}
	var total tally
	var failures []string
	var wg sync.WaitGroup
	for i := range gs {
		g := &gs[i]
		gated := g.alone || g.quiet
		mu.Lock()
		for !fits(*g, gated) {
			cond.Wait()
		}
		running[g] = true
		// goWhen returns a channel closed once at most n guests run beside g (a guest
		// that ended before its go never reads it)
		goWhen := func(n int) <-chan struct{} {
			c := make(chan struct{})
			go func() {
				mu.Lock()
				for running[g] && len(running)-1 > n {
					cond.Wait()
				}
				mu.Unlock()
				close(c)
			}()
			return c
		}
		if gated {
			g.release = goWhen(tolerance(*g))
		}
		if g.aloneFrom > 0 {
			g.releaseAlone = goWhen(0)
		}
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			t, f := runGuestFn(*g, out, useKVM)
			mu.Lock()
			total.add(t)
			failures = append(failures, f...)
			delete(running, g)
			cond.Broadcast()
			mu.Unlock()
		}()
	}
	wg.Wait()
	return total, failures
}
