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

// A report schedule whose wall time the clocks skip fires at the end of the
// jump, not a month later: in America/Asuncion the clocks went from
// 2023-10-01 00:00 to 01:00, and "10 0 1 * *" and @monthly next fired on
// 11-01, so September's report waited a month. A firing on another day
// ("10 0 15 * *") is not moved to the day of the jump, and the firing after
// the jump is the usual one.
func TestScheduleSkippedByTheClocks(t *testing.T) {
	asuncion, err := time.LoadLocation("America/Asuncion")
	if err != nil {
		t.Fatal(err)
	}
	jump := time.Date(2023, 10, 1, 4, 0, 0, 0, time.UTC) // 00:00 -04 became 01:00 -03
	for _, tc := range []struct {
		schedule  string
		now       time.Time
		want      time.Time
		wantAfter time.Time // the firing after want
	}{
		{"10 0 1 * *", time.Date(2023, 9, 15, 12, 0, 0, 0, asuncion), jump, time.Date(2023, 11, 1, 0, 10, 0, 0, asuncion)},
		{"@monthly", time.Date(2023, 9, 15, 12, 0, 0, 0, asuncion), jump, time.Date(2023, 11, 1, 0, 0, 0, 0, asuncion)},
		{"30 0 * * *", time.Date(2023, 9, 30, 12, 0, 0, 0, asuncion), jump, time.Date(2023, 10, 2, 0, 30, 0, 0, asuncion)},
		{"10 0 15 * *", time.Date(2023, 9, 20, 12, 0, 0, 0, asuncion), time.Date(2023, 10, 15, 0, 10, 0, 0, asuncion), time.Date(2023, 11, 15, 0, 10, 0, 0, asuncion)},
		// New York 2026-11-01: 01:00-02:00 twice; a firing at 01:30 runs once, at the first.
		{"30 1 * * *", time.Date(2026, 10, 31, 12, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC), time.Date(2026, 11, 2, 6, 30, 0, 0, time.UTC)},
	} {
		t.Run(tc.schedule, func(t *testing.T) {
			dir := t.TempDir()
			cfg := testConfig(filepath.Join(dir, "reports"))
			cfg.Reports.Schedule = tc.schedule
			cfg.Timezone, cfg.Loc = asuncion.String(), asuncion
			if tc.schedule == "30 1 * * *" {
				ny, err := time.LoadLocation("America/New_York")
				if err != nil {
					t.Fatal(err)
				}
				cfg.Timezone, cfg.Loc = ny.String(), ny
			}
			fc := clockwork.NewFakeClockAt(tc.now)
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
			waitNext(t, next, tc.want)
			// The firing after it, as the scheduler computes it from that run.
			c := &wallCron{}
			if err := c.IsValid(crontab(cfg), cfg.Loc, tc.now); err != nil {
				t.Fatal(err)
			}
			if got := c.Next(tc.want); !got.Equal(tc.wantAfter) {
				t.Errorf("after %s: next %s, want %s", tc.want.UTC(), got.UTC(), tc.wantAfter.UTC())
			}
		})
	}
}

// "@every D" is a duration, not a wall time: across New York's fall-back
// on 2026-11-01 "@every 1h" runs an hour apart (01:30 EDT, then 01:30
// EST), as the cron library has it, not two hours apart by the wall clock.
func TestScheduleEveryIsADuration(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	c := &wallCron{}
	if err := c.IsValid("CRON_TZ=America/New_York @every 1h", ny, time.Date(2026, 11, 1, 0, 30, 0, 0, ny)); err != nil {
		t.Fatal(err)
	}
	first := time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC) // 01:30 EDT
	if got, want := c.Next(first), first.Add(time.Hour); !got.Equal(want) {
		t.Errorf("after %s: %s, want %s", first, got.UTC(), want)
	}
}
