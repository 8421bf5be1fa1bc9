package publish

import (
	"context"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/state"
	"github.com/slaprobe/slaprobe/store"
)

// upgradeMonth stores October 2022 of chat with what the report gained
// after stop 38 (16e0971): an outage 01:00-03:00 on the 15th half inside a
// maintenance window 00:00-02:00 (a window's maintenance_seconds), and runs
// on the 20th, 00:00-06:00, that list send alone (flows' function_runs);
// no run on the 25th, 00:00-02:00 (lateRuns stores them); and gives cfg the
// maintenance. testdata/stop38 holds the version the stop-38 publisher made
// of it, its archive and its database (TestUpgradeFromStop38), made with
// this file (upgradeMaintenance then inline) in a tree of 16e0971 by
// testdata/stop38/dump_test.go.txt.
func upgradeMonth(t *testing.T, s store.Store, cfg *config.Config) {
	t.Helper()
	loc := cfg.Loc
	oct := time.Date(2022, 10, 1, 0, 0, 0, 0, loc)
	m15 := oct.AddDate(0, 0, 14)
	upgradeMaintenance(cfg)
	d20 := oct.AddDate(0, 0, 19)
	m := state.New("messaging", "chat", "seoul-a", []string{"send", "receive"}, state.Policy{Interval: 10 * time.Minute, DownAfter: 2, UpAfter: 1})
	var runs []probe.Run
	var evs []state.Event
	for at := oct; at.Before(oct.AddDate(0, 1, 0)); at = at.Add(10 * time.Minute) {
		r := probe.Run{ID: at.Format(time.RFC3339), Flow: "chat", Service: "messaging", Location: "seoul-a", Start: at, Duration: time.Second,
			Steps: []probe.StepResult{{Step: "send", Function: "send", Status: probe.StatusOK}, {Step: "receive", Function: "receive", Status: probe.StatusOK}}}
		if !at.Before(m15.Add(time.Hour)) && at.Before(m15.Add(3*time.Hour)) {
			r.Steps[1].Status, r.Steps[1].Error = probe.StatusFailed, "not delivered"
		}
		if !at.Before(d20) && at.Before(d20.Add(6*time.Hour)) {
			r.Steps = r.Steps[:1]
		}
		if gap := oct.AddDate(0, 0, 24); !at.Before(gap) && at.Before(gap.Add(2*time.Hour)) {
			continue
		}
		runs = append(runs, r)
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

// upgradeMaintenance gives cfg upgradeMonth's maintenance window.
func upgradeMaintenance(cfg *config.Config) {
	m15 := time.Date(2022, 10, 15, 0, 0, 0, 0, cfg.Loc)
	cfg.Maintenance = config.MaintenancePlan{{Service: "messaging", Start: m15, End: m15.Add(2 * time.Hour), Reason: "planned database upgrade"}}
}

// lateRuns stores the runs upgradeMonth left out (25 October, 00:00-02:00,
// all passing), as results that came late.
func lateRuns(t *testing.T, s store.Store, cfg *config.Config) {
	t.Helper()
	gap := time.Date(2022, 10, 25, 0, 0, 0, 0, cfg.Loc)
	var runs []probe.Run
	for at := gap; at.Before(gap.Add(2 * time.Hour)); at = at.Add(10 * time.Minute) {
		runs = append(runs, probe.Run{ID: at.Format(time.RFC3339), Flow: "chat", Service: "messaging", Location: "seoul-a", Start: at, Duration: time.Second,
			Steps: []probe.StepResult{{Step: "send", Function: "send", Status: probe.StatusOK}, {Step: "receive", Function: "receive", Status: probe.StatusOK}}})
	}
	if err := s.AppendRuns(context.Background(), runs); err != nil {
		t.Fatal(err)
	}
}
