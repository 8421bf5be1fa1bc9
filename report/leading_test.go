package report

import (
	"context"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/probe"
)

// TestLeadingUnknownBeforeFirstRun: the stretch between a period's start
// and a location's first run ever is unknown, however short: no run
// covered it (the prober was not running yet), and unknown is never
// counted as up. Before, a first run less than two intervals after the
// start made that stretch count as up (the two-interval allowance between
// runs, applied where no run came before): a live fleet started at
// 05:45:31 UTC, reported from 05:45:00 with a 20 s interval, had hub-push
// (first run at 05:45:41.9, 41.9 s in) 41.9 s unknown, but matrix-sync
// (33.8 s in) and pay-webhook (36.5 s in) none, their 34 s and 37 s up.
func TestLeadingUnknownBeforeFirstRun(t *testing.T) {
	m := time.Minute
	from, to := hm(10, 0), hm(11, 0)
	every := func(first time.Time) []probe.Run {
		var out []probe.Run
		for at := first; at.Before(to); at = at.Add(m) {
			out = append(out, mkRun("seoul-a", at, "ok"))
		}
		return out
	}
	cases := []struct {
		name    string
		runs    []probe.Run
		unknown float64
	}{
		{"first run 90 s in", every(from.Add(90 * time.Second)), 90},
		{"first run 30 s in", every(from.Add(30 * time.Second)), 30},
		{"first run 150 s in", every(from.Add(150 * time.Second)), 150},
		{"a run before the period", every(from.Add(-30 * time.Second)), 0},
		{"first run at the start", every(from), 0},
	}
	for _, st := range stores() {
		for _, tc := range cases {
			t.Run(st.name+"/"+tc.name, func(t *testing.T) {
				cfg := testConfig("UTC", m)
				s := st.open(t)
				load(t, s, cfg, tc.runs)
				rep, err := Build(context.Background(), Input{Config: cfg, Store: s, From: from, To: to, Now: to.Add(time.Hour)})
				if err != nil {
					t.Fatal(err)
				}
				svc := rep.Services[0]
				if !near(svc.UnknownSeconds, tc.unknown) {
					t.Errorf("unknown = %vs, want %vs (%+v)", svc.UnknownSeconds, tc.unknown, svc.Unknown)
				}
				if svc.Availability == nil || !near(*svc.Availability, 1) {
					t.Errorf("availability = %v, want 1 (nothing failed)", svc.Availability)
				}
			})
		}
	}
}
