package store_test

// Benchmarks of a store holding a long history (issue #14): pruning at 10 M
// runs, one day's windows among a year of events, and the size a year of
// 100 flows leaves behind. Their databases take minutes to make, so they are
// made once and kept (store/storetest CachedSQLite and CachedPostgres).
//
//	go test ./store -run '^$' -bench 'Prune|WindowsDay|YearSize' -benchtime 20x

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/state"
	"github.com/slaprobe/slaprobe/store"
	"github.com/slaprobe/slaprobe/store/storetest"
)

var genStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// runsDB is 100 flows x 70 days of one run a minute: 10.08 M runs.
func runsDB(b *testing.B) string {
	return storetest.CachedSQLite(b, "slaprobe-bench-store-100flows-70days", func(ctx context.Context, s *store.SQLite) error {
		return storetest.Generate(ctx, s, storetest.Gen{Flows: 100, Days: 70, Start: genStart})
	})
}

// reportPostgres is the schema report's BenchmarkMonthlyReportPostgres uses:
// 100 flows x 30 days, 4.32 M runs.
func reportPostgres(b *testing.B) string {
	return storetest.CachedPostgres(b, "bench_report_100flows_30days", func(ctx context.Context, s *store.Postgres) error {
		return storetest.Generate(ctx, s, storetest.Gen{Flows: 100, Days: 30, Start: genStart})
	})
}

// BenchmarkPrune: one Prune call (batch 5000, as the daemon's) on a large
// runs table, when nothing is due (the daemon's usual minute: the old Prune
// read the whole table to find that out) and when one minute of runs is.
func BenchmarkPrune(b *testing.B) {
	ctx := context.Background()
	for _, db := range []struct {
		name string
		open func(b *testing.B) store.Store
	}{
		{"sqlite-10M-runs", func(b *testing.B) store.Store {
			s, err := store.OpenSQLite(ctx, runsDB(b), store.Options{})
			if err != nil {
				b.Fatal(err)
			}
			return s
		}},
		{"postgres-4M-runs", func(b *testing.B) store.Store {
			s, err := store.OpenPostgres(ctx, reportPostgres(b), store.Options{})
			if err != nil {
				b.Fatal(err)
			}
			return s
		}},
	} {
		b.Run(db.name, func(b *testing.B) {
			s := db.open(b)
			defer s.Close()
			h, err := s.Horizon(ctx)
			if err != nil {
				b.Fatal(err)
			}
			oldest := genStart
			if h.Runs.After(oldest) {
				oldest = h.Runs // earlier runs of this benchmark pruned the first minutes
			}
			b.Run("nothing-due", func(b *testing.B) {
				for b.Loop() {
					if n, err := s.Prune(ctx, store.Cutoffs{Runs: oldest}, 5000); err != nil || n != 0 {
						b.Fatalf("Prune = %d, %v", n, err)
					}
				}
			})
			b.Run("a-minute-due", func(b *testing.B) {
				cut, deleted := oldest, 0
				for b.Loop() {
					cut = cut.Add(time.Minute)
					n, err := s.Prune(ctx, store.Cutoffs{Runs: cut}, 5000)
					if err != nil {
						b.Fatal(err)
					}
					deleted += n
				}
				b.ReportMetric(float64(deleted)/float64(b.N), "runs/op")
			})
		})
	}
}

// yearOfEvents stores the windows of 100 flows over a year: each flow down
// for 10 minutes every 2 hours (876,000 events), a few long windows (up to 5
// days) and one window still open.
func yearOfEvents(ctx context.Context, s store.Store) error {
	const flows = 100
	var evs []state.Event
	flush := func() error {
		err := s.AppendEvents(ctx, evs)
		evs = evs[:0]
		return err
	}
	for day := 0; day < 365; day++ {
		for f := 0; f < flows; f++ {
			key := state.Key{Service: storetest.ServiceName(f), Flow: storetest.FlowName(f), Location: "seoul-a"}
			for h := 0; h < 24; h += 2 {
				start := genStart.Add(time.Duration(day)*24*time.Hour + time.Duration(h)*time.Hour + time.Duration(f)*time.Minute)
				w := state.Window{Key: key, Kind: state.KindDown, Start: start, Confirmed: start.Add(time.Minute), CauseStep: "send", Error: "status 503"}
				evs = append(evs, state.Event{Op: state.OpOpen, Window: w})
				w.End = start.Add(10 * time.Minute)
				evs = append(evs, state.Event{Op: state.OpClose, Window: w})
			}
			if day%30 == 0 && f == 0 {
				key.Function = "receive"
				w := state.Window{Key: key, Kind: state.KindDown, Start: genStart.Add(time.Duration(day) * 24 * time.Hour), End: genStart.Add(time.Duration(day+5) * 24 * time.Hour)}
				evs = append(evs, state.Event{Op: state.OpClose, Window: w})
			}
		}
		if err := flush(); err != nil {
			return err
		}
	}
	key := state.Key{Service: storetest.ServiceName(1), Flow: storetest.FlowName(1), Function: "media", Location: "seoul-a"}
	evs = append(evs, state.Event{Op: state.OpOpen, Window: state.Window{Key: key, Kind: state.KindDegraded, Start: genStart.Add(100 * 24 * time.Hour)}})
	return flush()
}

// BenchmarkWindowsDay: one day's windows (as the availability gauge and the
// status page ask) out of a year of events, for the last day and for a day
// in the middle of the year.
func BenchmarkWindowsDay(b *testing.B) {
	ctx := context.Background()
	for _, db := range []struct {
		name string
		open func(b *testing.B) store.Store
	}{
		{"sqlite", func(b *testing.B) store.Store {
			path := storetest.CachedSQLite(b, "slaprobe-bench-store-year-of-events", func(ctx context.Context, s *store.SQLite) error { return yearOfEvents(ctx, s) })
			s, err := store.OpenSQLite(ctx, path, store.Options{})
			if err != nil {
				b.Fatal(err)
			}
			return s
		}},
		{"postgres", func(b *testing.B) store.Store {
			dsn := storetest.CachedPostgres(b, "bench_year_of_events", func(ctx context.Context, s *store.Postgres) error { return yearOfEvents(ctx, s) })
			s, err := store.OpenPostgres(ctx, dsn, store.Options{})
			if err != nil {
				b.Fatal(err)
			}
			return s
		}},
	} {
		b.Run(db.name, func(b *testing.B) {
			s := db.open(b)
			defer s.Close()
			for _, day := range []int{364, 182} {
				b.Run(fmt.Sprintf("day-%d", day), func(b *testing.B) {
					from := genStart.Add(time.Duration(day) * 24 * time.Hour)
					var n int
					for b.Loop() {
						ws, err := s.Windows(ctx, store.Query{From: from, To: from.Add(24 * time.Hour)})
						if err != nil {
							b.Fatal(err)
						}
						n = len(ws)
					}
					if n < 1200 {
						b.Fatalf("%d windows in a day, want at least 1200", n)
					}
					b.ReportMetric(float64(n), "windows")
				})
			}
		})
	}
}

// simulateYear writes days of flows' runs, one a minute, as the daemon
// would, and prunes as it goes (once a simulated hour) with the given raw
// retention and the default rollup retentions (minute: as raw; hour: 13
// months).
func simulateYear(ctx context.Context, s store.Store, flows, days int, retention time.Duration) error {
	var perr error
	lastPrune := genStart
	prune := func(now time.Time) {
		cut := store.Cutoffs{Runs: now.Add(-retention), Minute: now.Add(-retention), Hour: now.Add(-403 * 24 * time.Hour)}
		for perr == nil {
			n, err := s.Prune(ctx, cut, 5000)
			if err != nil {
				perr = err
			}
			if n < 5000 {
				return
			}
		}
	}
	err := storetest.Generate(ctx, s, storetest.Gen{Flows: flows, Days: days, Start: genStart, Outages: days / 10,
		Progress: func(done, total int) {
			now := genStart.Add(time.Duration(done/flows) * time.Minute)
			if now.Sub(lastPrune) >= time.Hour {
				prune(now)
				lastPrune = now
			}
		}})
	if err != nil {
		return err
	}
	prune(genStart.Add(time.Duration(days) * 24 * time.Hour))
	return perr
}

// BenchmarkYearSize reports the size of a SQLite database after a simulated
// year of flows at one run a minute with 30 days of raw retention: with
// retention bounding every table, the runs, minute rollups and events of 30
// days and the hour rollups of the year.
func BenchmarkYearSize(b *testing.B) {
	ctx := context.Background()
	for _, flows := range []int{10, 100} {
		b.Run(fmt.Sprintf("flows=%d", flows), func(b *testing.B) {
			path := storetest.CachedSQLite(b, fmt.Sprintf("slaprobe-bench-store-year-%dflows-30d", flows), func(ctx context.Context, s *store.SQLite) error {
				return simulateYear(ctx, s, flows, 365, 30*24*time.Hour)
			})
			for b.Loop() {
			}
			fi, err := os.Stat(path)
			if err != nil {
				b.Fatal(err)
			}
			s, err := store.OpenSQLite(ctx, path, store.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			used, err := s.UsedBytes(ctx)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(fi.Size())/1e6, "MB-file")
			b.ReportMetric(float64(used)/1e6, "MB-used")
		})
	}
}
