package vmtest

import (
	"errors"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// Kmsg reads the kernel log (/dev/kmsg) from where it stood when opened: each Lines
// returns what was logged since the last call. /dev/kmsg gives one record per read, so
// reading the log from its start again for every check cost seconds on the debug
// kernel once it held a run's megabytes (the fuzzer, after the scenarios in the same
// guest: 87 s instead of 53 s for its 4x10^4 requests).
type Kmsg struct{ fd int }

// OpenKmsg opens the kernel log at its end; it is closed when the test ends.
func OpenKmsg(t testing.TB) *Kmsg {
	t.Helper()
	fd, err := syscall.Open("/dev/kmsg", syscall.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if _, err := unix.Seek(fd, 0, unix.SEEK_END); err != nil {
		t.Fatalf("/dev/kmsg: seek to the end: %v", err)
	}
	return &Kmsg{fd}
}

// Lines returns the messages logged since the last call that contain substr ("": all).
func (k *Kmsg) Lines(substr string) []string {
	var lines []string
	buf := make([]byte, 8192)
	for {
		n, err := syscall.Read(k.fd, buf)
		if errors.Is(err, syscall.EPIPE) {
			continue // records overwritten before we read them: go on with the next
		}
		if err != nil || n <= 0 {
			return lines // EAGAIN: the end
		}
		// "prio,seq,time,flags;message"
		if _, msg, ok := strings.Cut(string(buf[:n]), ";"); ok && strings.Contains(msg, substr) {
			lines = append(lines, strings.TrimSpace(msg))
		}
	}
}
