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

// TestFleetRestartAtMonthStartNoLapse: seoul-a, down alone since 23:50 on
// the 30th (busan-b up), restarted at 00:01 on the 1st: the month's first
// figures lack busan-b, whose first December run (its flows every 15
// minutes) is not stored yet, and say nothing of the fleet, though the
// previous days' figures show it (Fleet with NoRuns). Before a first
// verdict such figures did not count as a build that works, so 5 minutes
// later the notifier lapsed to this prober's own verdict and paged
// SlaprobeFlowDown{location="seoul-a",severity="page"}, below the quorum,
// every month a prober restarts in a location's first interval. Now a
// verdict that says nothing of a fleet it knows of is waited on, as in a
// fleet; one that knows of none (a prober alone whose runs are not stored)
// still does not hold it silent (TestFleetVerdictSayingNothingIsNoLapse).
func TestFleetRestartAtMonthStartNoLapse(t *testing.T) {
	ctx := context.Background()
	am := newFakeAM(t)
	clk := clock.NewManual(t0)
	n := newFleetNotifier(t, clk, "", am.srv.URL)
	own := flowWindow(state.KindDown, "", t0.Add(-11*time.Minute))
	n.Reconcile([]state.Window{own})
	for range 14 {
		clk.Advance(time.Minute)
		n.SetFleet(Fleet{Fleet: true, NoRuns: true, Next: time.Minute})
		mustTick(t, n, ctx)
		if act := n.Active(); len(act) != 0 {
			t.Fatalf("%s after the restart, the figures saying nothing of the fleet they show: firing %+v, want nothing new",
				clk.Now().Sub(t0), act)
		}
	}
	// busan-b's first run is stored: up there, seoul-a below the quorum.
	clk.Advance(time.Minute)
	n.SetFleet(Fleet{Fleet: true})
	mustTick(t, n, ctx)
	if got := firingAt(n, "ticket", "seoul-a"); len(got) != 1 || len(n.Active()) != 1 {
		t.Fatalf("the fleet's verdict: firing %+v, want the ticket alone", n.Active())
	}
	for _, a := range am.all(t) {
		if a.Labels["severity"] == "page" {
			t.Fatalf("paged below the quorum: %+v", a)
		}
	}
}

// TestFleetLapseLeavesQuorumPageToOthers: seoul-a loses the shared store
// (a partition between it and the database) while the platform is down
// everywhere and the quorum's page fires, pushed alike by busan-b, which
// still reads the store. Five minutes later seoul-a lapsed to its own
// verdict and resolved SlaprobeFlowDown{location="quorum"}: Alertmanager
// takes the younger update, so the page busan-b still fired was resolved
// (a resolved notification) and fired again at busan-b's next resend (a
// new one), and when seoul-a's store came back it fired the page again
// with startsAt its lapse, not the counted window's start. Now the lapse
// stops sending the quorum's alerts without resolving them: they go on in
// Alertmanager while any prober that reads the store pushes them, and end
// at their endsAt (4 x resend) if none does; the verdict back sends them
// again from the counted window's start.
func TestFleetLapseLeavesQuorumPageToOthers(t *testing.T) {
	ctx := context.Background()
	am := newFakeAM(t)
	clk := clock.NewManual(t0)
	n := newFleetNotifier(t, clk, "", am.srv.URL)
	n.Reconcile(nil)
	own := flowWindow(state.KindDown, "", t0)
	n.Handle([]state.Event{open(own)})
	verdict := Fleet{Fleet: true, Counted: []state.Window{counted(t0, time.Time{})}, Next: time.Minute}
	clk.Advance(time.Minute)
	n.SetFleet(verdict)
	mustTick(t, n, ctx)
	for range 10 {
		clk.Advance(time.Minute)
		seen := len(am.all(t))
		mustTick(t, n, ctx)
		for _, a := range am.all(t)[seen:] {
			if a.Labels["location"] == QuorumLocation && !a.EndsAt.After(clk.Now()) {
				t.Errorf("%s: the quorum's page was resolved (endsAt %s), under the other probers' pushes", clk.Now().Sub(t0), a.EndsAt)
			}
		}
	}
	// seoul-a's own window goes on: it keeps the quorum's page, and pages
	// nothing of its own beside it (TestFleetLapseKeepsPageItsOutageGoesOn).
	if got := firingAt(n, "page", QuorumLocation); len(got) != 1 || len(n.Active()) != 1 {
		t.Fatalf("no verdict for 10 minutes: firing %+v, want the quorum's page it keeps", n.Active())
	}
	clk.Advance(time.Minute)
	n.SetFleet(verdict)
	mustTick(t, n, ctx)
	if got := firingAt(n, "page", QuorumLocation); len(got) != 1 || len(n.Active()) != 1 {
		t.Fatalf("the verdict back: firing %+v, want the quorum's page alone", n.Active())
	}
	for _, a := range am.all(t) {
		if a.Labels["location"] != QuorumLocation {
			continue
		}
		if !a.StartsAt.Equal(t0) {
			t.Errorf("the quorum's page was sent from %s, want from the counted window's start %s", a.StartsAt, t0)
		}
	}
}
