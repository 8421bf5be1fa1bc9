package report

import (
	"context"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/state"
	"github.com/slaprobe/slaprobe/store"
)

// loadRanAt stores runs as the daemon makes and stores them with their
// interval (probe.Run.Interval, schema version 15: every interval unless
// stored is false, a store written before it) and the events of a state
// machine that each run's interval judged: a reload to another interval
// just before the first run at it (Reconfigure), as the daemon's.
func loadRanAt(t *testing.T, s store.Store, cfg *config.Config, runs []probe.Run, ivls []time.Duration, stored bool) {
	t.Helper()
	ctx := context.Background()
	_, f := cfg.Flow("chat")
	if f == nil {
		t.Fatal("no flow chat")
	}
	pol := func(ivl time.Duration) state.Policy {
		return state.Policy{Interval: ivl, DownAfter: f.DownAfter, UpAfter: f.UpAfter, ConfirmEvery: f.ConfirmEvery}
	}
	m := state.New("messaging", "chat", "seoul-a", f.Functions(), pol(ivls[0]))
	var evs []state.Event
	for i := range runs {
		if i > 0 && ivls[i] != ivls[i-1] {
			m.Reconfigure(f.Functions(), pol(ivls[i]), runs[i].Start)
		}
		evs = append(evs, m.Observe(&runs[i])...)
		if stored {
			runs[i].Interval = ivls[i]
		}
	}
	if err := s.AppendRuns(ctx, runs); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
}

// TestStoppedProberJudgedByTheRunsInterval: a prober stopped before the end
// of a finished period and not back, the report made later with the flow's
// interval changed in the config since: the stretch after its last run is
// judged by the interval that run had (stored with it), as the state
// machine would have, not by the config's. Before, 10:00-11:00 with the
// prober stopped at 10:55 read 265 s unknown with 60 s in the config and
// 315 s with 10 s; 10 s to 60 s, 295 s and 245 s. A run stored before
// schema version 15 has no interval: the config's judges it, as before.
// SQLite, the in-memory store and PostgreSQL.
func TestStoppedProberJudgedByTheRunsInterval(t *testing.T) {
	h := hourStart
	// runsAt are runs every ivl from 09:00 + off up to (not at) to.
	type leg struct {
		ivl, off time.Duration
		to       time.Duration // after 10:00
	}
	tests := []struct {
		name    string
		legs    []leg
		gap     [2]time.Duration // no run in [a, b) after 10:00 (a stop the state machine judged)
		stored  bool             // the runs' intervals stored (schema version 15)
		configs []time.Duration  // the flow's interval in the config when the report is made
		wantUnk float64
	}{
		// Last run 10:54:35, of 60 s: unknown from 10:55:35.
		{"60s to 10s", []leg{{time.Minute, 35 * time.Second, 55 * time.Minute}}, [2]time.Duration{}, true,
			[]time.Duration{time.Minute, 10 * time.Second, 30 * time.Second}, 265},
		// Last run 10:54:55, of 10 s: unknown from 10:55:05.
		{"10s to 60s", []leg{{10 * time.Second, 5 * time.Second, 55 * time.Minute}}, [2]time.Duration{}, true,
			[]time.Duration{10 * time.Second, time.Minute, 30 * time.Second}, 295},
		// Every 60 s, stopped 10:10-10:20 (10:10:35 to 10:20:35 unknown,
		// stored by the state machine at 60 s), every 10 s from 10:30
		// (the reload), stopped at 10:55 (from 10:55:05, by the last
		// run's 10 s): 600 + 295 s, whatever the config says now.
		{"interval changed in the period", []leg{{time.Minute, 35 * time.Second, 30 * time.Minute}, {10 * time.Second, 5 * time.Second, 55 * time.Minute}},
			[2]time.Duration{10 * time.Minute, 20 * time.Minute}, true,
			[]time.Duration{10 * time.Second, time.Minute, 30 * time.Second}, 895},
		// Stopped 25 s before the end: the last run's 60 s covers it.
		{"60s to 10s, stopped just before the end", []leg{{time.Minute, 35 * time.Second, 59*time.Minute + 36*time.Second}}, [2]time.Duration{}, true,
			[]time.Duration{time.Minute, 10 * time.Second}, 0},
		// The last run's 10 s does not: unknown from 10:59:45. Made as of
		// the end (11:00) too: lastRunsAtEnd reads the last run where
		// the shortest interval of the location's runs (the span's
		// MinInterval) says it may have stopped, not only the config's
		// (which read none here, and 0 s).
		{"10s to 60s, stopped just before the end", []leg{{10 * time.Second, 5 * time.Second, 59*time.Minute + 36*time.Second}}, [2]time.Duration{}, true,
			[]time.Duration{10 * time.Second, time.Minute}, 15},
		// Stored before schema version 15: judged by the config's (10 s:
		// from 10:54:45; 60 s: from 10:55:35).
		{"stored before version 15, 10s in the config", []leg{{time.Minute, 35 * time.Second, 55 * time.Minute}}, [2]time.Duration{}, false,
			[]time.Duration{10 * time.Second}, 315},
		{"stored before version 15, 60s in the config", []leg{{time.Minute, 35 * time.Second, 55 * time.Minute}}, [2]time.Duration{}, false,
			[]time.Duration{time.Minute}, 265},
	}
	for _, st := range confirmStores() {
		for _, tc := range tests {
			t.Run(st.name+"/"+tc.name, func(t *testing.T) {
				s := st.open(t)
				var runs []probe.Run
				var ivls []time.Duration
				from := h.Add(-time.Hour)
				for _, l := range tc.legs {
					at := from.Truncate(time.Minute).Add(l.off)
					if at.Before(from) {
						at = at.Add(l.ivl)
					}
					for ; at.Before(h.Add(l.to)); at = at.Add(l.ivl) {
						if d := at.Sub(h); d >= tc.gap[0] && d < tc.gap[1] {
							continue
						}
						runs = append(runs, mkRun("seoul-a", at, "ok"))
						ivls = append(ivls, l.ivl)
					}
					from = h.Add(l.to)
				}
				loadRanAt(t, s, testConfig("UTC", tc.legs[0].ivl), runs, ivls, tc.stored)
				// Made later (the publisher, the status page), or as of
				// the period's end (slaprobe report and windows).
				for _, now := range []time.Time{h.Add(3 * time.Hour), h.Add(time.Hour)} {
					for _, ivl := range tc.configs {
						rep, err := Build(context.Background(), Input{Config: testConfig("UTC", ivl), Store: s, From: h, To: h.Add(time.Hour), Now: now})
						if err != nil {
							t.Fatal(err)
						}
						if svc := rep.Services[0]; !near(svc.UnknownSeconds, tc.wantUnk) {
							t.Errorf("made at %s with %v in the config: unknown %v s %+v, want %v", now.Format("15:04"), ivl, svc.UnknownSeconds, svc.Unknown, tc.wantUnk)
						}
					}
				}
			})
		}
	}
}
