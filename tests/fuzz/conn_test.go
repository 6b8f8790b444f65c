package fuzz

import (
	"encoding/binary"
	"syscall"
	"testing"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// TestConnRun checks Conn against the host's rtnetlink: answers come back in the order
// of the requests, with their data, across a dump that ends a group.
func TestConnRun(t *testing.T) {
	c, err := Dial(unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	link := func(index int32, flags netlink.HeaderFlags) netlink.Message {
		b := make([]byte, unix.SizeofIfInfomsg)
		binary.NativeEndian.PutUint32(b[4:], uint32(index))
		return netlink.Message{Header: netlink.Header{Type: unix.RTM_GETLINK, Flags: netlink.Request | netlink.Acknowledge | flags}, Data: b}
	}
	as, err := c.Run([]netlink.Message{
		link(1, 0),            // lo
		link(0x7fffffff, 0),   // no such device
		link(0, netlink.Dump), // every device
		link(0, netlink.Dump), // again: a second dump in a second group
		link(1, 0),            // lo, after the dumps
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 5 {
		t.Fatalf("%d answers to 5 requests", len(as))
	}
	for i, want := range []syscall.Errno{0, unix.ENODEV, 0, 0, 0} {
		if as[i].Errno != want {
			t.Errorf("answer %d: %v %q, want %v", i, as[i].Errno, as[i].Msg, want)
		}
	}
	for _, i := range []int{0, 4} {
		if len(as[i].Data) != 1 || as[i].Data[0].Header.Type != unix.RTM_NEWLINK {
			t.Errorf("answer %d: %d messages, want lo's RTM_NEWLINK", i, len(as[i].Data))
		}
	}
	if len(as[2].Data) < 1 || len(as[2].Data) != len(as[3].Data) {
		t.Errorf("dumps: %d and %d links", len(as[2].Data), len(as[3].Data))
	}
	if _, err := c.Run([]netlink.Message{{Header: netlink.Header{Type: unix.RTM_GETLINK, Flags: netlink.Request}}}); err == nil {
		t.Error("a request without NLM_F_ACK was sent")
	}
}
