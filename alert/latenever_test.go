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

// TestFleetLatePageNeverSurelyDown: the late page of a counted window the
// report marks quorum_never_surely_down says so in its description (the
// policy counts it, but it may not have been one outage), and only then;
// its resolve too, the same alert, and this prober's ticket sent again
// saying it was counted after all.
//
// The marked row failed before the mark reached the alerts
// (report.Window.State dropped it): the page said nothing of it.
func TestFleetLatePageNeverSurelyDown(t *testing.T) {
	ctx := context.Background()
	start, end := t0.Add(80*time.Second), t0.Add(110*time.Second)
	for _, marked := range []bool{true, false} {
		name := "not marked"
		if marked {
			name = "marked"
		}
		t.Run(name, func(t *testing.T) {
			w := counted(start, end)
			w.Location, w.QuorumBy, w.QuorumNeverSurelyDown = "busan-b, seoul-a", "seoul-a", marked
			am := newFakeAM(t)
			clk := clock.NewManual(t0.Add(time.Minute))
			n := newFleetNotifier(t, clk, filepath.Join(t.TempDir(), ".r.db.slaprobe-alerts.json"), am.srv.URL)
			n.Reconcile(nil)
			n.SetFleet(Fleet{Fleet: true})
			mustTick(t, n, ctx)
			own := flowWindow(state.KindDown, "", t0.Add(70*time.Second)) // seoul-a's own window
			clk.Set(own.Confirmed)
			n.Handle([]state.Event{open(own)})
			mustTick(t, n, ctx)
			clk.Set(end)
			n.Handle([]state.Event{closeAt(own, end)})
			mustTick(t, n, ctx)
			clk.Set(t0.Add(2 * time.Minute))
			for clk.Now().Before(t0.Add(10 * time.Minute)) {
				n.SetFleet(Fleet{Fleet: true, Counted: []state.Window{w}})
				mustTick(t, n, ctx)
				clk.Advance(time.Minute)
			}
			var amended string
			for _, a := range am.all(t) {
				if a.Labels["location"] == "seoul-a" && strings.Contains(a.Annotations["description"], countedAfterAll) {
					amended = a.Annotations["description"]
				}
			}
			if amended == "" {
				t.Errorf("this prober's ticket was not sent again saying it was counted")
			} else if got := strings.HasSuffix(amended, countedAfterAll+neverSurelyDown); got != marked {
				t.Errorf("amended ticket %q: says the quorum was never surely down: %v, want %v", amended, got, marked)
			}
			q := quorumSent(am.all(t))
			if len(q) != 2 {
				t.Fatalf("quorum's alerts sent: %+v, want the late page and its resolve", q)
			}
			for _, a := range q {
				d := a.Annotations["description"]
				if got := strings.Contains(d, neverSurelyDown); got != marked {
					t.Errorf("description %q: says the quorum was never surely down: %v, want %v", d, got, marked)
				}
				if !strings.Contains(d, "paged after its end") {
					t.Errorf("description %q: want the late page's note too", d)
				}
			}
		})
	}
}
