package render

import (
	"strings"
	"testing"
)

// TestReconciliationInMaintenance: a declared incident whose measured
// windows planned maintenance covered says so in its Detected cell, in
// every human format, as the windows table says beside their duration:
// payments' send failing 02:00:55-03:00:05 inside a 01:00-05:00 ledger
// migration (session 25's New York year) read "yes" with its deltas beside
// a Summary of 0s downtime, with nothing to say why. One partly inside says
// how much; one outside is a plain "yes".
func TestReconciliationInMaintenance(t *testing.T) {
	win := func(start, end string) string {
		return `{"service": "payments", "flow": "transfer", "function": "send", "kind": "down", "start": "` + start + `", "end": "` + end + `", "duration_seconds": 0, "cause_step": "send", "locations": ["nyc-a"]}`
	}
	rec := func(id, start, end string) string {
		return `{"id": "` + id + `", "functions": ["send"], "declared_start": "` + start + `", "declared_end": "` + end + `",
		  "measured_start": "` + start + `", "measured_end": "` + end + `", "start_delta_seconds": 0, "end_delta_seconds": 0, "detected": true,
		  "windows": [` + win(start, end) + `]}`
	}
	r := auditReport(t, `, "availability": 1, "credit_percent": 0,
	  "maintenance": [{"start": "2026-03-12T05:00:00Z", "end": "2026-03-12T09:00:00Z", "duration_seconds": 14400, "reason": "ledger migration"}],
	  "reconciliation": [`+rec("inside", "2026-03-12T06:00:55Z", "2026-03-12T07:00:05Z")+`,
	    `+rec("partly", "2026-03-12T08:30:00Z", "2026-03-12T09:10:00Z")+`,
	    `+rec("outside", "2026-03-14T08:30:00Z", "2026-03-14T09:10:00Z")+`]`)
	for format, out := range humanText(t, r) {
		for _, want := range []string{"yes (in planned maintenance, not counted)", "yes (30m in planned maintenance, not counted)"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: %q not in the reconciliation", format, want)
			}
		}
		if n := strings.Count(out, "yes (") + 0; n != 2 {
			t.Errorf("%s: %d Detected cells marked, want 2 (not the one outside)", format, n)
		}
	}
}

// TestReconciliationInMaintenanceWindowByWindow: the part of a declared
// incident's measured windows in planned maintenance is taken over the
// time the windows cover, not from the first's start to the last's end
// (maintenance between two windows is not theirs: 04:00-05:10 and
// 08:50-09:20 around 05:00-09:00 have 20m in it, not 4h), and two
// functions' windows at once count once (30m, not 1h).
func TestReconciliationInMaintenanceWindowByWindow(t *testing.T) {
	win := func(fn, start, end string) string {
		return `{"service": "payments", "flow": "transfer", "function": "` + fn + `", "kind": "down", "start": "` + start + `", "end": "` + end + `", "duration_seconds": 0, "cause_step": "send", "locations": ["nyc-a"]}`
	}
	rec := func(id string, ws ...string) string {
		return `{"id": "` + id + `", "functions": ["send", "receive"], "declared_start": "2026-03-12T04:00:00Z", "declared_end": "2026-03-12T09:20:00Z",
		  "measured_start": "2026-03-12T04:00:00Z", "measured_end": "2026-03-12T09:20:00Z", "start_delta_seconds": 0, "end_delta_seconds": 0, "detected": true,
		  "windows": [` + strings.Join(ws, ", ") + `]}`
	}
	for _, tc := range []struct {
		name, rec, want string
	}{
		{"maintenance between two windows", rec("gapped", win("send", "2026-03-12T04:00:00Z", "2026-03-12T05:10:00Z"), win("send", "2026-03-12T08:50:00Z", "2026-03-12T09:20:00Z")),
			"yes (20m in planned maintenance, not counted)"},
		{"two functions at once", rec("both", win("send", "2026-03-12T08:30:00Z", "2026-03-12T09:10:00Z"), win("receive", "2026-03-12T08:30:00Z", "2026-03-12T09:10:00Z")),
			"yes (30m in planned maintenance, not counted)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := auditReport(t, `, "availability": 1, "credit_percent": 0,
			  "maintenance": [{"start": "2026-03-12T05:00:00Z", "end": "2026-03-12T09:00:00Z", "duration_seconds": 14400, "reason": "ledger migration"}],
			  "reconciliation": [`+tc.rec+`]`)
			for format, out := range humanText(t, r) {
				if !strings.Contains(out, tc.want) {
					i := strings.Index(out, "yes (")
					t.Errorf("%s: %q not in the reconciliation (%.60q)", format, tc.want, out[max(i, 0):])
				}
			}
		})
	}
}
