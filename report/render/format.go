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
// 5d7h. Negative values get a leading minus; NaN and infinities print as "-".
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
	d, s := s/86400, s%86400
	h, s := s/3600, s%3600
	m, s := s/60, s%60
	var b strings.Builder
	b.WriteString(sign)
	switch {
	case d > 0:
		fmt.Fprintf(&b, "%dd", d)
		if h > 0 {
			fmt.Fprintf(&b, "%dh", h)
		}
		if m > 0 {
			fmt.Fprintf(&b, "%dm", m)
		}
	case h > 0:
		fmt.Fprintf(&b, "%dh", h)
		if m > 0 {
			fmt.Fprintf(&b, "%dm", m)
		}
	case m > 0:
		fmt.Fprintf(&b, "%dm", m)
		if s > 0 {
			fmt.Fprintf(&b, "%ds", s)
		}
	default:
		fmt.Fprintf(&b, "%ds", s)
	}
	return b.String()
}

// fmtDelta prints a signed duration with an explicit sign (+3m, -1m30s).
func fmtDelta(sec *float64) string {
	if sec == nil {
		return "-"
	}
	if *sec > 0 {
		return "+" + fmtDur(*sec)
	}
	return fmtDur(*sec)
}

// fmtPct prints a 0..1 ratio as a percentage with three decimals.
func fmtPct(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "-"
	}
	return strconv.FormatFloat(v*100, 'f', 3, 64) + "%"
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

// met says whether availability reached the objective.
func met(s report.Service) bool { return s.Availability >= s.Objective }

// verdict is "met" or "missed".
func verdict(s report.Service) string {
	if met(s) {
		return "met"
	}
	return "missed"
}

// printable replaces control characters (terminal escapes, newlines in a
// remote error message) with a space so that no cell breaks its table.
func printable(s string) string {
	if strings.IndexFunc(s, unicode.IsControl) < 0 {
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
