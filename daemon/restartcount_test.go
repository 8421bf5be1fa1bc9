package daemon

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/store"
)

// A restart while a flow is down (confirm-run every confirm_every) keeps the
// count a run without it gives: a base slot that fell due while the daemon
// was stopped is covered by the first run after the restart (README,
// Accounting policy: a base slot passed during confirm runs is counted once,
// by the first run at or after it), and the base slots after it stay on the
// flow's grid (Offset). The black box: every 30 s, down_after 2, stopped
// 0.4 s before a slot and started 1.3 s after it: the first run after the
// restart was stored as a confirm run and the next base slot came
// lastRun+30 s, 5 s off the grid, so `report` counted 3 runs where the same
// two minutes without the restart counted 4.
func TestRestartWhileDownKeepsTheRunCount(t *testing.T) {
	const iv = 30 * time.Second
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	sc := phases(t0, map[string][]phase{"seoul-a": {{40 * time.Second, refused}, {200 * time.Second, pass}}})
	// s is the base slot the restarts are placed around.
	s := gridAtOrAfter(Offset("seoul-a", "f", iv), iv, t0.Add(110*time.Second))
	end := t0.Add(330 * time.Second)

	play := func(t *testing.T, stop, start time.Duration) []probe.Run {
		r := newAgreeRig(t, "5s", sc)
		for i := range r.cfg.Services[0].Flows {
			r.cfg.Services[0].Flows[i].Interval = iv
		}
		r.start("seoul-a", r.configAt("seoul-a"))
		if stop != 0 {
			r.advance(s.Add(stop).Sub(r.fc.Now()))
			r.stop("seoul-a")
			r.advance(s.Add(start).Sub(r.fc.Now()))
			r.start("seoul-a", r.configAt("seoul-a"))
		}
		r.advance(end.Sub(r.fc.Now()))
		r.stop("seoul-a")
		runs, err := r.st.Runs(context.Background(), store.Query{From: t0, To: r.fc.Now().Add(time.Millisecond)})
		if err != nil {
			t.Fatal(err)
		}
		r.compare(t0, r.fc.Now().Add(time.Millisecond))
		return runs
	}
	// scheduled counts the scheduled runs that start in [from, to).
	scheduled := func(runs []probe.Run, from, to time.Time) (n int) {
		for _, run := range runs {
			if !run.Confirm && !run.Start.Before(from) && run.Start.Before(to) {
				n++
			}
		}
		return n
	}
	// after lists the starts of the scheduled runs from at on.
	after := func(runs []probe.Run, at time.Time) (out []string) {
		for _, run := range runs {
			if !run.Confirm && !run.Start.Before(at) {
				out = append(out, run.Start.UTC().Format("15:04:05.000"))
			}
		}
		return out
	}
	want := play(t, 0, 0)
	from, to := s.Add(-iv), s.Add(50*time.Second)
	if n := scheduled(want, from, to); n != 3 {
		t.Fatalf("without a restart, %d scheduled runs in %s..%s, want 3 (a slot each)", n, from.Format("15:04:05"), to.Format("15:04:05"))
	}
	for _, tc := range []struct {
		name        string
		stop, start time.Duration // around s
	}{
		{"a slot fell due while stopped", -400 * time.Millisecond, 1300 * time.Millisecond},
		{"stopped longer than confirm_every", -400 * time.Millisecond, 12 * time.Second},
		{"back before the slot", -4 * time.Second, -1 * time.Second},
		{"stopped just after a slot's run", 2 * time.Second, 4 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := play(t, tc.stop, tc.start)
			if a, b := scheduled(got, from, to), scheduled(want, from, to); a != b {
				t.Errorf("%d scheduled runs in %s..%s with a restart, %d without (the restart lost or added a slot's run)", a, from.Format("15:04:05"), to.Format("15:04:05"), b)
			}
			// Up again from t0+200s: base runs on the grid, as without
			// the restart.
			at := t0.Add(240 * time.Second)
			if a, b := after(got, at), after(want, at); !slices.Equal(a, b) {
				t.Errorf("the base runs after the outage start at %v with a restart, %v without (off the flow's grid)", a, b)
			}
		})
	}
}
