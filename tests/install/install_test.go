// Package install checks what `make install DESTDIR=...` and `make dkms-src` stage, as
// a packager would use them. (The modules' part, install-modules, needs a kernel build
// tree: the VM test runner stages it for the first stock kernel it builds modules for.)
package install

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nlkit/nlkit/tools/mpd"
	"github.com/nlkit/nlkit/tools/rkd"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

func version(t *testing.T, root string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "VERSION"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func mustExist(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if fi, err := os.Stat(p); err != nil || fi.Size() == 0 {
			t.Errorf("not staged (or empty): %s (%v)", p, err)
		}
	}
}

// Everything but the modules lands under DESTDIR, nothing elsewhere: nlkit (stamped
// with VERSION), the tc plugins, a man page per command group and the completions.
func TestInstallUserStaged(t *testing.T) {
	root, dest := repoRoot(t), t.TempDir()
	cmd := exec.Command("make", "-C", root, "install-user", "DESTDIR="+dest)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make install-user: %v\n%s", err, out)
	}
	bin := filepath.Join(dest, "usr/local/bin/nlkit")
	mustExist(t, bin,
		filepath.Join(dest, "usr/lib/x86_64-linux-gnu/tc/q_fcm.so"),
		filepath.Join(dest, "usr/lib/x86_64-linux-gnu/tc/q_ratekeeper.so"),
		filepath.Join(dest, "usr/local/share/bash-completion/completions/nlkit"),
		filepath.Join(dest, "usr/local/share/zsh/site-functions/_nlkit"))
	for _, page := range []string{"nlkit", "nlkit-ratekeeper", "nlkit-mptcp", "nlkit-fcm", "nlkit-ip", "nlkit-load", "nlkit-smoke"} {
		mustExist(t, filepath.Join(dest, "usr/local/share/man/man8", page+".8"))
	}
	if out, err := exec.Command(bin, "--version").Output(); err != nil || !strings.Contains(string(out), version(t, root)) {
		t.Errorf("staged nlkit --version: %q %v, want VERSION %s", out, err, version(t, root))
	}
	var files []string
	filepath.WalkDir(dest, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, strings.TrimPrefix(p, dest))
		}
		return nil
	})
	t.Logf("staged:\n%s", strings.Join(files, "\n"))
	for _, f := range files {
		if !strings.HasPrefix(f, "/usr/local/") && !strings.HasPrefix(f, "/usr/lib/x86_64-linux-gnu/tc/") && !strings.HasPrefix(f, "/etc/nlkit/") {
			t.Errorf("staged outside the install paths: %s", f)
		}
	}

	// the units run the staged nlkit with the default configurations, which load
	units := filepath.Join(dest, "usr/local/lib/systemd/system")
	for unit, conf := range map[string]string{
		"nlkit-mptcp-pm.service":   mpd.DefaultConfigPath,
		"nlkit-mptcp-pm@.service":  "/etc/nlkit/mptcp-pm-%i.yaml",
		"nlkit-ratekeeper.service": rkd.DefaultConfigPath,
	} {
		b, err := os.ReadFile(filepath.Join(units, unit))
		if err != nil {
			t.Error(err)
			continue
		}
		if want := "ExecStart=/usr/local/bin/nlkit "; !strings.Contains(string(b), want) || !strings.Contains(string(b), "--config "+conf+"\n") {
			t.Errorf("%s: want %q... --config %s:\n%s", unit, want, conf, b)
		}
		// both daemons reload their file on SIGHUP
		if want := "ExecReload=/bin/kill -HUP $MAINPID\n"; !strings.Contains(string(b), want) {
			t.Errorf("%s: no %q", unit, want)
		}
	}
	var mc mpd.Config
	if err := mpd.LoadConfig(filepath.Join(dest, mpd.DefaultConfigPath), &mc); err != nil || len(mc.Rules) == 0 {
		t.Errorf("the default %s: %v, %d rules", mpd.DefaultConfigPath, err, len(mc.Rules))
	}
	rc, err := os.ReadFile(filepath.Join(dest, rkd.DefaultConfigPath))
	if err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(t.TempDir(), "key")
	os.WriteFile(key, []byte("0123456789abcdef0123456789abcdef"), 0o600)
	tmp := filepath.Join(t.TempDir(), "rk.yaml")
	os.WriteFile(tmp, []byte(strings.ReplaceAll(string(rc), "/etc/nlkit/ratekeeper.key", key)), 0o644)
	var dc rkd.DaemonConfig
	if err := rkd.LoadDaemonConfig(tmp, &dc); err != nil || len(dc.Key) == 0 {
		t.Errorf("the default %s (with a key): %v", rkd.DefaultConfigPath, err)
	}
	// systemd's own check, where it is installed: the units as staged, but for the
	// binary's path (the staged one)
	if sa, err := exec.LookPath("systemd-analyze"); err == nil {
		vdir := t.TempDir()
		var check []string
		for _, u := range []string{"nlkit-mptcp-pm.service", "nlkit-ratekeeper.service"} {
			b, _ := os.ReadFile(filepath.Join(units, u))
			p := filepath.Join(vdir, u)
			os.WriteFile(p, []byte(strings.ReplaceAll(string(b), "/usr/local/bin/nlkit", bin)), 0o644)
			check = append(check, p)
		}
		// (it exits 0 on directives it ignores, but says so)
		out, err := exec.Command(sa, append([]string{"verify", "--man=no"}, check...)...).CombinedOutput()
		if err != nil || len(bytes.TrimSpace(out)) > 0 {
			t.Errorf("systemd-analyze verify: %v\n%s", err, out)
		}
	}
	// a second install keeps a configuration the administrator changed
	os.WriteFile(filepath.Join(dest, mpd.DefaultConfigPath), []byte("rules: [none]\n"), 0o644)
	if out, err := exec.Command("make", "-C", root, "install-user", "DESTDIR="+dest).CombinedOutput(); err != nil {
		t.Fatalf("make install-user again: %v\n%s", err, out)
	}
	if b, _ := os.ReadFile(filepath.Join(dest, mpd.DefaultConfigPath)); string(b) != "rules: [none]\n" {
		t.Errorf("a second install replaced the changed %s", mpd.DefaultConfigPath)
	}
}

// The DKMS tree has the module sources and dkms.conf with VERSION, nothing built and
// none of out/; dkms.conf names each module's directory as staged, and read in place
// (as `dkms add .` does, sourcing it with bash) it takes VERSION too.
func TestDKMSSource(t *testing.T) {
	root, dest := repoRoot(t), t.TempDir()
	if out, err := exec.Command("make", "-C", root, "dkms-src", "DESTDIR="+dest).CombinedOutput(); err != nil {
		t.Fatalf("make dkms-src: %v\n%s", err, out)
	}
	v := version(t, root)
	src := filepath.Join(dest, "usr/src/nlkit-"+v)
	for _, conf := range []string{filepath.Join(src, "dkms.conf"), filepath.Join(root, "dkms.conf")} {
		out, err := exec.Command("bash", "-c", `cd / && . "$1" && echo "$PACKAGE_NAME $PACKAGE_VERSION" && printf '%s\n' "${BUILT_MODULE_LOCATION[@]}"`, "bash", conf).Output()
		if err != nil {
			t.Fatalf("sourcing %s: %v", conf, err)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if lines[0] != "nlkit "+v {
			t.Errorf("%s: name and version %q, want %q", conf, lines[0], "nlkit "+v)
		}
		for _, loc := range lines[1:] {
			if ents, err := filepath.Glob(filepath.Join(src, loc, "*.c")); err != nil || len(ents) == 0 {
				t.Errorf("%s: module location %s has no sources in the staged tree", conf, loc)
			}
		}
	}
	if b, _ := os.ReadFile(filepath.Join(root, "dkms.conf")); strings.Contains(string(b), `PACKAGE_VERSION="`+v+`"`) {
		t.Errorf("the tree's dkms.conf has the version typed in; it must read VERSION")
	}
	mustExist(t, filepath.Join(src, "Kbuild"), filepath.Join(src, "VERSION"))
	filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(p, src+"/")
		switch {
		case d.IsDir() && rel == "out":
			t.Errorf("out/ was staged")
		case !d.IsDir() && (strings.HasSuffix(p, ".o") || strings.HasSuffix(p, ".ko") || strings.HasSuffix(p, ".cmd")):
			t.Errorf("a build output was staged: %s", rel)
		}
		return nil
	})
}
