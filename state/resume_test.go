package state

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
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

// A window whose cause changes every run lists at most MaxCauses causes:
// the first MaxCauses-1 and the current one; its events stay small. Before,
// a day of confirm runs every 10 s alternating between two failing steps
// made 8,640 causes and 9.2 GB of garbage (every event carried the whole,
// growing list).
func TestFlappingCausesAreBounded(t *testing.T) {
	pol := Policy{Interval: time.Minute, DownAfter: 2, UpAfter: 1}
	mc := New("messaging", "chat", "seoul-a", []string{"login", "send", "receive"}, pol)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	before := ms.TotalAlloc
	const runs = 8640
	var last Event
	for i := range runs {
		step := []string{"login", "send"}[i%2]
		for _, e := range mc.Observe(mkRun(t0.Add(time.Duration(i)*10*time.Second), "fail:"+step)) {
			if n := len(e.Window.Causes); n > MaxCauses {
				t.Fatalf("run %d: an event with %d causes", i, n)
			}
			if e.Window.Function == "" {
				last = e
			}
		}
	}
	runtime.ReadMemStats(&ms)
	if mb := float64(ms.TotalAlloc-before) / 1e6; mb > 500 {
		t.Errorf("%.0f MB allocated for a day of one flow", mb)
	}
	w := mc.OpenWindows()[0]
	if len(w.Causes) != MaxCauses {
		t.Fatalf("%d causes, want %d", len(w.Causes), MaxCauses)
	}
	for i, c := range w.Causes[:MaxCauses-1] {
		if want := t0.Add(time.Duration(i) * 10 * time.Second); !c.From.Equal(want) || !c.To.Equal(want.Add(10*time.Second)) {
			t.Errorf("cause %d %s..%s, want the run at %s", i, fmtTime(c.From), fmtTime(c.To), fmtTime(want))
		}
	}
	cur := w.CurrentCause()
	if want := t0.Add((runs - 1) * 10 * time.Second); !cur.From.Equal(want) || cur.Step != "send" {
		t.Errorf("current cause %s from %s, want send from the last run %s", cur.Step, fmtTime(cur.From), fmtTime(want))
	}
	if last.Op != OpCause || last.Window.CurrentCause().Step != "send" {
		t.Errorf("last event %s: the alert must still follow the cause", fullEvent(last))
	}
	// A window joined from two parts (a recompute over pruned runs) keeps
	// the same rule.
	var a, b []Cause
	for i := range 20 {
		a = addCause(a, []string{"login", "send"}[i%2], "x", m(i))
		b = addCause(b, []string{"send", "login"}[i%2], "x", m(20+i))
	}
	j := JoinCauses(a, b)
	if len(j) != MaxCauses || !j[MaxCauses-1].From.Equal(m(39)) || !j[MaxCauses-2].From.Equal(m(31)) {
		t.Errorf("joined: %s", fmtCauses(j))
	}
}

// A flow that a reload removed has its open windows closed (the daemon's
// closeAll) and, when a later reload adds it back before an unknown
// stretch, is resumed from its last runs and its stored windows. The runs
// before the close are accounted for by the closed window: a failure (or
// degraded) streak that began before it must go on from the close, not
// from its first run. Before, the window reopened with the closed one's
// start: two windows with one start, which the store folds into one (the
// closed one, with the new one's confirmation), so the outage looked over
// and its alert stayed resolved while the flow was down.
func TestResumeAfterWindowsClosedByRemoval(t *testing.T) {
	pol := Policy{Interval: time.Minute, DownAfter: 2, UpAfter: 1}
	fns := []string{"login", "send", "receive"}
	at := func(m float64) time.Time { return t0.Add(time.Duration(m * float64(time.Minute))) }
	tests := []struct {
		name   string
		before []string // runs at minutes 0, 1, ... before the removal
		closed float64  // the removal closes the open windows here
		after  []obs    // runs after the flow is added back
		want   []string // events after it is added back, fmtEvent, function "receive" and the flow
	}{
		{
			name:   "still failing: the outage goes on from the close",
			before: []string{"ok", "fail:receive", "fail:receive", "fail:receive"},
			closed: 3.5,
			after:  []obs{{4, "fail:receive"}, {5, "fail:receive"}, {6, "ok"}},
			want: []string{
				"open down flow m3.5 - m4 receive", "open down receive m3.5 - m4 receive",
				"close down flow m3.5 m6 m4 receive", "close down receive m3.5 m6 m4 receive",
			},
		},
		{
			name:   "passing when added back: nothing opens",
			before: []string{"ok", "fail:receive", "fail:receive"},
			closed: 2.5,
			after:  []obs{{3, "ok"}, {4, "ok"}},
			want:   nil,
		},
		{
			name:   "slow: the degraded stretch goes on from the close",
			before: []string{"ok", "slow:receive", "slow:receive", "slow:receive"},
			closed: 3.25,
			after:  []obs{{4, "slow:receive"}, {5, "ok"}},
			want: []string{
				"open degraded flow m3.25 - m4 receive", "open degraded receive m3.25 - m4 receive",
				"close degraded flow m3.25 m5 m4 receive", "close degraded receive m3.25 m5 m4 receive",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			first := New("messaging", "chat", "seoul-a", fns, pol)
			var st stored
			var tail []probe.Run
			for i, spec := range tc.before {
				r := mkRun(at(float64(i)), spec)
				st.apply(first.Observe(r))
				tail = append(tail, *r)
			}
			// The removal: every open window closes at tc.closed.
			var closes []Event
			for _, w := range first.OpenWindows() {
				w.End = at(tc.closed)
				closes = append(closes, Event{Op: OpClose, Window: w})
			}
			if len(closes) == 0 && len(tc.want) > 0 {
				t.Fatal("no window open at the removal")
			}
			st.apply(closes)

			back := New("messaging", "chat", "seoul-a", fns, pol)
			var open []Window
			for _, w := range st.ws {
				if w.Open() {
					open = append(open, w)
				}
			}
			back.Restore(open, first.LastRun())
			back.Resume(tail[max(0, len(tail)-ResumeRuns(pol)):], st.ws)
			var got []string
			for _, o := range tc.after {
				for _, e := range back.Observe(mkRun(at(float64(o.at)), o.spec)) {
					if e.Window.Function == "" || e.Window.Function == "receive" {
						got = append(got, fmtEvent(e))
					}
				}
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("events after the flow came back:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
			for _, w := range st.ws {
				fn := w.Function
				if fn == "" {
					fn = "flow"
				}
				prefix := fmt.Sprintf("open %s %s %s ", w.Kind, fn, fmtTime(w.Start))
				for _, e := range got {
					if strings.HasPrefix(e, prefix) {
						t.Errorf("%q reopens the closed window that began at %s", e, fmtTime(w.Start))
					}
				}
			}
		})
	}
}

// Stale at a restart closes what the next run's Observe would close at the
// unknown stretch, at the same instant, and leaves that run the rest: the
// events of Stale and the run together are those of the run alone.
func TestStaleIsTheNextRunsGap(t *testing.T) {
	pol := Policy{Interval: time.Minute, DownAfter: 2, UpAfter: 1}
	fns := []string{"login", "send", "receive"}
	tests := []struct {
		name    string
		before  []string
		restart float64 // minutes after t0
		next    obs
		stale   int // events Stale returns (the flow and its failing or degraded functions)
	}{
		{"short stop", []string{"ok", "fail:send", "fail:send"}, 3.5, obs{3, "fail:send"}, 0},
		{"long stop, down", []string{"ok", "fail:send", "fail:send"}, 9, obs{10, "ok"}, 3},
		{"long stop, degraded", []string{"ok", "slow:send", "slow:send"}, 9, obs{10, "fail:receive"}, 2},
		{"long stop, up", []string{"ok", "ok"}, 9, obs{10, "ok"}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := New("messaging", "chat", "seoul-a", fns, pol)
			b := New("messaging", "chat", "seoul-a", fns, pol)
			for i, spec := range tc.before {
				a.Observe(mkRun(t0.Add(time.Duration(i)*time.Minute), spec))
				b.Observe(mkRun(t0.Add(time.Duration(i)*time.Minute), spec))
			}
			evs := b.Stale(t0.Add(time.Duration(tc.restart * float64(time.Minute))))
			if len(evs) != tc.stale {
				t.Errorf("Stale: %d events, want %d", len(evs), tc.stale)
			}
			next := mkRun(t0.Add(time.Duration(tc.next.at)*time.Minute), tc.next.spec)
			evs = append(evs, b.Observe(next)...)
			want := a.Observe(next)
			var sa, sb []string
			for _, e := range want {
				sa = append(sa, fullEvent(e))
			}
			for _, e := range evs {
				sb = append(sb, fullEvent(e))
			}
			slices.Sort(sa)
			slices.Sort(sb)
			if strings.Join(sa, "\n") != strings.Join(sb, "\n") {
				t.Errorf("Stale then the run:\n  %s\nthe run alone:\n  %s", strings.Join(sb, "\n  "), strings.Join(sa, "\n  "))
			}
			if a.State() != b.State() {
				t.Errorf("state %s, want %s", b.State(), a.State())
			}
		})
	}
}
