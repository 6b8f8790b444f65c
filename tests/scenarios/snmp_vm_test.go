//go:build vmtest

package scenarios

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/nlkit/nlkit/tests/vm/vmtest"
)

// snmpCounter reads one counter (e.g. "Tcp", "RetransSegs") of ns from /proc/net/snmp.
func snmpCounter(t *testing.T, tp *vmtest.Topo, ns, proto, name string) int64 {
	t.Helper()
	return procCounters(t, tp, ns, "snmp", proto)[name]
}

// netstatLine reads one protocol's counters (e.g. "MPTcpExt", "TcpExt") of ns from
// /proc/net/netstat, by name.
func netstatLine(t *testing.T, tp *vmtest.Topo, ns, proto string) map[string]int64 {
	t.Helper()
	return procCounters(t, tp, ns, "netstat", proto)
}

// procCounters reads one protocol's counters of ns from /proc/net/<file> (snmp,
// netstat: a line of names, then a line of values, each starting "Proto:").
func procCounters(t *testing.T, tp *vmtest.Topo, ns, file, proto string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	tp.Must(ns, func() error {
		b, err := os.ReadFile("/proc/thread-self/net/" + file)
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
			for i := 1; i < len(head) && i < len(f); i++ {
				out[head[i]], _ = strconv.ParseInt(f[i], 10, 64)
			}
		}
		return nil
	})
	return out
}

// counterDiff lists the counters that moved between two netstatLine reads.
func counterDiff(before, after map[string]int64) string {
	var keys []string
	for k := range after {
		if after[k] != before[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, " %s %+d", k, after[k]-before[k])
	}
	return b.String()
}
