// Package daemonlog is how nlkit's daemons log: log/slog records, as text (key=value,
// the default) or as JSON lines, on stderr. Under systemd (JOURNAL_STREAM set: stderr
// goes to the journal) the records carry no time of their own, as journald stamps
// each line already.
package daemonlog

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"strings"
)

// Formats are the values of the daemons' --log-format flag.
var Formats = []string{"text", "json"}

// New returns a logger writing records in format ("text" or "json") to w.
func New(w io.Writer, format string) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{}
	if os.Getenv("JOURNAL_STREAM") != "" {
		opts.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}
	}
	switch format {
	case "", "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log format %q: want %s", format, strings.Join(Formats, " or "))
}

// Counters turns a struct of counters into slog key-value pairs, keyed by the fields'
// json names (as the daemons' -j output), in field order: a daemon's final counters
// read as key=value in text and as numbers in JSON.
func Counters(v any) []any {
	rv := reflect.Indirect(reflect.ValueOf(v))
	if rv.Kind() != reflect.Struct {
		return nil
	}
	var kv []any
	for _, f := range counterFields(rv.Type()) {
		kv = append(kv, f.name, rv.Field(f.index).Interface())
	}
	return kv
}

// counterField is a field of a counters struct, by the name logs and metrics give it.
type counterField struct {
	name  string
	index int
	kind  reflect.Kind
}

// counterFields lists t's exported fields under their json names (the field's name in
// lower case without one), those tagged "-" left out.
func counterFields(t reflect.Type) []counterField {
	var out []counterField
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out = append(out, counterField{name: name, index: i, kind: f.Type.Kind()})
	}
	return out
}
