package cmd

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/nlkit/nlkit/netlinkproto/ustack"
	"github.com/nlkit/nlkit/netlinkproto/ustack/responder"
)

// nlkit version reports the module and its ABI
func init() { moduleFamilies = append(moduleFamilies, ustack.Family) }

func ustackCommand() *cli.Command {
	jsonFlag := newJSONFlag()
	return &cli.Command{
		Name:  "ustack",
		Usage: "user-level stack ports as netdevs: create, list, push counters (module ustack)",
		Description: "A ustack port is a netdev that stands for a NIC port a user-level packet stack\n" +
			"(DPDK, AF_XDP, AF_PACKET) drives: users configure it with ip, the stack reads that\n" +
			"and pushes its counters and link state into it. Stacks use the Go package\n" +
			"netlinkproto/ustack; these commands are for scripts. A port belongs to the socket that\n" +
			"created it: the one `add` makes is released when nlkit exits, and stays, carrier-off,\n" +
			"for a stack to attach to (as one made with `ip link add NAME type ustack`).",
		Subcommands: []*cli.Command{
			{
				Name:      "add",
				Usage:     "create a port (needs CAP_NET_ADMIN)",
				ArgsUsage: "[NAME] [address LLADDR] [numrxqueues N] [numtxqueues N]",
				Action:    ustackAdd,
			},
			{
				Name:      "del",
				Usage:     "delete a port nobody owns (needs CAP_NET_ADMIN)",
				ArgsUsage: "[dev] NAME",
				Action:    ustackDel,
			},
			{
				Name:      "show",
				Usage:     "list the ports of this netns: owner, carrier, counters (-s: per queue)",
				ArgsUsage: "[dev NAME]",
				Flags: []cli.Flag{jsonFlag, &cli.BoolFlag{Name: "stats", Aliases: []string{"s"},
					Usage: "also each queue's counters"}},
				Action: ustackShow,
			},
			{
				Name:      "config",
				Usage:     "what a stack reads from its port: state, addresses, routes, neighbours",
				ArgsUsage: "[dev] NAME",
				Flags: []cli.Flag{jsonFlag, &cli.BoolFlag{Name: "follow", Aliases: []string{"f"},
					Usage: "print it again at each change, until interrupted"}},
				Action: ustackConfig,
			},
			{
				Name: "responder",
				Usage: "run the example stack: AF_PACKET on LINK, answering ARP, ICMP and UDP echo (port 7)\n" +
					"for the port's addresses, its counters mirrored into the port, until interrupted",
				ArgsUsage: "link LINK [name PORT | attach PORT] [numrxqueues N] [numtxqueues N]",
				Action:    ustackResponder,
			},
			{
				Name:  "set-stats",
				Usage: "set the counters and carrier of a port nobody owns (needs CAP_NET_ADMIN)",
				ArgsUsage: "dev NAME [carrier on|off] [rx-packets N] [rx-bytes N] [rx-errors N] [rx-dropped N]\n" +
					"   [tx-packets N] [tx-bytes N] [tx-errors N] [tx-dropped N] [multicast N]",
				Action: ustackSetStats,
			},
		},
	}
}

func ustackDial() (*ustack.Client, error) {
	c, err := ustack.Dial()
	if err != nil {
		return nil, fail(err)
	}
	return c, nil
}

// ustackDev reads `[dev] NAME` (ip's form) and checks the device exists, as ip does.
func ustackDev(args []string, cmd string) (ustack.Dev, error) {
	if len(args) == 2 && args[0] == "dev" {
		args = args[1:]
	}
	if len(args) != 1 {
		return ustack.Dev{}, usageErr("ustack %s: want [dev] NAME", cmd)
	}
	if _, err := ifindexOf(args[0]); err != nil {
		return ustack.Dev{}, fail(fmt.Errorf("Cannot find device %q", args[0]))
	}
	return ustack.ByName(args[0]), nil
}

func ustackAdd(c *cli.Context) error {
	args := c.Args().Slice()
	var cfg ustack.PortConfig
	if len(args)%2 == 1 {
		cfg.Name, args = args[0], args[1:]
	}
	a, err := kv(args, "address", "numrxqueues", "numtxqueues")
	if err != nil {
		return err
	}
	if s, ok := a["address"]; ok {
		if cfg.Address, err = net.ParseMAC(s); err != nil || len(cfg.Address) != 6 {
			return usageErr("address: %q is not an Ethernet address (aa:bb:cc:dd:ee:ff)", s)
		}
	}
	if err := ustackQueues(a, &cfg); err != nil {
		return err
	}
	cl, err := ustackDial()
	if err != nil {
		return err
	}
	defer cl.Close()
	d, err := cl.NewPort(cfg)
	if err != nil {
		return fail(err)
	}
	fmt.Fprintf(stdout, "%s (ifindex %d)\n", d.Name, d.Index)
	return nil
}

// ustackQueues reads numrxqueues and numtxqueues, as ip link add takes them.
func ustackQueues(a map[string]string, cfg *ustack.PortConfig) error {
	for k, dst := range map[string]*int{"numrxqueues": &cfg.RxQueues, "numtxqueues": &cfg.TxQueues} {
		if s, ok := a[k]; ok {
			n, err := strconv.ParseUint(s, 10, 32)
			if err != nil || n < 1 || n > ustack.MaxQueues {
				return usageErr("%s: %q is not a number from 1 to %d", k, s, ustack.MaxQueues)
			}
			*dst = int(n)
		}
	}
	return nil
}

func ustackDel(c *cli.Context) error {
	d, err := ustackDev(c.Args().Slice(), "del")
	if err != nil {
		return err
	}
	cl, err := ustackDial()
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := cl.DeletePort(d); err != nil {
		return fail(err)
	}
	return nil
}

func ustackShow(c *cli.Context) error {
	var only *ustack.Dev
	if c.NArg() > 0 {
		d, err := ustackDev(c.Args().Slice(), "show")
		if err != nil {
			return err
		}
		only = &d
	}
	cl, err := ustackDial()
	if err != nil {
		return err
	}
	defer cl.Close()
	var ports []ustack.Port
	if only != nil {
		p, err := cl.Port(*only)
		if err != nil {
			return fail(err)
		}
		ports = []ustack.Port{p}
	} else if ports, err = cl.Ports(); err != nil {
		return fail(err)
	}
	if jsonOut(c) {
		if ports == nil {
			ports = []ustack.Port{}
		}
		return printJSON(stdout, ports)
	}
	for _, p := range ports {
		printPort(stdout, p, c.Bool("stats"))
	}
	return nil
}

// printPort writes a port as ip -s link writes a device: a header line, then the
// counters under their names.
func printPort(w io.Writer, p ustack.Port, queues bool) {
	carrier, owner := "NO-CARRIER", "none"
	if p.Carrier {
		carrier = "LOWER_UP"
	}
	if p.Owner != 0 {
		owner = fmt.Sprintf("portid %d", p.Owner)
	}
	fmt.Fprintf(w, "%d: %s: <%s> address %s numrxqueues %d numtxqueues %d\n", p.Ifindex, p.Ifname, carrier,
		p.Address, p.RxQueues, p.TxQueues)
	roc := ""
	if p.RemoveOnClose {
		roc = " remove-on-close"
	}
	fmt.Fprintf(w, "    owner %s (owners so far %d)%s\n", owner, p.Owners, roc)
	s := p.Stats
	fmt.Fprintf(w, "    RX:  %12s %10s %8s %8s %10s\n", "bytes", "packets", "errors", "dropped", "multicast")
	fmt.Fprintf(w, "         %12d %10d %8d %8d %10d\n", s.RxBytes, s.RxPackets, s.RxErrors, s.RxDropped, s.Multicast)
	fmt.Fprintf(w, "    TX:  %12s %10s %8s %8s %10s\n", "bytes", "packets", "errors", "dropped", "kernel")
	fmt.Fprintf(w, "         %12d %10d %8d %8d %10d\n", s.TxBytes, s.TxPackets, s.TxErrors, s.TxDropped, p.KernelDropped)
	if !queues {
		return
	}
	for _, q := range p.Queues {
		fmt.Fprintf(w, "    queue %d:", q.Index)
		if q.Index < p.RxQueues {
			fmt.Fprintf(w, " rx %d packets %d bytes", q.RxPackets, q.RxBytes)
		}
		if q.Index < p.TxQueues {
			fmt.Fprintf(w, " tx %d packets %d bytes", q.TxPackets, q.TxBytes)
		}
		fmt.Fprintln(w)
	}
}

func ustackSetStats(c *cli.Context) error {
	names := []string{"dev", "carrier"}
	for n := range ustack.CounterAttrs {
		names = append(names, n)
	}
	sort.Strings(names[2:])
	a, err := kv(c.Args().Slice(), names...)
	if err != nil {
		return err
	}
	name, ok := a["dev"]
	if !ok {
		return usageErr("ustack set-stats: dev NAME is required")
	}
	var u ustack.Update
	if s, ok := a["carrier"]; ok {
		up := s == "on"
		if s != "on" && s != "off" {
			return usageErr("carrier: %q is not on or off", s)
		}
		u.Carrier = &up
	}
	for k, typ := range ustack.CounterAttrs {
		if s, ok := a[k]; ok {
			v, err := strconv.ParseUint(s, 10, 64)
			if err != nil {
				return usageErr("%s: %q is not a whole number (0 to %d)", k, s, uint64(1<<64-1))
			}
			if u.Counters == nil {
				u.Counters = map[uint16]uint64{}
			}
			u.Counters[typ] = v
		}
	}
	if u.Carrier == nil && u.Counters == nil {
		return usageErr("ustack set-stats: nothing to set (%s)", strings.Join(names[1:], ", "))
	}
	d, err := ustackDev([]string{name}, "set-stats")
	if err != nil {
		return err
	}
	cl, err := ustackDial()
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := cl.SetStats(d, u); err != nil {
		return fail(err)
	}
	return nil
}

func ustackConfig(c *cli.Context) error {
	d, err := ustackDev(c.Args().Slice(), "config")
	if err != nil {
		return err
	}
	idx, _ := ifindexOf(d.Name)
	show := func(cfg ustack.Config) error {
		if jsonOut(c) {
			if c.Bool("follow") { // one object per line
				b, err := json.Marshal(cfg)
				if err == nil {
					fmt.Fprintf(stdout, "%s\n", b)
				}
				return err
			}
			return printJSON(stdout, cfg)
		}
		printConfig(stdout, cfg)
		return nil
	}
	if !c.Bool("follow") {
		cfg, err := ustack.ReadConfig(0, idx)
		if err != nil {
			return fail(err)
		}
		return show(cfg)
	}
	w, err := ustack.WatchConfig(0, idx)
	if err != nil {
		return fail(err)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() { <-sig; w.Close() }()
	cfg := w.Current()
	for {
		if err := show(cfg); err != nil {
			return fail(err)
		}
		if cfg, err = w.Next(0); err != nil {
			return nil // interrupted, or the port went away
		}
	}
}

func printConfig(w io.Writer, cfg ustack.Config) {
	state := "down"
	if cfg.Up {
		state = "up"
	}
	fmt.Fprintf(w, "%d: %s: %s mtu %d address %s\n", cfg.Ifindex, cfg.Name, state, cfg.MTU, cfg.Address)
	for _, a := range cfg.Addrs {
		fmt.Fprintf(w, "    addr %s\n", a)
	}
	for _, r := range cfg.Routes {
		fmt.Fprintf(w, "    route %s", r.Dst)
		if r.Gateway.IsValid() {
			fmt.Fprintf(w, " via %s", r.Gateway)
		}
		fmt.Fprintf(w, " table %d metric %d\n", r.Table, r.Metric)
	}
	for _, n := range cfg.Neighs {
		fmt.Fprintf(w, "    neigh %s lladdr %s state 0x%x\n", n.IP, n.MAC, n.State)
	}
}

func ustackResponder(c *cli.Context) error {
	a, err := kv(c.Args().Slice(), "link", "name", "attach", "numrxqueues", "numtxqueues")
	if err != nil {
		return err
	}
	cfg := responder.Config{Link: a["link"], Attach: a["attach"], Port: ustack.PortConfig{Name: a["name"]}}
	if cfg.Link == "" {
		return usageErr("ustack responder: link LINK is required")
	}
	if cfg.Attach != "" && cfg.Port.Name != "" {
		return usageErr("ustack responder: name and attach exclude each other")
	}
	if err := ustackQueues(a, &cfg.Port); err != nil {
		return err
	}
	if _, err := ifindexOf(cfg.Link); err != nil {
		return fail(fmt.Errorf("Cannot find device %q", cfg.Link))
	}
	cfg.OnConfig = func(cf ustack.Config) {
		fmt.Fprintf(stdout, "port %s: addresses %v\n", cf.Name, cf.Addrs)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	r, err := responder.Start(cfg)
	if err != nil {
		return fail(err)
	}
	fmt.Fprintf(stdout, "answering on %s through port %s (ifindex %d); ^C to stop\n", cfg.Link, r.Port().Name, r.Port().Index)
	<-sig
	st := r.Counters()
	if err := r.Close(); err != nil {
		return fail(err)
	}
	fmt.Fprintf(stdout, "rx %d packets %d bytes, tx %d packets %d bytes\n", st.RxPackets, st.RxBytes, st.TxPackets, st.TxBytes)
	return nil
}
