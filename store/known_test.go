package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/state"
)

// TestKnownStoredAndMigrated: a window's Known (the end of the run that
// confirmed it) is stored with its events and read back, in both
// databases; migration 11 fills it in for the windows stored before it
// whose confirming run is still kept (its start plus its stored duration)
// and leaves 0 where that run is gone. Before, nothing kept it: a report
// built from the stored windows could only count MTTD to the confirming
// run's start, 9 s short for a run that hung to a 9 s timeout.
func TestKnownStoredAndMigrated(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 12, 5, 3, 0, 0, 0, time.UTC)
	run := func(at time.Time, d time.Duration) probe.Run {
		return probe.Run{ID: "r" + at.Format("150405"), Flow: "chat", Service: "messaging", Location: "seoul-a", Start: at, Duration: d,
			Steps: []probe.StepResult{{Step: "login", Function: "login", Status: probe.StatusFailed, Duration: d, Error: "login: flow timeout after 9s"}}}
	}
	// The window confirmed by a 9 s hang at t0+10s; another whose confirming
	// run (at t0+70s) is not stored.
	runs := []probe.Run{run(t0, 9*time.Second), run(t0.Add(10*time.Second), 9*time.Second)}
	kept, gone := t0.Add(10*time.Second), t0.Add(70*time.Second)
	for _, drv := range migrateDrivers() {
		t.Run(drv.name, func(t *testing.T) {
			open := drv.open(t)
			c, s, err := open(10)
			if err != nil {
				t.Fatal(err)
			}
			appendRunsV14(t, c, s, runs)
			for _, w := range []struct{ start, confirmed time.Time }{{t0, kept}, {t0.Add(60 * time.Second), gone}} {
				if _, err := c.w.ExecContext(ctx, fmt.Sprintf(`INSERT INTO events (op, kind, service, flow, function, location, start_ns, end_ns, confirmed_ns, cause_step, error, last_before_ns, last_in_ns)
VALUES ('open', 'down', 'messaging', 'chat', '', 'seoul-a', %d, 0, %d, 'login', 'x', 0, 0)`, w.start.UnixNano(), w.confirmed.UnixNano())); err != nil {
					t.Fatal(err)
				}
			}
			s.Close()
			_, s, err = open(-1)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			// And one stored at the latest version.
			fresh := state.Window{Key: state.Key{Service: "messaging", Flow: "chat", Location: "seoul-a"}, Kind: state.KindDown,
				Start: t0.Add(120 * time.Second), Confirmed: t0.Add(130 * time.Second), Known: t0.Add(139 * time.Second), CauseStep: "login", Error: "x"}
			fresh.Causes = []state.Cause{{Step: "login", Error: "x", From: fresh.Start}}
			if err := s.AppendEvents(ctx, []state.Event{{Op: state.OpOpen, Window: fresh}}); err != nil {
				t.Fatal(err)
			}
			ws, err := s.Windows(ctx, Query{From: t0, To: t0.Add(time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			want := map[time.Time]time.Time{t0: kept.Add(9 * time.Second), t0.Add(60 * time.Second): {}, fresh.Start: fresh.Known}
			if len(ws) != len(want) {
				t.Fatalf("%d windows, want %d", len(ws), len(want))
			}
			for _, w := range ws {
				if k, ok := want[w.Start.UTC()]; !ok || !w.Known.Equal(k) {
					t.Errorf("window from %s: Known %s, want %s", w.Start.UTC().Format(time.TimeOnly), w.Known.UTC(), k)
				}
			}
		})
	}
}
