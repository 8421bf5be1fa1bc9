package report

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/state"
	"github.com/slaprobe/slaprobe/store"
)

// TestRetiredSteps: a retired flow's steps are those of its last run, in
// order; with its raw runs pruned, those of the hour rollup that holds it,
// in the store's order, and a whole-flow window of it then takes down
// every function of the flow (the steps after its cause are not known).
func TestRetiredSteps(t *testing.T) {
	ctx := context.Background()
	cfg := withFlows(time.Minute, "old")
	from := time.Date(2022, 10, 20, 0, 0, 0, 0, cfg.Loc)
	span := store.Span{Flow: "old", Service: "messaging", Location: "seoul-a", First: from, Last: from.Add(59 * time.Minute), Runs: 60}
	names := func(steps []config.Step) (out []string) {
		for _, st := range steps {
			out = append(out, st.Name+":"+st.Function)
		}
		return out
	}
	// The steps as findRetired reads them: the last run through lastRuns
	// (RunsEach where the store has it), then retiredSteps.
	stepsOf := func(s store.Store) ([]config.Step, bool, error) {
		last, err := lastRuns(ctx, s, []string{"old"}, map[string]store.Span{"old": span})
		if err != nil {
			return nil, false, err
		}
		return retiredSteps(ctx, s, span, last[0])
	}
	for _, st := range confirmStores() {
		t.Run(st.name, func(t *testing.T) {
			s := st.open(t)
			load(t, s, cfg, flowSchedule("old", from, from.Add(time.Hour), time.Minute, failing("ok")))
			steps, ordered, err := stepsOf(s)
			if err != nil {
				t.Fatal(err)
			}
			if want := []string{"login:login", "send:send", "receive:receive"}; !ordered || !slices.Equal(names(steps), want) {
				t.Errorf("steps %v ordered %v, want %v in order", names(steps), ordered, want)
			}
			// The raw runs pruned (storage.retention); the rollups stay.
			if m, ok := s.(*memStore); ok {
				m.runs = nil
			} else {
				for {
					n, err := s.Prune(ctx, store.Cutoffs{Runs: from.Add(2 * time.Hour)}, 1000)
					if err != nil {
						t.Fatal(err)
					}
					if n < 1000 {
						break
					}
				}
			}
			if runs, err := s.Runs(ctx, store.Query{From: from, To: from.Add(time.Hour)}); err != nil || len(runs) > 0 {
				t.Fatalf("runs after pruning: %d, %v", len(runs), err)
			}
			steps, ordered, err = stepsOf(s)
			if err != nil {
				t.Fatal(err)
			}
			got := names(steps)
			slices.Sort(got)
			if want := []string{"login:login", "receive:receive", "send:send"}; ordered || !slices.Equal(got, want) {
				t.Errorf("steps %v ordered %v, want %v, not ordered", got, ordered, want)
			}
		})
	}
	a := &analysis{unordered: map[string]bool{"old": true}}
	cs := &config.Service{Flows: []config.Flow{{Name: "old", Steps: []config.Step{{Name: "send", Function: "send"}, {Name: "login", Function: "login"}}}}}
	w := measured{Key: state.Key{Flow: "old"}, kind: state.KindDown, cause: "login"}
	if fns := a.functions(cs, w); !slices.Equal(fns, []string{"send", "login"}) {
		t.Errorf("functions %v, want every function of the flow", fns)
	}
}

// TestRetiredInterval: a retired flow's interval is its runs' spacing, the
// shortest of its locations', to the second; with no location that ran it
// twice, the defaults'.
func TestRetiredInterval(t *testing.T) {
	t0 := time.Date(2022, 10, 1, 0, 0, 0, 0, time.UTC)
	span := func(loc string, first, last time.Duration, runs int64) store.Span {
		return store.Span{Location: loc, First: t0.Add(first), Last: t0.Add(last), Runs: runs}
	}
	for _, tc := range []struct {
		name  string
		spans []store.Span
		def   time.Duration
		want  time.Duration
	}{
		{"every 30s", []store.Span{span("a", 0, 59*30*time.Second, 60)}, time.Minute, 30 * time.Second},
		{"with jitter", []store.Span{span("a", 0, 59*30*time.Second+700*time.Millisecond, 60)}, time.Minute, 30 * time.Second},
		{"a gap makes it longer; the other location's is kept", []store.Span{span("a", 0, 10*time.Hour, 61), span("b", 0, time.Hour, 61)}, time.Minute, time.Minute},
		{"one run", []store.Span{span("a", 0, 0, 1)}, 2 * time.Minute, 2 * time.Minute},
		{"no default", nil, 0, time.Minute},
	} {
		if got := retiredInterval(tc.spans, tc.def); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestRetiredWarningCapped: the warning of flows left out names at most
// maxStrayNamed of them, in order, and says how many more there are: a
// removed service of a thousand flows would print a thousand names.
func TestRetiredWarningCapped(t *testing.T) {
	r := &retired{stray: map[string][]string{}}
	for i := range 12 {
		r.stray[fmt.Sprintf("flow-%02d", i)] = []string{"payments"}
	}
	var got []string
	r.warn(Input{Warn: func(m string) { got = append(got, m) }})
	if len(got) != 1 || !strings.Contains(got[0], "flow-00 (service payments); flow-01") ||
		!strings.Contains(got[0], "flow-09 (service payments); and 2 more") || strings.Contains(got[0], "flow-10") {
		t.Errorf("warned %q", got)
	}
	got = nil
	(&retired{}).warn(Input{Warn: func(m string) { got = append(got, m) }})
	if len(got) != 0 {
		t.Errorf("warned %q with nothing left out", got)
	}
}

// countingStore counts the Runs calls (and RunsEach batches) made through it.
type countingStore struct {
	store.Store
	runs, batches int
}

func (c *countingStore) Runs(ctx context.Context, q store.Query) ([]probe.Run, error) {
	c.runs++
	return c.Store.Runs(ctx, q)
}

func (c *countingStore) RunsEach(ctx context.Context, qs []store.Query) ([][]probe.Run, error) {
	c.batches++
	return c.Store.(runsEach).RunsEach(ctx, qs)
}

// TestRetiredFlowsReadAtOnce: a report reads the last runs of its retired
// flows from SQLite and PostgreSQL in one batch (store RunsEach), not with
// one Runs call a flow: each call counted the whole series table and read
// every step name, so the cost grew as retired flows times flows (the
// benchmark at 4,000 flows x 1 day every 10 minutes, 400 retired: 466 ms
// without them, 960 ms with, findSeries's count of the series table a third
// of it). The report is the same either way.
func TestRetiredFlowsReadAtOnce(t *testing.T) {
	ctx := context.Background()
	const ivl = time.Minute
	var names []string
	for i := range 20 {
		names = append(names, fmt.Sprintf("f%02d", i))
	}
	all, kept := withFlows(ivl, names...), withFlows(ivl, names[:10]...)
	loc := all.Loc
	from, to := time.Date(2022, 10, 20, 0, 0, 0, 0, loc), time.Date(2022, 10, 20, 6, 0, 0, 0, loc)
	var runs []probe.Run
	for _, n := range names {
		runs = append(runs, flowSchedule(n, from, to, ivl, failing("fail:send", [2]int{60, 90}))...)
	}
	for _, st := range confirmStores() {
		if st.name == "mem" {
			continue // no RunsEach: a Runs call a flow, in memory
		}
		t.Run(st.name, func(t *testing.T) {
			s := st.open(t)
			load(t, s, all, runs)
			cs := &countingStore{Store: s}
			in := Input{Config: all, Store: cs, From: from, To: to, Functions: true}
			if _, err := Build(ctx, in); err != nil {
				t.Fatal(err)
			}
			base := cs.runs
			cs.runs = 0
			in.Config = kept
			got, err := Build(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			if cs.runs != base || cs.batches > 1 {
				t.Errorf("%d Runs calls and %d batches for 10 retired flows, want %d calls (as without them) and one batch", cs.runs, cs.batches, base)
			}
			retired := 0
			for _, f := range got.Services[0].Flows {
				if f.Retired {
					retired++
				}
			}
			if retired != 10 {
				t.Errorf("%d flows retired, want 10", retired)
			}
		})
	}
}
