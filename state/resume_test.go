package state

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/probe"
)

// fullEvent writes every field of an event that the store keeps and the
// report shows.
func fullEvent(e Event) string {
	w := e.Window
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %q %s..%s conf=%s before=%s in=%s %s:%q", e.Op, w.Kind, w.Function, fmtTime(w.Start), fmtTime(w.End),
		fmtTime(w.Confirmed), fmtTime(w.LastBefore), fmtTime(w.LastIn), w.CauseStep, w.Error)
	for _, c := range w.Causes {
		fmt.Fprintf(&b, " [%s %q %s..%s]", c.Step, c.Error, fmtTime(c.From), fmtTime(c.To))
	}
	return b.String()
}

// randomRuns is a random history of a login -> send -> receive flow: runs
// mostly an interval apart, some confirm runs, hangs and stops longer than
// twice the interval; steps pass, fail (two errors each) or are slow.
func randomRuns(rng *rand.Rand, n int) []*probe.Run {
	var out []*probe.Run
	at := t0
	for range n {
		switch x := rng.IntN(20); {
		case x < 12:
			at = at.Add(time.Minute)
		case x < 17:
			at = at.Add(10 * time.Second) // a confirm run
		case x < 19:
			at = at.Add(2 * time.Minute) // a skipped slot
		default:
			at = at.Add(time.Duration(3+rng.IntN(3)) * time.Minute) // a stop: unknown
		}
		var spec string
		switch rng.IntN(6) {
		case 0, 1:
			spec = "ok"
		case 2:
			spec = "slow:" + []string{"login", "send", "receive"}[rng.IntN(3)]
		default:
			spec = "fail:" + []string{"login", "send", "receive"}[rng.IntN(3)]
		}
		r := mkRun(at, spec)
		r.Duration = time.Duration(rng.IntN(3)) * 40 * time.Second // some runs hang past the next slot
		for i := range r.Steps {
			if r.Steps[i].Status == probe.StatusFailed && rng.IntN(2) == 0 {
				r.Steps[i].Error += " (timeout)"
			}
		}
		out = append(out, r)
	}
	return out
}

// stored keeps the windows as the store rebuilds them from events.
type stored struct{ ws []Window }

func (s *stored) apply(evs []Event) {
	for _, e := range evs {
		w := e.Window
		found := false
		for i := range s.ws {
			if s.ws[i].Key == w.Key && s.ws[i].Kind == w.Kind && s.ws[i].Start.Equal(w.Start) {
				s.ws[i], found = w, true
			}
		}
		if !found {
			s.ws = append(s.ws, w)
		}
	}
}

// TestResumeIsNoRestart: a machine restarted at any point (Restore from the
// open windows, Resume from the last ResumeRuns runs and the stored
// windows) goes on exactly as the one that never stopped: same events, with
// the same starts, ends, causes and edge runs. Restore alone lost the
// streaks (seen failing: the window after a restart in the middle of a
// failure streak began at the first failure after the restart).
func TestResumeIsNoRestart(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 13))
	for iter := range 10000 {
		pol := Policy{Interval: time.Minute, DownAfter: 1 + rng.IntN(3), UpAfter: 1 + rng.IntN(3)}
		runs := randomRuns(rng, 4+rng.IntN(30))
		cut := 1 + rng.IntN(len(runs)-1)
		fns := []string{"login", "send", "receive"}

		whole := New("messaging", "chat", "seoul-a", fns, pol)
		var st stored
		for _, r := range runs[:cut] {
			st.apply(whole.Observe(r))
		}
		restarted := New("messaging", "chat", "seoul-a", fns, pol)
		restarted.Restore(whole.OpenWindows(), whole.LastRun())
		// The tail: the last ResumeRuns runs, and any earlier run still in
		// flight when the last one began (the daemon reads every run in a
		// lookback that holds both).
		from := max(0, cut-ResumeRuns(pol))
		for j := range from {
			if runs[j].Start.Add(runs[j].Duration).After(runs[cut-1].Start) {
				from = j
				break
			}
		}
		var tail []probe.Run
		for _, r := range runs[from:cut] {
			tail = append(tail, *r)
		}
		restarted.Resume(tail, st.ws)

		for i, r := range runs[cut:] {
			a, b := whole.Observe(r), restarted.Observe(r)
			var sa, sb []string
			for _, e := range a {
				sa = append(sa, fullEvent(e))
			}
			for _, e := range b {
				sb = append(sb, fullEvent(e))
			}
			if strings.Join(sa, "\n") != strings.Join(sb, "\n") {
				var hist []string
				for j, r := range runs {
					mark := ""
					if j == cut {
						mark = "   <- restart"
					}
					hist = append(hist, fmt.Sprintf("%s %s %v %s%s", fmtTime(r.Start), r.Outcome(), r.Duration, firstStep(r), mark))
				}
				t.Fatalf("iteration %d, %+v, run %d after the restart at run %d:\nnever stopped:\n  %s\nrestarted:\n  %s\nruns:\n  %s",
					iter, pol, i, cut, strings.Join(sa, "\n  "), strings.Join(sb, "\n  "), strings.Join(hist, "\n  "))
			}
		}
		if whole.State() != restarted.State() || whole.Confirming() != restarted.Confirming() {
			t.Fatalf("iteration %d: state %s/%v, restarted %s/%v", iter, whole.State(), whole.Confirming(), restarted.State(), restarted.Confirming())
		}
	}
}

func firstStep(r *probe.Run) string {
	for _, s := range r.Steps {
		if s.Status != probe.StatusOK {
			return string(s.Status) + ":" + s.Step
		}
	}
	return ""
}
