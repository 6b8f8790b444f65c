package cmd

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"github.com/urfave/cli/v2"

	"github.com/nlkit/nlkit/netlinkproto/equalize"
	"github.com/nlkit/nlkit/netlinkproto/fcm"
	"github.com/nlkit/nlkit/netlinkproto/fcmreceiver"
	"github.com/nlkit/nlkit/netlinkproto/genl"
	"github.com/nlkit/nlkit/netlinkproto/ratekeeper"
	"github.com/nlkit/nlkit/netlinkproto/smoke"
)

// moduleFamilies are the genl families of nlkit's modules, as this nlkit was built
// for them (a test checks the list against netlinkproto.Families); a mechanism that
// nlgen new adds registers its own from its command's file.
var moduleFamilies = []genl.Family{smoke.Family, ratekeeper.Family, fcm.Family, fcmreceiver.Family, equalize.Family}

// ModuleVersion is one module as the running kernel has it.
type ModuleVersion struct {
	Module      string `json:"module"`
	Loaded      bool   `json:"loaded"`
	Version     string `json:"version,omitempty"` // MODULE_VERSION, from /sys/module
	Family      string `json:"family"`
	KernelABI   *uint8 `json:"kernel_abi,omitempty"` // the family's version as registered
	ExpectedABI uint8  `json:"expected_abi"`         // the version this nlkit speaks
	Match       bool   `json:"abi_match"`
}

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "nlkit's version, and each nlkit module the kernel has loaded: its version and whether its netlink ABI is the one this nlkit speaks",
		Flags: []cli.Flag{newJSONFlag()},
		Action: func(c *cli.Context) error {
			mods, err := moduleVersions()
			if err != nil {
				return fail(err)
			}
			if jsonOut(c) {
				return printJSON(stdout, struct {
					Version string          `json:"version"`
					Go      string          `json:"go"`
					Modules []ModuleVersion `json:"modules"`
				}{Version, runtime.Version(), mods})
			}
			fmt.Fprintf(stdout, "nlkit %s (%s)\n", Version, runtime.Version())
			tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "module\tversion\tfamily\tabi\t")
			for _, m := range mods {
				v, abi := "not loaded", "-"
				if m.Loaded {
					v = m.Version
				}
				if m.KernelABI != nil {
					abi = fmt.Sprintf("%d", *m.KernelABI)
					if !m.Match {
						abi += fmt.Sprintf(" (this nlkit speaks %d: rebuild one of them)", m.ExpectedABI)
					}
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", m.Module, v, m.Family, abi)
			}
			return tw.Flush()
		},
	}
}

func moduleVersions() ([]ModuleVersion, error) {
	c, err := genetlink.Dial(nil)
	if err != nil {
		return nil, fmt.Errorf("generic netlink: %w", err)
	}
	defer c.Close()
	var out []ModuleVersion
	for _, f := range moduleFamilies {
		m := ModuleVersion{Module: f.Module, Family: f.Name, ExpectedABI: f.ABI}
		if b, err := os.ReadFile("/sys/module/" + f.Module + "/version"); err == nil {
			m.Loaded, m.Version = true, strings.TrimSpace(string(b))
		} else if _, err := os.Stat("/sys/module/" + f.Module); err == nil {
			m.Loaded = true
		}
		kf, err := c.GetFamily(f.Name)
		switch {
		case err == nil:
			m.KernelABI, m.Match = &kf.Version, kf.Version == f.ABI
		case errors.Is(err, syscall.ENOENT) || netlink.IsNotExist(err):
		default:
			return nil, fmt.Errorf("family %s: %w", f.Name, err)
		}
		out = append(out, m)
	}
	return out, nil
}
