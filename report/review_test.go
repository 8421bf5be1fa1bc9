package report

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
)

// Cases from the review of the report (review-report.md): each failed on
// the code before its fix.

// TestReviewQuorumConfirmation: a window counted at the location quorum is
// confirmed when as many locations as the quorum needs have confirmed their
// own windows, not when the first location did. Before, the confirmation
// was the earliest location's (clamped to the counted window's start), so a
// window that reached the quorum when a second location started failing was
// "confirmed" at its own start and the MTTD was 0 s.
func TestReviewQuorumConfirmation(t *testing.T) {
	m := time.Minute
	locRuns := func(fails map[string][2]int) func() []probe.Run {
		return func() []probe.Run {
			var out []probe.Run
			for _, l := range []string{"a", "b", "c"} {
				f, ok := fails[l]
				spec := failing("ok")
				if ok {
					spec = failing("fail:login", f)
				}
				out = append(out, schedule(l, hm(10, 0), hm(11, 0), m, spec)...)
			}
			return out
		}
	}
	tests := []struct {
		name      string
		quorum    config.Quorum
		fails     map[string][2]int
		start     time.Time
		confirmed time.Time
		mttd      float64
	}{
		{
			// a fails from 10:00 (confirmed 10:01), b from 10:08 (confirmed
			// 10:09): two of three are down from 10:08, confirmed at 10:09.
			name: "majority reached by a later location", quorum: config.Quorum{Mode: "majority"},
			fails: map[string][2]int{"a": {0, 30}, "b": {8, 30}},
			start: hm(10, 8), confirmed: hm(10, 9), mttd: 60.3,
		},
		{
			name: "all of three", quorum: config.Quorum{Mode: "all"},
			fails: map[string][2]int{"a": {0, 30}, "b": {4, 30}, "c": {10, 30}},
			start: hm(10, 10), confirmed: hm(10, 11), mttd: 60.3,
		},
		{
			// Any one location is enough: the first to confirm.
			name: "count 1", quorum: config.Quorum{Mode: "count", N: 1},
			fails: map[string][2]int{"a": {5, 30}, "b": {3, 30}},
			start: hm(10, 3), confirmed: hm(10, 4), mttd: 60.3,
		},
		{
			// Both start together; b confirms later than a (down_after 2 at a,
			// b's second failing run is the same minute): 10:21.
			name: "majority starting together", quorum: config.Quorum{Mode: "majority"},
			fails: map[string][2]int{"a": {20, 40}, "b": {20, 40}},
			start: hm(10, 20), confirmed: hm(10, 21), mttd: 60.3,
		},
	}
	for _, st := range stores() {
		t.Run(st.name, func(t *testing.T) {
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					cfg := testConfig("UTC", m)
					cfg.Policy.Quorum = tc.quorum
					s := st.open(t)
					load(t, s, cfg, locRuns(tc.fails)())
					rep, err := Build(context.Background(), Input{Config: cfg, Store: s, From: hm(10, 0), To: hm(11, 0), Timelines: []*config.Timeline{}})
					if err != nil {
						t.Fatal(err)
					}
					svc := rep.Services[0]
					if len(svc.Windows) == 0 {
						t.Fatal("no windows")
					}
					for _, w := range svc.Windows {
						if !w.Start.Equal(tc.start) || !w.Confirmed.Equal(tc.confirmed) {
							t.Errorf("window %s %s: start %s confirmed %s, want %s confirmed %s", w.Flow, fnName(w),
								w.Start.Format("15:04:05"), w.Confirmed.Format("15:04:05"), tc.start.Format("15:04:05"), tc.confirmed.Format("15:04:05"))
						}
					}
					if svc.MTTDSeconds == nil || math.Abs(*svc.MTTDSeconds-tc.mttd) > 1e-6 { // to the end of the 0.3 s confirming run
						t.Errorf("MTTD = %s, want %v s", fmtF(svc.MTTDSeconds), tc.mttd)
					}
				})
			}
		})
	}
}

// TestReviewLocalTime: LocalTime gives a wall time's instant, the first
// instant after the jump for a wall time the clocks skip, and agrees with
// DayStart at every local midnight of 2023-2025 in zones whose clocks jump at
// midnight and others (half-hour offsets and a 30-minute DST shift among
// them). It backs the date-time form of --from/--to (cmd TestReviewParseTime).
func TestReviewLocalTime(t *testing.T) {
	for _, name := range append(append([]string{}, midnightZones...), otherZones...) {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		for d := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() < 2026; d = d.AddDate(0, 0, 1) {
			if got, want := LocalTime(d.Year(), d.Month(), d.Day(), 0, 0, 0, loc), DayStart(d.Year(), d.Month(), d.Day(), loc); !got.Equal(want) {
				t.Errorf("%s %s: LocalTime %s, DayStart %s", name, d.Format(time.DateOnly), got, want)
			}
		}
		// Every minute of the days with a clock change.
		for _, tr := range transitions(time.Date(2024, 1, 1, 0, 0, 0, 0, loc), loc) {
			day := tr.In(loc)
			for m := 0; m < 24*60; m++ {
				want := time.Date(day.Year(), day.Month(), day.Day(), m/60, m%60, 0, 0, time.UTC)
				got := LocalTime(day.Year(), day.Month(), day.Day(), m/60, m%60, 0, loc)
				w := wallClock(got)
				switch {
				case w.Equal(want):
					if earlier := got.Add(-time.Hour); wallClock(earlier).Equal(want) || wallClock(got.Add(-30*time.Minute)).Equal(want) {
						t.Errorf("%s %s: %s is the second occurrence", name, want.Format("2006-01-02 15:04"), got)
					}
				case w.After(want) && !wallClock(got.Add(-time.Second)).Before(want):
					t.Errorf("%s %s (skipped) = %s, not the first instant after the jump", name, want.Format("2006-01-02 15:04"), got)
				case w.Before(want):
					t.Errorf("%s %s = %s, before it", name, want.Format("2006-01-02 15:04"), got)
				}
			}
		}
	}
}

// TestReviewUndeclaredOutsideMaintenance: a window wholly inside planned
// maintenance counts for nothing (no downtime, no incident) and is not an
// undeclared outage either; one that runs past the maintenance is. Before,
// every counted window that no incident matched was undeclared, so an
// outage during announced maintenance read as one the provider hid.
func TestReviewUndeclaredOutsideMaintenance(t *testing.T) {
	m := time.Minute
	for _, st := range stores() {
		t.Run(st.name, func(t *testing.T) {
			cfg := testConfig("UTC", m)
			cfg.Maintenance = []config.Maintenance{{Service: "messaging", Start: hm(10, 0), End: hm(11, 0), Reason: "upgrade"}}
			s := st.open(t)
			// send fails 10:10-10:30 (inside) and 10:50-11:10 (past the end).
			load(t, s, cfg, schedule("a", hm(9, 0), hm(12, 0), m, failing("fail:send", [2]int{70, 90}, [2]int{110, 130})))
			rep, err := Build(context.Background(), Input{Config: cfg, Store: s, From: hm(9, 0), To: hm(12, 0), Timelines: []*config.Timeline{}})
			if err != nil {
				t.Fatal(err)
			}
			svc := rep.Services[0]
			if svc.DowntimeSeconds != 600 || svc.Incidents != 1 {
				t.Errorf("downtime %v s, %d incidents; want 600 s (11:00-11:10), 1", svc.DowntimeSeconds, svc.Incidents)
			}
			sameList(t, "undeclared", winList(svc.Undeclared), []string{
				"flow down 10:50-11:10 send a",
				"receive down 10:50-11:10 send a",
				"send down 10:50-11:10 send a",
			})
		})
	}
}

// TestReviewPartialHourCounts: a range that starts and ends inside hours
// counts exactly the runs and step results in it (the store's rollups are
// hourly; the read path must not round the range out to whole hours). Held
// on the code under review; kept as a guard.
func TestReviewPartialHourCounts(t *testing.T) {
	for _, st := range stores() {
		t.Run(st.name, func(t *testing.T) {
			cfg := testConfig("UTC", time.Minute)
			s := st.open(t)
			// send fails 10:00-10:30 (receive not run), then all pass to 12:00.
			load(t, s, cfg, schedule("a", hm(10, 0), hm(12, 0), time.Minute, failing("fail:send", [2]int{0, 30})))
			rep, err := Build(context.Background(), Input{Config: cfg, Store: s, From: hm(10, 20), To: hm(11, 15), Timelines: []*config.Timeline{}})
			if err != nil {
				t.Fatal(err)
			}
			svc := rep.Services[0]
			if svc.Runs != 55 || svc.RunSuccessRatio == nil || !near(*svc.RunSuccessRatio, 45.0/55) {
				t.Errorf("runs %d, success %s; want 55 runs, 45 passing", svc.Runs, fmtF(svc.RunSuccessRatio))
			}
			if svc.Steps[0].Count != 55 || svc.Steps[2].Count != 45 {
				t.Errorf("step counts login %d receive %d, want 55 and 45", svc.Steps[0].Count, svc.Steps[2].Count)
			}
		})
	}
}
