// Package netlinkproto holds nlkit's generic netlink family specs (specs/*.yaml, the
// single source of truth of each family), the generator that turns them into C and Go
// (gen/, run by `go generate ./...`), and one Go client package per family.
package netlinkproto

import "github.com/nlkit/nlkit/netlinkproto/gen"

//go:generate go run ./cmd/nlgen -root ..

// Families lists every spec and where its generated files go (relative to the
// repository root). `go run ./netlinkproto/cmd/nlgen new NAME` adds a new mechanism's
// (README, "Adding a mechanism"); after a spec changes, run `go generate ./...`.
var Families = []gen.Family{
	{Spec: "netlinkproto/specs/nlkit_smoke.yaml", KernelDir: "kmod/smoke", GoDir: "netlinkproto/smoke", GoPackage: "smoke", Module: "nlkit_smoke"},
	{Spec: "netlinkproto/specs/ratekeeper.yaml", KernelDir: "kmod/ratekeeper", GoDir: "netlinkproto/ratekeeper", GoPackage: "ratekeeper", Module: "sch_ratekeeper"},
	{Spec: "netlinkproto/specs/fcm.yaml", KernelDir: "kmod/fcm", GoDir: "netlinkproto/fcm", GoPackage: "fcm", Module: "sch_fcm"},
	{Spec: "netlinkproto/specs/fcm_receiver.yaml", KernelDir: "kmod/fcm_receiver", GoDir: "netlinkproto/fcmreceiver", GoPackage: "fcmreceiver", Module: "fcm_receiver"},
	{Spec: "netlinkproto/specs/equalize.yaml", KernelDir: "kmod/equalize", GoDir: "netlinkproto/equalize", GoPackage: "equalize", Module: "equalize"},
	// nlgen new adds families above this line
}
