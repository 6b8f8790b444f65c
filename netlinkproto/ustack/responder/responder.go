// Package responder is a small user-level packet stack on a ustack port: it drives a
// NIC (any Ethernet device; a veth in the tests) through an AF_PACKET socket, as a
// DPDK or AF_XDP stack drives its NIC, and answers ARP, ICMP echo and UDP echo (port
// 7) for the IPv4 addresses users give its ustack port with `ip addr add`. It follows
// the port's configuration as it changes (ustack.WatchConfig), and mirrors its own
// counters, per port and per queue (it spreads flows over its queues by their
// addresses, as RSS would), into the port, so that `ip -s link show PORT` shows what
// it received and sent.
//
// It is what nlkit's tests and demo run as "the stack"; its code is also the shortest
// complete example of a stack on the ustack package.
package responder

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nlkit/nlkit/netlinkproto/ustack"
)

// Config is what a Responder drives and how.
type Config struct {
	Link string // the NIC it drives, by name: its frames come and go there
	// Port is the ustack port it creates (Port.Address defaults to the NIC's MAC, and
	// Port.RxQueues and TxQueues to 1); or, with Attach set, ...
	Port ustack.PortConfig
	// Attach names an existing port (made with ip link add ... type ustack) to
	// attach to instead of creating one.
	Attach string
	// Interval is how often it pushes its counters (100 ms if 0).
	Interval time.Duration
	// OnConfig, if set, is called with each configuration the port takes (the first
	// at start).
	OnConfig func(ustack.Config)
}

// Responder is a running stack.
type Responder struct {
	cfg    Config
	fd     int
	mac    net.HardwareAddr
	link   int
	client *ustack.Client
	port   ustack.Dev
	watch  *ustack.ConfigWatcher
	conf   atomic.Pointer[ustack.Config]

	mu   sync.Mutex // counters
	st   ustack.Stats
	rxq  []ustack.QueueCounters
	txq  []ustack.QueueCounters
	stop chan struct{}
	wg   sync.WaitGroup
}

// Start opens the NIC, creates (or attaches to) the port, and starts answering.
func Start(cfg Config) (r *Responder, err error) {
	if cfg.Interval == 0 {
		cfg.Interval = 100 * time.Millisecond
	}
	ifi, err := net.InterfaceByName(cfg.Link)
	if err != nil {
		return nil, fmt.Errorf("responder: %w", err)
	}
	r = &Responder{cfg: cfg, fd: -1, mac: ifi.HardwareAddr, link: ifi.Index, stop: make(chan struct{})}
	defer func() {
		if err != nil {
			r.release()
		}
	}()
	if r.fd, err = openPacket(ifi.Index); err != nil {
		return nil, err
	}
	if r.client, err = ustack.Dial(); err != nil {
		return nil, err
	}
	if cfg.Attach != "" {
		if err = r.client.Attach(ustack.ByName(cfg.Attach)); err != nil {
			return nil, err
		}
		i, err := net.InterfaceByName(cfg.Attach)
		if err != nil {
			return nil, fmt.Errorf("responder: %w", err)
		}
		r.port = ustack.Dev{Index: i.Index, Name: cfg.Attach}
	} else {
		pc := cfg.Port
		if pc.Address == nil {
			pc.Address = ifi.HardwareAddr
		}
		if r.port, err = r.client.NewPort(pc); err != nil {
			return nil, err
		}
	}
	p, err := r.client.Port(r.port)
	if err != nil {
		return nil, err
	}
	r.rxq = make([]ustack.QueueCounters, p.RxQueues)
	r.txq = make([]ustack.QueueCounters, p.TxQueues)
	if r.watch, err = ustack.WatchConfig(0, r.port.Index); err != nil {
		return nil, err
	}
	c := r.watch.Current()
	r.conf.Store(&c)
	if cfg.OnConfig != nil {
		cfg.OnConfig(c)
	}
	// the stack's link is up: the port's carrier follows
	if err = r.push(true); err != nil {
		return nil, err
	}
	r.wg.Add(3)
	go r.follow()
	go r.pushLoop()
	go r.receive()
	return r, nil
}

// Port is the ustack port the Responder owns.
func (r *Responder) Port() ustack.Dev { return r.port }

// Counters are the Responder's own counters so far.
func (r *Responder) Counters() ustack.Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.st
}

// Close stops answering, pushes the last counters and the carrier down, and
// releases the port (which stays, carrier-off, unless made with RemoveOnClose).
func (r *Responder) Close() error {
	close(r.stop)
	r.watch.Close() // ends follow's Next
	r.watch = nil
	r.wg.Wait()
	err := r.push(false)
	r.release()
	return err
}

func (r *Responder) release() {
	if r.watch != nil {
		r.watch.Close()
	}
	if r.client != nil {
		r.client.Close()
	}
	if r.fd >= 0 {
		unix.Close(r.fd)
	}
}

// openPacket is a raw packet socket on device ifindex, that does not see its own
// transmissions and wakes every 50 ms to look at the stop channel.
func openPacket(ifindex int) (int, error) {
	proto := htons(unix.ETH_P_ALL)
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(proto))
	if err != nil {
		return -1, fmt.Errorf("responder: packet socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: proto, Ifindex: ifindex}); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("responder: bind: %w", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("responder: PACKET_IGNORE_OUTGOING: %w", err)
	}
	tv := unix.NsecToTimeval((50 * time.Millisecond).Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func (r *Responder) stopped() bool {
	select {
	case <-r.stop:
		return true
	default:
		return false
	}
}

// follow takes each new configuration of the port.
func (r *Responder) follow() {
	defer r.wg.Done()
	for !r.stopped() {
		c, err := r.watch.Next(0)
		if err != nil {
			return
		}
		r.conf.Store(&c)
		if r.cfg.OnConfig != nil {
			r.cfg.OnConfig(c)
		}
	}
}

func (r *Responder) pushLoop() {
	defer r.wg.Done()
	t := time.NewTicker(r.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
			r.push(true)
		}
	}
}

// push mirrors the counters into the port, with the link state.
func (r *Responder) push(up bool) error {
	r.mu.Lock()
	st := r.st
	u := ustack.Update{Stats: &st, RxQueues: append([]ustack.QueueCounters(nil), r.rxq...),
		TxQueues: append([]ustack.QueueCounters(nil), r.txq...), Carrier: &up}
	r.mu.Unlock()
	return r.client.SetStats(r.port, u)
}

func (r *Responder) receive() {
	defer r.wg.Done()
	buf := make([]byte, 65536)
	for !r.stopped() {
		n, _, err := unix.Recvfrom(r.fd, buf, 0)
		if err != nil {
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
				continue
			}
			return
		}
		r.handle(buf[:n])
	}
}

// queue spreads flows over n queues by their IPv4 addresses, as RSS would.
func queue(frame []byte, n int) int {
	if n <= 1 || len(frame) < 34 || binary.BigEndian.Uint16(frame[12:]) != unix.ETH_P_IP {
		return 0
	}
	var h uint32
	for _, b := range frame[26:34] {
		h = h*31 + uint32(b)
	}
	return int(h % uint32(n))
}

// handle counts a received frame and answers it if it asks something of the stack.
func (r *Responder) handle(f []byte) {
	q := queue(f, len(r.rxq))
	reply, bad := r.answer(f)
	r.mu.Lock()
	r.st.RxPackets++
	r.st.RxBytes += uint64(len(f))
	r.rxq[q].Packets++
	r.rxq[q].Bytes += uint64(len(f))
	if len(f) >= 6 && f[0]&1 != 0 {
		r.st.Multicast++
	}
	if bad {
		r.st.RxErrors++
	}
	r.mu.Unlock()
	if reply == nil {
		return
	}
	err := unix.Sendto(r.fd, reply, 0, &unix.SockaddrLinklayer{Ifindex: r.link, Halen: 6})
	tq := queue(reply, len(r.txq))
	r.mu.Lock()
	if err != nil {
		r.st.TxErrors++
	} else {
		r.st.TxPackets++
		r.st.TxBytes += uint64(len(reply))
		r.txq[tq].Packets++
		r.txq[tq].Bytes += uint64(len(reply))
	}
	r.mu.Unlock()
}

// answer is the reply to frame f, if any; bad reports a malformed frame.
func (r *Responder) answer(f []byte) (reply []byte, bad bool) {
	if len(f) < 14 {
		return nil, true
	}
	conf := r.conf.Load()
	switch binary.BigEndian.Uint16(f[12:]) {
	case unix.ETH_P_ARP:
		return r.arp(f, conf)
	case unix.ETH_P_IP:
		return r.ipv4(f, conf)
	}
	return nil, false
}

func (r *Responder) arp(f []byte, conf *ustack.Config) ([]byte, bool) {
	a := f[14:]
	if len(a) < 28 {
		return nil, true
	}
	if binary.BigEndian.Uint16(a[0:]) != 1 || binary.BigEndian.Uint16(a[2:]) != unix.ETH_P_IP ||
		a[4] != 6 || a[5] != 4 {
		return nil, false
	}
	target := netip.AddrFrom4([4]byte(a[24:28]))
	if binary.BigEndian.Uint16(a[6:]) != 1 || !conf.Has(target) {
		return nil, false
	}
	out := make([]byte, 42)
	copy(out[0:6], a[8:14]) // to the asker
	copy(out[6:12], r.mac)
	binary.BigEndian.PutUint16(out[12:], unix.ETH_P_ARP)
	o := out[14:]
	copy(o[0:6], a[0:6])
	binary.BigEndian.PutUint16(o[6:], 2) // reply
	copy(o[8:14], r.mac)
	copy(o[14:18], a[24:28]) // the address asked for is ours
	copy(o[18:28], a[8:18])  // the asker's MAC and address
	return out, false
}

func (r *Responder) ipv4(f []byte, conf *ustack.Config) ([]byte, bool) {
	ip := f[14:]
	if len(ip) < 20 || ip[0]>>4 != 4 {
		return nil, true
	}
	ihl := int(ip[0]&0xf) * 4
	total := int(binary.BigEndian.Uint16(ip[2:]))
	if ihl < 20 || total < ihl || total > len(ip) || checksum(ip[:ihl], 0) != 0 {
		return nil, true
	}
	dst := netip.AddrFrom4([4]byte(ip[16:20]))
	if !conf.Has(dst) || binary.BigEndian.Uint16(ip[6:])&0x3fff != 0 { // not ours, or a fragment
		return nil, false
	}
	payload := ip[ihl:total]
	var out []byte
	switch ip[9] {
	case unix.IPPROTO_ICMP:
		if len(payload) < 8 || payload[0] != 8 || checksum(payload, 0) != 0 {
			return nil, false
		}
		out = reverse(f, ihl, total)
		icmp := out[14+ihl:]
		icmp[0] = 0 // echo reply
		icmp[2], icmp[3] = 0, 0
		binary.BigEndian.PutUint16(icmp[2:], checksum(icmp, 0))
	case unix.IPPROTO_UDP:
		if len(payload) < 8 || binary.BigEndian.Uint16(payload[2:]) != 7 {
			return nil, false
		}
		out = reverse(f, ihl, total)
		udp := out[14+ihl:]
		sp, dp := binary.BigEndian.Uint16(udp[0:]), binary.BigEndian.Uint16(udp[2:])
		binary.BigEndian.PutUint16(udp[0:], dp)
		binary.BigEndian.PutUint16(udp[2:], sp)
		udp[6], udp[7] = 0, 0 // no checksum, as IPv4 allows
	default:
		return nil, false
	}
	return out, false
}

// reverse copies an IPv4 frame's first 14+total bytes with its Ethernet and IP
// addresses swapped, TTL 64 and the header checksum redone.
func reverse(f []byte, ihl, total int) []byte {
	out := make([]byte, 14+total)
	copy(out, f[:14+total])
	copy(out[0:6], f[6:12])
	copy(out[6:12], f[0:6])
	ip := out[14:]
	copy(ip[12:16], f[14+16:14+20])
	copy(ip[16:20], f[14+12:14+16])
	ip[8] = 64
	ip[10], ip[11] = 0, 0
	binary.BigEndian.PutUint16(ip[10:], checksum(ip[:ihl], 0))
	return out
}

// checksum is the Internet checksum of b (RFC 1071), folded and complemented.
func checksum(b []byte, sum uint32) uint16 {
	for len(b) >= 2 {
		sum += uint32(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}
