package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/store"
)

// TestDemoOngoingOutageEndsWhenTheNextRunWasDue: the CrowdStrike timeline
// declares no end, so the replay stops in the middle of the outage, the
// flow confirm-run every 10 s (confirm_every, a sixth of 60 s). `slaprobe
// windows` of its database past the replay's end ends the outage where its
// next run was due, 10 s after its last, with no data after; before, 60 s
// after it: 50 s of downtime that no run measured.
func TestDemoOngoingOutageEndsWhenTheNextRunWasDue(t *testing.T) {
	out := t.TempDir()
	runDemo(t, out, "windows.json", "--timeline", filepath.Join("..", "..", "examples", "incidents", "crowdstrike-2024-07-19.yaml"),
		"--from", "2024-07-19T04:00:00Z", "--to", "2024-07-19T05:00:00Z")
	db := filepath.Join(out, "results.db")
	st, err := store.OpenSQLite(context.Background(), db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	runs, err := st.Runs(context.Background(), store.Query{From: time.Date(2024, 7, 19, 4, 50, 0, 0, time.UTC), To: time.Date(2024, 7, 19, 5, 0, 0, 0, time.UTC), Flows: []string{"account-login"}})
	st.Close()
	if err != nil || len(runs) == 0 {
		t.Fatalf("runs of account-login: %d, %v", len(runs), err)
	}
	last := runs[len(runs)-1]
	if last.OK() {
		t.Fatalf("the last run at %s passed; want the outage still on", last.Start)
	}
	var stdout, stderr bytes.Buffer
	args := []string{"windows", "--config", filepath.Join("..", "..", "examples", "demo.yaml"), "--db", db,
		"--from", "2024-07-19T04:00:00Z", "--to", "2024-07-19T06:00:00Z", "--format", "json"}
	if code := runMain(context.Background(), args, &stdout, &stderr); code != exitOK {
		t.Fatalf("windows exit %d\n%s", code, stderr.String())
	}
	var ws []struct {
		Service  string     `json:"service"`
		Function *string    `json:"function"`
		End      *time.Time `json:"end"`
		EndCut   string     `json:"end_cut"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &ws); err != nil {
		t.Fatal(err)
	}
	want := last.Start.Add(10 * time.Second)
	found := false
	for _, w := range ws {
		if w.Service != "account" || w.Function != nil {
			continue
		}
		found = true
		if w.End == nil || !w.End.Equal(want) || w.EndCut != "no_data" {
			t.Errorf("the outage ends %v (%s), want %s (the last run at %s + confirm_every 10s), no data after", w.End, w.EndCut, want.Format(time.TimeOnly), last.Start.UTC().Format(time.TimeOnly))
		}
	}
	if !found {
		t.Fatalf("no account window in %s", stdout.String())
	}
}
