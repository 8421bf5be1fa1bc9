package alert

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/state"
)

// TestRestartDaysLaterQuorumPageOfNewOutage: a fleet's prober stopped
// while the quorum's page of msg fired (down since t0) is started again
// three days later, its store reachable; that outage ended meanwhile and a
// new one of the same flow began ten minutes before the restart, which the
// first verdict counts. The state file's page has the new outage's labels
// (they name no start), so the verdict matched it by fingerprint and kept
// it, dated from t0: Alertmanager paged for a new outage "down for three
// days". The new outage's page starts at its counted window's start.
func TestRestartDaysLaterQuorumPageOfNewOutage(t *testing.T) {
	ctx := context.Background()
	am := newFakeAM(t)
	clk := clock.NewManual(t0)
	path := filepath.Join(t.TempDir(), "slaprobe-alerts-seoul-a.json")
	n := newFleetNotifier(t, clk, path, am.srv.URL)
	n.Reconcile(nil)
	n.Handle([]state.Event{open(flowWindow(state.KindDown, "", t0))})
	clk.Advance(time.Minute)
	n.SetFleet(Fleet{Fleet: true, Counted: []state.Window{counted(t0, time.Time{})}, Next: time.Minute})
	mustTick(t, n, ctx)
	if got := firingAt(n, "page", QuorumLocation); len(got) != 1 {
		t.Fatalf("before the stop: firing %+v, want the quorum's page", n.Active())
	}
	if err := n.Run(cancelled()); err != nil {
		t.Fatal(err)
	}

	clk.Advance(72 * time.Hour)
	second := clk.Now().Add(-10 * time.Minute)
	n = newFleetNotifier(t, clk, path, am.srv.URL)
	n.Reconcile([]state.Window{flowWindow(state.KindDown, "", second)})
	mustTick(t, n, ctx)
	n.SetFleet(Fleet{Fleet: true, Counted: []state.Window{counted(t0, t0.Add(2*time.Hour)), counted(second, time.Time{})}, Next: time.Minute})
	mustTick(t, n, ctx)
	got := firingAt(n, "page", QuorumLocation)
	if len(got) != 1 || !got[0].StartsAt.Equal(second) {
		t.Fatalf("restarted three days later, a new outage since %s counted: the quorum's page firing %+v, want one from %s", second, got, second)
	}
	last := map[int64]Alert{}
	for _, a := range am.all(t) {
		if a.Labels["location"] == QuorumLocation {
			last[a.StartsAt.Unix()] = a
		}
	}
	if a, ok := last[t0.Unix()]; !ok || a.EndsAt.After(t0.Add(2*time.Hour)) {
		t.Errorf("the old outage's page last sent %+v, want it resolved at its window's end %s", a, t0.Add(2*time.Hour))
	}
}
