package job

import (
	"math"
	"slices"
)

// Median of v (the mean of the middle two for an even count); NaN for none.
func Median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Spread is (max-min)/median of v: how far the rounds were apart.
func Spread(v []float64) float64 {
	m := Median(v)
	if len(v) == 0 || m == 0 {
		return math.NaN()
	}
	return (slices.Max(v) - slices.Min(v)) / m
}

// Ratio is nlkit's median against the baseline's, above 1 when nlkit did better.
func (r BenchRow) Ratio() float64 {
	n, b := Median(r.Nlkit), Median(r.Base)
	if r.LowerBetter {
		return b / n
	}
	return n / b
}
