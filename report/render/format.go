// Package render writes a report.Report in the formats slaprobe ships: JSON
// (the model's direct encoding), CSV and text tables of the downtime windows,
// Markdown, one self-contained HTML file, and PDF.
//
// Every human format (Markdown, HTML, PDF) is drawn from one view of the
// report built by newView, so they show the same figures in the same words:
// times in the report's time zone with their offset, durations in human form
// (2h21m), ratios as percentages.
package render

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/slaprobe/slaprobe/internal/textesc"
	"github.com/slaprobe/slaprobe/report"
)

// timeLayout is how every human format prints an instant.
const timeLayout = "2006-01-02 15:04:05 -07:00"

// location resolves the report's IANA zone; an empty zone is UTC.
func location(name string) (*time.Location, error) {
	if name == "" {
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("render: report time zone %q: %w", name, err)
	}
	return loc, nil
}

// fmtTime prints t in loc with its offset; the zero time is "-".
func fmtTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(loc).Format(timeLayout)
}

// fmtTimePtr prints *t, or none when t is nil.
func fmtTimePtr(t *time.Time, loc *time.Location, none string) string {
	if t == nil {
		return none
	}
	return fmtTime(*t, loc)
}

// fmtDur prints a number of seconds as a human duration: 45s, 12m30s, 2h21m,
// 3h59m59s, 5d7h, 1d0h0m3s: every unit after the largest one present, down to
// the last that is not zero, so nothing is dropped. Negative values get a
// leading minus; NaN and infinities print as "-".
func fmtDur(sec float64) string {
	if math.IsNaN(sec) || math.IsInf(sec, 0) {
		return "-"
	}
	sign := ""
	if sec < 0 {
		sign = "-"
		sec = -sec
	}
	if sec > 0 && sec < 1 {
		return sign + strconv.FormatFloat(sec, 'f', 1, 64) + "s"
	}
	if sec >= 1e12 { // hostile or broken input: keep it printable
		return sign + strconv.FormatFloat(sec, 'g', 3, 64) + "s"
	}
	s := int64(math.Round(sec))
	parts := []struct {
		n    int64
		unit string
	}{{s / 86400, "d"}, {s % 86400 / 3600, "h"}, {s % 3600 / 60, "m"}, {s % 60, "s"}}
	first, last := -1, -1
	for i, p := range parts {
		if p.n != 0 {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 {
		return "0s"
	}
	var b strings.Builder
	b.WriteString(sign)
	for _, p := range parts[first : last+1] {
		b.WriteString(strconv.FormatInt(p.n, 10) + p.unit)
	}
	return b.String()
}

// fmtDurPtr is fmtDur of *sec, or "-" when there is no such figure.
func fmtDurPtr(sec *float64) string {
	if sec == nil {
		return "-"
	}
	return fmtDur(*sec)
}

// fmtDelta prints a reconciliation's delta (measured less declared) with
// an explicit sign, cut down toward minus infinity as the times beside it
// are (timeLayout prints 01:15:11.58 as 01:15:11), so that it reads as they
// subtract: +11.5s for 11.58 s where a rounded +12s contradicted 01:15:11
// less 01:15:00, -11.1s for -11.02 (01:14:48 less 01:15:00 is -12 s, not
// -11), +1m30s for 90.58. Below a minute it keeps fmtBound's three
// significant digits (+1.58s, +40ms, -0.4ms); from one on, fmtDur's whole
// seconds. Zero is "0s", no figure "-".
func fmtDelta(sec *float64) string {
	if sec == nil {
		return "-"
	}
	v := *sec
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "-"
	}
	if math.Abs(v) >= 1e9 { // hostile or broken input: no nanoseconds to cut
		return signed(v, fmtDur(v))
	}
	ns := int64(math.Round(v * 1e9))
	// The step of the last digit shown for a magnitude of a nanoseconds:
	// fmtBound's three significant digits below a minute, whole seconds
	// from one on. Cutting a negative delta down can carry it to the next
	// class's lower bound (-59.97 s to -60 s), which is a multiple of that
	// class's step too, so one pass suffices.
	step := func(a int64) int64 {
		for _, c := range []struct{ below, step int64 }{
			{1e6, 1e3}, {1e7, 1e4}, {1e8, 1e5}, {1e9, 1e6}, {1e10, 1e7}, {60e9, 1e8},
		} {
			if a < c.below {
				return c.step
			}
		}
		return 1e9
	}
	abs := ns
	if abs < 0 {
		abs = -abs
	}
	st := step(abs)
	f := ns / st * st
	if f > ns { // Go divides toward zero, which cut a negative delta up
		f -= st
	}
	a := f
	if a < 0 {
		a = -a
	}
	var s string
	switch {
	case a == 0:
		return "0s"
	case a >= 60e9:
		s = fmtDur(float64(a / 1e9))
	case a >= 1e9:
		s = strconv.FormatFloat(float64(a)/1e9, 'f', -1, 64) + "s"
	default:
		s = strconv.FormatFloat(float64(a)/1e6, 'f', -1, 64) + "ms"
	}
	return signed(float64(f), s)
}

// signed puts v's sign before s, a figure printed without it: + for a
// positive v, - for a negative one.
func signed(v float64, s string) string {
	s = strings.TrimPrefix(s, "-")
	switch {
	case v > 0:
		return "+" + s
	case v < 0:
		return "-" + s
	}
	return s
}

// fmtPct prints a 0..1 ratio as a percentage with three decimals,
// truncated, never rounded up: see fmtTrunc.
func fmtPct(v float64) string { return fmtTrunc(v, 3) }

// fmtPctPtr is fmtPct of *v, or none when there is no such figure.
func fmtPctPtr(v *float64, none string) string {
	if v == nil {
		return none
	}
	return fmtPct(*v)
}

// Percent prints a 0..1 ratio as a percentage with the given decimals,
// truncated rather than rounded (as every report prints availability): a
// figure is never shown reaching a threshold it misses.
func Percent(v float64, decimals int) string { return fmtTrunc(v, decimals) }

// Availability prints a 0..1 availability as every report prints it
// against objective: truncated, never rounded up, with as many decimals as
// the objective needs to be told from it (at least three). The status page
// uses it too, so both show the same figure.
func Availability(v, objective float64) string { return fmtTrunc(v, availDecimals(objective)) }

// fmtTrunc prints a ratio as a percentage with the given decimals, cut
// down rather than rounded, so that a figure is never shown reaching a
// threshold it misses: 0.9989997 is 99.899%, not 99.900%, and only exactly
// 1 is 100.000%. A negative ratio (an overspent error budget) is cut down
// too, away from zero: -0.0000004 is -0.001%, not 0.000% (spent exactly).
// It works on the shortest decimal form of v, so 0.999 is 99.900% and not
// 99.899% from binary rounding.
func fmtTrunc(v float64, decimals int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "-"
	}
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	whole, frac, _ := strings.Cut(strconv.FormatFloat(v, 'f', -1, 64), ".")
	frac += strings.Repeat("0", 2+decimals)
	digits := whole + frac[:2+decimals] // the percentage times 10^decimals
	if sign != "" && strings.Trim(frac[2+decimals:], "0") != "" {
		digits = addOne(digits)
	}
	whole, kept := digits[:len(digits)-decimals], digits[len(digits)-decimals:]
	whole = strings.TrimLeft(whole, "0")
	if whole == "" {
		whole = "0"
	}
	if strings.Trim(whole+kept, "0") == "" {
		sign = ""
	}
	out := sign + whole
	if decimals > 0 {
		out += "." + kept
	}
	return out + "%"
}

// addOne adds 1 to a string of decimal digits.
func addOne(digits string) string {
	b := []byte(digits)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < '9' {
			b[i]++
			return string(b)
		}
		b[i] = '0'
	}
	return "1" + string(b)
}

// availDecimals is how many decimals an availability needs so that it can be
// told from its objective: three, or as many as the objective has (99.9995%
// takes four), at most six.
func availDecimals(objective float64) int {
	_, frac, _ := strings.Cut(strconv.FormatFloat(objective, 'f', -1, 64), ".")
	return min(max(3, len(frac)-2), 6)
}

// fmtAvail prints a service's or flow's availability against its objective,
// or "no data".
func fmtAvail(v *float64, objective float64) string {
	if v == nil {
		return "no data"
	}
	return fmtTrunc(*v, availDecimals(objective))
}

// maintText is what the human formats say of an availability over a period
// (or day) that was all planned maintenance: excluded from the SLA, not
// missing.
const maintText = "planned maintenance"

// fmtMeasured is fmtAvail, marked "(no data)" when nothing was measured but
// the policy still gives a figure (unknown time counted as down: 0%), so that
// no human format shows a figure the JSON flags as no_data without saying so;
// "planned maintenance" when the period was all maintenance.
func fmtMeasured(v *float64, noData, maintOnly bool, objective float64) string {
	if v == nil && maintOnly {
		return maintText
	}
	out := fmtAvail(v, objective)
	if v != nil && noData {
		out += " (no data)"
	}
	return out
}

// fmtObjective prints an objective without trailing zeros (99.9%).
func fmtObjective(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "-"
	}
	s := strconv.FormatFloat(v*100, 'f', 4, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s + "%"
}

// fmtLatency prints seconds as milliseconds below one second.
func fmtLatency(sec float64) string {
	switch {
	case math.IsNaN(sec) || math.IsInf(sec, 0):
		return "-"
	case sec < 1:
		return strconv.FormatFloat(sec*1000, 'f', 0, 64) + " ms"
	default:
		return strconv.FormatFloat(sec, 'f', 2, 64) + " s"
	}
}

// fmtLatencyPtr is fmtLatency, or "-" for a latency not measured.
func fmtLatencyPtr(sec *float64) string {
	if sec == nil {
		return "-"
	}
	return fmtLatency(*sec)
}

// fmtFloat prints a plain number without exponent or trailing zeros.
func fmtFloat(v float64) string {
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// function names a window's function, or "whole flow".
func function(f *string) string {
	if f == nil || *f == "" {
		return "whole flow"
	}
	return *f
}

// met says whether availability reached the objective (false without data).
func met(s report.Service) bool { return s.Availability != nil && *s.Availability >= s.Objective }

// verdict is "met", "missed", "planned maintenance" or "no data"; for a
// period not over (provisional), "met so far", "below so far" while the
// error budget is not spent (the period's, less its planned maintenance,
// still to come too, and the time unknown so far: the rest of the period up
// would still meet the objective), or "missed" once it is spent or there is
// none (an objective of 100%), as the status page says the month in
// progress.
func verdict(s report.Service, provisional bool) string {
	switch {
	case s.Availability == nil && s.MaintenanceOnly:
		return maintText
	case s.Availability == nil:
		return "no data"
	case met(s) && provisional:
		return "met so far"
	case met(s):
		return "met"
	case provisional && s.ErrorBudget.AllowedSeconds > 0 && s.ErrorBudget.RemainingSeconds >= 0:
		return "below so far"
	}
	return "missed"
}

// printable replaces control characters (terminal escapes, newlines in a
// remote error message) with a space so that no cell breaks its table, a
// byte that is not UTF-8 (0x9b is CSI to a terminal that takes 8-bit
// controls) with U+FFFD, and escapes bidi formatting characters (an error
// stored before the probe escaped them), so that none reverses the rest of
// its line.
func printable(s string) string {
	s = textesc.Bidi(s)
	if strings.IndexFunc(s, unicode.IsControl) < 0 && utf8.ValidString(s) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

// clip shortens s to at most n runes, marking the cut with "...".
func clip(s string, n int) string {
	if n <= 3 {
		return s
	}
	i := 0
	for pos := range s {
		if i == n-3 {
			rest := s[pos:]
			if len([]rune(rest)) > 3 {
				return s[:pos] + "..."
			}
			return s
		}
		i++
	}
	return s
}
