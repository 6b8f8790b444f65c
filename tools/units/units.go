// Package units reads and prints rates in tc's syntax ("50mbit", "1gbit", "10MBps"),
// for every nlkit command that takes or shows one.
package units

import (
	"fmt"
	"strconv"
	"strings"
)

// rateUnits maps tc's rate suffixes to bytes per second per unit.
var rateUnits = []struct {
	suffix string
	bytes  float64
}{
	{"tibit", 1 << 40 / 8.0}, {"gibit", 1 << 30 / 8.0}, {"mibit", 1 << 20 / 8.0}, {"kibit", 1024 / 8.0},
	{"tbit", 1e12 / 8}, {"gbit", 1e9 / 8}, {"mbit", 1e6 / 8}, {"kbit", 1e3 / 8}, {"bit", 1.0 / 8},
	{"tibps", 1 << 40}, {"gibps", 1 << 30}, {"mibps", 1 << 20}, {"kibps", 1024},
	{"tbps", 1e12}, {"gbps", 1e9}, {"mbps", 1e6}, {"kbps", 1e3}, {"bps", 1},
}

// ParseRate parses a rate as tc does ("50mbit", "1gbit", "10MBps", "8000bit"; a bare
// number is bits per second) into bytes per second.
func ParseRate(s string) (uint64, error) {
	l := strings.ToLower(strings.TrimSpace(s))
	mult := 1.0 / 8 // bare numbers are bit/s, as in tc
	num := l
	for _, u := range rateUnits {
		if strings.HasSuffix(l, u.suffix) {
			mult, num = u.bytes, strings.TrimSuffix(l, u.suffix)
			break
		}
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v < 0 || num == "" {
		return 0, fmt.Errorf("%q is not a rate (examples: 50mbit, 1gbit, 10mbps)", s)
	}
	r := v * mult
	if r >= 1<<63 {
		return 0, fmt.Errorf("rate %q is too large", s)
	}
	return uint64(r + 0.5), nil
}

// FormatRate prints bytes per second the way tc prints rates (bits, SI prefixes).
func FormatRate(bytesPerSec uint64) string {
	bits := float64(bytesPerSec) * 8
	switch {
	case bits >= 1e9:
		return trim(bits/1e9) + "Gbit"
	case bits >= 1e6:
		return trim(bits/1e6) + "Mbit"
	case bits >= 1e3:
		return trim(bits/1e3) + "Kbit"
	}
	return trim(bits) + "bit"
}

func trim(v float64) string {
	s := strconv.FormatFloat(v, 'f', 2, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}
