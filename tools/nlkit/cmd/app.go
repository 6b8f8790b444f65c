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
	return &cli.App{
		Name:    "nlkit",
		Usage:   "configure and observe nlkit's kernel mechanisms",
		Version: Version,
		Flags: []cli.Flag{
			newJSONFlag(),
		},
		Commands: append([]*cli.Command{
			smokeCommand(), ratekeeperCommand(), mptcpCommand(), fcmCommand(), loadCommand(), ipCommand(),
			// nlgen new adds commands above this line
		}, append(docsCommands(), versionCommand())...),
		EnableBashCompletion: true,
	}
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
