package cmd

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	rk "github.com/nlkit/nlkit/netlinkproto/ratekeeper"
	"github.com/nlkit/nlkit/netlinkproto/rtnl"
	"github.com/nlkit/nlkit/tools/rkd"
	"github.com/nlkit/nlkit/tools/units"
)

func ratekeeperCommand() *cli.Command {
	jsonFlag := newJSONFlag()
	return &cli.Command{
		Name:  "ratekeeper",
		Usage: "tenant bandwidth guarantees (sch_ratekeeper and its daemon)",
		Subcommands: []*cli.Command{
			{
				Name:      "status",
				Usage:     "show every ratekeeper qdisc of this netns, or those of one device",
				ArgsUsage: "[dev DEV]",
				Flags:     []cli.Flag{jsonFlag},
				Action:    rkStatus,
			},
			{
				Name:      "set",
				Usage:     "set the current rate of a device's ratekeeper qdisc (needs CAP_NET_ADMIN)",
				ArgsUsage: "dev DEV rate RATE [handle MAJ:]",
				Action:    rkSet,
			},
			{
				Name:   "monitor",
				Usage:  "print congestion events as they happen",
				Flags:  []cli.Flag{jsonFlag},
				Action: rkMonitor,
			},
			{
				Name:  "tenant",
				Usage: "set up, remove and list tenants' datapaths (vNIC egress qdisc, ingress redirect to an IFB with the shaping qdisc)",
				Subcommands: []*cli.Command{
					{
						Name:      "add",
						Usage:     "set a tenant's datapath up",
						ArgsUsage: "dev VNIC min RATE max RATE [linkrate RATE] [highmark PCT] [group N] [ifb NAME] [interval TIME] [eventgap TIME]",
						Action:    rkTenantAdd,
					},
					{
						Name:      "del",
						Usage:     "remove what tenant add made",
						ArgsUsage: "dev VNIC",
						Action:    rkTenantDel,
					},
					{
						Name:   "list",
						Usage:  "list tenants",
						Flags:  []cli.Flag{jsonFlag},
						Action: rkTenantList,
					},
				},
			},
			{
				Name:  "daemon",
				Usage: "run the distributed control daemon (feedback over UDP, HMAC-authenticated)",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Value: rkd.DefaultConfigPath, Usage: "YAML config file, read if it exists (flags given override it)"},
					&cli.StringFlag{Name: "key-file", Usage: "shared HMAC key (at least 16 bytes)"},
					&cli.StringFlag{Name: "listen", Usage: "UDP address for feedback", Value: fmt.Sprintf(":%d", rkd.DefaultPort)},
					&cli.StringSliceFlag{Name: "peer", Usage: "PREFIX=HOST[:PORT]: where feedback about senders in PREFIX goes"},
					&cli.StringSliceFlag{Name: "local", Usage: "PREFIX=VNIC: senders in PREFIX are the local tenant on VNIC"},
					&cli.Float64Flag{Name: "decrease", Usage: "multiplicative cut per feedback round", Value: 0.05},
					&cli.DurationFlag{Name: "round", Usage: "at most one cut per tenant per round", Value: 100 * time.Millisecond},
					&cli.DurationFlag{Name: "recover", Usage: "additive recovery period", Value: 500 * time.Millisecond},
					&cli.StringFlag{Name: "step", Usage: "recovery step before dividing by severity (default max/20)"},
					logFormatFlag(),
					metricsFlag(),
				},
				Action: rkDaemon,
			},
		},
	}
}

func rkStatus(c *cli.Context) error {
	a, err := kv(c.Args().Slice(), "dev")
	if err != nil {
		return err
	}
	cl, err := rk.Dial()
	if err != nil {
		return err
	}
	defer cl.Close()
	qs, err := cl.Qdiscs()
	if err != nil {
		return err
	}
	if dev, ok := a["dev"]; ok {
		var keep []rk.Qdisc
		for _, q := range qs {
			if q.Ifname == dev {
				keep = append(keep, q)
			}
		}
		if len(keep) == 0 {
			return fmt.Errorf("no ratekeeper qdisc on %s", dev)
		}
		qs = keep
	}
	if jsonOut(c) {
		if qs == nil {
			qs = []rk.Qdisc{}
		}
		return printJSON(stdout, qs)
	}
	w := tabwriter.NewWriter(stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(w, "DEV\tHANDLE\tRATE\tMIN\tMAX\tMEASURED\tLINK\tSEV\tDROPS\tEVENTS\tTOP SENDERS")
	for _, q := range qs {
		link := "-"
		if q.Config.LinkRate != 0 {
			link = fmt.Sprintf("%s/%s", units.FormatRate(q.LinkLoad), units.FormatRate(q.Config.LinkRate))
			if q.Congested {
				link += "!"
			}
		}
		fmt.Fprintf(w, "%s\t%x:\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\n", q.Ifname, q.Handle>>16,
			units.FormatRate(q.Config.Rate), units.FormatRate(q.Config.MinRate), units.FormatRate(q.Config.MaxRate),
			units.FormatRate(q.Measured), link, q.Severity, q.Drops, q.Events, senderList(q.Senders, 3))
	}
	return w.Flush()
}

// senderList prints the first n senders as "ADDR RATE, ..." (the MAC when a sender's
// packets carried no IP header).
func senderList(senders []rk.Sender, n int) string {
	var out []string
	for _, s := range senders[:min(n, len(senders))] {
		who := s.MAC.String()
		if s.Addr.IsValid() {
			who = s.Addr.String()
		}
		out = append(out, who+" "+units.FormatRate(s.Rate))
	}
	return strings.Join(out, ", ")
}

func rkSet(c *cli.Context) error {
	a, err := kv(c.Args().Slice(), "dev", "rate", "handle")
	if err != nil {
		return err
	}
	if a["dev"] == "" || a["rate"] == "" {
		return usageErr("ratekeeper set: dev and rate are required")
	}
	rate, err := units.ParseRate(a["rate"])
	if err != nil {
		return usageErr("ratekeeper set: %v", err)
	}
	var handle uint32
	if h, ok := a["handle"]; ok {
		if handle, err = parseHandle(h); err != nil {
			return err
		}
	}
	idx, err := ifindexOf(a["dev"])
	if err != nil {
		return err
	}
	cl, err := rk.Dial()
	if err != nil {
		return err
	}
	defer cl.Close()
	return cl.SetRate(uint32(idx), handle, rate)
}

func rkMonitor(c *cli.Context) error {
	m, err := rk.Watch()
	if err != nil {
		return err
	}
	defer m.Close()
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() { <-ctx.Done(); m.Close() }()
	for {
		ev, err := m.Next(0)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if jsonOut(c) {
			if err := printJSON(stdout, ev); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintf(stdout, "congestion dev %s severity %d measured %s min %s link %s senders %s\n", ev.Ifname, ev.Severity,
			units.FormatRate(ev.Measured), units.FormatRate(ev.Config.MinRate), units.FormatRate(ev.LinkLoad), senderList(ev.Senders, len(ev.Senders)))
	}
}

func rkTenantAdd(c *cli.Context) error {
	a, err := kv(c.Args().Slice(), "dev", "min", "max", "linkrate", "highmark", "group", "ifb", "interval", "eventgap")
	if err != nil {
		return err
	}
	s := rkd.TenantSpec{VNIC: a["dev"], IFB: a["ifb"]}
	for k, dst := range map[string]*uint64{"min": &s.Min, "max": &s.Max, "linkrate": &s.LinkRate} {
		if v, ok := a[k]; ok {
			if *dst, err = units.ParseRate(v); err != nil {
				return usageErr("tenant add: %s: %v", k, err)
			}
		}
	}
	// the words the qdisc's tc plugin takes, read as it reads them (tools/units)
	for _, o := range []struct {
		word, kind string
		u32        *uint32
		d          **time.Duration
		unit       time.Duration
	}{
		{word: "highmark", kind: "percent", u32: &s.HighMark},
		{word: "group", kind: "u32", u32: &s.Group},
		{word: "interval", kind: "usec", d: &s.Rx.Interval, unit: time.Microsecond},
		{word: "eventgap", kind: "msec", d: &s.Rx.EventGap, unit: time.Millisecond},
	} {
		v, ok := a[o.word]
		if !ok {
			continue
		}
		n, err := units.Parse(o.kind, v)
		if err != nil {
			return usageErr("tenant add: %s: %v", o.word, err)
		}
		if o.u32 != nil {
			*o.u32 = uint32(n)
		} else {
			d := time.Duration(n) * o.unit
			*o.d = &d
		}
	}
	if s.VNIC == "" || s.Min == 0 || s.Max == 0 {
		return usageErr("tenant add: dev, min and max are required")
	}
	conn, err := rtnl.Dial(0)
	if err != nil {
		return err
	}
	defer conn.Close()
	return rkd.AddTenant(conn, s)
}

func rkTenantDel(c *cli.Context) error {
	a, err := kv(c.Args().Slice(), "dev")
	if err != nil {
		return err
	}
	if a["dev"] == "" {
		return usageErr("tenant del: dev is required")
	}
	conn, err := rtnl.Dial(0)
	if err != nil {
		return err
	}
	defer conn.Close()
	return rkd.DelTenant(conn, a["dev"])
}

func rkTenantList(c *cli.Context) error {
	conn, err := rtnl.Dial(0)
	if err != nil {
		return err
	}
	defer conn.Close()
	ts, err := rkd.Tenants(conn)
	if err != nil {
		return err
	}
	if jsonOut(c) {
		if ts == nil {
			ts = []rkd.Tenant{}
		}
		return printJSON(stdout, ts)
	}
	w := tabwriter.NewWriter(stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(w, "VNIC\tIFB\tMIN\tMAX\tTX RATE\tLINKRATE")
	for _, t := range ts {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", t.VNIC, t.IFB, units.FormatRate(t.Rx.MinRate), units.FormatRate(t.Rx.MaxRate),
			units.FormatRate(t.Tx.Rate), units.FormatRate(t.Rx.LinkRate))
	}
	return w.Flush()
}

// rkDaemonConfig is the daemon's configuration: the file (-c, read if it exists), then the
// flags given over it. SIGHUP builds it again.
func rkDaemonConfig(c *cli.Context) (rkd.DaemonConfig, error) {
	var cfg rkd.DaemonConfig
	if p := c.String("config"); p != "" {
		if _, err := os.Stat(p); err == nil || c.IsSet("config") {
			if err := rkd.LoadDaemonConfig(p, &cfg); err != nil {
				return cfg, err
			}
		}
	}
	var err error
	if p := c.String("key-file"); p != "" {
		if cfg.Key, err = rkd.ReadKey(p); err != nil {
			return cfg, err
		}
	}
	if c.IsSet("listen") || !cfg.Listen.IsValid() {
		if cfg.Listen, err = rkd.ParseListen(c.String("listen")); err != nil {
			return cfg, usageErr("daemon: listen: %v", err)
		}
	}
	for _, s := range c.StringSlice("peer") {
		p, err := rkd.ParsePeer(s)
		if err != nil {
			return cfg, usageErr("daemon: %v", err)
		}
		cfg.Peers = append(cfg.Peers, p)
	}
	for _, s := range c.StringSlice("local") {
		l, err := rkd.ParseLocal(s)
		if err != nil {
			return cfg, usageErr("daemon: %v", err)
		}
		cfg.Locals = append(cfg.Locals, l)
	}
	if c.IsSet("decrease") || cfg.Decrease == 0 {
		cfg.Decrease = c.Float64("decrease")
	}
	if c.IsSet("round") || cfg.Round == 0 {
		cfg.Round = c.Duration("round")
	}
	if c.IsSet("recover") || cfg.Recover == 0 {
		cfg.Recover = c.Duration("recover")
	}
	if s := c.String("step"); s != "" {
		if cfg.Step, err = units.ParseRate(s); err != nil {
			return cfg, usageErr("daemon: step: %v", err)
		}
	}
	// what the command line or the file got wrong is a usage error (2), before any socket
	if cfg.Decrease <= 0 || cfg.Decrease >= 1 {
		return cfg, usageErr("ratekeeper daemon: --decrease %v: want a fraction between 0 and 1 (0.05: cut by 5%%)", cfg.Decrease)
	}
	if len(cfg.Key) == 0 {
		return cfg, usageErr("ratekeeper daemon: a shared key is required (--key-file, or key-file in %s)", c.String("config"))
	}
	return cfg, nil
}

func rkDaemon(c *cli.Context) error {
	cfg, err := rkDaemonConfig(c)
	if err != nil {
		return err
	}
	if cfg.Log, err = daemonLogger(c); err != nil {
		return err
	}
	d, err := rkd.NewDaemon(cfg)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serveMetrics(c, ctx, "ratekeeper", func() any { return d.Stats() }, rkd.StatsHelp, cfg.Log); err != nil {
		d.Close()
		return err
	}
	// SIGHUP: the file and the flags again (peers, local prefixes, key, parameters); a
	// configuration that does not load changes nothing
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				nc, err := rkDaemonConfig(c)
				if err == nil {
					nc.Log = cfg.Log
					err = d.Reload(nc)
				}
				if err != nil {
					cfg.Log.Error("reload refused: the configuration stays as it was", "err", err)
				}
			}
		}
	}()
	return d.Run(ctx)
}
