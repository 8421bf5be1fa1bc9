package publish

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

// cwClock is a clockwork fake clock as a clock.Clock that hands the
// scheduler the same clock (as the daemon's adapter does).
type cwClock struct{ *clockwork.FakeClock }

func (c cwClock) Clockwork() clockwork.Clock { return c.FakeClock }

func (c cwClock) Sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-c.FakeClock.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// A reload that changes reports.schedule or timezone moves the running job
// (before, the schedule and zone the process started with stayed until a
// restart, silently).
func TestSetConfigMovesTheSchedule(t *testing.T) {
	now := time.Date(2022, 10, 15, 0, 0, 0, 0, time.UTC) // 09:00 in Seoul
	santiago, err := time.LoadLocation("America/Santiago")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		schedule string
		loc      *time.Location
		want     time.Time
	}{
		{"unchanged", "", nil, time.Date(2022, 10, 31, 15, 10, 0, 0, time.UTC)},           // 1 Nov 00:10 KST
		{"schedule", "0 6 * * *", nil, time.Date(2022, 10, 15, 21, 0, 0, 0, time.UTC)},    // 16 Oct 06:00 KST
		{"timezone", "", santiago, time.Date(2022, 11, 1, 3, 10, 0, 0, time.UTC)},         // 1 Nov 00:10 -03
		{"both", "30 23 * * *", santiago, time.Date(2022, 10, 15, 2, 30, 0, 0, time.UTC)}, // 14 Oct 23:30 -03
		{"descriptor", "@monthly", nil, time.Date(2022, 10, 31, 15, 0, 0, 0, time.UTC)},   // 1 Nov 00:00 KST
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := testConfig(filepath.Join(dir, "reports"))
			fc := clockwork.NewFakeClockAt(now)
			p, err := New(cfg, Options{Store: sqliteStore(t), Clock: cwClock{fc}})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- p.Run(ctx) }()
			defer func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("Run: %v", err)
				}
			}()
			next := func() time.Time {
				p.mu.Lock()
				j := p.job
				p.mu.Unlock()
				if j == nil {
					return time.Time{}
				}
				n, _ := j.NextRun()
				return n
			}
			waitNext(t, next, time.Date(2022, 10, 31, 15, 10, 0, 0, time.UTC))

			c := testConfig(filepath.Join(dir, "reports"))
			if tc.schedule != "" {
				c.Reports.Schedule = tc.schedule
			}
			if tc.loc != nil {
				c.Timezone, c.Loc = tc.loc.String(), tc.loc
			}
			p.SetConfig(c)
			waitNext(t, next, tc.want)
		})
	}
}

// waitNext waits (a bounded, wall-clock wait: the scheduler computes the
// next run on its own goroutine) for the job's next run to be want.
func waitNext(t *testing.T, next func() time.Time, want time.Time) {
	t.Helper()
	var got time.Time
	for range 500 {
		if got = next(); got.Equal(want) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("next scheduled report %s, want %s", got.UTC(), want.UTC())
}
