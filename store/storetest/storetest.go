// Package storetest fills a store.Store with realistic synthetic results, fast,
// for benchmarks and tests of the packages that read stores (the report
// builder's month over 100 flows, for one).
package storetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/state"
	"github.com/slaprobe/slaprobe/store"
)

// Gen describes the data to generate. Zero fields take the defaults in the
// comments.
type Gen struct {
	Flows    int           // 100
	Steps    int           // steps per flow (3)
	Days     int           // 30
	Span     time.Duration // if set, the stretch the runs cover instead of Days
	Interval time.Duration // between a flow's runs (1m)
	Start    time.Time     // first run (2026-01-01T00:00:00Z)
	Location string        // "seoul-a"
	Service  string        // if set, every flow's service (ServiceName(i) otherwise)
	// FailEvery makes every FailEvery-th run of a flow fail at a random step
	// (isolated failures that open no window); 0 means 1000, -1 none.
	FailEvery int
	// Outages is how many outages to place (3); each takes down one step of
	// a quarter of the flows for OutageLength, so they become windows.
	Outages      int
	OutageLength time.Duration // 45m
	Seed         uint64        // for the pseudo-random latencies (1)
	Batch        int           // runs per AppendRuns transaction (5000)
	// Progress, if set, is called after each batch with runs written so far
	// and the total.
	Progress func(done, total int)
}

func (g Gen) withDefaults() Gen {
	if g.Flows <= 0 {
		g.Flows = 100
	}
	if g.Steps <= 0 {
		g.Steps = 3
	}
	if g.Days <= 0 {
		g.Days = 30
	}
	if g.Interval <= 0 {
		g.Interval = time.Minute
	}
	if g.Start.IsZero() {
		g.Start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if g.Location == "" {
		g.Location = "seoul-a"
	}
	if g.FailEvery == 0 {
		g.FailEvery = 1000
	}
	if g.Outages == 0 {
		g.Outages = 3
	}
	if g.OutageLength <= 0 {
		g.OutageLength = 45 * time.Minute
	}
	if g.Seed == 0 {
		g.Seed = 1
	}
	if g.Batch <= 0 {
		g.Batch = 5000
	}
	return g
}

// Names used by Generate: flow i is FlowName(i), of service ServiceName(i),
// and its step j is StepName(j) serving function StepName(j).
func FlowName(i int) string    { return fmt.Sprintf("flow-%03d", i) }
func ServiceName(i int) string { return fmt.Sprintf("service-%02d", i/10) }
func StepName(j int) string {
	names := []string{"login", "send", "receive", "media", "search", "route"}
	if j < len(names) {
		return names[j]
	}
	return fmt.Sprintf("step-%d", j)
}

// service is flow i's service.
func (g Gen) service(i int) string {
	if g.Service != "" {
		return g.Service
	}
	return ServiceName(i)
}

type outage struct {
	start, end time.Time
	step       int
	flows      int // flows with i%4 == flows are affected
}

// Generate writes g's runs into s, time-major (every flow's run at one tick,
// then the next tick) in transactions of g.Batch runs, and the state events
// the state machine derives from them (the outages' windows), as the daemon
// would have stored them.
func Generate(ctx context.Context, s store.Store, g Gen) error {
	g = g.withDefaults()
	if g.Flows > 100000 || g.Steps > 100 {
		return errors.New("storetest: at most 100000 flows of 100 steps")
	}
	rng := rand.New(rand.NewPCG(g.Seed, g.Seed^0x9e3779b97f4a7c15))
	span := time.Duration(g.Days) * 24 * time.Hour
	if g.Span > 0 {
		span = g.Span
	}
	ticks := int(span / g.Interval)
	total := ticks * g.Flows
	var outs []outage
	for k := 0; k < g.Outages; k++ {
		at := g.Start.Add(time.Duration(float64(ticks) * (float64(k) + 0.5) / float64(g.Outages) * float64(g.Interval))).Truncate(g.Interval)
		outs = append(outs, outage{start: at.Add(g.Interval / 3), end: at.Add(g.OutageLength), step: (k + 1) % g.Steps, flows: k % 4})
	}
	fns := make([]string, g.Steps)
	for j := range fns {
		fns[j] = StepName(j)
	}
	machines := make([]*state.Machine, g.Flows)
	base := make([]time.Duration, g.Flows)
	for i := range machines {
		machines[i] = state.New(g.service(i), FlowName(i), g.Location, fns, state.Policy{Interval: g.Interval})
		base[i] = time.Duration(20+rng.IntN(120)) * time.Millisecond
	}
	batch := make([]probe.Run, 0, g.Batch)
	var events []state.Event
	flush := func(done int) error {
		if err := s.AppendRuns(ctx, batch); err != nil {
			return err
		}
		if len(events) > 0 {
			if err := s.AppendEvents(ctx, events); err != nil {
				return err
			}
		}
		batch, events = batch[:0], events[:0]
		if g.Progress != nil {
			g.Progress(done, total)
		}
		return nil
	}
	for tick := 0; tick < ticks; tick++ {
		for i := 0; i < g.Flows; i++ {
			// spread the flows over the interval, as the scheduler does
			start := g.Start.Add(time.Duration(tick)*g.Interval + time.Duration(i)*g.Interval/time.Duration(g.Flows))
			failAt := -1
			if g.FailEvery > 0 && rng.IntN(g.FailEvery) == 0 {
				failAt = rng.IntN(g.Steps)
			}
			for _, o := range outs {
				if i%4 == o.flows && !start.Before(o.start) && start.Before(o.end) {
					failAt = o.step
				}
			}
			run := probe.Run{ID: fmt.Sprintf("%s-%d", FlowName(i), start.Unix()), Flow: FlowName(i), Service: g.service(i),
				Location: g.Location, Start: start, Steps: make([]probe.StepResult, g.Steps)}
			for j := range run.Steps {
				st := &run.Steps[j]
				st.Step, st.Function = fns[j], fns[j]
				switch {
				case failAt >= 0 && j > failAt:
					st.Status = probe.StatusNotRun
					continue
				case failAt == j:
					st.Status, st.HTTPStatus, st.Error, st.Attempts = probe.StatusFailed, 503, "status 503, want 200", 1
					st.Duration = base[i] + time.Duration(rng.IntN(50))*time.Millisecond
				default:
					st.Status, st.HTTPStatus, st.Attempts = probe.StatusOK, 200, 1
					// log-normal-ish latency around the flow's base
					st.Duration = time.Duration(float64(base[i]) * math.Exp(rng.NormFloat64()*0.35))
				}
				st.Phases = probe.Phases{Resolve: 200 * time.Microsecond, Connect: 600 * time.Microsecond, TLS: 1500 * time.Microsecond,
					Processing: st.Duration * 8 / 10, Transfer: st.Duration / 10}
				run.Duration += st.Duration
			}
			events = append(events, machines[i].Observe(&run)...)
			batch = append(batch, run)
			if len(batch) == g.Batch {
				if err := flush(tick*g.Flows + i + 1); err != nil {
					return err
				}
			}
		}
	}
	if len(batch) > 0 || len(events) > 0 {
		return flush(total)
	}
	return nil
}
