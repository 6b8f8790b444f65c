package cmd

import (
	"fmt"
	"text/tabwriter"

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
