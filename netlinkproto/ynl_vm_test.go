//go:build vmtest

package netlinkproto_test

import (
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mdlayher/netlink"

	"github.com/nlkit/nlkit/netlinkproto/equalize"
	"github.com/nlkit/nlkit/netlinkproto/smoke"
	"github.com/nlkit/nlkit/tests/vm/vmtest"
)

// ynl runs the kernel's YNL command line (tools/net/ynl/cli.py, which `make ynl` puts in
// out/ynl) in network namespace ns, as README's "The kernel's YNL tools" shows it: from
// the repository's root, with --spec netlinkproto/specs/FAMILY.yaml and no --schema (the
// schema is found beside the specs). It returns the JSON cli.py prints.
//
// Only the first call validates the spec against the schema (jsonschema): under TCG
// that is seconds per process, and the host test has validated every spec already.
func ynl(t *testing.T, ns, family string, args ...string) []byte {
	t.Helper()
	root := vmtest.RepoRoot(t)
	cli := filepath.Join(root, "out/ynl/tools/net/ynl/cli.py")
	if _, err := os.Stat(cli); err != nil {
		t.Fatalf("the kernel's YNL tools are missing (vmrun runs make ynl): %v", err)
	}
	argv := []string{"python3", cli, "--spec", "netlinkproto/specs/" + family + ".yaml", "--output-json"}
	if schemaChecked {
		argv = append(argv, "--no-schema")
	}
	schemaChecked = true
	argv = append(argv, args...)
	if ns != "" {
		argv = append([]string{"ip", "netns", "exec", ns}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("cli.py %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr)
	}
	return out
}

var schemaChecked bool

func unmarshal(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("cli.py printed %q: %v", b, err)
	}
}

// TestYNLCLI runs README's worked example of each family with the kernel's cli.py
// against the loaded modules (one cli.py process each: seconds under TCG), and checks
// what it prints against nlkit's own client or what the example set up, or (equalize's
// add-prefix) what it did through nlkit's client.
func TestYNLCLI(t *testing.T) {
	vmtest.Require(t)
	tp := vmtest.NewVeths(t, vmtest.Veth{A: "ynla", DevA: "a0", AddrA: "10.77.0.1/24", B: "ynlb", DevB: "b0", AddrB: "10.77.0.2/24"})

	t.Run("nlkit_smoke", func(t *testing.T) {
		var got struct {
			Version string `json:"version"`
			ABI     uint32 `json:"abi"`
			Kernel  string `json:"kernel"`
		}
		unmarshal(t, ynl(t, "", "nlkit_smoke", "--do", "get-info"), &got)
		c, err := smoke.Dial()
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		want, err := c.Info()
		if err != nil {
			t.Fatal(err)
		}
		if got.Version != want.Version || got.ABI != want.ABI || got.Kernel != want.Kernel || got.ABI == 0 {
			t.Errorf("cli.py get-info: %+v; nlkit's client: %+v", got, want)
		}
	})

	// the two qdiscs: tc makes one, cli.py dumps the family's qdiscs of the namespace
	for _, q := range []struct {
		family, ns, dev, handle, rate string
		wantHandle                    uint32
		wantRate                      uint64
	}{
		{"ratekeeper", "ynla", "a0", "1:", "50mbit", 0x10000, 50e6 / 8},
		{"fcm", "ynlb", "b0", "2:", "10mbit", 0x20000, 10e6 / 8},
	} {
		t.Run(q.family, func(t *testing.T) {
			if out, err := vmtest.TC(t, q.ns, "qdisc", "add", "dev", q.dev, "root", "handle", q.handle, q.family, "rate", q.rate); err != nil {
				t.Fatalf("tc: %v\n%s", err, out)
			}
			var got []struct {
				Ifname string `json:"ifname"`
				Handle uint32 `json:"handle"`
				Opts   struct {
					Rate uint64 `json:"rate"`
				} `json:"opts"`
			}
			unmarshal(t, ynl(t, q.ns, q.family, "--dump", "get-qdisc"), &got)
			if len(got) != 1 || got[0].Ifname != q.dev || got[0].Handle != q.wantHandle || got[0].Opts.Rate != q.wantRate {
				t.Errorf("cli.py get-qdisc dump: %+v, want %s's %s at %d bytes/s", got, q.dev, q.handle, q.wantRate)
			}
		})
	}

	t.Run("fcm_receiver", func(t *testing.T) {
		var got struct {
			Params struct {
				Alpha    uint32 `json:"alpha"`
				MaxConns uint32 `json:"max-conns"`
			} `json:"params"`
			Conns *uint32 `json:"conns"`
		}
		unmarshal(t, ynl(t, "ynla", "fcm_receiver", "--do", "get-receiver"), &got)
		if got.Params.Alpha == 0 || got.Params.MaxConns == 0 || got.Conns == nil {
			t.Errorf("cli.py get-receiver: %+v, want the parameters and the counters", got)
		}
	})

	t.Run("equalize", func(t *testing.T) {
		// add-prefix needs CAP_NET_ADMIN: cli.py runs as root; the address is hex (cli.py's binary)
		ynl(t, "ynla", "equalize", "--do", "add-prefix", "--json", `{"family": 2, "addr": "0a4d0000", "len": 16}`)
		c, err := equalize.DialConfig(&netlink.Config{NetNS: tp.FD("ynla")})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		p, err := c.Prefix(&net.IPNet{IP: net.IPv4(10, 77, 0, 0).To4(), Mask: net.CIDRMask(16, 32)})
		if err != nil || p.Net.String() != "10.77.0.0/16" {
			t.Errorf("nlkit's client gets %v %v after cli.py's add-prefix, want 10.77.0.0/16", p, err)
		}
	})
}
