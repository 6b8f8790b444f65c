package mpd

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseRule(t *testing.T) {
	r, err := ParseRule("dst 10.0.0.0/8 dport 443 side client fullmesh local 10.1.0.1 backup 10.2.0.1 remote 10.3.0.1:8443 remote 10.4.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind != Fullmesh || r.Dport != 443 || r.Side != "client" || len(r.Locals) != 1 || len(r.Backup) != 1 ||
		r.Remotes[0].String() != "10.3.0.1:8443" || r.Remotes[1].Port() != 0 {
		t.Errorf("%+v", r)
	}
	remote, local := netip.MustParseAddrPort("10.9.9.9:443"), netip.MustParseAddrPort("10.1.0.1:40000")
	if !r.Matches(remote, local, false) || r.Matches(remote, local, true) ||
		r.Matches(netip.MustParseAddrPort("192.168.0.1:443"), local, false) ||
		r.Matches(netip.MustParseAddrPort("10.9.9.9:80"), local, false) {
		t.Error("Matches")
	}
	if r, err := ParseRule("exec /usr/bin/oracle --fast"); err != nil || len(r.Command) != 2 {
		t.Errorf("exec: %+v %v", r, err)
	}
	if r, err := ParseRule("ndiffports 4"); err != nil || r.N != 4 || !r.Matches(remote, local, true) {
		t.Errorf("ndiffports: %+v %v", r, err)
	}
	for _, bad := range []string{"", "dport 80", "ndiffports", "ndiffports 0", "ndiffports 65", "ndiffports x",
		"fullmesh backup", "fullmesh frob 1.2.3.4", "announce", "announce nothost", "exec", "side middle none",
		"dst 10.0.0.0/33 none", "dport 0 none", "dport 70000 none", "teleport 3", "none extra"} {
		if _, err := ParseRule(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestResiduePort(t *testing.T) {
	for n := 1; n <= 8; n++ {
		for r := 0; r < n; r++ {
			for seed := uint32(0); seed < 200; seed += 7 {
				p := ResiduePort(n, r, 32768, 60999, seed*2654435761)
				if p < 32768 || p > 60999 || int(p)%n != r {
					t.Fatalf("n=%d r=%d: port %d", n, r, p)
				}
			}
		}
	}
}

func fakeSysctl(t *testing.T, files map[string]string) string {
	root := t.TempDir()
	for f, v := range files {
		p := filepath.Join(root, "net/mptcp", f)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(v+"\n"), 0o644)
	}
	return root
}

func TestSelectUserspacePM(t *testing.T) {
	// no MPTCP at all
	if _, err := selectUserspacePM(t.TempDir()); !errors.Is(err, ErrNoMPTCP) || !strings.Contains(err.Error(), "CONFIG_MPTCP") {
		t.Errorf("no net/mptcp: %v", err)
	}
	// disabled in the namespace
	root := fakeSysctl(t, map[string]string{"enabled": "0", "pm_type": "0"})
	if _, err := selectUserspacePM(root); err == nil || !strings.Contains(err.Error(), "net.mptcp.enabled=0") {
		t.Errorf("disabled: %v", err)
	}
	// 6.1 - 6.14: pm_type
	root = fakeSysctl(t, map[string]string{"enabled": "1", "pm_type": "0"})
	s, err := selectUserspacePM(root)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "net/mptcp/pm_type")); strings.TrimSpace(string(b)) != "1" {
		t.Errorf("pm_type = %q", b)
	}
	s.restore()
	if b, _ := os.ReadFile(filepath.Join(root, "net/mptcp/pm_type")); strings.TrimSpace(string(b)) != "0" {
		t.Errorf("pm_type after restore = %q", b)
	}
	// 6.15+: path_manager wins
	root = fakeSysctl(t, map[string]string{"enabled": "1", "pm_type": "0", "path_manager": "kernel"})
	s, err = selectUserspacePM(root)
	if err != nil || s.name != "net.mptcp.path_manager" || s.prev != "kernel" {
		t.Fatalf("%+v %v", s, err)
	}
	s.restore()
	// neither knob
	root = fakeSysctl(t, map[string]string{"enabled": "1"})
	if _, err := selectUserspacePM(root); !errors.Is(err, ErrNoMPTCP) {
		t.Errorf("no knob: %v", err)
	}
}

// The configuration file: rules in order, durations and sizes, and refusals that name
// the file and what is wrong; an empty file is no configuration.
func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var cfg Config
	p := write("ok.yaml", "rules:\n  - \"dport 5201 none\"\n  - fullmesh\nexec-timeout: 3s\nbackoff-max: 1m\ncommand-sockets: 2\nevent-buffer: 65536\n")
	if err := LoadConfig(p, &cfg); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Rules) != 2 || cfg.Rules[0].Kind != None || cfg.Rules[1].Kind != Fullmesh || cfg.ExecTimeout != 3*time.Second ||
		cfg.BackoffMax != time.Minute || cfg.CommandSockets != 2 || cfg.EventBuffer != 65536 {
		t.Errorf("loaded %+v", cfg)
	}
	if err := LoadConfig(write("empty.yaml", ""), &Config{}); err != nil {
		t.Errorf("empty file: %v", err)
	}
	for _, c := range []struct{ body, want string }{
		{"rulez: [fullmesh]\n", "line 1: field rulez not found"},
		{"rules: [fullmesh, \"teleport 3\"]\n", "rules[1]"},
		{"exec-timeout: soon\n", "exec-timeout"},
		{"backoff-max: -1s\n", "backoff-max"},
		{"command-sockets: 100\n", "command-sockets"},
		{"event-buffer: 10\n", "event-buffer"},
	} {
		p := write("bad.yaml", c.body)
		err := LoadConfig(p, &Config{})
		if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want an error naming %s and %q", c.body, err, p, c.want)
		}
	}
	if err := LoadConfig(filepath.Join(dir, "absent.yaml"), &Config{}); err == nil {
		t.Error("a missing file was accepted")
	}
}
