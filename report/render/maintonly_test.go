package render

import (
	"bytes"
	"html"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/report"
)

// TestMaintenanceOnlyReadsPlannedMaintenance: a service, flow or day whose
// period was all planned maintenance (maintenance_only: no availability,
// not no data) reads "planned maintenance" in the Summary, the headline,
// the facts, the Flows table and the Markdown's daily table, never "no
// data": an auditor reads the time as excluded from the SLA, not missing.
func TestMaintenanceOnlyReadsPlannedMaintenance(t *testing.T) {
	r := fixture()
	s := &r.Services[1]
	s.Availability, s.NoData, s.MaintenanceOnly, s.CreditPercent = nil, false, true, nil
	for i := range s.Flows {
		s.Flows[i].Availability, s.Flows[i].NoData, s.Flows[i].MaintenanceOnly = nil, false, true
	}
	for i := range s.Daily {
		s.Daily[i].Availability, s.Daily[i].MaintenanceOnly = nil, true
	}
	name := s.Name
	wants := map[string][]string{
		"markdown": {
			"| " + name + " | planned maintenance | 99.5% | planned maintenance |",
			"not measured: the period was planned maintenance, excluded from the SLA (objective 99.5%)",
			"| Availability | planned maintenance |",
			"| 2021-05-01 | planned maintenance |",
			"| SLA credit | - (planned maintenance throughout: no availability to judge) |",
		},
		"html": {
			"not measured: the period was planned maintenance, excluded from the SLA (objective 99.5%)",
			"planned maintenance throughout: no availability to judge",
		},
	}
	for fmtName, f := range map[string]func(*bytes.Buffer, *report.Report) error{
		"markdown": func(b *bytes.Buffer, r *report.Report) error { return Markdown(b, r) },
		"html":     func(b *bytes.Buffer, r *report.Report) error { return HTML(b, r) },
	} {
		var b bytes.Buffer
		if err := f(&b, r); err != nil {
			t.Fatal(err)
		}
		out := html.UnescapeString(b.String())
		sec := out[strings.LastIndex(out, name):]
		for _, w := range wants[fmtName] {
			if !strings.Contains(out, w) {
				t.Errorf("%s lacks %q", fmtName, w)
			}
		}
		if i := strings.Index(sec, "no data"); i >= 0 && fmtName == "markdown" {
			t.Errorf("%s says no data of %s: %q", fmtName, name, sec[max(0, i-100):i+20])
		}
	}
}

// TestChartGapsSayPlannedMaintenance: the daily chart's caption (HTML, PDF)
// says a gap is a day all in planned maintenance when one is, as the
// Markdown's daily table says "planned maintenance" of it. Before, every
// gap was "days without data": a 03:00-next-day upgrade covering 2021-05-02
// whole read as a day with no data under the chart of a report whose
// tables say it was excluded from the SLA.
func TestChartGapsSayPlannedMaintenance(t *testing.T) {
	for _, tc := range []struct {
		name        string
		maint, none bool
		want        string
	}{
		{"none", false, false, "gaps are days without data"},
		{"a day without data", false, true, "gaps are days without data"},
		{"a day all maintenance", true, false, "gaps are days all in planned maintenance"},
		{"both", true, true, "gaps are days without data or all in planned maintenance"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := fixture()
			s := &r.Services[0]
			for i := range s.Daily { // every day measured, but those below
				v := 0.9995
				s.Daily[i].Availability, s.Daily[i].MaintenanceOnly = &v, false
			}
			if tc.maint {
				s.Daily[1].Availability, s.Daily[1].MaintenanceOnly = nil, true
			}
			if tc.none {
				s.Daily[2].Availability = nil
			}
			var b bytes.Buffer
			if err := HTML(&b, r); err != nil {
				t.Fatal(err)
			}
			out := html.UnescapeString(b.String())
			i := strings.Index(out, "<figcaption>Daily availability")
			if i < 0 {
				t.Fatal("no daily chart")
			}
			if got := out[i:]; !strings.HasPrefix(got, "<figcaption>Daily availability (blue; "+tc.want+")") {
				t.Errorf("caption %q, want %q", got[:min(len(got), 120)], tc.want)
			}
			if got := newServiceView(*s, time.UTC, false, false, 0).Gaps; got != tc.want {
				t.Errorf("the PDF's caption says %q, want %q", got, tc.want)
			}
		})
	}
}
