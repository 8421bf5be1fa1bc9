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

// TestWindowsSaysBelowQuorum: `windows` over a range in which one location
// of two was down alone (below the majority quorum) says on stderr that it
// left below-quorum windows out, with their locations; the list on stdout
// is still the counted windows (JSON: []). Before, it printed "(no
// windows)" and nothing else while busan-b had been down for minutes (seen
// by hand with two probers on one PostgreSQL database), where the report
// lists the same windows under below_quorum: an operator asking `windows`
// about an outage at one location read that nothing was seen.
func TestWindowsSaysBelowQuorum(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "results.db")
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf(`location: seoul-a
timezone: UTC
storage: {driver: sqlite, dsn: %s}
services:
  - name: web
    objective: 0.99
    flows:
      - name: home
        interval: 60s
        timeout: 10s
        steps:
          - {name: get, function: view, request: {url: "http://127.0.0.1:1/"}}
`, db)), 0o644); err != nil {
		t.Fatal(err)
	}
	from := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	var runs []probe.Run
	var evs []state.Event
	for _, loc := range []string{"seoul-a", "busan-b"} {
		m := state.New("web", "home", loc, []string{"view"}, state.Policy{Interval: time.Minute, DownAfter: 2, UpAfter: 1})
		for i := range 60 {
			at := from.Add(time.Duration(i) * time.Minute)
			st := probe.StatusOK
			if loc == "busan-b" && i >= 20 && i < 30 {
				st = probe.StatusFailed
			}
			r := probe.Run{ID: loc + at.Format(time.RFC3339), Flow: "home", Service: "web", Location: loc, Start: at, Duration: 50 * time.Millisecond,
				Steps: []probe.StepResult{{Step: "get", Function: "view", Status: st, Duration: 50 * time.Millisecond, Attempts: 1}}}
			if st == probe.StatusFailed {
				r.Steps[0].Error = "get: connection refused"
			}
			runs = append(runs, r)
			evs = append(evs, m.Observe(&runs[len(runs)-1])...)
		}
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

	for _, format := range []string{"text", "json"} {
		var out, errb bytes.Buffer
		args := []string{"windows", "--config", cfgPath, "--from", "2026-03-01T10:00:00Z", "--to", "2026-03-01T11:00:00Z", "--format", format}
		if code := runMain(context.Background(), args, &out, &errb); code != exitOK {
			t.Fatalf("%s: exit %d: %s", format, code, errb.String())
		}
		want := map[string]string{"text": "(no windows)\n", "json": "[]"}[format]
		if !strings.Contains(out.String(), want) {
			t.Errorf("%s: stdout %q, want the counted windows only (%q)", format, out.String(), want)
		}
		if msg := "2 below-quorum windows (seen from too few locations to count as downtime: busan-b) are not listed"; !strings.Contains(errb.String(), msg) {
			t.Errorf("%s: stderr %q lacks %q", format, errb.String(), msg)
		}
	}
}
