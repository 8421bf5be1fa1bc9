package daemon

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/report"
	"github.com/slaprobe/slaprobe/state"
)

// A daemon stopped (SIGTERM) in the middle of an outage, while it confirm-ran
// the flow every 2 s at a 10 s interval, and restarted a minute later: its
// last run covers the 2 s to the next run that was due, not the interval.
// A report while it is stopped ends the outage there; the restart (Stale)
// closes the window there and the next run stores the unknown stretch from
// there, as `windows --recompute` finds. Before, all were at the last run
// plus 10 s: 8 s of downtime no run measured.
func TestStoppedMidOutageCoversUntilTheNextWasDue(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	var starts []time.Time
	sc := func(loc string, at time.Time) outcome {
		mu.Lock()
		starts = append(starts, at)
		mu.Unlock()
		if at.Before(t0.Add(60 * time.Second)) {
			return pass
		}
		return refused
	}
	r := newAgreeRig(t, "2s", sc)
	r.start("seoul-a", r.configAt("seoul-a"))
	r.advance(100 * time.Second)
	r.stop("seoul-a")
	mu.Lock()
	last := starts[len(starts)-1]
	mu.Unlock()
	due := last.Add(2 * time.Second)

	r.advance(60 * time.Second) // stopped for more than two intervals
	// A report while it is stopped, from the stored events (the window
	// still open) and from the runs (--recompute): the outage ends where
	// the next run was due, its data ends there.
	for _, recompute := range []bool{false, true} {
		in := report.Input{Config: r.cfg, Store: r.st, From: t0, To: r.fc.Now(), Now: r.fc.Now(), Recompute: recompute}
		ws, err := report.Windows(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		if len(ws) == 0 || ws[0].End == nil || !ws[0].End.Equal(due) || ws[0].EndCut != report.CutNoData {
			t.Errorf("report (recompute %v) while stopped: %+v, want the outage to end at %s (no data after)", recompute, ws, due.Format("15:04:05.000"))
		}
	}
	r.start("seoul-a", r.configAt("seoul-a"))
	r.advance(20 * time.Second)
	r.stop("seoul-a")
	ws := r.compare(t0, r.stopped)
	var down, unknown *state.Window
	for i := range ws {
		w := &ws[i]
		if w.Function != "" {
			continue
		}
		switch {
		case w.Kind == state.KindDown && w.Start.Before(last):
			down = w
		case w.Kind == state.KindUnknown && !w.Start.Before(last):
			unknown = w
		}
	}
	if down == nil || !down.End.Equal(due) {
		t.Errorf("the outage's window %v, want it closed at %s (the last run at %s + confirm_every 2s)", down, due.Format("15:04:05.000"), last.Format("15:04:05.000"))
	}
	if unknown == nil || !unknown.Start.Equal(due) {
		t.Errorf("the unknown stretch %v, want it from %s", unknown, due.Format("15:04:05.000"))
	}
}
