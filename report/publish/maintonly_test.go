package publish

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/slaprobe/slaprobe/report"
)

// TestSummaryMaintenanceOnly: a month all planned maintenance reads
// "planned maintenance" in the delivered summary, as in the report
// (maintenance_only, no_data false), not "no data".
func TestSummaryMaintenanceOnly(t *testing.T) {
	r := &report.Report{Title: "SLA report 2026-11", Services: []report.Service{
		{Name: "payments", Objective: 0.999, MaintenanceOnly: true, MaintenanceSeconds: 30 * 86400},
		{Name: "maps", Objective: 0.99, NoData: true},
	}}
	s := summaryOf(r)
	if p := s.Services[0]; p.NoData || !p.MaintenanceOnly || p.Availability != nil {
		t.Errorf("payments: no_data %v, maintenance_only %v, availability %v; want false, true, null", p.NoData, p.MaintenanceOnly, p.Availability)
	}
	if text := s.Text(); !strings.Contains(text, "- payments: planned maintenance\n") || !strings.Contains(text, "- maps: no data\n") {
		t.Errorf("summary text:\n%s", text)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(b), `"maintenance_only":true`) != 1 || strings.Contains(string(b), `"maintenance_only":false`) {
		t.Errorf("summary JSON: %s", b)
	}
}
