package report

import (
	"cmp"
	"context"
	"slices"
	"sort"
	"time"

	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/state"
	"github.com/slaprobe/slaprobe/store"
)

// memStore is a small in-memory store.Store for the report tests: it keeps
// runs, minute and hour rollups, and events, with the semantics of the
// interface's doc comments.
type memStore struct {
	runs   []probe.Run
	events []state.Event
	roll   map[store.Granularity]map[rollKey]*store.Rollup
}

var _ store.Store = (*memStore)(nil)

type rollKey struct {
	bucket               time.Time
	flow, step, location string
}

func newMemStore() *memStore {
	return &memStore{roll: map[store.Granularity]map[rollKey]*store.Rollup{store.Minute: {}, store.Hour: {}}}
}

func histIndex(d time.Duration, bounds []time.Duration) int {
	return sort.Search(len(bounds), func(i int) bool { return d <= bounds[i] })
}

func (m *memStore) AppendRuns(_ context.Context, runs []probe.Run) error {
	bounds := store.LatencyBounds()
	for _, r := range runs {
		m.runs = append(m.runs, r)
		for g, trunc := range map[store.Granularity]time.Duration{store.Minute: time.Minute, store.Hour: time.Hour} {
			b := r.Start.UTC().Truncate(trunc)
			add := func(step, fn string, st probe.Status, d time.Duration, timed bool) {
				k := rollKey{b, r.Flow, step, r.Location}
				row := m.roll[g][k]
				if row == nil {
					row = &store.Rollup{Bucket: b, Service: r.Service, Flow: r.Flow, Step: step, Function: fn, Location: r.Location, Hist: make([]int64, len(bounds)+1)}
					m.roll[g][k] = row
				}
				switch st {
				case probe.StatusOK:
					row.OK++
				case probe.StatusFailed:
					row.Failed++
				case probe.StatusDegraded:
					row.Degraded++
				case probe.StatusNotRun:
					row.NotRun++
				}
				if timed {
					row.Hist[histIndex(d, bounds)]++
					row.SumSeconds += d.Seconds()
				}
			}
			if r.Confirm { // counted apart, on the run-level row
				add("", "", "", 0, false)
				m.roll[g][rollKey{b, r.Flow, "", r.Location}].Confirm++
				continue
			}
			add("", "", r.Outcome(), r.Duration, false)
			for _, s := range r.Steps {
				add(s.Step, s.Function, s.Status, s.Duration, s.Status != probe.StatusNotRun)
			}
		}
	}
	return nil
}

func (m *memStore) AppendEvents(_ context.Context, evs []state.Event) error {
	m.events = append(m.events, evs...)
	return nil
}

func match(q store.Query, flow, location string, t time.Time) bool {
	if len(q.Flows) > 0 && !slices.Contains(q.Flows, flow) {
		return false
	}
	if q.Location != "" && q.Location != location {
		return false
	}
	return !t.Before(q.From) && t.Before(q.To)
}

func (m *memStore) Runs(_ context.Context, q store.Query) ([]probe.Run, error) {
	var out []probe.Run
	for _, r := range m.runs {
		if match(q, r.Flow, r.Location, r.Start) {
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, func(a, b probe.Run) int {
		return cmp.Or(cmp.Compare(a.Flow, b.Flow), cmp.Compare(a.Location, b.Location), a.Start.Compare(b.Start))
	})
	return out, nil
}

func (m *memStore) Rollups(_ context.Context, g store.Granularity, q store.Query) ([]store.Rollup, error) {
	var out []store.Rollup
	for k, r := range m.roll[g] {
		if match(q, k.flow, k.location, k.bucket) {
			cp := *r
			cp.Hist = slices.Clone(r.Hist)
			out = append(out, cp)
		}
	}
	slices.SortFunc(out, func(a, b store.Rollup) int {
		return cmp.Or(a.Bucket.Compare(b.Bucket), cmp.Compare(a.Flow, b.Flow), cmp.Compare(a.Location, b.Location), cmp.Compare(a.Step, b.Step))
	})
	return out, nil
}

func (m *memStore) allWindows() []state.Window {
	type wk struct {
		key   state.Key
		kind  state.Kind
		start time.Time
	}
	open := map[wk]int{}
	var out []state.Window
	for _, e := range m.events {
		w := e.Window
		k := wk{w.Key, w.Kind, w.Start.UTC()}
		switch e.Op {
		case state.OpOpen:
			open[k] = len(out)
			out = append(out, w)
		case state.OpCause:
			if i, ok := open[k]; ok {
				out[i] = w
			}
		case state.OpClose:
			if i, ok := open[k]; ok {
				out[i] = w
				delete(open, k)
				continue
			}
			out = append(out, w)
		}
	}
	return out
}

func (m *memStore) Windows(_ context.Context, q store.Query) ([]state.Window, error) {
	var out []state.Window
	for _, w := range m.allWindows() {
		if len(q.Flows) > 0 && !slices.Contains(q.Flows, w.Flow) || q.Location != "" && q.Location != w.Location {
			continue
		}
		if w.Start.Before(q.To) && (w.End.IsZero() || w.End.After(q.From)) {
			out = append(out, w)
		}
	}
	return out, nil
}

func (m *memStore) OpenWindows(_ context.Context, location string) ([]state.Window, error) {
	var out []state.Window
	for _, w := range m.allWindows() {
		if w.End.IsZero() && w.Location == location {
			out = append(out, w)
		}
	}
	return out, nil
}

func (m *memStore) LastRuns(_ context.Context, location string) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	for _, r := range m.runs {
		if r.Location == location && r.Start.After(out[r.Flow]) {
			out[r.Flow] = r.Start
		}
	}
	return out, nil
}

func (m *memStore) Coverage(_ context.Context, q store.Query) ([]store.Span, error) {
	idx := map[[2]string]int{}
	var out []store.Span
	for _, r := range m.runs {
		if !match(q, r.Flow, r.Location, r.Start) {
			continue
		}
		k := [2]string{r.Flow, r.Location}
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, store.Span{Flow: r.Flow, Service: r.Service, Location: r.Location, First: r.Start, Last: r.Start})
		}
		s := &out[i]
		if r.Confirm {
			s.Confirm++
		} else {
			s.Runs++
		}
		if r.Start.Before(s.First) {
			s.First = r.Start
		}
		s.Last, s.LastInterval = store.JoinLast(s.Last, s.LastInterval, r.Start, max(r.Interval, 0))
	}
	return out, nil
}

// Totals sums, as the stores do, the results of the runs in q's range.
func (m *memStore) Totals(ctx context.Context, q store.Query) ([]store.Rollup, error) {
	runs, err := m.Runs(ctx, q)
	if err != nil {
		return nil, err
	}
	sum := newMemStore()
	if err := sum.AppendRuns(ctx, runs); err != nil {
		return nil, err
	}
	byKey := map[[3]string]int{}
	var out []store.Rollup
	for _, r := range sum.roll[store.Hour] {
		k := [3]string{r.Flow, r.Location, r.Step}
		i, ok := byKey[k]
		if !ok {
			i = len(out)
			byKey[k] = i
			out = append(out, store.Rollup{Bucket: q.From, Service: r.Service, Flow: r.Flow, Step: r.Step, Function: r.Function,
				Location: r.Location, Hist: make([]int64, len(r.Hist))})
		}
		t := &out[i]
		t.OK, t.Failed, t.Degraded, t.NotRun = t.OK+r.OK, t.Failed+r.Failed, t.Degraded+r.Degraded, t.NotRun+r.NotRun
		t.Confirm += r.Confirm
		t.SumSeconds += r.SumSeconds
		for i, c := range r.Hist {
			t.Hist[i] += c
		}
	}
	return out, nil
}

func (m *memStore) Horizon(context.Context) (store.Horizon, error) { return store.Horizon{}, nil }

func (m *memStore) Earliest(context.Context) (time.Time, error) {
	var first time.Time
	for _, r := range m.runs {
		if first.IsZero() || r.Start.Before(first) {
			first = r.Start
		}
	}
	return first, nil
}

func (m *memStore) Prune(context.Context, store.Cutoffs, int) (int, error) { return 0, nil }
func (m *memStore) Ping(context.Context) error                             { return nil }
func (m *memStore) Close() error                                           { return nil }
