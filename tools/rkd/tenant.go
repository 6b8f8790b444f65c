package rkd

import (
	"errors"
	"fmt"
	"strings"
	"syscall"

	rk "github.com/nlkit/nlkit/netlinkproto/ratekeeper"
	"github.com/nlkit/nlkit/netlinkproto/rtnl"
	"github.com/nlkit/nlkit/tools/units"
)

// AliasPrefix marks the IFB devices nlkit created for a tenant (their ifalias is
// AliasPrefix + the vNIC's name), so list and del touch only what add made.
const AliasPrefix = "nlkit-ratekeeper:"

// redirectPrio is the priority of the ingress filter that sends a tenant's
// transmitted traffic to its IFB; a high number keeps it out of the way of others.
const redirectPrio = 49151

// Tenant is one tenant's datapath: the vNIC (its egress carries what the tenant
// receives: monitored, with congestion detection) and the IFB its transmitted
// traffic is redirected to (shaped; the daemon moves that rate).
type Tenant struct {
	VNIC string `json:"vnic"`
	IFB  string `json:"ifb"`
	// Rx is the vNIC egress qdisc's configuration, Tx the IFB's.
	Rx rk.Config `json:"rx"`
	Tx rk.Config `json:"tx"`
}

// TenantSpec is what `tenant add` takes.
type TenantSpec struct {
	VNIC     string
	IFB      string // default: "rk-" + VNIC (truncated to 15 bytes)
	Min, Max uint64 // guarantee and cap, bytes/s (both directions)
	LinkRate uint64 // host link capacity, bytes/s (0: no detection)
	HighMark uint32
	Group    uint32
	Rx, Tx   rk.Options // other options (burst, limit, interval, event gap); nil: the kernel's default
}

// nonZero is v's address, or nil when v is 0 (a field to leave out of a request).
func nonZero[T comparable](v T) *T {
	var zero T
	if v == zero {
		return nil
	}
	return &v
}

// DefaultIFB names the IFB of a vNIC.
func DefaultIFB(vnic string) string {
	n := "rk-" + vnic
	if len(n) > 15 {
		n = n[:15]
	}
	return n
}

// AddTenant sets a tenant's datapath up through rtnetlink: the IFB, the ratekeeper
// qdisc at the root of the vNIC and of the IFB, clsact on the vNIC and a matchall
// filter that redirects the vNIC's ingress to the IFB. On failure it removes what it
// made.
func AddTenant(c *rtnl.Conn, s TenantSpec) (err error) {
	if s.VNIC == "" {
		return errors.New("tenant add: the vNIC (dev) is required")
	}
	if s.Min == 0 || s.Max == 0 {
		return errors.New("tenant add: min and max rates are required")
	}
	if s.Min > s.Max {
		return fmt.Errorf("tenant add: min %s exceeds max %s", units.FormatRate(s.Min), units.FormatRate(s.Max))
	}
	if s.IFB == "" {
		s.IFB = DefaultIFB(s.VNIC)
	}
	vnic, err := c.LinkByName(s.VNIC)
	if err != nil {
		return fmt.Errorf("tenant add: vNIC %s: %w", s.VNIC, err)
	}
	if _, err := c.LinkByName(s.IFB); err == nil {
		return fmt.Errorf("tenant add: %s exists already (is %s a tenant? see `nlkit ratekeeper tenant list`)", s.IFB, s.VNIC)
	}
	var undo []func()
	defer func() {
		if err != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
		}
	}()

	if err := c.AddIFB(s.IFB); err != nil {
		return fmt.Errorf("tenant add: create %s: %w", s.IFB, err)
	}
	ifb, err := c.LinkByName(s.IFB)
	if err != nil {
		return err
	}
	undo = append(undo, func() { c.DelLink(ifb.Index) })
	if err := c.SetAlias(ifb.Index, AliasPrefix+s.VNIC); err != nil {
		return fmt.Errorf("tenant add: %w", err)
	}
	if err := c.SetUp(ifb.Index); err != nil {
		return fmt.Errorf("tenant add: %w", err)
	}

	rx := s.Rx
	rx.Rate, rx.MinRate, rx.MaxRate = new(s.Max), new(s.Min), new(s.Max)
	// the spec's zero values are its defaults: left to the kernel's
	rx.LinkRate, rx.HighMark, rx.Group = nonZero(s.LinkRate), nonZero(s.HighMark), nonZero(s.Group)
	opts, err := rk.EncodeOptions(rx)
	if err != nil {
		return err
	}
	prevRoot, hadRoot, err := c.RootQdisc(vnic.Index)
	if err != nil {
		return err
	}
	if hadRoot && prevRoot.Kind == "ratekeeper" {
		return fmt.Errorf("tenant add: %s has a ratekeeper qdisc already", s.VNIC)
	}
	if err := c.AddQdisc(vnic.Index, 0, rtnl.HandleRoot, "ratekeeper", opts, rtnl.Replace); err != nil {
		return fmt.Errorf("tenant add: qdisc on %s: %w", s.VNIC, err)
	}
	undo = append(undo, func() { c.DelQdisc(vnic.Index, 0, rtnl.HandleRoot) })

	if err := c.AddQdisc(vnic.Index, rtnl.ClsactHandle, rtnl.HandleIngress, "clsact", nil, rtnl.Create); err != nil {
		if !errors.Is(err, syscall.EEXIST) {
			return fmt.Errorf("tenant add: clsact on %s: %w", s.VNIC, err)
		}
	} else {
		undo = append(undo, func() { c.DelQdisc(vnic.Index, rtnl.ClsactHandle, rtnl.HandleIngress) })
	}
	if err := c.AddRedirect(vnic.Index, rtnl.ClsactIngress, redirectPrio, ifb.Index); err != nil {
		return fmt.Errorf("tenant add: redirect %s ingress to %s: %w", s.VNIC, s.IFB, err)
	}
	undo = append(undo, func() { c.DelRedirect(vnic.Index, rtnl.ClsactIngress, redirectPrio) })

	tx := s.Tx
	tx.Rate, tx.MinRate, tx.MaxRate = new(s.Max), new(s.Min), new(s.Max)
	topts, err := rk.EncodeOptions(tx)
	if err != nil {
		return err
	}
	if err := c.AddQdisc(ifb.Index, 0, rtnl.HandleRoot, "ratekeeper", topts, rtnl.Replace); err != nil {
		return fmt.Errorf("tenant add: qdisc on %s: %w", s.IFB, err)
	}
	return nil
}

// DelTenant removes what AddTenant made for a vNIC: the redirect filter, the vNIC's
// root ratekeeper qdisc (the device falls back to its default qdisc) and the IFB. It
// leaves clsact and other filters alone.
func DelTenant(c *rtnl.Conn, vnicName string) error {
	ts, err := Tenants(c)
	if err != nil {
		return err
	}
	for _, t := range ts {
		if t.VNIC != vnicName {
			continue
		}
		var errs []error
		ifb, err := c.LinkByName(t.IFB)
		if err != nil {
			return err
		}
		if vnic, err := c.LinkByName(vnicName); err == nil {
			if err := c.DelRedirect(vnic.Index, rtnl.ClsactIngress, redirectPrio); err != nil && !errors.Is(err, syscall.ENOENT) && !errors.Is(err, syscall.EINVAL) {
				errs = append(errs, err)
			}
			if q, ok, err := c.RootQdisc(vnic.Index); err == nil && ok && q.Kind == "ratekeeper" {
				if err := c.DelQdisc(vnic.Index, 0, rtnl.HandleRoot); err != nil {
					errs = append(errs, err)
				}
			}
		}
		if err := c.DelLink(ifb.Index); err != nil {
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	}
	return fmt.Errorf("tenant del: %s is not a ratekeeper tenant", vnicName)
}

// Tenants lists the tenants nlkit set up (IFBs carrying its alias) with their qdiscs'
// configurations.
func Tenants(c *rtnl.Conn) ([]Tenant, error) {
	links, err := c.Links()
	if err != nil {
		return nil, err
	}
	var out []Tenant
	for _, l := range links {
		if l.Kind != "ifb" || !strings.HasPrefix(l.Alias, AliasPrefix) {
			continue
		}
		t := Tenant{VNIC: strings.TrimPrefix(l.Alias, AliasPrefix), IFB: l.Name}
		if q, ok, err := c.RootQdisc(l.Index); err == nil && ok && q.Kind == "ratekeeper" {
			t.Tx, _ = rk.DecodeOptions(q.Options)
		}
		if v, err := c.LinkByName(t.VNIC); err == nil {
			if q, ok, err := c.RootQdisc(v.Index); err == nil && ok && q.Kind == "ratekeeper" {
				t.Rx, _ = rk.DecodeOptions(q.Options)
			}
		}
		out = append(out, t)
	}
	return out, nil
}
