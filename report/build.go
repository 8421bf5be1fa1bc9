// Package report turns stored results into SLA reports: downtime windows
// after the location quorum, time-weighted availability, incidents, error
// budget, SLA credit, latency percentiles and reconciliation against the
// provider's declared incidents.
//
// Windows come from the stored state events (one row per window open or
// close), and counts and latencies from the hour rollups, so building a month
// does not read raw results; Input.Recompute replays raw runs through the same
// state machine the daemon uses instead.
//
// Renderers live in report/render and draw from Report (model.go).
package report

import (
	"context"
	"slices"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/state"
)

// Build builds the report for in.From..in.To.
func Build(ctx context.Context, in Input) (*Report, error) {
	a, err := analyze(ctx, in)
	if err != nil {
		return nil, err
	}
	cfg := a.cfg
	rep := &Report{
		Title:     title(in.From, in.To, a.loc),
		From:      in.From.In(a.loc),
		To:        in.To.In(a.loc),
		Timezone:  a.loc.String(),
		Location:  a.locations(),
		Generated: a.in.Now.In(a.loc),
		Policy:    policy(cfg),
		Services:  []Service{},
		Windows:   []Window{},
	}
	timelines := in.Timelines
	if timelines == nil {
		timelines = cfg.Timelines
	}
	counts, lats, err := a.readRollups(ctx)
	if err != nil {
		return nil, err
	}
	for si := range cfg.Services {
		svc := a.service(&cfg.Services[si], timelines, counts, lats[cfg.Services[si].Name])
		if in.Functions {
			svc.Functions = a.functionAccounts(&cfg.Services[si], &svc)
		}
		rep.Services = append(rep.Services, svc)
		rep.Windows = append(rep.Windows, svc.Windows...)
	}
	sortWindows(rep.Windows)
	return rep, nil
}

func title(from, to time.Time, loc *time.Location) string {
	f, t := from.In(loc), to.In(loc)
	if f.Day() == 1 && f.Hour() == 0 && f.Minute() == 0 && f.Second() == 0 && f.AddDate(0, 1, 0).Equal(t) {
		return "SLA report " + f.Format("2006-01")
	}
	return "SLA report " + f.Format(time.RFC3339) + " to " + t.Format(time.RFC3339)
}

func (a *analysis) locations() string {
	var ls []string
	for _, c := range a.cov {
		ls = append(ls, c.Location)
	}
	for _, f := range a.flows {
		ls = append(ls, f.locs...)
	}
	slices.Sort(ls)
	ls = slices.Compact(ls)
	if len(ls) == 0 {
		return a.cfg.Location
	}
	out := ls[0]
	for _, l := range ls[1:] {
		out += "," + l
	}
	return out
}

// tally is the time accounting of one flow or service over a range.
type tally struct {
	elapsed                        time.Duration
	down, degraded, unknown, maint set
}

// account splits [from, to) into maintenance, unknown, down and degraded, in
// that order of precedence.
func account(from, to time.Time, down, degraded, unknown, maint set) tally {
	t := tally{elapsed: to.Sub(from)}
	t.maint = maint.clip(from, to)
	t.unknown = unknown.clip(from, to).minus(t.maint)
	t.down = down.clip(from, to).minus(t.maint).minus(t.unknown)
	t.degraded = degraded.clip(from, to).minus(t.maint).minus(t.unknown).minus(t.down)
	return t
}

// eligible is the denominator; bad is what counts against it.
func (t tally) eligible(p config.Policy) time.Duration {
	e := t.elapsed - t.maint.total()
	if p.Unknown != "down" {
		e -= t.unknown.total()
	}
	return e
}

func (t tally) bad(p config.Policy) time.Duration {
	b := t.down.total()
	if p.Unknown == "down" {
		b += t.unknown.total()
	}
	if p.Degraded == "down" {
		b += t.degraded.total()
	}
	return b
}

// availability is up / eligible, and false when nothing was eligible.
func (t tally) availability(p config.Policy) (float64, bool) {
	e := t.eligible(p)
	if e <= 0 {
		return 0, false
	}
	return float64(e-t.bad(p)) / float64(e), true
}

func (a *analysis) maintenance(service string) set {
	var xs []iv
	for _, m := range a.cfg.Maintenance {
		if m.Service == "" || m.Service == "*" || m.Service == service {
			xs = append(xs, iv{m.Start, m.End})
		}
	}
	return union(xs)
}

func kindSet(ws []measured, k state.Kind) set {
	var xs []iv
	for _, w := range ws {
		if w.kind == k {
			xs = append(xs, w.iv)
		}
	}
	return union(xs)
}

func (a *analysis) service(cs *config.Service, timelines []*config.Timeline, counts map[string]*runTally, lat *latency) Service {
	pol := a.cfg.Policy
	from, end, to := a.in.From, a.end, a.in.To
	maint := a.maintenance(cs.Name)
	svc := Service{
		Name: cs.Name, Objective: cs.Objective, PeriodSeconds: to.Sub(from).Seconds(),
		Steps: []StepLatency{}, Flows: []Flow{}, Daily: []Day{}, Windows: []Window{},
		IncidentList: []Incident{}, Unknown: []Span{}, Maintenance: []Span{},
		Reconciliation: []Reconciliation{}, Undeclared: []Window{}, BelowQuorum: []Window{},
	}
	var flows []*flowData
	for _, f := range a.flows {
		if f.svc == cs {
			flows = append(flows, f)
		}
	}
	var downs, degs, unks []set
	var all []measured
	var ok, runs int64
	for _, f := range flows {
		down, deg := kindSet(f.windows, state.KindDown), kindSet(f.windows, state.KindDegraded)
		downs, degs, unks = append(downs, down), append(degs, deg), append(unks, f.unknown)
		all = append(all, f.windows...)
		for _, w := range f.windows {
			svc.Windows = append(svc.Windows, a.window(w))
		}
		for _, w := range f.below {
			svc.BelowQuorum = append(svc.BelowQuorum, a.window(w))
		}
		for _, u := range f.unknown {
			svc.Unknown = append(svc.Unknown, Span{Flow: f.flow.Name, Start: u.s.In(a.loc), End: u.e.In(a.loc),
				DurationSeconds: u.dur().Seconds(), Reason: "no run"})
		}
		t := account(from, end, down, deg, f.unknown, maint)
		fl := Flow{Name: f.flow.Name, DowntimeSeconds: t.down.total().Seconds(), UnknownSeconds: t.unknown.total().Seconds()}
		fl.Availability, _ = t.availability(pol)
		fok, fruns := counts[f.flow.Name].ok, counts[f.flow.Name].runs
		fl.Runs = fruns
		if fruns > 0 {
			fl.RunSuccessRatio = float64(fok) / float64(fruns)
		}
		ok, runs = ok+fok, runs+fruns
		svc.Flows = append(svc.Flows, fl)
	}
	sortWindows(svc.Windows)
	sortWindows(svc.BelowQuorum)

	// The service is down while any flow is down; unknown while a flow is
	// unknown and none is down.
	down := union(toIvs(downs)...)
	deg := union(toIvs(degs)...)
	unk := union(toIvs(unks)...).minus(down)
	t := account(from, end, down, deg, unk, maint)
	avail, measuredAny := t.availability(pol)
	elig := t.eligible(pol)
	svc.Availability = avail
	svc.Runs = runs
	if runs > 0 {
		svc.RunSuccessRatio = float64(ok) / float64(runs)
	}
	svc.DowntimeSeconds = t.down.total().Seconds()
	svc.DegradedSeconds = t.degraded.total().Seconds()
	svc.UnknownSeconds = t.unknown.total().Seconds()
	svc.MaintenanceSeconds = t.maint.total().Seconds()
	bad := t.bad(pol)
	svc.UptimeSeconds = (elig - bad).Seconds()
	if svc.UptimeSeconds < 0 {
		svc.UptimeSeconds = 0
	}
	for _, m := range maint.clip(from, to) {
		svc.Maintenance = append(svc.Maintenance, Span{Start: m.s.In(a.loc), End: m.e.In(a.loc), DurationSeconds: m.dur().Seconds(), Reason: a.maintReason(cs.Name, m)})
	}

	// Incidents: counted down stretches closer than the flap gap are one.
	var detect float64
	svc.IncidentList, detect = a.incidents(t.down, all, cs)
	svc.Incidents = len(svc.IncidentList)
	if n := len(svc.IncidentList); n > 0 {
		var sum float64
		for _, inc := range svc.IncidentList {
			sum += inc.DurationSeconds
			svc.LongestSeconds = max(svc.LongestSeconds, inc.DurationSeconds)
		}
		svc.MTTRSeconds = sum / float64(n)
		svc.AverageSeconds = svc.MTTRSeconds
		svc.MTTDSeconds = detect / float64(n)
		svc.MTBFSeconds = svc.UptimeSeconds / float64(n)
	}

	// Error budget over the whole period; unknown time only as far as it
	// has elapsed.
	full := account(from, to, nil, nil, t.unknown, maint)
	allowed := (1 - cs.Objective) * full.eligible(pol).Seconds()
	consumed := bad.Seconds()
	svc.ErrorBudget = Budget{AllowedSeconds: allowed, ConsumedSeconds: consumed, RemainingSeconds: allowed - consumed}
	if allowed > 0 {
		svc.ErrorBudget.RemainingRatio = (allowed - consumed) / allowed
		if share := float64(end.Sub(from)) / float64(to.Sub(from)); share > 0 {
			svc.ErrorBudget.BurnRate = consumed / allowed / share
		}
	}
	if measuredAny {
		svc.CreditPercent = credit(cs.Credits, avail)
	}

	// Latency.
	svc.Steps = lat.stepList(cs)
	svc.P50, svc.P95, svc.P99 = lat.service()

	// Daily availability in the report's zone.
	for d := dayStart(from, a.loc); d.Before(to); d = d.AddDate(0, 0, 1) {
		ds, de := maxT(d, from), minT(d.AddDate(0, 0, 1), to)
		day := Day{Date: d.Format("2006-01-02")}
		if de2 := minT(de, end); de2.After(ds) {
			dt := account(ds, de2, down, deg, unk, maint)
			if v, ok := dt.availability(pol); ok {
				day.Availability = &v
			}
		}
		svc.Daily = append(svc.Daily, day)
	}

	svc.Reconciliation, svc.Undeclared = a.reconcile(cs, svc.Windows, timelines)
	return svc
}

func toIvs(ss []set) [][]iv {
	out := make([][]iv, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func dayStart(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
}

func (a *analysis) maintReason(service string, m iv) string {
	for _, c := range a.cfg.Maintenance {
		if (c.Service == "" || c.Service == "*" || c.Service == service) && c.Start.Before(m.e) && c.End.After(m.s) {
			return c.Reason
		}
	}
	return ""
}

// credit is the first tier, from the top, whose Below the availability is under.
func credit(tiers []config.Credit, avail float64) float64 {
	for _, t := range tiers {
		if avail < t.Below {
			return t.CreditPercent
		}
	}
	return 0
}

// incidents merges counted down stretches closer than the flap gap. It also
// returns the sum over incidents of the time from the incident's start to
// the first confirmation of a window in it, in seconds.
func (a *analysis) incidents(down set, ws []measured, cs *config.Service) ([]Incident, float64) {
	gap := a.cfg.Policy.FlapGap
	out := []Incident{}
	var detect float64
	var groups [][]iv
	for _, d := range down {
		if n := len(groups); n > 0 && d.s.Sub(groups[n-1][len(groups[n-1])-1].e) < gap {
			groups[n-1] = append(groups[n-1], d)
			continue
		}
		groups = append(groups, []iv{d})
	}
	for _, g := range groups {
		span := iv{g[0].s, g[len(g)-1].e}
		inc := Incident{Start: span.s.In(a.loc), DurationSeconds: span.dur().Seconds(), Parts: len(g), Functions: []string{}}
		open := false
		var conf time.Time
		for _, w := range ws {
			if w.kind != state.KindDown || !w.s.Before(span.e) || !w.e.After(span.s) {
				continue
			}
			if conf.IsZero() || w.confirmed.Before(conf) {
				conf = w.confirmed
			}
			inc.Functions = append(inc.Functions, a.functions(cs, w)...)
			if w.open && w.e.Equal(span.e) {
				open = true
			}
		}
		slices.Sort(inc.Functions)
		inc.Functions = slices.Compact(inc.Functions)
		if !open {
			e := span.e.In(a.loc)
			inc.End = &e
		}
		if d := conf.Sub(span.s); !conf.IsZero() && d > 0 {
			detect += d.Seconds()
		}
		out = append(out, inc)
	}
	return out, detect
}

// functions is what a window took down: its function, or for a whole-flow
// window the failing step's function and those of the steps after it
// (blocked); every function of the flow when the cause is unknown.
func (a *analysis) functions(cs *config.Service, w measured) []string {
	if w.Function != "" {
		return []string{w.Function}
	}
	for i := range cs.Flows {
		f := &cs.Flows[i]
		if f.Name != w.Flow {
			continue
		}
		var out []string
		hit := w.cause == ""
		for _, s := range f.Steps {
			if s.Name == w.cause {
				hit = true
			}
			if hit {
				out = append(out, s.Function)
			}
		}
		if len(out) == 0 {
			out = f.Functions()
		}
		return out
	}
	return nil
}

func (a *analysis) flowInterval(cs *config.Service, flow string) time.Duration {
	for i := range cs.Flows {
		if cs.Flows[i].Name == flow && cs.Flows[i].Interval > 0 {
			return cs.Flows[i].Interval
		}
	}
	if a.cfg.Defaults.Interval > 0 {
		return a.cfg.Defaults.Interval
	}
	return time.Minute
}
