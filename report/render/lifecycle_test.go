package render

import (
	"strings"
	"testing"
)

// TestLifecycleReconciliationNoData: a declared incident not detected
// because no run covered its time (start_cut and end_cut "no_data") says
// so in the human formats; a plain "no" read as if the prober had watched
// the function pass while the provider declared it down. An incident not
// detected while the prober ran stays a plain "no".
func TestLifecycleReconciliationNoData(t *testing.T) {
	rec := func(cuts string) string {
		return `, "availability": 1, "credit_percent": 0, "reconciliation": [
	  {"id": "inc-1", "title": "Login failed", "timeline": "declared", "functions": ["login"],
	   "declared_start": "2026-03-10T10:00:00Z", "declared_end": "2026-03-10T11:00:00Z",
	   "measured_start": null, "measured_end": null, "detected": false` + cuts + `, "windows": []}
	]`
	}
	tests := []struct {
		name      string
		cuts      string
		want, not []string
	}{
		{"no data", `, "start_cut": "no_data", "end_cut": "no_data"`, []string{"no (no data)", "- (no data)"}, []string{"no data before", "then no data"}},
		{"seen passing", ``, nil, []string{"no (no data)", "- (no data)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for format, out := range humanText(t, auditReport(t, rec(tc.cuts))) {
				i := strings.LastIndex(out, "inc-1")
				if i < 0 {
					t.Fatalf("%s: no reconciliation row", format)
				}
				row := out[i:min(len(out), i+600)]
				for _, w := range tc.want {
					if !strings.Contains(row, w) {
						t.Errorf("%s: %q not in %q", format, w, row)
					}
				}
				for _, w := range tc.not {
					if strings.Contains(row, w) {
						t.Errorf("%s: %q in %q", format, w, row)
					}
				}
			}
		})
	}
}

// TestReconciliationBelowQuorum: a declared incident that only locations
// below the quorum saw is not detected, and its row says what was seen and
// from where ("no (below quorum: seen from seoul-c)"), not a bare "no".
func TestReconciliationBelowQuorum(t *testing.T) {
	rec := func(below, edges string) string {
		return `, "availability": 1, "credit_percent": 0, "reconciliation": [
	  {"id": "inc-1", "title": "Receive failed", "timeline": "declared", "functions": ["receive"],
	   "declared_start": "2026-03-10T10:00:00Z", "declared_end": "2026-03-10T11:00:00Z",
	   "measured_start": null, "measured_end": null, "detected": false, "windows": [], "below_quorum": [` + below + `]` + edges + `}
	]`
	}
	win := func(loc string) string {
		return `{"service": "messaging", "flow": "chat", "function": "receive", "kind": "down", "start": "2026-03-10T10:01:00Z",
		  "end": "2026-03-10T10:59:00Z", "duration_seconds": 3480, "cause_step": "receive", "locations": ["` + loc + `"], "error": "x"}`
	}
	// The edges Build gives the windows above, declared 10:00-11:00.
	edges := `, "below_quorum_start": "2026-03-10T10:01:00Z", "below_quorum_end": "2026-03-10T10:59:00Z",
	  "below_quorum_start_delta_seconds": 60, "below_quorum_end_delta_seconds": -60`
	tests := []struct {
		name         string
		below, edges string
		want, not    []string
	}{
		{"one location", win("seoul-c"), edges, []string{"no (below quorum: seen from seoul-c)", "2026-03-10 10:01:00 +00:00 (below quorum)", "2026-03-10 10:59:00 +00:00 (below quorum)", "+1m (below quorum)", "-1m (below quorum)"}, nil},
		{"two windows", win("seoul-c") + "," + win("seoul-b"), edges, []string{"no (below quorum: seen from seoul-b, seoul-c)"}, nil},
		{"end not seen", win("seoul-c"), `, "below_quorum_start": "2026-03-10T10:01:00Z", "below_quorum_start_delta_seconds": 60, "below_quorum_end_cut": "no_data"`,
			[]string{"2026-03-10 10:01:00 +00:00 (below quorum)", "- (then no data)"}, []string{"10:59:00 +00:00 (below quorum)"}},
		{"none", ``, ``, nil, []string{"below quorum"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for format, out := range humanText(t, auditReport(t, rec(tc.below, tc.edges))) {
				i := strings.LastIndex(out, "inc-1")
				if i < 0 {
					t.Fatalf("%s: no reconciliation row", format)
				}
				row := out[i:min(len(out), i+600)]
				for _, w := range tc.want {
					if !strings.Contains(row, w) {
						t.Errorf("%s: %q not in %q", format, w, row)
					}
				}
				for _, w := range tc.not {
					if strings.Contains(row, w) {
						t.Errorf("%s: %q in %q", format, w, row)
					}
				}
			}
		})
	}
}
