package render

import (
	"bytes"
	"html"
	"strings"
	"testing"

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
