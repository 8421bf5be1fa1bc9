package alert

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/state"
)

// maintPlan: messaging in planned maintenance from t0+10m to t0+70m.
func maintPlan() config.MaintenancePlan {
	return config.MaintenancePlan{{Service: "messaging", Start: t0.Add(10 * time.Minute), End: t0.Add(70 * time.Minute), Reason: "planned database upgrade"}}
}

// detectedAt is a down window of the receive function that starts a minute
// before its confirming run, at at.
func detectedAt(at time.Time) state.Window {
	w := flowWindow(state.KindDown, "receive", at.Add(-time.Minute))
	w.Confirmed = at
	return w
}

// TestMaintenanceHoldsAlerts: a window detected while its service is in a
// configured maintenance window is held (nothing goes to Alertmanager; logged
// at info); if it is still open when the maintenance ends it is sent then,
// with its backdated startsAt; if it closed meanwhile it is never sent. An
// alert sent before the maintenance began keeps being re-sent through it,
// and another service's alerts are not held.
func TestMaintenanceHoldsAlerts(t *testing.T) {
	ctx := context.Background()
	t.Run("held, then sent when the maintenance ends", func(t *testing.T) {
		am := newFakeAM(t)
		clk := clock.NewManual(t0.Add(20 * time.Minute))
		var logs bytes.Buffer
		n := newTestNotifier(t, clk, "", am.srv.URL)
		n.o.Logger = slogTo(&logs)
		n.SetMaintenance(maintPlan())
		w := detectedAt(clk.Now())
		n.Handle([]state.Event{open(w)})
		mustTick(t, n, ctx)
		if p, _ := am.posts(); p != 0 {
			t.Fatalf("%d posts for a window detected during planned maintenance, want none", p)
		}
		if got := value(t, n.active); got != 0 || len(n.Active()) != 0 {
			t.Errorf("slaprobe_alerts_active = %v, Active %v: a held alert is in no Alertmanager", got, n.Active())
		}
		if l := logs.String(); !strings.Contains(l, "level=INFO") || !strings.Contains(l, "alert held") || !strings.Contains(l, "planned database upgrade") {
			t.Errorf("no info line for the held alert:\n%s", l)
		}
		clk.Advance(49*time.Minute + 30*time.Second) // t0+69m30s
		if d := n.nextWake(clk.Now()); d != 30*time.Second {
			t.Errorf("nextWake 30s before the maintenance ends = %s, want 30s", d)
		}
		mustTick(t, n, ctx)
		if p, _ := am.posts(); p != 0 {
			t.Fatalf("sent before the maintenance ended")
		}
		clk.Advance(30 * time.Second) // t0+70m: over
		mustTick(t, n, ctx)
		p, last := am.posts()
		if p != 1 || len(last) != 1 || !last[0].StartsAt.Equal(w.Start) || last[0].Resolved() && !last[0].EndsAt.After(clk.Now()) {
			t.Fatalf("at the maintenance end: %d posts, last %+v; want the alert firing with startsAt %s", p, last, w.Start)
		}
		if got := value(t, n.active); got != 1 {
			t.Errorf("slaprobe_alerts_active = %v after the release, want 1", got)
		}
		clk.Advance(time.Minute) // re-sent as any firing alert
		mustTick(t, n, ctx)
		if p, _ := am.posts(); p != 2 {
			t.Errorf("%d posts a resend later, want 2", p)
		}
	})
	t.Run("closed during the maintenance: never sent", func(t *testing.T) {
		am := newFakeAM(t)
		clk := clock.NewManual(t0.Add(20 * time.Minute))
		n := newTestNotifier(t, clk, "", am.srv.URL)
		n.SetMaintenance(maintPlan())
		w := detectedAt(clk.Now())
		n.Handle([]state.Event{open(w)})
		mustTick(t, n, ctx)
		clk.Advance(20 * time.Minute)
		n.Handle([]state.Event{closeAt(w, clk.Now())})
		mustTick(t, n, ctx)
		clk.Advance(time.Hour)
		n.Handle([]state.Event{open(w)}) // a replayed open
		mustTick(t, n, ctx)
		if p, last := am.posts(); p != 0 {
			t.Errorf("%d posts (last %+v) for a window that opened and closed during planned maintenance, want none", p, last)
		}
	})
	t.Run("alerted before the maintenance: re-sent through it, resolved when it closes", func(t *testing.T) {
		am := newFakeAM(t)
		clk := clock.NewManual(t0.Add(5 * time.Minute))
		n := newTestNotifier(t, clk, "", am.srv.URL)
		n.SetMaintenance(maintPlan())
		w := detectedAt(clk.Now())
		n.Handle([]state.Event{open(w)})
		mustTick(t, n, ctx)
		for range 10 { // into the maintenance
			clk.Advance(time.Minute)
			mustTick(t, n, ctx)
		}
		p, last := am.posts()
		if p != 11 || len(last) != 1 || last[0].Resolved() && !last[0].EndsAt.After(clk.Now()) {
			t.Fatalf("%d posts, last %+v; want the alert re-sent firing every minute into the maintenance", p, last)
		}
		n.Handle([]state.Event{closeAt(w, clk.Now())})
		mustTick(t, n, ctx)
		if p, last := am.posts(); p != 12 || !last[0].EndsAt.Equal(clk.Now()) {
			t.Errorf("close during the maintenance: %d posts, last %+v; want the resolve", p, last)
		}
	})
	t.Run("another service is not held", func(t *testing.T) {
		am := newFakeAM(t)
		clk := clock.NewManual(t0.Add(20 * time.Minute))
		n := newTestNotifier(t, clk, "", am.srv.URL)
		n.SetMaintenance(config.MaintenancePlan{{Service: "payments", Start: t0, End: t0.Add(time.Hour)}})
		n.Handle([]state.Event{open(detectedAt(clk.Now()))})
		mustTick(t, n, ctx)
		if p, _ := am.posts(); p != 1 {
			t.Errorf("%d posts, want 1: payments' maintenance holds nothing of messaging", p)
		}
	})
	t.Run("a * window holds every service", func(t *testing.T) {
		am := newFakeAM(t)
		clk := clock.NewManual(t0.Add(20 * time.Minute))
		n := newTestNotifier(t, clk, "", am.srv.URL)
		n.SetMaintenance(config.MaintenancePlan{{Service: "*", Start: t0, End: t0.Add(time.Hour)}})
		n.Handle([]state.Event{open(detectedAt(clk.Now()))})
		mustTick(t, n, ctx)
		if p, _ := am.posts(); p != 0 {
			t.Errorf("%d posts, want none under a * maintenance window", p)
		}
	})
	t.Run("a reload that removes the maintenance sends it", func(t *testing.T) {
		am := newFakeAM(t)
		clk := clock.NewManual(t0.Add(20 * time.Minute))
		n := newTestNotifier(t, clk, "", am.srv.URL)
		n.SetMaintenance(maintPlan())
		n.Handle([]state.Event{open(detectedAt(clk.Now()))})
		mustTick(t, n, ctx)
		n.SetMaintenance(nil)
		mustTick(t, n, ctx)
		if p, _ := am.posts(); p != 1 {
			t.Errorf("%d posts after the maintenance was removed, want 1", p)
		}
	})
}

// TestMaintenanceHoldAcrossRestart: a held alert stays held through a
// restart during the maintenance (the state file keeps it) and is sent
// when the maintenance ends; one whose maintenance ended while the prober
// was stopped is sent at once. Without a state file (PostgreSQL), the open
// windows the daemon hands over at startup are held if they were detected
// during the maintenance, and re-sent if they were detected before it (so
// an outage that preceded the planned work is not resolved in Alertmanager
// by a restart during it).
func TestMaintenanceHoldAcrossRestart(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		restartAt time.Duration // after t0
		wantPosts int           // at the first round after the restart
	}{
		{"restarted during the maintenance", 40 * time.Minute, 0},
		{"restarted after it", 80 * time.Minute, 1},
	} {
		t.Run("state file, "+tc.name, func(t *testing.T) {
			am := newFakeAM(t)
			clk := clock.NewManual(t0.Add(20 * time.Minute))
			path := filepath.Join(t.TempDir(), "state.json")
			n := newTestNotifier(t, clk, path, am.srv.URL)
			n.SetMaintenance(maintPlan())
			w := detectedAt(clk.Now())
			n.Handle([]state.Event{open(w)})
			mustTick(t, n, ctx)

			clk.Set(t0.Add(tc.restartAt))
			n = newTestNotifier(t, clk, path, am.srv.URL)
			n.SetMaintenance(maintPlan())
			n.Reconcile([]state.Window{w})
			mustTick(t, n, ctx)
			if p, _ := am.posts(); p != tc.wantPosts {
				t.Fatalf("%d posts after the restart, want %d", p, tc.wantPosts)
			}
			clk.Set(t0.Add(90 * time.Minute))
			mustTick(t, n, ctx)
			if p, last := am.posts(); p == 0 || !last[0].StartsAt.Equal(w.Start) {
				t.Errorf("after the maintenance: %d posts, last %+v; want the alert with startsAt %s", p, last, w.Start)
			}
		})
	}
	for _, tc := range []struct {
		name      string
		detected  time.Duration
		wantPosts int
	}{
		{"no state file, detected before the maintenance", 5 * time.Minute, 1},
		{"no state file, detected during it", 20 * time.Minute, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			am := newFakeAM(t)
			clk := clock.NewManual(t0.Add(40 * time.Minute))
			n := newTestNotifier(t, clk, "", am.srv.URL)
			n.SetMaintenance(maintPlan())
			n.Handle([]state.Event{open(detectedAt(t0.Add(tc.detected)))}) // what Daemon.Run hands over
			mustTick(t, n, ctx)
			if p, _ := am.posts(); p != tc.wantPosts {
				t.Errorf("%d posts at startup during the maintenance, want %d", p, tc.wantPosts)
			}
		})
	}
}

// TestHeldAlertWaitsForReconcile: with HoldUntilReconcile (the daemon's
// setting), a held alert the state file brings back after the maintenance
// ended is not sent before Reconcile says whether its window is still open:
// it had closed while the prober was stopped, and a round before Reconcile
// sent it firing, then resolved (a page for an outage over during planned
// work).
func TestHeldAlertWaitsForReconcile(t *testing.T) {
	ctx := context.Background()
	am := newFakeAM(t)
	clk := clock.NewManual(t0.Add(20 * time.Minute))
	path := filepath.Join(t.TempDir(), "state.json")
	n := newTestNotifier(t, clk, path, am.srv.URL)
	n.SetMaintenance(maintPlan())
	n.Handle([]state.Event{open(detectedAt(clk.Now()))})
	mustTick(t, n, ctx)

	clk.Set(t0.Add(2 * time.Hour)) // restarted after the maintenance
	n, err := NewNotifier(Options{URLs: []string{am.srv.URL}, Location: "seoul-a", Clock: clk, StatePath: path,
		HoldUntilReconcile: true, Maintenance: maintPlan()})
	if err != nil {
		t.Fatal(err)
	}
	mustTick(t, n, ctx) // Run's first round, before the daemon reconciles
	n.Reconcile(nil)    // the window closed while stopped
	mustTick(t, n, ctx)
	if p, last := am.posts(); p != 0 {
		t.Errorf("%d posts (last %+v) for a held alert whose window closed while the prober was stopped, want none", p, last)
	}
}

// TestHeldAlertOpenPastMaintenanceEnd: a held window still open when its
// maintenance ended, and closed before the round that would have released
// it (Alertmanager in backoff at the end, or a run at 04:00:20 reaching
// Handle before the round woke at 04:00), was an outage outside the planned
// work: it is sent (its record, startsAt to endsAt), not dropped as one
// that closed during the maintenance. One that closed exactly at the end
// is still never sent.
func TestHeldAlertOpenPastMaintenanceEnd(t *testing.T) {
	ctx := context.Background()
	end := maintPlan()[0].End
	for _, tc := range []struct {
		name      string
		closed    time.Time
		wantPosts int
	}{
		{"closed 2m after the end", end.Add(2 * time.Minute), 1},
		{"closed at the end", end, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			am := newFakeAM(t)
			clk := clock.NewManual(t0.Add(20 * time.Minute))
			n := newTestNotifier(t, clk, "", am.srv.URL)
			n.SetMaintenance(maintPlan())
			w := detectedAt(clk.Now())
			n.Handle([]state.Event{open(w)})
			mustTick(t, n, ctx)
			clk.Set(tc.closed) // no round between the end and the close
			n.Handle([]state.Event{closeAt(w, tc.closed)})
			mustTick(t, n, ctx)
			p, last := am.posts()
			if p != tc.wantPosts {
				t.Fatalf("%d posts (last %+v), want %d", p, last, tc.wantPosts)
			}
			if p > 0 && (len(last) != 1 || !last[0].StartsAt.Equal(w.Start) || !last[0].EndsAt.Equal(tc.closed)) {
				t.Errorf("sent %+v, want startsAt %s, endsAt %s", last, w.Start, tc.closed)
			}
		})
	}
}

// TestMaintenanceHoldsWindowKnownInIt: a window whose confirming run began
// before the maintenance but ended in it (a 9 s hang across the start) is
// held: the daemon knew of it, and would have paged, only when the run
// ended, inside the maintenance (state.Window.KnownAt), so no alert of it
// was in Alertmanager before the maintenance began. Before, the hold read
// the confirming run's start: confirmed 4 s before the maintenance began,
// known 5 s into it, the page went out during the planned work.
func TestMaintenanceHoldsWindowKnownInIt(t *testing.T) {
	ctx := context.Background()
	begin := t0.Add(10 * time.Minute) // maintPlan's start
	for _, tc := range []struct {
		name      string
		confirmed time.Time
		known     time.Time
		posts     int
	}{
		{"run across the start", begin.Add(-4 * time.Second), begin.Add(5 * time.Second), 0},
		{"run ended before the start", begin.Add(-14 * time.Second), begin.Add(-5 * time.Second), 1},
		{"no Known stored (before schema version 11)", begin.Add(-4 * time.Second), time.Time{}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			am := newFakeAM(t)
			now := maxT(tc.known, tc.confirmed)
			clk := clock.NewManual(now)
			n := newTestNotifier(t, clk, "", am.srv.URL)
			n.SetMaintenance(maintPlan())
			w := detectedAt(tc.confirmed)
			w.Known = tc.known
			n.Handle([]state.Event{open(w)})
			clk.Advance(10 * time.Second) // inside the maintenance either way
			mustTick(t, n, ctx)
			if p, last := am.posts(); p != tc.posts {
				t.Errorf("%d posts (last %+v), want %d", p, last, tc.posts)
			}
		})
	}
}

func maxT(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
