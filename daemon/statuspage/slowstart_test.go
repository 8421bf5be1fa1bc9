package statuspage

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/alert"
	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/state"
)

// TestFleetSlowFirstBuildNoLapse: seoul-a, down alone (busan-b up: below
// the quorum) restarted at a large store, where the first rebuild builds
// this month's figures and then, for the first time, the 89 days before
// it, each taking 4 minutes (virtual time here). The notifier, fleet-aware,
// had no verdict 5 minutes after its start, in the history build, so it
// lapsed to this prober's own verdict and paged
// SlaprobeFlowDown{location="seoul-a",severity="page"} below the quorum
// until the verdict came 3 minutes later, at every such restart. Now the
// month's figures, once built and holding another location, tell the
// notifier (a verdict saying nothing, Fleet) before the history is built.
func TestFleetSlowFirstBuildNoLapse(t *testing.T) {
	ctx := context.Background()
	s := tempStore(t)
	t0 := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	for i := range 10 {
		at := t0.Add(time.Duration(i) * time.Minute)
		if err := s.AppendRuns(ctx, []probe.Run{fleetRun("seoul-a", at, i < 5), fleetRun("busan-b", at, true)}); err != nil {
			t.Fatal(err)
		}
	}
	clk := clock.NewManual(t0.Add(10 * time.Minute))
	am := &recordingAM{clk: clk}
	hs := httptest.NewServer(am)
	t.Cleanup(hs.Close)
	srv := hs.URL
	n, err := alert.NewNotifier(alert.Options{URLs: []string{srv}, Clock: clk, Location: "seoul-a", Zone: time.UTC,
		FleetAware: true, HoldUntilReconcile: true})
	if err != nil {
		t.Fatal(err)
	}
	own := state.Window{Key: state.Key{Service: "messaging", Flow: "chat", Location: "seoul-a"}, Kind: state.KindDown,
		Start: t0.Add(5 * time.Minute), Confirmed: t0.Add(6 * time.Minute), CauseStep: "login"}
	n.Reconcile([]state.Window{own})
	builds := 0
	page, err := New(fleetConfig("seoul-a"), Options{Store: s, Clock: clk,
		Verdict: func(v Verdict) {
			n.SetFleet(alert.Fleet{Fleet: v.Fleet, NoRuns: !v.Runs, Counted: v.Counted, Unknown: v.Unknown, Next: v.Next})
		},
		Exclusive: func(ctx context.Context, build func(context.Context)) error {
			build(ctx)
			builds++
			clk.Advance(4 * time.Minute)
			return n.Tick(ctx) // the notifier's Run, meanwhile
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := page.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if builds != 2 {
		t.Fatalf("%d builds, want the month's and the history's", builds)
	}
	if err := n.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	for _, a := range am.alerts() {
		if a.labels["severity"] == "page" {
			t.Errorf("paged at %s, below the quorum: %s", a.at.Format("15:04:05"), a.key)
		}
	}
	if act := n.Active(); len(act) != 1 || act[0].Labels["severity"] != "ticket" {
		t.Errorf("after the first verdict: firing %+v, want seoul-a's ticket", act)
	}
}
