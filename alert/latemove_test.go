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

// TestFleetLateWaitsForEndThatMayMove: a counted window that began and
// ended between two verdicts, but whose end the verdict says may yet move
// (state.Window.EndMayMove: a location window of it lasts past its end and
// another location's confirmation may be in flight), is not paged as over
// at that verdict; the next says what it was: the same window with its
// end settled (paged late then, once), or the outage going on (the
// window open from the same start: paged as open, never as over).
//
// Its first verdict's row failed before pageLate read EndMayMove: the
// window was paged "(over)" at once.
func TestFleetLateWaitsForEndThatMayMove(t *testing.T) {
	ctx := context.Background()
	start, end := t0.Add(80*time.Second), t0.Add(110*time.Second)
	moving := counted(start, end)
	moving.Location, moving.QuorumBy, moving.EndMayMove = "busan-b, seoul-a", "seoul-a", true
	settled := moving
	settled.EndMayMove = false
	goesOn := moving
	goesOn.End, goesOn.EndMayMove = time.Time{}, false
	goesOn.Location = "busan-b, daegu-c, seoul-a"
	for _, tc := range []struct {
		name     string
		next     state.Window // the window at the verdicts that follow
		overOnce bool         // paged late once; else never as over
	}{
		{name: "its end settles", next: settled, overOnce: true},
		{name: "the outage goes on", next: goesOn},
	} {
		t.Run(tc.name, func(t *testing.T) {
			am := newFakeAM(t)
			clk := clock.NewManual(t0.Add(time.Minute))
			n := newFleetNotifier(t, clk, filepath.Join(t.TempDir(), ".r.db.slaprobe-alerts.json"), am.srv.URL)
			n.Reconcile(nil)
			n.SetFleet(Fleet{Fleet: true})
			mustTick(t, n, ctx)

			clk.Set(t0.Add(2 * time.Minute))
			n.SetFleet(Fleet{Fleet: true, Counted: []state.Window{moving}})
			mustTick(t, n, ctx)
			if q := quorumSent(am.all(t)); len(q) != 0 {
				t.Fatalf("at the verdict whose end may move: %+v, want nothing yet", q)
			}
			for clk.Now().Before(t0.Add(10 * time.Minute)) {
				clk.Advance(time.Minute)
				n.SetFleet(Fleet{Fleet: true, Counted: []state.Window{tc.next}})
				mustTick(t, n, ctx)
			}
			over, open := 0, 0
			for _, a := range quorumSent(am.all(t)) {
				if !a.EndsAt.After(end) {
					continue // the late page's resolve, endsAt its end
				}
				if strings.HasSuffix(a.Annotations["summary"], "(over)") {
					over++
				} else {
					open++
				}
			}
			if tc.overOnce && (over != 1 || open != 0) {
				t.Errorf("%d pushes fired it as over, %d as open: want it paged late once", over, open)
			}
			if !tc.overOnce && (over != 0 || open == 0) {
				t.Errorf("%d pushes fired it as over, %d as open: want it paged open, never as over", over, open)
			}
		})
	}
}
