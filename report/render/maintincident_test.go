package render

import (
	"strings"
	"testing"
)

// TestIncidentCutByMaintenance: an incident whose start (end) is where
// planned maintenance cut it says so in the Incidents table of every human
// format, as one cut by the period does: login down 03:30-04:30 through a
// 02:00-04:00 upgrade is counted from 04:00, and the table read "04:00:00"
// beside a window table and a reconciliation that say 03:30, with nothing
// to say why.
func TestIncidentCutByMaintenance(t *testing.T) {
	r := auditReport(t, `, "availability": 0.999, "credit_percent": 0, "incidents": 2,
	  "maintenance": [{"start": "2026-03-20T02:00:00Z", "end": "2026-03-20T04:00:00Z", "duration_seconds": 7200, "reason": "upgrade"},
	                  {"start": "2026-03-21T02:00:00Z", "end": "2026-03-21T04:00:00Z", "duration_seconds": 7200, "reason": "upgrade"}],
	  "incident_list": [
	    {"start": "2026-03-20T04:00:00Z", "end": "2026-03-20T04:30:09Z", "duration_seconds": 1809, "functions": ["login"], "parts": 1},
	    {"start": "2026-03-21T01:50:00Z", "end": "2026-03-21T02:00:00Z", "duration_seconds": 600, "functions": ["login"], "parts": 1}]`)
	r.Services[0].IncidentList[0].StartMaintenance = true
	r.Services[0].IncidentList[1].EndMaintenance = true
	for format, out := range humanText(t, r) {
		for _, want := range []string{
			"2026-03-20 04:00:00 +00:00 (after planned maintenance)",
			"2026-03-21 02:00:00 +00:00 (then planned maintenance)",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: %q not in the report", format, want)
			}
		}
		if n := strings.Count(out, "planned maintenance)"); n != 2 {
			t.Errorf("%s: %d cells marked, want 2", format, n)
		}
	}
}
