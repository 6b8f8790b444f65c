package cmd

import (
	"fmt"
	"strconv"

	"github.com/urfave/cli/v2"

	"github.com/nlkit/nlkit/netlinkproto/smoke"
)

func smokeCommand() *cli.Command {
	jsonFlag := newJSONFlag()
	return &cli.Command{
		Name:  "smoke",
		Usage: "talk to the nlkit_smoke module (foundation self-test)",
		Subcommands: []*cli.Command{
			{
				Name:  "info",
				Usage: "show the loaded module's version, ABI and build",
				Flags: []cli.Flag{jsonFlag},
				Action: func(c *cli.Context) error {
					cl, err := smoke.Dial()
					if err != nil {
						return err
					}
					defer cl.Close()
					in, err := cl.Info()
					if err != nil {
						return err
					}
					if jsonOut(c) {
						return printJSON(stdout, in)
					}
					fmt.Fprintf(stdout, "module:  %s %s (ABI %d)\nbuild:   %s\nkernel:  %s\n", smoke.ModuleName, in.Version, in.ABI, in.Build, in.Kernel)
					return nil
				},
			},
			{
				Name:      "value",
				Usage:     "show this netns's value, or set it (needs CAP_NET_ADMIN)",
				ArgsUsage: "[NUMBER]",
				Flags:     []cli.Flag{jsonFlag},
				Action: func(c *cli.Context) error {
					cl, err := smoke.Dial()
					if err != nil {
						return err
					}
					defer cl.Close()
					if c.NArg() > 1 {
						return usageErr("smoke value takes at most one NUMBER")
					}
					if c.NArg() == 1 {
						n, err := strconv.ParseUint(c.Args().First(), 10, 32)
						if err != nil {
							return usageErr("smoke value: %q is not a number from 0 to 1000000", c.Args().First())
						}
						if err := cl.SetValue(uint32(n)); err != nil {
							return err
						}
					}
					v, err := cl.Value()
					if err != nil {
						return err
					}
					if jsonOut(c) {
						return printJSON(stdout, v)
					}
					fmt.Fprintf(stdout, "value %d (changed %d times)\n", v.Value, v.Changes)
					return nil
				},
			},
		},
	}
}
