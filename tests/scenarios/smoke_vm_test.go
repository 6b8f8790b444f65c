//go:build vmtest

package scenarios

import (
	"testing"
	"time"

	"github.com/nlkit/nlkit/netlinkproto/smoke"
	"github.com/nlkit/nlkit/tests/vm/vmtest"
)

// The foundation's scenario: the module answers over its generated family, and a full
// table dumps across many netlink messages. Mechanism scenarios join this package.
func TestScenarioSmoke(t *testing.T) {
	vmtest.Require(t)
	c, err := smoke.Dial()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	in, err := c.Info()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("kernel %s: %s %s, ABI %d, %s", vmtest.Kernel(), smoke.ModuleName, in.Version, in.ABI, in.Build)
	if err := c.DeleteItems(); err != nil {
		t.Fatal(err)
	}
	defer c.DeleteItems()
	if err := c.AddItems(1, smoke.MaxItems, "scenario"); err != nil {
		t.Fatal(err)
	}
	const rounds = 20
	start := time.Now()
	for i := 0; i < rounds; i++ {
		items, err := c.Items()
		if err != nil {
			t.Fatal(err)
		}
		if len(items) != smoke.MaxItems {
			t.Fatalf("dump %d: %d items, want %d", i, len(items), smoke.MaxItems)
		}
	}
	el := time.Since(start)
	t.Logf("dumped %d items %d times in %v: %.0f items/s", smoke.MaxItems, rounds, el.Round(time.Millisecond),
		float64(smoke.MaxItems*rounds)/el.Seconds())
}
