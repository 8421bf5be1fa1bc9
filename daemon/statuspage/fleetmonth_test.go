package statuspage

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/probe"
)

// TestFleetMonthStartNoPageBelowQuorum: seoul-a down alone from 23:50 on
// the 30th (below the quorum of seoul-a and busan-b: a ticket), across the
// month's start. At 00:00:10 on the 1st seoul-a's page rebuilt December's
// figures before busan-b's first run of December was stored: they held
// seoul-a's runs alone, so the verdict said "alone" (and seoul-a's window,
// one location of one reporting, counted). seoul-a then paged
// SlaprobeFlowDown{location="seoul-a",severity="page"} for its own window
// below the quorum (and its four tickets were resolved and sent again a
// minute later), every month while a location is down alone at midnight.
// Now figures that lack a location the previous days' figures had
// reporting at their end, in the month's first two intervals, say nothing
// of the fleet (as figures with no run yet): nothing pages, the tickets
// fire on.
func TestFleetMonthStartNoPageBelowQuorum(t *testing.T) {
	ctx := context.Background()
	s := tempStore(t)
	t0 := time.Date(2026, 11, 30, 23, 30, 0, 0, time.UTC)
	clk := clock.NewManual(t0)
	seoul, busan := newPushProber(t, s, clk, "seoul-a", true), newPushProber(t, s, clk, "busan-b", true)
	ps := []*pushProber{seoul, busan}
	ok := func(loc string, at time.Time) bool { return loc != "seoul-a" || at.Before(t0.Add(20*time.Minute)) }
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	for i := 0; i < 30; i++ {
		pushMinute(t, s, clk, at(i), ps, func(loc string) bool { return ok(loc, at(i)) })
	}
	// 00:00: seoul-a's run is stored, and its page rebuilt, before
	// busan-b's run is stored.
	run := func(p *pushProber, when time.Time) {
		clk.Set(when)
		r := fleetRun(p.loc, when, ok(p.loc, when))
		evs := p.m.Observe(&r)
		if err := s.AppendRuns(ctx, []probe.Run{r}); err != nil {
			t.Fatal(err)
		}
		if err := s.AppendEvents(ctx, evs); err != nil {
			t.Fatal(err)
		}
		p.n.Handle(evs)
	}
	rebuild := func(p *pushProber) {
		if err := p.page.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if err := p.n.Tick(ctx); err != nil {
			t.Fatal(err)
		}
	}
	run(seoul, at(30))
	clk.Set(at(30).Add(10 * time.Second))
	rebuild(seoul)
	run(busan, at(30).Add(20*time.Second))
	clk.Set(at(30).Add(30 * time.Second))
	rebuild(seoul)
	rebuild(busan)
	for i := 31; i < 36; i++ {
		pushMinute(t, s, clk, at(i), ps, func(loc string) bool { return ok(loc, at(i)) })
	}
	for _, p := range ps {
		for _, a := range p.am.alerts() {
			if a.labels["severity"] == "page" {
				t.Errorf("%s paged at %s, below the quorum: %s from %s", p.loc, a.at.Format("15:04:05"), a.key, a.starts.Format("15:04:05"))
			}
		}
	}
	tickets := 0
	for _, a := range seoul.am.alerts() {
		if a.labels["severity"] != "ticket" {
			continue
		}
		tickets++
		if !a.starts.Equal(at(20)) || !a.ends.After(a.at) {
			t.Errorf("seoul-a's ticket %s pushed at %s from %s to %s, want firing from 23:50", a.key, a.at.Format("15:04:05"), a.starts.Format("15:04:05"), a.ends.Format("15:04:05"))
		}
	}
	if tickets == 0 {
		t.Errorf("seoul-a pushed no ticket for its window below the quorum")
	}
}

// TestFleetPageAcrossMonthKeepsStart: seoul-a and busan-b both down from
// 23:50 on the 30th (the quorum: a page from 23:50). December's figures cut
// the counted window at the month's start, and the verdict gave that cut
// start: both probers' pages said "has been down since
// 2026-12-01T00:00:00Z" from the first rebuild of December, and a prober
// restarted in December without a state file (PostgreSQL) pushed the page
// with startsAt 00:00, another start for the same alert. Now the verdict
// dates a counted window open since before the month from the previous
// days' figures (already built, as the pages do): since 23:50, startsAt
// 23:50, before and after the month's start and after a restart.
func TestFleetPageAcrossMonthKeepsStart(t *testing.T) {
	s := tempStore(t)
	t0 := time.Date(2026, 11, 30, 23, 30, 0, 0, time.UTC)
	clk := clock.NewManual(t0)
	ps := []*pushProber{newPushProber(t, s, clk, "seoul-a", true), newPushProber(t, s, clk, "busan-b", true)}
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	for i := 0; i < 36; i++ {
		pushMinute(t, s, clk, at(i), ps, func(string) bool { return i < 20 })
	}
	// seoul-a restarted at 00:06 (PostgreSQL: no state file): a new
	// notifier and page, its state machine restored down.
	re := newPushProber(t, s, clk, "seoul-a", true)
	re.m = ps[0].m
	orig := ps[0]
	ps[0] = re
	for i := 36; i < 39; i++ {
		pushMinute(t, s, clk, at(i), ps, func(string) bool { return false })
	}
	for _, p := range []*pushProber{orig, ps[1], re} {
		n := 0
		for _, a := range p.am.alerts() {
			if a.labels["severity"] != "page" {
				continue
			}
			n++
			if !a.starts.Equal(at(20)) {
				t.Errorf("%s (%p) pushed %s at %s from %s, want from 23:50", p.loc, p, a.key, a.at.Format("15:04:05"), a.starts.Format("2006-01-02 15:04"))
			}
			if strings.Contains(a.body, "since 2026-12-01T00:00:00Z") {
				t.Errorf("%s (%p) pushed %s at %s saying since 2026-12-01 00:00", p.loc, p, a.key, a.at.Format("15:04:05"))
			}
		}
		if n == 0 {
			t.Errorf("%s pushed no page", p.loc)
		}
	}
}
