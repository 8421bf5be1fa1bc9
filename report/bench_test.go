package report

import (
	"context"
	"flag"
	"fmt"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/store"
	"github.com/slaprobe/slaprobe/store/storetest"
)

var (
	benchFlows = flag.Int("bench.flows", 100, "flows in the BenchmarkMonthlyReport database")
	benchDays  = flag.Int("bench.days", 30, "days of runs per flow in the BenchmarkMonthlyReport database")
	benchEvery = flag.Duration("bench.interval", time.Minute, "time between a flow's runs in the BenchmarkMonthlyReport database")
	// benchRetired leaves the last flow of every service out of the
	// config: a tenth of the flows are accounted as retired (retired.go).
	benchRetired = flag.Bool("bench.retired", false, "leave one flow in ten out of the BenchmarkMonthlyReport config (accounted as retired)")
	// benchAfter extends the report's period past the runs, so that every
	// flow's prober has stopped: the report reads each one's last run
	// (lastRunsAtEnd) to see where its data ends.
	benchAfter = flag.Duration("bench.after", 0, "extend the BenchmarkMonthlyReport period this long past the runs (every prober stopped)")
)

var benchStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// benchConfig matches storetest.Generate's names: flows flows of three steps,
// ten flows per service.
func benchConfig(flows int, every time.Duration) *config.Config {
	cfg := testConfig("UTC", time.Minute)
	tmpl := cfg.Services[0]
	cfg.Services = nil
	for i := 0; i < flows; i++ {
		if i%10 == 0 {
			s := tmpl
			s.Name = storetest.ServiceName(i)
			s.Flows = nil
			cfg.Services = append(cfg.Services, s)
		}
		s := &cfg.Services[len(cfg.Services)-1]
		f := config.Flow{Name: storetest.FlowName(i), Service: s.Name, Interval: every, DownAfter: 2, UpAfter: 1}
		for j := 0; j < 3; j++ {
			f.Steps = append(f.Steps, config.Step{Name: storetest.StepName(j), Function: storetest.StepName(j)})
		}
		s.Flows = append(s.Flows, f)
	}
	return cfg
}

// benchDB returns the path of a SQLite database filled by storetest.Generate
// (one run a minute of every flow for days days, with outages), built once
// and kept in os.TempDir() under a name made of the parameters; a ".done"
// file beside it marks it complete.
func benchDB(b *testing.B, flows, days int, every time.Duration) string {
	name := fmt.Sprintf("slaprobe-bench-report-gen-%dflows-%ddays", flows, days)
	if every != time.Minute {
		name = fmt.Sprintf("slaprobe-bench-report-gen-%dflows-%ddays-%s", flows, days, every)
	}
	return storetest.CachedSQLite(b, name, func(ctx context.Context, s *store.SQLite) error {
		return storetest.Generate(ctx, s, storetest.Gen{Flows: flows, Days: days, Interval: every, Start: benchStart})
	})
}

// BenchmarkMonthlyReport builds the report for one month over a database of
// flows x days x one run a minute (100 x 30 by default: 4.3 M runs, 13 M
// step results). Build reads hour rollups and events, not raw results.
// -bench.flows, -bench.days and -bench.interval change the database (each
// kind is built once and kept); many flows with sparser runs:
//
//	go test ./report/ -run '^$' -bench MonthlyReport -benchtime 3x
//	go test ./report/ -run '^$' -bench 'MonthlyReport$' -benchtime 1x -bench.flows 50000 -bench.days 1 -bench.interval 1h
//
// -bench.retired leaves one flow in ten out of the config, so that the
// report accounts them as retired (steps from their last run, interval
// from their runs). -bench.after 24h reports a day past the runs, as if
// every prober had stopped at their end.
func BenchmarkMonthlyReport(b *testing.B) {
	path := benchDB(b, *benchFlows, *benchDays, *benchEvery)
	s, err := store.OpenSQLite(context.Background(), path, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	benchBuild(b, s)
}

// benchBuild builds the month of the benchmark's flags over s, once a loop.
func benchBuild(b *testing.B, s store.Store) {
	cfg := benchConfig(*benchFlows, *benchEvery)
	if *benchRetired {
		for i := range cfg.Services {
			fs := cfg.Services[i].Flows
			cfg.Services[i].Flows = fs[:len(fs)-1]
		}
	}
	ctx := context.Background()
	in := Input{Config: cfg, Store: s, From: benchStart, To: benchStart.AddDate(0, 0, *benchDays).Add(*benchAfter)}
	b.ResetTimer()
	for b.Loop() {
		rep, err := Build(ctx, in)
		if err != nil {
			b.Fatal(err)
		}
		if len(rep.Services) != len(cfg.Services) || len(rep.Windows) == 0 {
			b.Fatalf("services %d, windows %d", len(rep.Services), len(rep.Windows))
		}
		if *benchRetired && !rep.Services[0].Flows[len(rep.Services[0].Flows)-1].Retired {
			b.Fatalf("flows %+v: the last is not retired", rep.Services[0].Flows)
		}
	}
}
