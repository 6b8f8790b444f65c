// Package units reads and prints the values of nlkit's qdisc options in tc's syntax
// (rates "50mbit", sizes "64kb", times "5ms", percentages, numbers), for every nlkit
// command that takes or shows one. The tc plugins (iproute-ext/tc_plugin.h) read them
// with the same grammar, written again in C: testdata/values.tsv is one table of rules
// that both must follow (TestValuesTable, TestPluginParsesAsUnits).
package units

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// number is the numeric part of a rate, size or time: decimal, no sign, no hex, no
// inf or nan (strtod and ParseFloat would each take some of those, differently).
var number = regexp.MustCompile(`^([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$`)

// scaled reads a number with one of units' suffixes (lower case; "" for a bare number).
func scaled(s string, units []unit) (float64, bool) {
	l := strings.ToLower(s)
	for _, u := range units {
		if !strings.HasSuffix(l, u.suffix) {
			continue
		}
		num := strings.TrimSuffix(l, u.suffix)
		if !number.MatchString(num) {
			return 0, false
		}
		v, err := strconv.ParseFloat(num, 64)
		if err != nil || math.IsInf(v*u.mult, 0) {
			return 0, false
		}
		return v * u.mult, true
	}
	return 0, false
}

type unit struct {
	suffix string
	mult   float64
}

// sizeUnits are tc's size suffixes (get_size), in bytes; the bare number last.
var sizeUnits = []unit{
	{"kbit", 1024 / 8.0}, {"mbit", 1 << 20 / 8.0}, {"gbit", 1 << 30 / 8.0},
	{"kb", 1024}, {"mb", 1 << 20}, {"gb", 1 << 30}, {"k", 1024}, {"m", 1 << 20}, {"g", 1 << 30},
	{"b", 1}, {"", 1},
}

// timeUnits are tc's time suffixes (get_time), in microseconds; the bare number last.
var timeUnits = []unit{
	{"usecs", 1}, {"usec", 1}, {"us", 1}, {"msecs", 1e3}, {"msec", 1e3}, {"ms", 1e3},
	{"secs", 1e6}, {"sec", 1e6}, {"s", 1e6}, {"", 1},
}

// ParseSize parses a size in bytes as tc does ("1500", "1500b", "64kb", "64k", "1mb",
// "8kbit"; k, m, g are powers of 1024), truncated to a whole byte, at most 2^32-1.
func ParseSize(s string) (uint32, error) {
	v, ok := scaled(s, sizeUnits)
	if !ok || v >= 1<<32 {
		return 0, fmt.Errorf("%q is not a size in bytes up to 4g (examples: 1500, 64kb, 1mb)", s)
	}
	return uint32(v), nil
}

// ParseTime parses a time as tc does ("100us", "5ms", "1.5s", "1sec"; a bare number is
// microseconds) into whole microseconds, at most 2^32-1.
func ParseTime(s string) (uint32, error) {
	v, ok := scaled(s, timeUnits)
	if !ok || v >= 1<<32 {
		return 0, fmt.Errorf("%q is not a time (examples: 100us, 5ms, 1s)", s)
	}
	return uint32(v), nil
}

// decimal is a whole number as the options take it: digits only.
var decimal = regexp.MustCompile(`^[0-9]+$`)

// ParseU32 parses a decimal whole number up to 2^32-1 ("group 2").
func ParseU32(s string) (uint32, error) {
	if decimal.MatchString(s) {
		if n, err := strconv.ParseUint(s, 10, 32); err == nil {
			return uint32(n), nil
		}
	}
	return 0, fmt.Errorf("%q is not a whole number up to 4294967295", s)
}

// ParsePercent parses a percentage: ParseU32's number, a trailing "%" allowed ("80%").
func ParsePercent(s string) (uint32, error) {
	n, err := ParseU32(strings.TrimSuffix(s, "%"))
	if err != nil {
		return 0, fmt.Errorf("%q is not a percentage (examples: 80, 80%%)", s)
	}
	return n, nil
}

// hex16 is a number in C's bases: 0x hexadecimal, 0 octal, else decimal.
var hex16 = regexp.MustCompile(`^(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$`)

// ParseU16 parses a number up to 0xffff in C's bases ("0xfc11", "64529").
func ParseU16(s string) (uint16, error) {
	if hex16.MatchString(s) {
		if n, err := strconv.ParseUint(s, 0, 16); err == nil {
			return uint16(n), nil
		}
	}
	return 0, fmt.Errorf("%q is not a number up to 0xffff (examples: 0xfc11, 64529)", s)
}

// Parse reads a value of a qdisc option's kind, as the tc plugins' tc_opt_kind names
// them: rate (bytes/s), size (bytes), u32, percent, usec and msec (a time, in those
// units, truncated), u16 (C's bases).
func Parse(kind, s string) (uint64, error) {
	switch kind {
	case "rate":
		return ParseRate(s)
	case "size":
		v, err := ParseSize(s)
		return uint64(v), err
	case "u32":
		v, err := ParseU32(s)
		return uint64(v), err
	case "percent":
		v, err := ParsePercent(s)
		return uint64(v), err
	case "usec":
		v, err := ParseTime(s)
		return uint64(v), err
	case "msec":
		v, err := ParseTime(s)
		return uint64(v / 1000), err
	case "u16":
		v, err := ParseU16(s)
		return uint64(v), err
	}
	return 0, fmt.Errorf("unknown kind %q", kind)
}

// rateUnits are tc's rate suffixes (get_rate64), in bytes per second; a bare number is
// bits per second.
var rateUnits = []unit{
	{"tibit", 1 << 40 / 8.0}, {"gibit", 1 << 30 / 8.0}, {"mibit", 1 << 20 / 8.0}, {"kibit", 1024 / 8.0},
	{"tbit", 1e12 / 8}, {"gbit", 1e9 / 8}, {"mbit", 1e6 / 8}, {"kbit", 1e3 / 8}, {"bit", 1.0 / 8},
	{"tibps", 1 << 40}, {"gibps", 1 << 30}, {"mibps", 1 << 20}, {"kibps", 1024},
	{"tbps", 1e12}, {"gbps", 1e9}, {"mbps", 1e6}, {"kbps", 1e3}, {"bps", 1},
	{"", 1.0 / 8},
}

// ParseRate parses a rate as tc does ("50mbit", "1gbit", "10MBps", "8000bit"; a bare
// number is bits per second) into bytes per second, rounded, below 2^63.
func ParseRate(s string) (uint64, error) {
	v, ok := scaled(s, rateUnits)
	if !ok || v+0.5 >= 1<<63 {
		return 0, fmt.Errorf("%q is not a rate (examples: 50mbit, 1gbit, 10mbps)", s)
	}
	return uint64(v + 0.5), nil
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
