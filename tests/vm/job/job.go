// Package job is the contract between the VM runner on the host (tests/vm/cmd/vmrun)
// and nlkit's guest init (tests/vm/guestinit): what to do in the guest, and the files
// in which the guest leaves its results for the host.
package job

// FileName is the job's name in the result directory (the vng --rwdir).
const FileName = "job.json"

// Job tells the guest init what to do after boot.
type Job struct {
	Kernel  string   `json:"kernel"`  // name of the kernel under test (for logs and env)
	Modules []string `json:"modules"` // .ko paths, loaded in this order, unloaded in reverse
	// Params are load parameters by module name. fcm_receiver is loaded with enable=0
	// (its default, said again: its hooks would act on every test's connections), so
	// the tests that want it enable it in their own netns.
	Params   map[string]string `json:"params,omitempty"`
	Tests    []Test            `json:"tests"`    // test binaries to run, in order
	Run      string            `json:"run"`      // -test.run filter, if any
	Verbose  bool              `json:"verbose"`  // stream every test's output to the host console
	Bench    bool              `json:"bench"`    // benchmarks in full (NLKIT_BENCH=1), not briefly
	Profile  bool              `json:"profile"`  // benchmarks also profiled (NLKIT_PROFILE=1)
	Kmemleak bool              `json:"kmemleak"` // check kmemleak after the modules are unloaded
	Shell    bool              `json:"shell"`    // interactive shell on the console instead of tests
	Timeout  int               `json:"timeout"`  // per-binary timeout, seconds
	// Gate, if set, is a file the guest waits for once its modules are loaded, before
	// its first test: the host boots a guest that needs the CPU to itself while the
	// last guests before it finish, and creates the file when they have.
	Gate string `json:"gate,omitempty"`
}

// Test is one Go test binary built on the host with `go test -c`.
type Test struct {
	Pkg  string   `json:"pkg"`  // import path, for reports
	Bin  string   `json:"bin"`  // absolute path of the binary
	Dir  string   `json:"dir"`  // working directory (the package's source directory)
	Args []string `json:"args"` // extra arguments
	// Gate, if set, is a file the guest waits for before this binary: the host creates
	// it when the guest may run the binaries from here on alone (see Job.Gate).
	Gate string `json:"gate,omitempty"`
}

// Result files the guest writes into the result directory.
const (
	Booted     = "booted"       // written first: boot reached the init (holds uptime)
	ModulesLog = "modules.log"  // one line per load/unload with its outcome
	Dmesg      = "dmesg.txt"    // the whole kernel log at the end
	Kmemleak   = "kmemleak.txt" // kmemleak report after unloading (empty is clean)
	Done       = "done"         // written last: holds the guest's verdict line
	Timings    = "timings.json" // the guest's phases and how long each took ([]Phase)
	// Bench holds the benchmarks' rows (one BenchRow per line, JSON), written by the
	// tests themselves (vmtest.ReportBench) into $NLKIT_RESULTS
	Bench = "bench.jsonl"
	// ProfileDir holds the benchmarks' profiles (vmtest.Profile), one report each
	ProfileDir = "profile"
)

// BenchRow is one row of make bench's table: a mechanism of nlkit against its baseline
// (an in-tree or well-known peer) on one workload, measured in the same boot, rounds
// alternating between the two.
type BenchRow struct {
	Mechanism string    `json:"mechanism"` // "sch_fcm"
	Baseline  string    `json:"baseline"`  // "tbf"
	Workload  string    `json:"workload"`  // what was measured: "4 TCP flows forwarded, CPU-bound"
	Unit      string    `json:"unit"`      // of the rounds: "Mbit/s", "packets/s"
	Nlkit     []float64 `json:"nlkit"`     // nlkit's figure in each round
	Base      []float64 `json:"base"`      // the baseline's figure in each round
	Kernel    string    `json:"kernel"`    // filled in by vmtest.ReportBench
	// Higher is better unless LowerBetter (a latency): the ratio is then base/nlkit,
	// so that above 1 always means nlkit did better
	LowerBetter bool `json:"lower_better,omitempty"`
}

// Phase is one step of the guest's job and its duration, for the runner's time table.
type Phase struct {
	Name    string  `json:"name"`    // "boot", "load modules", a test package's path, ...
	Seconds float64 `json:"seconds"` // wall time in the guest
	// CPU is the busy time of all the guest's vCPUs during the step, seconds (from
	// /proc/stat: everything but idle and iowait). Under TCG a vCPU's busy second
	// is a host core's second; a kernel that samples busy time at ticks misses the
	// softirq work it runs from idle, so this is a lower bound of the host's cost.
	CPU float64 `json:"cpu,omitempty"`
}

// Output is the name of a test binary's output file (-test.v=test2json framing).
func Output(i int) string { return "test-" + itoa(i) + ".out" }

// TimedLog is the name of a copy of a test binary's text output with each line's time
// (seconds since the binary started).
func TimedLog(i int) string { return "test-" + itoa(i) + ".log" }

// Status is the name of the file holding a test binary's exit status.
func Status(i int) string { return "test-" + itoa(i) + ".rc" }

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}
