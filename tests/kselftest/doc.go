// Package kselftest runs the kernel selftests that nlkit's patch series adds
// (patches/linux-6.12/), inside the test VMs: the runner (tests/vm/cmd/vmrun) takes
// them out of the series and builds their helpers into out/vm/kselftest before it
// boots a kernel.
package kselftest
