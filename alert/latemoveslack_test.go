package alert

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/state"
)

// TestFleetLateEndMayMoveLongerThanSlack: a counted window whose end the
// verdicts mark as one that may move (state.Window.EndMayMove) for longer
// than lateSlack (a flow of interval 30m, down_after 2, timeout 5m:
// report.Settling 65m; a location stays down, below the quorum, long after
// the counted end) is paged late once when its end settles, not lost.
func TestFleetLateEndMayMoveLongerThanSlack(t *testing.T) {
	ctx := context.Background()
	start, end := t0.Add(80*time.Second), t0.Add(110*time.Second)
	settle := 65 * time.Minute
	moving := counted(start, end)
	moving.Location, moving.QuorumBy, moving.EndMayMove = "busan-b, seoul-a", "seoul-a", true
	settled := moving
	settled.EndMayMove = false

	am := newFakeAM(t)
	clk := clock.NewManual(t0.Add(time.Minute))
	n := newFleetNotifier(t, clk, filepath.Join(t.TempDir(), ".r.db.slaprobe-alerts.json"), am.srv.URL)
	n.Reconcile(nil)
	n.SetFleet(Fleet{Fleet: true})
	mustTick(t, n, ctx)
	for clk.Now().Before(end.Add(2 * time.Hour)) {
		clk.Advance(5 * time.Minute)
		w := settled
		if clk.Now().Before(end.Add(settle)) {
			w = moving
		}
		n.SetFleet(Fleet{Fleet: true, Counted: []state.Window{w}})
		mustTick(t, n, ctx)
	}
	over := 0
	for _, a := range quorumSent(am.all(t)) {
		if a.EndsAt.After(end) && strings.HasSuffix(a.Annotations["summary"], "(over)") {
			over++
		}
	}
	if over != 1 {
		t.Errorf("%d pushes fired it as over, want it paged late once", over)
	}
}

// TestFleetLateEndMayMoveAcrossRestart: a counted window left for a later
// verdict as its end may move (EndMayMove) is paged late once its end
// settles though the prober restarted meanwhile (the state file keeps it):
// it ended before the new notifier started, which alone would drop it,
// and the notifier before did not page it, waiting. Without the state
// file (PostgreSQL) it is lost, as any window that ended before the start.
func TestFleetLateEndMayMoveAcrossRestart(t *testing.T) {
	ctx := context.Background()
	start, end := t0.Add(80*time.Second), t0.Add(110*time.Second)
	moving := counted(start, end)
	moving.Location, moving.QuorumBy, moving.EndMayMove = "busan-b, seoul-a", "seoul-a", true
	settled := moving
	settled.EndMayMove = false

	am := newFakeAM(t)
	clk := clock.NewManual(t0.Add(time.Minute))
	path := filepath.Join(t.TempDir(), ".r.db.slaprobe-alerts.json")
	n := newFleetNotifier(t, clk, path, am.srv.URL)
	n.Reconcile(nil)
	n.SetFleet(Fleet{Fleet: true})
	mustTick(t, n, ctx)
	for _, at := range []time.Duration{2 * time.Minute, 3 * time.Minute} {
		clk.Set(t0.Add(at))
		n.SetFleet(Fleet{Fleet: true, Counted: []state.Window{moving}})
		mustTick(t, n, ctx)
	}
	clk.Set(t0.Add(4 * time.Minute))
	n = newFleetNotifier(t, clk, path, am.srv.URL)
	n.Reconcile(nil)
	for clk.Now().Before(t0.Add(20 * time.Minute)) {
		clk.Advance(time.Minute)
		n.SetFleet(Fleet{Fleet: true, Counted: []state.Window{settled}})
		mustTick(t, n, ctx)
	}
	over := 0
	for _, a := range quorumSent(am.all(t)) {
		if a.EndsAt.After(end) && strings.HasSuffix(a.Annotations["summary"], "(over)") {
			over++
		}
	}
	if over != 1 {
		t.Errorf("%d pushes fired it as over, want it paged late once", over)
	}
}
