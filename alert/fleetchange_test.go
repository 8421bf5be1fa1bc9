package alert

import (
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/state"
)

// TestFleetChangeAsksForAVerdict: in a fleet, this prober's own window
// opening or closing calls the SetFleetChange function (the daemon's
// status page rebuilds its figures sooner: the quorum may be reached or
// left), once per Handle; a change of cause does not, nor anything before
// the first verdict or alone (its own windows are pushed within the run).
func TestFleetChangeAsksForAVerdict(t *testing.T) {
	am := newFakeAM(t)
	clk := clock.NewManual(t0.Add(time.Minute))
	n := newFleetNotifier(t, clk, "", am.srv.URL)
	n.Reconcile(nil)
	calls := 0
	n.SetFleetChange(func() { calls++ })
	own := flowWindow(state.KindDown, "", t0)
	fn := flowWindow(state.KindDown, "login", t0)
	cause := own
	cause.Causes = []state.Cause{{Step: "send", Error: "status 500", From: t0.Add(time.Minute)}}
	for _, step := range []struct {
		name  string
		fleet *Fleet // the verdict before the events (nil: none)
		evs   []state.Event
		want  int
	}{
		{name: "before the first verdict", evs: []state.Event{open(own)}, want: 0},
		{name: "alone", fleet: &Fleet{}, evs: []state.Event{closeAt(own, t0.Add(time.Minute))}, want: 0},
		{name: "in a fleet: opens", fleet: &Fleet{Fleet: true}, evs: []state.Event{open(own), open(fn)}, want: 1},
		{name: "a new cause", evs: []state.Event{{Op: state.OpCause, Window: cause}}, want: 0},
		{name: "closes", evs: []state.Event{closeAt(fn, t0.Add(2*time.Minute))}, want: 1},
	} {
		if step.fleet != nil {
			n.SetFleet(*step.fleet)
		}
		calls = 0
		n.Handle(step.evs)
		if calls != step.want {
			t.Errorf("%s: called %d times, want %d", step.name, calls, step.want)
		}
	}
}
