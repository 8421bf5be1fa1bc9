package render

import (
	"strings"
	"testing"

	"github.com/slaprobe/slaprobe/report"
)

// TestTimelineMarksMaintenance: a window measured inside planned maintenance
// is drawn on the function timeline with the maintenance behind it, a band
// the legend names, and its tooltip says it was not counted, as the windows
// table says beside its duration. Without it the timeline of a month whose
// summary reads 100% and no downtime showed a solid "measured down" bar of
// 39 minutes (session 25's New York year: messaging's login failing
// 01:40 EDT-01:20 EST on 2026-11-01, all of it in a maintenance window),
// and the PDF, which has no tooltips, said nothing else.
func TestTimelineMarksMaintenance(t *testing.T) {
	for _, tc := range []struct {
		name       string
		start, end string
		barTitle   string // what the login bar's tooltip must hold
	}{
		{"window wholly inside", "2021-05-05 09:00:00", "2021-05-05 15:00:00", "cause login (in planned maintenance, not counted)"},
		{"window partly inside", "2021-05-05 12:00:00", "2021-05-05 15:00:00", "cause login (2h in planned maintenance, not counted)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := timelineReport()
			s := at(tc.start)
			e := at(tc.end)
			r.Services[0].Maintenance = []report.Span{{Start: s, End: e, DurationSeconds: e.Sub(s).Seconds(), Reason: "database upgrade"}}
			shapes, _ := NewTimeline(r, TimelineOptions{}).layout(newMeasurer(nanumRegular))
			var legend, band, bar bool
			var bars []string
			for _, sh := range shapes {
				switch {
				case sh.kind == shapeText && sh.text == "planned maintenance (not counted)":
					legend = true
				case sh.kind == shapeRect && strings.HasPrefix(sh.title, "messaging: planned maintenance "):
					band = true
					if !strings.Contains(sh.title, "database upgrade") {
						t.Errorf("band title %q does not give the reason", sh.title)
					}
				case sh.kind == shapeRect && strings.HasPrefix(sh.title, "messaging / login: down"):
					bars = append(bars, sh.title)
					bar = bar || strings.HasSuffix(sh.title, tc.barTitle)
				}
			}
			if !legend {
				t.Errorf("no legend entry for planned maintenance")
			}
			if !band {
				t.Errorf("no maintenance band on messaging's lanes")
			}
			if !bar {
				t.Errorf("login bar titles %q: none ends %q", bars, tc.barTitle)
			}
			// payments had no maintenance: no band on its lanes.
			for _, sh := range shapes {
				if strings.HasPrefix(sh.title, "payments: planned maintenance") {
					t.Errorf("payments has a maintenance band: %q", sh.title)
				}
			}
		})
	}
	// A report without maintenance keeps its legend as it was.
	shapes, _ := NewTimeline(timelineReport(), TimelineOptions{}).layout(newMeasurer(nanumRegular))
	for _, sh := range shapes {
		if sh.kind == shapeText && strings.Contains(sh.text, "maintenance") {
			t.Errorf("legend names maintenance without any: %q", sh.text)
		}
	}
}
