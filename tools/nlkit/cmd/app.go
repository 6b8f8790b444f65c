// Package cmd holds the `nlkit` command tree (urfave/cli/v2). Each mechanism adds a
// subcommand; every command has -j/--json output and clear errors for bad input.
package cmd

import (
	"errors"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"
)

// Version is set at build time (-ldflags -X).
var Version = "dev"

// App is the nlkit command.
func App() *cli.App {
	app := &cli.App{
		Name:    "nlkit",
		Usage:   "configure and observe nlkit's kernel mechanisms",
		Version: Version,
		Flags: []cli.Flag{
			newJSONFlag(), newPrettyFlag(),
		},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return cli.Exit("nlkit: "+err.Error()+"\nRun 'nlkit --help' for usage.", 2)
		},
		CommandNotFound: func(c *cli.Context, name string) {
			where := "nlkit"
			if c.Command != nil && c.Command.HelpName != "" {
				where = c.Command.HelpName
			}
			unknownCommand = fmt.Sprintf("nlkit: unknown command %q for %s\nRun '%s --help' for usage.", name, where, where)
		},
		Commands: append([]*cli.Command{
			smokeCommand(), ratekeeperCommand(), mptcpCommand(), fcmCommand(), loadCommand(), ipCommand(),
			ustackCommand(),
			// nlgen new adds commands above this line
		}, append(docsCommands(), versionCommand())...),
		EnableBashCompletion: true,
	}
	shortUsage(app.Commands, "")
	return app
}

// unknownCommand is set when a word names no command (urfave/cli calls the handler and
// then succeeds): Run reports it as a usage error.
var unknownCommand string

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
	prettyJSON = false
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "-p" || a == "-pretty" || a == "--pretty" {
			prettyJSON = true
		}
	}
	unknownCommand = ""
	err := app.Run(Normalize(append([]string{"nlkit"}, args...)))
	if err == nil && unknownCommand != "" {
		fmt.Fprintln(errOut, unknownCommand)
		return 2
	}
	if err == nil {
		return 0
	}
	var ec cli.ExitCoder
	if errors.As(err, &ec) {
		if msg := err.Error(); msg != "" {
			fmt.Fprintln(errOut, msg)
		}
		return ec.ExitCode()
	}
	fmt.Fprintln(errOut, "nlkit:", err)
	return 1
}
