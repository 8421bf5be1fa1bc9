package statuspage

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/alert"
	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/probe"
)

// TestFleetShortOutagePages: two probers (seoul-a, busan-b) on one store,
// quorum majority, their figures rebuilt every 5 minutes (a large
// config's period), both down for two runs (09:31 and 09:32, back at
// 09:33): a counted window of 2 minutes that the report counts, between
// the rebuilds of 09:30:30 and 09:35:30. Without kicks (the rows
// "period"), no verdict sees it open: it is paged after its end by one
// prober (busan-b, the first of its locations), firing once from 09:31
// and resolved with endsAt 09:33 ten minutes later (twice the verdicts'
// period); before, neither prober pushed anything but seoul-a's and
// busan-b's tickets "below the quorum". With each prober's own window
// kicking a rebuild (as cmd/slaprobe wires Notifier.SetFleetChange to
// Page.Kick, Run waiting as waitRebuild does), the window's page fires at
// 09:32:02, two seconds after the confirming runs (the second prober's
// 2 s after the first's rebuild: the test runs them one after the other),
// and resolves with endsAt 09:33 at the kicked rebuild after the runs of 09:33, the page of an open window as ever; no
// ticket says "not counted" for the minute it was counted.
func TestFleetShortOutagePages(t *testing.T) {
	for _, kicks := range []bool{false, true} {
		name := "period"
		if kicks {
			name = "kicked"
		}
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := tempStore(t)
			t0 := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
			at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
			clk := clock.NewManual(t0)
			ps := []*pushProber{newPushProber(t, s, clk, "seoul-a", true), newPushProber(t, s, clk, "busan-b", true)}
			for _, p := range ps {
				p.page.opts.Rebuild = 5 * time.Minute
				if kicks {
					p.n.SetFleetChange(p.page.Kick)
				}
			}
			ends := map[*pushProber]time.Time{}
			kickTaken := map[*pushProber][]time.Time{} // when each wait took a kick
			rebuild := func(p *pushProber) {
				p.rebuild(ctx, t)
				ends[p] = clk.Now() // the manual clock stands still meanwhile
			}
			for i := 0; i < 50; i++ {
				clk.Set(at(i))
				for _, p := range ps {
					r := fleetRun(p.loc, at(i), i < 31 || i >= 33)
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
						// Run's wait, kicked: it returns when the
						// kicked rebuild is due (the probers' one
						// after the other here).
						kickTaken[p] = append(kickTaken[p], clk.Now())
						if err := p.page.waitRebuild(ctx, ends[p], 5*time.Minute); err != nil {
							t.Fatal(err)
						}
						rebuild(p)
					}
				}
				clk.Set(at(i).Add(30 * time.Second))
				for _, p := range ps {
					if i%5 == 0 { // the periodic rebuilds
						rebuild(p)
					} else if err := p.n.Tick(ctx); err != nil {
						t.Fatal(err)
					}
				}
			}
			// The pages pushed, by prober.
			total := 0
			for _, p := range ps {
				var pages []pushed
				for _, a := range p.am.alerts() {
					if a.labels["severity"] == "page" && a.labels["alertname"] == alert.NameFlowDown {
						pages = append(pages, a)
					}
					if kicks && a.labels["severity"] == "ticket" && a.at.After(at(32)) && a.ends.After(a.at) {
						t.Errorf("%s: a ticket firing at %s while the quorum counted the window: %s %s", p.loc, a.at.Format("15:04:05"), a.key, a.ann["description"])
					}
				}
				total += len(pages)
				if len(pages) == 0 {
					continue
				}
				first, last := pages[0], pages[len(pages)-1]
				if !first.starts.Equal(at(31)) || !first.ends.After(first.at) {
					t.Errorf("%s's first page push: starts %s ends %s at %s, want firing from 09:31", p.loc, first.starts.Format("15:04:05"), first.ends.Format("15:04:05"), first.at.Format("15:04:05"))
				}
				if !last.ends.Equal(at(33)) || last.ends.After(last.at) {
					t.Errorf("%s's last page push: ends %s at %s, want resolved with endsAt 09:33", p.loc, last.ends.Format("15:04:05"), last.at.Format("15:04:05"))
				}
				var want time.Time
				if kicks {
					for _, k := range kickTaken[p] {
						if !k.Before(at(32)) {
							want = k.Add(kickSettle) // the first kick from 09:32, the confirming run
							break
						}
					}
				} else {
					want = at(35).Add(30 * time.Second)
					if p.loc != "busan-b" {
						t.Errorf("%s paged it late; want busan-b alone, the first of its locations", p.loc)
					}
					if !strings.Contains(first.ann["summary"], "(over)") {
						t.Errorf("%s's late page's summary %q does not say it is over", p.loc, first.ann["summary"])
					}
					if len(pages) != 2 || !last.at.Equal(want.Add(10*time.Minute)) {
						t.Errorf("%s pushed the late page %d times, the last at %s; want firing once, then its resolve at %s", p.loc, len(pages), last.at.Format("15:04:05"), want.Add(10*time.Minute).Format("15:04:05"))
					}
				}
				if !first.at.Equal(want) {
					t.Errorf("%s paged at %s, want %s", p.loc, first.at.Format("15:04:05"), want.Format("15:04:05"))
				}
			}
			if total == 0 {
				t.Fatalf("the counted window (09:31 to 09:33) paged from neither prober")
			}
		})
	}
}
