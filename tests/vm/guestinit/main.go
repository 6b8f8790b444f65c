// Command guestinit is nlkit's PID 1 inside virtme-ng test VMs.
//
// The runner boots `vng ... --append "init=out/vm/guest-init nlkit.job=<dir>/job.json"`.
// vng's initramfs mounts the host's root over 9p and execs that program (tests/vm/
// guest-init.c) instead of virtme-init; it mounts /proc, /sys and devtmpfs (without
// which the Go runtime hangs at start-up) and execs this binary (out/vm/guestinit).
// One static Go process does what a shell init would do with dozens of executables:
// under TCG on the KASAN kernel every exec costs ~1.5 s, and virtme-init's udev
// coldplug and settle costs 30-100 s, so this is where most of the boot time goes.
//
// It then carries out the job: load the modules, run each test binary (streaming a
// line per binary to the host through vng's stdout port), unload the modules, check
// kmemleak, save the kernel log, and power off. With a shell job it gives an
// interactive shell on the console instead, with the modules loaded.
package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/nlkit/nlkit/tests/vm/job"
)

var console *os.File // vng's stdout port, or the serial console

func logf(format string, a ...any) {
	fmt.Fprintf(console, "[guest] "+format+"\n", a...)
	if k, err := os.OpenFile("/dev/kmsg", os.O_WRONLY, 0); err == nil {
		fmt.Fprintf(k, "<6>nlkit-init: "+format+"\n", a...)
		k.Close()
	}
}

// trace goes to the kernel log only (seen with vng -v): where a boot hangs.
func trace(format string, a ...any) {
	if k, err := os.OpenFile("/dev/kmsg", os.O_WRONLY, 0); err == nil {
		fmt.Fprintf(k, "<7>nlkit-init: "+format+"\n", a...)
		k.Close()
	}
}

func mount(src, target, fstype string, flags uintptr, data string) error {
	trace("mount %s %s", fstype, target)
	_ = os.MkdirAll(target, 0o755)
	if err := unix.Mount(src, target, fstype, flags, data); err != nil {
		return fmt.Errorf("mount %s on %s: %w", fstype, target, err)
	}
	return nil
}

func setupMounts() []error {
	var errs []error
	must := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	// out/vm/guest-init mounted devtmpfs, /proc and /sys before exec'ing us.
	trace("init started")
	must(mount("run", "/run", "tmpfs", 0, "mode=0755"))
	must(mount("devpts", "/dev/pts", "devpts", 0, "gid=5,mode=620,ptmxmode=666"))
	must(mount("tmpfs", "/dev/shm", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=1777"))
	_ = os.Symlink("/proc/self/fd", "/dev/fd")
	// The host's root is read-only: an overlay on /etc, tmpfs where tools write scratch.
	_ = os.MkdirAll("/run/tmp/etc/upper", 0o755)
	_ = os.MkdirAll("/run/tmp/etc/work", 0o755)
	if err := unix.Mount("etc-overlay", "/etc", "overlay", 0,
		"xino=off,lowerdir=/etc,upperdir=/run/tmp/etc/upper,workdir=/run/tmp/etc/work"); err != nil {
		must(mount("etc-overlay", "/etc", "overlay", 0, "lowerdir=/etc,upperdir=/run/tmp/etc/upper,workdir=/run/tmp/etc/work"))
	}
	for _, d := range []string{"/tmp", "/var/tmp", "/var/log", "/var/cache", "/root"} {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			must(mount("tmpfs", d, "tmpfs", 0, "mode=1777"))
		}
	}
	_ = unix.Mount("debugfs", "/sys/kernel/debug", "debugfs", 0, "")
	_ = unix.Mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, "")
	_ = unix.Mount("cgroup2", "/sys/fs/cgroup", "cgroup2", 0, "")
	_ = unix.Mount("bpf", "/sys/fs/bpf", "bpf", 0, "")
	// vng's --rwdir and --rodir shares: virtme_initmountN=<path relative to />,
	// mounted outer paths first (the results directory lies inside out/vm). The
	// results directory (the job's) is the one writable share, uncached so that the
	// host sees what the guest writes; the read-only ones (/usr, out/vm: the
	// binaries) are mounted with the page cache on, so a binary exec'd again loads
	// from memory instead of over 9p.
	jobDir := filepath.Dir(cmdlineArg("nlkit.job"))
	type share struct{ tag, path string }
	var shares []share
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "virtme_initmount") {
			shares = append(shares, share{"virtme.initmount" + strings.TrimPrefix(k, "virtme_initmount"), "/" + v})
		}
	}
	sort.Slice(shares, func(i, j int) bool {
		return strings.Count(shares[i].path, "/") < strings.Count(shares[j].path, "/")
	})
	for _, s := range shares {
		opts, flags := "version=9p2000.L,trans=virtio,access=any,msize=512000", uintptr(0)
		if s.path != jobDir {
			opts, flags = opts+",cache=loose", unix.MS_RDONLY
		}
		must(mount(s.tag, s.path, "9p", flags, opts))
	}
	// Hide the host's modules when they are not this kernel's.
	var uts unix.Utsname
	_ = unix.Uname(&uts)
	kver := unix.ByteSliceToString(uts.Release[:])
	if os.Getenv("virtme_root_mods") == "" && os.Getenv("virtme_link_mods") == "" {
		if _, err := os.Stat("/lib/modules/" + kver); err == nil {
			_ = unix.Mount("disallow_modules", "/lib/modules/"+kver, "tmpfs", unix.MS_RDONLY, "mode=0000")
		}
	}
	// /dev/virtio-ports/<name>, which udev would have made.
	_ = os.MkdirAll("/dev/virtio-ports", 0o755)
	ports, _ := filepath.Glob("/sys/class/virtio-ports/*")
	for _, p := range ports {
		if name, err := os.ReadFile(p + "/name"); err == nil {
			_ = os.Symlink("/dev/"+filepath.Base(p), "/dev/virtio-ports/"+strings.TrimSpace(string(name)))
		}
	}
	_ = unix.Sethostname([]byte("nlkit-vm"))
	must(os.WriteFile("/proc/sys/net/ipv4/ping_group_range", []byte("0 2147483647"), 0))
	if err := linkUp("lo"); err != nil {
		errs = append(errs, err)
	}
	return errs
}

// linkUp sets an interface up with an ioctl (no `ip` exec).
func linkUp(name string) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("%s flags: %w", name, err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("%s up: %w", name, err)
	}
	return nil
}

func cmdlineArg(name string) string {
	b, _ := os.ReadFile("/proc/cmdline")
	for _, f := range strings.Fields(string(b)) {
		if v, ok := strings.CutPrefix(f, name+"="); ok {
			return v
		}
	}
	return ""
}

func uptime() string {
	b, _ := os.ReadFile("/proc/uptime")
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

func moduleName(path string) string {
	return strings.ReplaceAll(strings.TrimSuffix(filepath.Base(path), ".ko"), "-", "_")
}

func loadModule(path, params string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.FinitModule(int(f.Fd()), params, 0)
}

func unloadModule(name string) error {
	var err error
	for i := 0; i < 50; i++ {
		if err = unix.DeleteModule(name, unix.O_NONBLOCK); err == nil || err == unix.ENOENT {
			return nil
		}
		if err != unix.EAGAIN && err != unix.EBUSY {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}

// writeFile writes whole files only (temp + rename): the host polls for them.
func writeFile(dir, name, content string) {
	tmp := filepath.Join(dir, "."+name+".tmp")
	if os.WriteFile(tmp, []byte(content), 0o644) == nil {
		_ = os.Rename(tmp, filepath.Join(dir, name))
	}
}

func kmemleak(cmd string) error {
	return os.WriteFile("/sys/kernel/debug/kmemleak", []byte(cmd), 0)
}

func dmesg() string {
	n, err := unix.Klogctl(unix.SYSLOG_ACTION_SIZE_BUFFER, nil)
	if err != nil || n <= 0 {
		n = 1 << 22
	}
	buf := make([]byte, n)
	m, err := unix.Klogctl(unix.SYSLOG_ACTION_READ_ALL, buf)
	if err != nil {
		return "dmesg: " + err.Error() + "\n"
	}
	return string(buf[:m])
}

// watchKernelLog keeps a copy of the kernel log in the results directory while the job
// runs, so that the host still has it when it must kill a guest that hangs.
func watchKernelLog(dir string) {
	// a task stuck in D state is reported (with its stack) after a minute, not two
	_ = os.WriteFile("/proc/sys/kernel/hung_task_timeout_secs", []byte("60"), 0)
	go func() {
		for {
			time.Sleep(15 * time.Second)
			writeFile(dir, job.Dmesg, dmesg())
		}
	}()
}

// sysrq asks the kernel to write a report (w: blocked tasks, l: backtraces of all CPUs).
func sysrq(c string) {
	_ = os.WriteFile("/proc/sys/kernel/sysrq", []byte("1"), 0)
	_ = os.WriteFile("/proc/sysrq-trigger", []byte(c), 0)
}

// holdHookKeys registers an empty nftables base chain on every IPv4/IPv6 hook of the
// initial netns (table inet nlkit_hold_keys), so that the netfilter hooks' static keys
// stay enabled while the tests load and unload modules that register hooks
// (fcm_receiver, equalize). Turning such a key off patches live kernel text
// (__ip_local_out, ...) with int3; under QEMU's TCG a CPU that runs that code meanwhile
// can take the int3 after the patch is done, and the guest dies with "Oops: int3" (seen
// on 6.12 during TestUnloadUnderTraffic) or hangs. The chains have no rules, and the
// tests' traffic runs in other namespaces. It speaks nf_tables' netlink itself: an
// exec of nft took 7 s of every stock boot and 11 s on the debug kernel.
func holdHookKeys(modlog *os.File) {
	if err := nftHoldKeys(); err != nil {
		fmt.Fprintf(modlog, "nftables (holding the netfilter hook keys): FAIL %v\n", err)
		logf("nftables: %v (module unloads under traffic may crash TCG guests)", err)
		return
	}
	fmt.Fprintf(modlog, "netfilter hook keys held by table inet nlkit_hold_keys: ok\n")
}

// nftHoldKeys adds table inet nlkit_hold_keys with a filter chain, policy accept, at
// priority 0 of each hook, in one nf_tables batch.
func nftHoldKeys() error {
	c, err := netlink.Dial(unix.NETLINK_NETFILTER, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	msg := func(typ uint16, family uint8, resID uint16, flags netlink.HeaderFlags, attrs func(ae *netlink.AttributeEncoder)) netlink.Message {
		data := []byte{family, unix.NFNETLINK_V0, byte(resID >> 8), byte(resID)}
		if attrs != nil {
			ae := netlink.NewAttributeEncoder()
			ae.ByteOrder = binary.BigEndian
			attrs(ae)
			b, _ := ae.Encode()
			data = append(data, b...)
		}
		return netlink.Message{Header: netlink.Header{Type: netlink.HeaderType(typ), Flags: netlink.Request | flags}, Data: data}
	}
	const table = "nlkit_hold_keys"
	nft := func(m uint16) uint16 { return unix.NFNL_SUBSYS_NFTABLES<<8 | m }
	msgs := []netlink.Message{
		msg(unix.NFNL_MSG_BATCH_BEGIN, unix.AF_UNSPEC, unix.NFNL_SUBSYS_NFTABLES, 0, nil),
		msg(nft(unix.NFT_MSG_NEWTABLE), unix.NFPROTO_INET, 0, netlink.Create|netlink.Acknowledge, func(ae *netlink.AttributeEncoder) {
			ae.String(unix.NFTA_TABLE_NAME, table)
		}),
	}
	hooks := []string{"prerouting", "input", "forward", "output", "postrouting"} // NF_INET_PRE_ROUTING ...
	for num, name := range hooks {
		msgs = append(msgs, msg(nft(unix.NFT_MSG_NEWCHAIN), unix.NFPROTO_INET, 0, netlink.Create|netlink.Acknowledge, func(ae *netlink.AttributeEncoder) {
			ae.String(unix.NFTA_CHAIN_TABLE, table)
			ae.String(unix.NFTA_CHAIN_NAME, name)
			ae.Nested(unix.NFTA_CHAIN_HOOK, func(nae *netlink.AttributeEncoder) error {
				nae.Uint32(unix.NFTA_HOOK_HOOKNUM, uint32(num))
				nae.Uint32(unix.NFTA_HOOK_PRIORITY, 0)
				return nil
			})
			ae.Uint32(unix.NFTA_CHAIN_POLICY, 1) // NF_ACCEPT
			ae.String(unix.NFTA_CHAIN_TYPE, "filter")
		}))
	}
	msgs = append(msgs, msg(unix.NFNL_MSG_BATCH_END, unix.AF_UNSPEC, unix.NFNL_SUBSYS_NFTABLES, 0, nil))
	if _, err := c.SendMessages(msgs); err != nil {
		return err
	}
	for acks := 0; acks < 1+len(hooks); {
		ms, err := c.Receive()
		if err != nil {
			return err
		}
		acks += len(ms)
	}
	return nil
}

// phases records how long each step of the job took (job.Timings), rewritten after
// every step so that a guest that is killed still leaves what it did.
type phases struct {
	dir     string
	list    []job.Phase
	last    time.Time
	lastCPU float64
}

func (p *phases) done(name string) {
	now, cpu := time.Now(), busyCPU()
	p.list = append(p.list, job.Phase{Name: name, Seconds: now.Sub(p.last).Seconds(), CPU: cpu - p.lastCPU})
	p.last, p.lastCPU = now, cpu
	if b, err := json.Marshal(p.list); err == nil {
		writeFile(p.dir, job.Timings, string(b))
	}
}

// busyCPU is the seconds all CPUs spent busy since boot: the first line of /proc/stat,
// less idle and iowait, in USER_HZ (100 on x86) ticks. 0 if it cannot be read.
func busyCPU() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 6 || f[0] != "cpu" {
		return 0
	}
	var busy float64
	for i, v := range f[1:] {
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0
		}
		if i == 3 || i == 4 || i >= 8 { // idle, iowait; guest and guest_nice are in user already
			continue
		}
		busy += n
	}
	return busy / 100
}

// waitGate waits until the host has created the file (see job.Job.Gate).
func waitGate(path string) {
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func runJob(dir string, j *job.Job, ph *phases) (verdict string) {
	modlog, _ := os.Create(filepath.Join(dir, job.ModulesLog))
	defer modlog.Close()
	watchKernelLog(dir)
	holdHookKeys(modlog)
	ph.done("hold hook keys (nftables)")
	settleKeys(modlog)
	ph.done("settle once and netstamp keys")
	failed := 0
	if j.Kmemleak {
		if err := kmemleak("clear"); err != nil {
			fmt.Fprintf(modlog, "kmemleak clear: %v\n", err)
		}
	}
	var loaded []string
	for _, m := range j.Modules {
		start := time.Now()
		if err := loadModule(m, j.Params[moduleName(m)]); err != nil {
			fmt.Fprintf(modlog, "load %s: FAIL %v\n", m, err)
			logf("load %s: %v", filepath.Base(m), err)
			failed++
			continue
		}
		fmt.Fprintf(modlog, "load %s: ok (%v)\n", m, time.Since(start).Round(time.Millisecond))
		loaded = append(loaded, moduleName(m))
	}
	ph.done("load modules")
	if j.Gate != "" {
		waitGate(j.Gate)
		ph.done("wait for the host's go (gate)")
	}
	if j.Shell {
		logf("modules loaded: %s; starting a shell (exit to power off)", strings.Join(loaded, " "))
		shell()
	} else {
		for i, t := range j.Tests {
			if t.Gate != "" {
				waitGate(t.Gate)
				ph.done("wait for the host's go (alone)")
			}
			failed += runTest(dir, i, t, j)
			ph.done(t.Pkg)
		}
	}
	for i := len(loaded) - 1; i >= 0; i-- {
		if err := unloadModule(loaded[i]); err != nil {
			fmt.Fprintf(modlog, "unload %s: FAIL %v\n", loaded[i], err)
			failed++
		} else {
			fmt.Fprintf(modlog, "unload %s: ok\n", loaded[i])
		}
	}
	ph.done("unload modules")
	if j.Kmemleak {
		// Objects must be older than kmemleak's minimum age (5 s) and seen
		// unreferenced by a scan to be reported.
		time.Sleep(6 * time.Second)
		_ = kmemleak("scan")
		time.Sleep(1 * time.Second)
		_ = kmemleak("scan")
		b, err := os.ReadFile("/sys/kernel/debug/kmemleak")
		if err != nil {
			writeFile(dir, job.Kmemleak, "kmemleak: "+err.Error()+"\n")
		} else {
			writeFile(dir, job.Kmemleak, string(b))
		}
		ph.done("kmemleak scan")
	}
	writeFile(dir, job.Dmesg, dmesg())
	ph.done("save kernel log")
	return fmt.Sprintf("uptime %s, %d failures before analysis\n", uptime(), failed)
}

func runTest(dir string, i int, t job.Test, j *job.Job) int {
	out, err := os.Create(filepath.Join(dir, job.Output(i)))
	if err != nil {
		logf("%s: %v", t.Pkg, err)
		return 1
	}
	defer out.Close()
	args := []string{"-test.v=test2json", fmt.Sprintf("-test.timeout=%ds", j.Timeout), "-test.count=1"}
	if j.Run != "" {
		args = append(args, "-test.run="+j.Run)
	}
	args = append(args, t.Args...)
	cmd := exec.Command(t.Bin, args...)
	cmd.Dir = t.Dir
	bench, profile := "0", "0"
	if j.Bench {
		bench = "1"
	}
	if j.Profile {
		profile = "1"
	}
	cmd.Env = append(os.Environ(), "NLKIT_VM=1", "NLKIT_BENCH="+bench, "NLKIT_PROFILE="+profile, "NLKIT_RESULTS="+dir, "NLKIT_KERNEL="+j.Kernel, "NLKIT_MODULES="+strings.Join(j.Modules, ":"), "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=/root", "GOCACHE=/tmp/gocache", "TMPDIR=/tmp")
	start := time.Now()
	// The raw output (test2json framing) goes to test-N.out for the host; a copy with
	// each line's time since the binary started goes to test-N.log (where a test's
	// time goes), and with -v the text lines to the console.
	tlog, _ := os.Create(filepath.Join(dir, job.TimedLog(i)))
	defer tlog.Close()
	pr, pw, _ := os.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	copied := make(chan struct{})
	var lastLine atomic.Int64 // when the copier last took a line (unix ns)
	lastLine.Store(time.Now().UnixNano())
	go func() {
		defer close(copied)
		s := bufio.NewScanner(pr)
		s.Buffer(make([]byte, 1<<20), 1<<20)
		for s.Scan() {
			lastLine.Store(time.Now().UnixNano())
			line := s.Text()
			fmt.Fprintln(out, line)
			fmt.Fprintf(tlog, "%8.2f %s\n", time.Since(start).Seconds(), strings.TrimPrefix(line, "\x16"))
			if strings.HasPrefix(line, "\x16") {
				continue
			}
			if j.Verbose {
				fmt.Fprintf(console, "    %s\n", line)
			}
		}
	}()
	err = waitTest(dir, t, j, cmd)
	pw.Close()
	// a child the test left behind may hold the pipe open, so the copier is given up
	// once it has taken no line for 2 s; not 2 s after the binary's exit, which on the
	// debug kernel cut a binary's last lines (its PASS) while they were still being
	// written out (make test at c3afb61: TestEqualizeKselftest's rc 0 with no result)
	for drained := false; !drained; {
		select {
		case <-copied:
			drained = true
		case <-time.After(100 * time.Millisecond):
			drained = time.Since(time.Unix(0, lastLine.Load())) > 2*time.Second
		}
	}
	pr.Close()
	rc := 0
	if err != nil {
		rc = 1
		if ee, ok := err.(*exec.ExitError); ok {
			rc = ee.ExitCode()
		} else {
			fmt.Fprintf(out, "guestinit: %v\n", err)
		}
	}
	writeFile(dir, job.Status(i), fmt.Sprintf("%d\n", rc))
	word := "ok"
	if rc != 0 {
		word = "FAIL"
	}
	logf("%-4s %s (%.1fs)", word, t.Pkg, time.Since(start).Seconds())
	if rc != 0 {
		return 1
	}
	return 0
}

// waitTest runs a test binary. Its own -test.timeout makes a hung test panic with every
// goroutine's stack; a binary still there a minute after that is stuck in the kernel: the
// blocked tasks and CPU backtraces go to the kernel log, it is killed, and the job goes
// on to the next binary even if the process cannot die (D state).
func waitTest(dir string, t job.Test, j *job.Job, cmd *exec.Cmd) error {
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	grace := time.Duration(j.Timeout)*time.Second + time.Minute
	select {
	case err := <-done:
		return err
	case <-time.After(grace):
	}
	logf("%s: still running %s after its timeout: blocked tasks and CPU backtraces go to the kernel log", t.Pkg, grace)
	sysrq("w")
	sysrq("l")
	_ = cmd.Process.Kill()
	select {
	case err := <-done:
		writeFile(dir, job.Dmesg, dmesg())
		return err
	case <-time.After(30 * time.Second):
	}
	writeFile(dir, job.Dmesg, dmesg())
	logf("%s: the test process does not die (stuck in the kernel); going on without it", t.Pkg)
	return fmt.Errorf("test binary stuck in the kernel after its timeout")
}

func shell() {
	con := cmdlineArg("console")
	if con == "" {
		con = "ttyS0"
	}
	tty, err := os.OpenFile("/dev/"+con, os.O_RDWR, 0)
	if err != nil {
		logf("no console %s: %v", con, err)
		return
	}
	defer tty.Close()
	cmd := exec.Command("/bin/bash", "-l")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.Dir = "/"
	cmd.Env = append(os.Environ(), "TERM=linux", "HOME=/root", "PS1=nlkit-vm:\\w# ",
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/local/go/bin")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Run(); err != nil {
		logf("shell: %v", err)
	}
}

func main() {
	console = os.Stderr
	mountErrs := setupMounts()
	if f, err := os.OpenFile("/dev/virtio-ports/virtme.stdout", os.O_WRONLY, 0); err == nil {
		console = f
	} else if f, err := os.OpenFile("/dev/console", os.O_WRONLY, 0); err == nil {
		console = f
	}
	ret := 0
	defer func() {
		if r, err := os.OpenFile("/dev/virtio-ports/virtme.ret", os.O_WRONLY, 0); err == nil {
			fmt.Fprintf(r, "%d\n", ret)
			r.Close()
		}
		unix.Sync()
		_ = unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	}()
	for _, err := range mountErrs {
		logf("setup: %v", err)
	}
	path := cmdlineArg("nlkit.job")
	if path == "" {
		logf("no nlkit.job= on the kernel command line")
		ret = 2
		return
	}
	dir := filepath.Dir(path)
	b, err := os.ReadFile(path)
	if err != nil {
		logf("job: %v", err)
		ret = 2
		return
	}
	var j job.Job
	if err := json.Unmarshal(b, &j); err != nil {
		logf("job: %v", err)
		ret = 2
		return
	}
	writeFile(dir, job.Booted, uptime()+"\n")
	logf("%s booted in %ss", j.Kernel, uptime())
	ph := &phases{dir: dir, last: time.Now(), lastCPU: busyCPU()}
	if up, err := strconv.ParseFloat(strings.TrimSpace(uptime()), 64); err == nil {
		ph.list = append(ph.list, job.Phase{Name: "boot (kernel + init, guest uptime)", Seconds: up, CPU: ph.lastCPU})
	}
	verdict := runJob(dir, &j, ph)
	writeFile(dir, job.Done, verdict)
}
