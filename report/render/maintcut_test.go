package render

import (
	"strings"
	"testing"
)

// TestIncidentCutByMaintenanceAndPeriodOrData: an incident edge that
// planned maintenance cut is said to be the maintenance's in every human
// format, also when the outage was cut by the period or by missing data
// beyond the maintenance. Report.Build gives such incidents (period
// 2026-03-01 00:00 - 04-01 00:00): chat down from Feb 28 through a
// maintenance to 00:30 on Mar 1 is counted from 00:30 with start_cut
// "period", and the table read "2026-03-01 00:30:00 (began before the
// period)" where the period begins at 00:00; one down from 23:20 on Mar 31
// into a maintenance from 23:30 read "went on after the period" beside a
// duration of 10 minutes, with nothing to say the count stopped at 23:30.
// A prober stopped inside a maintenance its outage ran into read "02:00:00
// (then no data)", its data going on to 03:00; one started inside a
// maintenance read "04:00:00 (no data before)" where it had run since
// 03:00.
func TestIncidentCutByMaintenanceAndPeriodOrData(t *testing.T) {
	r := auditReport(t, `, "availability": 0.999, "credit_percent": 0, "incidents": 4,
	  "maintenance": [{"start": "2026-03-01T00:00:00Z", "end": "2026-03-01T00:30:00Z", "duration_seconds": 1800, "reason": "upgrade"},
	                  {"start": "2026-03-10T02:00:00Z", "end": "2026-03-10T04:00:00Z", "duration_seconds": 7200, "reason": "upgrade"},
	                  {"start": "2026-03-31T23:30:00Z", "end": "2026-04-01T00:00:00Z", "duration_seconds": 1800, "reason": "upgrade"}],
	  "incident_list": [
	    {"start": "2026-03-01T00:30:00Z", "end": "2026-03-01T00:40:00Z", "start_cut": "period", "duration_seconds": 600, "functions": ["send"], "parts": 1},
	    {"start": "2026-03-10T01:50:00Z", "end": "2026-03-10T02:00:00Z", "end_cut": "no_data", "duration_seconds": 600, "functions": ["send"], "parts": 1},
	    {"start": "2026-03-10T04:00:00Z", "end": "2026-03-10T04:10:00Z", "start_cut": "no_data", "duration_seconds": 600, "functions": ["send"], "parts": 1},
	    {"start": "2026-03-31T23:20:00Z", "end": null, "end_cut": "period", "duration_seconds": 600, "functions": ["send"], "parts": 1}]`)
	in := r.Services[0].IncidentList
	in[0].StartMaintenance, in[1].EndMaintenance, in[2].StartMaintenance, in[3].EndMaintenance = true, true, true, true
	for format, out := range humanText(t, r) {
		for _, want := range []string{
			"2026-03-01 00:30:00 +00:00 (after planned maintenance; began before the period)",
			"2026-03-10 02:00:00 +00:00 (then planned maintenance)",
			"2026-03-10 04:00:00 +00:00 (after planned maintenance)",
			"2026-03-31 23:30:00 +00:00 (then planned maintenance; went on after the period)",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: %q not in the report", format, want)
			}
		}
		for _, not := range []string{"00:30:00 +00:00 (began before the period)", "(then no data)", "(no data before)"} {
			if strings.Contains(out, not) {
				t.Errorf("%s: %q in the report", format, not)
			}
		}
	}
}
