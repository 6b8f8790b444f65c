//go:build vmtest

package scenarios

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/nlkit/nlkit/tests/vmtest"
)

// snmpCounter reads one counter (e.g. "Tcp", "RetransSegs") of ns from /proc/net/snmp.
func snmpCounter(t *testing.T, tp *vmtest.Topo, ns, proto, name string) int64 {
	t.Helper()
	var n int64
	tp.Must(ns, func() error {
		b, err := os.ReadFile("/proc/thread-self/net/snmp")
		if err != nil {
			return err
		}
		var head []string
		for _, l := range strings.Split(string(b), "\n") {
			f := strings.Fields(l)
			if len(f) == 0 || f[0] != proto+":" {
				continue
			}
			if head == nil {
				head = f
				continue
			}
			for i := range head {
				if head[i] == name && i < len(f) {
					n, _ = strconv.ParseInt(f[i], 10, 64)
				}
			}
		}
		return nil
	})
	return n
}
