package alert

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/state"
)

// newFleetNotifier is a notifier as the daemon makes one: fleet-aware,
// holding what the state file brings back until Reconcile.
func newFleetNotifier(t *testing.T, clk clock.Clock, statePath string, url string) *Notifier {
	t.Helper()
	n, err := NewNotifier(Options{URLs: []string{url}, Resend: time.Minute, Location: "seoul-a", Zone: kst, Clock: clk,
		Metrics: prometheus.NewRegistry(), StatePath: statePath, HoldUntilReconcile: true, FleetAware: true})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// counted is the fleet's counted window of the flow (no function) from
// start, seen from both locations; end zero: open.
func counted(start, end time.Time) state.Window {
	w := flowWindow(state.KindDown, "", start)
	w.Location = "busan-b, seoul-a"
	w.End = end
	return w
}

// all returns every alert the fake Alertmanager was sent, in order.
func (f *fakeAM) all(t *testing.T) []Alert {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Alert
	for _, b := range f.bodies {
		var as []Alert
		if err := json.Unmarshal(b, &as); err != nil {
			t.Fatal(err)
		}
		out = append(out, as...)
	}
	return out
}

// TestFleetPageAcrossRestart: the fleet's page (location quorum) keeps its
// startsAt across a restart and is resolved only by the fleet's verdict.
// With the state file (SQLite), Reconcile at startup, before the first
// verdict, leaves it firing (it has no window of this prober's own: the
// old rule would have resolved it, and the verdict re-fired it as a new
// alert); without one (PostgreSQL) it is sent again, from the counted
// window's start, once the first verdict comes, and nothing is sent
// before it.
func TestFleetPageAcrossRestart(t *testing.T) {
	ctx := context.Background()
	own := flowWindow(state.KindDown, "", t0) // seoul-a down since t0
	start := t0.Add(6 * time.Minute)          // busan-b since t0+6m: the quorum's start
	for _, withFile := range []bool{true, false} {
		name := "postgres (no state file)"
		if withFile {
			name = "sqlite (state file)"
		}
		t.Run(name, func(t *testing.T) {
			am := newFakeAM(t)
			clk := clock.NewManual(t0.Add(8 * time.Minute))
			path := ""
			if withFile {
				path = filepath.Join(t.TempDir(), ".r.db.slaprobe-alerts.json")
			}
			n := newFleetNotifier(t, clk, path, am.srv.URL)
			n.Reconcile(nil)
			n.Handle([]state.Event{open(own)})
			n.SetFleet(Fleet{Fleet: true, Counted: []state.Window{counted(start, time.Time{})}})
			mustTick(t, n, ctx)
			act := n.Active()
			if len(act) != 1 || act[0].Labels["location"] != QuorumLocation || act[0].Labels["severity"] != "page" || !act[0].StartsAt.Equal(start) {
				t.Fatalf("before the restart: %+v, want the quorum's page from %s", act, start)
			}

			// Restart.
			clk.Advance(3 * time.Minute)
			before := len(am.all(t))
			n = newFleetNotifier(t, clk, path, am.srv.URL)
			n.Reconcile([]state.Window{own})
			mustTick(t, n, ctx)
			for _, a := range am.all(t)[before:] {
				if a.Resolved() && !a.EndsAt.After(clk.Now()) {
					t.Fatalf("resolved at startup, before the fleet's verdict: %+v", a)
				}
				if !withFile {
					t.Fatalf("sent before the first verdict, without a state file: %+v", a)
				}
			}
			n.SetFleet(Fleet{Fleet: true, Counted: []state.Window{counted(start, time.Time{})}})
			mustTick(t, n, ctx)
			act = n.Active()
			if len(act) != 1 || act[0].Labels["location"] != QuorumLocation || !act[0].StartsAt.Equal(start) {
				t.Fatalf("after the restart and the verdict: %+v, want the quorum's page from %s", act, start)
			}
			if _, last := am.posts(); len(last) == 0 || last[0].Labels["location"] != QuorumLocation || !last[0].StartsAt.Equal(start) || last[0].EndsAt.Before(clk.Now()) {
				t.Fatalf("the last post is %+v, want the quorum's page firing from %s", last, start)
			}

			// The quorum ends at t0+20m; seoul-a stays down: the page is
			// resolved at the counted window's end, and seoul-a's own
			// window is pushed below the quorum, at ticket.
			clk.Set(t0.Add(21 * time.Minute))
			end := t0.Add(20 * time.Minute)
			n.SetFleet(Fleet{Fleet: true, Counted: []state.Window{counted(start, end)}})
			mustTick(t, n, ctx)
			var resolved bool
			for _, a := range am.all(t) {
				if a.Labels["location"] == QuorumLocation && a.EndsAt.Equal(end) {
					resolved = true
				}
			}
			if !resolved {
				t.Errorf("the quorum's page was not resolved at %s", end)
			}
			act = n.Active()
			if len(act) != 1 || act[0].Labels["location"] != "seoul-a" || act[0].Labels["severity"] != "ticket" {
				t.Errorf("after the quorum ended: %+v, want seoul-a's own window at ticket", act)
			}
		})
	}
}

// TestFleetVerdictModes: FleetAware sends nothing new before the first
// verdict (a restored window of this prober's own may be below a quorum);
// figures with no run say nothing; a verdict "alone" sends this prober's
// own window as a prober alone does (page, its location); "fleet" replaces
// it by a ticket (the page resolved), and back to "alone" the ticket by a
// page.
func TestFleetVerdictModes(t *testing.T) {
	ctx := context.Background()
	am := newFakeAM(t)
	clk := clock.NewManual(t0.Add(2 * time.Minute))
	n := newFleetNotifier(t, clk, "", am.srv.URL)
	own := flowWindow(state.KindDown, "", t0)
	n.Reconcile([]state.Window{own})
	mustTick(t, n, ctx)
	n.SetFleet(Fleet{NoRuns: true})
	mustTick(t, n, ctx)
	if p, _ := am.posts(); p != 0 {
		t.Fatalf("%d posts before the first verdict, want none", p)
	}
	check := func(when, sev string) {
		t.Helper()
		act := n.Active()
		if len(act) != 1 || act[0].Labels["location"] != "seoul-a" || act[0].Labels["severity"] != sev {
			t.Fatalf("%s: firing %+v, want seoul-a's window at %s", when, act, sev)
		}
	}
	n.SetFleet(Fleet{})
	mustTick(t, n, ctx)
	check("alone", "page")
	clk.Advance(time.Minute)
	n.SetFleet(Fleet{Fleet: true})
	mustTick(t, n, ctx)
	check("in a fleet, below the quorum", "ticket")
	if _, last := am.posts(); len(last) != 2 {
		t.Fatalf("the switch to a fleet sent %+v, want the page resolved and the ticket", last)
	}
	n.SetFleet(Fleet{NoRuns: true}) // the month's first moments
	mustTick(t, n, ctx)
	check("figures with no run", "ticket")
	clk.Advance(time.Minute)
	n.SetFleet(Fleet{})
	mustTick(t, n, ctx)
	check("alone again", "page")
	n.Handle([]state.Event{closeAt(own, clk.Now())})
	mustTick(t, n, ctx)
	if act := n.Active(); len(act) != 0 {
		t.Errorf("firing after the window closed: %+v", act)
	}
}

// TestFleetPageHeldInMaintenance: the quorum's page of a window confirmed
// during planned maintenance is held, as a prober's own is, and sent with
// the counted window's start when the maintenance ends.
func TestFleetPageHeldInMaintenance(t *testing.T) {
	ctx := context.Background()
	am := newFakeAM(t)
	clk := clock.NewManual(t0.Add(20 * time.Minute))
	n := newFleetNotifier(t, clk, "", am.srv.URL)
	n.Reconcile(nil)
	n.SetMaintenance(maintPlan()) // t0+10m .. t0+70m
	w := counted(t0.Add(15*time.Minute), time.Time{})
	w.Confirmed = t0.Add(16 * time.Minute)
	n.SetFleet(Fleet{Fleet: true, Counted: []state.Window{w}})
	mustTick(t, n, ctx)
	if p, _ := am.posts(); p != 0 {
		t.Fatalf("%d posts for a quorum's window detected during planned maintenance, want none", p)
	}
	clk.Set(t0.Add(70 * time.Minute))
	n.SetFleet(Fleet{Fleet: true, Counted: []state.Window{w}})
	mustTick(t, n, ctx)
	if _, last := am.posts(); len(last) != 1 || last[0].Labels["location"] != QuorumLocation || !last[0].StartsAt.Equal(w.Start) || last[0].Resolved() && !last[0].EndsAt.After(clk.Now()) {
		t.Fatalf("at the maintenance's end: %+v, want the quorum's page firing from %s", last, w.Start)
	}
}

// TestFleetVerdictBeforeReconcile: the first verdict may come before the
// daemon has restored its windows (the status page builds as the daemon
// starts); the fleet's page it holds is sent when Reconcile runs, also
// when this prober has no window of its own open, not a rebuild later.
func TestFleetVerdictBeforeReconcile(t *testing.T) {
	ctx := context.Background()
	am := newFakeAM(t)
	clk := clock.NewManual(t0.Add(8 * time.Minute))
	n := newFleetNotifier(t, clk, "", am.srv.URL)
	start := t0.Add(6 * time.Minute)
	n.SetFleet(Fleet{Fleet: true, Counted: []state.Window{counted(start, time.Time{})}})
	mustTick(t, n, ctx)
	if p, _ := am.posts(); p != 0 {
		t.Fatalf("%d posts before Reconcile, want none", p)
	}
	n.Reconcile(nil)
	mustTick(t, n, ctx)
	if _, last := am.posts(); len(last) != 1 || last[0].Labels["location"] != QuorumLocation || !last[0].StartsAt.Equal(start) {
		t.Fatalf("after Reconcile: %+v, want the quorum's page from %s", last, start)
	}
}
