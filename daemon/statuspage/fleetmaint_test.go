package statuspage

import (
	"context"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/alert"
	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
)

// TestFleetPageHeldByQuorumKnown: two probers (seoul-a, busan-b) on one
// store, quorum majority (both), chat down at both from 09:30; a planned
// maintenance of messaging begins at 09:31:04. The quorum is confirmed by
// the 09:31 runs: seoul-a's ended at 09:31:00.3, busan-b's began 4 s before
// the maintenance and hung to its 9 s timeout, so the quorum's confirmation
// was known at 09:31:09, inside the maintenance: neither prober pages, as a
// prober alone whose confirming run hung into a maintenance does not
// (alert.TestMaintenanceHoldsWindowKnownInIt). The page goes out when the
// maintenance ends (09:40) with the window still open. Before, the counted
// window carried no Known (report.Window had none), the hold read its
// confirmed (09:31:00, before the maintenance), and both probers paged at
// the 09:31:30 rebuild, during the planned work.
func TestFleetPageHeldByQuorumKnown(t *testing.T) {
	ctx := context.Background()
	s := tempStore(t)
	t0 := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	clk := clock.NewManual(t0)
	maintEnd := at(40)
	plan := config.MaintenancePlan{{Service: "messaging", Start: at(31).Add(4 * time.Second), End: maintEnd, Reason: "planned database upgrade"}}
	ps := []*pushProber{newPushProber(t, s, clk, "seoul-a", true), newPushProber(t, s, clk, "busan-b", true)}
	for _, p := range ps {
		p.n.SetMaintenance(plan)
	}
	for i := 0; i < 43; i++ {
		ok := i < 30
		for _, p := range ps {
			r := fleetRun(p.loc, at(i), ok)
			if i == 31 && p.loc == "busan-b" {
				r.Start, r.Duration = at(31), 9*time.Second // hung to its timeout
			}
			clk.Set(r.Start.Add(r.Duration)) // the daemon hands a run's events over as it ends
			evs := p.m.Observe(&r)
			if err := s.AppendRuns(ctx, []probe.Run{r}); err != nil {
				t.Fatal(err)
			}
			if err := s.AppendEvents(ctx, evs); err != nil {
				t.Fatal(err)
			}
			p.n.Handle(evs)
		}
		clk.Set(at(i).Add(30 * time.Second))
		for _, p := range ps {
			if err := p.page.Refresh(ctx); err != nil {
				t.Fatal(err)
			}
			if err := p.n.Tick(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, p := range ps {
		var paged, early bool
		for _, a := range p.am.alerts() {
			if a.labels["severity"] != "page" {
				continue
			}
			if a.at.Before(maintEnd) {
				if early {
					continue
				}
				early = true
				t.Errorf("%s paged at %s during the maintenance (the quorum's confirmation known at 09:31:09, inside it): %s", p.loc, a.at.Format("15:04:05"), a.key)
				continue
			}
			if a.labels["location"] == alert.QuorumLocation && a.starts.Equal(at(30)) && a.ends.After(a.at) {
				paged = true
			}
		}
		if !paged {
			t.Errorf("%s sent no quorum page from 09:30 after the maintenance ended with the window open", p.loc)
		}
	}
}
