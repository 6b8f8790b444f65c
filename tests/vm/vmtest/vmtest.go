// Package vmtest is what nlkit's integration tests (files with //go:build vmtest) share.
// They run only inside the VMs that tests/vm/cmd/vmrun boots, with nlkit's modules
// loaded; run anywhere else they fail rather than skip, so a kernel test can never be
// counted as passed without having run.
package vmtest

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Require fails the test unless it runs inside an nlkit test VM.
func Require(t testing.TB) {
	t.Helper()
	if os.Getenv("NLKIT_VM") != "1" {
		t.Fatal("this is a kernel integration test: run it in a VM with `make vmtest` (tests/vm/cmd/vmrun), not on the host")
	}
}

// Kernel names the kernel under test (6.1, 6.12, 7.3, 7.3-patched, debug).
func Kernel() string { return os.Getenv("NLKIT_KERNEL") }

// Release is the running kernel's release (uname -r).
func Release(t testing.TB) string {
	t.Helper()
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	return unix.ByteSliceToString(u.Release[:])
}

// Patched says whether the kernel under test is one of nlkit's builds with a patch
// series from patches/: the debug kernel (6.12's) and 7.3-patched (7.3's).
func Patched() bool { return Kernel() == "debug" || strings.HasSuffix(Kernel(), "-patched") }

// Bench says whether benchmarks (TestBenchmark*) run in full, for `make bench`
// (vmrun -bench). Otherwise, in `make test`, they run once briefly: their set-up,
// one short round of each side and their assertions, so that they cannot rot.
func Bench() bool { return os.Getenv("NLKIT_BENCH") == "1" }

// ModulePath returns the path of the built module name (e.g. "nlkit_smoke").
func ModulePath(t testing.TB, name string) string {
	t.Helper()
	for _, p := range strings.Split(os.Getenv("NLKIT_MODULES"), ":") {
		if strings.TrimSuffix(filepath.Base(p), ".ko") == name {
			return p
		}
	}
	t.Fatalf("module %s is not among the runner's modules (%s)", name, os.Getenv("NLKIT_MODULES"))
	return ""
}

// LoadModule loads a .ko with parameters (finit_module).
func LoadModule(path, params string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.FinitModule(int(f.Fd()), params, 0)
}

// UnloadModule removes a module, waiting out transient users.
func UnloadModule(name string) error {
	var err error
	for i := 0; i < 100; i++ {
		err = unix.DeleteModule(name, unix.O_NONBLOCK)
		if err == nil || err == unix.ENOENT {
			return nil
		}
		if err != unix.EAGAIN && err != unix.EBUSY {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
	return err
}

// ChildEnv is set in a re-executed test binary to the helper mode it should run.
const ChildEnv = "NLKIT_TEST_CHILD"

// RunChild re-executes the test binary with ChildEnv=mode (its TestMain then acts as
// the child instead of running tests) under the given process attributes, and
// returns its combined output and error.
func RunChild(t testing.TB, mode string, attr *syscall.SysProcAttr) (string, error) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), ChildEnv+"="+mode)
	cmd.SysProcAttr = attr
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Unprivileged runs as nobody, with no capabilities, in the caller's namespaces.
func Unprivileged() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
}

// OwnUserNs runs as root of a new user namespace: all capabilities there, none over
// namespaces owned by the initial user namespace (the caller's netns among them). With
// newNetns it also gets a network namespace of its own, owned by its user namespace.
func OwnUserNs(newNetns bool) *syscall.SysProcAttr {
	flags := uintptr(syscall.CLONE_NEWUSER)
	if newNetns {
		flags |= syscall.CLONE_NEWNET
	}
	return &syscall.SysProcAttr{
		Cloneflags:  flags,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
	}
}

// RepoRoot is the nlkit checkout the test binary runs from (the guest shares the
// host's filesystem), found by walking up from the working directory to go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	d, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		p := filepath.Dir(d)
		if p == d {
			t.Fatal("no go.mod above the working directory")
		}
		d = p
	}
}

// Nlkit is the path of the nlkit command vmrun built for the VM (out/vm/nlkit).
func Nlkit(t testing.TB) string {
	t.Helper()
	p := filepath.Join(RepoRoot(t), "out/vm/nlkit")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("the nlkit command is missing (vmrun builds it): %v", err)
	}
	return p
}

// Run runs a command and returns its combined output and exit status; only a command
// that cannot be started fails the test.
func Run(t testing.TB, cmd *exec.Cmd) (string, int) {
	t.Helper()
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	return string(out), 0
}
