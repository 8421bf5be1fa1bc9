package store

import (
	"context"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/probe"
)

// TestEarliest: no stored run starts before Earliest, raw or rolled up,
// and it is at most an hour before the first: zero with nothing stored,
// the start of the hour that holds the first run while an hour rollup
// holds it, else of its minute's rollup, else its start, and zero again
// once Prune has deleted every kind.
func TestEarliest(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func(t *testing.T) Store
	}{
		{"sqlite", func(t *testing.T) Store { return openTestSQLite(t) }},
		{"postgres", func(t *testing.T) Store { return openTestPostgres(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s := tc.open(t)
			first := time.Date(2026, 1, 31, 23, 47, 30, 0, time.UTC)
			earliest := func() time.Time {
				t.Helper()
				e, err := s.Earliest(ctx)
				if err != nil {
					t.Fatal(err)
				}
				return e
			}
			if e := earliest(); !e.IsZero() {
				t.Fatalf("an empty store's earliest run: %v, want zero", e)
			}
			var runs []probe.Run
			for at := first; at.Before(first.Add(3 * time.Hour)); at = at.Add(10 * time.Minute) {
				runs = append(runs, mkRun("f", "seoul", at, -1, time.Millisecond))
			}
			// Stored after a later one: the first by time, not by id.
			if err := s.AppendRuns(ctx, runs[1:]); err != nil {
				t.Fatal(err)
			}
			if err := s.AppendRuns(ctx, runs[:1]); err != nil {
				t.Fatal(err)
			}
			for _, step := range []struct {
				prune Cutoffs
				want  time.Time
			}{
				{want: first.Truncate(time.Hour)},
				{prune: Cutoffs{Hour: first.Add(4 * time.Hour)}, want: first.Truncate(time.Minute)},
				{prune: Cutoffs{Minute: first.Add(4 * time.Hour)}, want: first},
				{prune: Cutoffs{Runs: first.Add(4 * time.Hour)}, want: time.Time{}},
			} {
				for {
					n, err := s.Prune(ctx, step.prune, 1000)
					if err != nil {
						t.Fatal(err)
					}
					if n < 1000 {
						break
					}
				}
				if e := earliest(); !e.Equal(step.want) {
					t.Errorf("pruned %+v: earliest %v, want %v", step.prune, e, step.want)
				}
			}
		})
	}
}
