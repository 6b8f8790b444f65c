package mpd

import (
	"fmt"
	"time"

	"github.com/nlkit/nlkit/tools/yamlfile"
)

// DefaultConfigPath is where `nlkit mptcp pm` and its systemd unit look for the
// daemon's configuration.
const DefaultConfigPath = "/etc/nlkit/mptcp-pm.yaml"

// fileConfig is the YAML form of the daemon's configuration:
//
//	rules:                     # first match wins, as --rule
//	  - "dport 5201 none"
//	  - "fullmesh"
//	exec-timeout: 2s
//	backoff-max: 10s
//	command-sockets: 4
//	event-buffer: 8388608      # bytes
type fileConfig struct {
	Rules          []string `yaml:"rules"`
	ExecTimeout    string   `yaml:"exec-timeout"`
	BackoffMax     string   `yaml:"backoff-max"`
	CommandSockets int      `yaml:"command-sockets"`
	EventBuffer    int      `yaml:"event-buffer"`
}

// LoadConfig reads a YAML configuration file into cfg: its rules are appended, its
// other settings replace cfg's (command-line flags given later override them). Unknown
// keys and bad values are refused with the file's name and, where yaml knows it, the
// line.
func LoadConfig(path string, cfg *Config) error {
	var fc fileConfig
	if err := yamlfile.Decode(path, &fc); err != nil {
		return err
	}
	for i, s := range fc.Rules {
		r, err := ParseRule(s)
		if err != nil {
			return fmt.Errorf("%s: rules[%d]: %w", path, i, err)
		}
		cfg.Rules = append(cfg.Rules, r)
	}
	for _, d := range []struct {
		name, s string
		to      *time.Duration
	}{{"exec-timeout", fc.ExecTimeout, &cfg.ExecTimeout}, {"backoff-max", fc.BackoffMax, &cfg.BackoffMax}} {
		if d.s == "" {
			continue
		}
		v, err := time.ParseDuration(d.s)
		if err != nil || v <= 0 {
			return fmt.Errorf("%s: %s: %q is no positive duration", path, d.name, d.s)
		}
		*d.to = v
	}
	if fc.CommandSockets < 0 || fc.CommandSockets > 64 {
		return fmt.Errorf("%s: command-sockets: %d, want 1-64", path, fc.CommandSockets)
	}
	if fc.CommandSockets > 0 {
		cfg.CommandSockets = fc.CommandSockets
	}
	if fc.EventBuffer < 0 || fc.EventBuffer > 0 && fc.EventBuffer < 4096 {
		return fmt.Errorf("%s: event-buffer: %d bytes, want at least 4096", path, fc.EventBuffer)
	}
	if fc.EventBuffer > 0 {
		cfg.EventBuffer = fc.EventBuffer
	}
	return nil
}

// SetRules replaces the rules that new connections are matched against (a reloaded
// configuration); connections already established keep the rule they got.
func (d *Daemon) SetRules(rules []Rule) {
	rules = append([]Rule(nil), rules...)
	d.post(func() {
		d.cfg.Rules = rules
		d.cfg.Logf("rules reloaded: %d rules; established connections keep theirs", len(rules))
	})
}
