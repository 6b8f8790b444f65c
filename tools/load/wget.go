package load

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// WgetConfig configures Wget (epwget's job).
type WgetConfig struct {
	URL         string        // http://host:port/path
	Requests    int           // total requests; 0 runs until Duration
	Duration    time.Duration // bound on the run (0: until Requests are done)
	Cores       int           // worker groups (default GOMAXPROCS)
	Concurrency int           // connections in flight per core (default 10)
	KeepAlive   bool          // reuse connections (default: one connection per request, like epwget)
	Timeout     time.Duration // per request (default 10 s)
	// RSS, when set, makes core i use only source ports whose replies the receiving
	// NIC hashes to queue i (mtcp_init_rss); Source is then the local address.
	RSS    *RSS
	Source netip.Addr
	// Progress, if set, is called once per second.
	Progress func(Progress)
}

// Progress is one per-second line.
type Progress struct {
	Second   int           `json:"second"`
	Requests uint64        `json:"requests"` // in this second
	Errors   uint64        `json:"errors"`
	Bytes    uint64        `json:"bytes"`
	Avg      time.Duration `json:"avg_ns"`
}

// Result sums a run up.
type Result struct {
	Requests uint64 `json:"requests"` // completed: a whole response received
	// Errors are failed attempts (a refused or reset connection, a short or bad
	// response), each counted once; a connection that keeps failing is retried, so
	// errors can outnumber requests.
	Errors    uint64        `json:"errors"`
	Bytes     uint64        `json:"bytes"`
	Elapsed   time.Duration `json:"elapsed_ns"`
	PerSecond float64       `json:"requests_per_second"`
	Avg       time.Duration `json:"avg_ns"`
	P50       time.Duration `json:"p50_ns"`
	P99       time.Duration `json:"p99_ns"`
	Max       time.Duration `json:"max_ns"`
	// Latencies are every successful request's response time (dial to last byte).
	Latencies  []time.Duration `json:"-"`
	FirstError string          `json:"first_error,omitempty"`
}

type target struct {
	addr, host, path string
}

func parseURL(s string) (target, error) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return target{}, fmt.Errorf("wget: %q is not an http://host[:port]/path URL", s)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "80")
	}
	p := u.RequestURI()
	return target{addr: host, host: u.Host, path: p}, nil
}

// Wget runs the load and returns its figures.
func Wget(ctx context.Context, cfg WgetConfig) (Result, error) {
	tg, err := parseURL(cfg.URL)
	if err != nil {
		return Result{}, err
	}
	if cfg.Cores <= 0 {
		cfg.Cores = runtime.GOMAXPROCS(0)
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 10
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Requests <= 0 && cfg.Duration <= 0 {
		return Result{}, errors.New("wget: give a number of requests or a duration")
	}
	var ports [][]uint16
	if cfg.RSS != nil {
		remote, err := netip.ParseAddrPort(tg.addr)
		if err != nil {
			return Result{}, fmt.Errorf("wget: RSS port choice needs a numeric host:port, not %q", tg.addr)
		}
		if !cfg.Source.IsValid() {
			return Result{}, errors.New("wget: RSS port choice needs the source address")
		}
		if cfg.RSS.Queues < cfg.Cores {
			return Result{}, fmt.Errorf("wget: %d cores but only %d RSS queues", cfg.Cores, cfg.RSS.Queues)
		}
		for core := 0; core < cfg.Cores; core++ {
			p, err := cfg.RSS.SourcePorts(cfg.Source, remote, core, 4096, 10000, 60999)
			if err != nil {
				return Result{}, err
			}
			ports = append(ports, p)
		}
	}
	if cfg.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
	}
	// each connection slot counts for itself, on a cache line of its own: shared
	// counters cost a line bouncing between the cores per request
	slots := make([]slotStats, cfg.Cores*cfg.Concurrency)
	sum := func() (done, errs, bytes uint64, lat int64) {
		for i := range slots {
			done, errs, bytes, lat = done+slots[i].done.Load(), errs+slots[i].errs.Load(), bytes+slots[i].bytes.Load(), lat+slots[i].sumLat.Load()
		}
		return
	}
	var issued atomic.Uint64
	var firstErr atomic.Value
	start := time.Now()
	stop := make(chan struct{})
	if cfg.Progress != nil {
		go func() {
			t := time.NewTicker(time.Second)
			defer t.Stop()
			var pd, pe, pb uint64
			var pl int64
			for sec := 1; ; sec++ {
				select {
				case <-stop:
					return
				case <-t.C:
				}
				d, e, b, l := sum()
				p := Progress{Second: sec, Requests: d - pd, Errors: e - pe, Bytes: b - pb}
				if d > pd {
					p.Avg = time.Duration((l - pl) / int64(d-pd))
				}
				cfg.Progress(p)
				pd, pe, pb, pl = d, e, b, l
			}
		}()
	}
	var wg sync.WaitGroup
	for core := 0; core < cfg.Cores; core++ {
		var next atomic.Uint64
		for i := 0; i < cfg.Concurrency; i++ {
			wg.Add(1)
			go func(core int, st *slotStats) {
				defer wg.Done()
				cl := &client{cfg: &cfg, tg: tg}
				if ports != nil {
					cl.ports, cl.next = ports[core], &next
				}
				defer cl.close()
				for !ended(ctx) {
					if cfg.Requests > 0 && issued.Add(1) > uint64(cfg.Requests) {
						return
					}
					t0 := time.Now()
					n, err := cl.get(ctx, t0)
					lat := time.Since(t0)
					if err != nil {
						if ended(ctx) {
							return
						}
						st.errs.Add(1)
						firstErr.CompareAndSwap(nil, err.Error())
						continue
					}
					st.bytes.Add(uint64(n))
					st.sumLat.Add(int64(lat))
					st.done.Add(1)
					st.lats = append(st.lats, lat)
				}
			}(core, &slots[core*cfg.Concurrency+i])
		}
	}
	wg.Wait()
	close(stop)
	done, errs, bytes, sumLat := sum()
	r := Result{Requests: done, Errors: errs, Bytes: bytes, Elapsed: time.Since(start)}
	if fe, ok := firstErr.Load().(string); ok {
		r.FirstError = fe
	}
	for i := range slots {
		r.Latencies = append(r.Latencies, slots[i].lats...)
	}
	sort.Slice(r.Latencies, func(i, j int) bool { return r.Latencies[i] < r.Latencies[j] })
	if n := len(r.Latencies); n > 0 {
		r.Avg = time.Duration(sumLat / int64(n))
		r.P50, r.P99, r.Max = r.Latencies[n/2], r.Latencies[(n*99)/100], r.Latencies[n-1]
	}
	r.PerSecond = float64(r.Requests) / r.Elapsed.Seconds()
	return r, nil
}

// slotStats is what one connection slot counted, padded to its own cache lines.
type slotStats struct {
	done, errs, bytes atomic.Uint64
	sumLat            atomic.Int64
	lats              []time.Duration // each successful request's response time
	_                 [128 - 56]byte
}

// client is one connection slot of a core.
type client struct {
	cfg      *WgetConfig
	tg       target
	conn     net.Conn
	br       *bufio.Reader
	ports    []uint16
	next     *atomic.Uint64
	req      []byte    // the request, built at the first
	deadline time.Time // the connection's read and write deadline
}

func (c *client) close() {
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}

// ended tells whether the run is over: its context is done or its deadline has
// passed. A dial bounded by the deadline fails with "i/o timeout" as the deadline
// passes, and can return before the context's timer has set Err.
func ended(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	d, ok := ctx.Deadline()
	return ok && !time.Now().Before(d)
}

func (c *client) dial(ctx context.Context) error {
	d := net.Dialer{Timeout: c.cfg.Timeout}
	if c.ports == nil {
		conn, err := d.DialContext(ctx, "tcp", c.tg.addr)
		if err != nil {
			return err
		}
		c.conn = conn
		c.br = bufio.NewReaderSize(conn, 64<<10)
		return nil
	}
	// RSS: bind a port of this core's set; ports still in TIME_WAIT are skipped
	d.Control = func(network, address string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) { unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1) })
	}
	var err error
	for try := 0; try < 16; try++ {
		p := c.ports[c.next.Add(1)%uint64(len(c.ports))]
		d.LocalAddr = &net.TCPAddr{IP: c.cfg.Source.AsSlice(), Port: int(p)}
		var conn net.Conn
		if conn, err = d.DialContext(ctx, "tcp", c.tg.addr); err == nil {
			c.conn = conn
			c.br = bufio.NewReaderSize(conn, 64<<10)
			return nil
		}
		if !errors.Is(err, syscall.EADDRINUSE) && !errors.Is(err, syscall.EADDRNOTAVAIL) {
			return err
		}
	}
	return err
}

// get fetches the URL once, returning the body's size. Per request it makes one write
// and reads through the connection's buffer without allocating: the request's bytes
// are built once per connection, headers are read in place, the body skipped in the
// buffer, and the deadline moved only when a tenth of the timeout has passed (so a
// request's bound is between 0.9 and 1 timeout).
func (c *client) get(ctx context.Context, now time.Time) (int, error) {
	if c.conn == nil {
		if err := c.dial(ctx); err != nil {
			return 0, err
		}
		c.deadline = time.Time{}
	}
	defer func() {
		if !c.cfg.KeepAlive {
			c.close()
		}
	}()
	if now.Add(c.cfg.Timeout / 10).After(c.deadline) {
		c.deadline = now.Add(c.cfg.Timeout)
		c.conn.SetDeadline(c.deadline)
	}
	if c.req == nil {
		conn := "close"
		if c.cfg.KeepAlive {
			conn = "keep-alive"
		}
		c.req = []byte(fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: %s\r\n\r\n", c.tg.path, c.tg.host, conn))
	}
	if _, err := c.conn.Write(c.req); err != nil {
		c.close()
		return 0, err
	}
	status, err := c.br.ReadSlice('\n')
	if err != nil {
		c.close()
		return 0, fmt.Errorf("reading the status line: %w", err)
	}
	// "HTTP/1.1 200 OK"
	if _, rest, _ := bytes.Cut(status, []byte(" ")); !bytes.HasPrefix(rest, []byte("200")) || (len(rest) > 3 && rest[3] > ' ') {
		c.close()
		return 0, fmt.Errorf("server answered %q", strings.TrimSpace(string(status)))
	}
	length := -1
	for {
		h, err := c.br.ReadSlice('\n')
		if err != nil {
			c.close()
			if errors.Is(err, bufio.ErrBufferFull) {
				err = errors.New("a header line longer than 64 KB")
			}
			return 0, err
		}
		if len(h) <= 2 && (string(h) == "\r\n" || string(h) == "\n") {
			break
		}
		if k, v, ok := bytes.Cut(h, []byte(":")); ok && bytes.EqualFold(bytes.TrimSpace(k), []byte("content-length")) {
			if length, err = strconv.Atoi(string(bytes.TrimSpace(v))); err != nil || length < 0 {
				c.close()
				return 0, fmt.Errorf("bad Content-Length %q", bytes.TrimSpace(v))
			}
		}
	}
	if length < 0 {
		c.close()
		return 0, errors.New("response without Content-Length")
	}
	n, err := c.br.Discard(length)
	if err != nil {
		c.close()
		return n, fmt.Errorf("body: %d of %d bytes: %w", n, length, err)
	}
	return length, nil
}
