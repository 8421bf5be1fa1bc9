package statuspage

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
)

// TestFleetAtOnceShortOutagePagesOnce: probers whose windows began in the
// same second, quorum majority, rebuilt every 5 minutes and kicked by
// their own windows 2 s after they open or close (as cmd/slaprobe wires
// them), down from 09:31 and back at 09:34, their confirming runs of 09:32
// taking different times. The prober whose confirmation made the quorum
// known (the quorum-th to end) is the one whose kicked rebuild sees the
// counted window open and pages it; one whose confirmation came first saw
// only itself down. The page must reach the on-call once: no push may fire
// it after its end (a late page of it would, after or beside the resolve).
//
// Failed on main: every location whose window began at the start was
// named (report.Window.QuorumBy), and the first alphabetically, busan-b,
// was elected for the late page whether or not its kicked rebuild could
// have seen it: with busan-b's confirming run 300 ms and seoul-a's 5 s
// (two probers), seoul-a paged at 09:32:07 and resolved at 09:34:02.3,
// and busan-b, whose rebuild of 09:32:02.3 found only itself down, paged
// it late at 09:34:02.3, a second notification; likewise with three,
// busan-b 300 ms, daegu-c 5 s, seoul-a 8 s (daegu-c's made the quorum).
func TestFleetAtOnceShortOutagePagesOnce(t *testing.T) {
	ms, sec := time.Millisecond, time.Second
	for _, tc := range []struct {
		name    string
		confirm map[string]time.Duration // the 09:32 runs' durations, by location
	}{
		{"two, busan-b known first", map[string]time.Duration{"busan-b": 300 * ms, "seoul-a": 5 * sec}},
		{"two, seoul-a known first", map[string]time.Duration{"seoul-a": 300 * ms, "busan-b": 5 * sec}},
		{"three, daegu-c second", map[string]time.Duration{"busan-b": 300 * ms, "daegu-c": 5 * sec, "seoul-a": 8 * sec}},
		{"three, busan-b second", map[string]time.Duration{"daegu-c": 300 * ms, "busan-b": 5 * sec, "seoul-a": 8 * sec}},
		{"three, seoul-a second", map[string]time.Duration{"busan-b": 300 * ms, "seoul-a": 5 * sec, "daegu-c": 8 * sec}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s := tempStore(t)
			t0 := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
			at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
			clk := clock.NewManual(t0)
			var locs []string
			for l := range tc.confirm {
				locs = append(locs, l)
			}
			slices.Sort(locs)
			var ps []*pushProber
			kicked := map[*pushProber]bool{}
			for _, l := range locs {
				p := newPushProber(t, s, clk, l, true)
				p.n.SetFleetChange(func() { kicked[p] = true })
				ps = append(ps, p)
			}
			for i := 25; i < 45; i++ {
				var todo []fleetAction
				for _, p := range ps {
					r := fleetRun(p.loc, at(i), i < 31 || i >= 34)
					if d, ok := tc.confirm[p.loc]; ok && i == 32 {
						r.Duration, r.Steps[0].Duration = d, d
					}
					todo = append(todo, fleetAction{r.Start.Add(r.Duration), p, &r})
				}
				playActions(ctx, t, s, clk, todo, kicked)
				clk.Set(at(i).Add(30 * time.Second))
				for _, p := range ps {
					if i%5 == 0 {
						p.rebuild(ctx, t)
					} else if err := p.n.Tick(ctx); err != nil {
						t.Fatal(err)
					}
				}
			}
			// Every prober's page pushes, as one Alertmanager receives them.
			pages := pagePushes(ps)
			// Paged while open by the prober whose rebuild saw it; after
			// its end (09:34) no push may fire it again: Alertmanager,
			// given a firing push of it after the resolve at the same
			// instant or later, notifies it anew.
			open, late := 0, 0
			for _, a := range pages {
				t.Logf("%s from %s: starts %s ends %s %q", a.at.Format("15:04:05.0"), a.from, a.starts.Format("15:04:05"), a.ends.Format("15:04:05"), a.ann["summary"])
				switch firing := a.ends.After(a.at); {
				case firing && a.at.Before(at(34)):
					open++
				case firing:
					late++
				}
			}
			if open == 0 || late != 0 {
				t.Errorf("%d pushes fired it while open, %d after its end: want it paged open and not again", open, late)
			}
		})
	}
}
