package cmd

import (
	"testing"

	"github.com/nlkit/nlkit/netlinkproto"
)

// `nlkit version` reports every module nlkit ships (a mechanism added with nlgen new
// must be added to moduleFamilies too).
func TestVersionCoversEveryModule(t *testing.T) {
	have := map[string]bool{}
	for _, f := range moduleFamilies {
		have[f.Module] = true
	}
	for _, f := range netlinkproto.Families {
		if !have[f.Module] {
			t.Errorf("module %s (%s) is missing from moduleFamilies", f.Module, f.Spec)
		}
	}
	if len(moduleFamilies) != len(netlinkproto.Families) {
		t.Errorf("%d families in nlkit version, %d in netlinkproto.Families", len(moduleFamilies), len(netlinkproto.Families))
	}
}
