package report

import (
	"context"
	"fmt"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/store"
)

// runTally counts runs of one flow: the passing and all scheduled runs, and
// the confirm runs apart; steps, when the step rows were read (not under
// Input.NoLatency), the scheduled runs that listed each step (ran or
// blocked), by flow and step name, summed over the locations: one map that
// every flow's tally shares (one a flow was 500 allocations more of a
// monthly report of 100 flows).
type runTally struct {
	ok, runs, confirm int64
	steps             map[[2]string]int64
}

// functionRuns is, for each function of f in order, how many of its
// scheduled runs exercised it (one of its steps ran or was blocked: a run
// lists every step it reached or that an earlier failure blocked, once,
// and a run that reused the session none of the session's steps): the most
// any of its counted steps was listed. It is computed from the step rollups
// (store.Rollup.Runs of each step), which are kept after the raw results
// are pruned. Nil when the step rows were not read, and when every function
// was exercised by every run of a flow without a session (report.json then
// leaves the key out, as before it was added).
func (t *runTally) functionRuns(f *config.Flow) []FunctionRuns {
	if t.steps == nil {
		return nil
	}
	steps := f.CountedSteps()
	runs := func(fn string) int64 {
		var n int64
		for _, s := range steps {
			if s.Function == fn {
				n = max(n, t.steps[[2]string{f.Name, s.Name}])
			}
		}
		return n
	}
	// Nothing allocated for a flow without a session whose functions were
	// all exercised by every run (most flows, every report).
	differs := false
	for _, s := range steps {
		if runs(s.Function) != t.runs {
			differs = true
			break
		}
	}
	if f.Session == nil && !differs {
		return nil
	}
	var out []FunctionRuns
	for _, fn := range f.Functions() {
		out = append(out, FunctionRuns{Function: fn, Runs: runs(fn)})
	}
	return out
}

// readRollups reads, through store.Totals, the results of every configured
// flow over the elapsed period summed per flow, location and step (the store
// decides which rollups or raw runs cover which part of it), and returns per
// flow its passing and total scheduled runs and its confirm runs, and per
// service its step latencies (the store leaves confirm runs out of the
// counts and histograms: store.Rollup.Confirm). With Input.NoLatency it
// asks for run counts alone, and the latencies stay empty.
func (a *analysis) readRollups(ctx context.Context) (map[string]*runTally, map[string]*latency, error) {
	counts := map[string]*runTally{}
	var steps map[[2]string]int64
	if !a.in.NoLatency {
		steps = map[[2]string]int64{}
	}
	lats := map[string]*latency{}
	svcOf := map[string]string{}
	var flows []string
	for si := range a.cfg.Services {
		cs := &a.cfg.Services[si]
		lats[cs.Name] = newLatency()
		for fi := range cs.Flows {
			svcOf[cs.Flows[fi].Name] = cs.Name
			flows = append(flows, cs.Flows[fi].Name)
			counts[cs.Flows[fi].Name] = &runTally{steps: steps}
		}
	}
	from, end := a.in.From, a.end
	if !end.After(from) || len(flows) == 0 {
		return counts, lats, nil
	}
	rows, err := a.in.Store.Totals(ctx, store.Query{From: from, To: end, Flows: flows, RunsOnly: a.in.NoLatency})
	if err != nil {
		return nil, nil, fmt.Errorf("report: rollups: %w", err)
	}
	for i := range rows {
		r := &rows[i]
		c := counts[r.Flow]
		if c == nil {
			continue
		}
		if r.Step == "" {
			c.ok += r.OK + r.Degraded
			c.runs += r.Runs()
			c.confirm += r.Confirm
			continue
		}
		if !a.in.NoLatency {
			steps[[2]string{r.Flow, r.Step}] += r.Runs()
			lats[svcOf[r.Flow]].add(r.Flow, r.Step, r.Hist)
		}
	}
	return counts, lats, nil
}

// latency merges rollup histograms per flow step and per service.
type latency struct {
	bounds []time.Duration
	steps  map[[2]string][]int64
	all    []int64
}

func newLatency() *latency {
	b := store.LatencyBounds()
	return &latency{bounds: b, steps: map[[2]string][]int64{}, all: make([]int64, len(b)+1)}
}

// add adds a step's histogram. A step's own is only as long as the longest
// histogram added (Totals' stop at their last used slot): at 50,000 flows,
// full ones were 40 MB of a status page rebuild.
func (l *latency) add(flow, step string, hist []int64) {
	k := [2]string{flow, step}
	h, seen := l.steps[k]
	if n := min(len(hist), len(l.all)); n > len(h) {
		h = append(h, make([]int64, n-len(h))...)
		l.steps[k] = h
	} else if !seen {
		l.steps[k] = h
	}
	for i, c := range hist {
		i = min(i, len(l.all)-1) // a longer histogram: fold into the overflow bucket
		h[i] += c
		l.all[i] += c
	}
}

// quantiles are h's p50, p95 and p99 in seconds, nil when h counts nothing
// (a percentile of no sample is no figure, not 0 s).
func (l *latency) quantiles(h []int64) (p50, p95, p99 *float64) {
	var n int64
	for _, c := range h {
		n += c
	}
	if n == 0 {
		return nil, nil, nil
	}
	q := func(p float64) *float64 {
		v := store.Quantile(h, l.bounds, p).Seconds()
		return &v
	}
	return q(0.50), q(0.95), q(0.99)
}

// steps lists every counted step of the service's flows (a session's
// steps, the steps, the teardown steps that count), in config order.
func (l *latency) stepList(cs *config.Service) []StepLatency {
	out := []StepLatency{}
	for _, f := range cs.Flows {
		for _, s := range f.CountedSteps() {
			sl := StepLatency{Flow: f.Name, Step: s.Name, Function: s.Function}
			if h, ok := l.steps[[2]string{f.Name, s.Name}]; ok {
				for _, c := range h {
					sl.Count += c
				}
				sl.P50, sl.P95, sl.P99 = l.quantiles(h)
			}
			out = append(out, sl)
		}
	}
	return out
}

func (l *latency) service() (p50, p95, p99 *float64) { return l.quantiles(l.all) }
