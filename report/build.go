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
	"strings"
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
		Title:       title(in.From, in.To, a.loc),
		From:        in.From.In(a.loc),
		To:          in.To.In(a.loc),
		Timezone:    a.loc.String(),
		Location:    a.locations(),
		Silent:      a.silent(),
		Generated:   a.in.Now.In(a.loc),
		Provisional: a.in.Now.Before(in.To),
		Policy:      policy(in.Config), // the configured flows' thresholds
		Services:    []Service{},
		Windows:     []Window{},
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
	if mf, mt, err := MonthRange(f.Format("2006-01"), loc); err == nil && mf.Equal(from) && mt.Equal(to) {
		return "SLA report " + f.Format("2006-01")
	}
	return "SLA report " + f.Format(time.RFC3339) + " to " + t.Format(time.RFC3339)
}

// silent is Report.Silent: the locations whose every flow in the config
// that ran there in the period is unknown there up to the end of the
// elapsed period, each with the latest time its flows' data ends (where
// that unknown stretch starts: when their next runs were due, flowData.ends,
// or where the state machine stored it when the location ran again). That
// is the unknown time the report counts, judged as it is: at the wall clock
// for a range that is over (a prober stopped in the last two intervals
// before --to never ran again within two intervals: unknown, and silent),
// so a location is silent in a report exactly when its figures count the
// time after its last run as unknown. Before, silence was judged at the
// period's end whatever the report's now, and that prober, whose last 60 s
// the report of a past range counted as unknown, was not listed.
func (a *analysis) silent() map[string]time.Time {
	byName := make(map[string]*flowData, len(a.flows))
	for _, fd := range a.flows {
		byName[fd.flow.Name] = fd
	}
	out := map[string]time.Time{}
	active := map[string]bool{}
	for _, c := range a.cov {
		fd, ok := byName[c.Flow]
		if !ok || a.retired[c.Flow] {
			continue // a flow the config no longer has: stopped by the config, not silent
		}
		since := fd.silentSince[c.Location]
		if since.IsZero() {
			active[c.Location] = true
			continue
		}
		if since.After(out[c.Location]) {
			out[c.Location] = since
		}
	}
	for l := range active {
		delete(out, l)
	}
	if len(out) == 0 {
		return nil
	}
	return out
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
		if m.Covers(service) {
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
		Steps: []StepLatency{}, Daily: []Day{}, Windows: []Window{},
		IncidentList: []Incident{}, Unknown: []Span{}, Maintenance: []Span{},
		Reconciliation: []Reconciliation{}, Undeclared: []Window{}, BelowQuorum: []Window{},
	}
	flows := a.byService[cs]
	svc.Flows = make([]Flow, 0, len(flows))
	downs, degs := make([][]iv, 0, len(flows)), make([][]iv, 0, len(flows))
	// The service is unknown only where none of its flows has data: a flow
	// without data does not hide what another flow measured.
	unk := set{{from, end}}.clip(from, end)
	var all []measured
	var ok, runs, confirm int64
	for _, f := range flows {
		down, deg := kindSet(f.windows, state.KindDown), kindSet(f.windows, state.KindDegraded)
		downs, degs = append(downs, down), append(degs, deg)
		unk = unk.intersect(f.unknown)
		all = append(all, f.windows...)
		for _, w := range f.windows {
			svc.Windows = append(svc.Windows, a.window(w))
		}
		for _, w := range f.below {
			svc.BelowQuorum = append(svc.BelowQuorum, a.window(w))
		}
		for _, u := range f.unknown {
			// Time before the store's horizon is unknown because it is no
			// longer kept, not because no run covered it.
			old, rest := set{u}.clip(u.s, minT(u.e, a.pruned)), set{u}.clip(maxT(u.s, a.pruned), u.e)
			for _, p := range []struct {
				s      set
				reason string
			}{{old, ReasonPruned}, {rest, ReasonNoRun}} {
				for _, x := range p.s {
					svc.Unknown = append(svc.Unknown, Span{Flow: f.flow.Name, Start: x.s.In(a.loc), End: x.e.In(a.loc),
						DurationSeconds: x.dur().Seconds(), Reason: p.reason,
						Settling: x.e.Before(end) && !f.settlingFrom.IsZero() && !f.settlingFrom.After(x.e)})
				}
			}
		}
		t := account(from, end, down, deg, f.unknown, maint)
		fl := Flow{Name: f.flow.Name, Retired: a.retired[f.flow.Name], DowntimeSeconds: t.down.total().Seconds(), DegradedSeconds: t.degraded.total().Seconds(), UnknownSeconds: t.unknown.total().Seconds()}
		fl.Availability, fl.NoData, fl.MaintenanceOnly = t.figures(pol)
		fc := counts[f.flow.Name]
		fl.Runs, fl.ConfirmRuns = fc.runs, fc.confirm
		fl.RunSuccessRatio = ratio(fc.ok, fc.runs)
		fl.FunctionRuns = fc.functionRuns(f.flow)
		ok, runs, confirm = ok+fc.ok, runs+fc.runs, confirm+fc.confirm
		svc.Flows = append(svc.Flows, fl)
	}
	sortWindows(svc.Windows)
	sortWindows(svc.BelowQuorum)

	// The service is down while any flow is down, degraded while any is
	// degraded and none down.
	down := union(downs...)
	deg := union(degs...)
	t := account(from, end, down, deg, unk, maint)
	svc.Availability, svc.NoData, svc.MaintenanceOnly = t.figures(pol)
	elig := t.eligible(pol)
	svc.Runs, svc.ConfirmRuns = runs, confirm
	svc.RunSuccessRatio = ratio(ok, runs)
	svc.DowntimeSeconds = t.down.total().Seconds()
	svc.DegradedSeconds = t.degraded.total().Seconds()
	svc.UnknownSeconds = t.unknown.total().Seconds()
	svc.MaintenanceSeconds = t.maint.total().Seconds()
	bad := t.bad(pol)
	svc.UptimeSeconds = (elig - bad).Seconds()
	if svc.UptimeSeconds < 0 {
		svc.UptimeSeconds = 0
	}
	svc.Maintenance = a.maintSpans(cs.Name, maint.clip(from, to))

	// Incidents: what counts as down (degraded too when the policy says so),
	// stretches closer than the flap gap merged.
	outage := t.down
	if pol.Degraded == "down" {
		outage = union(t.down, t.degraded)
	}
	svc.IncidentList, svc.MTTDSeconds = a.incidents(outage, t.maint, all, cs)
	svc.Incidents = len(svc.IncidentList)
	if n := len(svc.IncidentList); n > 0 {
		// MTTR is over the incidents seen to recover: begun and ended in
		// the period, each edge measured. One still going on, cut by the
		// period or next to time without data is only part of an outage:
		// it counts in the incidents and the average outage, not in MTTR.
		// So is one begun or ended inside maintenance: the edge is the
		// maintenance's (down 03:30-04:30 through a 02:00-04:00 upgrade
		// counts 04:00-04:30, but 30 minutes is not how long it took to
		// recover).
		//
		// MTBF is the up time over the failures that began in the period:
		// each such start ends a stretch of up time, the stretch after the
		// last recovery is up time not yet ended by one. An incident still
		// going on at the end began in the period and counts; one cut by
		// the period's start began before it, after up time outside it,
		// and does not (a month opening on the tail of last month's outage
		// has not failed twice for its one new failure).
		var sum, longest, rsum float64
		var recovered, begun int
		for _, inc := range svc.IncidentList {
			sum += inc.DurationSeconds
			longest = max(longest, inc.DurationSeconds)
			if inc.End != nil && inc.StartCut == "" && inc.EndCut == "" && !inc.StartMaintenance && !inc.EndMaintenance {
				rsum += inc.DurationSeconds
				recovered++
			}
			if inc.StartCut != CutPeriod {
				begun++
			}
		}
		avg := sum / float64(n)
		svc.AverageSeconds, svc.LongestSeconds = &avg, &longest
		if recovered > 0 {
			mttr := rsum / float64(recovered)
			svc.MTTRSeconds = &mttr
		}
		if begun > 0 {
			mtbf := svc.UptimeSeconds / float64(begun)
			svc.MTBFSeconds = &mtbf
		}
	}

	// Error budget over the whole period; unknown time only as far as it
	// has elapsed.
	full := account(from, to, nil, nil, t.unknown, maint)
	allowed := (1 - cs.Objective) * full.eligible(pol).Seconds()
	consumed := bad.Seconds()
	remaining := allowed - consumed
	if fe := full.eligible(pol); remaining < 0 && fe > 0 && float64(fe-bad)/float64(fe) >= cs.Objective {
		// Spent to the second, the rest of the period up meets the
		// objective exactly, as availability reckons it (up / eligible
		// >= objective): 1-0.9 is 0.09999999999999998 in floating point,
		// and 6m down of an hour at 90% read "overspent by 0s" and
		// "missed" where the hour's figure reads 90.0% and met.
		remaining = 0
	}
	svc.ErrorBudget = Budget{AllowedSeconds: allowed, ConsumedSeconds: consumed, RemainingSeconds: remaining}
	if allowed > 0 {
		rem := remaining / allowed
		svc.ErrorBudget.RemainingRatio = &rem
		if share := float64(end.Sub(from)) / float64(to.Sub(from)); share > 0 {
			burn := consumed / allowed / share
			svc.ErrorBudget.BurnRate = &burn
		}
	}
	// Coverage: the share of the elapsed time, less maintenance, that runs
	// covered. Below policy.min_coverage the credit is withheld: one
	// outage in a day measured of a 30-day month would otherwise be taken
	// for the month's availability and its credit.
	withheld := false
	if pol.MinCoverage > 0 {
		if sched := t.elapsed - t.maint.total(); sched > 0 {
			c := float64(sched-t.unknown.total()) / float64(sched)
			svc.Coverage = &c
			withheld = c < pol.MinCoverage
		} else {
			withheld = true
		}
	}
	switch {
	case svc.Availability != nil && withheld:
		svc.CreditWithheld = CreditBelowCoverage
	case svc.Availability != nil:
		c := credit(cs.Credits, *svc.Availability)
		svc.CreditPercent = &c
	}
	svc.CreditTiers = make([]CreditTier, 0, len(cs.Credits))
	for _, c := range cs.Credits {
		svc.CreditTiers = append(svc.CreditTiers, CreditTier{Below: c.Below, CreditPercent: c.CreditPercent})
	}

	// Latency.
	svc.Steps = lat.stepList(cs)
	svc.P50, svc.P95, svc.P99 = lat.service()

	// Daily figures: every local date of the period once, from the first
	// instant of that date, weighted by its real length.
	a.eachDay(down, deg, unk, maint, func(date string, seconds float64, dt *tally) {
		day := Day{Date: date, Seconds: seconds}
		if dt != nil {
			day.Availability, _, day.MaintenanceOnly = dt.figures(pol)
			day.DowntimeSeconds = dt.down.total().Seconds()
			day.UnknownSeconds = dt.unknown.total().Seconds()
			day.MaintenanceSeconds = dt.maint.total().Seconds()
		}
		svc.Daily = append(svc.Daily, day)
	})

	svc.Reconciliation, svc.Undeclared = a.reconcile(cs, svc.Windows, svc.BelowQuorum, timelines)
	return svc
}

// eachDay calls f for every local date of the period, in order, from the
// first instant of that date: its date (YYYY-MM-DD), its length inside the
// period in seconds, and the accounting of its elapsed part (nil when none
// of it has elapsed).
func (a *analysis) eachDay(down, degraded, unknown, maint set, f func(date string, seconds float64, t *tally)) {
	from, end, to := a.in.From, a.end, a.in.To
	for d := dayStart(from, a.loc); d.Before(to); d = nextDay(d, a.loc) {
		ds, de := maxT(d, from), minT(nextDay(d, a.loc), to)
		var dt *tally
		if de2 := minT(de, end); de2.After(ds) {
			x := account(ds, de2, down, degraded, unknown, maint)
			dt = &x
		}
		f(d.In(a.loc).Format(time.DateOnly), de.Sub(ds).Seconds(), dt)
	}
}

// figures is the availability (nil when nothing was eligible), whether
// nothing was measured outside planned maintenance (no data), and whether
// all of the elapsed time was planned maintenance (maintOnly, never with
// no data): such time is excluded from the SLA, not missing, so it reads
// "planned maintenance", not "no data", whether or not runs were stored in
// it.
func (t tally) figures(p config.Policy) (avail *float64, noData, maintOnly bool) {
	maintOnly = t.maint.total() > 0 && t.elapsed-t.maint.total() <= 0
	noData = !maintOnly && t.elapsed-t.maint.total()-t.unknown.total() <= 0
	if v, ok := t.availability(p); ok {
		avail = &v
	}
	return avail, noData, maintOnly
}

func ratio(n, of int64) *float64 {
	if of <= 0 {
		return nil
	}
	r := float64(n) / float64(of)
	return &r
}

// maintSpans lists the maintenance stretches of a service in the period,
// each with the reasons of every configured window that makes it up.
func (a *analysis) maintSpans(service string, ms set) []Span {
	out := []Span{}
	for _, m := range ms {
		var reasons []string
		for _, c := range a.cfg.Maintenance {
			if c.Covers(service) && c.Start.Before(m.e) && c.End.After(m.s) &&
				c.Reason != "" && !slices.Contains(reasons, c.Reason) {
				reasons = append(reasons, c.Reason)
			}
		}
		out = append(out, Span{Start: m.s.In(a.loc), End: m.e.In(a.loc), DurationSeconds: m.dur().Seconds(), Reason: strings.Join(reasons, "; ")})
	}
	return out
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

// incidents merges the stretches counted as down that are closer than the
// flap gap; maintenance between two stretches does not count toward the gap
// (planned work inside an outage does not split it) nor toward an incident's
// duration.
//
// It also returns the mean time to detect: from an incident's start to when
// the first confirmation of a window that starts it was known (the end of
// its confirming run, measured.known; its start where that is not stored),
// over the incidents whose start was seen (not cut by the period, by missing
// data or by maintenance); nil when there is none.
func (a *analysis) incidents(down, maint set, ws []measured, cs *config.Service) ([]Incident, *float64) {
	gap := a.cfg.Policy.FlapGap
	countDeg := a.cfg.Policy.Degraded == "down"
	out := []Incident{}
	var groups [][]iv
	for _, d := range down {
		if n := len(groups); n > 0 {
			prev := groups[n-1][len(groups[n-1])-1]
			if g := (set{{prev.e, d.s}}).minus(maint).total(); g == 0 || g < gap {
				groups[n-1] = append(groups[n-1], d)
				continue
			}
		}
		groups = append(groups, []iv{d})
	}
	var detect float64
	var detected int
	for _, g := range groups {
		span := iv{g[0].s, g[len(g)-1].e}
		inc := Incident{Start: span.s.In(a.loc), DurationSeconds: set{span}.minus(maint).total().Seconds(), Parts: len(g), Functions: []string{}}
		open := false
		var conf time.Time
		startSeen := false
		// Whether a window gives the incident's start (end) only where
		// maintenance cut it.
		var startMaint, endMaint bool
		for _, w := range ws {
			if (w.kind != state.KindDown && !(countDeg && w.kind == state.KindDegraded)) || !w.s.Before(span.e) || !w.e.After(span.s) {
				continue
			}
			inc.Functions = append(inc.Functions, a.functions(cs, w)...)
			// The window's edges as the incident's are counted: without
			// the maintenance at either end, so that a window that ran
			// on through maintenance to the period's edge gives the
			// incident its cut there.
			es, ee := w.s, w.e
			if own := (set{w.iv}).minus(maint); len(own) > 0 {
				es, ee = own[0].s, own[len(own)-1].e
			}
			if es.Equal(span.s) {
				startMaint = startMaint || !es.Equal(w.s)
				if w.startCut != "" {
					inc.StartCut = w.startCut
				} else if k := maxT(w.known, w.confirmed); es.Equal(w.s) && (conf.IsZero() || k.Before(conf)) { // a start inside maintenance was not seen
					startSeen, conf = true, k
				}
			}
			if ee.Equal(span.e) {
				endMaint = endMaint || !ee.Equal(w.e)
				if w.open {
					open = true
				}
				if w.endCut != "" {
					inc.EndCut = w.endCut
				}
			}
		}
		// One window run on into (out of) the maintenance there is
		// enough: the service was down when it ended (began), whatever
		// window of another flow begins (ends) at that same instant
		// (chat down 10:30-11:00 through a 10:25-10:45 maintenance,
		// inbox down from 10:45:00: the outage did not begin at 10:45).
		inc.StartMaintenance, inc.EndMaintenance = startMaint, endMaint
		slices.Sort(inc.Functions)
		inc.Functions = slices.Compact(inc.Functions)
		if !open && inc.EndCut != CutPeriod {
			e := span.e.In(a.loc)
			inc.End = &e
		}
		if d := conf.Sub(span.s); startSeen && inc.StartCut == "" && !inc.StartMaintenance && d >= 0 {
			detect += d.Seconds()
			detected++
		}
		out = append(out, inc)
	}
	if detected == 0 {
		return out, nil
	}
	mttd := detect / float64(detected)
	return out, &mttd
}

// functions is what a window took down: its function, or for a whole-flow
// window the failing step's function and those of the steps after it
// (blocked), its session's steps first (a failing login kept across runs
// blocks the flow's steps); a counted teardown step's function alone (it
// runs after a failed step too, so it blocks nothing); every function of
// the flow when the cause is unknown.
func (a *analysis) functions(cs *config.Service, w measured) []string {
	if w.Function != "" {
		return []string{w.Function}
	}
	if w.kind == state.KindDegraded { // a slow step blocks nothing
		if fn := a.stepFunction(cs, w.Flow, w.cause); fn != "" {
			return []string{fn}
		}
	}
	for i := range cs.Flows {
		f := &cs.Flows[i]
		if f.Name != w.Flow {
			continue
		}
		var out []string
		// A retired flow whose step order is not known (retired.go): the
		// steps after the cause are not known either, so every function.
		hit := w.cause == "" || a.unordered[f.Name]
		steps := f.Steps
		// A retired flow's session is the steps its last run did not
		// list, in no known order (retired.go): a window they caused
		// takes down every function of the flow, theirs too.
		if f.Session != nil && !a.retired[f.Name] {
			steps = slices.Concat(f.Session.Steps, f.Steps)
		}
		for _, s := range steps {
			if s.Name == w.cause {
				hit = true
			}
			if hit {
				out = append(out, s.Function)
			}
		}
		if len(out) == 0 {
			for _, s := range f.Teardown {
				if s.Name == w.cause && s.Counts && s.When != config.WhenSessionEnd {
					return []string{s.Function}
				}
			}
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
