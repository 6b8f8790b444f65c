package daemonlog

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
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

// Counters become counters (_total), signed fields gauges, read at each scrape; the
// server answers in Prometheus's text format.
func TestMetrics(t *testing.T) {
	var s counters
	reg, err := Registry("demo", func() any { return s }, map[string]string{"events": "events seen"})
	if err != nil {
		t.Fatal(err)
	}
	s.Events, s.Open = 5, 3
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		m := mf.GetMetric()[0]
		if m.Counter != nil {
			got[mf.GetName()] = m.Counter.GetValue()
		} else {
			got[mf.GetName()] = m.Gauge.GetValue()
		}
	}
	if got["nlkit_demo_events_total"] != 5 || got["nlkit_demo_open"] != 3 || len(got) != 3 {
		t.Errorf("gathered %v", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logb bytes.Buffer
	log, _ := New(&logb, "text")
	if err := ServeMetrics(ctx, "127.0.0.1:0", reg, log); err != nil {
		t.Fatal(err)
	}
	url := strings.TrimSuffix(strings.SplitN(strings.SplitN(logb.String(), "url=", 2)[1], "\n", 2)[0], "")
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "# HELP nlkit_demo_events_total events seen\n") || !strings.Contains(string(body), "nlkit_demo_events_total 5\n") {
		t.Errorf("/metrics:\n%s", body)
	}
	if err := ServeMetrics(ctx, strings.TrimPrefix(url[:strings.LastIndex(url, "/")], "http://"), reg, log); err == nil {
		t.Error("a second server on the same address was accepted")
	}
}
