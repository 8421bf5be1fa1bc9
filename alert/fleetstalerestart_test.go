package alert

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/state"
)

// TestRestartDaysLaterWholeFleetStopped: every prober of the fleet
// stopped while the quorum's page fired from t0 (their data ends at
// t0+5m), and seoul-a started again three days later, its store
// reachable, a new outage of the flow found by its first runs. Alertmanager
// ended the page three days ago (its endsAt passed). Before, the start
// (Reconcile) left the state file's page to the first verdict, and sent
// it again meanwhile, firing from t0: a new notification, "down since"
// three days back, for an outage nothing measured since. Now such a page
// is not sent again, as a start without the store (Unhold) does not send
// it: the first verdict pages the new outage from its own start.
func TestRestartDaysLaterWholeFleetStopped(t *testing.T) {
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
	if err := n.Run(cancelled()); err != nil {
		t.Fatal(err)
	}

	stop := t0.Add(5 * time.Minute)
	clk.Advance(72 * time.Hour)
	second := clk.Now().Add(-2 * time.Minute)
	n = newFleetNotifier(t, clk, path, am.srv.URL)
	seen := len(am.all(t))
	n.Reconcile([]state.Window{flowWindow(state.KindDown, "", second)})
	mustTick(t, n, ctx)
	clk.Advance(30 * time.Second)
	// Nothing measured the flow between the stop and the new outage (no
	// location ran): the figures do not say the first outage ended, but
	// its page is not carried on as the new one's (see unmeasured).
	n.SetFleet(Fleet{Fleet: true, Counted: []state.Window{counted(t0, stop), counted(second, time.Time{})}, Unknown: []state.Window{gapOf(stop, second)}, Next: time.Minute})
	mustTick(t, n, ctx)
	for _, a := range am.all(t)[seen:] {
		if a.StartsAt.Equal(t0) && a.EndsAt.After(second) {
			t.Errorf("restarted three days after the whole fleet stopped: sent the old page firing (startsAt %s, endsAt %s)", a.StartsAt, a.EndsAt)
		}
	}
	if got := firingAt(n, "page", QuorumLocation); len(got) != 1 || !got[0].StartsAt.Equal(second) {
		t.Errorf("firing %+v, want the quorum's page from %s (the new outage)", n.Active(), second)
	}
}
