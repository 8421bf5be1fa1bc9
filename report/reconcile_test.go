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

// TestReconcileFunctionNobodyProbes: an incident declared on a function no
// flow of its service probes was not looked for, as one whose time no run
// covered: "detected": false with start_cut and end_cut "no_data" ("no (no
// data)"), not a bare "not detected", which reads as the prober having seen
// the function work throughout. check warns of such an incident; the report
// said "no" beside the incidents it did look for.
func TestReconcileFunctionNobodyProbes(t *testing.T) {
	cfg := testConfig("UTC", time.Minute)
	s := newMemStore()
	load(t, s, cfg, schedule("seoul-a", hourStart, hourStart.Add(time.Hour), time.Minute, failing("ok")))
	tls := timeline(
		incident("media", "error", []string{"media"}, hm(10, 10), hm(10, 20)),
		incident("send", "error", []string{"send"}, hm(10, 30), hm(10, 40)),
	)
	rep, err := Build(context.Background(), Input{Config: cfg, Store: s, From: hourStart, To: hourStart.Add(time.Hour), Timelines: tls})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Services[0].Reconciliation {
		want := ""
		if r.ID == "media" {
			want = CutNoData
		}
		if r.Detected || r.StartCut != want || r.EndCut != want {
			t.Errorf("%s: detected %v, cuts %q/%q; want false, %q/%q", r.ID, r.Detected, r.StartCut, r.EndCut, want, want)
		}
	}
}
