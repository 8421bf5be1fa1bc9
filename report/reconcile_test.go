package report

import (
	"context"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
)

// TestReconcileNotBeforeItHappened: a declared incident that starts after
// now has not happened and is not reconciled (not "not detected"), also in
// a report of a period that has not begun, where the elapsed period ends at
// its start: an incident declared from the evening before the period, or
// ongoing from then, is after now all the same.
func TestReconcileNotBeforeItHappened(t *testing.T) {
	now := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	from, to := time.Date(2027, 4, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 5, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		inc  config.Incident
		want int
	}{
		{"declared across the start of a period to come", incident("across", "error", []string{"send"}, from.Add(-time.Hour), from.Add(time.Hour)), 0},
		{"ongoing from before a period to come", incident("ongoing", "down", []string{"send"}, from.Add(-20*24*time.Hour), time.Time{}), 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("UTC", time.Minute)
			s := newMemStore()
			load(t, s, cfg, schedule("seoul-a", now.Add(-time.Hour), now, time.Minute, failing("ok")))
			rep, err := Build(context.Background(), Input{Config: cfg, Store: s, From: from, To: to, Now: now, Timelines: timeline(tc.inc)})
			if err != nil {
				t.Fatal(err)
			}
			if got := rep.Services[0].Reconciliation; len(got) != tc.want {
				t.Errorf("%d reconciliation rows %+v, want %d: it starts after now", len(got), got, tc.want)
			}
		})
	}
}
