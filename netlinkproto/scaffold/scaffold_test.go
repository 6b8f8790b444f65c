package scaffold

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// copyTree copies the repository's source (not .git or out/) to dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			if rel == ".git" || rel == "out" || strings.HasPrefix(rel, "out/") {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if !d.Type().IsRegular() || strings.HasSuffix(p, ".ko") || strings.HasSuffix(p, ".o") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func run(t *testing.T, dir string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// A mechanism created in a copy of the repository builds as created: its Go client,
// host test, VM test and command vet and pass, the generator finds its generated
// files up to date, and its kernel module compiles against an installed kernel's
// headers. A taken name is refused.
func TestNewMechanismBuilds(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	copyTree(t, root, tmp)
	created, err := New(tmp, "demo_mech")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("created %d files: %s", len(created), strings.Join(created, " "))
	if _, err := New(tmp, "demo_mech"); err == nil || !strings.Contains(err.Error(), "taken") {
		t.Errorf("a second New of the same name: %v, want it refused as taken", err)
	}
	if _, err := New(tmp, "Bad-Name"); err == nil {
		t.Error("New accepted the name Bad-Name")
	}
	// (the command's package: app.go calls the new command, which uses the client)
	run(t, tmp, "go", "vet", "./netlinkproto/demomech/", "./tools/nlkit/cmd/")
	run(t, tmp, "go", "vet", "-tags", "vmtest", "./netlinkproto/demomech/")
	run(t, tmp, "go", "test", "-count=1", "./netlinkproto/demomech/")
	run(t, tmp, "go", "test", "-count=1", "-run", "TestVersionCoversEveryModule", "./tools/nlkit/cmd/")
	if out := run(t, tmp, "go", "run", "./netlinkproto/cmd/nlgen"); strings.Contains(out, "wrote") {
		t.Errorf("the generator rewrote files after New:\n%s", out)
	}

	t.Run("module", func(t *testing.T) {
		builds, _ := filepath.Glob("/lib/modules/*/build/Makefile")
		if len(builds) == 0 {
			t.Skip("no kernel headers under /lib/modules/*/build (tests/setup/deps.sh installs them)")
		}
		kdir := filepath.Dir(builds[0])
		// the new module alone, with the shared headers, as the top Kbuild builds it
		mod := t.TempDir()
		copyTree(t, filepath.Join(tmp, "kmod/include"), filepath.Join(mod, "kmod/include"))
		copyTree(t, filepath.Join(tmp, "kmod/demo_mech"), filepath.Join(mod, "kmod/demo_mech"))
		kb, err := os.ReadFile(filepath.Join(tmp, "Kbuild"))
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, l := range strings.Split(string(kb), "\n") {
			if !strings.HasPrefix(l, "obj-m") || strings.Contains(l, "demo_mech") {
				lines = append(lines, l)
			}
		}
		os.WriteFile(filepath.Join(mod, "Kbuild"), []byte(strings.Join(lines, "\n")), 0o644)
		os.WriteFile(filepath.Join(mod, "VERSION"), []byte("scaffold\n"), 0o644)
		run(t, mod, "make", "-s", "-C", kdir, "M="+mod, "modules")
		if _, err := os.Stat(filepath.Join(mod, "kmod/demo_mech/demo_mech.ko")); err != nil {
			t.Errorf("no module built against %s: %v", kdir, err)
		}
	})
}
