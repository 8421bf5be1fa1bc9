package state

import (
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/probe"
)

// A run covers the time up to the next run's due time: confirm_every after
// it when the flow was to be confirm-run after it (down, or a failure while
// up), the interval otherwise. When no run follows for more than two
// intervals (the prober stopped), the unknown stretch starts there, and
// Observe (the next run, much later), Stale (a restart) and Close (a
// report's end) agree on where. Before, it started an interval after the
// last run in every case: a prober stopped during an outage made confirm
// runs every 15 s, yet the window went on for 60 s after the last one, 45 s
// of downtime no run measured (close down flow m1 m2.5 rather than m1.75).
func TestLastRunCoversUntilTheNextWasDue(t *testing.T) {
	type r struct {
		at   float64 // minutes after t0
		spec string
		d    time.Duration
	}
	conf := Policy{Interval: time.Minute, DownAfter: 2, UpAfter: 1, ConfirmEvery: 15 * time.Second}
	off := conf
	off.ConfirmEvery = 0
	tests := []struct {
		name  string
		pol   Policy
		runs  []r // the last is the run after the stop
		want  []string
		start string // where Stale and Close (at the last run) start the unknown stretch
	}{
		{
			name:  "down: confirm runs every 15 s, then the prober stopped",
			pol:   conf,
			runs:  []r{{0, "ok", 0}, {1, "fail:send", 0}, {1.25, "fail:send", 0}, {1.5, "fail:send", 0}, {10, "ok", 0}},
			want:  []string{"open down flow m1 - m1.25 send", "close down flow m1 m1.75 m1.25 send", "close unknown flow m1.75 m10 m1.75 -"},
			start: "m1.75",
		},
		{
			name:  "a failure while up, being confirmed",
			pol:   conf,
			runs:  []r{{0, "ok", 0}, {1, "fail:send", 0}, {10, "ok", 0}},
			want:  []string{"close unknown flow m1.25 m10 m1.25 -"},
			start: "m1.25",
		},
		{
			name:  "down, confirm_every 0s (off): the next run was due an interval later",
			pol:   off,
			runs:  []r{{0, "ok", 0}, {1, "fail:send", 0}, {2, "fail:send", 0}, {10, "ok", 0}},
			want:  []string{"open down flow m1 - m2 send", "close down flow m1 m3 m2 send", "close unknown flow m3 m10 m3 -"},
			start: "m3",
		},
		{
			name:  "up: the next run was due an interval later",
			pol:   conf,
			runs:  []r{{0, "ok", 0}, {1, "ok", 0}, {10, "ok", 0}},
			want:  []string{"close unknown flow m2 m10 m2 -"},
			start: "m2",
		},
		{
			name:  "recovered by the last confirm run: back to the interval",
			pol:   conf,
			runs:  []r{{0, "ok", 0}, {1, "fail:send", 0}, {1.25, "fail:send", 0}, {1.5, "ok", 0}, {10, "ok", 0}},
			want:  []string{"open down flow m1 - m1.25 send", "close down flow m1 m1.5 m1.25 send", "close unknown flow m2.5 m10 m2.5 -"},
			start: "m2.5",
		},
		{
			name:  "down, the last run outlasted confirm_every: from its end",
			pol:   conf,
			runs:  []r{{0, "ok", 0}, {1, "fail:send", 0}, {1.25, "fail:send", 30 * time.Second}, {10, "ok", 0}},
			want:  []string{"open down flow m1 - m1.25 send", "close down flow m1 m1.75 m1.25 send", "close unknown flow m1.75 m10 m1.75 -"},
			start: "m1.75",
		},
		{
			// A 503 with Retry-After 45 s: the confirm run waits up to the
			// next base slot (m2), within twice the interval: no stretch.
			name: "down, a confirm run delayed by Retry-After to the next base slot",
			pol:  conf,
			runs: []r{{0, "ok", 0}, {1, "fail:send", 0}, {1.25, "fail:send", 0}, {2, "fail:send", 0}, {2.25, "ok", 0}},
			want: []string{"open down flow m1 - m1.25 send", "close down flow m1 m2.25 m1.25 send"},
		},
	}
	fns := []string{"login", "send", "receive"}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			run := func(x r) *probe.Run {
				rn := mkRun(at(x.at), x.spec)
				rn.Duration = x.d
				return rn
			}
			live := New("messaging", "chat", "seoul-a", fns, tc.pol)
			var evs []Event
			for _, x := range tc.runs {
				evs = append(evs, live.Observe(run(x))...)
			}
			if got := flowEvents(evs); !equal(got, tc.want) {
				t.Errorf("events:\n  got  %q\n  want %q", got, tc.want)
			}

			// The same runs but the last, then a report's end, or a
			// restart, at the last run's time.
			end := at(tc.runs[len(tc.runs)-1].at)
			stopped := func() *Machine {
				m := New("messaging", "chat", "seoul-a", fns, tc.pol)
				for _, x := range tc.runs[:len(tc.runs)-1] {
					m.Observe(run(x))
				}
				return m
			}
			closed := stopped().Close(end)
			stale := stopped().Stale(end)
			if tc.start == "" {
				if len(closed) != 0 || len(stale) != 0 {
					t.Errorf("Close: %v, Stale: %v; want neither", closed, stale)
				}
				return
			}
			if len(closed) != 1 || fmtTime(closed[0].Start) != tc.start {
				t.Errorf("Close: %v, want an unknown window from %s", closed, tc.start)
			}
			for _, e := range stale {
				if fmtTime(e.Window.End) != tc.start {
					t.Errorf("Stale: %s, want it closed at %s", fmtEvent(e), tc.start)
				}
			}
		})
	}
}

// A restart puts back what the stopped machine knew of its last run: with
// the open windows (Restore) and the last runs (Resume), Stale closes them
// where the stopped machine's own next run would have, confirm_every after
// the last run while down or confirming a failure. Before, at an interval.
func TestRestartCoversUntilTheNextWasDue(t *testing.T) {
	pol := Policy{Interval: time.Minute, DownAfter: 2, UpAfter: 1, ConfirmEvery: 15 * time.Second}
	fns := []string{"login", "send", "receive"}
	tests := []struct {
		name  string
		runs  []string // at m0, m1, m1.25, m1.5, ...
		start string   // where the unknown stretch after them starts
	}{
		{"down", []string{"ok", "fail:send", "fail:send", "fail:send"}, "m1.75"},
		{"a failure while up", []string{"ok", "ok", "fail:send"}, "m1.5"},
		{"up", []string{"ok", "ok", "ok"}, "m2.25"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var runs []probe.Run
			for i, spec := range tc.runs {
				x := 0.0
				if i > 0 {
					x = 1 + float64(i-1)/4
				}
				runs = append(runs, *mkRun(at(x), spec))
			}
			stopped := New("messaging", "chat", "seoul-a", fns, pol)
			var windows []Window
			for i := range runs {
				for _, e := range stopped.Observe(&runs[i]) {
					windows = append(windows, e.Window)
				}
			}
			last := runs[len(runs)-1].Start
			restarted := New("messaging", "chat", "seoul-a", fns, pol)
			restarted.Restore(stopped.OpenWindows(), last)
			restarted.Resume(runs, windows)
			now := at(10)
			want := stopped.Close(now)
			if len(want) != 1 || fmtTime(want[0].Start) != tc.start {
				t.Fatalf("Close of the stopped machine: %v, want from %s", want, tc.start)
			}
			for _, e := range restarted.Stale(now) {
				if fmtTime(e.Window.End) != tc.start {
					t.Errorf("Stale after the restart: %s, want it closed at %s", fmtEvent(e), tc.start)
				}
			}
			got := restarted.Observe(mkRun(now, "ok"))
			if w := flowEvents(got); len(w) == 0 || w[0] != "close unknown flow "+tc.start+" m10 "+tc.start+" -" {
				t.Errorf("the first run after the restart: %q, want an unknown stretch from %s", w, tc.start)
			}
		})
	}
}
