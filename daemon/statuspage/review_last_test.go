package statuspage

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/daemon"
	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/state"
	"github.com/slaprobe/slaprobe/store"
)

// TestFleetOtherServiceReportingIsNoUp: seoul-a's config has messaging
// (flow chat) and billing (flow pay); busan-b, with another config, runs
// pay only, and keeps running. seoul-a ran both for 20 minutes, stopped for
// 30 and has just restarted (its machines unknown). Nobody measures chat
// now, so messaging's functions are unknown on both pages, not up: busan-b
// reporting pay says nothing of chat.
func TestFleetOtherServiceReportingIsNoUp(t *testing.T) {
	from := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	now := from.Add(50 * time.Minute)
	ctx := context.Background()
	s := tempStore(t)
	cfg := fleetConfig("seoul-a")
	cfg.Services = append(cfg.Services, config.Service{Name: "billing", Objective: 0.999, Flows: []config.Flow{{
		Name: "pay", Service: "billing", Interval: time.Minute, DownAfter: 2, UpAfter: 1,
		Steps: []config.Step{{Name: "charge", Function: "charge"}},
	}}})
	payRun := func(loc string, at time.Time) probe.Run {
		return probe.Run{ID: loc + "pay" + at.UTC().Format("20060102T150405"), Flow: "pay", Service: "billing", Location: loc,
			Start: at, Duration: 100 * time.Millisecond,
			Steps: []probe.StepResult{{Step: "charge", Function: "charge", Status: probe.StatusOK, Duration: 100 * time.Millisecond}}}
	}
	var runs []probe.Run
	for i := 0; i < 50; i++ {
		at := from.Add(time.Duration(i) * time.Minute)
		runs = append(runs, payRun("busan-b", at))
		if i < 20 {
			runs = append(runs, fleetRun("seoul-a", at, true), payRun("seoul-a", at))
		}
	}
	if err := s.AppendRuns(ctx, runs); err != nil {
		t.Fatal(err)
	}
	chat := state.New("messaging", "chat", "seoul-a", cfg.Services[0].Flows[0].Functions(), state.Policy{Interval: time.Minute, DownAfter: 2, UpAfter: 1})
	live := liveOf(cfg, chat, now) // fresh from the restart: unknown
	p, err := New(cfg, Options{Store: s, Clock: clock.NewManual(now), Live: func() daemon.Status { return live }})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	for _, public := range []bool{true, false} {
		rec := httptest.NewRecorder()
		p.Handler(public).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		h := headline(rec.Body.String())
		if strings.Contains(h, "All services up") {
			t.Errorf("public=%v: %s, want messaging unknown (nobody runs chat for 30 minutes)", public, h)
		}
	}
}

// historyFixture is a fleet (seoul-a, busan-b) of chat every interval from
// from, failing from run fail on; run i lasts took(i). feed(a, b) stores
// runs a..b-1 of both locations and their events.
func historyFixture(t *testing.T, interval time.Duration, downAfter, fail int, took func(int) time.Duration) (*config.Config, store.Store, func(a, b int), map[string]*state.Machine) {
	t.Helper()
	ctx := context.Background()
	s := tempStore(t)
	cfg := fleetConfig("seoul-a")
	f := &cfg.Services[0].Flows[0]
	f.Interval, f.Timeout, f.DownAfter = interval, 2*time.Minute, downAfter
	machines := map[string]*state.Machine{}
	for _, loc := range []string{"busan-b", "seoul-a"} {
		machines[loc] = state.New("messaging", "chat", loc, f.Functions(), state.Policy{Interval: interval, DownAfter: downAfter, UpAfter: 1})
	}
	from := time.Date(2026, 11, 30, 23, 13, 30, 0, time.UTC)
	feed := func(a, b int) {
		for _, loc := range []string{"busan-b", "seoul-a"} {
			var runs []probe.Run
			var evs []state.Event
			for i := a; i < b; i++ {
				r := fleetRun(loc, from.Add(time.Duration(i)*interval), i < fail)
				r.Duration = took(i)
				runs = append(runs, r)
				evs = append(evs, machines[loc].Observe(&r)...)
			}
			if err := s.AppendRuns(ctx, runs); err != nil {
				t.Fatal(err)
			}
			if err := s.AppendEvents(ctx, evs); err != nil {
				t.Fatal(err)
			}
		}
	}
	return cfg, s, feed, machines
}

// TestHistoryBuiltBeforeSlowConfirmingRun: a flow every 5 minutes with a
// 2-minute timeout, down since its run at 23:58:30, confirmed by the run at
// 00:03:30 that timed out and was stored at 00:05:30. The prober restarted
// at 00:04:40 (a deploy), so its history was built with no window to date
// the outage from, and must be built once more: 3d8d571 did so only for a
// window confirmed less than a rebuild period (1m) before the history's
// build, so here (10 s past that) the pages said "down since 2026-12-01
// 00:00" for six hours.
func TestHistoryBuiltBeforeSlowConfirmingRun(t *testing.T) {
	ctx := context.Background()
	took := func(i int) time.Duration {
		if i >= 9 {
			return 2 * time.Minute // timed out
		}
		return 300 * time.Millisecond
	}
	cfg, s, feed, machines := historyFixture(t, 5*time.Minute, 2, 9, took)
	restart := time.Date(2026, 12, 1, 0, 4, 40, 0, time.UTC)
	clk := clock.NewManual(restart)
	feed(0, 10) // up to 23:58:30; the 00:03:30 run is still running
	p, err := New(cfg, Options{Store: s, Clock: clk, Live: func() daemon.Status { return liveOf(cfg, machines["seoul-a"], clk.Now()) }})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	feed(10, 14) // 00:03:30 (stored at 00:05:30) to 00:18:30
	for _, at := range []time.Duration{time.Minute, 2 * time.Minute, 16 * time.Minute} {
		clk.Set(restart.Add(at))
		if err := p.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, public := range []bool{true, false} {
		rec := httptest.NewRecorder()
		p.Handler(public).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		ms := sinceRE.FindAllStringSubmatch(rec.Body.String(), -1)
		if len(ms) == 0 {
			t.Fatalf("public=%v: no open window on the page", public)
		}
		for _, m := range ms {
			if m[2] != "2026-11-30 23:58 UTC" {
				t.Errorf("public=%v: %q, want every open window since 23:58", public, m[0])
				break
			}
		}
	}
}

// TestHistoryNotRebuiltForAFutureConfirmation: a flow every 5 minutes
// with down_after 10, down since 23:58:30 and confirmed at 00:43:30; the
// clock then stepped back to 00:05 (NTP after a VM restore), so the
// confirmation is half an hour ahead of it. The history is built at most once more for it, not at every
// rebuild: 3d8d571 rebuilt the 89 days every minute until the clock caught
// up with the confirmation, an hour of history builds.
func TestHistoryNotRebuiltForAFutureConfirmation(t *testing.T) {
	ctx := context.Background()
	cfg, s, feed, machines := historyFixture(t, 5*time.Minute, 10, 9, func(int) time.Duration { return 300 * time.Millisecond })
	feed(0, 19) // to 00:43:30 on the 1st, down since 23:58:30
	clk := clock.NewManual(time.Date(2026, 12, 1, 0, 5, 0, 0, time.UTC))
	p, err := New(cfg, Options{Store: s, Clock: clk, Live: func() daemon.Status { return liveOf(cfg, machines["seoul-a"], clk.Now()) }})
	if err != nil {
		t.Fatal(err)
	}
	var builds []time.Time
	for i := 0; i < 6; i++ {
		if err := p.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		p.mu.RLock()
		if b := p.histBuilt; len(builds) == 0 || !b.Equal(builds[len(builds)-1]) {
			builds = append(builds, b)
		}
		p.mu.RUnlock()
		clk.Set(clk.Now().Add(time.Minute))
	}
	if len(builds) > 3 {
		t.Errorf("history built %d times in 6 rebuilds a minute apart (%v), want the first and at most two more", len(builds), builds)
	}
}
