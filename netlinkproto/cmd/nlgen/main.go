// Command nlgen regenerates every file derived from the family specs listed in
// netlinkproto.Families. It runs from `go generate ./...`.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/nlkit/nlkit/netlinkproto"
	"github.com/nlkit/nlkit/netlinkproto/gen"
)

func main() {
	root := flag.String("root", ".", "repository root")
	flag.Parse()
	files, err := gen.RenderAll(*root, netlinkproto.Families)
	if err != nil {
		fmt.Fprintln(os.Stderr, "nlgen:", err)
		os.Exit(1)
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		full := filepath.Join(*root, p)
		if old, err := os.ReadFile(full); err == nil && string(old) == string(files[p]) {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			fmt.Fprintln(os.Stderr, "nlgen:", err)
			os.Exit(1)
		}
		if err := os.WriteFile(full, files[p], 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "nlgen:", err)
			os.Exit(1)
		}
		fmt.Println("nlgen: wrote", p)
	}
}
