package daemonlog

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

type counters struct {
	Events     uint64 `json:"events"`
	EventsLost uint64 `json:"events_lost"`
	Open       int    `json:"open"`
	hidden     int
	Skipped    int `json:"-"`
}

// Text is key=value with a time; JSON is one object per record with the counters as
// numbers; under journald no time; an unknown format is refused.
func TestFormats(t *testing.T) {
	t.Setenv("JOURNAL_STREAM", "")
	var b bytes.Buffer
	l, err := New(&b, "text")
	if err != nil {
		t.Fatal(err)
	}
	l.Info("stopped", Counters(counters{Events: 7, EventsLost: 1, Open: 2, hidden: 3, Skipped: 4})...)
	line := b.String()
	if !strings.HasPrefix(line, "time=") || !strings.Contains(line, `msg=stopped events=7 events_lost=1 open=2`+"\n") || strings.Contains(line, "hidden") || strings.Contains(line, "kipped") {
		t.Errorf("text: %q", line)
	}
	b.Reset()
	l, _ = New(&b, "json")
	l.Info("stopped", Counters(&counters{Events: 7})...)
	var rec map[string]any
	if err := json.Unmarshal(b.Bytes(), &rec); err != nil || rec["msg"] != "stopped" || rec["events"] != float64(7) || rec["time"] == nil {
		t.Errorf("json: %s (%v)", b.Bytes(), err)
	}
	t.Setenv("JOURNAL_STREAM", "8:1234")
	b.Reset()
	l, _ = New(&b, "text")
	l.Info("hello", "token", "0000abcd")
	if got := b.String(); got != "level=INFO msg=hello token=0000abcd\n" {
		t.Errorf("under journald: %q", got)
	}
	if _, err := New(&b, "xml"); err == nil || !strings.Contains(err.Error(), "text or json") {
		t.Errorf("xml: %v", err)
	}
}
