package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/state"
	"github.com/slaprobe/slaprobe/store"
)

// homeConfig writes, in a new temporary directory, a config of location
// loc (zone UTC, SQLite in the directory's results.db) with one service
// "web" (objective 0.99) of one flow "home": a GET every minute of
// function "view". extra is YAML added at the top level (policy:,
// maintenance:). It returns the config's path and the database's.
func homeConfig(t *testing.T, loc, extra string) (cfgPath, db string) {
	t.Helper()
	dir := t.TempDir()
	db = filepath.Join(dir, "results.db")
	cfgPath = filepath.Join(dir, "config.yaml")
	src := fmt.Sprintf(`location: %s
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
%s`, loc, db, extra)
	if err := os.WriteFile(cfgPath, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfgPath, db
}

// storeHomeRuns stores in db a run of web/home at loc at each of times,
// failed ("get: connection refused") where failed says so, and the
// windows the state machine makes of them (down_after 2, up_after 1).
func storeHomeRuns(t *testing.T, db, loc string, times []time.Time, failed func(at time.Time) bool) {
	t.Helper()
	m := state.New("web", "home", loc, []string{"view"}, state.Policy{Interval: time.Minute, DownAfter: 2, UpAfter: 1})
	runs := make([]probe.Run, 0, len(times))
	var evs []state.Event
	for _, at := range times {
		r := probe.Run{ID: loc + at.Format(time.RFC3339), Flow: "home", Service: "web", Location: loc, Start: at, Duration: 50 * time.Millisecond,
			Steps: []probe.StepResult{{Step: "get", Function: "view", Status: probe.StatusOK, Duration: 50 * time.Millisecond, Attempts: 1}}}
		if failed != nil && failed(at) {
			r.Steps[0].Status, r.Steps[0].Error = probe.StatusFailed, "get: connection refused"
		}
		runs = append(runs, r)
		evs = append(evs, m.Observe(&runs[len(runs)-1])...)
	}
	ctx := context.Background()
	s, err := store.OpenSQLite(ctx, db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.AppendRuns(ctx, runs); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
}

// minutes is n times a minute apart from from.
func minutes(from time.Time, n int) []time.Time {
	out := make([]time.Time, n)
	for i := range out {
		out[i] = from.Add(time.Duration(i) * time.Minute)
	}
	return out
}

// between says whether at is in [from+a minutes, from+b minutes).
func between(from time.Time, a, b int) func(time.Time) bool {
	return func(at time.Time) bool {
		i := int(at.Sub(from) / time.Minute)
		return i >= a && i < b
	}
}
