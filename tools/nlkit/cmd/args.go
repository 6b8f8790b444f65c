package cmd

// The helpers every command uses: arguments in iproute2's style, output (-j/--json),
// and errors with the exit status they mean (2: usage, 1: the kernel or the system).

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/nlkit/nlkit/netlinkproto/rtnl"
	"github.com/nlkit/nlkit/tools/daemonlog"
)

// newJSONFlag is -j/--json, which every command that prints takes.
func newJSONFlag() cli.Flag {
	return &cli.BoolFlag{Name: "json", Aliases: []string{"j"}, Usage: "JSON output"}
}

// jsonOut tells whether -j/--json was given at any level.
func jsonOut(c *cli.Context) bool {
	for _, l := range c.Lineage() {
		if l.Bool("json") {
			return true
		}
	}
	return false
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// prettyJSON is -p/-pretty (as ip's): indented JSON; without it -j prints one compact
// line, as ip -j does.
var prettyJSON bool

func printJSON(w io.Writer, v any) error {
	e := json.NewEncoder(w)
	if prettyJSON {
		e.SetIndent("", "  ")
	}
	return e.Encode(v)
}

// newPrettyFlag is -p/-pretty, at nlkit's and nlkit ip's level, as ip takes it.
func newPrettyFlag() cli.Flag {
	return &cli.BoolFlag{Name: "pretty", Aliases: []string{"p"}, Usage: "indented JSON (with -j)"}
}

// Where commands print (Run points them elsewhere for tests).
var stdout, stderr io.Writer = os.Stdout, os.Stderr

// usageErr is a refusal of the command line: exit status 2.
func usageErr(format string, a ...any) error {
	return cli.Exit(fmt.Sprintf("nlkit: "+format, a...), 2)
}

// fail is an error from the kernel or the system: exit status 1.
func fail(err error) error { return cli.Exit("nlkit: "+err.Error(), 1) }

// kv parses iproute-style "key value" argument lists.
func kv(args []string, known ...string) (map[string]string, error) {
	out := map[string]string{}
	for i := 0; i < len(args); i++ {
		k := args[i]
		ok := false
		for _, n := range known {
			if k == n {
				ok = true
			}
		}
		if !ok {
			return nil, usageErr("unknown argument %q (expected one of: %s)", k, strings.Join(known, ", "))
		}
		if i+1 >= len(args) {
			return nil, usageErr("%s needs a value", k)
		}
		out[k] = args[i+1]
		i++
	}
	return out, nil
}

func ifindexOf(name string) (int, error) {
	c, err := rtnl.Dial(0)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	l, err := c.LinkByName(name)
	if err != nil {
		return 0, fmt.Errorf("device %s: %w", name, err)
	}
	return l.Index, nil
}

func parseHandle(s string) (uint32, error) {
	maj := strings.TrimSuffix(strings.TrimSuffix(s, ":0"), ":")
	v, err := strconv.ParseUint(maj, 16, 16)
	if err != nil {
		return 0, usageErr("handle %q: want MAJ: (hex)", s)
	}
	return uint32(v) << 16, nil
}

// logFormatFlag is the daemons' --log-format: their records as key=value text or as
// JSON lines (daemonlog).
func logFormatFlag() cli.Flag {
	return &cli.StringFlag{Name: "log-format", Value: "text", Usage: "log records as text (key=value) or json; under systemd without their own time (journald stamps them)"}
}

func daemonLogger(c *cli.Context) (*slog.Logger, error) {
	l, err := daemonlog.New(os.Stderr, c.String("log-format"))
	if err != nil {
		return nil, usageErr("--log-format: %v", err)
	}
	return l, nil
}

// metricsFlag is the daemons' --metrics: their counters for Prometheus, off unless an
// address is given.
func metricsFlag() cli.Flag {
	return &cli.StringFlag{Name: "metrics", Usage: "serve the daemon's counters for Prometheus at http://ADDR/metrics (e.g. 127.0.0.1:9423; off by default)"}
}

// serveMetrics starts the --metrics server, if asked, for the daemon's counters.
func serveMetrics(c *cli.Context, ctx context.Context, daemon string, stats func() any, help map[string]string, log *slog.Logger) error {
	addr := c.String("metrics")
	if addr == "" {
		return nil
	}
	reg, err := daemonlog.Registry(daemon, stats, help)
	if err != nil {
		return fail(err)
	}
	if err := daemonlog.ServeMetrics(ctx, addr, reg, log); err != nil {
		return fail(err)
	}
	return nil
}
