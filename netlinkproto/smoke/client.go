// Package smoke is the Go client of the nlkit_smoke generic netlink family (module
// kmod/smoke), in the style of wgctrl-go: Dial, typed results, errors that carry the
// kernel's extack message. Its constants are generated from
// netlinkproto/specs/nlkit_smoke.yaml (nlkit_smoke_gen.go).
package smoke

import (
	"errors"
	"time"

	"github.com/mdlayher/netlink"

	"github.com/nlkit/nlkit/netlinkproto/genl"
)

// Info, Value and Item are generated from the spec (nlkit_smoke_gen.go).

// Info reports the module's version, ABI and build.
func (c *Client) Info() (Info, error) {
	return genl.DoDecode(c.c, "get-info", CmdGetInfo, nil, func(b []byte) (Info, error) { return decodeInfoAttrs(b, nil) })
}

func decodeValue(b []byte) (Value, error) { return decodeValueAttrs(b, nil) }

// Value reads the namespace's value.
func (c *Client) Value() (Value, error) {
	return genl.DoDecode(c.c, "get-value", CmdGetValue, nil, decodeValue)
}

// SetValue changes the namespace's value (needs CAP_NET_ADMIN).
func (c *Client) SetValue(v uint32) error {
	ae := netlink.NewAttributeEncoder()
	ae.Uint32(AttrValueValue, v)
	b, err := ae.Encode()
	if err != nil {
		return err
	}
	_, err = c.c.Do("set-value", CmdSetValue, b)
	return err
}

// Raw sends a request with arbitrary attributes; tests use it to check the kernel's
// validation of input the typed methods never produce.
func (c *Client) Raw(op string, cmd uint8, attrs []byte) error {
	_, err := c.c.Do(op, cmd, attrs)
	return err
}

// AddItems adds count items with ids first, first+1, ... (needs CAP_NET_ADMIN).
func (c *Client) AddItems(first, count uint32, label string) error {
	ae := netlink.NewAttributeEncoder()
	ae.Uint32(AttrItemId, first)
	ae.Uint32(AttrItemCount, count)
	if label != "" {
		ae.String(AttrItemLabel, label)
	}
	b, err := ae.Encode()
	if err != nil {
		return err
	}
	_, err = c.c.Do("add-items", CmdAddItems, b)
	return err
}

// DeleteItems empties the namespace's table (needs CAP_NET_ADMIN).
func (c *Client) DeleteItems() error {
	_, err := c.c.Do("del-items", CmdDelItems, nil)
	return err
}

// DeleteItem deletes the item id (needs CAP_NET_ADMIN); ENOENT if there is none.
func (c *Client) DeleteItem(id uint32) error {
	ae := netlink.NewAttributeEncoder()
	ae.Uint32(AttrItemId, id)
	b, err := ae.Encode()
	if err != nil {
		return err
	}
	_, err = c.c.Do("del-items", CmdDelItems, b)
	return err
}

// decodeItem decodes a get-item reply, which must name its item.
func decodeItem(b []byte) (Item, error) {
	it, err := decodeItemAttrs(b, nil)
	if err == nil && it.ID == 0 {
		err = errors.New("item without id")
	}
	return it, err
}

// Item gets one item by id.
func (c *Client) Item(id uint32) (Item, error) {
	ae := netlink.NewAttributeEncoder()
	ae.Uint32(AttrItemId, id)
	b, err := ae.Encode()
	if err != nil {
		return Item{}, err
	}
	return genl.DoDecode(c.c, "get-item", CmdGetItem, b, decodeItem)
}

// Items dumps every item. Entries that cannot be decoded are left out and counted in
// c.Skipped rather than failing the whole listing.
func (c *Client) Items() ([]Item, error) {
	items, skipped, err := genl.DumpDecode(c.c, "get-item", CmdGetItem, nil, decodeItem)
	c.Skipped += skipped
	return items, err
}

// Watcher receives value-changed events.
type Watcher struct{ c *genl.Conn }

// WatchValue subscribes to the events group on a connection of its own.
func WatchValue() (*Watcher, error) {
	c, err := genl.Dial(Family)
	if err != nil {
		return nil, err
	}
	if err := c.JoinGroup(GroupEvents); err != nil {
		c.Close()
		return nil, err
	}
	return &Watcher{c: c}, nil
}

// Next waits up to timeout for the next value-changed event.
func (w *Watcher) Next(timeout time.Duration) (Value, error) {
	if err := w.c.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return Value{}, err
	}
	for {
		msgs, err := w.c.Receive()
		if err != nil {
			return Value{}, err
		}
		for _, m := range msgs {
			if m.Header.Command == CmdValueChanged {
				return decodeValue(m.Data)
			}
		}
	}
}

// Close ends the subscription.
func (w *Watcher) Close() error { return w.c.Close() }
