package render

import (
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/report"
)

// TestTimelineTicksMonths: a range of months is marked at the first
// instant of its months (every month up to a year, then every 2, 3, 6 or
// 12 on the calendar's), labelled with the year: a year's function
// timeline was marked every four weeks from its first day (01-01, 01-29,
// 02-26, ...), marks that fell anywhere in the months (today's black box).
func TestTimelineTicksMonths(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	day := func(y int, m time.Month, d int) time.Time { return report.DayStart(y, m, d, ny) }
	for _, tc := range []struct {
		name     string
		from, to time.Time
		want     string
	}{
		{"a year", day(2026, 1, 1), day(2027, 1, 1),
			"2026-01 2026-02 2026-03 2026-04 2026-05 2026-06 2026-07 2026-08 2026-09 2026-10 2026-11 2026-12"},
		{"from the middle of a month", day(2026, 1, 15), day(2026, 12, 20),
			"2026-02 2026-03 2026-04 2026-05 2026-06 2026-07 2026-08 2026-09 2026-10 2026-11 2026-12"},
		{"a quarter and a half", day(2026, 1, 1), day(2026, 4, 15), "2026-01 2026-02 2026-03 2026-04"},
		{"two years", day(2025, 1, 1), day(2027, 1, 1),
			"2025-01 2025-03 2025-05 2025-07 2025-09 2025-11 2026-01 2026-03 2026-05 2026-07 2026-09 2026-11"},
		{"three years, by quarters", day(2024, 2, 1), day(2027, 2, 1),
			"2024-04 2024-07 2024-10 2025-01 2025-04 2025-07 2025-10 2026-01 2026-04 2026-07 2026-10 2027-01"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tl := Timeline{From: tc.from, To: tc.to, Loc: ny}
			var got []string
			for _, tk := range tl.ticks() {
				if l := tk.at.In(ny); l.Day() != 1 || l.Hour() != 0 || l.Minute() != 0 {
					t.Errorf("tick %s is not a month's first instant", l)
				}
				got = append(got, tk.label)
			}
			if s := strings.Join(got, " "); s != tc.want {
				t.Errorf("ticks %s\nwant  %s", s, tc.want)
			}
		})
	}
}
