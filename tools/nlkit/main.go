// Command nlkit configures and observes nlkit's kernel mechanisms over netlink.
package main

import (
	"os"

	"github.com/nlkit/nlkit/tools/nlkit/cmd"
)

func main() {
	os.Exit(cmd.Run(os.Args[1:], os.Stdout, os.Stderr))
}
