package publish

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/state"
)

// fillFlow stores a run of flow every 10 minutes in [from, to), all ok,
// and the state machine's events.
func fillFlow(t *testing.T, s Store, flow string, from, to time.Time) {
	t.Helper()
	m := state.New("messaging", flow, "seoul-a", []string{"send", "receive"}, state.Policy{Interval: 10 * time.Minute, DownAfter: 2, UpAfter: 1})
	var runs []probe.Run
	var evs []state.Event
	for at := from; at.Before(to); at = at.Add(10 * time.Minute) {
		runs = append(runs, probe.Run{ID: flow + "-" + at.Format(time.RFC3339), Flow: flow, Service: "messaging", Location: "seoul-a", Start: at, Duration: time.Second,
			Steps: []probe.StepResult{{Step: "send", Function: "send", Status: probe.StatusOK}, {Step: "receive", Function: "receive", Status: probe.StatusOK}}})
		evs = append(evs, m.Observe(&runs[len(runs)-1])...)
	}
	ctx := context.Background()
	if err := s.AppendRuns(ctx, runs); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
}

// TestRevisionAfterAFlowRemoved: a flow removed from the config after a
// month was made leaves that month's figures as they were (the report
// accounts it as retired), so the revision makes no new version. Before,
// October, made on November 1 with chat, inbox and search, got a version
// 2 on November 2 after inbox was removed, "figures as in version 1;
// details changed: messaging: run counts", delivered again: inbox was
// listed with "retired": true, after search rather than before it, and
// the digest is the report's JSON.
func TestRevisionAfterAFlowRemoved(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := testConfig(filepath.Join(dir, "reports"))
	chat := cfg.Services[0].Flows[0]
	for _, n := range []string{"inbox", "search"} {
		f := chat
		f.Name = n
		cfg.Services[0].Flows = append(cfg.Services[0].Flows, f)
	}
	s := openStore(t, dir)
	loc := cfg.Loc
	oct := time.Date(2022, 10, 1, 0, 0, 0, 0, loc)
	fill(t, s, oct, oct.AddDate(0, 1, 0), [2]time.Time{oct.AddDate(0, 0, 14), oct.AddDate(0, 0, 14).Add(time.Hour)})
	fillFlow(t, s, "inbox", oct, oct.AddDate(0, 1, 0))
	fillFlow(t, s, "search", oct, oct.AddDate(0, 1, 0))
	clk := clock.NewManual(time.Date(2022, 11, 1, 0, 10, 0, 0, loc))
	p, err := New(cfg, Options{Store: s, Clock: clk, Channels: func(*config.Config) []Channel { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Cycle(ctx); err != nil {
		t.Fatal(err)
	}
	removed := *cfg
	removed.Services = []config.Service{cfg.Services[0]}
	removed.Services[0].Flows = []config.Flow{cfg.Services[0].Flows[0], cfg.Services[0].Flows[2]} // chat, search
	p.SetConfig(&removed)
	clk.Advance(24 * time.Hour)
	if err := p.Cycle(ctx); err != nil {
		t.Fatal(err)
	}
	got := versionsMade(t, s)
	if want := []string{"2022-10/v1 "}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("versions %q, want %q", got, want)
	}
}

// versionsMade lists the store's report versions as "MONTH/vN CHANGES".
func versionsMade(t testing.TB, s Store) []string {
	t.Helper()
	vs, err := s.ReportVersions(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range vs {
		got = append(got, fmt.Sprintf("%s/v%d %s", v.Month, v.Version, v.Changes))
	}
	return got
}
