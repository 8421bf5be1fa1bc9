package store

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/probe"
)

// TestConcurrentWritersAddUp: two probers writing the same series (the same
// flow and location: a fleet misconfigured, or a replay beside a daemon) at
// the same time, into the same minutes and hours: every run is counted once
// in the rollups. PostgreSQL adds rollup rows in Go under row locks; SQLite
// in SQL under its write lock.
func TestConcurrentWritersAddUp(t *testing.T) {
	ctx := context.Background()
	for _, drv := range migrateDrivers() {
		t.Run(drv.name, func(t *testing.T) {
			open := drv.open(t)
			const writers, batches, per = 3, 8, 50
			var wg sync.WaitGroup
			errs := make(chan error, writers)
			for w := range writers {
				_, s, err := open(-1)
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				wg.Add(1)
				go func() {
					defer wg.Done()
					for b := range batches {
						var runs []probe.Run
						for i := range per {
							// Every writer's runs fall in the same 10 minutes.
							r := mkRun("f", "seoul", t0.Add(time.Duration((b*per+i)%600)*time.Second), (i%5)-1, time.Millisecond)
							r.ID = fmt.Sprintf("w%d-b%d-%d", w, b, i)
							runs = append(runs, r)
						}
						if err := s.AppendRuns(ctx, runs); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			_, s, err := open(-1)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			want := int64(writers * batches * per)
			for _, g := range []Granularity{Minute, Hour} {
				rs, err := s.Rollups(ctx, g, Query{})
				if err != nil {
					t.Fatal(err)
				}
				var runs int64
				for _, r := range rs {
					if r.Step == "" {
						runs += r.Runs()
					}
				}
				if runs != want {
					t.Errorf("%s rollups count %d runs, want %d", g, runs, want)
				}
			}
			cov, err := s.Coverage(ctx, Query{})
			if err != nil || len(cov) != 1 || cov[0].Runs != want {
				t.Errorf("coverage %+v (%v), want %d runs", cov, err, want)
			}
		})
	}
}
