package report

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
)

// TestSilentJudgedWhenUnknownIs: a location is silent (Report.Silent) when
// the report counts the time after its last run as unknown, judged at the
// same instant: a finished range made later (the wall clock) knows that no
// run followed the last one within two intervals, one made at its end does
// not yet. Before, silence was judged at the end of the elapsed range
// whatever the report's now, so a prober stopped in the last two intervals
// before --to (last run 10:58, every minute) made 60 s unknown in the
// report of 10:00-11:00 made at 12:00 and was not listed as silent.
func TestSilentJudgedWhenUnknownIs(t *testing.T) {
	m := time.Minute
	tests := []struct {
		name        string
		to, now     time.Time
		back        time.Time // the prober's runs again from then (zero: never)
		unknown     float64
		silentSince time.Time // zero: not silent
	}{
		{"over, made later", hm(11, 0), hm(12, 0), time.Time{}, 60, hm(10, 59)},
		{"over, made at its end", hm(11, 0), hm(11, 0), time.Time{}, 0, time.Time{}},
		{"over, back after two intervals", hm(11, 0), hm(12, 0), hm(11, 30), 60, hm(10, 59)},
		{"over, back within two intervals", hm(11, 0), hm(12, 0), hm(11, 0), 0, time.Time{}},
		{"over, back a little late", hm(11, 0), hm(12, 0), hm(11, 0).Add(30 * time.Second), 60, hm(10, 59)},
		{"running, not yet late", hm(12, 0), hm(11, 0), time.Time{}, 0, time.Time{}},
		{"running, late", hm(12, 0), hm(11, 1), time.Time{}, 120, hm(10, 59)},
	}
	for _, st := range stores() {
		for _, tc := range tests {
			t.Run(st.name+"/"+tc.name, func(t *testing.T) {
				cfg := testConfig("UTC", m)
				runs := schedule("seoul-a", hm(10, 0), hm(10, 59), m, failing("ok"))
				if !tc.back.IsZero() {
					runs = append(runs, schedule("seoul-a", tc.back, tc.back.Add(10*m), m, failing("ok"))...)
				}
				s := st.open(t)
				load(t, s, cfg, runs)
				rep, err := Build(context.Background(), Input{Config: cfg, Store: s, From: hm(10, 0), To: tc.to, Now: tc.now, Timelines: []*config.Timeline{}})
				if err != nil {
					t.Fatal(err)
				}
				if got := rep.Services[0].UnknownSeconds; got != tc.unknown {
					t.Errorf("unknown %gs, want %gs", got, tc.unknown)
				}
				want := map[string]time.Time{}
				if !tc.silentSince.IsZero() {
					want["seoul-a"] = tc.silentSince
				}
				got := rep.Silent
				if got == nil {
					got = map[string]time.Time{}
				}
				if !maps.EqualFunc(got, want, time.Time.Equal) {
					t.Errorf("silent %v, want %v", got, want)
				}
			})
		}
	}
}
