package alert

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/state"
)

// TestRestartWithoutStoreKeepsQuorumPage: three probers on one
// PostgreSQL, the platform down everywhere and the quorum's page firing;
// the database stops and seoul-a is restarted while it is down, so it
// starts without its store (Unhold: the state file's alerts are sent as
// they were) and no verdict comes. Its fresh machine finds the flow down
// again a minute after the restart. Before, the lapse 5 minutes after the
// start dropped the restored quorum's page (it "knew no page to keep"
// before a first verdict) and paged from seoul-a with startsAt the fresh
// window's start, the restart; at the attach, Reconcile (lapsed: alone)
// resolved the quorum's page, and the verdict back fired it again from
// the resolve. Now the restored page whose window the fresh machine also
// finds down keeps being sent, and nothing of seoul-a's own pages beside
// it, through the lapse, the attach and the verdict back; a restored page
// of a flow the fresh machine finds up is not re-sent once it lapses.
func TestRestartWithoutStoreKeepsQuorumPage(t *testing.T) {
	ctx := context.Background()
	am := newFakeAM(t)
	clk := clock.NewManual(t0)
	path := filepath.Join(t.TempDir(), "slaprobe-alerts-seoul-a.json")
	own := flowWindow(state.KindDown, "", t0)
	other := counted(t0, time.Time{})
	other.Flow = "other"
	n := newFleetNotifier(t, clk, path, am.srv.URL)
	n.Reconcile(nil)
	n.Handle([]state.Event{open(own)})
	clk.Advance(time.Minute)
	n.SetFleet(Fleet{Fleet: true, Counted: []state.Window{counted(t0, time.Time{}), other}, Next: time.Minute})
	mustTick(t, n, ctx)
	if got := firingAt(n, "page", QuorumLocation); len(got) != 2 {
		t.Fatalf("before the restart: firing %+v, want the quorum's two pages", n.Active())
	}
	if err := n.Run(cancelled()); err != nil {
		t.Fatal(err)
	}

	// Restarted without its store at t0+2m; the fresh machine's window of
	// the flow opens at t0+3m; "other" it finds up (no window).
	clk.Advance(time.Minute)
	restart := clk.Now()
	n = newFleetNotifier(t, clk, path, am.srv.URL)
	n.Unhold()
	mustTick(t, n, ctx)
	fresh := flowWindow(state.KindDown, "", restart.Add(time.Minute))
	seen := len(am.all(t))
	for i := range 20 {
		clk.Advance(30 * time.Second)
		if i == 1 {
			n.Handle([]state.Event{open(fresh)})
		}
		mustTick(t, n, ctx)
	}
	var page Alert
	for _, a := range am.all(t)[seen:] {
		if a.Labels["location"] == "seoul-a" && a.Labels["severity"] == "page" && a.EndsAt.After(clk.Now()) {
			t.Errorf("seoul-a paged from its own location (startsAt %s) beside the quorum's page", a.StartsAt)
		}
		if a.Labels["location"] == QuorumLocation && a.Labels["flow"] == own.Flow {
			page = a
		}
	}
	if !page.EndsAt.After(clk.Now()) || !page.StartsAt.Equal(t0) {
		t.Fatalf("%s after the restart, the flow still down: the quorum's page last sent startsAt %s endsAt %s, want firing from %s",
			clk.Now().Sub(restart), page.StartsAt, page.EndsAt, t0)
	}
	if got := firingAt(n, "page", QuorumLocation); len(got) != 1 || got[0].Labels["flow"] != own.Flow {
		t.Fatalf("lapsed: firing %+v, want the flow's quorum's page alone (other is up)", n.Active())
	}

	// The store answers: Reconcile with the store's windows, then the
	// verdict back.
	seen = len(am.all(t))
	n.Reconcile([]state.Window{own})
	mustTick(t, n, ctx)
	clk.Advance(time.Minute)
	otherEnded := other
	otherEnded.End = restart
	n.SetFleet(Fleet{Fleet: true, Counted: []state.Window{counted(t0, time.Time{}), otherEnded}, Next: time.Minute})
	mustTick(t, n, ctx)
	for _, a := range am.all(t)[seen:] {
		if a.Labels["location"] == QuorumLocation && a.Labels["flow"] == own.Flow && (!a.StartsAt.Equal(t0) || !a.EndsAt.After(clk.Now())) {
			t.Errorf("the attach or the verdict back sent the quorum's page startsAt %s endsAt %s, want it firing from %s", a.StartsAt, a.EndsAt, t0)
		}
		if a.Labels["location"] == "seoul-a" && a.Labels["severity"] == "page" && a.EndsAt.After(clk.Now()) {
			t.Errorf("seoul-a paged from its own location (startsAt %s)", a.StartsAt)
		}
	}
	if got := firingAt(n, "page", QuorumLocation); len(got) != 1 || !got[0].StartsAt.Equal(t0) {
		t.Errorf("the verdict back: firing %+v, want the quorum's page from %s", n.Active(), t0)
	}
}
