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
	{Spec: "netlinkproto/specs/nlkit_smoke.yaml", KernelDir: "kmod/smoke", GoDir: "netlinkproto/smoke", GoPackage: "smoke", Module: "nlkit_smoke",
		Go: map[string]gen.GoStruct{
			"info":  {Name: "Info"},
			"value": {Name: "Value"},
			"item":  {Name: "Item", Fields: map[string]gen.GoField{"count": omit}},
		}},
	{Spec: "netlinkproto/specs/ratekeeper.yaml", KernelDir: "kmod/ratekeeper", GoDir: "netlinkproto/ratekeeper", GoPackage: "ratekeeper", Module: "sch_ratekeeper",
		Go: map[string]gen.GoStruct{
			"opts": {Name: "Config", Request: "Options", Fields: map[string]gen.GoField{
				"interval":  {Type: "time.Duration", Unit: "us"},
				"event-gap": {Type: "time.Duration", Unit: "ms"},
				"linkrate":  {Name: "LinkRate"},
				"highmark":  {Name: "HighMark"},
			}},
			"sender": {Name: "Sender", Fields: map[string]gen.GoField{
				"addr": {Type: "netip.Addr"},
				"mac":  {Type: "net.HardwareAddr"},
			}},
			"qdisc": {Name: "Qdisc", Fields: map[string]gen.GoField{
				"opts":      config,
				"congested": {Type: "bool"},
				"sender":    {Name: "Senders", JSON: "senders"},
				"rate":      omit, // set-rate's request
				"time":      omit, // events only (Event.Time)
			}},
		}},
	{Spec: "netlinkproto/specs/fcm.yaml", KernelDir: "kmod/fcm", GoDir: "netlinkproto/fcm", GoPackage: "fcm", Module: "sch_fcm",
		Go: map[string]gen.GoStruct{
			"opts": {Name: "Config", Request: "Options", Fields: map[string]gen.GoField{"exid": {JSON: "exid,omitempty"},
				"split-gso": {Type: "bool"}}},
			"qdisc": {Name: "Qdisc", Fields: map[string]gen.GoField{"opts": config}},
		}},
	{Spec: "netlinkproto/specs/fcm_receiver.yaml", KernelDir: "kmod/fcm_receiver", GoDir: "netlinkproto/fcmreceiver", GoPackage: "fcmreceiver", Module: "fcm_receiver",
		Go: map[string]gen.GoStruct{
			"params":   {Name: "Params", Request: "Change", Fields: map[string]gen.GoField{"enabled": {Type: "bool"}}},
			"receiver": {Name: "Receiver"},
			// conn is hand-written (fcmreceiver.Conn): it joins address and port.
		}},
	{Spec: "netlinkproto/specs/equalize.yaml", KernelDir: "kmod/equalize", GoDir: "netlinkproto/equalize", GoPackage: "equalize", Module: "equalize",
		Go: map[string]gen.GoStruct{
			"status": {Name: "Status"},
			// prefix is hand-written (equalize.Prefix): it joins address and length.
		}},
	{Spec: "netlinkproto/specs/ustack.yaml", KernelDir: "kmod/ustack", GoDir: "netlinkproto/ustack", GoPackage: "ustack", Module: "ustack",
		Go: map[string]gen.GoStruct{
			"stats": {Name: "Stats"},
			"queue": {Name: "QueueStats"},
			"port": {Name: "Port", Fields: map[string]gen.GoField{
				"address": {Type: "net.HardwareAddr"},
				"carrier": {Type: "bool"},
				"queue":   {Name: "Queues", JSON: "queues"},
			}},
		}},
	// nlgen new adds families above this line
}

// Go mappings more than one family uses.
var (
	omit   = gen.GoField{Omit: true}
	config = gen.GoField{Name: "Config", JSON: "config"} // a qdisc's opts nest
)
