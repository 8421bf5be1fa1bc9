package report

import (
	"context"
	"testing"
	"time"
)

// TestProvisionalPeriod: a report of a period not over yet (this month) is
// accounted up to now; its figures, verdict and credit are so far, not
// final, and the report says so (provisional) rather than looking like a
// month's report.
func TestProvisionalPeriod(t *testing.T) {
	for _, tc := range []struct {
		name string
		now  time.Time
		want bool
	}{
		{"not over", hm(10, 30), true},
		{"over at now", hm(11, 0), false},
		{"over", hm(12, 0), false},
		{"no now (the end)", time.Time{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("UTC", time.Minute)
			s := stores()[0].open(t)
			load(t, s, cfg, schedule("seoul-a", hm(10, 0), hm(10, 30), time.Minute, failing("ok")))
			rep, err := Build(context.Background(), Input{Config: cfg, Store: s, From: hm(10, 0), To: hm(11, 0), Now: tc.now})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Provisional != tc.want {
				t.Errorf("provisional = %v, want %v", rep.Provisional, tc.want)
			}
		})
	}
}
