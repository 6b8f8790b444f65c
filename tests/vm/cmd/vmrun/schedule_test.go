package main

import (
	"fmt"
	"strings"
	"testing"
)

func TestPlan(t *testing.T) {
	kernels := []kernel{{name: "6.1"}, {name: "6.12"}, {name: "debug", debug: true}}
	var tests []testBin
	for _, p := range []string{"netlinkproto/fcm", "tests/fuzz", "tests/kselftest", "tests/scenarios", "netlinkproto/smoke"} {
		tests = append(tests, testBin{pkg: "github.com/nlkit/nlkit/" + p})
	}
	show := func(gs []guest) string {
		var b strings.Builder
		for _, g := range gs {
			fmt.Fprintf(&b, "%s alone=%v quiet=%v:", g.name(), g.alone, g.quiet)
			for _, tb := range g.tests {
				fmt.Fprintf(&b, " %s%v", strings.TrimPrefix(tb.pkg, "github.com/nlkit/nlkit/"), tb.args)
			}
			b.WriteString("\n")
		}
		return b.String()
	}

	got := show(plan(kernels, tests))
	want := `debug/tests alone=false quiet=false: netlinkproto/fcm[] tests/kselftest[] netlinkproto/smoke[]
6.1 alone=false quiet=false: netlinkproto/fcm[] tests/fuzz[] tests/kselftest[] tests/scenarios[] netlinkproto/smoke[]
6.12 alone=false quiet=false: netlinkproto/fcm[] tests/fuzz[] tests/kselftest[] tests/scenarios[] netlinkproto/smoke[]
debug/scenarios alone=false quiet=true: tests/scenarios[-test.skip=` + hungryScenarios + `]
debug/alone alone=true quiet=false: tests/scenarios[-test.run=` + hungryScenarios + `] tests/fuzz[]
`
	if got != want {
		t.Errorf("plan for make test:\n%s\nwant:\n%s", got, want)
	}

	// with -run the scenarios stay in one guest, alone, and run as asked
	*flagRun = "TestX"
	defer func() { *flagRun = "" }()
	got = show(plan(kernels, tests))
	if !strings.Contains(got, "debug/scenarios alone=true quiet=false: tests/scenarios[]\n") || strings.Contains(got, "debug/alone") ||
		!strings.Contains(got, "debug/tests alone=false quiet=false: netlinkproto/fcm[] tests/fuzz[] tests/kselftest[] netlinkproto/smoke[]\n") {
		t.Errorf("plan with -run:\n%s", got)
	}

	// one kernel: one guest with everything
	got = show(plan(kernels[2:], tests))
	if want := "debug alone=false quiet=false: netlinkproto/fcm[] tests/fuzz[] tests/kselftest[] tests/scenarios[] netlinkproto/smoke[]\n"; got != want {
		t.Errorf("plan for the debug kernel alone:\n%s\nwant:\n%s", got, want)
	}
}
