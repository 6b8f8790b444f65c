package cmd

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/nlkit/nlkit/tools/load"
)

func loadCommand() *cli.Command {
	return &cli.Command{
		Name:  "load",
		Usage: "HTTP load tools for experiments (mTCP's epserver and epwget)",
		Subcommands: []*cli.Command{
			{
				Name:  "server",
				Usage: "serve files from memory, one SO_REUSEPORT listener per core",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "listen", Value: ":8080", Usage: "address to listen on"},
					&cli.IntFlag{Name: "cores", Usage: "listeners (default: all cores)"},
					&cli.StringFlag{Name: "dir", Usage: "serve every file under this directory (read into memory at start)"},
					&cli.BoolFlag{Name: "synthetic", Value: true, Usage: "also serve /SIZE (e.g. /20k) as SIZE bytes"},
				},
				Action: loadServer,
			},
			{
				Name:      "wget",
				Usage:     "fetch a URL with many concurrent connections per core and report requests/s and response times",
				ArgsUsage: "http://HOST:PORT/PATH",
				Flags: []cli.Flag{
					&cli.IntFlag{Name: "n", Usage: "total requests (0: until --duration)"},
					&cli.DurationFlag{Name: "duration", Aliases: []string{"t"}, Usage: "run for this long"},
					&cli.IntFlag{Name: "cores", Aliases: []string{"N"}, Usage: "worker cores (default: all)"},
					&cli.IntFlag{Name: "c", Value: 10, Usage: "concurrent connections per core"},
					&cli.BoolFlag{Name: "keepalive", Usage: "reuse connections (default: a new connection per request)"},
					&cli.DurationFlag{Name: "timeout", Value: 10 * time.Second, Usage: "per request"},
					&cli.StringFlag{Name: "rss-key", Usage: "Toeplitz key (hex, 40 bytes; \"microsoft\" for the common default): choose source ports per core by the reply's RSS queue"},
					&cli.IntFlag{Name: "rss-queues", Usage: "receive queues of the client's NIC (with --rss-key)"},
					&cli.StringFlag{Name: "source", Usage: "local address (needed with --rss-key)"},
					&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no per-second lines"},
					newJSONFlag(),
				},
				Action: loadWget,
			},
		},
	}
}

func loadServer(c *cli.Context) error {
	cfg := load.ServerConfig{Addr: c.String("listen"), Cores: c.Int("cores"), Synthetic: c.Bool("synthetic")}
	if d := c.String("dir"); d != "" {
		files, err := load.LoadDir(d)
		if err != nil {
			return cli.Exit("nlkit: load server: "+err.Error(), 1)
		}
		cfg.Files = files
	}
	s, err := load.Listen(cfg)
	if err != nil {
		return fail(err)
	}
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() { <-ctx.Done(); s.Close() }()
	fmt.Fprintf(os.Stderr, "serving %d files from memory on %s (%d listeners)\n", len(cfg.Files), s.Addr(), len(s.Listeners()))
	s.Serve()
	fmt.Fprintf(os.Stderr, "%d requests, %d errors, %d bytes\n", s.Requests.Load(), s.Errors.Load(), s.BytesOut.Load())
	return nil
}

func loadWget(c *cli.Context) error {
	if c.Args().Len() != 1 {
		return usageErr("load wget: give one URL")
	}
	cfg := load.WgetConfig{URL: c.Args().First(), Requests: c.Int("n"), Duration: c.Duration("duration"),
		Cores: c.Int("cores"), Concurrency: c.Int("c"), KeepAlive: c.Bool("keepalive"), Timeout: c.Duration("timeout")}
	if k := c.String("rss-key"); k != "" {
		key := load.MicrosoftKey
		if k != "microsoft" {
			b, err := hex.DecodeString(strings.ReplaceAll(k, ":", ""))
			if err != nil || len(b) < 16 {
				return usageErr("load wget: --rss-key %q: want hex bytes (40 for IPv4/IPv6 4-tuples) or \"microsoft\"", k)
			}
			key = b
		}
		if c.Int("rss-queues") <= 0 {
			return usageErr("load wget: --rss-key needs --rss-queues")
		}
		src, err := netip.ParseAddr(c.String("source"))
		if err != nil {
			return usageErr("load wget: --rss-key needs --source ADDR")
		}
		cfg.RSS, cfg.Source = &load.RSS{Key: key, Queues: c.Int("rss-queues")}, src
	}
	js := jsonOut(c)
	if !c.Bool("quiet") {
		cfg.Progress = func(p load.Progress) {
			if js {
				printJSONLine(p)
				return
			}
			fmt.Fprintf(stdout, "[%4ds] %7d requests/s %5d errors %9.2f Mbit/s avg %v\n", p.Second, p.Requests, p.Errors,
				float64(p.Bytes)*8/1e6, p.Avg.Round(time.Microsecond))
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	r, err := load.Wget(ctx, cfg)
	if err != nil {
		return fail(err)
	}
	if js {
		if err := printJSON(stdout, r); err != nil {
			return err
		}
		if r.Errors > 0 {
			return cli.Exit("", 1) // as without -j: a run with errors did not succeed
		}
		return nil
	}
	fmt.Fprintf(stdout, "%d requests (%d errors) in %v: %.0f requests/s, %.2f Mbit/s\n", r.Requests, r.Errors,
		r.Elapsed.Round(time.Millisecond), r.PerSecond, float64(r.Bytes)*8/1e6/r.Elapsed.Seconds())
	fmt.Fprintf(stdout, "response time: avg %v p50 %v p99 %v max %v\n", r.Avg.Round(time.Microsecond),
		r.P50.Round(time.Microsecond), r.P99.Round(time.Microsecond), r.Max.Round(time.Microsecond))
	if r.FirstError != "" {
		fmt.Fprintf(stdout, "first error: %s\n", r.FirstError)
	}
	if r.Errors > 0 {
		return cli.Exit("", 1)
	}
	return nil
}
