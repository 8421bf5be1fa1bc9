package report

import (
	"context"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/store"
)

// TestLeadingPrunedRawRuns: a location that ran before the period, whose
// raw runs from then were pruned (storage.retention) while its rollups
// remain, ran before its first run in the period: the stretch up to it is
// not unknown for want of a run before it, stored or recomputed (edgeSpans
// reads the rollups for whole minutes). SQLite's store alone prunes.
func TestLeadingPrunedRawRuns(t *testing.T) {
	m := time.Minute
	from, to := hm(10, 0), hm(11, 0)
	var runs []probe.Run
	for at := from.Add(-30*m + 30*time.Second); at.Before(to); at = at.Add(m) {
		runs = append(runs, mkRun("seoul-a", at, "ok"))
	}
	for _, st := range stores() {
		if st.name == "mem" {
			continue // the in-memory store keeps every run: nothing to prune
		}
		for _, recompute := range []bool{false, true} {
			name := st.name + "/stored"
			if recompute {
				name = st.name + "/recomputed"
			}
			t.Run(name, func(t *testing.T) {
				cfg := testConfig("UTC", m)
				s := st.open(t)
				load(t, s, cfg, runs)
				if _, err := s.Prune(context.Background(), store.Cutoffs{Runs: from}, 1000); err != nil {
					t.Fatal(err)
				}
				if h, err := s.Horizon(context.Background()); err != nil || h.Runs.IsZero() {
					t.Fatalf("horizon %+v, %v: raw runs not pruned", h, err)
				}
				rep, err := Build(context.Background(), Input{Config: cfg, Store: s, From: from, To: to, Now: to.Add(time.Hour), Recompute: recompute})
				if err != nil {
					t.Fatal(err)
				}
				svc := rep.Services[0]
				if !near(svc.UnknownSeconds, 0) {
					t.Errorf("unknown = %vs, want 0 (%+v)", svc.UnknownSeconds, svc.Unknown)
				}
			})
		}
	}
}
