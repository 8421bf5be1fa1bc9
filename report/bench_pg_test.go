package report

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/store"
	"github.com/slaprobe/slaprobe/store/storetest"
)

// benchPostgres returns the URL of a PostgreSQL schema filled as benchDB
// fills its SQLite file, built once (a few minutes) and kept while the
// server runs.
func benchPostgres(b *testing.B, flows, days int, every time.Duration) string {
	name := fmt.Sprintf("bench_report_%dflows_%ddays", flows, days)
	if every != time.Minute {
		name += fmt.Sprintf("_%ds", int(every.Seconds()))
	}
	return storetest.CachedPostgres(b, name, func(ctx context.Context, s *store.Postgres) error {
		return storetest.Generate(ctx, s, storetest.Gen{Flows: flows, Days: days, Interval: every, Start: benchStart})
	})
}

// BenchmarkMonthlyReportPostgres is BenchmarkMonthlyReport over PostgreSQL:
// the report of one month over 100 flows x 30 days of one run a minute (13 M
// step results), stored in the server `make bench` starts.
//
//	go test ./report/ -run '^$' -bench MonthlyReportPostgres -benchtime 3x
func BenchmarkMonthlyReportPostgres(b *testing.B) {
	dsn := benchPostgres(b, *benchFlows, *benchDays, *benchEvery)
	s, err := store.OpenPostgres(context.Background(), dsn, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	benchBuild(b, s)
}
