package cmd

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// iproute2's habits for the commands that speak its syntax (nlkit ip, nlkit mptcp):
// objects and verbs abbreviated to any prefix (ip r sh, ip ro del, ip mptcp endp ls),
// resolved in ip's own order, so that a prefix means here what it means to ip (`ip n`
// is neighbour, which nlkit has not: nexthop needs `nex`), and ip's synonyms (list, lst,
// ls for show; delete for del; chg for change). Normalize rewrites them into the
// commands' names before urfave/cli sees them.

// ipWord is one word ip accepts at some position: the prefixes of name mean to, ""
// where nlkit has no such command (the word is then left as typed, and refused as
// unknown).
type ipWord struct {
	name string
	to   string
}

func words(names ...string) []ipWord {
	var ws []ipWord
	for _, n := range names {
		name, to, _ := strings.Cut(n, "=")
		if to == "" && !strings.HasSuffix(n, "=") {
			to = name
		}
		ws = append(ws, ipWord{name: name, to: to})
	}
	return ws
}

// ipTree is what ip accepts after `ip` and after each object, in the order ip tries
// them (iproute2's ip.c cmds[], iproute.c do_iproute, ipnexthop.c do_ipnh, ipmptcp.c).
// name=to maps ip's word to nlkit's command; name= is a word of ip's that nlkit has not.
var ipTree = map[string][]ipWord{
	"ip": words("address=", "addrlabel=", "maddress=", "route", "rule=", "neighbor=", "neighbour=", "ntable=", "ntbl=",
		"link=", "l2tp=", "fou=", "ila=", "macsec=", "tunnel=", "tunl=", "tuntap=", "tap=", "token=", "tcpmetrics=",
		"tcp_metrics=", "monitor=", "xfrm=", "mroute=", "mrule=", "netns=", "netconf=", "vrf=", "sr=", "nexthop",
		"mptcp=", "ioam=", "stats=", "help=", "equalize"),
	"ip route": words("add", "change", "chg=change", "replace", "prepend=", "append", "test=", "delete=del", "list=show",
		"show", "lst=show", "get", "flush=", "save=", "restore=", "showdump=", "help="),
	"ip nexthop":     words("add", "replace", "delete=del", "list=show", "show", "lst=show", "get=", "flush=", "bucket=", "help="),
	"mptcp":          words("endpoint", "limits", "monitor", "pm"),
	"mptcp endpoint": words("add", "delete=del", "change", "show", "list=show", "flush"),
	"mptcp limits":   words("set", "show=get", "get"),
}

// ipDefault is the verb of an object given alone (ip route = ip route show).
var ipDefault = map[string]string{"ip route": "show", "ip nexthop": "show", "mptcp endpoint": "show", "mptcp limits": "get"}

// Normalize returns args (the program name first) with the ip-style abbreviations and
// synonyms of nlkit ip and nlkit mptcp spelled out, and an object given alone completed
// with its default verb, as ip does. Options before a word are passed over (-j, -4, -6,
// -p, and --json); whatever follows a leaf command is its own.
func Normalize(args []string) []string {
	out := append([]string(nil), args...)
	path, last := "", 0 // the words resolved, and where the last of them stands
	for i := 1; i < len(out); i++ {
		a := out[i]
		if strings.HasPrefix(a, "-") {
			continue
		}
		if path == "" {
			if a != "ip" && a != "mptcp" {
				return out
			}
			path, last = a, i
			continue
		}
		ws, ok := ipTree[path]
		if !ok {
			return out // a leaf command: the rest is its own
		}
		to := ""
		for _, w := range ws {
			if strings.HasPrefix(w.name, a) {
				to = w.to
				break
			}
		}
		if to == "" {
			return out // unknown to ip, or nlkit has not that command: cli says so
		}
		out[i] = to
		path, last = path+" "+to, i
	}
	if v, ok := ipDefault[path]; ok { // an object alone
		return append(out[:last+1:last+1], append([]string{v}, out[last+1:]...)...)
	}
	return out
}

// shortUsage makes a bad flag or argument count a short message on stderr and exit
// status 2, for cmd and every command below it, instead of the whole help on stdout.
func shortUsage(cmds []*cli.Command, path string) {
	for _, c := range cmds {
		p := path + " " + c.Name
		c.OnUsageError = func(_ *cli.Context, err error, _ bool) error {
			return cli.Exit("nlkit: "+strings.TrimSpace(p)+": "+err.Error()+"\nRun 'nlkit"+p+" --help' for usage.", 2)
		}
		shortUsage(c.Subcommands, p)
	}
}
