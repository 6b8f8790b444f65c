package vmtest

import (
	"testing"

	"github.com/mdlayher/netlink"

	"github.com/nlkit/nlkit/netlinkproto/genl"
	"github.com/nlkit/nlkit/netlinkproto/rtnl"
)

// CheckDumpEndsWithWalk is the dump test both qdisc families share: three root qdiscs
// of kind (with options, rtnetlink's TCA_OPTIONS) on dummy devices, then a dump of
// family's cmd across which a fourth is added and deleted. The dump's walk reads all
// three in its first round, so the dump must end in that round: three entries, not
// marked interrupted. A dumpit that returns skb->len after its walk asks the core for
// one more round, and a list change before it marks NLMSG_DONE NLM_F_DUMP_INTR
// although nothing was missed; under tc churn a client's retries then run out.
func CheckDumpEndsWithWalk(t *testing.T, family genl.Family, cmd uint8, kind string, options []byte) {
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
	c, err := genl.DialConfig(family, &netlink.Config{NetNS: tp.FD("dew")})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msgs, intr, err := c.DumpOnce("get-qdisc", cmd, nil, func() {
		if err := rc.AddQdisc(churn, 0, rtnl.HandleRoot, kind, options, rtnl.Create); err != nil {
			t.Fatalf("%s on churn: %v", kind, err)
		}
		if err := rc.DelQdisc(churn, 0, rtnl.HandleRoot); err != nil {
			t.Fatal(err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 3 || intr {
		t.Errorf("a %s dump across an add and a delete: %d entries, interrupted %v; want 3, not interrupted (its walk read all three in its first round)", family.Name, len(msgs), intr)
	}
}
