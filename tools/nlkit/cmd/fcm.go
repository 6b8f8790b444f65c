package cmd

import (
	"fmt"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/nlkit/nlkit/netlinkproto/fcm"
	"github.com/nlkit/nlkit/netlinkproto/fcmreceiver"
	"github.com/nlkit/nlkit/tools/units"
)

func fcmCommand() *cli.Command {
	jsonFlag := newJSONFlag()
	return &cli.Command{
		Name:  "fcm",
		Usage: "FCM: routers stamp their queue's price into TCP segments (sch_fcm), receivers turn it into window control (fcm_receiver)",
		Subcommands: []*cli.Command{
			{
				Name:  "watch",
				Usage: "print live samples of every fcm qdisc's queue and price, and of the receiver's connections' windows",
				Flags: []cli.Flag{
					&cli.DurationFlag{Name: "interval", Aliases: []string{"i"}, Value: 100 * time.Millisecond, Usage: "sampling interval"},
					&cli.IntFlag{Name: "count", Aliases: []string{"c"}, Usage: "stop after this many samples (0: until interrupted)"},
					jsonFlag,
				},
				Action: fcmWatch,
			},
			{
				Name:  "router",
				Usage: "the router qdiscs (sch_fcm)",
				Subcommands: []*cli.Command{
					{
						Name:      "status",
						Usage:     "show every fcm qdisc of this netns, or those of one device",
						ArgsUsage: "[dev DEV]",
						Flags:     []cli.Flag{jsonFlag},
						Action:    fcmRouterStatus,
					},
				},
			},
			{
				Name:  "receiver",
				Usage: "the receiver module (fcm_receiver) of this netns",
				Subcommands: []*cli.Command{
					{
						Name:   "status",
						Usage:  "show the receiver's parameters and counters",
						Flags:  []cli.Flag{jsonFlag},
						Action: fcmReceiverStatus,
					},
					{
						Name:      "set",
						Usage:     "change the receiver's parameters in this netns (needs CAP_NET_ADMIN)",
						ArgsUsage: "[enable on|off] [alpha PCT] [tau N] [ps_thresh PCT] [weight N] [mss_delta BYTES] [max_conns N] [idle_timeout SECS] [exid N]",
						Action:    fcmReceiverSet,
					},
					{
						Name:   "conns",
						Usage:  "list the connections the receiver tracks",
						Flags:  []cli.Flag{jsonFlag},
						Action: fcmReceiverConns,
					},
				},
			},
		},
	}
}

func fcmRouterStatus(c *cli.Context) error {
	a, err := kv(c.Args().Slice(), "dev")
	if err != nil {
		return err
	}
	cl, err := fcmDial()
	if err != nil {
		return err
	}
	defer cl.Close()
	qs, err := cl.Qdiscs()
	if err != nil {
		return fail(err)
	}
	if dev, ok := a["dev"]; ok {
		var keep []fcm.Qdisc
		for _, q := range qs {
			if q.Ifname == dev {
				keep = append(keep, q)
			}
		}
		if len(keep) == 0 {
			return cli.Exit(fmt.Sprintf("nlkit: no fcm qdisc on %s", dev), 1)
		}
		qs = keep
	}
	if jsonOut(c) {
		if qs == nil {
			qs = []fcm.Qdisc{}
		}
		return printJSON(stdout, qs)
	}
	w := tabwriter.NewWriter(stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tDEV\tHANDLE\tRATE\tLIMIT\tBVAL\tQMIN\tQUEUE\tPRICE\tMODIFIED\tPASSED\tOTHER\tDROPS\tOPTION\tGSO")
	for _, q := range qs {
		gso := "split" // tc's split-gso: every segment priced at its own dequeue
		if !q.Config.SplitGSO {
			gso = "whole" // no-split-gso: one price per GSO packet
		}
		fmt.Fprintf(w, "%d\t%s\t%x:\t%s\t%d\t%d\t%d\t%dp/%db\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n", q.ID, q.Ifname, q.Handle>>16,
			units.FormatRate(q.Config.Rate), q.Config.Limit, q.Config.Bval, q.Config.Qmin, q.Qlen, q.Backlog,
			q.Price, q.Modified, q.Passed, q.Other, q.Drops, optionName(q.Config.Exid), gso)
	}
	return w.Flush()
}

// optionName says which TCP option carries the price: 92, or the RFC 6994 form.
func optionName(exid uint16) string {
	if exid == 0 {
		return strconv.Itoa(fcm.OptionKind)
	}
	return fmt.Sprintf("exid:%#04x", exid)
}

// fcmSample is one queue line of `nlkit fcm watch`.
type fcmSample struct {
	Kind     string    `json:"kind"` // "queue"
	Time     time.Time `json:"time"`
	Ifname   string    `json:"ifname"`
	ID       uint32    `json:"id"`
	Qlen     uint32    `json:"qlen"`
	Backlog  uint32    `json:"backlog"`
	Price    uint32    `json:"price"`
	Rate     float64   `json:"rate"` // bytes/s sent since the last sample
	Modified uint64    `json:"modified"`
	Drops    uint64    `json:"drops"`
}

// fcmConnSample is one receiver connection line of `nlkit fcm watch`.
type fcmConnSample struct {
	Kind string           `json:"kind"` // "conn"
	Time time.Time        `json:"time"`
	Conn fcmreceiver.Conn `json:"conn"`
}

func fcmWatch(c *cli.Context) error {
	iv := c.Duration("interval")
	if iv < 10*time.Millisecond {
		return usageErr("fcm watch: --interval must be at least 10ms")
	}
	// The routers' queues where sch_fcm is loaded, the receiver's connections where
	// fcm_receiver is: either, or both.
	cl, qerr := fcm.Dial()
	if qerr == nil {
		defer cl.Close()
	}
	rc, rerr := fcmreceiver.Dial()
	if rerr == nil {
		defer rc.Close()
	}
	if qerr != nil && rerr != nil {
		return fail(fmt.Errorf("%w; %w", qerr, rerr))
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	type prevState struct {
		bytes uint64
		at    time.Time
	}
	prev := map[uint32]prevState{}
	tick := time.NewTicker(iv)
	defer tick.Stop()
	js := jsonOut(c)
	if !js && qerr == nil {
		fmt.Fprintf(stdout, "%-12s %-8s %3s %7s %9s %6s %12s %10s %7s\n", "TIME", "DEV", "ID", "QLEN", "BACKLOG", "PRICE", "RATE", "MODIFIED", "DROPS")
	}
	for n := 0; c.Int("count") == 0 || n < c.Int("count"); n++ {
		var qs []fcm.Qdisc
		if qerr == nil {
			var err error
			if qs, err = cl.Qdiscs(); err != nil {
				return fail(err)
			}
		}
		now := time.Now()
		for _, q := range qs {
			s := fcmSample{Kind: "queue", Time: now, Ifname: q.Ifname, ID: q.ID, Qlen: q.Qlen, Backlog: q.Backlog, Price: q.Price,
				Modified: q.Modified, Drops: q.Drops}
			if p, ok := prev[q.ID]; ok && q.Bytes >= p.bytes {
				s.Rate = float64(q.Bytes-p.bytes) / now.Sub(p.at).Seconds()
			}
			prev[q.ID] = prevState{q.Bytes, now}
			if js {
				printJSONLine(s)
				continue
			}
			fmt.Fprintf(stdout, "%-12s %-8s %3d %7d %9d %6d %12s %10d %7d\n", now.Format("15:04:05.000"), s.Ifname, s.ID,
				s.Qlen, s.Backlog, s.Price, units.FormatRate(uint64(s.Rate)), s.Modified, s.Drops)
		}
		if rerr == nil {
			cs, err := rc.Conns()
			if err != nil {
				return fail(err)
			}
			for _, x := range cs {
				if js {
					printJSONLine(fcmConnSample{Kind: "conn", Time: now, Conn: x})
					continue
				}
				fmt.Fprintf(stdout, "%-12s conn %s %s %s window %d rate %s price %d srtt %.1fms\n", now.Format("15:04:05.000"),
					x.Local, x.Remote, x.State, x.Window, units.FormatRate(x.Rate), x.Price, float64(x.SRTT)/1000)
			}
		}
		select {
		case <-sig:
			return nil
		case <-tick.C:
		}
	}
	return nil
}

func fcmReceiverStatus(c *cli.Context) error {
	if c.Args().Len() > 0 {
		return usageErr("fcm receiver status takes no arguments")
	}
	cl, err := fcmReceiverDial()
	if err != nil {
		return err
	}
	defer cl.Close()
	r, err := cl.Receiver()
	if err != nil {
		return fail(err)
	}
	if jsonOut(c) {
		return printJSON(stdout, r)
	}
	p := r.Params
	on := "off"
	if p.Enabled {
		on = "on"
	}
	fmt.Fprintf(stdout, "receiver %s alpha %d tau %d ps_thresh %d weight %d mss_delta %d max_conns %d idle_timeout %ds option %s\n",
		on, p.Alpha, p.Tau, p.PsThresh, p.Weight, p.MSSDelta, p.MaxConns, p.IdleTimeout, optionName(p.Exid))
	fmt.Fprintf(stdout, " conns %d tracked %d table_full %d expired %d priced %d malformed %d lowered %d mss_lowered %d\n",
		r.Conns, r.Tracked, r.TableFull, r.Expired, r.Priced, r.Malformed, r.Lowered, r.MSSLowered)
	return nil
}

// parseReceiverChange parses `fcm receiver set` arguments.
func parseReceiverChange(args []string) (fcmreceiver.Change, error) {
	var ch fcmreceiver.Change
	a, err := kv(args, "enable", "alpha", "tau", "ps_thresh", "weight", "mss_delta", "max_conns", "idle_timeout", "exid")
	if err != nil {
		return ch, err
	}
	if len(a) == 0 {
		return ch, usageErr("fcm receiver set: nothing to set")
	}
	if v, ok := a["enable"]; ok {
		var on bool
		switch v {
		case "on", "1", "yes":
			on = true
		case "off", "0", "no":
		default:
			return ch, usageErr("enable: %q is not on or off", v)
		}
		ch.Enabled = &on
	}
	for _, f := range []struct {
		name   string
		lo, hi uint64
		dst    **uint32
	}{
		{"alpha", 1, 100, &ch.Alpha}, {"tau", 1, 100, &ch.Tau}, {"ps_thresh", 0, 10000, &ch.PsThresh},
		{"weight", 1, 1<<32 - 1, &ch.Weight}, {"mss_delta", 0, 256, &ch.MSSDelta},
		{"max_conns", 1, 4194304, &ch.MaxConns}, {"idle_timeout", 1, 86400, &ch.IdleTimeout},
	} {
		v, ok := a[f.name]
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n < f.lo || n > f.hi {
			return ch, usageErr("%s: %q is not a whole number in %d..%d", f.name, v, f.lo, f.hi)
		}
		u := uint32(n)
		*f.dst = &u
	}
	if v, ok := a["exid"]; ok {
		n, err := strconv.ParseUint(v, 0, 16)
		if err != nil {
			return ch, usageErr("exid: %q is not a number in 0..65535 (0: option 92; else the RFC 6994 ExID, e.g. 0xfc11)", v)
		}
		u := uint16(n)
		ch.Exid = &u
	}
	return ch, nil
}

func fcmReceiverSet(c *cli.Context) error {
	ch, err := parseReceiverChange(c.Args().Slice())
	if err != nil {
		return err
	}
	cl, err := fcmReceiverDial()
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := cl.SetReceiver(ch); err != nil {
		return fail(err)
	}
	return nil
}

func fcmReceiverConns(c *cli.Context) error {
	if c.Args().Len() > 0 {
		return usageErr("fcm receiver conns takes no arguments")
	}
	cl, err := fcmReceiverDial()
	if err != nil {
		return err
	}
	defer cl.Close()
	cs, err := cl.Conns()
	if err != nil {
		return fail(err)
	}
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].Local != cs[j].Local {
			return cs[i].Local.Addr().Less(cs[j].Local.Addr()) || (cs[i].Local.Addr() == cs[j].Local.Addr() && cs[i].Local.Port() < cs[j].Local.Port())
		}
		return cs[i].Remote.String() < cs[j].Remote.String()
	})
	if jsonOut(c) {
		return printJSON(stdout, cs)
	}
	w := tabwriter.NewWriter(stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(w, "LOCAL\tREMOTE\tSTATE\tWSCALE\tMSS\tWINDOW\tKERNEL\tRATE\tPRICE\tSRTT\tRX\tLOWERED\tIDLE")
	for _, x := range cs {
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\t%d\t%.1fms\t%d\t%d\t%dms\n", x.Local, x.Remote, x.State, x.WScale,
			x.MSS, x.Window, x.KernelWindow, units.FormatRate(x.Rate), x.Price, float64(x.SRTT)/1000, x.RxBytes, x.Lowered, x.Idle)
	}
	return w.Flush()
}

// fcmDial connects to the fcm family of this netns; its error is the command's exit.
func fcmDial() (*fcm.Client, error) {
	cl, err := fcm.Dial()
	if err != nil {
		return nil, fail(err)
	}
	return cl, nil
}

func fcmReceiverDial() (*fcmreceiver.Client, error) {
	cl, err := fcmreceiver.Dial()
	if err != nil {
		return nil, fail(err)
	}
	return cl, nil
}
