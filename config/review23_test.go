package config

import (
	"testing"
)

// A slow incident and a down (error, drop) one that overlap on a function
// are not the mistake the overlap warning is for: the reconciliation gives
// a degraded window to the slow one and a down window to the other
// (report's TestSlowAroundDownReconciled: a ten-minute outage inside an
// hour of slowness, every delta 0), so neither's delta counts the other's
// time. Two of the same kind (slow and slow; down, error and drop, all
// measured by down windows) still warn.
func TestTimelineOverlapKinds(t *testing.T) {
	inc := func(id, mode, start, end string) string {
		s := "  - id: " + id + "\n    service: payments\n    functions: [send]\n    mode: " + mode + "\n    start: " + start + "\n    end: " + end + "\n"
		if mode == "slow" {
			s += "    latency: 2s\n"
		}
		return s
	}
	tests := []struct {
		first, second string
		warn          bool
	}{
		{"slow", "down", false},
		{"down", "slow", false},
		{"slow", "error", false},
		{"drop", "slow", false},
		{"slow", "slow", true},
		{"down", "error", true},
		{"error", "drop", true},
	}
	for _, tc := range tests {
		t.Run(tc.first+" then "+tc.second, func(t *testing.T) {
			doc := "incidents:\n" + inc("a", tc.first, "2026-11-01T10:00:00Z", "2026-11-01T11:00:00Z") + inc("b", tc.second, "2026-11-01T10:20:00Z", "2026-11-01T10:30:00Z")
			tl, err := ParseTimeline("t.yaml", []byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			if w := tl.Warnings(); (len(w) > 0) != tc.warn {
				t.Errorf("warnings %v, want a warning: %v", w, tc.warn)
			}
		})
	}
}
