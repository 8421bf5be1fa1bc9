package statuspage

import (
	"context"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"go.uber.org/goleak"
)

// TestKickedRebuildWaits: Run's wait between rebuilds (waitRebuild) ends
// when the periodic rebuild is due, or, kicked (Kick: this prober's own
// window opened or closed in a fleet), kickSettle after the kick, but no
// sooner than kickFloor, or 9 times the last build's duration, after that
// build's end; kicks before the rebuild coalesce into it.
func TestKickedRebuildWaits(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		took  time.Duration
		wait  time.Duration
		kicks []time.Duration // after the last build's end (t0); the wait begins at the last
		// during are kicks while it waits (after t0).
		during []time.Duration
		want   time.Duration // the rebuild's time after t0
		// again: a kick is left pending for after the rebuild (one came
		// less than kickSettle before it: its run may not be in the store).
		again bool
	}{
		{name: "no kick: the period", took: 50 * time.Millisecond, wait: time.Minute, want: time.Minute},
		{name: "kicked 30 s after the build: 2 s later", took: 50 * time.Millisecond, wait: time.Minute, kicks: []time.Duration{30 * time.Second}, want: 32 * time.Second},
		{name: "kicked 1 s after the build: 10 s after it", took: 50 * time.Millisecond, wait: time.Minute, kicks: []time.Duration{time.Second}, want: 10 * time.Second},
		{name: "kicks coalesce", took: 50 * time.Millisecond, wait: time.Minute, kicks: []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}, want: 10 * time.Second},
		{name: "a build of 3 s: 33 s after it", took: 3 * time.Second, wait: time.Minute, kicks: []time.Duration{time.Second}, want: 33 * time.Second},
		{name: "never later than the period", took: 5 * time.Second, wait: 50 * time.Second, kicks: []time.Duration{49 * time.Second}, want: 50 * time.Second, again: true},
		{name: "kicked again just before the kicked rebuild", took: 50 * time.Millisecond, wait: time.Minute, kicks: []time.Duration{30 * time.Second},
			during: []time.Duration{31*time.Second + 900*time.Millisecond}, want: 32 * time.Second, again: true},
		{name: "kicked again 3 s before the kicked rebuild", took: 50 * time.Millisecond, wait: time.Minute, kicks: []time.Duration{time.Second},
			during: []time.Duration{7 * time.Second}, want: 10 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := clock.NewManual(t0)
			p, err := New(fleetConfig("seoul-a"), Options{Store: tempStore(t), Clock: clk})
			if err != nil {
				t.Fatal(err)
			}
			p.snap = &snapshot{took: tc.took}
			for _, k := range tc.kicks {
				clk.Set(t0.Add(k))
				p.Kick()
			}
			for _, k := range tc.during {
				clk.AfterFunc(t0.Add(k), p.Kick)
			}
			if err := p.waitRebuild(context.Background(), t0, tc.wait); err != nil {
				t.Fatal(err)
			}
			if got := clk.Now().Sub(t0); got != tc.want {
				t.Errorf("rebuilt %s after the last build, want %s", got, tc.want)
			}
			if left := len(p.kick) != 0; left != tc.again {
				t.Errorf("a kick left pending after the rebuild: %v, want %v", left, tc.again)
			}
		})
	}
}

// TestKickedRebuildsOverAnHour counts a fleet's rebuilds over an hour with
// this prober's own windows opening or closing every second (many flows
// flapping: a kick every second), by the rules Run follows (periodWait,
// kickedAt), for builds of 50 ms (a small config), 1 s, 3 s and 5 s
// (50,000 flows, README "Cost per check"), against the rebuilds without
// kicks: the share of the time spent building stays under a tenth, as the
// periodic rebuilds keep it, and at 5 s builds the kicks add no rebuild.
func TestKickedRebuildsOverAnHour(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	for _, took := range []time.Duration{50 * time.Millisecond, time.Second, 3 * time.Second, 5 * time.Second} {
		count := func(kicked bool) (builds int, building time.Duration) {
			now := t0
			for now.Before(t0.Add(time.Hour)) {
				builds++
				building += took
				end := now.Add(took)
				due := end.Add(periodWait(end, time.Minute, took, true))
				if kicked {
					// The first kick after the build's end, a second on.
					if at := kickedAt(end.Truncate(time.Second).Add(time.Second), end, took); at.Before(due) {
						due = at
					}
				}
				now = due
			}
			return builds, building
		}
		pb, pt := count(false)
		kb, kt := count(true)
		t.Logf("builds of %s: %d rebuilds an hour (%.1f%% of the time) on the period alone, %d (%.1f%%) kicked every second",
			took, pb, 100*pt.Seconds()/3600, kb, 100*kt.Seconds()/3600)
		if kt > time.Hour/10 {
			t.Errorf("builds of %s kicked every second take %s of the hour, more than a tenth", took, kt)
		}
		if took >= 5*time.Second && kb > pb {
			t.Errorf("builds of %s: %d rebuilds kicked every second, more than the period's %d", took, kb, pb)
		}
	}
}

// TestKickedWaitEndsWithCtx: the daemon shutting down while a kicked
// rebuild is pending (a kick just in, another on its way) ends the wait
// with ctx's error and leaves no goroutine behind (sleepOrKick's).
func TestKickedWaitEndsWithCtx(t *testing.T) {
	cur := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, cur) }) // after the store's close
	p, err := New(fleetConfig("seoul-a"), Options{Store: tempStore(t), Clock: clock.Real{}})
	if err != nil {
		t.Fatal(err)
	}
	p.snap = &snapshot{took: 50 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	p.Kick()
	go func() { done <- p.waitRebuild(ctx, time.Now(), time.Hour) }()
	p.Kick()
	cancel()
	select {
	case err := <-done:
		if err == nil {
			t.Errorf("waitRebuild returned nil after ctx ended, want its error")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("waitRebuild still waiting 30 s after ctx ended")
	}
}
