// Command nlgen regenerates every file derived from the family specs listed in
// netlinkproto.Families. It runs from `go generate ./...`.
//
// `nlgen new NAME` (from the repository root: go run ./netlinkproto/cmd/nlgen new NAME)
// creates a new mechanism's skeleton instead (package scaffold).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/nlkit/nlkit/netlinkproto"
	"github.com/nlkit/nlkit/netlinkproto/gen"
	"github.com/nlkit/nlkit/netlinkproto/scaffold"
)

func main() {
	root := flag.String("root", ".", "repository root")
	flag.Parse()
	if flag.NArg() > 0 {
		if flag.Arg(0) != "new" || flag.NArg() != 2 {
			fmt.Fprintln(os.Stderr, "usage: nlgen [-root DIR]          regenerate from the specs\n       nlgen [-root DIR] new NAME  create mechanism NAME's skeleton")
			os.Exit(2)
		}
		created, err := scaffold.New(*root, flag.Arg(1))
		if err != nil {
			fmt.Fprintln(os.Stderr, "nlgen:", err)
			os.Exit(1)
		}
		for _, p := range created {
			fmt.Println("nlgen: wrote", p)
		}
		fmt.Printf("nlgen: next: make vmtest KERNELS=6.12 PKG=./netlinkproto/%s, then make it yours (README, \"Adding a mechanism\")\n",
			scaffold.GoPackage(flag.Arg(1)))
		return
	}
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
