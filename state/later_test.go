package state

import (
	"testing"
	"time"
)

// TestEdgesLaterBound: each edge says how much later it may really have
// been, the duration of the run it was backdated to: the first failing run
// for the start (it failed only at its end: a timeout, a receive that never
// came), the first of up_after passing runs for the end (it passed only when
// the platform answered). A frozen platform whose first passing run hung 14 s
// until it woke: the end may be 14 s later; a recovery answered in 40 ms:
// 40 ms. Interval 30s, down_after 2; each row's runs every 30 s from t0.
func TestEdgesLaterBound(t *testing.T) {
	type run struct {
		spec string
		dur  time.Duration
	}
	for _, tc := range []struct {
		name       string
		upAfter    int
		runs       []run
		kind       Kind
		start, end time.Duration // after t0
		startLater time.Duration
		endLater   time.Duration
	}{
		{"frozen: first pass hung 14s", 1, []run{{"ok", 40 * time.Millisecond}, {"fail:send", 15 * time.Second}, {"fail:send", 15 * time.Second}, {"ok", 14 * time.Second}, {"ok", 40 * time.Millisecond}},
			KindDown, 30 * time.Second, 90 * time.Second, 15 * time.Second, 14 * time.Second},
		{"fast recovery", 1, []run{{"ok", 40 * time.Millisecond}, {"fail:send", 3 * time.Millisecond}, {"fail:send", 15 * time.Second}, {"ok", 40 * time.Millisecond}},
			KindDown, 30 * time.Second, 90 * time.Second, 3 * time.Millisecond, 40 * time.Millisecond},
		// up_after 2: the end is the first of the two passing runs, and so
		// is the run whose duration bounds it, not the confirming second.
		{"up_after 2", 2, []run{{"ok", 40 * time.Millisecond}, {"fail:send", 15 * time.Second}, {"fail:send", 15 * time.Second}, {"ok", 14 * time.Second}, {"ok", 40 * time.Millisecond}},
			KindDown, 30 * time.Second, 90 * time.Second, 15 * time.Second, 14 * time.Second},
		{"up_after 2, a pass that turns back", 2, []run{{"ok", 0}, {"fail:send", 15 * time.Second}, {"fail:send", 15 * time.Second}, {"ok", 9 * time.Second}, {"fail:send", 15 * time.Second}, {"ok", 2 * time.Second}, {"ok", 50 * time.Millisecond}},
			KindDown, 30 * time.Second, 150 * time.Second, 15 * time.Second, 2 * time.Second},
		{"degraded", 1, []run{{"ok", 0}, {"slow:send", 5 * time.Second}, {"slow:send", 6 * time.Second}, {"ok", 7 * time.Second}},
			KindDegraded, 30 * time.Second, 90 * time.Second, 5 * time.Second, 7 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := New("messaging", "chat", "seoul-a", []string{"login", "send", "receive"}, Policy{Interval: 30 * time.Second, DownAfter: 2, UpAfter: tc.upAfter})
			var closed []Window
			for i, r := range tc.runs {
				run := mkRun(t0.Add(time.Duration(i)*30*time.Second), r.spec)
				run.Duration = r.dur
				for _, e := range m.Observe(run) {
					if e.Op == OpOpen {
						if d, ok := e.Window.StartLater(); !ok || d != tc.startLater {
							t.Errorf("open %q: start later %s (%v), want %s", e.Window.Function, d, ok, tc.startLater)
						}
						if _, ok := e.Window.EndLater(); ok {
							t.Errorf("open %q: an end later bound while open", e.Window.Function)
						}
					}
					if e.Op == OpClose {
						closed = append(closed, e.Window)
					}
				}
			}
			if len(closed) == 0 {
				t.Fatal("no window closed")
			}
			for _, w := range closed {
				sl, sok := w.StartLater()
				el, eok := w.EndLater()
				if w.Kind != tc.kind || !w.Start.Equal(t0.Add(tc.start)) || !w.End.Equal(t0.Add(tc.end)) || !sok || sl != tc.startLater || !eok || el != tc.endLater {
					t.Errorf("%s %q %s-%s: start later %s (%v), end later %s (%v); want %s %s-%s, +%s, +%s", w.Kind, w.Function, fmtTime(w.Start), fmtTime(w.End), sl, sok, el, eok,
						tc.kind, fmtTime(t0.Add(tc.start)), fmtTime(t0.Add(tc.end)), tc.startLater, tc.endLater)
				}
			}
		})
	}
}

// TestEdgesLaterNotKnown: an edge no run made has no later bound: a window
// closed where an unknown stretch began (no run ended it there), or by
// Stale at a restart; and a window with none stored (before schema 12).
func TestEdgesLaterNotKnown(t *testing.T) {
	p := Policy{Interval: 30 * time.Second, DownAfter: 2}
	for _, tc := range []struct {
		name string
		end  func(m *Machine) []Event
	}{
		{"unknown stretch", func(m *Machine) []Event { return m.Observe(mkRun(t0.Add(10*time.Minute), "ok")) }},
		{"stale", func(m *Machine) []Event { return m.Stale(t0.Add(10 * time.Minute)) }},
	} {
		m := New("messaging", "chat", "seoul-a", nil, p)
		for i, spec := range []string{"fail:send", "fail:send"} {
			r := mkRun(t0.Add(time.Duration(i)*30*time.Second), spec)
			r.Duration = 15 * time.Second
			m.Observe(r)
		}
		var n int
		for _, e := range tc.end(m) {
			if e.Op != OpClose || e.Window.Kind != KindDown {
				continue
			}
			n++
			if d, ok := e.Window.EndLater(); ok {
				t.Errorf("%s: end later %s, want not known", tc.name, d)
			}
		}
		if n != 1 {
			t.Errorf("%s: %d down windows closed, want 1", tc.name, n)
		}
	}
	w := Window{Start: t0, End: t0.Add(time.Minute)}
	if _, ok := w.StartLater(); ok {
		t.Error("a window without FirstInEnd: start later known")
	}
	if _, ok := w.EndLater(); ok {
		t.Error("a window without FirstAfterEnd: end later known")
	}
}

// TestEdgesLaterClockStepBack: a run that started before the last one (the
// wall clock stepped back) is observed at the time already covered, not at
// its own start, and its end on the window's timeline is not known (its
// own end is on the new timeline, before the time it is observed at): an
// edge it makes has no later bound, where it said 0 s (the end taken as
// the time it was observed at), narrower than the 14 s the run took and
// the step, which nothing measured.
func TestEdgesLaterClockStepBack(t *testing.T) {
	p := Policy{Interval: time.Minute, DownAfter: 2, UpAfter: 1}
	type run struct {
		at   time.Time
		spec string
		dur  time.Duration
	}
	for _, tc := range []struct {
		name string
		runs []run
		want string // the flow's window: start later / end later, "?" not known
	}{
		{"step back while down, then ok", []run{{m(0), "ok", 0}, {m(1), "fail:send", 2 * time.Second}, {m(2), "fail:send", 0}, {m(3), "fail:send", 0}, {m(-5), "ok", 14 * time.Second}},
			"+2s / +?"},
		{"step back while up, then an outage", []run{{m(0), "ok", 0}, {m(1), "ok", 0}, {m(-5), "fail:send", 15 * time.Second}, {m(-4), "fail:send", 0}, {m(2), "ok", 3 * time.Second}},
			"+? / +3s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mc := New("messaging", "chat", "seoul-a", []string{"login", "send", "receive"}, p)
			var got []string
			for _, r := range tc.runs {
				run := mkRun(r.at, r.spec)
				run.Duration = r.dur
				for _, e := range mc.Observe(run) {
					if e.Op != OpClose || e.Window.Function != "" {
						continue
					}
					f := func(d time.Duration, ok bool) string {
						if !ok {
							return "+?"
						}
						return "+" + d.String()
					}
					got = append(got, f(e.Window.StartLater())+" / "+f(e.Window.EndLater()))
				}
			}
			if len(got) != 1 || got[0] != tc.want {
				t.Errorf("closed windows' later bounds %q, want [%q]", got, tc.want)
			}
		})
	}
}
