package daemon

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/store"
)

// rangeStore records the range and flows of every Runs query.
type rangeStore struct {
	store.Store
	queries []store.Query
	runs    int
}

func (r *rangeStore) Runs(ctx context.Context, q store.Query) ([]probe.Run, error) {
	rs, err := r.Store.Runs(ctx, q)
	r.queries = append(r.queries, q)
	r.runs += len(rs)
	return rs, err
}

// TestRestartHistoryCoversEachLookback: whatever the mix of intervals and
// last runs (a flow that never ran, one stopped three months ago, one that
// ran a second before the restart, flows with equal lookbacks a little or
// far apart, an hourly flow among minute ones), the history a restart reads
// for each flow is exactly its stored runs at this location in its own
// lookback before its last run, [last-lookback, last], the boundary
// included; no query ranges over more than twice the shortest lookback of
// its flows. It logs how many runs were read for those kept.
func TestRestartHistoryCoversEachLookback(t *testing.T) {
	ctx := context.Background()
	s, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "s.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	stop := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	type tc struct {
		name  string
		every time.Duration
		last  time.Duration // before stop; < 0: never ran
	}
	cases := []tc{
		{"never", time.Minute, -1},
		{"months", time.Hour, 90 * 24 * time.Hour},
		{"months-fast", 10 * time.Second, 90*24*time.Hour - 30*time.Second},
		{"second", 10 * time.Second, time.Second},
		{"eq-a", time.Minute, 30 * time.Second},
		{"eq-b", time.Minute, 5 * time.Minute},
		{"eq-c", time.Minute, 5 * time.Minute},
		{"eq-d", time.Minute, 20 * time.Minute},
		{"hourly", time.Hour, 5 * time.Minute},
		{"five", 5 * time.Minute, 2 * time.Minute},
		{"day-old", time.Minute, 24 * time.Hour},
	}
	var fss []*flowState
	var runs []probe.Run
	last := map[string]time.Time{}
	want := map[string][]string{}
	lbs := map[string]time.Duration{}
	mk := func(flow, loc string, at time.Time) probe.Run {
		return probe.Run{ID: fmt.Sprintf("%s-%s-%d", flow, loc, at.UnixNano()), Flow: flow, Service: "svc", Location: loc,
			Start: at, Duration: time.Second, Steps: []probe.StepResult{{Step: "s", Status: probe.StatusOK, Duration: time.Second}}}
	}
	for _, c := range cases {
		f := &config.Flow{Name: c.name, Service: "svc", Interval: c.every, Timeout: 10 * time.Second, DownAfter: 3, UpAfter: 2}
		fs := newFlowState("loc", f, nil)
		fss = append(fss, fs)
		lb := lookback(fs)
		lbs[c.name] = lb
		if c.last < 0 {
			continue
		}
		lr := stop.Add(-c.last)
		last[c.name] = lr
		var at []time.Time
		for x := lr; !x.Before(lr.Add(-3 * lb)); x = x.Add(-c.every) {
			at = append(at, x)
		}
		// Its lookback's first instant, and a millisecond before it.
		for _, x := range []time.Time{lr.Add(-lb), lr.Add(-lb - time.Millisecond)} {
			if !slices.ContainsFunc(at, x.Equal) {
				at = append(at, x)
			}
		}
		for _, x := range at {
			runs = append(runs, mk(c.name, "loc", x), mk(c.name, "other", x))
			if !x.Before(lr.Add(-lb)) {
				want[c.name] = append(want[c.name], mk(c.name, "loc", x).ID)
			}
		}
	}
	if err := s.AppendRuns(ctx, runs); err != nil {
		t.Fatal(err)
	}
	rs := &rangeStore{Store: s}
	d := &Daemon{store: rs}
	hist, err := historyOf(ctx, d, fss, last, stop.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	kept := 0
	for _, c := range cases {
		var got []string
		for _, r := range hist[c.name].runs {
			got = append(got, r.ID)
		}
		slices.Sort(got)
		w := slices.Clone(want[c.name])
		slices.Sort(w)
		if !slices.Equal(got, w) {
			t.Errorf("%s (lookback %v): read %d runs %v, want %d %v", c.name, lbs[c.name], len(got), got, len(w), w)
		}
		kept += len(got)
	}
	for _, q := range rs.queries {
		least := time.Duration(1<<63 - 1)
		for _, f := range q.Flows {
			least = min(least, lbs[f])
		}
		if q.To.Sub(q.From) > 2*least+time.Nanosecond {
			t.Errorf("a query of %v ranges over %v, more than twice its shortest lookback %v", q.Flows, q.To.Sub(q.From), least)
		}
		t.Logf("query %v: %v (shortest lookback %v)", q.Flows, q.To.Sub(q.From), least)
	}
	t.Logf("%d queries read %d runs, %d kept (%d runs stored, half at another location)", len(rs.queries), rs.runs, kept, len(runs))
}
