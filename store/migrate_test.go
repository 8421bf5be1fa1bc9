package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/probe"
)

// insertV1 writes runs the way a version 1 schema stored them: raw rows
// only, no rollups.
func insertV1(t *testing.T, c *core, runs []probe.Run) {
	t.Helper()
	ctx := context.Background()
	tx, err := c.w.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	ids := &txIDs{c: c, tx: tx, series: map[seriesKey]int64{}, names: map[nameKey]int64{}}
	runIDs, err := c.d.allocIDs(ctx, c, tx, len(runs))
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range runs {
		sid, err := ids.seriesID(ctx, seriesKey{r.Service, r.Flow, r.Location})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO runs (id, series, start_ns, duration_ns, run_id) VALUES (?, ?, ?, ?, ?)`),
			runIDs[i], sid, r.Start.UnixNano(), int64(r.Duration), r.ID); err != nil {
			t.Fatal(err)
		}
		for j, s := range r.Steps {
			nid, err := ids.nameID(ctx, nameKey{s.Step, s.Function})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO steps VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
				runIDs[i], j, nid, statusCodes[s.Status], s.HTTPStatus, int64(s.Duration), int64(s.Phases.Resolve), int64(s.Phases.Connect),
				int64(s.Phases.TLS), int64(s.Phases.Processing), int64(s.Phases.Transfer), s.Attempts, s.Error); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// insertV2 writes runs the way a version 2 schema stored them: raw rows in
// runs and steps, and one rollup row per bucket, series and step.
func insertV2(t *testing.T, c *core, runs []probe.Run) {
	t.Helper()
	insertV1(t, c, runs)
	ctx := context.Background()
	tx, err := c.w.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if err := backfillRollups(ctx, c, tx); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func mustCoverage(t *testing.T, s Store) []Span {
	t.Helper()
	cov, err := s.Coverage(context.Background(), Query{From: t0, To: t0.Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return cov
}

type migrateDriver struct {
	name string
	// open opens the same database each time it is called within one test,
	// migrated up to version upTo (-1: latest).
	open func(t *testing.T) func(upTo int) (*core, Store, error)
}

func migrateDrivers() []migrateDriver {
	return []migrateDriver{
		{"sqlite", func(t *testing.T) func(int) (*core, Store, error) {
			path := filepath.Join(t.TempDir(), "m.db")
			return func(upTo int) (*core, Store, error) {
				s, err := openSQLite(context.Background(), path, Options{}, upTo)
				if err != nil {
					return nil, nil, err
				}
				return s.core, s, nil
			}
		}},
		{"postgres", func(t *testing.T) func(int) (*core, Store, error) {
			dsn := postgresDSN(t)
			return func(upTo int) (*core, Store, error) {
				p, err := openPostgres(context.Background(), dsn, Options{}, upTo)
				if err != nil {
					return nil, nil, err
				}
				return p.core, p, nil
			}
		}},
	}
}

func TestMigrations(t *testing.T) {
	ctx := context.Background()
	runs := benchRuns(0, 250)
	for _, drv := range migrateDrivers() {
		latest := len(sqliteMigrations)
		for from := 0; from <= latest; from++ {
			t.Run(fmt.Sprintf("%s/from v%d", drv.name, from), func(t *testing.T) {
				open := drv.open(t)
				if from > 0 {
					// Versions 1 and 2 are written as their code wrote
					// them; later ones (whose writing code is gone) by
					// migrating version 2 data up to them.
					c, s, err := open(min(from, 2))
					if err != nil {
						t.Fatal(err)
					}
					switch from {
					case 1:
						insertV1(t, c, runs)
					default:
						insertV2(t, c, runs)
					}
					s.Close()
					if c, s, err = open(from); err != nil {
						t.Fatal(err)
					}
					if v, _ := schemaVersion(ctx, c.w); v != from {
						t.Fatalf("schema at version %d, want %d", v, from)
					}
					s.Close()
				}
				c, s, err := open(-1)
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				if v, _ := schemaVersion(ctx, c.w); v != latest {
					t.Fatalf("schema at version %d, want %d", v, latest)
				}
				if from == 0 {
					if err := s.AppendRuns(ctx, runs); err != nil {
						t.Fatal(err)
					}
				}
				got, err := s.Runs(ctx, Query{})
				if err != nil || len(got) != len(runs) {
					t.Fatalf("%d runs after migration (%v), want %d", len(got), err, len(runs))
				}
				// The runs, with their steps, and the rollups (backfilled from
				// v1, converted from v2) equal those of a store that stored them
				// at the latest version from the start.
				ref := openTestSQLite(t)
				if err := ref.AppendRuns(ctx, runs); err != nil {
					t.Fatal(err)
				}
				want, err := ref.Runs(ctx, Query{})
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("runs differ after migration: got %+v\nwant %+v", got[:1], want[:1])
				}
				if cov, wcov := mustCoverage(t, s), mustCoverage(t, ref); !reflect.DeepEqual(cov, wcov) {
					t.Errorf("coverage after migration %+v, want %+v", cov, wcov)
				}
				for _, g := range []Granularity{Minute, Hour} {
					want, _ := ref.Rollups(ctx, g, Query{})
					have, err := s.Rollups(ctx, g, Query{})
					if err != nil {
						t.Fatal(err)
					}
					if len(have) != len(want) || len(want) == 0 {
						t.Fatalf("%s: %d rollups, want %d", g, len(have), len(want))
					}
					if !reflect.DeepEqual(sumRollups(have), sumRollups(want)) {
						t.Errorf("%s rollups differ:\n got %+v\nwant %+v", g, sumRollups(have), sumRollups(want))
					}
				}
			})
		}
	}
}

// sumRollups totals rollups per step, independent of id order.
func sumRollups(rs []Rollup) map[string]Rollup {
	out := map[string]Rollup{}
	for _, r := range rs {
		k := r.Step
		a := out[k]
		a.OK, a.Failed, a.Degraded, a.NotRun = a.OK+r.OK, a.Failed+r.Failed, a.Degraded+r.Degraded, a.NotRun+r.NotRun
		if a.Hist == nil { // every slot: Totals' histograms stop at their last used one
			a.Hist = make([]int64, len(LatencyBounds())+1)
		}
		for i, c := range r.Hist {
			a.Hist[i] += c
		}
		a.SumSeconds += r.SumSeconds
		out[k] = a
	}
	for k, a := range out {
		a.SumSeconds = float64(int64(a.SumSeconds*1000+0.5)) / 1000
		out[k] = a
	}
	return out
}

func TestMigrationRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "new.db")
	s, err := OpenSQLite(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.Exec(`INSERT INTO schema_version (version, applied_ns) VALUES (99, 0)`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = OpenSQLite(ctx, path, Options{})
	if err == nil || !strings.Contains(err.Error(), "newer than this slaprobe supports") {
		t.Errorf("open of a v99 database = %v", err)
	}
	// The daemon fails at once on it, where it retries a database it
	// cannot reach.
	if !errors.Is(err, ErrSchemaNewer) {
		t.Errorf("open of a v99 database = %v, want ErrSchemaNewer", err)
	}
}

func TestSQLiteReopenAndIntegrity(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "crash.db")
	s, err := OpenSQLite(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	runs := benchRuns(0, 1500)
	if err := s.AppendRuns(ctx, runs[:700]); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendRuns(ctx, runs[700:]); err != nil {
		t.Fatal(err)
	}
	// No Close: the WAL is not checkpointed, as after a crash of the process.
	s2, err := OpenSQLite(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	got, err := s2.Runs(ctx, Query{})
	if err != nil || len(got) != len(runs) {
		t.Fatalf("after reopen: %d runs (%v), want %d", len(got), err, len(runs))
	}
	if err := s2.IntegrityCheck(ctx); err != nil {
		t.Error(err)
	}
	s.Close()
}

func TestSQLiteBadPath(t *testing.T) {
	for _, p := range []string{"", ":memory:", "file:x.db", "a?b.db", filepath.Join(t.TempDir(), "no", "such", "dir", "x.db")} {
		t.Run(p, func(t *testing.T) {
			if s, err := OpenSQLite(context.Background(), p, Options{}); err == nil {
				s.Close()
				t.Errorf("OpenSQLite(%q) succeeded", p)
			}
		})
	}
}

// TestConcurrentOpen: probers that start together on one empty database all
// open it (one migrates, the others wait for it). Two of them once raced on
// creating schema_version in PostgreSQL and one failed.
func TestConcurrentOpen(t *testing.T) {
	for _, drv := range migrateDrivers() {
		t.Run(drv.name, func(t *testing.T) {
			open := drv.open(t)
			const n = 4
			errs := make(chan error, n)
			for range n {
				go func() {
					_, s, err := open(-1)
					if err == nil {
						err = s.Close()
					}
					errs <- err
				}()
			}
			for range n {
				if err := <-errs; err != nil {
					t.Error(err)
				}
			}
		})
	}
}

// TestMigrationsKeepPublications: a database of schema version 8 (before
// the publisher lease) with a report version and a delivery still pending,
// opened by this version: the version reads back with no maker and no
// figures, the delivery is still pending (in report_deliveries since
// version 10) and can be recorded, and the free lease can be claimed. Held.
func TestMigrationsKeepPublications(t *testing.T) {
	ctx := context.Background()
	for _, drv := range migrateDrivers() {
		t.Run(drv.name, func(t *testing.T) {
			open := drv.open(t)
			c, s, err := open(8)
			if err != nil {
				t.Fatal(err)
			}
			at := time.Date(2022, 11, 1, 0, 10, 0, 0, time.UTC)
			for _, q := range []struct {
				sql  string
				args []any
			}{
				{`INSERT INTO report_versions (month, version, generated_ns, digest, changes, files) VALUES (?, ?, ?, ?, ?, ?)`,
					[]any{"2022-10", 1, at.UnixNano(), "d1", "", `["2022-10/v1/report.json"]`}},
				{`INSERT INTO deliveries (month, version, channel, target, state, attempts, next_ns, last_ns, result, delivered_ns) VALUES (?, ?, ?, ?, ?, 1, ?, ?, 'HTTP 503', 0)`,
					[]any{"2022-10", 1, "webhook", "http://127.0.0.1:1/in", DeliveryPending, at.Add(time.Minute).UnixNano(), at.UnixNano()}},
			} {
				if _, err := c.w.ExecContext(ctx, c.w.Rebind(q.sql), q.args...); err != nil {
					t.Fatal(err)
				}
			}
			s.Close()
			_, s, err = open(-1)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			p := s.(Publications)
			vs, err := p.ReportVersions(ctx, "")
			if err != nil || len(vs) != 1 || vs[0].Maker != "" || vs[0].Figures != "" || vs[0].Digest != "d1" {
				t.Fatalf("versions after migration: %+v, %v", vs, err)
			}
			pend, err := p.PendingDeliveries(ctx)
			if err != nil || len(pend) != 1 || pend[0].Attempts != 1 || pend[0].Result != "HTTP 503" {
				t.Fatalf("pending after migration: %+v, %v", pend, err)
			}
			d := pend[0]
			d.Attempts, d.State, d.Delivered = 2, DeliveryDelivered, at.Add(2*time.Minute)
			if err := p.UpdateDelivery(ctx, d); err != nil {
				t.Fatal(err)
			}
			if l, err := p.ClaimPublisher(ctx, "seoul-a", at, Lease{}); err != nil || l.Holder != "seoul-a" {
				t.Fatalf("claim after migration: %+v, %v", l, err)
			}
		})
	}
}
