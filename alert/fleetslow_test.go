package alert

import (
	"context"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/state"
)

// TestFleetSlowRebuildsNoLapse: a large config's status page rebuilds the
// month's figures every 9 times its last build (rounded up to whole minutes
// and aligned on the clock: a build of 35 s, 89 days of history included,
// is a rebuild 6 to 9 minutes later), so good builds give a verdict every 7
// minutes. The notifier learnt the interval between verdicts only when it
// was shorter than the wait (5 minutes), so it never learnt 7: 5 minutes
// after each verdict it lapsed (logged "no verdict of the fleet"), resolved
// the quorum's page and paged SlaprobeFlowDown{location="seoul-a",
// severity="page"} below the quorum, and 2 minutes later the verdict fired
// the quorum's page again with a new startsAt (another notification), every
// 7 minutes for as long as the outage lasted. Now the verdict says when the
// next is due (Fleet.Next) and the notifier waits three times that.
func TestFleetSlowRebuildsNoLapse(t *testing.T) {
	ctx := context.Background()
	am := newFakeAM(t)
	clk := clock.NewManual(t0)
	n := newFleetNotifier(t, clk, "", am.srv.URL)
	n.Reconcile(nil)
	own := flowWindow(state.KindDown, "", t0)
	n.Handle([]state.Event{open(own)})
	const every = 7 * time.Minute
	verdict := Fleet{Fleet: true, Counted: []state.Window{counted(t0, time.Time{})}, Next: every + 30*time.Second}
	n.SetFleet(verdict)
	mustTick(t, n, ctx)
	for i := range 10 {
		for range 7 {
			clk.Advance(time.Minute)
			mustTick(t, n, ctx)
			act := n.Active()
			if len(act) != 1 || act[0].Labels["location"] != QuorumLocation || !act[0].StartsAt.Equal(t0) {
				t.Fatalf("%s after verdict %d (every %s): firing %+v, want the quorum's page from %s alone",
					clk.Now().Sub(t0), i, every, act, t0.Format("15:04"))
			}
		}
		n.SetFleet(verdict)
		mustTick(t, n, ctx)
	}
	for _, a := range am.all(t) {
		if a.Labels["location"] != QuorumLocation && a.Labels["severity"] == "page" {
			t.Fatalf("this prober's own page was sent below the quorum: %+v", a)
		}
	}
}
