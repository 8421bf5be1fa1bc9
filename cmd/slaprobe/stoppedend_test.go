package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/state"
	"github.com/slaprobe/slaprobe/store"
)

// TestReportPastRangeProberStoppedNearEnd: `report` over a range that is
// long over, whose location's last run came less than two intervals
// before its end and never another (the prober stopped for good): every
// minute from 10:00, the last run at 10:20, the range 10:00-10:21:30. The
// run due at 10:21 never came, so 10:21:00-10:21:30 is unknown (README,
// Accounting policy), as the publisher's report of the range (made with
// the wall clock) says. The command took the range's end for now
// (reportNow), so two intervals had never passed since 10:20: it read
// 0 s unknown, and under `policy.unknown: down` 100% where the month's
// archived report reads 97.7%. Now it accounts a range that is over as of
// the wall clock: the stretch is unknown.
func TestReportPastRangeProberStoppedNearEnd(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "results.db")
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf(`location: seoul-a
timezone: UTC
storage: {driver: sqlite, dsn: %s}
policy: {unknown: down}
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
	m := state.New("web", "home", "seoul-a", []string{"view"}, state.Policy{Interval: time.Minute, DownAfter: 2, UpAfter: 1})
	var runs []probe.Run
	var evs []state.Event
	for i := range 21 {
		at := from.Add(time.Duration(i) * time.Minute)
		runs = append(runs, probe.Run{ID: at.Format(time.RFC3339), Flow: "home", Service: "web", Location: "seoul-a", Start: at, Duration: 50 * time.Millisecond,
			Steps: []probe.StepResult{{Step: "get", Function: "view", Status: probe.StatusOK, Duration: 50 * time.Millisecond, Attempts: 1}}})
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

	var out, errb bytes.Buffer
	args := []string{"report", "--config", cfgPath, "--from", "2026-03-01T10:00:00Z", "--to", "2026-03-01T10:21:30Z", "--format", "json", "--out", "-"}
	if code := runMain(context.Background(), args, &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var rep struct {
		Services []struct {
			Availability   *float64 `json:"availability"`
			UnknownSeconds float64  `json:"unknown_seconds"`
		} `json:"services"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Services) != 1 {
		t.Fatalf("services %+v", rep.Services)
	}
	sv := rep.Services[0]
	if want := 1260.0 / 1290; sv.UnknownSeconds != 30 || sv.Availability == nil || *sv.Availability != want {
		t.Errorf("unknown %g s, availability %v; want 30 s unknown (10:21:00-10:21:30), availability %g", sv.UnknownSeconds, sv.Availability, want)
	}
}
