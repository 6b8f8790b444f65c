package units

import "testing"

func TestParseRate(t *testing.T) {
	for in, want := range map[string]uint64{
		"8000": 1000, "50mbit": 6250000, "1gbit": 125000000, "10Mbps": 10000000,
		"1kibit": 128, "100kbit": 12500, "1.5mbit": 187500,
	} {
		got, err := ParseRate(in)
		if err != nil || got != want {
			t.Errorf("ParseRate(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "mbit", "fast", "-1mbit", "1e30gbit"} {
		if _, err := ParseRate(bad); err == nil {
			t.Errorf("ParseRate(%q) accepted", bad)
		}
	}
	if s := FormatRate(6250000); s != "50Mbit" {
		t.Errorf("FormatRate = %s", s)
	}
}
