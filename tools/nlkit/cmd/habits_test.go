package cmd

import (
	"bytes"
	"strings"
	"testing"
)

// ip's abbreviations and synonyms resolve as ip resolves them, in ip's order; words
// ip has and nlkit has not are left for the CLI to refuse.
func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"ip r sh":                           "ip route show",
		"ip ro ls":                          "ip route show",
		"ip -j route list table all":        "ip -j route show table all",
		"ip r d 10.0.0.0/8":                 "ip route del 10.0.0.0/8",
		"ip r delete default":               "ip route del default",
		"ip route a 10.0.0.0/8 via 1.2.3.4": "ip route add 10.0.0.0/8 via 1.2.3.4",
		"ip route ap 10.0.0.0/8":            "ip route append 10.0.0.0/8",
		"ip route c 10.0.0.0/8":             "ip route change 10.0.0.0/8",
		"ip route chg 10.0.0.0/8":           "ip route change 10.0.0.0/8",
		"ip route r 10.0.0.0/8":             "ip route replace 10.0.0.0/8",
		"ip route g 1.2.3.4":                "ip route get 1.2.3.4",
		"ip route flush":                    "ip route flush", // ip's, not nlkit's: refused
		"ip n show":                         "ip n show",      // neighbour to ip
		"ip nex sh":                         "ip nexthop show",
		"ip nexthop del id 3":               "ip nexthop del id 3",
		"ip e":                              "ip equalize",
		"mptcp endp ls":                     "mptcp endpoint ls", // not ip's either
		"mptcp e l":                         "mptcp endpoint show",
		"mptcp endpoint d id 3":             "mptcp endpoint del id 3",
		"mptcp l sh":                        "mptcp limits get",
		"mptcp m":                           "mptcp monitor",
		"ratekeeper s":                      "ratekeeper s", // nlkit's own commands: names only
		"-j ip r":                           "-j ip route show",
		"ip -6 r":                           "ip -6 route show",
		"ip route -j":                       "ip route show -j",
		"ip nex":                            "ip nexthop show",
		"mptcp endpoint":                    "mptcp endpoint show",
		"mptcp limits -j":                   "mptcp limits get -j",
		"mptcp":                             "mptcp",
		"ip":                                "ip",
	} {
		got := strings.Join(Normalize(append([]string{"nlkit"}, strings.Fields(in)...))[1:], " ")
		if got != want {
			t.Errorf("%q -> %q, want %q", in, got, want)
		}
	}
}

// One exit-status convention for the whole CLI (README, "Exit status"): 0 done, 1 the
// kernel or the system refused or failed, 2 the command line is wrong (unknown
// command, flag, argument or value), with a short message on stderr and nothing on
// stdout.
func TestExitStatus(t *testing.T) {
	for _, c := range []struct {
		args string
		code int
		msg  string
	}{
		{"frob", 2, `unknown command "frob"`},
		{"ip frob", 2, `unknown command "frob" for nlkit ip`},
		{"mptcp endpoint frob", 2, `unknown command "frob" for nlkit mptcp endpoint`},
		{"ratekeeper daemon --frob", 2, "flag provided but not defined: -frob"},
		{"ratekeeper daemon --decrease 5", 2, "want a fraction between 0 and 1"},
		{"ratekeeper daemon --peer bogus", 2, `peer "bogus"`},
		{"ratekeeper set dev x rate -5", 2, `"-5" is not a rate`},
		{"mptcp endpoint add 10.0.0.300", 2, `invalid address "10.0.0.300"`},
		{"mptcp endpoint add 10.0.0.1 frob", 2, `unknown argument "frob"`},
		{"mptcp endpoint del 10.0.0.1", 2, "an id is required"},
		{"mptcp endpoint add 10.0.0.1 dev nosuch99", 1, `Cannot find device "nosuch99"`},
		{"mptcp endpoint change backup", 2, "an id or an address is required"},
		{"mptcp endpoint change id 3 signal", 2, "only backup, nobackup, fullmesh and nofullmesh"},
		{"ratekeeper tenant add dev x min 1mbit max 2mbit interval 1m", 2, `"1m" is not a time`},
		{"mptcp pm teleport 3", 2, `unknown policy "teleport"`},
		{"ip route add", 2, "no destination"},
		{"ip route show 10.0.0.0/33", 2, "10.0.0.0/33"},
		{"load wget", 2, "give one URL"},
		{"completion fish", 2, "bash or zsh"},
		{"ustack set-stats dev x rx-packets -1", 2, `"-1" is not a whole number`},
		{"ustack set-stats dev x carrier maybe", 2, `"maybe" is not on or off`},
		{"ustack set-stats dev x", 2, "nothing to set"},
		{"ustack add x numrxqueues 33", 2, "not a number from 1 to 32"},
		{"ustack add x address 01:02", 2, "not an Ethernet address"},
		{"ustack responder name p", 2, "link LINK is required"},
		{"ustack set-stats dev nosuch99 rx-packets 1", 1, `Cannot find device "nosuch99"`},
		{"ip route show dev nosuch", 1, `cannot find device "nosuch"`},
	} {
		var out, errOut bytes.Buffer
		code := Run(strings.Fields(c.args), &out, &errOut)
		if code != c.code || !strings.Contains(errOut.String(), c.msg) || out.Len() != 0 {
			t.Errorf("nlkit %s: exit %d, stderr %q, stdout %d bytes; want exit %d, a message with %q, no stdout",
				c.args, code, errOut.String(), out.Len(), c.code, c.msg)
		}
	}
}

// -j is one compact line, as ip -j; -p (anywhere ip takes it) indents it.
func TestJSONCompactAndPretty(t *testing.T) {
	for _, c := range []struct {
		args   string
		pretty bool
	}{{"-j version", false}, {"-j -p version", true}, {"version -j", false}, {"-p version -j", true}} {
		var out bytes.Buffer
		if code := Run(strings.Fields(c.args), &out, &bytes.Buffer{}); code != 0 {
			t.Fatalf("nlkit %s: exit %d", c.args, code)
		}
		lines := strings.Count(out.String(), "\n")
		if c.pretty != (lines > 1) || !strings.HasPrefix(out.String(), "{") {
			t.Errorf("nlkit %s: %d lines: %q", c.args, lines, out.String())
		}
	}
}
