package statuspage

import (
	"context"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/probe"
)

// TestFleetStaggeredShortOutagePagesOnce: two probers (seoul-a, busan-b)
// on one store and one Alertmanager, quorum majority, rebuilt every 5
// minutes and kicked by their own windows (as cmd/slaprobe wires them),
// down in turn: one from 09:30 (confirmed at 09:31), the other from 09:31
// (confirmed at 09:32, its run reaching the quorum), both back at 09:34.
// The prober whose run reached the quorum sees the counted window open at
// its kicked rebuild (09:32:02) and pages it; the page must reach the
// on-call once: no push of either prober may fire it again after it was
// resolved (Alertmanager notifies a resolved alert that fires again anew).
//
// Failed on fleetpage (row "busan-b down first"): seoul-a, whose run of
// 09:32 reached the quorum, paged at 09:32:02 and resolved at 09:34:02;
// busan-b, the first of the window's locations, down since 09:30, had no
// kick at 09:32 (its own window did not change) and no periodic rebuild
// before 09:35:30, so its kicked rebuild after its own close (09:34:04)
// saw the counted window closed, never seen open by it, and paged it
// late: firing again in Alertmanager after seoul-a's resolve, a second
// notification of a 3-minute outage. The prober elected for late pages is
// now the one whose window reached the quorum (state.Window.QuorumBy).
func TestFleetStaggeredShortOutagePagesOnce(t *testing.T) {
	for _, first := range []string{"seoul-a", "busan-b"} {
		t.Run(first+" down first", func(t *testing.T) {
			ctx := context.Background()
			s := tempStore(t)
			t0 := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
			at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
			clk := clock.NewManual(t0)
			ps := []*pushProber{newPushProber(t, s, clk, "seoul-a", true), newPushProber(t, s, clk, "busan-b", true)}
			for _, p := range ps {
				p.page.opts.Rebuild = 5 * time.Minute
				p.n.SetFleetChange(p.page.Kick)
			}
			down := func(p *pushProber, i int) bool {
				if p.loc == first {
					return i >= 30 && i < 34
				}
				return i >= 31 && i < 34
			}
			ends := map[*pushProber]time.Time{}
			rebuild := func(p *pushProber) {
				p.rebuild(ctx, t)
				ends[p] = clk.Now() // the manual clock stands still meanwhile
			}
			for i := 0; i < 50; i++ {
				clk.Set(at(i))
				for _, p := range ps {
					r := fleetRun(p.loc, at(i), !down(p, i))
					evs := p.m.Observe(&r)
					if err := s.AppendRuns(ctx, []probe.Run{r}); err != nil {
						t.Fatal(err)
					}
					if err := s.AppendEvents(ctx, evs); err != nil {
						t.Fatal(err)
					}
					p.n.Handle(evs)
				}
				for _, p := range ps {
					if len(p.page.kick) > 0 && !ends[p].IsZero() {
						if err := p.page.waitRebuild(ctx, ends[p], 5*time.Minute); err != nil {
							t.Fatal(err)
						}
						rebuild(p)
					}
				}
				clk.Set(at(i).Add(30 * time.Second))
				for _, p := range ps {
					if i%5 == 0 {
						rebuild(p)
					} else if err := p.n.Tick(ctx); err != nil {
						t.Fatal(err)
					}
				}
			}
			// Both probers' page pushes, as one Alertmanager receives them.
			pages := pagePushes(ps)
			firings, firing := 0, false
			for _, a := range pages {
				t.Logf("%s from %s: starts %s ends %s %q %s", a.at.Format("15:04:05"), a.from, a.starts.Format("15:04:05"), a.ends.Format("15:04:05"), a.ann["summary"], a.key)
				now := a.ends.After(a.at)
				if now && !firing {
					firings++
				}
				firing = now
			}
			if firings != 1 {
				t.Errorf("the page fired %d times in Alertmanager, want once", firings)
			}
		})
	}
}
