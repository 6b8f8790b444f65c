package main

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestPlan(t *testing.T) {
	kernels := []kernel{{name: "6.1"}, {name: "6.12"}, {name: "debug", debug: true}}
	var tests []testBin
	for _, p := range []string{"netlinkproto/fcm", "tests/fuzz", "tests/kselftest", "tests/scenarios", "netlinkproto/smoke", "netlinkproto/mptcp", "netlinkproto/equalize"} {
		tests = append(tests, testBin{pkg: "github.com/nlkit/nlkit/" + p})
	}
	show := func(gs []guest) string {
		var b strings.Builder
		for _, g := range gs {
			fmt.Fprintf(&b, "%s cpus=%d alone=%v quiet=%v:", g.name(), g.cpus, g.alone, g.quiet)
			for i, tb := range g.tests {
				if i > 0 && i == g.aloneFrom {
					b.WriteString(" | alone:")
				}
				fmt.Fprintf(&b, " %s%v", strings.TrimPrefix(tb.pkg, "github.com/nlkit/nlkit/"), tb.args)
			}
			b.WriteString("\n")
		}
		return b.String()
	}

	got := show(plan(kernels, tests))
	// (stock kernels with one vCPU beside the debug guests' two)
	want := `debug/tests cpus=2 alone=false quiet=false: netlinkproto/fcm[-test.skip=^(TestReceiverLawAtLargestPrice|TestPacesAtRate)$] tests/kselftest[] netlinkproto/smoke[]
6.1 cpus=1 alone=false quiet=false: netlinkproto/fcm[] tests/fuzz[] tests/kselftest[] tests/scenarios[] netlinkproto/smoke[] netlinkproto/mptcp[] netlinkproto/equalize[]
6.12 cpus=1 alone=false quiet=false: netlinkproto/fcm[] tests/fuzz[] tests/kselftest[] tests/scenarios[] netlinkproto/smoke[] netlinkproto/mptcp[] netlinkproto/equalize[]
debug/last cpus=2 alone=false quiet=true: tests/scenarios[-test.skip=` + notOnDebug["/tests/scenarios"] + `|` + hungryScenarios + `] netlinkproto/equalize[] | alone: tests/scenarios[-test.run=` + hungryScenarios + `] netlinkproto/fcm[-test.run=^(TestReceiverLawAtLargestPrice|TestPacesAtRate)$] tests/fuzz[]
`
	if got != want {
		t.Errorf("plan for make test:\n%s\nwant:\n%s", got, want)
	}

	// with -run the scenarios stay in one guest, alone, and run as asked
	*flagRun = "TestX"
	defer func() { *flagRun = "" }()
	got = show(plan(kernels, tests))
	if !strings.Contains(got, "debug/scenarios cpus=2 alone=true quiet=false: tests/scenarios[]\n") || strings.Contains(got, "debug/last") ||
		!strings.Contains(got, "debug/tests cpus=2 alone=false quiet=false: netlinkproto/fcm[] tests/fuzz[] tests/kselftest[] netlinkproto/smoke[] netlinkproto/mptcp[] netlinkproto/equalize[]\n") ||
		!strings.Contains(got, "6.1 cpus=2 ") {
		t.Errorf("plan with -run:\n%s", got)
	}

	// one kernel: one guest with everything
	got = show(plan(kernels[2:], tests))
	if want := "debug cpus=2 alone=false quiet=false: netlinkproto/fcm[] tests/fuzz[] tests/kselftest[] tests/scenarios[] netlinkproto/smoke[] netlinkproto/mptcp[] netlinkproto/equalize[]\n"; got != want {
		t.Errorf("plan for the debug kernel alone:\n%s\nwant:\n%s", got, want)
	}
}

// runGuests for make test's plan: the last debug guest boots when the first stock
// kernel ends, starts its tests when the second has, and its alone part when
// debug/tests has ended.
func TestRunGuestsGates(t *testing.T) {
	events := make(chan string, 100)
	done := map[string]chan struct{}{}
	names := []string{"debug/tests", "6.1", "6.12", "debug/last"}
	for _, n := range names {
		done[n] = make(chan struct{})
	}
	runGuestFn = func(g guest, out string, useKVM bool) (tally, []string) {
		events <- "boot " + g.name()
		if g.release != nil {
			<-g.release
			events <- "go " + g.name()
		}
		if g.releaseAlone != nil {
			<-g.releaseAlone
			events <- "alone " + g.name()
		}
		<-done[g.name()]
		return tally{passed: 1}, nil
	}
	defer func() { runGuestFn = runGuest }()
	gs := []guest{{k: kernel{name: "debug"}, part: "tests"}, {k: kernel{name: "6.1"}}, {k: kernel{name: "6.12"}},
		{k: kernel{name: "debug"}, part: "last", quiet: true, aloneFrom: 1}}
	result := make(chan tally)
	go func() { tl, _ := runGuests(gs, t.TempDir(), false); result <- tl }()

	// expect reads the events that follow, in any order, and then nothing for a while
	expect := func(step string, want ...string) {
		t.Helper()
		got := map[string]bool{}
		for range want {
			select {
			case e := <-events:
				got[e] = true
			case <-time.After(5 * time.Second):
				t.Fatalf("%s: got %v, want %v", step, got, want)
			}
		}
		for _, w := range want {
			if !got[w] {
				t.Fatalf("%s: got %v, want %v", step, got, want)
			}
		}
		select {
		case e := <-events:
			t.Fatalf("%s: %q too early", step, e)
		case <-time.After(100 * time.Millisecond):
		}
	}
	expect("start", "boot debug/tests", "boot 6.1", "boot 6.12")
	close(done["6.12"])
	expect("6.12 ended", "boot debug/last")
	close(done["6.1"])
	expect("6.1 ended", "go debug/last")
	close(done["debug/tests"])
	expect("debug/tests ended", "alone debug/last")
	close(done["debug/last"])
	if tl := <-result; tl.passed != 4 {
		t.Errorf("tally %+v", tl)
	}
}
