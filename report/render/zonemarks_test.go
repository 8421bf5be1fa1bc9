package render

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/report"
)

// TestTimelineZoneMarksApart: a one-day close-up of a day the clocks go
// back, whose repeated wall time is one of its marks, keeps the first
// pass's mark alone when the second would come less than a step after it:
// at 2-hour marks Berlin's 2026-10-25 read "02:00 CEST" and, an hour later
// (34 units of 1000), "02:00 CET", the two labels overlapping by 17.4
// units; now 02:00 CEST, then 04:00 CET. Sydney's 2026-04-05 (21.6 over)
// and Casablanca's 2026-02-15 ("02:00 +01:00" "02:00 +00:00", 30.5) alike;
// a repeat as long as the step (New York's hour at 30-minute marks,
// TestTimelineTicksRepeatedHour) keeps both passes.
func TestTimelineZoneMarksApart(t *testing.T) {
	for _, tc := range []struct {
		zone  string
		mo    time.Month
		d     int
		marks string // the labels from the first after the date
	}{
		{"Europe/Berlin", time.October, 25, "02:00 CEST 04:00 CET 06:00"},
		{"Australia/Sydney", time.April, 5, "02:00 AEDT 04:00 AEST 06:00"},
		{"Africa/Casablanca", time.February, 15, "02:00 +01:00 04:00 +00:00 06:00"},
	} {
		t.Run(tc.zone, func(t *testing.T) {
			if g := labelGaps(t, tc.zone, 2026, tc.mo, tc.d); g != "" {
				t.Error(g)
			}
			loc, err := time.LoadLocation(tc.zone)
			if err != nil {
				t.Fatal(err)
			}
			tl := Timeline{From: report.DayStart(2026, tc.mo, tc.d, loc), To: report.DayStart(2026, tc.mo, tc.d+1, loc), Loc: loc}
			var got []string
			for _, tk := range tl.ticks()[1:4] {
				got = append(got, tk.label)
			}
			if g := strings.Join(got, " "); g != tc.marks {
				t.Errorf("marks %q, want %q", g, tc.marks)
			}
		})
	}
}

// labelGaps is where the axis labels of the one-day close-up of y-mo-d in
// zone come closer than 2 units of the 1000-wide canvas (their widths in
// the bundled font, centred on their marks), or "".
func labelGaps(t *testing.T, zone string, y int, mo time.Month, d int) string {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	m := newMeasurer(nanumRegular)
	tl := Timeline{From: report.DayStart(y, mo, d, loc), To: report.DayStart(y, mo, d+1, loc), Loc: loc}
	span := tl.To.Sub(tl.From)
	x := func(at time.Time) float64 {
		return tlPlotX + float64(at.Sub(tl.From))/float64(span)*(tlPlotEnd-tlPlotX)
	}
	var bad []string
	tk := tl.ticks()
	for i := 1; i < len(tk); i++ {
		gap := x(tk[i].at) - x(tk[i-1].at) - (m.width(tk[i].label, tlFont-1)+m.width(tk[i-1].label, tlFont-1))/2
		if gap < 2 {
			bad = append(bad, fmt.Sprintf("%s %d-%02d-%02d: labels %q and %q %.1f units apart", zone, y, mo, d, tk[i-1].label, tk[i].label, gap))
		}
	}
	return strings.Join(bad, "; ")
}
