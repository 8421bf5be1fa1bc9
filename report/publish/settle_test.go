package publish

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/state"
)

// TestCycleWaitsForAWindowBackdatedIntoTheMonth: a failure that began in a
// month's last seconds is a window only at its down_after-th failed run,
// backdated to the first: with down_after 3 every 10 minutes, timeout
// 30 s, the run at 23:59:50 failed and the window from it came with the
// run at 00:19:50, stored at 00:20:20. The cycle waited two intervals and
// 5 s (00:20:05) and built version 1 with the month's last 10 s up; the
// next cycle made a version 2 of a finished month with them down. It now
// waits for down_after-1 spacings (confirm_every, or the interval) and the
// timeout as well.
func TestCycleWaitsForAWindowBackdatedIntoTheMonth(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(filepath.Join(dir, "reports"))
	cfg.Services[0].Flows[0].DownAfter = 3
	cfg.Services[0].Flows[0].Timeout = 30 * time.Second
	s := openStore(t, dir)
	oct := time.Date(2022, 10, 1, 0, 0, 0, 0, cfg.Loc)
	nov := time.Date(2022, 11, 1, 0, 0, 0, 0, cfg.Loc)
	fill(t, s, oct, nov.Add(-5*time.Minute)) // every 10 minutes up to 23:50
	// Failing from 23:59:50 (a prober whose runs come at :50), each run
	// timing out.
	m := state.New("messaging", "chat", "seoul-a", []string{"send", "receive"}, state.Policy{Interval: 10 * time.Minute, DownAfter: 3, UpAfter: 1})
	var runs []probe.Run
	var evs [][]state.Event
	for i := range 3 {
		at := nov.Add(-10*time.Second + time.Duration(i)*10*time.Minute)
		runs = append(runs, probe.Run{ID: at.Format(time.RFC3339), Flow: "chat", Service: "messaging", Location: "seoul-a", Start: at, Duration: 30 * time.Second,
			Steps: []probe.StepResult{{Step: "send", Function: "send", Status: probe.StatusFailed, Error: "timeout"}, {Step: "receive", Function: "receive", Status: probe.StatusNotRun}}})
		evs = append(evs, m.Observe(&runs[i]))
	}
	if len(evs[2]) == 0 {
		t.Fatal("the third failed run made no window")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store := func(i int) {
		t.Helper()
		if err := s.AppendRuns(ctx, runs[i:i+1]); err != nil {
			t.Fatal(err)
		}
		if err := s.AppendEvents(ctx, evs[i]); err != nil {
			t.Fatal(err)
		}
	}
	store(0)
	store(1)

	fc := clockwork.NewFakeClockAt(nov.Add(20*time.Minute + 5*time.Second))
	p, err := New(cfg, Options{Store: s, Clock: cwClock{fc}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Cycle(ctx) }()
	waiting := make(chan struct{})
	go func() {
		if fc.BlockUntilContext(ctx, 1) == nil {
			close(waiting)
		}
	}()
	select {
	case err := <-done: // built before the window was stored
		if err != nil {
			t.Fatal(err)
		}
		store(2)
		fc.Advance(time.Hour)
	case <-waiting:
		store(2)
		fc.Advance(time.Hour)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Cycle(ctx); err != nil { // the next cycle
		t.Fatal(err)
	}
	vs, err := s.ReportVersions(ctx, "2022-10")
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 1 {
		t.Errorf("%d versions of 2022-10, want 1: %+v", len(vs), vs)
	}
}
