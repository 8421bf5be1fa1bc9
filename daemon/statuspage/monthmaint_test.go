package statuspage

import (
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/alert"
	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
)

// TestFleetRestartInMaintenanceAtMonthStart: two probers (seoul-a,
// busan-b) on one store, quorum majority, chat down at both from 23:50 on
// November 30: the quorum confirmed by the 23:51 runs, paged then. A
// planned maintenance of messaging begins at midnight, December's first
// instant. seoul-a restarts at 00:04 without a state file (PostgreSQL): as
// README says, a window open at startup that was detected before the
// maintenance is sent again, not held. The verdict dated the counted
// window from the previous days' figures (23:50) but kept December's
// confirmation, which the month cuts at its first instant (00:00), so the
// hold read it as detected inside the maintenance: the restarted seoul-a
// held the page until 02:00, while busan-b, never restarted, kept sending
// it. Now the verdict takes the window's confirmed and known from those
// figures too (23:51:00.3).
func TestFleetRestartInMaintenanceAtMonthStart(t *testing.T) {
	s := tempStore(t)
	dec := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	at := func(min int) time.Time { return dec.Add(time.Duration(min) * time.Minute) }
	clk := clock.NewManual(at(-20))
	maintEnd := at(120)
	plan := config.MaintenancePlan{{Service: "messaging", Start: dec, End: maintEnd, Reason: "planned database upgrade"}}
	ps := []*pushProber{newPushProber(t, s, clk, "seoul-a", true), newPushProber(t, s, clk, "busan-b", true)}
	for _, p := range ps {
		p.n.SetMaintenance(plan)
	}
	up := func(string) bool { return clk.Now().Before(at(-10)) } // each run at its minute
	for i := -20; i < 4; i++ {
		pushMinute(t, s, clk, at(i), ps, up)
	}
	// seoul-a restarts: its state machine is restored (from the store),
	// its notifier and page are new.
	restarted := newPushProber(t, s, clk, "seoul-a", true)
	restarted.m = ps[0].m
	restarted.n.SetMaintenance(plan)
	ps[0] = restarted
	for i := 4; i < 10; i++ {
		pushMinute(t, s, clk, at(i), ps, up)
	}
	for _, p := range ps {
		paged := false
		for _, a := range p.am.alerts() {
			if a.labels["severity"] == "page" && a.labels["location"] == alert.QuorumLocation && a.starts.Equal(at(-10)) && a.ends.After(a.at) {
				paged = true
			}
		}
		if !paged {
			t.Errorf("%s sent no quorum page from 23:50 after its start (detected at 23:51, before the maintenance)", p.loc)
		}
	}
}
