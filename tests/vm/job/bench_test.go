package job

import (
	"math"
	"testing"
)

func TestMedianSpreadRatio(t *testing.T) {
	if m := Median([]float64{3, 1, 2}); m != 2 {
		t.Errorf("median of 3 1 2: %v", m)
	}
	if m := Median([]float64{4, 1, 3, 2}); m != 2.5 {
		t.Errorf("median of 4 1 3 2: %v", m)
	}
	if !math.IsNaN(Median(nil)) {
		t.Error("median of nothing is a number")
	}
	if s := Spread([]float64{90, 100, 110}); math.Abs(s-0.2) > 1e-9 {
		t.Errorf("spread of 90 100 110: %v", s)
	}
	r := BenchRow{Nlkit: []float64{50, 60, 70}, Base: []float64{100, 120, 110}}
	if got := r.Ratio(); math.Abs(got-60.0/110) > 1e-9 {
		t.Errorf("ratio: %v", got)
	}
	r.LowerBetter = true // latencies: nlkit's 60 against 110 is better
	if got := r.Ratio(); math.Abs(got-110.0/60) > 1e-9 {
		t.Errorf("ratio, lower better: %v", got)
	}
}
