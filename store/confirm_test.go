package store

import (
	"context"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/probe"
)

// TestMigration8ConfirmRuns: a version 7 database (no confirm column)
// upgraded to the latest schema reads its runs back as scheduled runs,
// counted in Totals, Coverage and the rollups as before; confirm runs stored
// after the upgrade are counted apart (Rollup.Confirm, Span.Confirm), in
// rollups and at the raw edges of a range alike, and still read back by
// Runs (the state machine's input: recompute, restart).
func TestMigration8ConfirmRuns(t *testing.T) {
	ctx := context.Background()
	old := benchRuns(0, 250) // flow-000 at t0 (failed), t0+1m and t0+2m
	confirm := func(at time.Duration) probe.Run {
		r := old[0]
		r.ID, r.Start, r.Confirm = "confirm-"+at.String(), t0.Add(at), true
		return r
	}
	// One in a minute with a scheduled run, one alone in its minute.
	added := []probe.Run{confirm(20 * time.Second), confirm(5*time.Minute + 10*time.Second)}
	cases := []struct {
		name               string
		from, to           time.Time
		runs, confirm      int64
		first, last        time.Time
		minuteConfirmAlone bool // a minute rollup row holds confirm runs only
	}{
		{"old runs only", t0, t0.Add(3 * time.Minute), 3, 1, t0, t0.Add(2 * time.Minute), false},
		{"whole day (hour rollups)", t0, t0.Add(24 * time.Hour), 3, 2, t0, t0.Add(5*time.Minute + 10*time.Second), true},
		{"raw edges", t0.Add(15 * time.Second), t0.Add(5*time.Minute + 30*time.Second), 2, 2,
			t0.Add(20 * time.Second), t0.Add(5*time.Minute + 10*time.Second), true},
	}
	for _, drv := range migrateDrivers() {
		t.Run(drv.name, func(t *testing.T) {
			open := drv.open(t)
			c, s, err := open(2)
			if err != nil {
				t.Fatal(err)
			}
			insertV2(t, c, old)
			s.Close()
			if c, s, err = open(7); err != nil {
				t.Fatal(err)
			}
			if v, _ := schemaVersion(ctx, c.w); v != 7 {
				t.Fatalf("schema at version %d, want 7", v)
			}
			s.Close()
			if _, s, err = open(-1); err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			got, err := s.Runs(ctx, Query{})
			if err != nil || len(got) != len(old) {
				t.Fatalf("%d runs after migration (%v), want %d", len(got), err, len(old))
			}
			for _, r := range got {
				if r.Confirm {
					t.Fatalf("run %s of a version 7 database read back as a confirm run", r.ID)
				}
			}
			if err := s.AppendRuns(ctx, added); err != nil {
				t.Fatal(err)
			}
			f0, err := s.Runs(ctx, Query{Flows: []string{"flow-000"}})
			if err != nil {
				t.Fatal(err)
			}
			var nc int
			for _, r := range f0 {
				if r.Confirm {
					nc++
				}
			}
			if len(f0) != 5 || nc != 2 {
				t.Errorf("Runs: %d runs of flow-000, %d confirm runs; want 5 and 2", len(f0), nc)
			}
			for _, tc := range cases {
				q := Query{From: tc.from, To: tc.to, Flows: []string{"flow-000"}}
				tot, err := s.Totals(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				var run *Rollup
				for i := range tot {
					if tot[i].Step == "" {
						run = &tot[i]
					} else if tot[i].Runs() != tc.runs {
						t.Errorf("%s: step %s counts %d results, want %d", tc.name, tot[i].Step, tot[i].Runs(), tc.runs)
					}
				}
				if run == nil || run.Runs() != tc.runs || run.Confirm != tc.confirm {
					t.Errorf("%s: Totals run row %+v, want %d scheduled runs and %d confirm runs", tc.name, run, tc.runs, tc.confirm)
				}
				cov, err := s.Coverage(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				if len(cov) != 1 || cov[0].Runs != tc.runs || cov[0].Confirm != tc.confirm || !cov[0].First.Equal(tc.first) || !cov[0].Last.Equal(tc.last) {
					t.Errorf("%s: Coverage %+v, want %d runs, %d confirm runs, %s..%s", tc.name, cov, tc.runs, tc.confirm, tc.first, tc.last)
				}
				mins, err := s.Rollups(ctx, Minute, q)
				if err != nil {
					t.Fatal(err)
				}
				var alone bool
				for _, r := range mins {
					if r.Step == "" && r.Confirm > 0 && r.Runs() == 0 {
						alone = true
					}
				}
				if alone != tc.minuteConfirmAlone {
					t.Errorf("%s: a minute rollup row of confirm runs only: %v, want %v (%+v)", tc.name, alone, tc.minuteConfirmAlone, mins)
				}
			}
		})
	}
}
