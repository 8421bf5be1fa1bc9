package daemon

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/store"
	"github.com/slaprobe/slaprobe/store/storetest"
)

// The report store's Totals and Coverage are the store's, whatever the
// range (aligned or not, moving, in the past, reaching past now), as the
// kept part grows hour by hour and when it is read afresh; confirm runs
// (Rollup.Confirm, Span.Confirm) included, and with RunsOnly; and the
// interval of a span's last run (Span.LastInterval: a confirm run's or a
// scheduled one's, of none), which the confirm runs' intervals change 40
// hours in (7 minutes, then 2).
func TestReportStoreMatchesStore(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	st := generated(t, storetest.Gen{Flows: 6, Steps: 2, Days: 3, Interval: 7 * time.Minute, Start: t0, Outages: 1, FailEvery: 5})
	// Confirm runs of flows 1 and 3, every 11 minutes.
	var confirms []probe.Run
	for i, at := 0, t0.Add(3*time.Minute+20*time.Second); at.Before(t0.Add(72 * time.Hour)); i, at = i+1, at.Add(11*time.Minute) {
		f := 1 + 2*(i%2)
		confirms = append(confirms, probe.Run{ID: fmt.Sprintf("confirm-%d", i), Flow: storetest.FlowName(f), Service: storetest.ServiceName(f),
			Location: "seoul-a", Start: at, Duration: time.Second, Confirm: true, Interval: 7 * time.Minute,
			Steps: []probe.StepResult{{Step: storetest.StepName(0), Function: storetest.StepName(0), Status: probe.StatusFailed, Duration: time.Second, Attempts: 1}}})
	}
	for i := range confirms {
		if !confirms[i].Start.Before(t0.Add(40 * time.Hour)) {
			confirms[i].Interval = 2 * time.Minute
		}
	}
	if err := st.AppendRuns(ctx, confirms); err != nil {
		t.Fatal(err)
	}
	fc := clockwork.NewFakeClockAt(t0.Add(90 * time.Minute))
	rs := newReportStore(st, ClockworkClock(fc))
	flows := []string{storetest.FlowName(1), storetest.FlowName(4)}
	check := func(q store.Query, what string) {
		t.Helper()
		want, err := st.Totals(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		got, err := rs.Totals(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s at %s: Totals [%s, %s) flows %v: %d rows differ from the store's %d:\n got %+v\nwant %+v",
				what, fc.Now().Format(time.RFC3339), q.From.Format(time.RFC3339), q.To.Format(time.RFC3339), q.Flows, len(got), len(want), first(got), first(want))
		}
		wc, err := st.Coverage(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		gc, err := rs.Coverage(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(gc, wc) {
			t.Fatalf("%s at %s: Coverage [%s, %s) = %+v, want %+v", what, fc.Now().Format(time.RFC3339),
				q.From.Format(time.RFC3339), q.To.Format(time.RFC3339), gc, wc)
		}
	}
	for fc.Now().Before(t0.Add(80 * time.Hour)) {
		now := fc.Now()
		check(store.Query{From: t0, To: now}, "from the start to now")
		check(store.Query{From: t0, To: t0.Add(96 * time.Hour)}, "the whole period, ending after now")
		check(store.Query{From: now.Add(-30 * time.Hour), To: now}, "moving window")
		check(store.Query{From: t0.Add(13 * time.Minute), To: now.Add(-17 * time.Minute)}, "unaligned")
		check(store.Query{From: t0.Add(90 * time.Minute), To: t0.Add(26 * time.Hour)}, "in the past")
		check(store.Query{From: t0, To: now, Flows: flows}, "two flows")
		check(store.Query{From: t0, To: now, Location: "seoul-a"}, "a location")
		// The availability gauge and the status page ask for run counts
		// alone; a full report of the same range after them gets it all.
		check(store.Query{From: t0, To: now, RunsOnly: true}, "runs only")
		check(store.Query{From: now.Add(-30 * time.Hour), To: now, Flows: flows, RunsOnly: true}, "moving window, two flows, runs only")
		check(store.Query{From: t0, To: now}, "from the start to now, after runs only")
		// Shorter ranges from a kept range's hour (read from the store
		// whole, the kept entry left as it is), and the kept ranges again
		// after them.
		for _, back := range []time.Duration{2 * time.Hour, 3*time.Hour + 17*time.Minute, 26 * time.Hour} {
			if to := now.Add(-back); to.After(t0.Add(time.Hour)) {
				check(store.Query{From: t0, To: to}, "shorter, from the start")
				check(store.Query{From: t0, To: to, Flows: flows, RunsOnly: true}, "shorter, two flows, runs only")
				check(store.Query{From: t0.Add(13 * time.Minute), To: to}, "shorter, unaligned")
				check(store.Query{From: now.Add(-30 * time.Hour), To: to}, "shorter, moving window")
			}
		}
		check(store.Query{From: t0, To: now}, "from the start to now, after shorter ranges")
		check(store.Query{From: t0.Add(13 * time.Minute), To: now.Add(-17 * time.Minute)}, "unaligned, after shorter ranges")
		check(store.Query{From: now.Add(-30 * time.Hour), To: now}, "moving window, after shorter ranges")
		check(store.Query{From: t0, To: now, Flows: flows, RunsOnly: true}, "two flows, runs only, after shorter ranges")
		fc.Advance(37 * time.Minute)
	}

	// Runs stored late into kept hours show once the kept part is dropped.
	now := fc.Now()
	q := store.Query{From: t0, To: now}
	before, _ := rs.Totals(ctx, q)
	late := probe.Run{ID: "late", Flow: storetest.FlowName(2), Service: storetest.ServiceName(2), Location: "seoul-a",
		Start: t0.Add(5*time.Hour + 30*time.Second), Duration: time.Second,
		Steps: []probe.StepResult{{Step: storetest.StepName(0), Function: storetest.StepName(0), Status: probe.StatusOK, Duration: time.Second, Attempts: 1}}}
	if err := st.AppendRuns(ctx, []probe.Run{late}); err != nil {
		t.Fatal(err)
	}
	if after, _ := rs.Totals(ctx, q); !reflect.DeepEqual(after, before) {
		t.Log("(the late run showed before invalidate: the kept part was read afresh)")
	}
	rs.invalidate()
	check(q, "after a late run and invalidate")
}

func first(rs []store.Rollup) string {
	if len(rs) == 0 {
		return "[]"
	}
	return fmt.Sprintf("%+v", rs[0])
}

// readLog is a store that notes the ranges Totals and Coverage read.
type readLog struct {
	store.Store
	mu    sync.Mutex
	reads []string
}

func (r *readLog) note(what string, q store.Query) {
	r.mu.Lock()
	r.reads = append(r.reads, fmt.Sprintf("%s %s-%s", what, q.From.Format("02T15"), q.To.Format("02T15")))
	r.mu.Unlock()
}

func (r *readLog) Totals(ctx context.Context, q store.Query) ([]store.Rollup, error) {
	r.note("totals", q)
	return r.Store.Totals(ctx, q)
}

func (r *readLog) Coverage(ctx context.Context, q store.Query) ([]store.Span, error) {
	r.note("coverage", q)
	return r.Store.Coverage(ctx, q)
}

func (r *readLog) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.reads
	r.reads = nil
	return out
}

// A range from the hour a kept one begins at that ends before the part kept
// (the day after last month, which its report reads for its edges, beside
// this month) is read from the store, and the kept part stays: the next read
// of the longer range reads its recent part alone. Before, the kept part was
// begun again at the shorter range's end, and the next read of the month
// read the settled days after it again (the status page's rebuild after it
// built last month: 1 s at 1,000 flows in BenchmarkStatusRefresh/kept).
func TestReportStoreKeepsPastAShorterRange(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	st := generated(t, storetest.Gen{Flows: 3, Steps: 2, Days: 3, Interval: 10 * time.Minute, Start: t0})
	month := store.Query{From: t0, To: t0.Add(31 * 24 * time.Hour)}
	day := store.Query{From: t0, To: t0.Add(24 * time.Hour)}
	for _, tc := range []struct {
		name string
		read func(rs *reportStore, q store.Query) (any, error)
		want func(q store.Query) (any, error)
	}{
		{"totals", func(rs *reportStore, q store.Query) (any, error) { return rs.Totals(ctx, q) },
			func(q store.Query) (any, error) { return st.Totals(ctx, q) }},
		{"coverage", func(rs *reportStore, q store.Query) (any, error) { return rs.Coverage(ctx, q) },
			func(q store.Query) (any, error) { return st.Coverage(ctx, q) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log := &readLog{Store: st}
			rs := newReportStore(log, ClockworkClock(clockwork.NewFakeClockAt(t0.Add(60*time.Hour+30*time.Minute))))
			for i, step := range []struct {
				q     store.Query
				reads string // what the store is asked
			}{
				{month, tc.name + " 01T00-03T11 " + tc.name + " 03T11-01T00"}, // kept up to 11:00 the 3rd, the rest read
				{day, tc.name + " 01T00-02T00"},                               // read whole
				{month, tc.name + " 03T11-01T00"},                             // the recent part alone
			} {
				got, err := tc.read(rs, step.q)
				if err != nil {
					t.Fatal(err)
				}
				want, err := tc.want(step.q)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("read %d: %+v, want the store's %+v", i, got, want)
				}
				if reads := strings.Join(log.take(), " "); reads != step.reads {
					t.Errorf("read %d [%s, %s): the store was asked %q, want %q", i, step.q.From, step.q.To, reads, step.reads)
				}
			}
		})
	}
}

// generated is a SQLite store in a temporary directory, closed when the
// test ends, holding what gen generates.
func generated(t *testing.T, gen storetest.Gen) *store.SQLite {
	t.Helper()
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "r.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := storetest.Generate(ctx, st, gen); err != nil {
		t.Fatal(err)
	}
	return st
}
