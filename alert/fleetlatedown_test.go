package alert

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/state"
)

// TestFleetLatePageAlertmanagerDown: a late page whose firing push
// Alertmanager refused (down, a proxy's 503) until after its hold was
// over must still reach it firing first, and be held firing lateHoldMin
// from then: its resolve alone notifies nobody (an alert Alertmanager
// first receives resolved), so the page was lost.
func TestFleetLatePageAlertmanagerDown(t *testing.T) {
	ctx := context.Background()
	am := newFakeAM(t)
	clk := clock.NewManual(t0.Add(time.Minute))
	n := newFleetNotifier(t, clk, "", am.srv.URL)
	n.Reconcile(nil)
	n.SetFleet(Fleet{Fleet: true})
	mustTick(t, n, ctx)
	w := counted(t0.Add(80*time.Second), t0.Add(110*time.Second))
	w.Location = "seoul-a, tokyo-c"

	am.setStatus(http.StatusServiceUnavailable)
	var back, upAt int // the bodies from when it answers again
	var resolvedAt time.Time
	for clk.Now().Before(t0.Add(30 * time.Minute)) {
		clk.Advance(time.Minute)
		if upAt == 0 && !clk.Now().Before(t0.Add(12*time.Minute)) {
			am.setStatus(http.StatusOK)
			back, upAt = len(am.all(t)), int(clk.Now().Sub(t0)/time.Minute)
		}
		n.SetFleet(Fleet{Fleet: true, Counted: []state.Window{w}})
		_ = n.Tick(ctx) // refused until upAt
		if upAt == 0 || !resolvedAt.IsZero() {
			continue
		}
		for _, a := range quorumSent(am.all(t)[back:]) {
			if a.EndsAt.Equal(w.End) {
				resolvedAt = clk.Now()
			}
		}
		if !resolvedAt.IsZero() && resolvedAt.Before(t0.Add(time.Duration(upAt)*time.Minute+lateHoldMin)) {
			t.Fatalf("resolved at %s, less than %s after Alertmanager took it firing (minute %d)", resolvedAt.Sub(t0), lateHoldMin, upAt)
		}
	}
	q := quorumSent(am.all(t)[back:])
	if len(q) == 0 {
		t.Fatalf("nothing of the late page reached Alertmanager once it answered (minute %d)", upAt)
	}
	if q[0].Resolved() && !q[0].EndsAt.After(t0.Add(time.Duration(upAt)*time.Minute)) {
		t.Fatalf("Alertmanager, back at minute %d, first received the late page resolved (endsAt %s): it notifies nobody; sent %+v", upAt, q[0].EndsAt.Sub(t0), q)
	}
	for _, a := range q[:len(q)-1] {
		if a.EndsAt.Before(resolvedAt) {
			t.Errorf("pushed firing with endsAt %s, before its resolve at %s: Alertmanager ends it by itself", a.EndsAt.Sub(t0), resolvedAt.Sub(t0))
		}
	}
	last := q[len(q)-1]
	if !last.Resolved() || !last.EndsAt.Equal(w.End) {
		t.Errorf("the late page's last push: %+v, want its resolve with endsAt %s", last, w.End)
	}
}
