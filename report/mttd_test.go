package report

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/state"
	"github.com/slaprobe/slaprobe/store"
)

// mttdRuns are runs every 10 s at loc from 10:00 to 11:00, offset by off,
// failing at login in [failFrom, failTo) (offsets from 10:00), each failing
// run lasting failDur (a hang to the flow's timeout, or a refused
// connection), the passing ones 300 ms.
func mttdRuns(loc string, off, failFrom, failTo, failDur time.Duration) []probe.Run {
	var out []probe.Run
	for t := hm(10, 0).Add(off); t.Before(hm(11, 0)); t = t.Add(10 * time.Second) {
		d := t.Sub(hm(10, 0))
		if d >= failFrom && d < failTo {
			r := mkRun(loc, t, "fail:login")
			r.Duration, r.Steps[0].Duration = failDur, failDur
			out = append(out, r)
			continue
		}
		out = append(out, mkRun(loc, t, "ok"))
	}
	return out
}

// TestMTTDToConfirmationKnown: MTTD counts from an incident's start to when
// its confirmation was known, the end of the confirming run, not to that
// run's start (the window's `confirmed`, which stays the run's start). A
// flow with interval 10s, timeout 9s and down_after 2 against a frozen
// server (every run hangs to its 9 s timeout) opened its window, and paged,
// 19 s after the window's start (the confirming run began 10 s after it and
// ended 9 s later), and the report said 10 s. A fast failure (a refused
// connection, 3 ms) reads as before to the millisecond. With two locations
// the confirmation is the quorum's: with majority of two, both locations'
// confirming runs must have ended (the hang that began first is known
// last); with count 1, the first location to know. Alike from the stored
// events, a --recompute, and after the raw results were pruned (the
// confirming run's end is stored with the window's events).
func TestMTTDToConfirmationKnown(t *testing.T) {
	s := time.Second
	ms := time.Millisecond
	hang := 9 * s
	fast := 3 * ms
	at := func(m, sec int, d time.Duration) time.Time {
		return hm(10, m).Add(time.Duration(sec)*s + d)
	}
	tests := []struct {
		name      string
		quorum    config.Quorum
		runs      func() []probe.Run
		start     time.Time
		confirmed time.Time // the JSON contract: the start of the confirming run
		mttd      float64
	}{
		{
			// Runs at 10:05:00 and 10:05:10 hang 9 s: confirmed 10:05:10,
			// known 10:05:19 (was 10 s).
			name: "hang to timeout", quorum: config.Quorum{Mode: "majority"},
			runs:  func() []probe.Run { return mttdRuns("seoul-a", 0, 5*time.Minute, 5*time.Minute+30*s, hang) },
			start: at(5, 0, 0), confirmed: at(5, 10, 0), mttd: 19,
		},
		{
			// Connection refused in 3 ms: 10.003 s (was 10 s).
			name: "fast failure", quorum: config.Quorum{Mode: "majority"},
			runs:  func() []probe.Run { return mttdRuns("seoul-a", 0, 5*time.Minute, 5*time.Minute+30*s, fast) },
			start: at(5, 0, 0), confirmed: at(5, 10, 0), mttd: 10.003,
		},
		{
			// seoul-a hangs from 10:05:00 (confirming run 10:05:10, known
			// 10:05:19); busan-b, two seconds later in its rhythm, fails fast
			// from 10:05:02 (confirming run 10:05:12, known 10:05:12.003).
			// Both are down from 10:05:02, confirmed at the quorum at busan-b's
			// 10:05:12, known when seoul-a's hang ended at 10:05:19: 17 s
			// (was 10 s).
			name: "two locations, majority of two", quorum: config.Quorum{Mode: "majority"},
			runs: func() []probe.Run {
				return append(mttdRuns("seoul-a", 0, 5*time.Minute, 5*time.Minute+30*s, hang),
					mttdRuns("busan-b", 2*s, 5*time.Minute, 5*time.Minute+32*s, fast)...)
			},
			start: at(5, 2, 0), confirmed: at(5, 12, 0), mttd: 17,
		},
		{
			// Any one location: down from seoul-a's 10:05:00, confirmed at
			// its run of 10:05:10, but known first from busan-b's at
			// 10:05:12.003, before seoul-a's hang ended: 12.003 s (was 10 s).
			name: "two locations, count 1", quorum: config.Quorum{Mode: "count", N: 1},
			runs: func() []probe.Run {
				return append(mttdRuns("seoul-a", 0, 5*time.Minute, 5*time.Minute+30*s, hang),
					mttdRuns("busan-b", 2*s, 5*time.Minute, 5*time.Minute+32*s, fast)...)
			},
			start: at(5, 0, 0), confirmed: at(5, 10, 0), mttd: 12.003,
		},
		{
			// Majority of three: seoul-a hangs from 10:05:00 (confirming run
			// 10:05:10, known 10:05:19), busan-b fails fast from 10:05:02
			// (10:05:12, known .003), daegu-c from 10:05:04 (10:05:14, known
			// .003). Down from 10:05:02, confirmed at busan-b's 10:05:12 (the
			// second location confirmed), and two locations knew at daegu-c's
			// 10:05:14.003, before seoul-a's hang ended: 12.003 s. daegu-c
			// confirmed after the quorum was reached, and still counts.
			name: "three locations, majority, third known before the hang", quorum: config.Quorum{Mode: "majority"},
			runs: func() []probe.Run {
				return append(append(mttdRuns("seoul-a", 0, 5*time.Minute, 5*time.Minute+30*s, hang),
					mttdRuns("busan-b", 2*s, 5*time.Minute, 5*time.Minute+32*s, fast)...),
					mttdRuns("daegu-c", 4*s, 5*time.Minute, 5*time.Minute+34*s, fast)...)
			},
			start: at(5, 2, 0), confirmed: at(5, 12, 0), mttd: 12.003,
		},
		{
			// All of three, the same runs: known when the last of the three
			// confirming runs ended, seoul-a's hang at 10:05:19, from the
			// start at 10:05:04 when all three were down: 15 s.
			name: "three locations, all", quorum: config.Quorum{Mode: "all"},
			runs: func() []probe.Run {
				return append(append(mttdRuns("seoul-a", 0, 5*time.Minute, 5*time.Minute+30*s, hang),
					mttdRuns("busan-b", 2*s, 5*time.Minute, 5*time.Minute+32*s, fast)...),
					mttdRuns("daegu-c", 4*s, 5*time.Minute, 5*time.Minute+34*s, fast)...)
			},
			start: at(5, 4, 0), confirmed: at(5, 14, 0), mttd: 15,
		},
	}
	ctx := context.Background()
	for _, st := range confirmStores() {
		t.Run(st.name, func(t *testing.T) {
			for _, tc := range tests {
				modes := []string{"stored", "recompute", "pruned", "pruned recompute"}
				if st.name == "mem" { // the test store keeps no horizon: pruning is the databases'
					modes = modes[:2]
				}
				for _, mode := range modes {
					t.Run(tc.name+"/"+mode, func(t *testing.T) {
						cfg := testConfig("UTC", 10*s)
						cfg.Policy.Quorum = tc.quorum
						db := st.open(t)
						load(t, db, cfg, tc.runs())
						if mode == "pruned" || mode == "pruned recompute" {
							if _, err := db.Prune(ctx, store.Cutoffs{Runs: hm(12, 0)}, 1_000_000); err != nil {
								t.Fatal(err)
							}
							if runs, err := db.Runs(ctx, store.Query{From: hm(10, 0), To: hm(11, 0)}); err != nil || len(runs) != 0 {
								t.Fatalf("%d raw runs left after pruning (%v)", len(runs), err)
							}
						}
						rep, err := Build(ctx, Input{Config: cfg, Store: db, From: hm(10, 0), To: hm(11, 0), Timelines: []*config.Timeline{},
							Recompute: mode == "recompute" || mode == "pruned recompute"})
						if err != nil {
							t.Fatal(err)
						}
						svc := rep.Services[0]
						if len(svc.Windows) == 0 {
							t.Fatal("no windows")
						}
						for _, w := range svc.Windows {
							if !w.Start.Equal(tc.start) || !w.Confirmed.Equal(tc.confirmed) {
								t.Errorf("window %s: start %s confirmed %s, want %s confirmed %s", fnName(w),
									w.Start.Format("15:04:05.000"), w.Confirmed.Format("15:04:05.000"), tc.start.Format("15:04:05.000"), tc.confirmed.Format("15:04:05.000"))
							}
						}
						if svc.MTTDSeconds == nil || math.Abs(*svc.MTTDSeconds-tc.mttd) > 1e-6 {
							t.Errorf("MTTD = %s, want %v s", fmtF(svc.MTTDSeconds), tc.mttd)
						}
					})
				}
			}
		})
	}
}

// TestMTTDWithoutStoredKnown: a window stored without its confirming run's
// end (events written before schema version 11, whose runs were pruned
// before the migration could fill it in) counts to the confirming run's
// start, as before: the best the report still knows.
func TestMTTDWithoutStoredKnown(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig("UTC", 10*time.Second)
	runs := mttdRuns("seoul-a", 0, 5*time.Minute, 5*time.Minute+30*time.Second, 9*time.Second)
	for _, st := range confirmStores() {
		t.Run(st.name, func(t *testing.T) {
			db := st.open(t)
			if err := db.AppendRuns(ctx, runs); err != nil {
				t.Fatal(err)
			}
			m := state.New("messaging", "chat", "seoul-a", cfg.Services[0].Flows[0].Functions(), state.Policy{Interval: 10 * time.Second, DownAfter: 2, UpAfter: 1})
			var evs []state.Event
			for i := range runs {
				for _, e := range m.Observe(&runs[i]) {
					e.Window.Known = time.Time{}
					evs = append(evs, e)
				}
			}
			if err := db.AppendEvents(ctx, evs); err != nil {
				t.Fatal(err)
			}
			rep, err := Build(ctx, Input{Config: cfg, Store: db, From: hm(10, 0), To: hm(11, 0), Timelines: []*config.Timeline{}})
			if err != nil {
				t.Fatal(err)
			}
			if got := fmtF(rep.Services[0].MTTDSeconds); got != fmt.Sprint(fmtF(ptrF(10))) {
				t.Errorf("MTTD = %s, want 10 s (the confirming run's start)", got)
			}
		})
	}
}
