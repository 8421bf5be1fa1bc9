package statuspage

import (
	"context"
	"net/http/httptest"
	"path/filepath"
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
	s, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "r.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
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
