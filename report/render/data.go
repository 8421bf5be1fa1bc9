package render

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/mattn/go-runewidth"

	"github.com/slaprobe/slaprobe/internal/textesc"
	"github.com/slaprobe/slaprobe/report"
)

// JSON writes r as indented JSON with the model's keys in their declared
// order (DESIGN "report.json"). Times are written in the report's zone with
// its offset, and empty lists as [] rather than null.
func JSON(w io.Writer, r *report.Report) error {
	if r == nil {
		return fmt.Errorf("render: nil report")
	}
	loc, err := location(r.Timezone)
	if err != nil {
		return err
	}
	c := normalize(r, loc)
	return encodeJSON(w, &c)
}

// WindowsJSON writes ws as the JSON array of windows.json; an empty list is
// [] and never null. Times are written as given: the report builder puts
// them in the report's zone.
func WindowsJSON(w io.Writer, ws []report.Window) error {
	out := make([]report.Window, len(ws))
	for i, x := range ws {
		out[i] = normWindow(x, nil)
	}
	return encodeJSON(w, out)
}

func encodeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("render: json: %w", err)
	}
	return nil
}

// WindowsCSV writes a header row and one row per window: times in RFC 3339
// to the nanosecond (the JSON's instants), an empty function for a whole-flow
// window, an empty end while ongoing or when it went on after the period,
// locations joined with ";", then start_cut and end_cut ("period"
// or "no_data" when that edge is not a measured one, as in JSON), and at the
// end start_uncertainty_later_seconds and end_uncertainty_later_seconds
// (empty when not known), and last maintenance_seconds, how much of the
// window planned maintenance covered (empty when none), each added after the
// others so that columns read by position keep their place. Text cells have their control
// and bidi characters escaped, and one that a spreadsheet would read as a
// formula (leading =, +, -, @) is prefixed with a single quote.
func WindowsCSV(w io.Writer, ws []report.Window) error {
	cw := csv.NewWriter(w)
	header := []string{"service", "flow", "function", "kind", "start", "end", "duration_seconds", "cause_step", "locations", "error",
		"start_uncertainty_seconds", "end_uncertainty_seconds", "start_cut", "end_cut",
		"start_uncertainty_later_seconds", "end_uncertainty_later_seconds", "maintenance_seconds"}
	if err := cw.Write(header); err != nil {
		return fmt.Errorf("render: csv: %w", err)
	}
	for _, x := range ws {
		fn, end := "", ""
		if x.Function != nil {
			fn = *x.Function
		}
		if x.End != nil {
			end = x.End.Format(time.RFC3339Nano)
		}
		maint := ""
		if x.MaintenanceSeconds > 0 {
			maint = fmtFloat(x.MaintenanceSeconds)
		}
		rec := []string{
			cell(x.Service), cell(x.Flow), cell(fn), cell(x.Kind), x.Start.Format(time.RFC3339Nano), end,
			fmtFloat(x.DurationSeconds), cell(x.CauseStep), cell(strings.Join(x.Locations, ";")), cell(x.Error),
			fmtFloatPtr(x.StartUncertaintySeconds), fmtFloatPtr(x.EndUncertaintySeconds), x.StartCut, x.EndCut,
			fmtFloatPtr(x.StartUncertaintyLaterSeconds), fmtFloatPtr(x.EndUncertaintyLaterSeconds), maint,
		}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("render: csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("render: csv: %w", err)
	}
	return nil
}

// CSV writes the report's windows (all services) as WindowsCSV does, with
// times in the report's zone.
func CSV(w io.Writer, r *report.Report) error {
	if r == nil {
		return fmt.Errorf("render: nil report")
	}
	loc, err := location(r.Timezone)
	if err != nil {
		return err
	}
	ws := make([]report.Window, len(r.Windows))
	for i, x := range r.Windows {
		ws[i] = normWindow(x, loc)
	}
	return WindowsCSV(w, ws)
}

// cell escapes a text cell's control, non-UTF-8 and bidi characters
// (textesc.Text, as the probe does in new errors: one stored by an earlier
// version may hold an ESC [2J for the terminal the CSV is printed to) and
// then defuses spreadsheet formulas in it.
func cell(s string) string {
	s = textesc.Text(s)
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// WindowsText writes ws as an aligned table for a terminal, times in loc
// (UTC when nil), with the edges that are not measured ones said as the
// report's tables say them. Control characters in names and errors are blanked, so a
// hostile error message cannot move the cursor or change colours.
func WindowsText(w io.Writer, ws []report.Window, loc *time.Location) error {
	if loc == nil {
		loc = time.UTC
	}
	rows := [][]string{{"SERVICE", "FLOW", "FUNCTION", "KIND", "START", "END", "DURATION", "CAUSE", "LOCATIONS", "ERROR"}}
	for _, x := range ws {
		rows = append(rows, []string{
			x.Service, x.Flow, function(x.Function), x.Kind, startCell(x.Start, x.StartCut, loc), endCell(x.End, x.EndCut, loc),
			fmtDur(x.DurationSeconds) + neverSureMark(x), x.CauseStep, strings.Join(x.Locations, ","), clip(x.Error, 80),
		})
	}
	widths := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, c := range row {
			row[i] = printable(c)
			widths[i] = max(widths[i], runewidth.StringWidth(row[i]))
		}
	}
	var b strings.Builder
	for _, row := range rows {
		for i, c := range row {
			b.WriteString(c)
			if i < len(row)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-runewidth.StringWidth(c)+2))
			}
		}
		b.WriteByte('\n')
	}
	if len(ws) == 0 {
		b.WriteString("(no windows)\n")
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("render: text: %w", err)
	}
	return nil
}

// normalize copies r with every time in loc and every nil list made empty,
// so report.json always has the same shape.
func normalize(r *report.Report, loc *time.Location) report.Report {
	c := *r
	c.From, c.To, c.Generated = in(r.From, loc), in(r.To, loc), in(r.Generated, loc)
	c.Policy.Text = nonNil(r.Policy.Text)
	c.Windows = normWindows(r.Windows, loc)
	c.Services = make([]report.Service, len(r.Services))
	for i, s := range r.Services {
		s.Steps = nonNil(s.Steps)
		s.Flows = nonNil(s.Flows)
		s.Daily = nonNil(s.Daily)
		s.Windows = normWindows(s.Windows, loc)
		s.Undeclared = normWindows(s.Undeclared, loc)
		s.BelowQuorum = normWindows(s.BelowQuorum, loc)
		s.Unknown = normSpans(s.Unknown, loc)
		s.Maintenance = normSpans(s.Maintenance, loc)
		inc := make([]report.Incident, len(s.IncidentList))
		for j, x := range s.IncidentList {
			x.Start, x.End = in(x.Start, loc), inPtr(x.End, loc)
			x.Functions = nonNil(x.Functions)
			inc[j] = x
		}
		s.IncidentList = inc
		rec := make([]report.Reconciliation, len(s.Reconciliation))
		for j, x := range s.Reconciliation {
			x.Functions = nonNil(x.Functions)
			x.DeclaredStart, x.DeclaredEnd = in(x.DeclaredStart, loc), inPtr(x.DeclaredEnd, loc)
			x.MeasuredStart, x.MeasuredEnd = inPtr(x.MeasuredStart, loc), inPtr(x.MeasuredEnd, loc)
			x.FirstNotice = inPtr(x.FirstNotice, loc)
			x.Windows = normWindows(x.Windows, loc)
			rec[j] = x
		}
		s.Reconciliation = rec
		c.Services[i] = s
	}
	return c
}

func normWindows(ws []report.Window, loc *time.Location) []report.Window {
	out := make([]report.Window, len(ws))
	for i, x := range ws {
		out[i] = normWindow(x, loc)
	}
	return out
}

// normWindow puts a window's times in loc (when not nil) and makes its
// locations and causes lists non-nil.
func normWindow(x report.Window, loc *time.Location) report.Window {
	x.Locations = nonNil(x.Locations)
	x.Causes = nonNil(x.Causes)
	if loc != nil {
		x.Start, x.End, x.Confirmed = in(x.Start, loc), inPtr(x.End, loc), in(x.Confirmed, loc)
		x.SplitFrom = inPtr(x.SplitFrom, loc)
		cs := make([]report.Cause, len(x.Causes))
		for i, c := range x.Causes {
			c.From, c.To = in(c.From, loc), inPtr(c.To, loc)
			cs[i] = c
		}
		x.Causes = cs
	}
	return x
}

// fmtFloatPtr is fmtFloat, or "" for nil.
func fmtFloatPtr(f *float64) string {
	if f == nil {
		return ""
	}
	return fmtFloat(*f)
}

func normSpans(ss []report.Span, loc *time.Location) []report.Span {
	out := make([]report.Span, len(ss))
	for i, x := range ss {
		x.Start, x.End = in(x.Start, loc), in(x.End, loc)
		out[i] = x
	}
	return out
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func in(t time.Time, loc *time.Location) time.Time {
	if t.IsZero() {
		return t
	}
	return t.In(loc)
}

func inPtr(t *time.Time, loc *time.Location) *time.Time {
	if t == nil {
		return nil
	}
	x := in(*t, loc)
	return &x
}
