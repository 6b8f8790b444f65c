// Package kselftest runs the kernel selftests that nlkit's patch series add
// (patches/linux-6.12/, patches/linux-7.3/), inside the test VMs: the runner
// (tests/vm/cmd/vmrun) takes them out of each series and builds their helpers into
// out/vm/kselftest/linux-*/ before it boots a kernel. A kernel runs its version's.
package kselftest
