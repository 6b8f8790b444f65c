package cmd

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/nlkit/nlkit/netlinkproto/fcm"
	rkd "github.com/nlkit/nlkit/tools/ratekeeper"
)

func fcmCommand() *cli.Command {
	jsonFlag := &cli.BoolFlag{Name: "json", Aliases: []string{"j"}, Usage: "JSON output"}
	return &cli.Command{
		Name:  "fcm",
		Usage: "FCM: routers stamp their queue's price into TCP segments (sch_fcm)",
		Subcommands: []*cli.Command{
			{
				Name:  "watch",
				Usage: "print live samples of every fcm qdisc's queue and price",
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
		},
	}
}

func fcmRouterStatus(c *cli.Context) error {
	a, err := kv(c.Args().Slice(), "dev")
	if err != nil {
		return err
	}
	cl, err := fcm.Dial()
	if err != nil {
		return cli.Exit("nlkit: "+err.Error(), 1)
	}
	defer cl.Close()
	qs, err := cl.Qdiscs()
	if err != nil {
		return cli.Exit("nlkit: "+err.Error(), 1)
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
	fmt.Fprintln(w, "ID\tDEV\tHANDLE\tRATE\tLIMIT\tBVAL\tQMIN\tQUEUE\tPRICE\tMODIFIED\tPASSED\tOTHER\tDROPS")
	for _, q := range qs {
		fmt.Fprintf(w, "%d\t%s\t%x:\t%s\t%d\t%d\t%d\t%dp/%db\t%d\t%d\t%d\t%d\t%d\n", q.ID, q.Ifname, q.Handle>>16,
			rkd.FormatRate(q.Config.Rate), q.Config.Limit, q.Config.Bval, q.Config.Qmin, q.Qlen, q.Backlog,
			q.Price, q.Modified, q.Passed, q.Other, q.Drops)
	}
	return w.Flush()
}

// fcmSample is one line of `nlkit fcm watch`.
type fcmSample struct {
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

func fcmWatch(c *cli.Context) error {
	iv := c.Duration("interval")
	if iv < 10*time.Millisecond {
		return usageErr("fcm watch: --interval must be at least 10ms")
	}
	cl, err := fcm.Dial()
	if err != nil {
		return cli.Exit("nlkit: "+err.Error(), 1)
	}
	defer cl.Close()
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
	if !js {
		fmt.Fprintf(stdout, "%-12s %-8s %3s %7s %9s %6s %12s %10s %7s\n", "TIME", "DEV", "ID", "QLEN", "BACKLOG", "PRICE", "RATE", "MODIFIED", "DROPS")
	}
	for n := 0; c.Int("count") == 0 || n < c.Int("count"); n++ {
		qs, err := cl.Qdiscs()
		if err != nil {
			return cli.Exit("nlkit: "+err.Error(), 1)
		}
		now := time.Now()
		for _, q := range qs {
			s := fcmSample{Time: now, Ifname: q.Ifname, ID: q.ID, Qlen: q.Qlen, Backlog: q.Backlog, Price: q.Price,
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
				s.Qlen, s.Backlog, s.Price, rkd.FormatRate(uint64(s.Rate)), s.Modified, s.Drops)
		}
		select {
		case <-sig:
			return nil
		case <-tick.C:
		}
	}
	return nil
}
