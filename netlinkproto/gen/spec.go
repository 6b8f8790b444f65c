// Package gen turns nlkit's generic netlink family specs (YAML in the kernel's YNL
// genetlink-legacy schema) into the three artefacts every family needs: the C uapi
// header; the C policy and ops tables and the genl_family the kernel module compiles
// in; the Go constants and boilerplate of the family's client package.
package gen

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Spec is the subset of the YNL genetlink-legacy schema nlkit uses.
type Spec struct {
	Name          string       `yaml:"name"`
	Protocol      string       `yaml:"protocol"`
	Doc           string       `yaml:"doc"`
	Version       int          `yaml:"version"`
	UAPIHeader    string       `yaml:"uapi-header"`
	CFamilyName   string       `yaml:"c-family-name"`
	CVersionName  string       `yaml:"c-version-name"`
	KernelPolicy  string       `yaml:"kernel-policy"`
	Definitions   []Definition `yaml:"definitions"`
	AttributeSets []*AttrSet   `yaml:"attribute-sets"`
	Operations    struct {
		List []*Op `yaml:"list"`
	} `yaml:"operations"`
	McastGroups struct {
		List []struct {
			Name string `yaml:"name"`
			Doc  string `yaml:"doc"`
			// uns-admin-perm: only callers with CAP_NET_ADMIN in the netns's user
			// namespace may subscribe (GENL_MCAST_CAP_NET_ADMIN)
			Flags []string `yaml:"flags"`
		} `yaml:"list"`
	} `yaml:"mcast-groups"`

	consts map[string]int64
	sets   map[string]*AttrSet
}

// Definition is a named constant (type const) of the family.
type Definition struct {
	Type  string `yaml:"type"`
	Name  string `yaml:"name"`
	Value int64  `yaml:"value"`
	Doc   string `yaml:"doc"`
}

// AttrSet is one attribute space.
type AttrSet struct {
	Name       string  `yaml:"name"`
	NamePrefix string  `yaml:"name-prefix"`
	Doc        string  `yaml:"doc"`
	Attributes []*Attr `yaml:"attributes"`
}

// Attr is one attribute of a set.
type Attr struct {
	Name             string `yaml:"name"`
	Type             string `yaml:"type"`
	Doc              string `yaml:"doc"`
	Value            int    `yaml:"value"`
	NestedAttributes string `yaml:"nested-attributes"`
	MultiAttr        bool   `yaml:"multi-attr"`
	Checks           struct {
		Min    *Num `yaml:"min"`
		Max    *Num `yaml:"max"`
		MinLen *Num `yaml:"min-len"`
		MaxLen *Num `yaml:"max-len"`
		// ExactLen is YNL's exact-len (binary): what 6.12's ynl-gen-c.py takes for a
		// fixed length, where it refuses min-len with max-len in a request policy.
		ExactLen *Num `yaml:"exact-len"`
	} `yaml:"checks"`
}

// Num is a number or the name of a const definition.
type Num struct {
	Lit  *int64
	Name string
}

// UnmarshalYAML accepts an integer or a definition's name.
func (n *Num) UnmarshalYAML(v *yaml.Node) error {
	if i, err := strconv.ParseInt(v.Value, 0, 64); err == nil {
		n.Lit = &i
		return nil
	}
	n.Name = v.Value
	return nil
}

// Op is one operation (command).
type Op struct {
	Name         string   `yaml:"name"`
	Doc          string   `yaml:"doc"`
	Value        int      `yaml:"value"`
	AttributeSet string   `yaml:"attribute-set"`
	Flags        []string `yaml:"flags"`
	Do           *OpMode  `yaml:"do"`
	Dump         *OpMode  `yaml:"dump"`
	Mcgrp        string   `yaml:"mcgrp"`
	Event        *OpAttrs `yaml:"event"`
}

// OpMode is the do or dump half of an operation.
type OpMode struct {
	Request *OpAttrs `yaml:"request"`
	Reply   *OpAttrs `yaml:"reply"`
}

// OpAttrs lists the attributes of a request, reply or event.
type OpAttrs struct {
	Attributes []string `yaml:"attributes"`
}

// Load reads and checks a spec.
func Load(path string) (*Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(b)
}

// Parse decodes and checks a spec, numbering attributes and operations the way YNL
// does: from 1 (0 is unspec) unless a value is given, then counting on from it.
func Parse(b []byte) (*Spec, error) {
	var s Spec
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("spec: %w", err)
	}
	if s.Name == "" || s.Version < 1 {
		return nil, fmt.Errorf("spec: name and a version >= 1 are required")
	}
	switch s.Protocol {
	case "genetlink", "genetlink-legacy":
	default:
		return nil, fmt.Errorf("spec %s: protocol %q is not supported", s.Name, s.Protocol)
	}
	if len(s.Name) >= 16 {
		return nil, fmt.Errorf("spec %s: genl family names are at most 15 bytes", s.Name)
	}
	s.consts = map[string]int64{}
	for _, d := range s.Definitions {
		if d.Type != "const" {
			return nil, fmt.Errorf("spec %s: definition %s: only type const is supported", s.Name, d.Name)
		}
		s.consts[d.Name] = d.Value
	}
	s.sets = map[string]*AttrSet{}
	for _, set := range s.AttributeSets {
		if _, dup := s.sets[set.Name]; dup {
			return nil, fmt.Errorf("spec %s: attribute set %s defined twice", s.Name, set.Name)
		}
		s.sets[set.Name] = set
		next := 1
		seen := map[string]bool{}
		for _, a := range set.Attributes {
			if seen[a.Name] {
				return nil, fmt.Errorf("spec %s: set %s: attribute %s defined twice", s.Name, set.Name, a.Name)
			}
			if a.Name == "max" || a.Name == "unspec" {
				return nil, fmt.Errorf("spec %s: set %s: attribute name %q collides with the generated _UNSPEC/_MAX enum entries", s.Name, set.Name, a.Name)
			}
			seen[a.Name] = true
			if a.Value == 0 {
				a.Value = next
			}
			next = a.Value + 1
			if _, ok := cTypes[a.Type]; !ok {
				return nil, fmt.Errorf("spec %s: %s.%s: type %q is not supported", s.Name, set.Name, a.Name, a.Type)
			}
			for _, n := range []*Num{a.Checks.Min, a.Checks.Max, a.Checks.MinLen, a.Checks.MaxLen, a.Checks.ExactLen} {
				if n != nil && n.Lit == nil {
					if _, ok := s.consts[n.Name]; !ok {
						return nil, fmt.Errorf("spec %s: %s.%s: check names unknown constant %q", s.Name, set.Name, a.Name, n.Name)
					}
				}
			}
		}
	}
	for _, set := range s.AttributeSets {
		for _, a := range set.Attributes {
			if a.Type == "nest" {
				if _, ok := s.sets[a.NestedAttributes]; !ok {
					return nil, fmt.Errorf("spec %s: %s.%s: nested set %q is not defined", s.Name, set.Name, a.Name, a.NestedAttributes)
				}
			}
		}
	}
	groups := map[string]bool{}
	for _, g := range s.McastGroups.List {
		groups[g.Name] = true
		for _, f := range g.Flags {
			if f != "uns-admin-perm" {
				return nil, fmt.Errorf("spec %s: mcast group %s: flag %q (only uns-admin-perm is supported)", s.Name, g.Name, f)
			}
		}
	}
	next := 1
	for _, op := range s.Operations.List {
		if op.Value == 0 {
			op.Value = next
		}
		next = op.Value + 1
		set, ok := s.sets[op.AttributeSet]
		if !ok {
			return nil, fmt.Errorf("spec %s: op %s: attribute set %q is not defined", s.Name, op.Name, op.AttributeSet)
		}
		for _, f := range op.Flags {
			if _, ok := opFlags[f]; !ok {
				return nil, fmt.Errorf("spec %s: op %s: flag %q is not supported", s.Name, op.Name, f)
			}
		}
		if op.Mcgrp != "" && !groups[op.Mcgrp] {
			return nil, fmt.Errorf("spec %s: op %s: multicast group %q is not defined", s.Name, op.Name, op.Mcgrp)
		}
		for _, l := range op.attrLists() {
			for _, name := range l.Attributes {
				if set.attr(name) == nil {
					return nil, fmt.Errorf("spec %s: op %s: attribute %q is not in set %s", s.Name, op.Name, name, set.Name)
				}
			}
		}
	}
	return &s, nil
}

func (op *Op) attrLists() []*OpAttrs {
	var out []*OpAttrs
	for _, m := range []*OpMode{op.Do, op.Dump} {
		if m == nil {
			continue
		}
		for _, l := range []*OpAttrs{m.Request, m.Reply} {
			if l != nil {
				out = append(out, l)
			}
		}
	}
	if op.Event != nil {
		out = append(out, op.Event)
	}
	return out
}

func (set *AttrSet) attr(name string) *Attr {
	for _, a := range set.Attributes {
		if a.Name == name {
			return a
		}
	}
	return nil
}

func (set *AttrSet) max() int {
	m := 0
	for _, a := range set.Attributes {
		if a.Value > m {
			m = a.Value
		}
	}
	return m
}

// value resolves a Num against the spec's constants.
func (s *Spec) value(n *Num) int64 {
	if n.Lit != nil {
		return *n.Lit
	}
	return s.consts[n.Name]
}

// isConst tells whether a Num names a constant (so C can use the macro).
func (s *Spec) cNum(n *Num) string {
	if n.Lit != nil {
		return strconv.FormatInt(*n.Lit, 10)
	}
	return s.cConstName(n.Name)
}

var cTypes = map[string]string{
	"u8": "NLA_U8", "u16": "NLA_U16", "u32": "NLA_U32", "u64": "NLA_U64",
	"s8": "NLA_S8", "s16": "NLA_S16", "s32": "NLA_S32", "s64": "NLA_S64",
	"string": "NLA_NUL_STRING", "binary": "NLA_BINARY", "flag": "NLA_FLAG", "nest": "NLA_NESTED",
}

var opFlags = map[string]string{
	"admin-perm":     "GENL_ADMIN_PERM",
	"uns-admin-perm": "GENL_UNS_ADMIN_PERM",
}
