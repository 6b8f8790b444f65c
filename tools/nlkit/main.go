// Command nlkit configures and observes nlkit's kernel mechanisms over netlink.
package main

import (
	"fmt"
	"os"

	"github.com/nlkit/nlkit/tools/nlkit/cmd"
)

func main() {
	if err := cmd.App().Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "nlkit:", err)
		os.Exit(1)
	}
}
