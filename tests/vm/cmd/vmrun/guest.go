package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nlkit/nlkit/tests/vm/job"
)

// A guest is one boot of a kernel that runs test binaries (see plan in schedule.go):
// it loads the modules, runs its binaries, unloads the modules and is checked on its
// own: a test failure, a splat in its kernel log, or (debug kernel) a kmemleak report.
type guest struct {
	k     kernel
	part  string    // "" when the kernel has one guest; else which of its guests
	tests []testBin // in order
	cpus  int
	alone bool // no other guest runs beside it (see plan)
	quiet bool // starts when at most one other guest runs; nothing starts beside it
	// aloneFrom, if above 0, is where a quiet guest's tests that must run alone begin:
	// the guest waits before them until no other guest runs
	aloneFrom int
	// release, if set, is closed by runGuests when the guest may start its tests: the
	// guest boots before that and waits (job.Job.Gate, a file in its results);
	// releaseAlone likewise for the tests from aloneFrom on (job.Test.Gate)
	release, releaseAlone <-chan struct{}
}

func (g guest) name() string {
	if g.part == "" {
		return g.k.name
	}
	return g.k.name + "/" + g.part
}

func (g guest) dir(out string) string { return filepath.Join(out, "kernel-"+g.k.name) }

// results is the guest's --rwdir: results/, or results-<part>/.
func (g guest) results(out string) string {
	if g.part == "" {
		return filepath.Join(g.dir(out), "results")
	}
	return filepath.Join(g.dir(out), "results-"+g.part)
}

// moduleBuilds builds each kernel's modules once, whichever of its guests asks first.
var moduleBuilds = struct {
	mu sync.Mutex
	m  map[string]*moduleBuild
}{m: map[string]*moduleBuild{}}

type moduleBuild struct {
	once sync.Once
	kos  []string
	err  error
}

func modulesFor(k kernel, out string) ([]string, error, bool) {
	moduleBuilds.mu.Lock()
	mb := moduleBuilds.m[k.name]
	if mb == nil {
		mb = &moduleBuild{}
		moduleBuilds.m[k.name] = mb
	}
	moduleBuilds.mu.Unlock()
	first := false
	mb.once.Do(func() {
		first = true
		progress("%s: building modules against %s", k.name, k.kdir)
		start := time.Now()
		mb.kos, mb.err = buildModules(k, filepath.Join(out, "kernel-"+k.name))
		d := timings.since(k.name, "module build (host)", start)
		if mb.err == nil {
			progress("%s: built %d module(s) in %s", k.name, len(mb.kos), d.Round(100*time.Millisecond))
		}
	})
	return mb.kos, mb.err, first
}

// printMu keeps a guest's report in one piece when guests run side by side.
var printMu sync.Mutex

// runGuest boots g and reports on it. Its report is printed in one block at the end.
func runGuest(g guest, out string, useKVM bool) (tally, []string) {
	var t tally
	var rep strings.Builder
	where := "kernel " + g.name() + " (" + g.k.ver + ")"
	var fails []string
	fail := func(what string) {
		fmt.Fprintf(&rep, "    FAIL %s\n", what)
		t.failed++
		fails = append(fails, where+": "+what)
	}
	defer func() {
		printMu.Lock()
		defer printMu.Unlock()
		fmt.Printf("==> %s: results\n%s", where, rep.String())
	}()
	dir, res := g.dir(out), g.results(out)
	_ = os.RemoveAll(res)
	if err := os.MkdirAll(res, 0o755); err != nil {
		fail(err.Error())
		return t, fails
	}
	if err := g.k.ready(); err != nil { // nlkit's build of the kernel
		fail(err.Error())
		return t, fails
	}
	where = "kernel " + g.name() + " (" + g.k.ver + ")"
	mods, err, first := modulesFor(g.k, out)
	if err != nil {
		if first {
			fail("module build: " + err.Error())
		}
		return t, fails
	}
	if first {
		t.passed++ // the kernel's module build, counted once
	}

	run := *flagRun
	if run == "" && modeTests() != "" {
		run = "^" + modeTests()
	}
	j := job.Job{Kernel: g.k.name, Modules: mods, Params: map[string]string{"fcm_receiver": "enable=0"}, Run: run,
		Verbose: *flagVerbose || *flagScenarios || *flagBench, Bench: *flagBench, Profile: *flagProfile, Kmemleak: g.k.debug, Shell: *flagShell,
		Timeout: int(max(min(*flagPkgTime, *flagTimeout-2*time.Minute), 30*time.Second).Seconds())}
	// gate names a file in the results that is created when release is closed
	gate := func(name string, release <-chan struct{}) string {
		path := filepath.Join(res, name)
		go func() {
			<-release
			_ = os.WriteFile(path, nil, 0o644)
		}()
		return path
	}
	if g.release != nil {
		j.Gate = gate("gate", g.release)
	}
	for _, tb := range g.tests {
		j.Tests = append(j.Tests, job.Test{Pkg: tb.pkg, Bin: tb.bin, Dir: tb.dir, Args: tb.args})
	}
	if g.releaseAlone != nil && g.aloneFrom > 0 && g.aloneFrom < len(j.Tests) {
		j.Tests[g.aloneFrom].Gate = gate("gate-alone", g.releaseAlone)
	}
	jb, _ := json.MarshalIndent(j, "", "  ")
	jobPath := filepath.Join(res, job.FileName)
	if err := os.WriteFile(jobPath, jb, 0o644); err != nil {
		fail(err.Error())
		return t, fails
	}

	// --verbose: the kernel's console messages reach vng.log (not the terminal)
	args := []string{"--run", g.k.image, "--verbose", "--rwdir", res, "--memory", "2G", "--cpus", fmt.Sprint(g.cpus),
		"--append", "init=" + filepath.Join(root, "out/vm/guest-init") + " nlkit.job=" + jobPath + " log_buf_len=8M " + *flagAppend,
		// Read-only shares that the guest init mounts with the page cache on (cache=loose):
		// the binaries the tests exec over and over (ip, tc, nlkit, ...) then load from
		// memory after the first time. The root filesystem vng shares has no cache, and
		// every exec read its binary and libraries over 9p again: seconds on the debug
		// kernel. The results directory is the only writable share.
		"--rodir", "/usr", "--rodir", filepath.Join(root, "out/vm")}
	if g.k.build != nil {
		// nlkit's kernels have no initramfs of their own; vng's lets our init= win
		args = append(args, "--force-initramfs")
	}
	if !useKVM {
		args = append(args, "--disable-kvm")
	}
	// vng gives each of its six serial ports (stdin, stdout, ...) a virtio-serial
	// device of its own, and QEMU sizes each device for 31 ports: 64 virtqueues, each
	// with an eventfd that QEMU's main loop polls on every wakeup (391 eventfds per
	// guest; the main thread then spent its time in eventfd_poll). One port each
	// (port 0 stays reserved for a console) leaves 6 queues per device.
	qemuOpts := "-global virtio-serial-pci.max_ports=2"
	if *flagQemuOpts != "" {
		qemuOpts += " " + *flagQemuOpts
	}
	args = append(args, "--qemu-opts="+qemuOpts)
	if *flagShell {
		progress("%s: booting for a shell (modules load first; `exit` powers off)", where)
		cmd := exec.Command("vng", args...)
		cmd.Dir = "/"
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		_ = cmd.Run()
		return t, nil
	}
	args = append(args, "--", "true") // script mode; our init runs the job instead
	logName := "vng.log"
	if g.part != "" {
		logName = "vng-" + g.part + ".log"
	}
	phase := g.name()
	// The emulator itself can die while the guest boots (QEMU 7.2's TCG once took a
	// general protection fault during the debug kernel's PCI scan, make test at
	// 727c77b): that run of the guest never reached our init, so no test ran, and the
	// guest boots once more, saying so. A kernel that splats on the way fails at once,
	// but for TCG's own trap (tcgInt3Re): make test at 738e4eb lost its whole 6.12 guest
	// to "Oops: int3" in sched_clock_cpu as Debian's kernel enabled a static key during
	// its initcalls, before our init, modules or tests had run.
	var r vngRun
	for attempt := 1; ; attempt++ {
		progress("%s: booting %s (%s, %d vCPU)", where, filepath.Base(g.k.image), map[bool]string{true: "KVM", false: "TCG, no KVM"}[useKVM], g.cpus)
		r = runVng(g, args, filepath.Join(dir, logName), res, &rep)
		if r.failure != "" {
			fail(r.failure)
			return t, fails
		}
		if r.booted || attempt > 1 {
			break
		}
		lg, _ := os.ReadFile(r.log)
		if splatRe.Match(lg) && !tcgInt3Re.Match(lg) {
			break
		}
		msg := fmt.Sprintf("the emulator exited before the guest init (vng: %v), booting again; vng log:\n%s", r.err, tail(string(lg), 10))
		fmt.Fprintf(&rep, "    %s\n", strings.ReplaceAll(msg, "\n", "\n    "))
		progress("%s: %s", where, strings.SplitN(msg, ";", 2)[0])
		_ = os.Rename(r.log, r.log+".1")
	}
	verdict, err := os.ReadFile(filepath.Join(res, job.Done))
	if err != nil {
		lg, _ := os.ReadFile(r.log)
		fail(fmt.Sprintf("guest did not finish its job (vng: %v); vng log:\n%s", r.err, tail(string(lg), 80)))
		return t, fails
	}
	fmt.Fprintf(&rep, "    guest done in %s (%s)\n", time.Since(r.start).Round(time.Second), strings.TrimSpace(string(verdict)))
	guestPhases(phase, res)
	var hostCPU time.Duration
	if ps := r.state; ps != nil { // vng's and its reaped children's (qemu's) user+sys
		hostCPU = ps.UserTime() + ps.SystemTime()
	}
	timings.addCPU(phase, "guest total (host wall, vng start to exit)", time.Since(r.start), hostCPU)

	// modules
	ml, _ := os.ReadFile(filepath.Join(res, job.ModulesLog))
	if bytes.Contains(ml, []byte("FAIL")) {
		fail("module load/unload:\n" + string(ml))
	} else {
		t.passed++
	}
	// tests
	dmesgText, _ := os.ReadFile(filepath.Join(res, job.Dmesg))
	for i, tb := range g.tests {
		raw, err := os.ReadFile(filepath.Join(res, job.Output(i)))
		if err != nil {
			fail(tb.pkg + ": no output (binary did not run)")
			continue
		}
		conv := exec.Command(goBin(), "tool", "test2json", "-p", tb.pkg)
		conv.Stdin = bytes.NewReader(raw)
		js, _ := conv.Output()
		s := summarize(where, bytes.NewReader(js))
		for _, tt := range s.times {
			tt.kernel = g.name()
			timings.addTest(tt)
		}
		rc, _ := os.ReadFile(filepath.Join(res, job.Status(i)))
		status := "ok"
		if s.failed > 0 || s.skipped > 0 || strings.TrimSpace(string(rc)) != "0" {
			status = "FAIL"
		}
		fmt.Fprintf(&rep, "    %-4s %s (%d passed, %d failed, %d skipped)\n", status, tb.pkg, s.passed, s.failed, s.skipped)
		for _, name := range s.failures {
			fmt.Fprintf(&rep, "      --- %s\n", name)
			if o := s.failOut[name]; o != "" {
				rep.WriteString(indent(tail(o, 60), "        "))
			}
		}
		t.add(s.tally)
		fails = append(fails, s.failures...)
		// a binary that exits 0 has printed PASS last: without it its output was cut, and
		// tests whose end was lost would count as nothing (an "ok, 0 passed" package)
		if strings.TrimSpace(string(rc)) == "0" && !finalPass.Match(raw) {
			t.failed++
			fails = append(fails, fmt.Sprintf("%s: %s exited 0, but its output has no final PASS (cut):\n%s", where, tb.pkg, tail(string(raw), 30)))
			rep.WriteString("    FAIL the output has no final PASS (cut)\n")
		}
		if strings.TrimSpace(string(rc)) != "0" && s.failed == 0 {
			t.failed++
			fails = append(fails, fmt.Sprintf("%s: %s exited %s outside a test:\n%s", where, tb.pkg, strings.TrimSpace(string(rc)), tail(string(raw), 30)))
			rep.WriteString(indent(tail(string(raw), 30), "        "))
		}
	}
	if *flagBench {
		if err := collectBench(res); err != nil {
			fail("bench rows: " + err.Error())
		}
		if err := collectProfiles(res, g.k.name); err != nil {
			fail("profiles: " + err.Error())
		}
	}
	// dmesg splats
	if sp := splats(string(dmesgText)); sp != "" {
		fmt.Fprintf(&rep, "    FAIL kernel log has splats:\n%s", indent(sp, "      "))
		t.failed++
		fails = append(fails, where+": kernel splat in dmesg (see "+filepath.Join(res, job.Dmesg)+")")
	} else {
		fmt.Fprintf(&rep, "    ok   kernel log clean (no WARNING/BUG/KASAN/lockdep/Call Trace)\n")
		t.passed++
	}
	if g.k.debug {
		kl, err := os.ReadFile(filepath.Join(res, job.Kmemleak))
		switch {
		case err != nil:
			t.failed++
			fails = append(fails, where+": no kmemleak report")
		case strings.TrimSpace(string(kl)) != "":
			fmt.Fprintf(&rep, "    FAIL kmemleak after unloading the modules:\n%s", indent(tail(string(kl), 40), "      "))
			t.failed++
			fails = append(fails, where+": kmemleak found leaks (see "+filepath.Join(res, job.Kmemleak)+")")
		default:
			fmt.Fprintf(&rep, "    ok   kmemleak clean after unloading the modules\n")
			t.passed++
		}
	}
	return t, fails
}

// vngRun is one run of vng for a guest.
type vngRun struct {
	start   time.Time
	log     string           // the console log's path
	state   *os.ProcessState // vng's, once it exited
	err     error            // vng's exit
	booted  bool             // the guest init started
	failure string           // why the run was cut short (vng did not start, a timeout)
}

// runVng boots g once with vng's args, the console to logPath and the terminal, until
// vng exits. When the guest init starts it notes the boot in rep; past the boot timeout
// or the run timeout it kills the guest and says why in failure.
func runVng(g guest, args []string, logPath, res string, rep *strings.Builder) vngRun {
	r := vngRun{start: time.Now(), log: logPath}
	cmd := exec.Command("vng", args...)
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	consoleLog, _ := os.Create(logPath)
	defer consoleLog.Close()
	cmd.Stdout = io.MultiWriter(prefixWriter("    ["+g.name()+"] "), consoleLog)
	cmd.Stderr = consoleLog
	if err := cmd.Start(); err != nil {
		r.failure = "vng: " + err.Error()
		return r
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	kill := func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); r.err = <-done }
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	// booted notes the guest init's start once its file is there
	booted := func() bool {
		if _, err := os.Stat(filepath.Join(res, job.Booted)); err != nil {
			return false
		}
		r.booted = true
		b, _ := os.ReadFile(filepath.Join(res, job.Booted))
		fmt.Fprintf(rep, "    boot: %.1fs wall, guest uptime %ss at init\n",
			timings.since(g.name(), "boot (host wall, vng start to guest init)", r.start).Seconds(), strings.TrimSpace(string(b)))
		return true
	}
	for {
		select {
		case r.err = <-done:
			r.state = cmd.ProcessState
			if !r.booted {
				booted() // a guest whose whole job took less than a tick
			}
			return r
		case <-tick.C:
			if !r.booted && !booted() && time.Since(r.start) > *flagBootWait {
				kill()
				lg, _ := os.ReadFile(logPath)
				r.failure = fmt.Sprintf("boot did not reach the guest init in %s; vng log:\n%s", *flagBootWait, tail(string(lg), 30))
				return r
			}
			if time.Since(r.start) > *flagTimeout {
				kill()
				r.failure = fmt.Sprintf("run exceeded %s and was killed\n%s", *flagTimeout, hangReport(res, g.tests))
				return r
			}
		}
	}
}

// tcgInt3Re is the oops of a vCPU that ran a stale translation of code the kernel was
// patching with int3 (a static key or alternative; see README, "A trap of TCG").
var tcgInt3Re = regexp.MustCompile(`Oops: int3`)

var finalPass = regexp.MustCompile(`(?m)^\x16?PASS\s*\z`)

var splatRe = regexp.MustCompile(`WARNING:|BUG:|KASAN|UBSAN:|Call Trace:|kernel BUG at|general protection fault|Oops|possible circular locking|suspicious RCU usage|INFO: task .* blocked|refcount_t:|kmemleak: .*new suspected|Kernel panic|list_add corruption|list_del corruption`)
