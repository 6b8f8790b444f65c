package vmtest

import (
	"syscall"
	"testing"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/nlkit/nlkit/netlinkproto/rtnl"
)

// DumpAcross sends a dump request of a generic netlink family's command from namespace
// ns, runs between before it reads any of the reply, then reads the reply up to
// NLMSG_DONE. It returns the entries and whether any message of the reply, NLMSG_DONE
// included, carried NLM_F_DUMP_INTR. The kernel fills the first skb of a dump while
// the request is sent, and each further one as the reader drains the socket: between
// runs after the first and before any other.
func DumpAcross(t testing.TB, tp *Topo, ns, family string, cmd uint8, between func()) (entries int, interrupted bool) {
	t.Helper()
	c, err := genetlink.Dial(&netlink.Config{NetNS: tp.FD(ns)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fam, err := c.GetFamily(family)
	if err != nil {
		t.Fatalf("family %s: %v", family, err)
	}
	req, err := c.Send(genetlink.Message{Header: genetlink.Header{Command: cmd, Version: fam.Version}},
		fam.ID, netlink.Request|netlink.Dump)
	if err != nil {
		t.Fatal(err)
	}
	between()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	for {
		var n int
		var rerr error
		if err := rc.Read(func(fd uintptr) bool {
			n, _, rerr = unix.Recvfrom(int(fd), buf, 0)
			return rerr != unix.EAGAIN
		}); err != nil || rerr != nil {
			t.Fatalf("reading the dump: %v %v", err, rerr)
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			t.Fatalf("parsing the dump: %v", err)
		}
		for _, m := range msgs {
			if m.Header.Seq != req.Header.Sequence {
				continue
			}
			if m.Header.Flags&unix.NLM_F_DUMP_INTR != 0 {
				interrupted = true
			}
			switch m.Header.Type {
			case unix.NLMSG_DONE:
				return entries, interrupted
			case unix.NLMSG_ERROR:
				t.Fatalf("dump of %s: error %v", family, m.Data)
			default:
				entries++
			}
		}
	}
}

// CheckDumpEndsWithWalk is the dump test both qdisc families share: three root qdiscs
// of kind (with options, rtnetlink's TCA_OPTIONS) on dummy devices, then a dump of
// family's cmd across which a fourth is added and deleted. The dump's walk reads all
// three in its first round, so the dump must end in that round: three entries, not
// marked interrupted. A dumpit that returns skb->len after its walk asks the core for
// one more round, and a list change before it marks NLMSG_DONE NLM_F_DUMP_INTR
// although nothing was missed; under tc churn a client's retries then run out.
func CheckDumpEndsWithWalk(t *testing.T, family string, cmd uint8, kind string, options []byte) {
	t.Helper()
	tp := NewTopo(t, "dew")
	tp.IP("dew", "link add d0 type dummy", "link add d1 type dummy", "link add d2 type dummy", "link add churn type dummy")
	rc, err := rtnl.Dial(tp.FD("dew"))
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	index := func(name string) int {
		l, err := rc.LinkByName(name)
		if err != nil {
			t.Fatal(err)
		}
		return l.Index
	}
	for _, d := range []string{"d0", "d1", "d2"} {
		if err := rc.AddQdisc(index(d), 0, rtnl.HandleRoot, kind, options, rtnl.Create); err != nil {
			t.Fatalf("%s on %s: %v", kind, d, err)
		}
	}
	churn := index("churn")
	n, intr := DumpAcross(t, tp, "dew", family, cmd, func() {
		if err := rc.AddQdisc(churn, 0, rtnl.HandleRoot, kind, options, rtnl.Create); err != nil {
			t.Fatalf("%s on churn: %v", kind, err)
		}
		if err := rc.DelQdisc(churn, 0, rtnl.HandleRoot); err != nil {
			t.Fatal(err)
		}
	})
	if n != 3 || intr {
		t.Errorf("a %s dump across an add and a delete: %d entries, interrupted %v; want 3, not interrupted (its walk read all three in its first round)", family, n, intr)
	}
}
