package load

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// ServerConfig configures Server.
type ServerConfig struct {
	Addr  string            // listen address, e.g. ":8080"
	Cores int               // listeners (SO_REUSEPORT), one per core; default GOMAXPROCS
	Files map[string][]byte // path -> content, served from memory
	// Synthetic, when set, also serves /<size> (e.g. /20k, /1m, /512) as that many bytes.
	Synthetic bool
	// OnConn, if set, sees every accepted connection's remote address.
	OnConn func(remote net.Addr)
}

// Server is an HTTP/1.1 server for load tests (epserver's job): every file is in
// memory, one SO_REUSEPORT listener per core spreads connections in the kernel, and
// connections are kept alive unless the client says otherwise.
type Server struct {
	cfg       ServerConfig
	listeners []net.Listener
	wg        sync.WaitGroup
	synth     sync.Map // size -> []byte
	Requests  atomic.Uint64
	Errors    atomic.Uint64
	BytesOut  atomic.Uint64
}

// LoadDir reads every regular file under dir into memory, keyed by its URL path.
func LoadDir(dir string) (map[string][]byte, error) {
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		files["/"+filepath.ToSlash(rel)] = b
		return nil
	})
	return files, err
}

// ParseSize reads 512, 20k, 1m, 2g (powers of 1024).
func ParseSize(s string) (int, error) {
	mult := 1
	switch {
	case strings.HasSuffix(s, "k"), strings.HasSuffix(s, "K"):
		mult, s = 1<<10, s[:len(s)-1]
	case strings.HasSuffix(s, "m"), strings.HasSuffix(s, "M"):
		mult, s = 1<<20, s[:len(s)-1]
	case strings.HasSuffix(s, "g"), strings.HasSuffix(s, "G"):
		mult, s = 1<<30, s[:len(s)-1]
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > (1<<31)/mult {
		return 0, fmt.Errorf("size %q: want a number with an optional k, m or g suffix", s)
	}
	return n * mult, nil
}

// Listen opens the listeners.
func Listen(cfg ServerConfig) (*Server, error) {
	if cfg.Cores <= 0 {
		cfg.Cores = runtime.GOMAXPROCS(0)
	}
	s := &Server{cfg: cfg}
	lc := net.ListenConfig{Control: func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	for i := 0; i < cfg.Cores; i++ {
		ln, err := lc.Listen(context.Background(), "tcp", cfg.Addr)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("load server: listen %s: %w", cfg.Addr, err)
		}
		if i == 0 && strings.HasSuffix(cfg.Addr, ":0") {
			cfg.Addr = ln.Addr().String() // the others share the port the first got
			s.cfg.Addr = cfg.Addr
		}
		s.listeners = append(s.listeners, ln)
	}
	return s, nil
}

// Addr is the listening address.
func (s *Server) Addr() string { return s.listeners[0].Addr().String() }

// Serve accepts until Close.
func (s *Server) Serve() {
	for _, ln := range s.listeners {
		s.wg.Add(1)
		go func(ln net.Listener) {
			defer s.wg.Done()
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				if s.cfg.OnConn != nil {
					s.cfg.OnConn(c.RemoteAddr())
				}
				go s.serveConn(c)
			}
		}(ln)
	}
	s.wg.Wait()
}

// Close stops the listeners.
func (s *Server) Close() {
	for _, ln := range s.listeners {
		ln.Close()
	}
}

func (s *Server) body(path string) ([]byte, bool) {
	if b, ok := s.cfg.Files[path]; ok {
		return b, true
	}
	if !s.cfg.Synthetic {
		return nil, false
	}
	n, err := ParseSize(strings.TrimPrefix(path, "/"))
	if err != nil || n > 1<<30 {
		return nil, false
	}
	if b, ok := s.synth.Load(n); ok {
		return b.([]byte), true
	}
	b := bytes.Repeat([]byte("nlkit-load\n"), n/11+1)[:n]
	s.synth.Store(n, b)
	return b, true
}

// serveConn handles one connection's requests (HTTP/1.0 and 1.1, GET and HEAD).
func (s *Server) serveConn(c net.Conn) {
	defer c.Close()
	r := bufio.NewReaderSize(c, 4096)
	w := bufio.NewWriterSize(c, 64<<10)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		f := strings.Fields(line)
		keepAlive := len(f) == 3 && f[2] == "HTTP/1.1"
		for { // headers
			h, err := r.ReadString('\n')
			if err != nil {
				return
			}
			if h == "\r\n" || h == "\n" {
				break
			}
			if k, v, ok := strings.Cut(h, ":"); ok && strings.EqualFold(strings.TrimSpace(k), "connection") {
				keepAlive = strings.EqualFold(strings.TrimSpace(v), "keep-alive") ||
					(keepAlive && !strings.EqualFold(strings.TrimSpace(v), "close"))
			}
		}
		if len(f) != 3 || (f[0] != "GET" && f[0] != "HEAD") {
			s.Errors.Add(1)
			io.WriteString(w, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
			w.Flush()
			return
		}
		b, ok := s.body(f[1])
		s.Requests.Add(1)
		conn := "keep-alive"
		if !keepAlive {
			conn = "close"
		}
		if !ok {
			s.Errors.Add(1)
			fmt.Fprintf(w, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: %s\r\n\r\n", conn)
		} else {
			fmt.Fprintf(w, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nContent-Type: application/octet-stream\r\nConnection: %s\r\n\r\n", len(b), conn)
			if f[0] == "GET" {
				w.Write(b)
				s.BytesOut.Add(uint64(len(b)))
			}
		}
		if err := w.Flush(); err != nil || !keepAlive {
			return
		}
	}
}

// Listeners are the per-core listeners.
func (s *Server) Listeners() []net.Listener { return s.listeners }
