package mpd

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// pmSelection is the path-manager sysctl the daemon switched, kept open so that it is
// restored in the same network namespace whatever thread restores it.
type pmSelection struct {
	f    *os.File
	name string // sysctl name, e.g. net.mptcp.pm_type
	prev string
	set  string
}

// ErrNoMPTCP is matched by the error when the kernel has no MPTCP at all.
var ErrNoMPTCP = errors.New("this kernel has no MPTCP")

// selectUserspacePM switches the caller's network namespace to the userspace path
// manager: net.mptcp.path_manager=userspace on 6.15+, net.mptcp.pm_type=1 before.
// root is normally /proc/sys.
func selectUserspacePM(root string) (*pmSelection, error) {
	dir := filepath.Join(root, "net/mptcp")
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s is missing (the kernel is built without CONFIG_MPTCP)", ErrNoMPTCP, dir)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "enabled")); err == nil && strings.TrimSpace(string(b)) == "0" {
		return nil, fmt.Errorf("MPTCP is disabled in this network namespace (net.mptcp.enabled=0): sysctl -w net.mptcp.enabled=1")
	}
	for _, c := range []struct{ file, value string }{{"path_manager", "userspace"}, {"pm_type", "1"}} {
		p := filepath.Join(dir, c.file)
		f, err := os.OpenFile(p, os.O_RDWR, 0)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("select the userspace path manager: %w (it needs CAP_NET_ADMIN in the network namespace)", err)
		}
		buf := make([]byte, 64)
		n, err := f.ReadAt(buf, 0)
		if n == 0 && err != nil {
			f.Close()
			return nil, fmt.Errorf("read %s: %w", p, err)
		}
		s := &pmSelection{f: f, name: "net.mptcp." + c.file, prev: strings.TrimSpace(string(buf[:n])), set: c.value}
		if _, err := f.WriteAt([]byte(c.value+"\n"), 0); err != nil {
			f.Close()
			return nil, fmt.Errorf("set %s=%s: %w", s.name, c.value, err)
		}
		return s, nil
	}
	return nil, fmt.Errorf("%w: neither net.mptcp.path_manager nor net.mptcp.pm_type exists under %s (kernel older than 5.19?)", ErrNoMPTCP, dir)
}

// restore puts the previous value back.
func (s *pmSelection) restore() error {
	defer s.f.Close()
	if s.prev == s.set {
		return nil
	}
	if _, err := s.f.WriteAt([]byte(s.prev+"\n"), 0); err != nil {
		return fmt.Errorf("restore %s=%s: %w", s.name, s.prev, err)
	}
	return nil
}
