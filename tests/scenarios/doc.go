// Package scenarios holds the mechanisms' scenarios: integration tests (build tag
// vmtest) that run in the VM on real traffic and print their results. `make demo`
// boots a VM with the modules loaded and runs them with their output shown.
package scenarios
