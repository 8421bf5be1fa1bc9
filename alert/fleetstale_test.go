package alert

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/state"
)

// firingAt returns the firing alerts the notifier holds of the flow at
// severity sev and location loc.
func firingAt(n *Notifier, sev, loc string) []Alert {
	var out []Alert
	for _, a := range n.Active() {
		if a.Labels["severity"] == sev && a.Labels["location"] == loc {
			out = append(out, a)
		}
	}
	return out
}

// TestFleetAwareWithoutVerdictNotSilent: a fleet-aware notifier (as the
// daemon makes every one) whose status page never completes a build of the
// month's figures (the store unreachable or locked, a build that times out
// or hangs at 50,000 flows) is never told whether it is in a fleet. A
// prober alone on such a store sent nothing new at all before: down at
// 21:48 and still down an hour later, no page, Active empty. Now, once no
// verdict has come for fleetWait (5 minutes), it pushes its own verdict as
// a prober alone does: its page, location seoul-a, from its window's start.
func TestFleetAwareWithoutVerdictNotSilent(t *testing.T) {
	ctx := context.Background()
	am := newFakeAM(t)
	clk := clock.NewManual(t0)
	n := newFleetNotifier(t, clk, "", am.srv.URL)
	n.Reconcile(nil)
	own := flowWindow(state.KindDown, "", t0.Add(time.Minute))
	clk.Set(t0.Add(2 * time.Minute))
	n.Handle([]state.Event{open(own)})
	mustTick(t, n, ctx)
	if act := n.Active(); len(act) != 0 {
		t.Fatalf("before fleetWait, with no verdict: %+v, want nothing new (the window may be below a quorum)", act)
	}
	clk.Set(t0.Add(fleetWait + time.Second))
	if d := n.nextWake(clk.Now()); d > time.Minute {
		t.Errorf("Run sleeps %s past the verdict's deadline", d)
	}
	mustTick(t, n, ctx)
	act := firingAt(n, "page", "seoul-a")
	if len(act) != 1 || !act[0].StartsAt.Equal(own.Start) {
		t.Fatalf("no verdict for %s: firing %+v, want this prober's own page from %s", fleetWait, n.Active(), own.Start)
	}
	if _, last := am.posts(); len(last) == 0 || last[0].Labels["severity"] != "page" {
		t.Fatalf("the page was not sent: %+v", last)
	}
	// A later window goes within the run, as a prober alone's does.
	fn := flowWindow(state.KindDown, "login", clk.Now())
	n.Handle([]state.Event{open(fn)})
	if got := firingAt(n, "page", "seoul-a"); len(got) != 2 {
		t.Fatalf("a window opened after the fallback: firing %+v, want two pages", n.Active())
	}
}

// TestFleetVerdictStaleFallsBackToOwn: in a fleet whose builds of the
// figures stop (the shared database unreachable while the platform is
// down: the moment pages matter), the notifier kept the last verdict for
// ever: a window of this prober's own that opened meanwhile (the platform
// down everywhere, but no build to say the quorum counts it) was a ticket
// for as long as the builds failed, and never paged. Now, fleetWait after
// the last verdict, it pushes its own verdict: its own page, location
// seoul-a (the quorum's page is resolved: nothing says it goes on); when a
// build succeeds again the fleet's verdict is back.
func TestFleetVerdictStaleFallsBackToOwn(t *testing.T) {
	ctx := context.Background()
	am := newFakeAM(t)
	clk := clock.NewManual(t0)
	n := newFleetNotifier(t, clk, "", am.srv.URL)
	n.Reconcile(nil)
	n.SetFleet(Fleet{Fleet: true}) // nothing down
	mustTick(t, n, ctx)
	clk.Advance(time.Minute)
	n.SetFleet(Fleet{Fleet: true})
	// The store goes; seoul-a's window opens: below any quorum the
	// notifier knows of, a ticket.
	clk.Advance(30 * time.Second)
	own := flowWindow(state.KindDown, "", clk.Now())
	n.Handle([]state.Event{open(own)})
	mustTick(t, n, ctx)
	if got := firingAt(n, "ticket", "seoul-a"); len(got) != 1 {
		t.Fatalf("below the quorum: %+v, want a ticket", n.Active())
	}
	clk.Advance(fleetWait)
	mustTick(t, n, ctx)
	if got := firingAt(n, "page", "seoul-a"); len(got) != 1 || !got[0].StartsAt.Equal(own.Start) {
		t.Fatalf("no verdict for %s: firing %+v, want this prober's own page from %s", fleetWait, n.Active(), own.Start)
	}
	if got := firingAt(n, "ticket", "seoul-a"); len(got) != 0 {
		t.Errorf("the ticket still fires beside the page: %+v", got)
	}
	// The store is back: the builds' verdict rules again.
	clk.Advance(time.Minute)
	n.SetFleet(Fleet{Fleet: true, Counted: []state.Window{counted(own.Start, time.Time{})}})
	mustTick(t, n, ctx)
	if got := firingAt(n, "page", QuorumLocation); len(got) != 1 || len(n.Active()) != 1 {
		t.Fatalf("the verdict back: firing %+v, want the quorum's page alone", n.Active())
	}
}

// TestFleetVerdictSayingNothingIsNoLapse: in a fleet, good builds whose
// figures say nothing of the fleet (the month's first moments: no run yet,
// or a location's first run of the month not stored yet, for up to two of
// the longest flow interval) are builds that work: the notifier keeps the
// fleet's verdict past fleetWait and does not page on its own window below
// the quorum. Before a first verdict, figures with no run for fleetWait
// (this prober's runs not stored) do not hold it silent.
func TestFleetVerdictSayingNothingIsNoLapse(t *testing.T) {
	ctx := context.Background()
	am := newFakeAM(t)
	clk := clock.NewManual(t0)
	n := newFleetNotifier(t, clk, "", am.srv.URL)
	n.Reconcile(nil)
	n.SetFleet(Fleet{Fleet: true})
	own := flowWindow(state.KindDown, "", clk.Now())
	n.Handle([]state.Event{open(own)})
	for range 10 {
		clk.Advance(time.Minute)
		n.SetFleet(Fleet{NoRuns: true})
		mustTick(t, n, ctx)
	}
	if got := firingAt(n, "ticket", "seoul-a"); len(got) != 1 || len(n.Active()) != 1 {
		t.Fatalf("10 minutes of figures saying nothing: firing %+v, want the ticket alone", n.Active())
	}

	n = newFleetNotifier(t, clk, "", am.srv.URL)
	n.Reconcile(nil)
	n.Handle([]state.Event{open(own)})
	for range 6 {
		clk.Advance(time.Minute)
		n.SetFleet(Fleet{NoRuns: true})
		mustTick(t, n, ctx)
	}
	if got := firingAt(n, "page", "seoul-a"); len(got) != 1 {
		t.Fatalf("6 minutes of figures with no run before a first verdict: firing %+v, want this prober's own page", n.Active())
	}
}

// TestRestartAloneResolvesFleetAlerts: a prober of a fleet restarted with
// its state file (SQLite) finds itself alone (the other location gone from
// the month's figures). Reconcile leaves the fleet's alerts the state file
// brings back to the first verdict (the quorum's page, and this prober's
// ticket below the quorum); that verdict said alone and opened this
// prober's own page, but nothing resolved the two: the quorum's page and
// the ticket were re-sent every resend for as long as the prober ran,
// firing in Alertmanager for ever. Now the first verdict resolves them.
func TestRestartAloneResolvesFleetAlerts(t *testing.T) {
	ctx := context.Background()
	am := newFakeAM(t)
	clk := clock.NewManual(t0)
	path := filepath.Join(t.TempDir(), ".r.db.slaprobe-alerts.json")
	own := flowWindow(state.KindDown, "", t0)
	other := flowWindow(state.KindDown, "", t0)
	other.Flow = "other"
	n := newFleetNotifier(t, clk, path, am.srv.URL)
	n.Reconcile(nil)
	n.Handle([]state.Event{open(own)})
	clk.Advance(5 * time.Minute)
	n.SetFleet(Fleet{Fleet: true, Counted: []state.Window{counted(t0.Add(time.Minute), time.Time{})}})
	// busan-b stopped; the quorum's page is seoul-a's, below it on other.
	mustTick(t, n, ctx)
	if len(n.Active()) != 1 {
		t.Fatalf("before the restart: %+v, want the quorum's page", n.Active())
	}
	n.Handle([]state.Event{open(other)})
	mustTick(t, n, ctx)
	if len(firingAt(n, "ticket", "seoul-a")) != 1 {
		t.Fatalf("before the restart: %+v, want a ticket beside the quorum's page", n.Active())
	}
	if err := n.Run(cancelled()); err != nil {
		t.Fatal(err)
	}

	clk.Advance(time.Minute)
	n = newFleetNotifier(t, clk, path, am.srv.URL)
	n.Reconcile([]state.Window{own, other})
	n.SetFleet(Fleet{Fleet: false})
	mustTick(t, n, ctx)
	act := n.Active()
	if len(act) != 2 || len(firingAt(n, "page", "seoul-a")) != 2 {
		t.Fatalf("alone after the restart: firing %+v, want this prober's two own pages alone", act)
	}
}

func cancelled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}
