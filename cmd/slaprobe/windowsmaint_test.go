package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/state"
	"github.com/slaprobe/slaprobe/store"
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
			dir := t.TempDir()
			db := filepath.Join(dir, "results.db")
			cfgPath := filepath.Join(dir, "config.yaml")
			if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf(`location: seoul-a
timezone: UTC
storage: {driver: sqlite, dsn: %q}
services:
  - name: web
    objective: 0.99
    flows:
      - name: home
        interval: 60s
        timeout: 10s
        steps:
          - {name: get, function: view, request: {url: "http://127.0.0.1:1/"}}
maintenance:
%s`, db, tc.maint)), 0o644); err != nil {
				t.Fatal(err)
			}
			// Down 10:20-10:30 (a whole-flow window and its function's).
			from := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
			m := state.New("web", "home", "seoul-a", []string{"view"}, state.Policy{Interval: time.Minute, DownAfter: 2, UpAfter: 1})
			var runs []probe.Run
			var evs []state.Event
			for i := range 60 {
				at := from.Add(time.Duration(i) * time.Minute)
				st := probe.StatusOK
				if i >= 20 && i < 30 {
					st = probe.StatusFailed
				}
				r := probe.Run{ID: at.Format(time.RFC3339), Flow: "home", Service: "web", Location: "seoul-a", Start: at, Duration: 50 * time.Millisecond,
					Steps: []probe.StepResult{{Step: "get", Function: "view", Status: st, Duration: 50 * time.Millisecond, Attempts: 1}}}
				if st == probe.StatusFailed {
					r.Steps[0].Error = "get: connection refused"
				}
				runs = append(runs, r)
				evs = append(evs, m.Observe(&runs[len(runs)-1])...)
			}
			s, err := store.OpenSQLite(context.Background(), db, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.AppendRuns(context.Background(), runs); err != nil {
				t.Fatal(err)
			}
			if err := s.AppendEvents(context.Background(), evs); err != nil {
				t.Fatal(err)
			}
			s.Close()
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
