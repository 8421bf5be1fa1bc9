package statuspage

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/probe"
)

// TestKickedRebuildKeepsTheMinute: a kicked rebuild (this prober's own
// window opened) does not put off the fleet's next whole-minute rebuild
// by a period when that comes at least kickFloor after it. Seen live with
// two probers on one PostgreSQL (hub-push every 20 s, a proxy refusing the
// push from 05:59:30 to 06:00:40): busan-b's window opened at 05:59:45 and
// its kicked rebuild at 05:59:47 saw seoul-a still up; seoul-a's kicked
// rebuild paged the quorum at 05:59:55, but busan-b rebuilt next only when
// its window closed at 06:00:41 (aligned: never within half a period, so
// 06:00:00 moved to 06:01:00), and its ticket "below the quorum of
// locations: not counted" fired beside the page the whole outage, where
// the README says the tickets say so until the next whole-minute rebuild.
func TestKickedRebuildKeepsTheMinute(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		kick time.Duration // after t0
		want []time.Duration
	}{
		// Kicked at 09:01:45, rebuilt at 09:01:47: 09:02:00 is 13 s on.
		{"kicked 13 s before the minute", 105 * time.Second, []time.Duration{0, time.Minute, 107 * time.Second, 2 * time.Minute, 3 * time.Minute}},
		// Rebuilt at 09:01:53: 09:02:00 is sooner than kickFloor after it.
		{"kicked 7 s before the minute", 111 * time.Second, []time.Duration{0, time.Minute, 113 * time.Second, 3 * time.Minute}},
		{"no kick", 0, []time.Duration{0, time.Minute, 2 * time.Minute, 3 * time.Minute}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tempStore(t)
			var runs []probe.Run
			for _, loc := range []string{"busan-b", "seoul-a"} {
				for i := -5; i < 0; i++ {
					runs = append(runs, fleetRun(loc, t0.Add(time.Duration(i)*time.Minute), true))
				}
			}
			if err := s.AppendRuns(context.Background(), runs); err != nil {
				t.Fatal(err)
			}
			mc := clock.NewManual(t0)
			var mu sync.Mutex
			var builds []time.Duration
			p, err := New(fleetConfig("busan-b"), Options{Store: s, Clock: mc, Verdict: func(Verdict) {
				mu.Lock()
				defer mu.Unlock()
				if at := mc.Now().Sub(t0); !slices.Contains(builds, at) {
					builds = append(builds, at)
				}
			}})
			if err != nil {
				t.Fatal(err)
			}
			if tc.kick > 0 {
				// The manual clock fires timers inside Sleep and goes on:
				// wait (real time) until sleepOrKick's goroutine has taken
				// the kick and ended the sleep's context, as a real clock
				// would have stopped there.
				mc.AfterFunc(t0.Add(tc.kick), func() {
					p.Kick()
					for i := 0; i < 2000 && len(p.kick) > 0; i++ {
						time.Sleep(time.Millisecond)
					}
					time.Sleep(20 * time.Millisecond)
				})
			}
			ctx, cancel := clock.WithDeadline(context.Background(), mc, t0.Add(3*time.Minute+30*time.Second))
			defer cancel()
			if err := p.Run(ctx); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if !slices.Equal(builds, tc.want) {
				t.Errorf("rebuilt at %v after 09:00, want %v", builds, tc.want)
			}
		})
	}
}
