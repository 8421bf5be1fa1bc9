package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestWindowsSaysInMaintenance: `windows` over a range whose windows lie in
// planned maintenance says on stderr how many (and how many wholly), which
// a report does not count; stdout is unchanged. Before, it listed them as
// any other, where the report of the month read 0s downtime: session 25's
// New York year listed messaging's 39-minute login failure of 2026-11-01,
// all of it inside a maintenance window, as four plain rows.
func TestWindowsSaysInMaintenance(t *testing.T) {
	tests := []struct {
		name, maint string
		want        string // on stderr; "" none
	}{
		{"wholly inside", "  - {service: web, start: 2026-03-01T10:10:00Z, end: 2026-03-01T10:40:00Z}\n",
			"slaprobe: windows: 2 of the windows listed lie in planned maintenance (2 wholly), which `slaprobe report` does not count as downtime"},
		// 10:20-10:26 and 10:24-10:29 of the window: 9 minutes of 10 (added
		// up, without their overlap, 11: "wholly").
		{"partly, two overlapping maintenance windows", "  - {service: \"*\", start: 2026-03-01T10:15:00Z, end: 2026-03-01T10:26:00Z}\n  - {service: web, start: 2026-03-01T10:24:00Z, end: 2026-03-01T10:29:00Z}\n",
			"slaprobe: windows: 2 of the windows listed lie in planned maintenance (0 wholly)"},
		{"other service", "  - {service: mail, start: 2026-03-01T10:10:00Z, end: 2026-03-01T10:40:00Z}\n", ""},
		{"outside", "  - {service: web, start: 2026-03-01T10:40:00Z, end: 2026-03-01T10:50:00Z}\n", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfgPath, db := homeConfig(t, "seoul-a", "maintenance:\n"+tc.maint)
			// Down 10:20-10:30 (a whole-flow window and its function's).
			from := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
			storeHomeRuns(t, db, "seoul-a", minutes(from, 60), between(from, 20, 30))
			var plain string
			for _, format := range []string{"text", "json"} {
				var out, errb bytes.Buffer
				args := []string{"windows", "--config", cfgPath, "--from", "2026-03-01T10:00:00Z", "--to", "2026-03-01T11:00:00Z", "--format", format}
				if code := runMain(context.Background(), args, &out, &errb); code != exitOK {
					t.Fatalf("%s: exit %d\n%s", format, code, errb.String())
				}
				if format == "text" {
					plain = out.String()
					if strings.Count(plain, "10:20:00") != 2 {
						t.Errorf("text: want the two windows from 10:20:00 listed:\n%s", plain)
					}
				}
				got := strings.TrimSpace(errb.String())
				if tc.want == "" && strings.Contains(got, "maintenance") || tc.want != "" && !strings.Contains(got, tc.want) {
					t.Errorf("%s: stderr %q, want %q", format, got, tc.want)
				}
			}
		})
	}
}
