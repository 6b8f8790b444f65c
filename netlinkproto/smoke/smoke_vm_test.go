//go:build vmtest

package smoke_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/nlkit/nlkit/netlinkproto/genl"
	"github.com/nlkit/nlkit/netlinkproto/smoke"
	"github.com/nlkit/nlkit/tests/vm/vmtest"
)

func dial(t *testing.T) *smoke.Client {
	t.Helper()
	vmtest.Require(t)
	c, err := smoke.Dial()
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestInfo(t *testing.T) {
	c := dial(t)
	in, err := c.Info()
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../../VERSION")
	if err != nil {
		t.Fatal(err)
	}
	if in.Version != strings.TrimSpace(string(want)) {
		t.Errorf("module version %q, want %q", in.Version, strings.TrimSpace(string(want)))
	}
	if in.ABI != smoke.FamilyVersion {
		t.Errorf("ABI %d, want %d", in.ABI, smoke.FamilyVersion)
	}
	if rel := vmtest.Release(t); in.Kernel != rel {
		t.Errorf("kernel %q, want %q", in.Kernel, rel)
	}
	if !strings.Contains(in.Build, "built against") {
		t.Errorf("build string %q", in.Build)
	}
	t.Logf("module: %+v", in)
}

// `nlkit version` sees every nlkit module the guest loaded, with the tree's VERSION and
// the netlink ABI this nlkit speaks.
func TestVersionCommand(t *testing.T) {
	vmtest.Require(t)
	want, err := os.ReadFile("../../VERSION")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(vmtest.Nlkit(t), "version", "-j").Output()
	if err != nil {
		t.Fatalf("nlkit version -j: %v", err)
	}
	var v struct {
		Modules []struct {
			Module    string `json:"module"`
			Version   string `json:"version"`
			Loaded    bool   `json:"loaded"`
			KernelABI *uint8 `json:"kernel_abi"`
			AbiMatch  bool   `json:"abi_match"`
		}
	}
	if err := json.Unmarshal(out, &v); err != nil || len(v.Modules) < 5 {
		t.Fatalf("nlkit version -j: %v\n%s", err, out)
	}
	for _, m := range v.Modules {
		if !m.Loaded || m.Version != strings.TrimSpace(string(want)) || m.KernelABI == nil || !m.AbiMatch {
			t.Errorf("%s: loaded %v version %q (want %q) kernel ABI %v match %v", m.Module, m.Loaded, m.Version, strings.TrimSpace(string(want)), m.KernelABI, m.AbiMatch)
		}
	}
	text, _ := exec.Command(vmtest.Nlkit(t), "version").Output()
	t.Logf("nlkit version:\n%s", text)
}

func TestSetValueNotifies(t *testing.T) {
	c := dial(t)
	w, err := smoke.WatchValue()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	before, err := c.Value()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetValue(before.Value + 7); err != nil {
		t.Fatal(err)
	}
	after, err := c.Value()
	if err != nil {
		t.Fatal(err)
	}
	if after.Value != before.Value+7 || after.Changes != before.Changes+1 {
		t.Fatalf("after set: %+v (before %+v)", after, before)
	}
	ev, err := w.Next(10 * time.Second)
	if err != nil {
		t.Fatalf("no value-changed event: %v", err)
	}
	if ev != after {
		t.Fatalf("event %+v, want %+v", ev, after)
	}
}

// extackOf asserts err is a kernel rejection with errno want and an extack message.
func extackOf(t *testing.T, err error, want syscall.Errno) string {
	t.Helper()
	var ge *genl.Error
	if !errors.As(err, &ge) {
		t.Fatalf("want a *genl.Error with %v, got %v", want, err)
	}
	if !errors.Is(err, want) {
		t.Fatalf("want errno %v, got %v", want, err)
	}
	if ge.Message == "" {
		t.Fatalf("rejection without an extack message: %v", err)
	}
	return ge.Message
}

func encode(t *testing.T, fn func(ae *netlink.AttributeEncoder)) []byte {
	t.Helper()
	ae := netlink.NewAttributeEncoder()
	fn(ae)
	b, err := ae.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Every rejected attribute carries an extack message, and changes nothing.
func TestBadInputRejectedWithExtack(t *testing.T) {
	c := dial(t)
	before, err := c.Value()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		op    string
		cmd   uint8
		attrs []byte
		errno syscall.Errno
	}{
		{"value out of range", "set-value", smoke.CmdSetValue,
			encode(t, func(ae *netlink.AttributeEncoder) { ae.Uint32(smoke.AttrValueValue, 1000001) }), unix.ERANGE},
		{"value missing", "set-value", smoke.CmdSetValue, nil, unix.EINVAL},
		{"attribute not in the request", "set-value", smoke.CmdSetValue,
			encode(t, func(ae *netlink.AttributeEncoder) {
				ae.Uint32(smoke.AttrValueValue, 5)
				ae.Uint64(smoke.AttrValueChanges, 9)
			}), unix.EINVAL},
		{"unknown attribute type", "set-value", smoke.CmdSetValue,
			encode(t, func(ae *netlink.AttributeEncoder) {
				ae.Uint32(smoke.AttrValueValue, 5)
				ae.Uint32(77, 1)
			}), unix.EINVAL},
		{"wrong attribute size", "set-value", smoke.CmdSetValue,
			encode(t, func(ae *netlink.AttributeEncoder) { ae.Uint8(smoke.AttrValueValue, 5) }), unix.EINVAL},
		{"label too long", "add-items", smoke.CmdAddItems,
			encode(t, func(ae *netlink.AttributeEncoder) {
				ae.Uint32(smoke.AttrItemId, 1)
				ae.String(smoke.AttrItemLabel, strings.Repeat("x", smoke.LabelMaxLen+1))
			}), unix.EINVAL},
		{"item id zero", "add-items", smoke.CmdAddItems,
			encode(t, func(ae *netlink.AttributeEncoder) { ae.Uint32(smoke.AttrItemId, 0) }), unix.ERANGE},
		{"too many items", "add-items", smoke.CmdAddItems,
			encode(t, func(ae *netlink.AttributeEncoder) {
				ae.Uint32(smoke.AttrItemId, 1)
				ae.Uint32(smoke.AttrItemCount, smoke.MaxItems+1)
			}), unix.ERANGE},
		{"id range overflows", "add-items", smoke.CmdAddItems,
			encode(t, func(ae *netlink.AttributeEncoder) {
				ae.Uint32(smoke.AttrItemId, 0xffffffff)
				ae.Uint32(smoke.AttrItemCount, 2)
			}), unix.ERANGE},
		{"get without id", "get-item", smoke.CmdGetItem, nil, unix.EINVAL},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := c.Raw(tc.op, tc.cmd, tc.attrs)
			msg := extackOf(t, err, tc.errno)
			t.Logf("%s -> %v", tc.name, err)
			if !strings.Contains(err.Error(), msg) {
				t.Fatalf("error text %q does not carry the kernel's message %q", err, msg)
			}
		})
	}
	after, err := c.Value()
	if err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Fatalf("rejected requests changed the value: %+v -> %+v", before, after)
	}
	items, err := c.Items()
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 0 {
		t.Fatalf("rejected requests left %d items", len(items))
	}
}

func TestItemsDumpSpansMessages(t *testing.T) {
	c := dial(t)
	if err := c.DeleteItems(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.DeleteItems() })
	const n = 3000 // ~100 KiB of replies: many dump rounds
	if err := c.AddItems(1, n, "item"); err != nil {
		t.Fatal(err)
	}
	items, err := c.Items()
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != n || c.Skipped != 0 {
		t.Fatalf("dump returned %d items (%d skipped), want %d", len(items), c.Skipped, n)
	}
	for i, it := range items {
		if it.ID != uint32(i+1) || it.Label != "item" {
			t.Fatalf("item %d is %+v", i, it)
		}
	}
	got, err := c.Item(1234)
	if err != nil || got.ID != 1234 {
		t.Fatalf("get 1234: %+v %v", got, err)
	}
	_, err = c.Item(n + 1)
	if msg := extackOf(t, err, unix.ENOENT); !strings.Contains(msg, "no item") {
		t.Fatalf("missing item message %q", msg)
	}
	err = c.AddItems(10, 1, "dup")
	if msg := extackOf(t, err, unix.EEXIST); !strings.Contains(msg, "exists") {
		t.Fatalf("duplicate message %q", msg)
	}
	err = c.AddItems(n+1, smoke.MaxItems-n+1, "")
	extackOf(t, err, unix.ENOSPC)
	// all or nothing: the failed adds left the table as it was
	if items, _ = c.Items(); len(items) != n {
		t.Fatalf("after failed adds: %d items, want %d", len(items), n)
	}
	// del-items with an id deletes that item alone
	if err := c.DeleteItem(1234); err != nil {
		t.Fatalf("delete 1234: %v", err)
	}
	if _, err = c.Item(1234); err == nil {
		t.Fatal("item 1234 is still there after its delete")
	}
	if items, _ = c.Items(); len(items) != n-1 {
		t.Fatalf("after deleting one item: %d items, want %d", len(items), n-1)
	}
	err = c.DeleteItem(1234)
	if msg := extackOf(t, err, unix.ENOENT); !strings.Contains(msg, "no item") {
		t.Fatalf("deleting a missing item: message %q", msg)
	}
}

// While another connection replaces the whole table, every dump must see either the
// empty table or the full one: interrupted dumps (NLM_F_DUMP_INTR) are retried.
func TestDumpInterruptedIsRetried(t *testing.T) {
	c := dial(t)
	writer := dial(t)
	const n = 2000
	if err := c.AddItems(1, n, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.DeleteItems() })
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	var werr error
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if werr = writer.DeleteItems(); werr != nil {
				return
			}
			if werr = writer.AddItems(1, n, ""); werr != nil {
				return
			}
		}
	}()
	deadline := time.Now().Add(8 * time.Second)
	dumps, gaveUp := 0, 0
	for time.Now().Before(deadline) {
		items, err := c.Items()
		if errors.Is(err, unix.EINTR) {
			gaveUp++ // interrupted more often than the retry bound: reported, not partial
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		dumps++
		if len(items) != 0 && len(items) != n {
			t.Fatalf("dump %d saw a torn table: %d items", dumps, len(items))
		}
	}
	close(stop)
	wg.Wait()
	if werr != nil {
		t.Fatal(werr)
	}
	if dumps == 0 {
		t.Fatalf("no dump completed (%d gave up after retries)", gaveUp)
	}
	t.Logf("%d consistent dumps, %d gave up after %d retries", dumps, gaveUp, genl.DumpRetries)
}

// TestMain lets the binary act as a child caller: vmtest.RunChild re-executes it with
// NLKIT_TEST_CHILD set, unprivileged or in namespaces of its own.
func TestMain(m *testing.M) {
	if os.Getenv(vmtest.ChildEnv) != "" {
		os.Exit(childMain())
	}
	os.Exit(m.Run())
}

func childMain() int {
	c, err := smoke.Dial()
	if err != nil {
		fmt.Println("CHILD dial:", err)
		return 3
	}
	v, err := c.Value()
	if err != nil {
		fmt.Println("CHILD get-value:", err)
		return 4
	}
	err = c.SetValue(v.Value + 1)
	switch {
	case errors.Is(err, unix.EPERM):
		fmt.Println("CHILD set-value: EPERM:", err)
	case err != nil:
		fmt.Println("CHILD set-value: other error:", err)
	default:
		after, _ := c.Value()
		fmt.Printf("CHILD set-value: ok changes=%d\n", after.Changes)
	}
	return 0
}

// Mutating operations need CAP_NET_ADMIN in the user namespace that owns the netns.
func TestMutationNeedsCapNetAdmin(t *testing.T) {
	c := dial(t)
	before, err := c.Value()
	if err != nil {
		t.Fatal(err)
	}
	out, err := vmtest.RunChild(t, "nobody", vmtest.Unprivileged())
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(out, "CHILD set-value: EPERM:") || !strings.Contains(out, "CAP_NET_ADMIN") {
		t.Fatalf("an unprivileged caller was not refused with a clear message:\n%s", out)
	}
	// root of its own user namespace, but this netns belongs to the initial one: refused
	out, err = vmtest.RunChild(t, "userns", vmtest.OwnUserNs(false))
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(out, "CHILD set-value: EPERM:") {
		t.Fatalf("root of a child user namespace changed a netns it does not own:\n%s", out)
	}
	// root of its own user namespace, owning a new netns: allowed there, and only there
	out, err = vmtest.RunChild(t, "userns+netns", vmtest.OwnUserNs(true))
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(out, "CHILD set-value: ok changes=1") {
		t.Fatalf("CAP_NET_ADMIN in the netns's own user namespace was not enough:\n%s", out)
	}
	after, err := c.Value()
	if err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Fatalf("the children changed this netns's value: %+v -> %+v", before, after)
	}
}

// Load and unload the module 50 times with traffic on its family each time (the
// runner checks kmemleak after the final unload); also check the client's errors for
// a missing module and for a module that speaks another ABI.
func TestLoadUnloadCycles(t *testing.T) {
	vmtest.Require(t)
	ko := vmtest.ModulePath(t, smoke.ModuleName)
	t.Cleanup(func() {
		// leave the module loaded for the tests that follow, as the runner loaded it
		vmtest.UnloadModule(smoke.ModuleName)
		if err := vmtest.LoadModule(ko, ""); err != nil {
			t.Errorf("reload: %v", err)
		}
	})
	for i := 0; i < 50; i++ {
		if err := vmtest.UnloadModule(smoke.ModuleName); err != nil {
			t.Fatalf("cycle %d: unload: %v", i, err)
		}
		if i == 0 {
			_, err := smoke.Dial()
			if !errors.Is(err, genl.ErrNotLoaded) || !strings.Contains(err.Error(), "modprobe nlkit_smoke") {
				t.Fatalf("dial without the module: %v", err)
			}
		}
		if err := vmtest.LoadModule(ko, ""); err != nil {
			t.Fatalf("cycle %d: load: %v", i, err)
		}
		c, err := smoke.Dial()
		if err != nil {
			t.Fatalf("cycle %d: %v", i, err)
		}
		if err := c.AddItems(1, 100, "cycle"); err != nil {
			t.Fatalf("cycle %d: %v", i, err)
		}
		if err := c.SetValue(uint32(i)); err != nil {
			t.Fatalf("cycle %d: %v", i, err)
		}
		if items, err := c.Items(); err != nil || len(items) != 100 {
			t.Fatalf("cycle %d: %d items, %v", i, len(items), err)
		}
		c.Close()
	}
	if err := vmtest.UnloadModule(smoke.ModuleName); err != nil {
		t.Fatal(err)
	}
	if err := vmtest.LoadModule(ko, "fake_abi=9"); err != nil {
		t.Fatal(err)
	}
	_, err := smoke.Dial()
	var abi *genl.ABIError
	if !errors.As(err, &abi) || abi.KernelABI != 9 || !strings.Contains(err.Error(), "speaks nlkit_smoke ABI 9") {
		t.Fatalf("dial to a module with ABI 9: %v", err)
	}
	t.Logf("ABI mismatch refused: %v", err)
}
