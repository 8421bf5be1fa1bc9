package publish

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/store"
	"github.com/slaprobe/slaprobe/store/storetest"
)

// countTotals is a store that counts the Totals it is asked: a month's
// report.Build asks one (or a few), so the count says how many months a
// cycle built.
type countTotals struct {
	*store.SQLite
	n atomic.Int64
}

func (c *countTotals) Totals(ctx context.Context, q store.Query) ([]store.Rollup, error) {
	c.n.Add(1)
	return c.SQLite.Totals(ctx, q)
}

// BenchmarkPublishCycle is a cycle with no new month to make, with
// reports.backfill 120 and data in only the last 2 of its 120 months (100
// flows of 3 steps every 30 minutes, January and February 2026; now March
// 3): the two months of revise are rebuilt (unchanged), and the 118 never
// made before the first data are looked at again, as every cycle does.
func BenchmarkPublishCycle(b *testing.B) {
	const flows, steps = 100, 3
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)
	cached := storetest.CachedSQLite(b, "slaprobe-bench-publish-cycle-v1", func(ctx context.Context, s *store.SQLite) error {
		return storetest.Generate(ctx, s, storetest.Gen{Flows: flows, Steps: steps, Span: now.AddDate(0, 0, -2).Sub(start), Interval: 30 * time.Minute, Start: start})
	})
	dir := b.TempDir()
	if data, err := os.ReadFile(cached); err != nil {
		b.Fatal(err)
	} else if err := os.WriteFile(filepath.Join(dir, "r.db"), data, 0o644); err != nil {
		b.Fatal(err)
	}
	s := &countTotals{SQLite: openStore(b, dir)}
	cfg := benchConfig(filepath.Join(dir, "reports"), flows, steps, 30*time.Minute)
	cfg.Reports.Backfill = 120
	p, err := New(cfg, Options{Store: s, Clock: clock.NewManual(now), Registry: prometheus.NewRegistry(),
		Channels: func(*config.Config) []Channel { return nil }})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := p.Cycle(ctx); err != nil {
		b.Fatal(err)
	}
	if got := versionsMade(b, s); len(got) != 2 {
		b.Fatalf("first cycle made %q, want 2026-01 and 2026-02", got)
	}
	cycles(b, p, s, 2)
}

// BenchmarkPublishCycleNothingStored is a cycle of a publisher of 5,000
// flows with reports.backfill 120 and no run stored yet (a fleet's first
// start, or every cycle of the month its first runs come in): each of the
// 120 months is looked at and none made.
func BenchmarkPublishCycleNothingStored(b *testing.B) {
	dir := b.TempDir()
	s := &countTotals{SQLite: openStore(b, dir)}
	cfg := benchConfig(filepath.Join(dir, "reports"), 5000, 3, time.Minute)
	cfg.Reports.Backfill = 120
	p, err := New(cfg, Options{Store: s, Clock: clock.NewManual(time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)), Registry: prometheus.NewRegistry(),
		Channels: func(*config.Config) []Channel { return nil }})
	if err != nil {
		b.Fatal(err)
	}
	cycles(b, p, s, 0)
}

// cycles runs p's cycles in b's loop, checks that s holds made versions
// after them (nothing new made), and reports the Totals a cycle asked.
func cycles(b *testing.B, p *Publisher, s *countTotals, made int) {
	ctx := context.Background()
	s.n.Store(0)
	n := 0
	for b.Loop() {
		if err := p.Cycle(ctx); err != nil {
			b.Fatal(err)
		}
		n++
	}
	if got := versionsMade(b, s); len(got) != made {
		b.Fatalf("after the cycles: versions %q, want %d", got, made)
	}
	b.ReportMetric(float64(s.n.Load())/float64(n), "totals/op")
}

// benchConfig is a config of flows flows (storetest's names, ten a
// service) of steps steps at interval, in UTC, with reports in archive.
func benchConfig(archive string, flows, steps int, interval time.Duration) *config.Config {
	cfg := testConfig(archive)
	cfg.Timezone, cfg.Loc = "UTC", time.UTC
	cfg.Defaults.Interval = interval
	cfg.Services = nil
	for i := range flows {
		if i%10 == 0 {
			cfg.Services = append(cfg.Services, config.Service{Name: storetest.ServiceName(i), Objective: 0.999})
		}
		s := &cfg.Services[len(cfg.Services)-1]
		f := config.Flow{Name: storetest.FlowName(i), Service: s.Name, Interval: interval, DownAfter: 2, UpAfter: 1}
		for j := range steps {
			f.Steps = append(f.Steps, config.Step{Name: storetest.StepName(j), Function: storetest.StepName(j)})
		}
		s.Flows = append(s.Flows, f)
	}
	return cfg
}
