package mptcp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"syscall"
	"time"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"

	"github.com/nlkit/nlkit/netlinkproto/genl"
)

// EventType is an MPTCP path-manager event (enum mptcp_event_type).
type EventType uint8

var eventNames = map[EventType]string{
	EventCreated: "CREATED", EventEstablished: "ESTABLISHED", EventClosed: "CLOSED",
	EventAnnounced: "ANNOUNCED", EventRemoved: "REMOVED",
	EventSubEstablished: "SF_ESTABLISHED", EventSubClosed: "SF_CLOSED", EventSubPriority: "SF_PRIO",
	EventListenerCreated: "LISTENER_CREATED", EventListenerClosed: "LISTENER_CLOSED",
}

// String is the event's name as `ip mptcp monitor` prints it.
func (t EventType) String() string {
	if n, ok := eventNames[t]; ok {
		return n
	}
	return fmt.Sprintf("UNKNOWN %d", uint8(t))
}

// MarshalText makes JSON carry the name.
func (t EventType) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// Event is one decoded event. Which fields a kernel sends depends on the event type
// and the kernel version; Has tells whether an attribute was present. In particular
// SERVER_SIDE is a u8 on 6.1-6.x and a flag present only on the server side on newer
// kernels: ServerSide is true only when the kernel said so, absent means client side.
// LISTENER_* events exist from 6.3 on.
type Event struct {
	Type        EventType  `json:"type"`
	Token       uint32     `json:"token,omitempty"`
	Family      uint16     `json:"family,omitempty"`
	LocID       uint8      `json:"loc_id"`
	RemID       uint8      `json:"rem_id"`
	Saddr       netip.Addr `json:"saddr,omitzero"`
	Daddr       netip.Addr `json:"daddr,omitzero"`
	Sport       uint16     `json:"sport,omitempty"`
	Dport       uint16     `json:"dport,omitempty"`
	Backup      bool       `json:"backup,omitempty"`
	Error       uint8      `json:"error,omitempty"`
	Flags       uint16     `json:"flags,omitempty"`
	Timeout     uint32     `json:"timeout,omitempty"`
	Ifindex     int32      `json:"ifindex,omitempty"`
	ResetReason uint32     `json:"reset_reason,omitempty"`
	ResetFlags  uint32     `json:"reset_flags,omitempty"`
	ServerSide  bool       `json:"server_side"`
	Time        time.Time  `json:"time"` // when it was received
	present     uint32
}

// Has reports whether the kernel sent attribute a (one of the ev* numbers).
func (e *Event) Has(a int) bool { return a < 32 && e.present&(1<<a) != 0 }

// Local and Remote are the subflow's (or connection's first subflow's) endpoints,
// IPv4-mapped addresses (an IPv6 socket talking IPv4, as Go's dual-stack listeners
// are) unmapped.
func (e *Event) Local() netip.AddrPort  { return netip.AddrPortFrom(e.Saddr.Unmap(), e.Sport) }
func (e *Event) Remote() netip.AddrPort { return netip.AddrPortFrom(e.Daddr.Unmap(), e.Dport) }

// ErrMalformed is matched by errors of events the kernel cannot have sent (an
// attribute of the wrong size, a truncated message).
var ErrMalformed = errors.New("malformed mptcp event")

// ParseEvent decodes an event message. An attribute of a known type with the wrong
// length makes the whole event malformed (its other fields cannot be trusted); unknown
// attributes are skipped.
func ParseEvent(m genetlink.Message) (Event, error) {
	ev := Event{Type: EventType(m.Header.Command), Time: time.Now()}
	if _, ok := eventNames[ev.Type]; !ok {
		return ev, fmt.Errorf("%w: unknown event type %d", ErrMalformed, m.Header.Command)
	}
	ad, err := netlink.NewAttributeDecoder(m.Data)
	if err != nil {
		return ev, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	var bad []string
	want := func(n int) []byte {
		b := ad.Bytes()
		if len(b) != n {
			bad = append(bad, fmt.Sprintf("attribute %d has %d bytes, want %d", ad.Type(), len(b), n))
			return nil
		}
		return b
	}
	for ad.Next() {
		t := int(ad.Type())
		if t < 32 {
			ev.present |= 1 << t
		}
		switch t {
		case evToken:
			if b := want(4); b != nil {
				ev.Token = binary.NativeEndian.Uint32(b)
			}
		case evFamily:
			if b := want(2); b != nil {
				ev.Family = binary.NativeEndian.Uint16(b)
			}
		case evLocID:
			if b := want(1); b != nil {
				ev.LocID = b[0]
			}
		case evRemID:
			if b := want(1); b != nil {
				ev.RemID = b[0]
			}
		case evSaddr4:
			if b := want(4); b != nil {
				ev.Saddr = netip.AddrFrom4([4]byte(b))
			}
		case evDaddr4:
			if b := want(4); b != nil {
				ev.Daddr = netip.AddrFrom4([4]byte(b))
			}
		case evSaddr6:
			if b := want(16); b != nil {
				ev.Saddr = netip.AddrFrom16([16]byte(b))
			}
		case evDaddr6:
			if b := want(16); b != nil {
				ev.Daddr = netip.AddrFrom16([16]byte(b))
			}
		case evSport:
			if b := want(2); b != nil {
				ev.Sport = binary.BigEndian.Uint16(b)
			}
		case evDport:
			if b := want(2); b != nil {
				ev.Dport = binary.BigEndian.Uint16(b)
			}
		case evBackup:
			if b := want(1); b != nil {
				ev.Backup = b[0] != 0
			}
		case evError:
			if b := want(1); b != nil {
				ev.Error = b[0]
			}
		case evFlags:
			if b := want(2); b != nil {
				ev.Flags = binary.NativeEndian.Uint16(b)
			}
		case evTimeout:
			if b := want(4); b != nil {
				ev.Timeout = binary.NativeEndian.Uint32(b)
			}
		case evIfindex:
			if b := want(4); b != nil {
				ev.Ifindex = int32(binary.NativeEndian.Uint32(b))
			}
		case evResetReason:
			if b := want(4); b != nil {
				ev.ResetReason = binary.NativeEndian.Uint32(b)
			}
		case evResetFlags:
			if b := want(4); b != nil {
				ev.ResetFlags = binary.NativeEndian.Uint32(b)
			}
		case evServerSide:
			switch b := ad.Bytes(); len(b) {
			case 0: // NLA_FLAG (newer kernels): present means server side
				ev.ServerSide = true
			case 1: // u8 (6.1 - 6.x)
				ev.ServerSide = b[0] != 0
			default:
				bad = append(bad, fmt.Sprintf("attribute %d has %d bytes, want 0 or 1", t, len(b)))
			}
		}
	}
	if err := ad.Err(); err != nil {
		return ev, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if len(bad) > 0 {
		return ev, fmt.Errorf("%w (%s): %s", ErrMalformed, ev.Type, strings.Join(bad, "; "))
	}
	if ev.Type != EventListenerCreated && ev.Type != EventListenerClosed && !ev.Has(evToken) {
		return ev, fmt.Errorf("%w: %s without a token", ErrMalformed, ev.Type)
	}
	return ev, nil
}

// String formats the event the way `ip mptcp monitor` does: the name in brackets, then
// the attributes that are present as key=value.
func (e Event) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "[%16s]", e.Type)
	if e.Has(evToken) {
		fmt.Fprintf(&b, " token=%08x", e.Token)
	}
	if e.Has(evRemID) {
		fmt.Fprintf(&b, " remid=%d", e.RemID)
	}
	if e.Has(evLocID) {
		fmt.Fprintf(&b, " locid=%d", e.LocID)
	}
	addr := func(k string, a netip.Addr) {
		if a.Is4() {
			fmt.Fprintf(&b, " %s4=%s", k, a)
		} else {
			fmt.Fprintf(&b, " %s6=%s", k, a)
		}
	}
	if e.Saddr.IsValid() {
		addr("saddr", e.Saddr)
	}
	if e.Daddr.IsValid() {
		addr("daddr", e.Daddr)
	}
	if e.Has(evSport) {
		fmt.Fprintf(&b, " sport=%d", e.Sport)
	}
	if e.Has(evDport) {
		fmt.Fprintf(&b, " dport=%d", e.Dport)
	}
	if e.Has(evBackup) {
		fmt.Fprintf(&b, " backup=%d", btoi(e.Backup))
	}
	if e.Has(evError) {
		fmt.Fprintf(&b, " error=%d", e.Error)
	}
	if e.Has(evFlags) {
		fmt.Fprintf(&b, " flags=%x", e.Flags)
	}
	if e.Has(evTimeout) {
		fmt.Fprintf(&b, " timeout=%d", e.Timeout)
	}
	if e.Has(evIfindex) {
		fmt.Fprintf(&b, " ifindex=%d", e.Ifindex)
	}
	if e.Has(evResetReason) {
		fmt.Fprintf(&b, " reset_reason=%d", e.ResetReason)
	}
	if e.Has(evResetFlags) {
		fmt.Fprintf(&b, " reset_flags=0x%x", e.ResetFlags)
	}
	if e.Has(evServerSide) {
		fmt.Fprintf(&b, " server_side=%d", btoi(e.ServerSide))
	}
	return b.String()
}

func btoi(v bool) int {
	if v {
		return 1
	}
	return 0
}

// Monitor receives the events group on its own socket.
type Monitor struct {
	c         *genl.Conn
	pending   []genetlink.Message
	Malformed int // events dropped because they did not decode
}

// ErrEventsLost is returned by Next when the socket's buffer overflowed (ENOBUFS):
// events were lost, and a daemon should resynchronise. Next can be called again.
var ErrEventsLost = errors.New("mptcp events lost: the event socket's buffer overflowed")

// Watch subscribes to the events in the caller's network namespace (or cfg's).
// It needs CAP_NET_ADMIN.
func Watch(cfg *Config) (*Monitor, error) {
	nc := &netlink.Config{}
	if cfg != nil {
		nc.NetNS = cfg.NetNS
	}
	c, err := genl.DialConfig(Family, nc)
	if err != nil {
		return nil, err
	}
	if err := c.JoinGroup(EventsGroup); err != nil {
		c.Close()
		return nil, err
	}
	return &Monitor{c: c}, nil
}

// SetReadBuffer sizes the socket's receive buffer (events arrive in bursts when many
// connections open at once).
func (m *Monitor) SetReadBuffer(bytes int) error { return m.c.SetReadBuffer(bytes) }

// Close stops the monitor; a blocked Next returns an error.
func (m *Monitor) Close() error { return m.c.Close() }

// SetDeadline bounds Next.
func (m *Monitor) SetDeadline(t time.Time) error { return m.c.SetReadDeadline(t) }

// Next returns the next event. Malformed events are counted in Malformed and skipped
// (the kernel cannot send them; a tool must not die of one either).
func (m *Monitor) Next() (Event, error) {
	for {
		for len(m.pending) > 0 {
			msg := m.pending[0]
			m.pending = m.pending[1:]
			ev, err := ParseEvent(msg)
			if err != nil {
				m.Malformed++
				continue
			}
			return ev, nil
		}
		msgs, err := m.c.Receive()
		if err != nil {
			if errors.Is(err, syscall.ENOBUFS) {
				return Event{}, ErrEventsLost
			}
			return Event{}, err
		}
		m.pending = msgs
	}
}
