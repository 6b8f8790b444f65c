//go:build vmtest

package scenarios

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nlkit/nlkit/tests/vm/job"
	"github.com/nlkit/nlkit/tests/vm/vmtest"
)

// The load benchmark's object and connections: mTCP's epwget/epserver measurements'
// shape, keep-alive, two client threads of 20 connections each.
const (
	loadObject  = 20 << 10
	loadThreads = 2
	loadConns   = 20 // per thread
)

// TestBenchmarkLoad prints nlkit's HTTP load tools against the tools people measure
// with: `nlkit load wget` against wrk (both fetching from nginx), and `nlkit load
// server` against nginx (both fetched by wrk), the same 20 KB object, keep-alive,
// 2 threads x 20 connections, over loopback in a namespace of their own; each program
// a process of its own, rounds alternating. Its assertions: every request answered in
// full, no errors.
func TestBenchmarkLoad(t *testing.T) {
	vmtest.Require(t)
	tp := vmtest.NewTopo(t, "lh")
	tp.IP("lh", "link set lo up")
	dir := t.TempDir()
	www := filepath.Join(dir, "www")
	if err := os.MkdirAll(www, 0o755); err != nil {
		t.Fatal(err)
	}
	obj := bytes.Repeat([]byte("nlkit load "), loadObject/11+1)[:loadObject]
	if err := os.WriteFile(filepath.Join(www, "obj"), obj, 0o644); err != nil {
		t.Fatal(err)
	}
	const nginxAddr, nlkitAddr = "127.0.0.1:8081", "127.0.0.1:8082"
	startNginx(t, dir, www, nginxAddr)
	srv := startDaemon(t, "nlkit load server", "ip", "netns", "exec", "lh", vmtest.Nlkit(t), "load", "server",
		"--listen", nlkitAddr, "--dir", www, "--cores", strconv.Itoa(loadThreads))
	for _, a := range []string{nginxAddr, nlkitAddr} {
		waitListen(t, tp, a)
	}

	measure, rounds := benchRounds()
	res := map[string][]float64{}
	for r := 0; r < rounds; r++ {
		res["wrk/nginx"] = append(res["wrk/nginx"], wrk(t, measure, "http://"+nginxAddr+"/obj"))
		res["nlkit/nginx"] = append(res["nlkit/nginx"], nlkitWget(t, measure, "http://"+nginxAddr+"/obj"))
		res["wrk/nlkit"] = append(res["wrk/nlkit"], wrk(t, measure, "http://"+nlkitAddr+"/obj"))
	}
	what := fmt.Sprintf("GET of a %d KB object, keep-alive, %d threads x %d connections, loopback", loadObject>>10, loadThreads, loadConns)
	vmtest.ReportBench(t, job.BenchRow{Mechanism: "nlkit load wget", Baseline: "wrk", Workload: what + ", from nginx",
		Unit: "requests/s", Nlkit: res["nlkit/nginx"], Base: res["wrk/nginx"]})
	vmtest.ReportBench(t, job.BenchRow{Mechanism: "nlkit load server", Baseline: "nginx", Workload: what + ", by wrk",
		Unit: "requests/s", Nlkit: res["wrk/nlkit"], Base: res["wrk/nginx"]})
	if out := srv.stop(); !regexp.MustCompile(`\d+ requests, 0 errors`).MatchString(out) {
		t.Errorf("nlkit load server: %s", out)
	}
}

// daemon is a server process the test started.
type daemon struct {
	cmd *exec.Cmd
	out *bytes.Buffer
}

// startDaemon starts a server process; it is stopped when the test ends (stop: now,
// returning its output).
func startDaemon(t *testing.T, name string, args ...string) *daemon {
	t.Helper()
	d := &daemon{cmd: exec.Command(args[0], args[1:]...), out: new(bytes.Buffer)}
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	t.Cleanup(func() { d.stop() })
	return d
}

func (d *daemon) stop() string {
	if d.cmd.ProcessState == nil {
		_ = d.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = d.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = d.cmd.Process.Kill()
			<-done
		}
	}
	return strings.TrimSpace(d.out.String())
}

// startNginx runs nginx as Debian ships it (nginx-light) with a configuration of the
// test's own: workers as many as the client's threads, every file from www, no logs.
func startNginx(t *testing.T, dir, www, addr string) {
	t.Helper()
	conf := fmt.Sprintf(`user root;
worker_processes %d;
daemon off;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log;
events { worker_connections 1024; }
http {
	access_log off;
	sendfile on;
	tcp_nopush on;
	keepalive_requests 100000000;
	client_body_temp_path %[2]s/body;
	proxy_temp_path %[2]s/proxy;
	fastcgi_temp_path %[2]s/fastcgi;
	uwsgi_temp_path %[2]s/uwsgi;
	scgi_temp_path %[2]s/scgi;
	server { listen %s reuseport; root %s; }
}
`, loadThreads, dir, addr, www)
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, "nginx", "ip", "netns", "exec", "lh", "nginx", "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", path)
	t.Cleanup(func() {
		if b, _ := os.ReadFile(filepath.Join(dir, "error.log")); bytes.Contains(b, []byte("[emerg]")) || bytes.Contains(b, []byte("[crit]")) {
			t.Errorf("nginx: %s\n%s", b, d.out)
		}
	})
}

// waitListen waits until something accepts connections on addr in the namespace.
func waitListen(t *testing.T, tp *vmtest.Topo, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := tp.Do("lh", func() error {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
			}
			return err
		})
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on %s: %v", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// wrk runs wrk for d against url and returns its requests/s; a socket error or a
// response other than 2xx fails the test.
func wrk(t *testing.T, d time.Duration, url string) float64 {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", "lh", "wrk", "-t", strconv.Itoa(loadThreads), "-c", strconv.Itoa(loadThreads*loadConns),
		"-d", fmt.Sprintf("%ds", int(d.Seconds())), url).CombinedOutput()
	if err != nil {
		t.Fatalf("wrk %s: %v\n%s", url, err, out)
	}
	if bytes.Contains(out, []byte("Socket errors")) || bytes.Contains(out, []byte("Non-2xx")) {
		t.Errorf("wrk %s: errors\n%s", url, out)
	}
	m := regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("wrk %s: no Requests/sec in\n%s", url, out)
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

// nlkitWget runs nlkit load wget for d against url and returns its requests/s; an error
// or a short response fails the test.
func nlkitWget(t *testing.T, d time.Duration, url string) float64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d+30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", "netns", "exec", "lh", vmtest.Nlkit(t), "load", "wget", "-q", "--json", "--keepalive",
		"-N", strconv.Itoa(loadThreads), "-c", strconv.Itoa(loadConns), "-t", d.String(), url).CombinedOutput()
	if err != nil {
		t.Fatalf("nlkit load wget %s: %v\n%s", url, err, out)
	}
	var r struct {
		Requests  uint64  `json:"requests"`
		Errors    uint64  `json:"errors"`
		Bytes     uint64  `json:"bytes"`
		PerSecond float64 `json:"requests_per_second"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("nlkit load wget %s: %v\n%s", url, err, out)
	}
	if r.Requests == 0 || r.Errors != 0 || r.Bytes < r.Requests*loadObject {
		t.Errorf("nlkit load wget %s: %d requests, %d errors, %d bytes (want %d KB each)", url, r.Requests, r.Errors, r.Bytes, loadObject>>10)
	}
	return r.PerSecond
}
