package alert

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/state"
)

// TestRestartWithoutStoreAttachSplitKeepsQuorumPage: a fleet's prober
// restarted while the shared database is down, lapsed and keeping the
// quorum's page (its fresh window of the flow open), whose store answers
// while the platform is still down. The restore and the re-judging close
// the window open at the stop where the stop's gap made it unknown, and
// the window open now starts after the restart: the daemon hands the
// close (Handle), then the windows open now (Reconcile). The close of that
// earlier window dropped the kept page (this prober's own window of the
// key taken as ended), and Reconcile's open paged from seoul-a with
// startsAt the restart: measured live, busan-b and tokyo-c each paged from
// their own location at the attach (startsAt 07:34:06 and 07:34:46, their
// restarts) for an outage paged since 07:31:57.
func TestRestartWithoutStoreAttachSplitKeepsQuorumPage(t *testing.T) {
	ctx := context.Background()
	am := newFakeAM(t)
	clk := clock.NewManual(t0)
	path := filepath.Join(t.TempDir(), "slaprobe-alerts-seoul-a.json")
	own := flowWindow(state.KindDown, "", t0)
	n := newFleetNotifier(t, clk, path, am.srv.URL)
	n.Reconcile(nil)
	n.Handle([]state.Event{open(own)})
	clk.Advance(time.Minute)
	n.SetFleet(Fleet{Fleet: true, Counted: []state.Window{counted(t0, time.Time{})}, Next: time.Minute})
	mustTick(t, n, ctx)
	if err := n.Run(cancelled()); err != nil {
		t.Fatal(err)
	}

	// Restarted without its store at t0+2m; its fresh window opens at
	// once; it lapses 5 minutes later and keeps the quorum's page.
	clk.Advance(time.Minute)
	restart := clk.Now()
	n = newFleetNotifier(t, clk, path, am.srv.URL)
	n.Unhold()
	fresh := flowWindow(state.KindDown, "", restart.Add(5*time.Second))
	n.Handle([]state.Event{open(fresh)})
	for range 14 {
		clk.Advance(30 * time.Second)
		mustTick(t, n, ctx)
	}
	if got := firingAt(n, "page", QuorumLocation); len(got) != 1 {
		t.Fatalf("lapsed: firing %+v, want the quorum's page", n.Active())
	}

	// The store answers: the restored window closes at the stop, the
	// re-judged one is open from after the restart.
	seen := len(am.all(t))
	n.Handle([]state.Event{closeAt(own, restart)})
	n.Reconcile([]state.Window{fresh})
	mustTick(t, n, ctx)
	for _, a := range am.all(t)[seen:] {
		if a.Labels["location"] == "seoul-a" && a.Labels["severity"] == "page" {
			t.Errorf("the attach paged from seoul-a (startsAt %s, endsAt %s) for the outage the quorum's page has paged since %s", a.StartsAt, a.EndsAt, t0)
		}
		if a.Labels["location"] == QuorumLocation && !a.EndsAt.After(clk.Now()) {
			t.Errorf("the attach resolved the quorum's page (endsAt %s)", a.EndsAt)
		}
	}
	if got := firingAt(n, "page", QuorumLocation); len(got) != 1 || !got[0].StartsAt.Equal(t0) {
		t.Errorf("after the attach: firing %+v, want the quorum's page from %s", n.Active(), t0)
	}
}
