package fcm

import "testing"

// TCA_OPTIONS survive an encode and decode; an exid of 0 is sent only when asked
// (a change back to option 92), and a config without one decodes as option 92.
func TestOptionsRoundTrip(t *testing.T) {
	for _, c := range []Config{
		{Rate: 1250000},
		{Rate: 1250000, Limit: 64000, Bval: 7, Qmin: 0, QminSet: true},
		{Rate: 1250000, Exid: 0xfc11, ExidSet: true},
		{Rate: 1250000, Exid: 0, ExidSet: true},
	} {
		b, err := EncodeOptions(c)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeOptions(b)
		if err != nil {
			t.Fatal(err)
		}
		if got != c {
			t.Errorf("%+v came back as %+v", c, got)
		}
	}
	b, _ := EncodeOptions(Config{Rate: 1, Exid: 0})
	if c, _ := DecodeOptions(b); c.ExidSet || c.Exid != 0 {
		t.Errorf("an exid was sent unasked: %+v", c)
	}
}
