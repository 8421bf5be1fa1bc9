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

// A daemon restarted long after it stopped (more than two intervals) closes
// what the stop ended, and stores the unknown stretch after its last run,
// where `windows --recompute` starts it: confirm_every after that run when
// the flow was to be confirm-run after it. Two ways the restart did not
// know so, and started the stretch an interval after the run (8 s later at
// 10 s and confirm_every 2s), while the recompute started it at 2 s:
//
//   - one failure while up, then the stop: no window was open, and the
//     restart read no runs of a flow stopped that long (its failure
//     streak), so the stored stretch began 8 s after the recomputed one;
//   - down with one pass of up_after 2 (recovering), then the stop, and
//     two restarts, the first stopped before the flow's first run: the
//     first closed the window at 2 s, the second found no window open and
//     started the stretch at 10 s, so 8 s between them were neither down
//     nor unknown: up, in the stored events only.
func TestLongStopRestartCoversUntilTheNextWasDue(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		fail     [2]time.Duration // the target fails from t0+fail[0] to t0+fail[1]
		stopWhen func(at time.Time, failed bool) bool
		restarts int // restarts stopped before the flow's first run, before the last one
	}{
		{"one failure while up", [2]time.Duration{60 * time.Second, time.Hour},
			func(at time.Time, failed bool) bool { return failed }, 0},
		{"down, one pass of up_after 2, restarted twice", [2]time.Duration{30 * time.Second, 60 * time.Second},
			func(at time.Time, failed bool) bool { return !failed && !at.Before(t0.Add(60*time.Second)) }, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var last time.Time
			stopNow := false
			sc := func(loc string, at time.Time) outcome {
				mu.Lock()
				defer mu.Unlock()
				failed := !at.Before(t0.Add(tc.fail[0])) && at.Before(t0.Add(tc.fail[1]))
				if !stopNow && at.After(t0) {
					last = at
					stopNow = tc.stopWhen(at, failed)
				}
				if failed {
					return refused
				}
				return pass
			}
			r := newAgreeRig(t, "2s", sc)
			r.start("seoul-a", r.configAt("seoul-a"))
			for {
				mu.Lock()
				done := stopNow
				mu.Unlock()
				if done {
					break
				}
				r.advance(r.step)
			}
			r.stop("seoul-a")
			mu.Lock()
			due := last.Add(2 * time.Second)
			mu.Unlock()
			r.advance(60 * time.Second) // stopped for more than two intervals
			for range tc.restarts {
				r.start("seoul-a", r.configAt("seoul-a"))
				r.stop("seoul-a")
				r.advance(30 * time.Second)
			}
			r.start("seoul-a", r.configAt("seoul-a"))
			r.advance(30 * time.Second)
			r.stop("seoul-a")
			ws := r.compare(t0, r.stopped)
			var unknown *state.Window
			for i := range ws {
				if w := &ws[i]; w.Function == "" && w.Kind == state.KindUnknown && w.Start.After(t0) {
					unknown = w
				}
			}
			if unknown == nil || !unknown.Start.Equal(due) {
				t.Errorf("the stored unknown stretch %v, want it from %s (the last run + confirm_every 2s)", unknown, due.Format("15:04:05.000"))
			}
		})
	}
}
