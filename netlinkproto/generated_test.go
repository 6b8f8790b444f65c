//go:build !vmtest

package netlinkproto

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/nlkit/nlkit/netlinkproto/gen"
)

// TestGeneratedFilesUpToDate fails when a committed generated file differs from what
// the specs generate now: run `go generate ./...` and commit the result.
func TestGeneratedFilesUpToDate(t *testing.T) {
	files, err := gen.RenderAll("..", Families)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no generated files")
	}
	for p, want := range files {
		got, err := os.ReadFile(filepath.Join("..", p))
		if err != nil {
			t.Errorf("%s: %v (run `go generate ./...`)", p, err)
			continue
		}
		if string(got) != string(want) {
			t.Errorf("%s is stale: run `go generate ./...` and commit it", p)
		}
	}
}
