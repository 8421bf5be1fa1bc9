package report

import (
	"context"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/probe"
)

// TestTrailingUnknownIsFinal: the end of a finished period is accounted the
// same before and after the prober runs again. The state machine stores an
// unknown window from the end of the last run's interval to the next run
// when that run comes more than two intervals after the last; the report,
// seeing only the period, made the stretch after the last run unknown only
// when the period ended more than two intervals after it. A prober that
// stopped 90 s before the end of a month (1-minute interval) left its last
// 30 s up in a report built while it was stopped, and unknown in the same
// report built after its restart: the daemon's scheduled report made a
// version 2 of the finished month a minute after version 1, its unknown
// time one interval's worth longer.
func TestTrailingUnknownIsFinal(t *testing.T) {
	m := time.Minute
	from, to := hm(10, 0), hm(11, 0)
	last := to.Add(-90 * time.Second) // 10:58:30
	upTo := func(end time.Time) []probe.Run {
		var out []probe.Run
		// From 09:59:30: a run before the period covers its start (the
		// stretch before a first run is unknown: leading_test.go).
		for at := from.Add(-m); !at.After(end); at = at.Add(m) {
			out = append(out, mkRun("seoul-a", at.Add(30*time.Second), "ok"))
		}
		return out
	}
	after := func(start, end time.Time) []probe.Run {
		var out []probe.Run
		for at := start; at.Before(end); at = at.Add(m) {
			out = append(out, mkRun("seoul-a", at, "ok"))
		}
		return out
	}
	cases := []struct {
		name    string
		runs    []probe.Run
		now     time.Time
		unknown float64
	}{
		{"stopped, built an hour later", upTo(last.Add(-30 * time.Second)), to.Add(time.Hour), 30},
		{"stopped, built again after the restart", append(upTo(last.Add(-30*time.Second)), after(to.Add(time.Hour), to.Add(2*time.Hour))...), to.Add(3 * time.Hour), 30},
		{"ran on past the end", append(upTo(last.Add(-30*time.Second)), after(last.Add(m), to.Add(time.Hour))...), to.Add(2 * time.Hour), 0},
		{"built before the next run was due", upTo(last.Add(-30 * time.Second)), to.Add(10 * time.Second), 0},
	}
	for _, st := range stores() {
		for _, tc := range cases {
			t.Run(st.name+"/"+tc.name, func(t *testing.T) {
				cfg := testConfig("UTC", m)
				s := st.open(t)
				load(t, s, cfg, tc.runs)
				rep, err := Build(context.Background(), Input{Config: cfg, Store: s, From: from, To: to, Now: tc.now})
				if err != nil {
					t.Fatal(err)
				}
				if got := rep.Services[0].UnknownSeconds; !near(got, tc.unknown) {
					t.Errorf("unknown = %vs, want %vs (%+v)", got, tc.unknown, rep.Services[0].Unknown)
				}
			})
		}
	}
}
