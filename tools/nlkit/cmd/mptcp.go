package cmd

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	pm "github.com/nlkit/nlkit/netlinkproto/mptcp"
	"github.com/nlkit/nlkit/tools/mpd"
)

func mptcpCommand() *cli.Command {
	jsonFlag := newJSONFlag()
	return &cli.Command{
		Name:  "mptcp",
		Usage: "MPTCP path management: nlkit's userspace path manager, events, and the in-kernel PM's endpoints and limits",
		Subcommands: []*cli.Command{
			{
				Name:  "pm",
				Usage: "run the path-manager daemon in this network namespace (selects the userspace PM, restores the setting on exit)",
				ArgsUsage: "[POLICY]   POLICY := ndiffports N | fullmesh [local ADDR]... [backup ADDR]... [remote ADDR[:PORT]]... |\n" +
					"                  announce ADDR... | exec CMD [ARG]... | none\n" +
					"   --rule '[dst PREFIX] [dport N] [sport N] [side client|server] POLICY' (repeatable, first match wins; POLICY given as arguments is the last rule)",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Value: mpd.DefaultConfigPath,
						Usage: "YAML configuration (rules, exec-timeout, backoff-max, command-sockets, event-buffer), read if it exists; rules on the command line replace its rules; SIGHUP reloads its rules"},
					&cli.StringSliceFlag{Name: "rule", Usage: "a matching rule (repeatable)"},
					&cli.DurationFlag{Name: "exec-timeout", Value: 2 * time.Second, Usage: "bound on an exec policy's command"},
					&cli.DurationFlag{Name: "backoff-max", Value: 10 * time.Second, Usage: "longest wait between re-creations of a closed subflow"},
					&cli.IntFlag{Name: "command-sockets", Value: 4, Usage: "netlink sockets subflow-creates go out on, a batch (one sendmsg per connection's creates) in flight on each"},
					&cli.BoolFlag{Name: "timing", Usage: "log each event's wait and handling time (the percentiles, of commands too, are logged at exit)"},
					logFormatFlag(),
					metricsFlag(),
				},
				Action: mptcpPM,
			},
			{
				Name:   "monitor",
				Usage:  "print path-manager events as they happen (like `ip mptcp monitor`)",
				Flags:  []cli.Flag{jsonFlag},
				Action: mptcpMonitor,
			},
			{
				Name:  "endpoint",
				Usage: "the in-kernel path manager's endpoints (iproute2 syntax)",
				Subcommands: []*cli.Command{
					{Name: "add", ArgsUsage: "ADDRESS [dev NAME] [id ID] [port NR] [signal] [subflow] [backup] [fullmesh]", Usage: "add an endpoint", Action: mptcpEndpointAdd},
					{Name: "del", Aliases: []string{"delete"}, ArgsUsage: "id ID [ADDRESS]", Usage: "delete an endpoint", Action: mptcpEndpointDel},
					{Name: "show", ArgsUsage: "[id ID]", Usage: "list endpoints", Flags: []cli.Flag{jsonFlag}, Action: mptcpEndpointShow},
					{Name: "change", ArgsUsage: "id ID | ADDRESS [backup|nobackup] [fullmesh|nofullmesh]", Usage: "set an endpoint's backup and fullmesh flags (those not given are cleared, as ip does)", Action: mptcpEndpointChange},
					{Name: "flush", Usage: "delete every endpoint", Action: mptcpEndpointFlush},
				},
			},
			{
				Name:  "limits",
				Usage: "the in-kernel path manager's limits",
				Subcommands: []*cli.Command{
					{Name: "get", Aliases: []string{"show"}, Usage: "show the limits", Flags: []cli.Flag{jsonFlag}, Action: mptcpLimitsGet},
					{Name: "set", ArgsUsage: "[subflows N] [add_addr_accepted N]", Usage: "set limits", Action: mptcpLimitsSet},
				},
			},
		},
	}
}

func mptcpDial() (*pm.Conn, error) {
	c, err := pm.Dial()
	if err != nil {
		return nil, fail(err)
	}
	return c, nil
}

func mptcpErr(err error) error {
	if err == nil {
		return nil
	}
	return fail(err)
}

func mptcpPM(c *cli.Context) error {
	cfg, fromFile, err := mptcpPMConfig(c)
	if err != nil {
		return err
	}
	log, err := daemonLogger(c)
	if err != nil {
		return err
	}
	cfg.Log = log
	// catch SIGTERM before the sysctl changes, so that it is always put back
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	d, err := mpd.NewDaemon(cfg)
	if err != nil {
		return mptcpErr(err)
	}
	if err := serveMetrics(c, ctx, "mptcp_pm", func() any { return d.Stats() }, mpd.StatsHelp, log); err != nil {
		d.Close()
		return err
	}
	go func() {
		for range hup {
			if !fromFile {
				log.Warn("SIGHUP: the rules come from the command line, not from a configuration file: nothing to reload")
				continue
			}
			var re mpd.Config
			if err := mpd.LoadConfig(c.String("config"), &re); err != nil {
				log.Error("SIGHUP: keeping the rules in use", "err", err)
				continue
			}
			if len(re.Rules) == 0 {
				log.Error("SIGHUP: the file has no rules; keeping the rules in use", "file", c.String("config"))
				continue
			}
			d.SetRules(re.Rules)
		}
	}()
	return mptcpErr(d.Run(ctx))
}

// mptcpPMConfig is the daemon's configuration: the file's (if it exists, or was named),
// then the flags given; rules on the command line replace the file's. fromFile tells
// whether the rules are the file's (what SIGHUP reloads).
func mptcpPMConfig(c *cli.Context) (cfg mpd.Config, fromFile bool, err error) {
	path := c.String("config")
	if _, serr := os.Stat(path); serr == nil || c.IsSet("config") {
		if err := mpd.LoadConfig(path, &cfg); err != nil {
			return cfg, false, usageErr("mptcp pm: %v", err)
		}
	}
	var rules []mpd.Rule
	for _, s := range c.StringSlice("rule") {
		r, err := mpd.ParseRule(s)
		if err != nil {
			return cfg, false, usageErr("--rule %v", err)
		}
		rules = append(rules, r)
	}
	if c.Args().Len() > 0 {
		r, err := mpd.ParseRule(strings.Join(c.Args().Slice(), " "))
		if err != nil {
			return cfg, false, usageErr("%v", err)
		}
		rules = append(rules, r)
	}
	fromFile = len(rules) == 0 && len(cfg.Rules) > 0
	if len(rules) > 0 {
		cfg.Rules = rules
	}
	if len(cfg.Rules) == 0 {
		return cfg, false, usageErr("mptcp pm: give a policy (e.g. `nlkit mptcp pm ndiffports 4`), --rule, or rules in %s", path)
	}
	if c.IsSet("exec-timeout") || cfg.ExecTimeout == 0 {
		cfg.ExecTimeout = c.Duration("exec-timeout")
	}
	if c.IsSet("backoff-max") || cfg.BackoffMax == 0 {
		cfg.BackoffMax = c.Duration("backoff-max")
	}
	if c.IsSet("command-sockets") || cfg.CommandSockets == 0 {
		cfg.CommandSockets = c.Int("command-sockets")
	}
	cfg.Timing = c.Bool("timing")
	return cfg, fromFile, nil
}

func mptcpMonitor(c *cli.Context) error {
	m, err := pm.Watch(nil)
	if err != nil {
		return mptcpErr(err)
	}
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() { <-ctx.Done(); m.Close() }()
	for {
		ev, err := m.Next()
		if errors.Is(err, pm.ErrEventsLost) {
			fmt.Fprintln(os.Stderr, "nlkit:", err)
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return mptcpErr(err)
		}
		if jsonOut(c) {
			if err := printJSONLine(ev); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintln(stdout, ev)
	}
}

func printJSONLine(v any) error {
	b, err := jsonMarshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s\n", b)
	return err
}

// parseEndpoint reads iproute2's `ip mptcp endpoint` arguments.
func parseEndpoint(args []string, needAddr bool) (pm.Addr, error) {
	var a pm.Addr
	for i := 0; i < len(args); i++ {
		arg := args[i]
		val := func() (string, error) {
			if i+1 >= len(args) {
				return "", fmt.Errorf("%s needs a value", arg)
			}
			i++
			return args[i], nil
		}
		if f, ok := pm.ParseFlag(arg); ok {
			a.Flags |= f
			continue
		}
		switch arg {
		case "id":
			v, err := val()
			if err != nil {
				return a, err
			}
			n, err := strconv.ParseUint(v, 10, 8)
			if err != nil || n == 0 {
				return a, fmt.Errorf("id %q: want 1-255", v)
			}
			a.ID = uint8(n)
		case "dev":
			v, err := val()
			if err != nil {
				return a, err
			}
			ifi, err := net.InterfaceByName(v)
			if err != nil {
				return a, noDevice(v)
			}
			a.Ifindex = int32(ifi.Index)
		case "port":
			v, err := val()
			if err != nil {
				return a, err
			}
			n, err := strconv.ParseUint(v, 10, 16)
			if err != nil || n == 0 {
				return a, fmt.Errorf("port %q: want 1-65535", v)
			}
			a.Port = uint16(n)
		default:
			ip, err := netip.ParseAddr(arg)
			if err != nil {
				if strings.ContainsAny(arg, ".:") && strings.Trim(arg, "0123456789abcdefABCDEF.:") == "" {
					return a, fmt.Errorf("invalid address %q", arg) // looks like one, is none (10.0.0.300)
				}
				return a, fmt.Errorf("unknown argument %q", arg)
			}
			if a.IP.IsValid() {
				return a, fmt.Errorf("two addresses (%s, %s)", a.IP, ip)
			}
			a.IP = ip.Unmap()
		}
	}
	if needAddr && !a.IP.IsValid() {
		return a, fmt.Errorf("an ADDRESS is required")
	}
	if a.Flags&pm.FlagSignal != 0 && a.Flags&pm.FlagFullmesh != 0 {
		return a, fmt.Errorf("flags must not have both signal and fullmesh")
	}
	if a.Port != 0 && a.Flags&pm.FlagSignal == 0 {
		return a, fmt.Errorf("a port needs the signal flag")
	}
	return a, nil
}

// noDevice is a device that does not exist: the system's refusal (exit 1), as ip's
// `Cannot find device`, not a usage error.
type noDevice string

func (d noDevice) Error() string { return fmt.Sprintf("Cannot find device %q", string(d)) }

func endpointArgsErr(cmd string, err error) error {
	var nd noDevice
	if errors.As(err, &nd) {
		return fmt.Errorf("mptcp endpoint %s: %w", cmd, err)
	}
	return usageErr("mptcp endpoint %s: %v", cmd, err)
}

func mptcpEndpointAdd(c *cli.Context) error {
	a, err := parseEndpoint(c.Args().Slice(), true)
	if err != nil {
		return endpointArgsErr("add", err)
	}
	conn, err := mptcpDial()
	if err != nil {
		return err
	}
	defer conn.Close()
	return mptcpErr(conn.AddEndpoint(a))
}

func mptcpEndpointDel(c *cli.Context) error {
	a, err := parseEndpoint(c.Args().Slice(), false)
	if err != nil {
		return endpointArgsErr("del", err)
	}
	if a.ID == 0 {
		return usageErr("mptcp endpoint del: an id is required (id ID [ADDRESS], as ip mptcp endpoint delete)")
	}
	conn, err := mptcpDial()
	if err != nil {
		return err
	}
	defer conn.Close()
	return mptcpErr(conn.DelEndpoint(a.ID, a.IP))
}

// mptcpEndpointChange is ip mptcp endpoint change: the endpoint by id or address, and
// the backup and fullmesh flags it is to have.
func mptcpEndpointChange(c *cli.Context) error {
	var words []string
	var flags pm.Flags
	for _, w := range c.Args().Slice() {
		switch w {
		case "backup":
			flags |= pm.FlagBackup
		case "fullmesh":
			flags |= pm.FlagFullmesh
		case "nobackup", "nofullmesh":
		default:
			words = append(words, w)
		}
	}
	a, err := parseEndpoint(words, false)
	if err != nil {
		return endpointArgsErr("change", err)
	}
	if a.ID == 0 && !a.IP.IsValid() {
		return usageErr("mptcp endpoint change: an id or an address is required (id ID | ADDRESS, as ip mptcp endpoint change)")
	}
	if a.Flags != 0 || a.Port != 0 || a.Ifindex != 0 {
		return usageErr("mptcp endpoint change: only backup, nobackup, fullmesh and nofullmesh can change")
	}
	a.Flags = flags
	conn, err := mptcpDial()
	if err != nil {
		return err
	}
	defer conn.Close()
	return mptcpErr(conn.ChangeEndpoint(a))
}

func mptcpEndpointFlush(c *cli.Context) error {
	conn, err := mptcpDial()
	if err != nil {
		return err
	}
	defer conn.Close()
	return mptcpErr(conn.FlushEndpoints())
}

type endpointJSON struct {
	Address  string `json:"address"`
	Port     uint16 `json:"port,omitempty"`
	ID       uint8  `json:"id"`
	Signal   bool   `json:"signal,omitempty"`
	Subflow  bool   `json:"subflow,omitempty"`
	Backup   bool   `json:"backup,omitempty"`
	Fullmesh bool   `json:"fullmesh,omitempty"`
	Implicit bool   `json:"implicit,omitempty"`
	Dev      string `json:"dev,omitempty"`
}

func mptcpEndpointShow(c *cli.Context) error {
	args := c.Args().Slice()
	conn, err := mptcpDial()
	if err != nil {
		return err
	}
	defer conn.Close()
	var eps []pm.Addr
	if len(args) > 0 {
		a, err := parseEndpoint(args, false)
		if err != nil || a.ID == 0 {
			return usageErr("mptcp endpoint show: usage: show [id ID]")
		}
		e, err := conn.Endpoint(a.ID)
		if err != nil {
			return mptcpErr(err)
		}
		eps = []pm.Addr{e}
	} else if eps, err = conn.Endpoints(); err != nil {
		return mptcpErr(err)
	}
	dev := func(idx int32) string {
		if idx == 0 {
			return ""
		}
		if ifi, err := net.InterfaceByIndex(int(idx)); err == nil {
			return ifi.Name
		}
		return strconv.Itoa(int(idx))
	}
	if jsonOut(c) {
		out := []endpointJSON{}
		for _, e := range eps {
			out = append(out, endpointJSON{Address: e.IP.String(), Port: e.Port, ID: e.ID,
				Signal: e.Flags&pm.FlagSignal != 0, Subflow: e.Flags&pm.FlagSubflow != 0,
				Backup: e.Flags&pm.FlagBackup != 0, Fullmesh: e.Flags&pm.FlagFullmesh != 0,
				Implicit: e.Flags&pm.FlagImplicit != 0, Dev: dev(e.Ifindex)})
		}
		return printJSON(stdout, out)
	}
	for _, e := range eps {
		var b strings.Builder
		fmt.Fprintf(&b, "%s ", e.IP)
		if e.Port != 0 {
			fmt.Fprintf(&b, "port %d ", e.Port)
		}
		fmt.Fprintf(&b, "id %d ", e.ID)
		if f := e.Flags.String(); f != "" {
			b.WriteString(f + " ")
		}
		if d := dev(e.Ifindex); d != "" {
			fmt.Fprintf(&b, "dev %s ", d)
		}
		fmt.Fprintln(stdout, strings.TrimRight(b.String(), " "))
	}
	return nil
}

func mptcpLimitsGet(c *cli.Context) error {
	conn, err := mptcpDial()
	if err != nil {
		return err
	}
	defer conn.Close()
	l, err := conn.Limits()
	if err != nil {
		return mptcpErr(err)
	}
	if jsonOut(c) {
		return printJSON(stdout, l)
	}
	fmt.Fprintf(stdout, "add_addr_accepted %d subflows %d\n", l.AddAddrAccepted, l.Subflows)
	return nil
}

func mptcpLimitsSet(c *cli.Context) error {
	args := c.Args().Slice()
	var ch pm.LimitsChange
	for i := 0; i < len(args); i += 2 {
		if i+1 >= len(args) {
			return usageErr("mptcp limits set: %s needs a number", args[i])
		}
		n, err := strconv.ParseUint(args[i+1], 10, 32)
		if err != nil {
			return usageErr("mptcp limits set: %s %q is not a number", args[i], args[i+1])
		}
		v := uint32(n)
		switch args[i] {
		case "subflows":
			ch.Subflows = &v
		case "add_addr_accepted":
			ch.AddAddrAccepted = &v
		default:
			return usageErr("mptcp limits set: unknown limit %q (subflows, add_addr_accepted)", args[i])
		}
	}
	if ch.Subflows == nil && ch.AddAddrAccepted == nil {
		return usageErr("mptcp limits set: usage: set [subflows N] [add_addr_accepted N]")
	}
	conn, err := mptcpDial()
	if err != nil {
		return err
	}
	defer conn.Close()
	return mptcpErr(conn.SetLimits(ch))
}
