package store

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/probe"
)

// rollupRunsForBatching are runs that exercise the rollup write path: six
// series, zero to four steps (one step name under two functions), every
// status, durations from 0 to past the last histogram bound, confirm runs,
// starts over three hours and out of order, and runs submitted twice (once
// within a batch, once in a later one), which must be counted once.
func rollupRunsForBatching() []probe.Run {
	rng := rand.New(rand.NewPCG(11, 7))
	statuses := []probe.Status{probe.StatusOK, probe.StatusOK, probe.StatusOK, probe.StatusFailed, probe.StatusDegraded, probe.StatusNotRun}
	steps := []struct{ step, function string }{{"login", "login"}, {"search", "search"}, {"search", "maps"}, {"pay", "pay"}}
	var out []probe.Run
	for i := range 700 {
		r := probe.Run{
			ID:       fmt.Sprintf("run-%d", i),
			Service:  fmt.Sprintf("svc-%d", i%2),
			Flow:     fmt.Sprintf("flow-%d", i%3),
			Location: []string{"seoul", "busan"}[i%5%2],
			Start:    t0.Add(time.Duration(rng.Int64N(int64(3 * time.Hour)))),
			Confirm:  i%23 == 0,
		}
		for j := range rng.IntN(5) {
			d := time.Duration(rng.Int64N(int64(2 * time.Second)))
			switch rng.IntN(8) {
			case 0:
				d = 0
			case 1:
				d = 90 * time.Second // past the last bound
			}
			st := statuses[rng.IntN(len(statuses))]
			r.Steps = append(r.Steps, probe.StepResult{Step: steps[j].step, Function: steps[j].function, Status: st, Duration: d, Attempts: 1})
			r.Duration += d
		}
		out = append(out, r)
		if i%50 == 7 {
			out = append(out, r) // the same run again, in the same batch or not
		}
		if i%97 == 3 && i > 0 {
			out = append(out, out[i/2]) // an earlier run again
		}
	}
	return out
}

// rollupRow is a stored rollup row with its ids resolved to names, so that
// stores that interned names in another order compare equal.
type rollupRow struct {
	Table                   string
	Bucket                  int64
	Series                  seriesKey
	Runs, First, Last, Conf int64
	Stats                   map[nameKey]stat // step name 0: {"", ""}
	Canonical               bool             // data is encodeStats of its entries, byte for byte
	rawData                 []byte
}

// storedRollups reads both rollup tables of c.
func storedRollups(t *testing.T, c *core) []rollupRow {
	t.Helper()
	ctx := context.Background()
	series := map[int64]seriesKey{}
	var srows []seriesRow
	if err := c.r.SelectContext(ctx, &srows, `SELECT id, service, flow, location FROM series`); err != nil {
		t.Fatal(err)
	}
	for _, s := range srows {
		series[s.ID] = seriesKey{s.Service, s.Flow, s.Location}
	}
	names := map[int64]nameKey{0: {}}
	rows, err := c.r.QueryContext(ctx, `SELECT id, step, function FROM step_names`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		var k nameKey
		if err := rows.Scan(&id, &k.step, &k.function); err != nil {
			t.Fatal(err)
		}
		names[id] = k
	}
	rows.Close()
	var out []rollupRow
	for _, table := range []string{"rollup_minute", "rollup_hour"} {
		rows, err := c.r.QueryContext(ctx, `SELECT bucket_ns, series, runs, first_ns, last_ns, data, confirm_runs FROM `+table)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			r := rollupRow{Table: table, Stats: map[nameKey]stat{}}
			var sid int64
			if err := rows.Scan(&r.Bucket, &sid, &r.Runs, &r.First, &r.Last, &r.rawData, &r.Conf); err != nil {
				t.Fatal(err)
			}
			r.Series = series[sid]
			ss, err := decodeStats(r.rawData)
			if err != nil {
				t.Fatalf("%s bucket %d series %v: %v", table, r.Bucket, r.Series, err)
			}
			r.Canonical = bytes.Equal(encodeStats(ss), r.rawData)
			for _, s := range ss {
				nk, ok := names[s.name]
				if !ok {
					t.Fatalf("%s: step name id %d not in step_names", table, s.name)
				}
				s.name = 0
				r.Stats[nk] = s
			}
			out = append(out, r)
		}
		rows.Close()
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Table != b.Table {
			return a.Table < b.Table
		}
		if a.Bucket != b.Bucket {
			return a.Bucket < b.Bucket
		}
		return fmt.Sprint(a.Series) < fmt.Sprint(b.Series)
	})
	return out
}

// referenceRollups folds runs into rollup rows the plain way, one run at a
// time, each distinct run (series, start, id) once.
func referenceRollups(runs []probe.Run, bounds []time.Duration) []rollupRow {
	type rk struct {
		table  string
		bucket int64
		series seriesKey
	}
	type rid struct {
		series seriesKey
		start  int64
		id     string
	}
	rows := map[rk]*rollupRow{}
	seen := map[rid]bool{}
	count := func(r *rollupRow, nk nameKey, st probe.Status, d time.Duration) {
		s := r.Stats[nk]
		switch st {
		case probe.StatusOK:
			s.ok++
		case probe.StatusFailed:
			s.failed++
		case probe.StatusDegraded:
			s.degraded++
		case probe.StatusNotRun:
			s.notRun++
		}
		if st != probe.StatusNotRun {
			s.sum += int64(d)
			s.hist = s.hist.add(slotOf(bounds, d), 1)
		}
		r.Stats[nk] = s
	}
	for i := range runs {
		run := &runs[i]
		sk := seriesKey{run.Service, run.Flow, run.Location}
		start := run.Start.UnixNano()
		if seen[rid{sk, start, run.ID}] {
			continue
		}
		seen[rid{sk, start, run.ID}] = true
		for _, g := range []struct {
			table string
			size  int64
		}{{"rollup_minute", int64(time.Minute)}, {"rollup_hour", int64(time.Hour)}} {
			k := rk{g.table, start - start%g.size, sk}
			r := rows[k]
			if r == nil {
				r = &rollupRow{Table: g.table, Bucket: k.bucket, Series: sk, First: start, Last: start, Stats: map[nameKey]stat{}, Canonical: true}
				rows[k] = r
			}
			r.First, r.Last = min(r.First, start), max(r.Last, start)
			if run.Confirm {
				r.Conf++
				continue
			}
			r.Runs++
			count(r, nameKey{}, run.Outcome(), run.Duration)
			for j := range run.Steps {
				s := &run.Steps[j]
				count(r, nameKey{s.Step, s.Function}, s.Status, s.Duration)
			}
		}
	}
	out := make([]rollupRow, 0, len(rows))
	for _, r := range rows {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Table != b.Table {
			return a.Table < b.Table
		}
		if a.Bucket != b.Bucket {
			return a.Bucket < b.Bucket
		}
		return fmt.Sprint(a.Series) < fmt.Sprint(b.Series)
	})
	return out
}

// TestRollupsWhateverTheBatching pins what AppendRuns stores in the rollup
// tables: the same runs written in any batching (all at once, one by one,
// around the multi-row statements' chunk sizes, at random) give the rows a
// plain one-run-at-a-time fold gives, with canonical data blobs; and written
// in the same batching into two stores, byte-identical data.
func TestRollupsWhateverTheBatching(t *testing.T) {
	runs := rollupRunsForBatching()
	rng := rand.New(rand.NewPCG(3, 5))
	random := func() []int {
		var sizes []int
		for n := 0; n < len(runs); {
			k := 1 + rng.IntN(150)
			sizes = append(sizes, k)
			n += k
		}
		return sizes
	}
	ctx := context.Background()
	for _, db := range []struct {
		name string
		open func(t *testing.T) *core
	}{
		{"sqlite", func(t *testing.T) *core {
			s, err := OpenSQLite(ctx, filepath.Join(t.TempDir(), "r.db"), Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s.core
		}},
		{"postgres", func(t *testing.T) *core { return openTestPostgres(t).core }},
	} {
		t.Run(db.name, func(t *testing.T) {
			var want []rollupRow
			for _, tc := range []struct {
				name  string
				sizes []int // batch sizes, the last one repeated
			}{
				{"one batch", []int{len(runs)}},
				{"one by one", []int{1}},
				{"chunk-1", []int{chunkRows - 1}},
				{"chunk", []int{chunkRows}},
				{"chunk+1", []int{chunkRows + 1}},
				{"2chunks+3", []int{2*chunkRows + 3}},
				{"random", random()},
			} {
				t.Run(tc.name, func(t *testing.T) {
					c := db.open(t)
					sizes := tc.sizes
					for rest := runs; len(rest) > 0; {
						n := min(sizes[0], len(rest))
						if len(sizes) > 1 {
							sizes = sizes[1:]
						}
						// AppendRuns may reorder its argument's view; give it a copy.
						batch := append([]probe.Run(nil), rest[:n]...)
						if err := c.AppendRuns(ctx, batch); err != nil {
							t.Fatal(err)
						}
						rest = rest[n:]
					}
					got := storedRollups(t, c)
					if want == nil {
						want = referenceRollups(runs, c.bounds)
					}
					if len(got) != len(want) {
						t.Fatalf("%d rollup rows, want %d", len(got), len(want))
					}
					for i := range got {
						g, w := got[i], want[i]
						g.rawData = nil
						if !reflect.DeepEqual(g, w) {
							t.Fatalf("row %d:\n got %+v\nwant %+v", i, g, w)
						}
					}
				})
			}
			t.Run("same batching, same bytes", func(t *testing.T) {
				var data [2][][]byte
				for k := range data {
					c := db.open(t)
					for rest := runs; len(rest) > 0; {
						n := min(37, len(rest))
						if err := c.AppendRuns(ctx, append([]probe.Run(nil), rest[:n]...)); err != nil {
							t.Fatal(err)
						}
						rest = rest[n:]
					}
					for _, r := range storedRollups(t, c) {
						data[k] = append(data[k], r.rawData)
					}
				}
				if !reflect.DeepEqual(data[0], data[1]) {
					t.Fatal("two stores given the same batches hold different rollup data")
				}
			})
		})
	}
}

// A batch that fails after its minute rows were upserted (its hour rows
// refused) is rolled back; the same batch again must count once, as if the
// failure never happened: nothing of the failed attempt's aggregate (rows
// carved from its slabs, its data buffer) survives into the retry.
func TestRollupsRetriedBatchCountsOnce(t *testing.T) {
	ctx := context.Background()
	s, err := OpenSQLite(ctx, filepath.Join(t.TempDir(), "r.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := s.core
	for _, q := range []string{
		`CREATE TABLE fail_once (x INTEGER)`,
		`CREATE TRIGGER fail_hour BEFORE INSERT ON rollup_hour WHEN (SELECT COUNT(*) FROM fail_once) > 0
BEGIN SELECT RAISE(ABORT, 'refused for the test'); END`,
	} {
		if _, err := c.w.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	runs := rollupRunsForBatching()[:240]
	if err := c.AppendRuns(ctx, append([]probe.Run(nil), runs[:100]...)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.w.ExecContext(ctx, `INSERT INTO fail_once VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	batch := append([]probe.Run(nil), runs[100:]...)
	if err := c.AppendRuns(ctx, batch); err == nil {
		t.Fatal("the batch was not refused")
	}
	if _, err := c.w.ExecContext(ctx, `DELETE FROM fail_once`); err != nil {
		t.Fatal(err)
	}
	if err := c.AppendRuns(ctx, batch); err != nil {
		t.Fatal(err)
	}
	got, want := storedRollups(t, c), referenceRollups(runs, c.bounds)
	if len(got) != len(want) {
		t.Fatalf("%d rollup rows, want %d", len(got), len(want))
	}
	for i := range got {
		g := got[i]
		g.rawData = nil
		if !reflect.DeepEqual(g, want[i]) {
			t.Fatalf("row %d:\n got %+v\nwant %+v", i, g, want[i])
		}
	}
}
