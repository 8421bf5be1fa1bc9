package report

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/store"
)

// A retired flow is one with runs stored in the period that today's config
// no longer has (renamed or removed since), stored under a service the
// config still has. A report covers every flow measured in its period: a
// retired flow is accounted under its service like any other (its windows
// are the service's downtime, its runs cover the service's time) and listed
// with Flow.Retired. What the config would say of it is taken from the
// store: its steps and their functions from its last run in the period
// (from an hour rollup when the raw runs are pruned), its interval from its
// runs (retiredInterval), its down_after, up_after and confirm_every are
// the defaults' (the first two only name the policy in words; its windows
// are the stored ones, also under a recompute; confirm_every says where
// the data of a location stopped at its last run ends, dataEnd, as it did
// while the flow was configured with the defaults').
//
// A flow is its name: a flow today's config has under any service is not
// retired, and all its stored past counts under its service of today,
// whatever service its runs were stored under (a flow moved from service A
// to B takes its past with it, as before).
//
// A flow whose stored services are none of the config's is left out: there
// is no objective to judge it against. Input.Warn says so.

// retired is what analyze found of the flows today's config does not have.
type retired struct {
	cfg *config.Config // in.Config with each retired flow appended to its service
	// names are the retired flows; unordered those whose step order is not
	// known (no raw run kept: steps from a rollup, in the store's order).
	names, unordered map[string]bool
	// stray are the flows left out, each with its stored services.
	stray map[string][]string
}

// findRetired builds the config a report of cov is accounted with: in.Config
// with the retired flows of cov appended to their services.
func findRetired(ctx context.Context, in Input, cov []store.Span) (*retired, error) {
	cfg := in.Config
	out := &retired{cfg: cfg}
	known := map[string]bool{}
	for si := range cfg.Services {
		for fi := range cfg.Services[si].Flows {
			known[cfg.Services[si].Flows[fi].Name] = true
		}
	}
	// Each unknown flow's spans, and the latest span under a configured
	// service (its service in the report).
	spans := map[string][]store.Span{}
	latest := map[string]store.Span{}
	var order []string
	for _, c := range cov {
		if known[c.Flow] {
			continue
		}
		if _, ok := spans[c.Flow]; !ok {
			order = append(order, c.Flow)
		}
		spans[c.Flow] = append(spans[c.Flow], c)
		if cfg.Service(c.Service) == nil {
			continue
		}
		if l, ok := latest[c.Flow]; !ok || c.Last.After(l.Last) {
			latest[c.Flow] = c
		}
	}
	if len(order) == 0 {
		return out, nil
	}
	slices.Sort(order)
	var kept []string // the retired flows, with a service the config has
	for _, name := range order {
		if _, ok := latest[name]; ok {
			kept = append(kept, name)
			continue
		}
		var svcs []string
		for _, c := range spans[name] {
			svcs = append(svcs, c.Service)
		}
		slices.Sort(svcs)
		if out.stray == nil {
			out.stray = map[string][]string{}
		}
		out.stray[name] = slices.Compact(svcs)
	}
	last, err := lastRuns(ctx, in.Store, kept, latest)
	if err != nil {
		return nil, fmt.Errorf("report: the last runs of the flows no longer configured: %w", err)
	}
	ran, err := stepsRan(ctx, in, kept)
	if err != nil {
		return nil, fmt.Errorf("report: the steps of the flows no longer configured: %w", err)
	}
	byService := map[string][]config.Flow{}
	for i, name := range kept {
		l := latest[name]
		steps, ordered, err := retiredSteps(ctx, in.Store, l, last[i])
		if err != nil {
			return nil, fmt.Errorf("report: steps of flow %s (no longer configured): %w", name, err)
		}
		// The steps that ran in the period but not in its last run (a
		// session's login, which a run records only when it logs in) are
		// taken for its session's, as the config that had it would say: a
		// window they caused takes down every function of the flow, theirs
		// too, and the steps' latency lists them first, as a session's.
		var session *config.Session
		for _, st := range ran[name] {
			if !slices.ContainsFunc(steps, func(x config.Step) bool { return x.Name == st.Name }) {
				if session == nil {
					session = &config.Session{}
				}
				session.Steps = append(session.Steps, st)
			}
		}
		if out.names == nil {
			out.names, out.unordered = map[string]bool{}, map[string]bool{}
		}
		out.names[name] = true
		if !ordered {
			out.unordered[name] = true
		}
		ivl := retiredInterval(spans[name], cfg.Defaults.Interval)
		byService[l.Service] = append(byService[l.Service], config.Flow{
			Name: name, Service: l.Service, Interval: ivl,
			DownAfter: cfg.Defaults.DownAfter, UpAfter: cfg.Defaults.UpAfter, ConfirmEvery: cfg.Defaults.ConfirmEveryAt(ivl),
			Steps: steps, Session: session,
		})
	}
	if len(byService) == 0 {
		return out, nil
	}
	c := *cfg
	c.Services = slices.Clone(cfg.Services)
	for si := range c.Services {
		if fs := byService[c.Services[si].Name]; len(fs) > 0 {
			c.Services[si].Flows = append(slices.Clip(c.Services[si].Flows), fs...)
		}
	}
	out.cfg = &c
	return out, nil
}

// warn tells the user of the flows left out (findRetired), as one message.
func (r *retired) warn(in Input) {
	if in.Warn == nil || len(r.stray) == 0 {
		return
	}
	var names []string
	for n := range r.stray {
		names = append(names, n)
	}
	slices.Sort(names)
	var parts []string
	for _, n := range names[:min(len(names), maxStrayNamed)] {
		parts = append(parts, fmt.Sprintf("%s (service %s)", n, strings.Join(r.stray[n], ", ")))
	}
	if more := len(names) - maxStrayNamed; more > 0 {
		parts = append(parts, fmt.Sprintf("and %d more", more))
	}
	in.Warn(fmt.Sprintf("runs in the period of flows whose service the config no longer has are left out (no objective to judge them against): %s",
		strings.Join(parts, "; ")))
}

// maxStrayNamed caps the flows the warning names, so that a removed
// service of a thousand flows does not print a thousand names.
const maxStrayNamed = 10

// runsEach is a store that reads the runs of many queries at once
// (store.SQLite and store.Postgres): the series table and the step names
// once for all of them, not once a query.
type runsEach interface {
	RunsEach(ctx context.Context, qs []store.Query) ([][]probe.Run, error)
}

// lastQuery is the query of the run at span.Last.
func lastQuery(span store.Span) store.Query {
	return store.Query{From: span.Last, To: span.Last.Add(time.Nanosecond), Flows: []string{span.Flow}, Location: span.Location}
}

// lastRuns are the runs at latest[name].Last of each of names, at once
// where the store can: one Runs call a flow read the whole series table
// (its count) and every step name each, so a report of 4,000 flows with
// 400 retired took twice as long as without them.
func lastRuns(ctx context.Context, s store.Store, names []string, latest map[string]store.Span) ([][]probe.Run, error) {
	spans := make([]store.Span, len(names))
	for i, n := range names {
		spans[i] = latest[n]
	}
	return runsAt(ctx, s, spans)
}

// runsAt are the runs at each span's Last (its flow at its location), at
// once where the store can (see lastRuns).
func runsAt(ctx context.Context, s store.Store, spans []store.Span) ([][]probe.Run, error) {
	qs := make([]store.Query, len(spans))
	for i, sp := range spans {
		qs[i] = lastQuery(sp)
	}
	return store.RunsEach(ctx, s, qs)
}

// retiredSteps are the steps of a retired flow, with their functions, as its
// run at span.Last ran them (runs, lastRuns); when that run is no longer
// kept raw, those of the hour rollup that holds it, in the store's order
// (ordered false).
func retiredSteps(ctx context.Context, s store.Store, span store.Span, runs []probe.Run) ([]config.Step, bool, error) {
	q := lastQuery(span)
	for _, r := range runs {
		if len(r.Steps) == 0 {
			continue
		}
		steps := make([]config.Step, 0, len(r.Steps))
		for _, st := range r.Steps {
			steps = append(steps, config.Step{Name: st.Step, Function: st.Function})
		}
		return steps, true, nil
	}
	h := span.Last.UTC().Truncate(time.Hour)
	q.From, q.To = h, h.Add(time.Hour)
	rows, err := s.Rollups(ctx, store.Hour, q)
	if err != nil {
		return nil, false, err
	}
	var steps []config.Step
	for _, r := range rows {
		if r.Step != "" && !slices.ContainsFunc(steps, func(x config.Step) bool { return x.Name == r.Step }) {
			steps = append(steps, config.Step{Name: r.Step, Function: r.Function})
		}
	}
	return steps, false, nil
}

// stepsRan is each of flows' steps, with their functions, that ran in the
// period (store Totals: one read for all of them), in the store's order.
// A retired flow's last run does not show every step of it: one that
// reused its login session records no session step, so a window whose
// cause was the login (the session not renewed) took down no login
// function, and the login incident declared went without its downtime.
func stepsRan(ctx context.Context, in Input, flows []string) (map[string][]config.Step, error) {
	if len(flows) == 0 {
		return nil, nil
	}
	rows, err := in.Store.Totals(ctx, store.Query{From: in.From, To: in.To, Flows: flows})
	if err != nil {
		return nil, err
	}
	out := map[string][]config.Step{}
	for _, r := range rows {
		if r.Step == "" || slices.ContainsFunc(out[r.Flow], func(x config.Step) bool { return x.Name == r.Step }) {
			continue
		}
		out[r.Flow] = append(out[r.Flow], config.Step{Name: r.Step, Function: r.Function})
	}
	return out, nil
}

// retiredInterval is a retired flow's interval as its runs show it: at each
// location the time from its first to its last run in the period over the
// scheduled runs between them, the shortest of the locations', to the
// second. A stretch without runs in between makes it longer than it was,
// never shorter (which would make covered time unknown). def (or a minute)
// when no location ran it twice.
func retiredInterval(spans []store.Span, def time.Duration) time.Duration {
	var ivl time.Duration
	for _, c := range spans {
		if c.Runs < 2 || !c.Last.After(c.First) {
			continue
		}
		d := (c.Last.Sub(c.First) / time.Duration(c.Runs-1)).Round(time.Second)
		if d > 0 && (ivl == 0 || d < ivl) {
			ivl = d
		}
	}
	if ivl > 0 {
		return ivl
	}
	if def > 0 {
		return def
	}
	return time.Minute
}
