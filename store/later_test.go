package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/state"
)

// TestEdgesLaterStoredAndMigrated: the ends of the runs that bound how much
// later a window's edges may have been (state.Window.FirstInEnd,
// FirstAfterEnd) are stored with its events and read back, in both
// databases; migration 12 fills them in for windows stored before it from
// the runs still kept that started at each edge, and leaves them not known
// (never 0 s) where that run is gone or no run made the edge (a window
// closed where an unknown stretch began).
func TestEdgesLaterStoredAndMigrated(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 12, 5, 3, 0, 0, 0, time.UTC)
	run := func(at time.Time, d time.Duration, ok bool) probe.Run {
		st, msg := probe.StatusOK, ""
		if !ok {
			st, msg = probe.StatusFailed, "login: flow timeout after 15s"
		}
		return probe.Run{ID: "r" + at.Format("150405"), Flow: "chat", Service: "messaging", Location: "seoul-a", Start: at, Duration: d,
			Steps: []probe.StepResult{{Step: "login", Function: "login", Status: st, Duration: d, Error: msg}}}
	}
	sec := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }
	// kept: runs stored at both edges (a 15 s timeout at its start, a 14 s
	// hang that passed at its end); gone: no run stored at either edge;
	// gap: its start's run kept, its end where an unknown stretch began.
	runs := []probe.Run{run(sec(0), 15*time.Second, false), run(sec(30), 15*time.Second, false), run(sec(60), 14*time.Second, true),
		run(sec(1000), 2*time.Second, false), run(sec(1030), 2*time.Second, false)}
	type edges struct{ start, end, firstIn, firstAfter time.Time }
	old := []edges{
		{sec(0), sec(60), sec(15), sec(74)},
		{sec(600), sec(700), time.Time{}, time.Time{}},
		{sec(1000), sec(1090), sec(1002), time.Time{}},
	}
	for _, drv := range migrateDrivers() {
		t.Run(drv.name, func(t *testing.T) {
			open := drv.open(t)
			c, s, err := open(11)
			if err != nil {
				t.Fatal(err)
			}
			appendRunsV14(t, c, s, runs)
			for _, w := range old {
				for _, op := range []string{"open", "close"} {
					end := int64(0)
					if op == "close" {
						end = w.end.UnixNano()
					}
					if _, err := c.w.ExecContext(ctx, fmt.Sprintf(`INSERT INTO events (op, kind, service, flow, function, location, start_ns, end_ns, confirmed_ns, cause_step, error, last_before_ns, last_in_ns, known_ns)
VALUES ('%s', 'down', 'messaging', 'chat', '', 'seoul-a', %d, %d, %d, 'login', 'x', 0, 0, 0)`, op, w.start.UnixNano(), end, w.start.Add(30*time.Second).UnixNano())); err != nil {
						t.Fatal(err)
					}
				}
			}
			s.Close()
			_, s, err = open(-1)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			// And one stored at the latest version, open then closed.
			fresh := state.Window{Key: state.Key{Service: "messaging", Flow: "chat", Location: "seoul-a"}, Kind: state.KindDown,
				Start: sec(2000), Confirmed: sec(2030), Known: sec(2045), FirstInEnd: sec(2015), CauseStep: "login", Error: "x"}
			fresh.Causes = []state.Cause{{Step: "login", Error: "x", From: fresh.Start}}
			closed := fresh
			closed.End, closed.FirstAfterEnd = sec(2090), sec(2090).Add(40*time.Millisecond)
			closed.Causes = []state.Cause{{Step: "login", Error: "x", From: fresh.Start, To: closed.End}}
			if err := s.AppendEvents(ctx, []state.Event{{Op: state.OpOpen, Window: fresh}, {Op: state.OpClose, Window: closed}}); err != nil {
				t.Fatal(err)
			}
			want := map[time.Time]edges{closed.Start: {closed.Start, closed.End, closed.FirstInEnd, closed.FirstAfterEnd}}
			for _, w := range old {
				want[w.start] = w
			}
			ws, err := s.Windows(ctx, Query{From: t0, To: t0.Add(time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			if len(ws) != len(want) {
				t.Fatalf("%d windows, want %d", len(ws), len(want))
			}
			for _, w := range ws {
				e, ok := want[w.Start.UTC()]
				if !ok || !w.FirstInEnd.Equal(e.firstIn) || !w.FirstAfterEnd.Equal(e.firstAfter) {
					t.Errorf("window from %s: FirstInEnd %s FirstAfterEnd %s, want %s %s", w.Start.UTC().Format(time.TimeOnly),
						w.FirstInEnd.UTC(), w.FirstAfterEnd.UTC(), e.firstIn, e.firstAfter)
				}
				if _, ok := w.EndLater(); ok != !e.firstAfter.IsZero() {
					t.Errorf("window from %s: end later known %v", w.Start.UTC().Format(time.TimeOnly), ok)
				}
			}
			// An open window read back as open keeps its start's bound.
			if err := s.AppendEvents(ctx, []state.Event{{Op: state.OpOpen, Window: state.Window{Key: fresh.Key, Kind: state.KindDown, Start: sec(3000),
				Confirmed: sec(3030), FirstInEnd: sec(3009), CauseStep: "login", Error: "x", Causes: []state.Cause{{Step: "login", Error: "x", From: sec(3000)}}}}}); err != nil {
				t.Fatal(err)
			}
			ows, err := s.OpenWindows(ctx, "seoul-a")
			if err != nil {
				t.Fatal(err)
			}
			var found bool
			for _, w := range ows {
				if w.Start.Equal(sec(3000)) {
					found = true
					if !w.FirstInEnd.Equal(sec(3009)) {
						t.Errorf("open window from +3000s: FirstInEnd %s, want +3009s", w.FirstInEnd.UTC())
					}
				}
			}
			if !found {
				t.Error("the open window from +3000s is not read back")
			}
		})
	}
}
