// Package cmd holds the `nlkit` command tree (urfave/cli/v2). Each mechanism adds a
// subcommand; every command has -j/--json output and clear errors for bad input.
package cmd

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"
)

// Version is set at build time (-ldflags -X).
var Version = "dev"

// App is the nlkit command.
func App() *cli.App {
	return &cli.App{
		Name:    "nlkit",
		Usage:   "configure and observe nlkit's kernel mechanisms",
		Version: Version,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Aliases: []string{"j"}, Usage: "JSON output"},
		},
		Commands: []*cli.Command{smokeCommand(), ratekeeperCommand(), mptcpCommand(), fcmCommand(), loadCommand(), ipCommand()},
	}
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

func printJSON(w io.Writer, v any) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(v)
}

var stdout io.Writer = os.Stdout

func usageErr(format string, a ...any) error {
	return cli.Exit(fmt.Sprintf("nlkit: "+format, a...), 2)
}

// Run runs nlkit with args (without the program name) in this process, writing to out and
// errOut, and returns the exit status the command would have: tests call it from a thread
// inside a network namespace instead of paying for an exec.
func Run(args []string, out, errOut io.Writer) int {
	oldOut, oldErr := stdout, stderr
	stdout, stderr = out, errOut
	defer func() { stdout, stderr = oldOut, oldErr }()
	app := App()
	app.Writer, app.ErrWriter = out, errOut
	app.ExitErrHandler = func(*cli.Context, error) {}
	err := app.Run(append([]string{"nlkit"}, args...))
	if err == nil {
		return 0
	}
	fmt.Fprintln(errOut, err)
	var ec cli.ExitCoder
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	return 1
}
