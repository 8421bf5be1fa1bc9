package store

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/probe"
)

// A reader keeps the series table between calls and reads it again when a
// series is added, also by another writer of the same database (a second
// process): every read sees the new flow at once, and a read with no new
// series does not read the table again.
func TestSeriesCacheSeesNewSeries(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "test.db")
	reader, err := OpenSQLite(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	other, err := OpenSQLite(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	q := Query{From: t0, To: t0.Add(time.Hour)}
	flowsOf := func() (totals, spans, rollups, runs []string) {
		t.Helper()
		rs, err := reader.Totals(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if r.Step == "" {
				totals = append(totals, r.Flow)
			}
		}
		ss, err := reader.Coverage(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range ss {
			spans = append(spans, s.Flow)
		}
		rr, err := reader.Rollups(ctx, Minute, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rr {
			if r.Step == "" && !slices.Contains(rollups, r.Flow) {
				rollups = append(rollups, r.Flow)
			}
		}
		runList, err := reader.Runs(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range runList {
			runs = append(runs, r.Flow)
		}
		slices.Sort(rollups)
		slices.Sort(runs)
		return totals, spans, rollups, runs
	}
	steps := []struct {
		by    *SQLite
		flow  string
		want  []string
		reads int // reads of the series table so far
	}{
		{reader, "a", []string{"a"}, 1},
		{nil, "", []string{"a"}, 1}, // nothing added: the kept table
		{other, "b", []string{"a", "b"}, 2},
		{reader, "c", []string{"a", "b", "c"}, 3},
		{nil, "", []string{"a", "b", "c"}, 3},
		{other, "a", []string{"a", "a", "b", "c"}, 3}, // a second run of a known series
	}
	for i, st := range steps {
		if st.by != nil {
			if err := st.by.AppendRuns(ctx, []probe.Run{mkRun(st.flow, "l1", t0.Add(time.Duration(i)*time.Minute), -1, time.Millisecond)}); err != nil {
				t.Fatal(err)
			}
		}
		totals, spans, rollups, runs := flowsOf()
		wantRuns := slices.Clone(st.want)
		slices.Sort(wantRuns)
		want := slices.Compact(slices.Clone(wantRuns))
		if !slices.Equal(totals, want) || !slices.Equal(spans, want) || !slices.Equal(rollups, want) || !slices.Equal(runs, wantRuns) {
			t.Errorf("step %d: totals %v, coverage %v, rollups %v, runs %v; want flows %v (runs %v)", i, totals, spans, rollups, runs, want, st.want)
		}
		if n := reader.seriesCache.readCount; n != st.reads {
			t.Errorf("step %d: the series table was read %d times, want %d", i, n, st.reads)
		}
	}
}
