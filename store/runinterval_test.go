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
// do not have. The rollups are the live code's, written with the column of
// schema version 16 (last_interval_ms) there for the write alone, as NULL:
// added before and dropped after, so the tables are those of the version
// the test stored at.
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
	ctx := context.Background()
	for _, st := range v16Stmts("BIGINT") {
		if _, err := c.w.ExecContext(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AppendRuns(ctx, runs); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"rollup_minute", "rollup_hour"} {
		if _, err := c.w.ExecContext(ctx, `ALTER TABLE `+table+` DROP COLUMN last_interval_ms`); err != nil {
			t.Fatal(err)
		}
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
			if v, _ := schemaVersion(ctx, c.w); v != 16 {
				t.Fatalf("schema at version %d, want 16", v)
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

// TestCoverageLastInterval: Coverage gives each span the interval its last
// run in the range was made with (Span.LastInterval, the rollups'
// last_interval_ms since schema version 16, and the raw runs' interval_ms
// at the edges), 0 where it is not known; of two runs at the same instant,
// the longer. A late run merges into a row already stored (SQLite's
// upsert, PostgreSQL's merge in Go) as last_ns does: it is the row's last
// only if it started later. Before, the span had the shortest interval of
// its runs (MinInterval): after a run of 60 s late into an hour of 10 s,
// or of 10 s before a run of 60 s, the 10 s. SQLite and PostgreSQL.
func TestCoverageLastInterval(t *testing.T) {
	ctx := context.Background()
	h := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	run := func(flow string, at time.Time, ivl time.Duration) probe.Run {
		return probe.Run{ID: flow + at.Format("150405.000"), Flow: flow, Service: "messaging", Location: "seoul-a", Start: at, Interval: ivl,
			Steps: []probe.StepResult{{Step: "login", Function: "login", Status: probe.StatusOK, Duration: time.Millisecond}}}
	}
	// another is a second run at the same instant (another run id).
	another := func(flow string, at time.Time, ivl time.Duration) probe.Run {
		r := run(flow, at, ivl)
		r.ID += "-b"
		return r
	}
	for _, drv := range []struct {
		name string
		open func(t *testing.T) Store
	}{
		{"sqlite", func(t *testing.T) Store { return openTestSQLite(t) }},
		{"postgres", func(t *testing.T) Store { return openTestPostgres(t) }},
	} {
		t.Run(drv.name, func(t *testing.T) {
			s := drv.open(t)
			var first, second, late []probe.Run
			for at := h.Add(5 * time.Second); at.Before(h.Add(time.Hour)); at = at.Add(time.Minute) {
				first = append(first, run("chat", at, time.Minute), run("old", at, 0))
			}
			for at := h.Add(time.Hour + 5*time.Second); at.Before(h.Add(time.Hour + 2*time.Minute + 10*time.Second)); at = at.Add(10 * time.Second) {
				first = append(first, run("chat", at, 10*time.Second))
			}
			// Two at once in one batch: the longer (11:01:55).
			first = append(first, another("chat", h.Add(time.Hour+time.Minute+55*time.Second), 30*time.Second))
			// Into rows already stored: one of no interval (11:02:30),
			// runs every 10 s after it; late, one of 30 s in 10:00's
			// hour, and old's first of an interval known.
			second = append(second, run("chat", h.Add(time.Hour+2*time.Minute+30*time.Second), 0))
			for at := h.Add(time.Hour + 2*time.Minute + 35*time.Second); at.Before(h.Add(time.Hour + 5*time.Minute)); at = at.Add(10 * time.Second) {
				second = append(second, run("chat", at, 10*time.Second))
			}
			late = append(late, run("chat", h.Add(30*time.Minute+10*time.Second), 30*time.Second), run("old", h.Add(40*time.Minute+10*time.Second), 20*time.Second))
			// Later still, alone: a longer one and one of none, into
			// rows of a shorter one; and two at once with the row's
			// last, a shorter (10:59:05) and a longer (11:04:55).
			later := []probe.Run{run("chat", h.Add(45*time.Minute+10*time.Second), 2*time.Minute), run("chat", h.Add(time.Hour+time.Minute+10*time.Second), 0),
				another("chat", h.Add(59*time.Minute+5*time.Second), 10*time.Second), another("chat", h.Add(time.Hour+4*time.Minute+55*time.Second), time.Minute)}
			check := func(stage string, tests []struct {
				from, to time.Duration
				want     map[string]time.Duration
			}) {
				t.Helper()
				for _, tc := range tests {
					cov, err := s.Coverage(ctx, Query{From: h.Add(tc.from), To: h.Add(tc.to)})
					if err != nil {
						t.Fatal(err)
					}
					got := map[string]time.Duration{}
					for _, c := range cov {
						got[c.Flow] = c.LastInterval
					}
					for f, w := range tc.want {
						if g, ok := got[f]; !ok || g != w {
							t.Errorf("%s: [%s, %s) %s: LastInterval %v (found %v), want %v", stage, tc.from, tc.to, f, g, ok, w)
						}
					}
				}
			}
			type row = struct {
				from, to time.Duration
				want     map[string]time.Duration
			}
			for _, b := range [][]probe.Run{first, second} {
				if err := s.AppendRuns(ctx, b); err != nil {
					t.Fatal(err)
				}
			}
			m := time.Minute
			check("stored", []row{
				{0, time.Hour, map[string]time.Duration{"chat": m, "old": 0}},                                                            // hour rollups
				{0, time.Hour + 5*m, map[string]time.Duration{"chat": 10 * time.Second, "old": 0}},                                       // and minute ones
				{0, time.Hour + 2*m + 30*time.Second, map[string]time.Duration{"chat": 10 * time.Second}},                                // and raw ones, the last 11:02:25
				{0, time.Hour + 2*m + 31*time.Second, map[string]time.Duration{"chat": 0}},                                               // the last 11:02:30, of none
				{30*m + 30*time.Second, 59*m + 50*time.Second, map[string]time.Duration{"chat": m}},                                      // raw and minute ones
				{time.Hour + 2*m + 20*time.Second, time.Hour + 2*m + 40*time.Second, map[string]time.Duration{"chat": 10 * time.Second}}, // raw: none, then 10 s
				{time.Hour + 2*m + 29*time.Second, time.Hour + 2*m + 31*time.Second, map[string]time.Duration{"chat": 0}},                // raw: none
				{time.Hour + 2*m, time.Hour + 3*m, map[string]time.Duration{"chat": 10 * time.Second}},                                   // a minute row with both
				{time.Hour + m, time.Hour + 2*m, map[string]time.Duration{"chat": 30 * time.Second}},                                     // two at once: the longer
				{time.Hour + m + 50*time.Second, time.Hour + m + 56*time.Second, map[string]time.Duration{"chat": 30 * time.Second}},     // raw, two at once
				{time.Hour, 2 * time.Hour, map[string]time.Duration{"chat": 10 * time.Second}},                                           // an hour row
			})
			if err := s.AppendRuns(ctx, late); err != nil {
				t.Fatal(err)
			}
			check("late", []row{
				{0, time.Hour, map[string]time.Duration{"chat": m, "old": 0}}, // not the row's last
				{30 * m, 31 * m, map[string]time.Duration{"chat": 30 * time.Second}},
				{40 * m, 41 * m, map[string]time.Duration{"old": 20 * time.Second}},
				{0, 30 * m, map[string]time.Duration{"chat": m, "old": 0}},
			})
			if err := s.AppendRuns(ctx, later); err != nil {
				t.Fatal(err)
			}
			check("later", []row{
				{0, time.Hour, map[string]time.Duration{"chat": m, "old": 0}},
				{45 * m, 46 * m, map[string]time.Duration{"chat": 2 * m}},
				{time.Hour + m, time.Hour + 2*m, map[string]time.Duration{"chat": 30 * time.Second}},
				{0, time.Hour + 5*m, map[string]time.Duration{"chat": m}},
				{time.Hour, 2 * time.Hour, map[string]time.Duration{"chat": m}},
			})
		})
	}
}
