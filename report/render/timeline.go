package render

import (
	"bytes"
	"fmt"
	"html"
	"html/template"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/golang/freetype/truetype"
	"github.com/wcharczuk/go-chart/v2/drawing"
	"golang.org/x/image/font"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"

	"github.com/slaprobe/slaprobe/report"
)

// Timeline is the function timeline of a report: one lane per service and
// function over [From, To), the measured down and degraded windows of that
// function as bars, and the declared incidents that name it as dashed
// outlines over them. Down bars are solid and full height, degraded bars
// hatched and half height, so the two differ in more than colour.
//
// It is drawn from one layout as SVG (HTML report, status page), as vector
// graphics in the PDF, and as PNG:
//
//	tl := render.NewTimeline(rep, render.TimelineOptions{From: f, To: t, Services: []string{"messaging"}})
//	svg := tl.SVG() // template.HTML, safe to put in an html/template page
type Timeline struct {
	From, To time.Time
	Loc      *time.Location
	Lanes    []TimelineLane
}

// TimelineLane is one function of one service.
type TimelineLane struct {
	Service, Function string
	Bars              []TimelineBar
	Declared          []TimelineDeclared
	// Maintenance is the service's planned maintenance, clipped to the
	// timeline: drawn as a band behind the lane's bars, since the report
	// does not count a window inside it.
	Maintenance []TimelineMaintenance
}

// TimelineMaintenance is a planned maintenance window of the lane's
// service, clipped to the timeline.
type TimelineMaintenance struct {
	Start, End time.Time
	// MaintStart and MaintEnd are the window's own edges, which its tooltip
	// gives.
	MaintStart, MaintEnd time.Time
	Reason               string
}

// TimelineBar is a measured window, clipped to the timeline.
type TimelineBar struct {
	Kind       string // "down" or "degraded"
	Start, End time.Time
	// Open: the window had not ended (still open, or went on after the
	// period); End is where the data stops.
	Open        bool
	Flow, Cause string
	// WindowStart and WindowEnd are the window's own edges, which its
	// tooltip gives (Start and End are clipped to the timeline), and
	// StartCut and EndCut why an edge is not a measured one, which it says
	// as the windows table does.
	WindowStart, WindowEnd time.Time
	StartCut, EndCut       string
	// InMaintenance is how much of the window planned maintenance covered
	// (not counted), and Whole that it covered all of it; the tooltip says
	// so as the windows table does beside the duration.
	InMaintenance time.Duration
	Whole         bool
}

// TimelineDeclared is a declared incident naming the lane's function,
// clipped to the timeline.
type TimelineDeclared struct {
	ID, Title  string
	Start, End time.Time
	Ongoing    bool // no declared end: End is the timeline's end
	// DeclaredStart and DeclaredEnd are the declared times, which the
	// tooltip gives (Start and End are clipped to the timeline).
	DeclaredStart, DeclaredEnd time.Time
}

// TimelineOptions selects what NewTimeline draws.
type TimelineOptions struct {
	// From and To narrow the timeline (zero: the report's period).
	From, To time.Time
	// Services keeps these services only (nil: all, in report order).
	Services []string
}

// NewTimeline builds the timeline of r: a lane for every function of every
// service (the functions of its steps, in config order, then any other a
// window or declared incident names).
func NewTimeline(r *report.Report, o TimelineOptions) Timeline {
	loc, err := location(r.Timezone)
	if err != nil {
		loc = time.UTC
	}
	t := Timeline{From: r.From, To: r.To, Loc: loc}
	if !o.From.IsZero() {
		t.From = o.From
	}
	if !o.To.IsZero() {
		t.To = o.To
	}
	if !t.To.After(t.From) {
		t.To = t.From.Add(time.Hour)
	}
	// The end of the data: a window still open ends at the report's "now".
	dataEnd := minTime(r.To, maxTime(r.Generated, r.From))
	for _, s := range r.Services {
		if o.Services != nil && !slices.Contains(o.Services, s.Name) {
			continue
		}
		var fns []string
		add := func(fn string) {
			if fn != "" && !slices.Contains(fns, fn) {
				fns = append(fns, fn)
			}
		}
		for _, st := range s.Steps {
			add(st.Function)
		}
		for _, w := range s.Windows {
			if w.Function != nil {
				add(*w.Function)
			}
		}
		for _, rc := range s.Reconciliation {
			for _, fn := range rc.Functions {
				add(fn)
			}
		}
		for _, fn := range fns {
			lane := TimelineLane{Service: s.Name, Function: fn}
			for _, w := range s.Windows {
				if w.Function == nil || *w.Function != fn {
					continue
				}
				b := TimelineBar{Kind: w.Kind, Start: w.Start, Flow: w.Flow, Cause: w.CauseStep, StartCut: w.StartCut, EndCut: w.EndCut}
				switch {
				case w.End != nil:
					b.End = *w.End
				case w.EndCut == report.CutPeriod:
					b.End, b.Open = r.To, true
				default:
					b.End, b.Open = dataEnd, true
				}
				b.WindowStart, b.WindowEnd = b.Start, b.End
				b.InMaintenance = maintIn(b.WindowStart, b.WindowEnd, s.Maintenance)
				b.Whole = b.InMaintenance > 0 && b.InMaintenance >= b.WindowEnd.Sub(b.WindowStart)
				b.Start, b.End = maxTime(b.Start, t.From), minTime(b.End, t.To)
				if b.End.After(b.Start) {
					lane.Bars = append(lane.Bars, b)
				}
			}
			for _, rc := range s.Reconciliation {
				if !slices.Contains(rc.Functions, fn) {
					continue
				}
				d := TimelineDeclared{ID: rc.ID, Title: rc.Title, Start: rc.DeclaredStart, End: t.To, Ongoing: rc.DeclaredEnd == nil}
				if rc.DeclaredEnd != nil {
					d.End = *rc.DeclaredEnd
				}
				d.DeclaredStart, d.DeclaredEnd = d.Start, d.End
				d.Start, d.End = maxTime(d.Start, t.From), minTime(d.End, t.To)
				if d.End.After(d.Start) {
					lane.Declared = append(lane.Declared, d)
				}
			}
			for _, m := range s.Maintenance {
				tm := TimelineMaintenance{Start: maxTime(m.Start, t.From), End: minTime(m.End, t.To), MaintStart: m.Start, MaintEnd: m.End, Reason: m.Reason}
				if tm.End.After(tm.Start) {
					lane.Maintenance = append(lane.Maintenance, tm)
				}
			}
			t.Lanes = append(t.Lanes, lane)
		}
	}
	return t
}

// Active returns the stretch of the timeline with bars or declared
// incidents, and false when there is none.
func (t Timeline) Active() (from, to time.Time, ok bool) {
	for _, l := range t.Lanes {
		for _, b := range l.Bars {
			from, to, ok = widen(from, to, ok, b.Start, b.End)
		}
		for _, d := range l.Declared {
			from, to, ok = widen(from, to, ok, d.Start, d.End)
		}
	}
	return from, to, ok
}

func widen(from, to time.Time, ok bool, s, e time.Time) (time.Time, time.Time, bool) {
	if !ok {
		return s, e, true
	}
	return minTime(from, s), maxTime(to, e), true
}

// CloseUp returns the timeline narrowed to its active stretch with a margin,
// aligned to whole local days (whole hours for less than a day), and false
// when the activity already covers most of it (or there is none).
func (t Timeline) CloseUp(r *report.Report) (Timeline, bool) {
	from, to, ok := t.Active()
	period := t.To.Sub(t.From)
	if !ok || to.Sub(from) > period*2/5 {
		return Timeline{}, false
	}
	pad := max(to.Sub(from)/10, 30*time.Minute)
	from, to = maxTime(from.Add(-pad), t.From), minTime(to.Add(pad), t.To)
	if to.Sub(from) >= 24*time.Hour {
		from = maxTime(report.DayStart(from.In(t.Loc).Year(), from.In(t.Loc).Month(), from.In(t.Loc).Day(), t.Loc), t.From)
		if e := to.In(t.Loc); !to.Equal(report.DayStart(e.Year(), e.Month(), e.Day(), t.Loc)) {
			to = minTime(report.DayStart(e.Year(), e.Month(), e.Day()+1, t.Loc), t.To)
		}
	} else {
		from = maxTime(hourStart(from, t.Loc), t.From)
		if tt := hourStart(to, t.Loc); !tt.Equal(to) {
			// The next local hour's first instant: an hour and a half on
			// lands in it whatever the clocks do (a 30- or 60-minute jump).
			to = minTime(hourStart(tt.Add(90*time.Minute), t.Loc), t.To)
		}
	}
	if to.Sub(from) > period*3/5 {
		return Timeline{}, false
	}
	names := map[string]bool{}
	for _, l := range t.Lanes {
		names[l.Service] = true
	}
	var svcs []string
	for _, s := range r.Services {
		if names[s.Name] {
			svcs = append(svcs, s.Name)
		}
	}
	return NewTimeline(r, TimelineOptions{From: from, To: to, Services: svcs}), true
}

// Layout, in units of a 1000-wide canvas.
const (
	tlWidth    = 1000.0
	tlLabelW   = 140.0 // the label column
	tlPlotX    = 150.0
	tlPlotEnd  = tlWidth - 16
	tlLegendH  = 26.0
	tlServiceH = 20.0
	tlLaneH    = 16.0
	tlAxisH    = 32.0
	tlFont     = 11.0
)

// Colours (RGB) of the timeline.
var (
	tlInk      = color.RGBA{29, 39, 51, 255}
	tlMuted    = color.RGBA{91, 103, 117, 255}
	tlGrid     = color.RGBA{222, 227, 233, 255}
	tlStripe   = color.RGBA{246, 248, 250, 255}
	tlDown     = color.RGBA{180, 35, 24, 255}
	tlDegraded = color.RGBA{181, 71, 8, 255}
	tlDegFill  = color.RGBA{254, 240, 199, 255}
	tlDeclared = color.RGBA{29, 39, 51, 255}
	tlMaint    = color.RGBA{214, 219, 226, 255}
)

// layout turns the timeline into shapes on a 1000-wide canvas and returns
// them with the canvas height.
func (t Timeline) layout(m *measurer) ([]shape, float64) {
	var out []shape
	text := func(x, y float64, s string, size float64, bold bool, c color.RGBA, anchor string) {
		out = append(out, shape{kind: shapeText, x: x, y: y, text: s, size: size, bold: bold, fill: c, anchor: anchor})
	}
	// Legend.
	lx := tlPlotX
	ly := 6.0
	out = append(out, shape{kind: shapeRect, x: lx, y: ly + 1, w: 22, h: 10, fill: tlDown})
	text(lx+28, ly+10, "down", tlFont, false, tlInk, "start")
	lx += 28 + m.width("down", tlFont) + 22
	out = append(out, shape{kind: shapeRect, x: lx, y: ly + 3.5, w: 22, h: 5, fill: tlDegFill, stroke: tlDegraded, width: 0.8, hatch: true})
	text(lx+28, ly+10, "degraded", tlFont, false, tlInk, "start")
	lx += 28 + m.width("degraded", tlFont) + 22
	out = append(out, shape{kind: shapeRect, x: lx, y: ly - 1, w: 22, h: 14, stroke: tlDeclared, width: 1.2, dash: []float64{3, 2}})
	text(lx+28, ly+10, "declared incident", tlFont, false, tlInk, "start")
	if slices.ContainsFunc(t.Lanes, func(l TimelineLane) bool { return len(l.Maintenance) > 0 }) {
		lx += 28 + m.width("declared incident", tlFont) + 22
		out = append(out, shape{kind: shapeRect, x: lx, y: ly - 1, w: 22, h: 14, fill: tlMaint})
		text(lx+28, ly+10, "planned maintenance (not counted)", tlFont, false, tlInk, "start")
	}

	ticks := t.ticks()
	top := tlLegendH
	y := top
	x := func(at time.Time) float64 {
		f := float64(at.Sub(t.From)) / float64(t.To.Sub(t.From))
		return tlPlotX + math.Max(0, math.Min(1, f))*(tlPlotEnd-tlPlotX)
	}
	svc := ""
	odd := false
	for _, l := range t.Lanes {
		if l.Service != svc {
			svc = l.Service
			text(4, y+14.5, m.clip(l.Service, tlFont+1, tlLabelW-8), tlFont+1, true, tlInk, "start")
			out = append(out, shape{kind: shapeLine, x: tlPlotX, y: y + tlServiceH - 2, w: tlPlotEnd - tlPlotX, stroke: tlGrid, width: 1})
			y += tlServiceH
		}
		if odd {
			out = append(out, shape{kind: shapeRect, x: 0, y: y, w: tlPlotEnd, h: tlLaneH, fill: tlStripe})
		}
		odd = !odd
		text(14, y+12, m.clip(l.Function, tlFont, tlLabelW-18), tlFont, false, tlInk, "start")
		mid := y + tlLaneH/2
		for _, mt := range l.Maintenance {
			x0, x1 := x(mt.Start), x(mt.End)
			title := l.Service + ": planned maintenance " + tlStamp(mt.MaintStart, t.Loc) + " to " + tlStamp(mt.MaintEnd, t.Loc)
			if mt.Reason != "" {
				title += ", " + mt.Reason
			}
			out = append(out, shape{kind: shapeRect, x: x0, y: y, w: math.Max(x1-x0, 1.5), h: tlLaneH, fill: tlMaint, title: title})
		}
		for _, b := range l.Bars {
			x0, x1 := x(b.Start), x(b.End)
			if x1-x0 < 1.5 {
				x1 = x0 + 1.5
			}
			title := l.Service + " / " + l.Function + ": " + b.Kind + " " + tlStamp(orTime(b.WindowStart, b.Start), t.Loc)
			switch b.StartCut {
			case report.CutPeriod:
				title += " (began before the period)"
			case report.CutNoData:
				title += " (no data before)"
			}
			title += " to " + tlStamp(orTime(b.WindowEnd, b.End), t.Loc)
			switch {
			case b.Open:
				title += " (not ended)"
			case b.EndCut == report.CutNoData:
				title += " (then no data)"
			}
			if b.Cause != "" {
				title += ", cause " + b.Cause
			}
			title += maintMark(b.InMaintenance, b.Whole)
			if b.Kind == "degraded" {
				out = append(out, shape{kind: shapeRect, x: x0, y: mid - 2.75, w: x1 - x0, h: 5.5, fill: tlDegFill, stroke: tlDegraded, width: 0.8, hatch: true, title: title})
			} else {
				out = append(out, shape{kind: shapeRect, x: x0, y: mid - 5, w: x1 - x0, h: 10, fill: tlDown, title: title})
			}
		}
		for _, d := range l.Declared {
			x0, x1 := x(d.Start), x(d.End)
			title := "declared " + d.ID
			if d.Title != "" {
				title += ": " + d.Title
			}
			title += ", " + tlStamp(orTime(d.DeclaredStart, d.Start), t.Loc) + " to "
			if d.Ongoing {
				title += "(ongoing)"
			} else {
				title += tlStamp(orTime(d.DeclaredEnd, d.End), t.Loc)
			}
			out = append(out, shape{kind: shapeRect, x: x0, y: y + 0.75, w: math.Max(x1-x0, 1.5), h: tlLaneH - 1.5, stroke: tlDeclared, width: 1.2, dash: []float64{3, 2}, title: title})
		}
		y += tlLaneH
	}
	if len(t.Lanes) == 0 {
		text(tlPlotX, y+13, "No services.", tlFont, false, tlMuted, "start")
		y += tlLaneH
	}
	// Grid lines and the axis.
	var grid []shape
	for _, tk := range ticks {
		grid = append(grid, shape{kind: shapeLine, x: x(tk.at), y: top, h: y - top, stroke: tlGrid, width: 0.8})
	}
	out = append(grid, out...) // under the bars
	out = append(out, shape{kind: shapeLine, x: tlPlotX, y: y, w: tlPlotEnd - tlPlotX, stroke: tlMuted, width: 1})
	for _, tk := range ticks {
		out = append(out, shape{kind: shapeLine, x: x(tk.at), y: y, h: 4, stroke: tlMuted, width: 1})
		text(x(tk.at), y+15, tk.label, tlFont-1, false, tlMuted, "middle")
	}
	text(tlPlotX, y+29, tlTime(t.From, t.Loc)+" to "+tlTime(t.To, t.Loc)+" ("+t.Loc.String()+")", tlFont-1, false, tlMuted, "start")
	return out, y + tlAxisH
}

type tick struct {
	at    time.Time
	label string
}

// ticks are axis marks at whole local hours or days (first instants of
// local dates, so a day with a clock change is as long as it really is).
func (t Timeline) ticks() []tick {
	span := t.To.Sub(t.From)
	var out []tick
	if span > 62*24*time.Hour {
		// A range of months (a quarter, a year) reads by its months:
		// marks at the first instant of every 1, 2, 3, 6 or 12 months,
		// on the calendar's (January, April, July, October a quarter),
		// at most 12, labelled with the year; four-week marks from the
		// first day (01-01, 01-29, 02-26) fell anywhere in them.
		f, l := t.From.In(t.Loc), t.To.Add(-1).In(t.Loc)
		months := (l.Year()-f.Year())*12 + int(l.Month()-f.Month()) + 1
		step := 12
		for _, s := range []int{1, 2, 3, 6, 12} {
			if months/s <= 12 {
				step = s
				break
			}
		}
		for i := 0; ; i++ {
			d := report.DayStart(f.Year(), f.Month()+time.Month(i), 1, t.Loc)
			if !d.Before(t.To) {
				break
			}
			if m := d.In(t.Loc); d.Before(t.From) || (int(m.Month())-1)%step != 0 {
				continue
			}
			out = append(out, tick{d, d.In(t.Loc).Format("2006-01")})
		}
		return out
	}
	if span > 4*24*time.Hour {
		step := 1
		for _, s := range []int{1, 2, 3, 7, 14, 28} {
			step = s
			if span/(time.Duration(s)*24*time.Hour) <= 12 {
				break
			}
		}
		f := t.From.In(t.Loc)
		for i := 0; ; i++ {
			d := report.DayStart(f.Year(), f.Month(), f.Day()+i, t.Loc)
			if !d.Before(t.To) {
				break
			}
			if d.Before(t.From) || i%step != 0 {
				continue
			}
			out = append(out, tick{d, d.In(t.Loc).Format("01-02")})
		}
		return out
	}
	// Up to four days: marks at a whole number of seconds, minutes or hours
	// of local wall-clock time from each local date's first instant (which
	// is marked with the date), skipping wall times the zone does not have
	// (a DST jump, e.g. Lord Howe's 02:00-02:30).
	step := 12 * time.Hour
	for _, s := range []time.Duration{10 * time.Second, 15 * time.Second, 30 * time.Second, time.Minute, 2 * time.Minute,
		5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour} {
		if span/s <= 12 {
			step = s
			break
		}
	}
	layout := "15:04"
	if step < time.Minute {
		layout = "15:04:05"
	}
	f := t.From.In(t.Loc)
	for day := 0; ; day++ {
		start := report.DayStart(f.Year(), f.Month(), f.Day()+day, t.Loc)
		if !start.Before(t.To) {
			break
		}
		next := report.DayStart(f.Year(), f.Month(), f.Day()+day+1, t.Loc)
		if !start.Before(t.From) {
			out = append(out, tick{start, start.In(t.Loc).Format("01-02")})
		}
		var day []tick
		for off := step; off < 24*time.Hour; off += step {
			ats := wallInstants(start, next, off, t.Loc)
			if len(ats) == 2 && ats[1].Sub(ats[0]) < step {
				// A wall time the clocks go back over by less than a step
				// (Berlin's 02:00 at 2-hour marks, repeated an hour later):
				// its second pass sat half a step from the first, and
				// with their zones ("02:00 CEST" "02:00 CET") the labels
				// overlapped. The first is kept; the next mark, after the
				// change, names the zone.
				ats = ats[:1]
			}
			for _, at := range ats {
				if !at.After(start) || !at.Before(next) || at.Before(t.From) || !at.Before(t.To) {
					continue
				}
				day = append(day, tick{at, at.In(t.Loc).Format(layout)})
			}
		}
		slices.SortFunc(day, func(a, b tick) int { return a.at.Compare(b.at) })
		out = append(out, day...)
	}
	zoneMarks(out, t.Loc)
	return out
}

// zoneMarks adds the zone to the labels that a clock change would leave
// ambiguous: the first tick after the change (01:00 EST, the second 01:00
// on the day New York's clocks go back; 03:00 EDT after 01:45 on the day
// they jump), and the first of the wall times the clocks go back over,
// before it (01:00 EDT), so that the axis no longer reads 01:00 01:30 01:00
// 01:30 with nothing to tell the passes apart. A date's mark (11-01) keeps
// its date alone.
func zoneMarks(ticks []tick, loc *time.Location) {
	for i := range ticks {
		at := ticks[i].at.In(loc)
		_, off := at.Zone()
		mark := false
		if i > 0 {
			_, prev := ticks[i-1].at.In(loc).Zone()
			mark = prev != off
		}
		if !mark && repeated(at, loc) && (i == 0 || !repeated(ticks[i-1].at, loc)) {
			mark = true
		}
		if mark && !report.DayStart(at.Year(), at.Month(), at.Day(), loc).Equal(at) { // a date mark stands out already
			ticks[i].label += " " + zoneName(at)
		}
	}
}

// zoneName is t's zone as a reader knows it: its abbreviation (EST), or its
// offset (+10:30) where the zone's abbreviations are numbers (Lord Howe's
// "+1030") or there is none.
func zoneName(t time.Time) string {
	name, _ := t.Zone()
	if name != "" && unicode.IsLetter(rune(name[0])) {
		return name
	}
	return t.Format("-07:00")
}

// wallInstants returns the instants whose wall clock in loc is off past
// midnight on the local date [start, next): none where the clocks jump over
// that time, two where they go back over it (01:30 on the day New York's
// clocks go back is 01:30 EDT and, an hour later, 01:30 EST).
func wallInstants(start, next time.Time, off time.Duration, loc *time.Location) []time.Time {
	ls := start.In(loc)
	wall := time.Date(ls.Year(), ls.Month(), ls.Day(), 0, 0, 0, 0, time.UTC).Add(off)
	var out []time.Time
	// The offsets in force that day: at its start and at its end.
	for _, ref := range []time.Time{start, next.Add(-time.Nanosecond)} {
		_, o := ref.In(loc).Zone()
		at := wall.Add(-time.Duration(o) * time.Second).In(loc)
		if _, got := at.Zone(); got == o && !slices.ContainsFunc(out, at.Equal) {
			out = append(out, at)
		}
	}
	return out
}

// hourStart is the first instant of t's local hour in loc: its wall clock
// with the minutes and seconds cleared (Truncate would clear them in UTC,
// which is not a whole local hour at +05:45 or -03:30), or the end of the
// clock change that began that hour (Lord Howe's 02:00 becomes 02:30).
func hourStart(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	_, off := t.Zone()
	d := time.Duration(off) * time.Second
	h := t.Add(d).Truncate(time.Hour).Add(-d)
	if start, _ := t.ZoneBounds(); !start.IsZero() && h.Before(start) {
		if _, before := start.Add(-time.Nanosecond).Zone(); before != off {
			h = start
		}
	}
	return h.In(loc)
}

// tlTime is a caption's time, to the minute, with its offset where the
// clocks go back over it (so 01:00 says which of the two it is).
func tlTime(t time.Time, loc *time.Location) string {
	t = t.In(loc)
	if repeated(t, loc) {
		return t.Format("2006-01-02 15:04 -07:00")
	}
	return t.Format("2006-01-02 15:04")
}

// repeated reports whether t's wall clock in loc occurs twice: the clocks go
// back over it within hours of t.
func repeated(t time.Time, loc *time.Location) bool {
	t = t.In(loc)
	_, before := t.Add(-3 * time.Hour).In(loc).Zone()
	_, after := t.Add(3 * time.Hour).In(loc).Zone()
	if before <= after {
		return false // no change, or the clocks go forward
	}
	d := time.Duration(before-after) * time.Second
	for _, u := range []time.Time{t.Add(d), t.Add(-d)} {
		if wallClock(u.In(loc)).Equal(wallClock(t)) {
			return true
		}
	}
	return false
}

// wallClock is t's date and time of day as the same fields in UTC.
func wallClock(t time.Time) time.Time {
	y, m, d := t.Date()
	h, mi, s := t.Clock()
	return time.Date(y, m, d, h, mi, s, t.Nanosecond(), time.UTC)
}

// tlStamp is a mark's time in its tooltip, as the tables give it: to the
// second and with its offset, which tells apart the two occurrences of a
// local time on the day the clocks go back.
func tlStamp(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("2006-01-02 15:04:05 -07:00")
}

// Height is the timeline's height on its 1000-wide canvas.
func (t Timeline) Height() float64 {
	_, h := t.layout(newMeasurer(nanumRegular))
	return h
}

// figure lays the timeline out with text measured in the given font.
func (t Timeline) figure(m *measurer) figure {
	shapes, h := t.layout(m)
	return figure{shapes: shapes, w: tlWidth, h: h}
}

// SVG draws the timeline as an inline SVG element (scales to its container's
// width). Every name and title in it is escaped.
func (t Timeline) SVG() template.HTML {
	var b bytes.Buffer
	_ = t.WriteSVG(&b)               // a bytes.Buffer does not fail
	return template.HTML(b.String()) //nolint:gosec // built here, all text escaped
}

// WriteSVG writes the timeline as an SVG element.
func (t Timeline) WriteSVG(w io.Writer) error {
	m := newMeasurer(nanumRegular)
	shapes, h := t.layout(m)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="timeline" viewBox="0 0 %s %s" width="100%%" role="img" aria-label="function timeline, %s to %s" style="font-family: %s">`,
		num(tlWidth), num(h), html.EscapeString(tlTime(t.From, t.Loc)), html.EscapeString(tlTime(t.To, t.Loc)), svgFonts)
	writeSVGShapes(&b, shapes)
	b.WriteString(`</svg>`)
	_, err := io.WriteString(w, b.String())
	return err
}

// PNG draws the timeline as a PNG widthPx wide; its height follows from the
// layout. Text is in the bundled NanumGothic.
func (t Timeline) PNG(widthPx int) ([]byte, error) {
	return t.png(widthPx, nanumRegular, nanumBold)
}

// png draws the timeline with the given TrueType fonts.
func (t Timeline) png(widthPx int, regularTTF, boldTTF []byte) ([]byte, error) {
	m := newMeasurer(regularTTF)
	shapes, h := t.layout(m)
	scale := float64(widthPx) / tlWidth
	img := image.NewRGBA(image.Rect(0, 0, widthPx, int(math.Ceil(h*scale))))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	gc, err := drawing.NewRasterGraphicContext(img)
	if err != nil {
		return nil, fmt.Errorf("render: timeline: %w", err)
	}
	gc.SetDPI(72)
	regular, err := truetype.Parse(regularTTF)
	if err != nil {
		return nil, fmt.Errorf("render: timeline font: %w", err)
	}
	bold, err := truetype.Parse(boldTTF)
	if err != nil {
		return nil, fmt.Errorf("render: timeline font: %w", err)
	}
	rect := func(x, y, w, h float64) {
		gc.MoveTo(x*scale, y*scale)
		gc.LineTo((x+w)*scale, y*scale)
		gc.LineTo((x+w)*scale, (y+h)*scale)
		gc.LineTo(x*scale, (y+h)*scale)
		gc.Close()
	}
	for _, s := range shapes {
		switch s.kind {
		case shapeRect:
			if s.fill.A != 0 {
				gc.SetFillColor(s.fill)
				rect(s.x, s.y, s.w, s.h)
				gc.Fill()
			}
			if s.hatch {
				gc.SetStrokeColor(s.stroke)
				gc.SetLineWidth(0.8 * scale)
				gc.SetLineDash(nil, 0)
				for _, l := range hatchLines(s.x, s.y, s.w, s.h, 3.5) {
					gc.MoveTo(l[0]*scale, l[1]*scale)
					gc.LineTo(l[2]*scale, l[3]*scale)
					gc.Stroke()
				}
			}
			if s.stroke.A != 0 {
				gc.SetStrokeColor(s.stroke)
				gc.SetLineWidth(s.width * scale)
				gc.SetLineDash(scaled(s.dash, scale), 0)
				rect(s.x, s.y, s.w, s.h)
				gc.Stroke()
			}
		case shapeLine:
			gc.SetStrokeColor(s.stroke)
			gc.SetLineWidth(s.width * scale)
			gc.SetLineDash(scaled(s.dash, scale), 0)
			gc.MoveTo(s.x*scale, s.y*scale)
			gc.LineTo((s.x+s.w)*scale, (s.y+s.h)*scale)
			gc.Stroke()
		case shapeText:
			f := regular
			if s.bold {
				f = bold
			}
			gc.SetFont(f)
			gc.SetFontSize(s.size * scale)
			gc.SetFillColor(s.fill)
			x := s.x
			switch s.anchor {
			case "middle":
				x -= m.width(s.text, s.size) / 2
			case "end":
				x -= m.width(s.text, s.size)
			}
			if _, err := gc.FillStringAt(s.text, x*scale, s.y*scale); err != nil {
				return nil, fmt.Errorf("render: timeline text: %w", err)
			}
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, fmt.Errorf("render: timeline png: %w", err)
	}
	return b.Bytes(), nil
}

func scaled(d []float64, s float64) []float64 {
	if len(d) == 0 {
		return nil
	}
	out := make([]float64, len(d))
	for i, v := range d {
		out[i] = v * s
	}
	return out
}

// measurer gives text widths in canvas units from the font's advances.
type measurer struct {
	f   *sfnt.Font
	buf sfnt.Buffer
}

func newMeasurer(ttf []byte) *measurer {
	f, err := sfnt.Parse(ttf)
	if err != nil {
		return &measurer{}
	}
	return &measurer{f: f}
}

// width of s at size (canvas units per em).
func (m *measurer) width(s string, size float64) float64 {
	if m.f == nil {
		return float64(len([]rune(s))) * size * 0.55
	}
	return ems(m.f, &m.buf, s) * size
}

// ems is the width of s in f, in ems, from the font's advance widths.
func ems(f *sfnt.Font, buf *sfnt.Buffer, s string) float64 {
	const ppem = 1000
	var adv fixed.Int26_6
	for _, r := range s {
		i, err := f.GlyphIndex(buf, r)
		if err != nil {
			continue
		}
		a, err := f.GlyphAdvance(buf, i, fixed.I(ppem), font.HintingNone)
		if err == nil {
			adv += a
		}
	}
	return float64(adv) / 64 / ppem
}

// clip shortens s to fit maxW, marking the cut with "...".
func (m *measurer) clip(s string, size, maxW float64) string {
	s = printable(s)
	if m.width(s, size) <= maxW {
		return s
	}
	rs := []rune(s)
	for n := len(rs) - 1; n > 0; n-- {
		c := string(rs[:n]) + "..."
		if m.width(c, size) <= maxW {
			return c
		}
	}
	return "..."
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// orTime is t, or def when t is zero (a mark built without its own times).
func orTime(t, def time.Time) time.Time {
	if t.IsZero() {
		return def
	}
	return t
}
