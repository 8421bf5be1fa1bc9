package alert

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/state"
)

// TestUnholdStaleAlertNotSent: a prober stopped while msg's page fired
// (last sent at the stop) is started again, without its store, long after
// (resend 1m: Alertmanager ended the alert at its endsAt, 4 minutes after
// the last send). Unhold sent the state file's alert again as it was, so
// Alertmanager paged anew for an outage nothing had measured for three
// days (down since t0). Now an alert Alertmanager has ended is not sent
// again from the file: the store says (Reconcile) or the fresh machine
// finds it down again. Restarted within the 4 minutes, it is sent again as
// it was, as before (the outage taken as going on).
func TestUnholdStaleAlertNotSent(t *testing.T) {
	for _, tc := range []struct {
		name     string
		stopped  time.Duration
		wantSent bool
	}{
		{"restarted at once", 30 * time.Second, true},
		{"restarted three days later", 72 * time.Hour, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			am := newFakeAM(t)
			clk := clock.NewManual(t0)
			path := filepath.Join(t.TempDir(), "slaprobe-alerts-seoul-a.json")
			n := newHoldingNotifier(t, clk, path, am.srv.URL)
			n.Reconcile(nil)
			n.Handle([]state.Event{open(flowWindow(state.KindDown, "", t0))})
			mustTick(t, n, ctx)
			if err := n.Run(cancelled()); err != nil {
				t.Fatal(err)
			}
			clk.Advance(tc.stopped)
			seen := len(am.all(t))
			n = newHoldingNotifier(t, clk, path, am.srv.URL)
			n.Unhold()
			mustTick(t, n, ctx)
			clk.Advance(time.Minute)
			mustTick(t, n, ctx)
			sent := false
			for _, a := range am.all(t)[seen:] {
				if a.StartsAt.Equal(t0) && a.EndsAt.After(clk.Now()) {
					sent = true
				}
			}
			if sent != tc.wantSent {
				t.Errorf("started without its store %s after the stop: the state file's alert sent firing: %v, want %v", tc.stopped, sent, tc.wantSent)
			}
			// The store answers: the window is still open, so it fires
			// from its start.
			n.Reconcile([]state.Window{flowWindow(state.KindDown, "", t0)})
			mustTick(t, n, ctx)
			if got := n.Active(); len(got) != 1 || !got[0].StartsAt.Equal(t0) {
				t.Errorf("after Reconcile with the window open: firing %+v, want the page from %s", got, t0)
			}
		})
	}
}

// newHoldingNotifier is the daemon's notifier: it holds what the state
// file brought back until Reconcile, or Unhold (started without its store).
func newHoldingNotifier(t *testing.T, clk clock.Clock, statePath string, url string) *Notifier {
	t.Helper()
	n, err := NewNotifier(Options{URLs: []string{url}, Resend: time.Minute, Location: "seoul-a", Zone: kst, Clock: clk,
		Metrics: prometheus.NewRegistry(), StatePath: statePath, HoldUntilReconcile: true})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
