package store

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/slaprobe/slaprobe/probe"
)

// appendRunsV14 is s.AppendRuns as a slaprobe of schema versions 8 to 14
// wrote runs (no interval_ms), for the tests that store runs at such a
// version and then migrate: the live insert names a column those versions
// do not have. The rollups are the live code's, as before.
func appendRunsV14(t *testing.T, c *core, s Store, runs []probe.Run) {
	t.Helper()
	orig := c.d
	d := *orig
	d.writeRuns = func(ctx context.Context, c *core, tx *sqlx.Tx, r *runRows) (int64, error) {
		sp := insertSpec{head: "INSERT INTO runs (id, series, start_ns, duration_ns, run_id, steps, confirm)", cols: 7,
			tail: " ON CONFLICT (series, start_ns, run_id) DO NOTHING"}
		args := make([]any, 0, 7*len(r.ids))
		for i := range r.ids {
			args = append(args, r.ids[i], r.series[i], r.starts[i], r.durs[i], r.runIDs[i], r.steps[i], r.confirm[i])
		}
		return c.insertRows(ctx, tx, sp, args)
	}
	c.d = &d
	defer func() { c.d = orig }()
	if err := s.AppendRuns(context.Background(), runs); err != nil {
		t.Fatal(err)
	}
}

// TestRunIntervalRoundTrip: the interval a run was made with
// (probe.Run.Interval, schema version 15) is stored with it and read back,
// by Runs and by RunsEach (a report's last runs), in SQLite and
// PostgreSQL: a confirm run's too; a run with none (made outside the
// daemon) reads back none (NULL), not 0 ms taken for an interval.
func TestRunIntervalRoundTrip(t *testing.T) {
	ctx := context.Background()
	for _, drv := range []struct {
		name string
		open func(t *testing.T) Store
	}{
		{"sqlite", func(t *testing.T) Store { return openTestSQLite(t) }},
		{"postgres", func(t *testing.T) Store { return openTestPostgres(t) }},
	} {
		t.Run(drv.name, func(t *testing.T) {
			s := drv.open(t)
			tests := []struct {
				name string
				ivl  time.Duration
				conf bool
			}{
				{"a minute", time.Minute, false},
				{"10 s", 10 * time.Second, false},
				{"a confirm run of a minute flow", time.Minute, true},
				{"a day", 24 * time.Hour, false},
				{"1.5 s", 1500 * time.Millisecond, false},
				{"not known", 0, false},
			}
			var runs []probe.Run
			for i, tt := range tests {
				r := mkRun("f", "seoul-a", t0.Add(time.Duration(i)*time.Minute), -1, 40*time.Millisecond)
				r.Interval, r.Confirm = tt.ivl, tt.conf
				runs = append(runs, r)
			}
			if err := s.AppendRuns(ctx, runs); err != nil {
				t.Fatal(err)
			}
			got, err := s.Runs(ctx, Query{Flows: []string{"f"}})
			if err != nil || len(got) != len(tests) {
				t.Fatalf("%d runs (%v), want %d", len(got), err, len(tests))
			}
			qs := make([]Query, len(runs))
			for i, r := range runs {
				qs[i] = lastQuery(Span{Flow: r.Flow, Location: r.Location, Last: r.Start})
			}
			each, err := s.(interface {
				RunsEach(context.Context, []Query) ([][]probe.Run, error)
			}).RunsEach(ctx, qs)
			if err != nil {
				t.Fatal(err)
			}
			for i, tt := range tests {
				if got[i].Interval != tt.ivl || got[i].Confirm != tt.conf {
					t.Errorf("%s: Runs read interval %v confirm %v, want %v %v", tt.name, got[i].Interval, got[i].Confirm, tt.ivl, tt.conf)
				}
				if len(each[i]) != 1 || each[i][0].Interval != tt.ivl {
					t.Errorf("%s: RunsEach read %+v, want one run of interval %v", tt.name, each[i], tt.ivl)
				}
			}
		})
	}
}

// lastQuery is the report's query of the run at span.Last (report.lastQuery).
func lastQuery(span Span) Query {
	return Query{From: span.Last, To: span.Last.Add(time.Nanosecond), Flows: []string{span.Flow}, Location: span.Location}
}

// TestRunIntervalMigratesFromV14: a database of schema version 14 with runs
// in it migrates to 15; its runs read back with no interval (not known:
// a report judges them by the config's), and the runs stored after the
// migration with theirs. SQLite and PostgreSQL.
func TestRunIntervalMigratesFromV14(t *testing.T) {
	ctx := context.Background()
	for _, drv := range migrateDrivers() {
		t.Run(drv.name, func(t *testing.T) {
			open := drv.open(t)
			c, s, err := open(2)
			if err != nil {
				t.Fatal(err)
			}
			old := benchRuns(0, 20)
			insertV2(t, c, old)
			s.Close()
			if c, s, err = open(14); err != nil {
				t.Fatal(err)
			}
			if v, _ := schemaVersion(ctx, c.w); v != 14 {
				t.Fatalf("schema at version %d, want 14", v)
			}
			s.Close()
			c, s, err = open(-1)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if v, _ := schemaVersion(ctx, c.w); v != 15 {
				t.Fatalf("schema at version %d, want 15", v)
			}
			newer := benchRuns(20, 20)
			for i := range newer {
				newer[i].Interval = time.Minute
			}
			if err := s.AppendRuns(ctx, newer); err != nil {
				t.Fatal(err)
			}
			got, err := s.Runs(ctx, Query{})
			if err != nil || len(got) != 40 {
				t.Fatalf("%d runs (%v), want 40", len(got), err)
			}
			n := map[time.Duration]int{}
			for _, r := range got {
				n[r.Interval]++
			}
			if n[0] != 20 || n[time.Minute] != 20 {
				t.Errorf("intervals read %v, want 20 not known (stored at version 14) and 20 of 1m0s", n)
			}
		})
	}
}

// TestSpoolRunInterval: a spool keeps each run's interval, and one written
// before schema version 15 (its runs have no Interval) still reads, its
// runs with none (not known).
func TestSpoolRunInterval(t *testing.T) {
	items := spoolItems(3)
	for i, it := range items {
		if it.Run != nil {
			it.Run.Interval = time.Duration(10*(i+1)) * time.Second
		}
	}
	path := writeTestSpool(t, items)
	sp, err := ReadSpool(path)
	if err != nil {
		t.Fatal(err)
	}
	for i, it := range sp.Items {
		if want := time.Duration(10*(i+1)) * time.Second; it.Run == nil || it.Run.Interval != want {
			t.Errorf("item %d: %+v, want a run of interval %v", i, it.Run, want)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// As a slaprobe of schema version 14 wrote it: no Interval at all.
	old := string(b)
	for i := range 3 {
		old = strings.Replace(old, fmt.Sprintf(`,"Interval":%d`, int64(time.Duration(10*(i+1))*time.Second)), "", 1)
	}
	if strings.Contains(old, `"Interval"`) {
		t.Fatalf("the spool's runs do not hold Interval as expected:\n%s", b)
	}
	if err := os.WriteFile(path, []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	if sp, err = ReadSpool(path); err != nil {
		t.Fatal(err)
	}
	if len(sp.Items) != 3 {
		t.Fatalf("%d items read from the old spool, want 3", len(sp.Items))
	}
	for i, it := range sp.Items {
		if it.Run == nil || it.Run.Interval != 0 {
			t.Errorf("old spool item %d: %+v, want a run of no interval", i, it.Run)
		}
	}
}
