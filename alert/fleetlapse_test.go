package alert

import (
	"context"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/state"
)

// TestFleetLapseKeepsPageItsOutageGoesOn: three probers on one
// PostgreSQL, the platform down at all of them and the quorum's page
// firing, when the database stops for 6 minutes. Every prober lapsed 5
// minutes after the last verdict and stopped sending the quorum's page,
// so no prober sent it and Alertmanager ended it at its endsAt (a resolved
// notification 30 s into the lapse, measured live, while the platform was
// still down), and each paged from its own location instead (a new page
// per prober), and the verdict back fired the quorum's page again (another
// new one): three pages and a resolve before the recovery for one outage
// and a database restart. Now a lapsed prober keeps sending the quorum's
// page of a window its own measurement says goes on (its own window of the
// same flow or function open), and sends no page of its own for it; once
// its own window closes it stops sending it (not resolved: others may push
// it), and the verdict back resolves it at the counted window's end.
func TestFleetLapseKeepsPageItsOutageGoesOn(t *testing.T) {
	ctx := context.Background()
	am := newFakeAM(t)
	clk := clock.NewManual(t0)
	n := newFleetNotifier(t, clk, "", am.srv.URL)
	n.Reconcile(nil)
	own := flowWindow(state.KindDown, "", t0)
	n.Handle([]state.Event{open(own)})
	clk.Advance(time.Minute)
	n.SetFleet(Fleet{Fleet: true, Counted: []state.Window{counted(t0, time.Time{})}, Next: time.Minute})
	mustTick(t, n, ctx)
	// The store is gone: no verdict for 10 minutes, seoul-a still down.
	lastQuorum := func() (Alert, bool) {
		var last Alert
		found := false
		for _, a := range am.all(t) {
			if a.Labels["location"] == QuorumLocation {
				last, found = a, true
			}
		}
		return last, found
	}
	for range 20 {
		clk.Advance(30 * time.Second)
		mustTick(t, n, ctx)
		if a, ok := lastQuorum(); !ok || !a.EndsAt.After(clk.Now()) {
			t.Fatalf("%s, seoul-a still down: the quorum's page ends in Alertmanager at %s (nothing re-sends it), want it firing", clk.Now().Sub(t0), a.EndsAt)
		}
	}
	for _, a := range am.all(t) {
		if a.Labels["location"] == "seoul-a" && a.Labels["severity"] == "page" {
			t.Fatalf("seoul-a paged from its own location (startsAt %s) beside the quorum's page it keeps", a.StartsAt)
		}
	}
	// seoul-a's own window closes while the store is still gone: it no
	// longer says the outage goes on, so it stops sending the page without
	// resolving it (others may read the store and push it still).
	end := clk.Now()
	seen := len(am.all(t))
	n.Handle([]state.Event{closeAt(own, end)})
	mustTick(t, n, ctx)
	if got := firingAt(n, "page", QuorumLocation); len(got) != 0 {
		t.Fatalf("seoul-a up, lapsed: still sending %+v", got)
	}
	for _, a := range am.all(t)[seen:] {
		if a.Labels["location"] == QuorumLocation && !a.EndsAt.After(end) {
			t.Fatalf("the lapsed prober resolved the quorum's page (endsAt %s)", a.EndsAt)
		}
		if a.Labels["location"] == "seoul-a" {
			t.Fatalf("seoul-a's own alert sent while lapsed: %+v", a.Labels)
		}
	}
	// The store is back: the verdict says the counted window ended.
	clk.Advance(time.Minute)
	n.SetFleet(Fleet{Fleet: true, Counted: []state.Window{counted(t0, end)}, Next: time.Minute})
	mustTick(t, n, ctx)
	if len(n.Active()) != 0 {
		t.Fatalf("the verdict back, all up: firing %+v", n.Active())
	}
}

// TestFleetLapseBackAloneResolvesKeptPage: a lapsed prober keeping the
// quorum's page (its own window open) whose store comes back with figures
// that hold no other location (the others left the fleet) follows its own
// verdict: the quorum's page is resolved and its own page fires, as a
// fleet's prober that finds itself alone does.
func TestFleetLapseBackAloneResolvesKeptPage(t *testing.T) {
	ctx := context.Background()
	am := newFakeAM(t)
	clk := clock.NewManual(t0)
	n := newFleetNotifier(t, clk, "", am.srv.URL)
	n.Reconcile(nil)
	own := flowWindow(state.KindDown, "", t0)
	n.Handle([]state.Event{open(own)})
	clk.Advance(time.Minute)
	n.SetFleet(Fleet{Fleet: true, Counted: []state.Window{counted(t0, time.Time{})}, Next: time.Minute})
	mustTick(t, n, ctx)
	clk.Advance(6 * time.Minute)
	mustTick(t, n, ctx)
	n.SetFleet(Fleet{Counted: []state.Window{own}})
	mustTick(t, n, ctx)
	if got := firingAt(n, "page", QuorumLocation); len(got) != 0 {
		t.Errorf("alone again: the quorum's page still fires: %+v", got)
	}
	if got := firingAt(n, "page", "seoul-a"); len(got) != 1 || !got[0].StartsAt.Equal(t0) {
		t.Errorf("alone again: firing %+v, want seoul-a's own page from %s", n.Active(), t0)
	}
}
