package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/probe"
)

// benchRuns returns n runs of 100 flows (3 or 4 steps each) at one run per
// flow and minute, continuing from run number off.
func benchRuns(off, n int) []probe.Run {
	fns := []string{"login", "send", "receive", "media"}
	out := make([]probe.Run, n)
	for i := range out {
		k := off + i
		flow, tick := k%100, k/100
		start := t0.Add(time.Duration(tick)*time.Minute + time.Duration(flow)*500*time.Millisecond)
		nsteps := 3 + flow%2
		r := probe.Run{ID: fmt.Sprintf("run-%d", k), Flow: fmt.Sprintf("flow-%03d", flow), Service: fmt.Sprintf("svc-%d", flow%10), Location: "seoul-a", Start: start}
		for j := 0; j < nsteps; j++ {
			d := time.Duration(20+(k*7+j*13)%400) * time.Millisecond
			st := probe.StepResult{Step: fns[j], Function: fns[j], Status: probe.StatusOK, HTTPStatus: 200, Duration: d, Attempts: 1,
				Phases: probe.Phases{Resolve: 300 * time.Microsecond, Connect: 900 * time.Microsecond, Processing: d - 2*time.Millisecond, Transfer: 800 * time.Microsecond}}
			if k%97 == 0 && j == 1 {
				st.Status, st.HTTPStatus, st.Error = probe.StatusFailed, 502, "status 502, want 201"
			}
			if k%97 == 0 && j > 1 {
				st = probe.StepResult{Step: fns[j], Function: fns[j], Status: probe.StatusNotRun}
			}
			r.Duration += d
			r.Steps = append(r.Steps, st)
		}
		out[i] = r
	}
	return out
}

// BenchmarkIngest measures batched AppendRuns (1000-run transactions, rollup
// maintenance included) in step results per second, into SQLite and into
// the PostgreSQL server named by SLAPROBE_TEST_POSTGRES (`make bench` starts
// one with scripts/postgres.sh).
//
//	go test ./store -run '^$' -bench Ingest -benchtime 60x
func BenchmarkIngest(b *testing.B) {
	ctx := context.Background()
	for _, db := range []struct {
		name string
		open func(b *testing.B) Store
	}{
		{"sqlite", func(b *testing.B) Store {
			s, err := OpenSQLite(ctx, filepath.Join(b.TempDir(), "bench.db"), Options{})
			if err != nil {
				b.Fatal(err)
			}
			return s
		}},
		{"postgres", func(b *testing.B) Store {
			s, err := OpenPostgres(ctx, postgresDSN(b), Options{})
			if err != nil {
				b.Fatal(err)
			}
			return s
		}},
	} {
		b.Run(db.name, func(b *testing.B) {
			s := db.open(b)
			defer s.Close()
			const batch = 1000
			steps := 0
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				runs := benchRuns(i*batch, batch)
				for j := range runs {
					steps += len(runs[j].Steps)
					runs[j].Interval = time.Minute // as the daemon stores them
				}
				b.StartTimer()
				if err := s.AppendRuns(ctx, runs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(steps)/b.Elapsed().Seconds(), "results/s")
		})
	}
}

// BenchmarkIngestSteady is the daemon's steady write path, per run: 1,000
// flows of one step every 10 s (100 runs/s), committed by the daemon's Writer
// in batches of 100 (its FlushEvery is 1 s), so that nearly every run adds to a minute
// and an hour row already stored, as at 1,000 flows in `make bench-scale`.
// An op is one run; the batch's transaction is in it.
//
//	go test ./store -run '^$' -bench IngestSteady -benchmem
func BenchmarkIngestSteady(b *testing.B) {
	ctx := context.Background()
	s, err := OpenSQLite(ctx, filepath.Join(b.TempDir(), "bench.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const flows, batch, every = 1000, 100, 10 * time.Second
	k := 0
	next := func(runs []probe.Run) {
		for i := range runs {
			flow := k % flows
			start := t0.Add(time.Duration(k/flows)*every + time.Duration(flow)*every/flows)
			d := time.Duration(20+(k*7)%400) * time.Millisecond
			st := probe.StepResult{Step: "search", Function: "search", Status: probe.StatusOK, HTTPStatus: 200, Duration: d, Attempts: 1,
				Phases: probe.Phases{Connect: 900 * time.Microsecond, Processing: d - 2*time.Millisecond, Transfer: 800 * time.Microsecond}}
			if k%97 == 0 {
				st.Status, st.HTTPStatus, st.Error = probe.StatusFailed, 502, "status 502, want 200"
			}
			runs[i] = probe.Run{ID: fmt.Sprintf("run-%d", k), Flow: fmt.Sprintf("search-%05d", flow), Service: "maps", Location: "bench",
				Start: start, Duration: d, Steps: []probe.StepResult{st}}
			k++
		}
	}
	runs := make([]probe.Run, batch)
	for range 2 * flows / batch { // every series and its rows exist
		next(runs)
		if err := s.AppendRuns(ctx, runs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += batch {
		b.StopTimer()
		n := min(batch, b.N-i)
		next(runs[:n])
		b.StartTimer()
		if err := s.AppendRuns(ctx, runs[:n]); err != nil {
			b.Fatal(err)
		}
	}
}
