package statuspage

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/state"
)

// TestAloneEmptyMonthSaysAlone: a prober alone whose month's figures hold
// no run (a new database whose store writer is slow, flows every 10
// minutes, a restart just after midnight on the 1st with its window open
// since 23:55) and whose previous days' figures hold no other location:
// main said nothing, so the notifier sent nothing new until a run was
// stored (or the 5-minute lapse, warning "no verdict of the fleet" while
// every build worked); a window was pushed up to 5 minutes late where a
// prober alone pushed it at once. Now such figures say alone.
func TestAloneEmptyMonthSaysAlone(t *testing.T) {
	ctx := context.Background()
	midnight := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		interval time.Duration
		start    time.Time
		nov      bool // seoul-a's runs of November's last 10 minutes are stored
		stored   bool // this month's runs are stored as they run (the store writer keeps up)
		open     []state.Window
		opens    time.Duration // a window opens this long after the start (none open before)
	}{
		{name: "new database, runs stored", interval: 10 * time.Second, start: time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC), stored: true, opens: 10 * time.Second},
		{name: "new database, 10s", interval: 10 * time.Second, start: time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC), opens: 20 * time.Second},
		{name: "new database, 10m", interval: 10 * time.Minute, start: time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC), opens: 2 * time.Minute},
		{name: "restart on the 1st", interval: time.Minute, start: midnight.Add(30 * time.Second), nov: true,
			open: []state.Window{downWindow("chat", midnight.Add(-5*time.Minute))}, opens: 20 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openSQLite(t)
			if tc.nov {
				for i := range 10 {
					at := midnight.Add(time.Duration(i-10) * time.Minute)
					if err := s.AppendRuns(ctx, []probe.Run{fleetRun("seoul-a", at, i < 5)}); err != nil {
						t.Fatal(err)
					}
				}
			}
			cfg := fleetConfig("seoul-a")
			cfg.Services[0].Flows[0].Interval = tc.interval
			r := newAloneRig(t, s, cfg, tc.start, tc.open, nil)
			// Run's loop, the notifier's beside it, for 6 minutes in steps
			// of 5 s; no run of the month is stored meanwhile but with
			// stored (each failing run as it runs).
			next := tc.start
			for r.clk.Now().Sub(tc.start) < 6*time.Minute {
				now := r.clk.Now()
				if tc.stored && now.Sub(tc.start)%tc.interval == 0 {
					if err := s.AppendRuns(ctx, []probe.Run{fleetRun("seoul-a", now, false)}); err != nil {
						t.Fatal(err)
					}
				}
				if !now.Before(next) {
					if err := r.page.Refresh(ctx); err != nil {
						t.Fatal(err)
					}
					next = now.Add(r.page.nextRebuild())
				}
				if tc.open == nil && now.Sub(tc.start) == tc.opens {
					r.n.Handle([]state.Event{{Op: state.OpOpen, Window: downWindow("media", now)}})
				}
				if err := r.n.Tick(ctx); err != nil {
					t.Fatal(err)
				}
				r.clk.Advance(5 * time.Second)
			}
			flow := "chat"
			if tc.open == nil {
				flow = "media"
			}
			want := tc.start
			if tc.open == nil {
				want = tc.start.Add(tc.opens)
			}
			if at := r.firstPush(flow); !at.Equal(want) {
				t.Errorf("%s's window pushed at %s, want %s (at once)", flow, at.Format("15:04:05"), want.Format("15:04:05"))
			}
			if strings.Contains(r.log.String(), "no verdict of the fleet") {
				t.Errorf("a prober alone whose builds work warned of no verdict:\n%s", r.log)
			}
		})
	}
}
