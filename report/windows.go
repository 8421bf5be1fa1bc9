package report

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"slices"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/state"
	"github.com/slaprobe/slaprobe/store"
)

// Input is what a report (or a windows listing) is built from.
type Input struct {
	Config    *config.Config
	Store     store.Store
	From, To  time.Time          // the period, [From, To)
	Timelines []*config.Timeline // declared incidents; nil: the config's
	Now       time.Time          // for open windows and elapsed time; zero: To
	// Recompute rebuilds the windows from raw runs through state.Machine
	// instead of reading the stored events (slower; for checking, or after a
	// policy change). Where the raw runs were pruned, the stored events are
	// used instead, and Warn says so.
	Recompute bool
	// Warn, if set, is told what the caller should pass on to the user
	// (raw results pruned under a recompute).
	Warn func(msg string)
	// Functions asks for Service.Functions: each function's accounting and
	// daily figures (the status page's bars).
	Functions bool
	// NoLatency leaves the latencies out: Service.Steps lists the steps
	// with no count and no percentiles, and the service's are null. The
	// step histograms are most of what a build reads from the store; the
	// status page and the availability gauge show none.
	NoLatency bool
}

// recomputeLookback is how far before a period a recompute may start to
// replay runs: ten of the longest interval, or the longest of the flows'
// flowLookback, so that a window under way at the period's start is open
// there (down_after and up_after are a few runs), as in the stored events,
// and is cut by the period rather than opened at its first failing run in
// it.
func recomputeLookback(cfg *config.Config) time.Duration {
	lb := 10 * max(cfg.MaxInterval(), time.Minute)
	for si := range cfg.Services {
		for fi := range cfg.Services[si].Flows {
			lb = max(lb, flowLookback(&cfg.Services[si].Flows[fi]))
		}
	}
	return lb
}

// flowLookback is recomputeLookback for one flow: ten of its own interval
// (at least a minute), or twice its down_after or up_after of it when
// that is more: the streak that decides a window under way at an edge of
// the range (the run that confirms it, down_after-1 runs after its first
// failure; up_after's last pass) must be replayed whole, and the runs of a
// streak are less than two intervals apart (a longer gap is unknown and
// ends it). Ten intervals replayed 14 of a down_after 15's failures: a
// window the stored events had down across --from was not there. A flow's
// state machine sees only its own runs, so that is as far as its replay
// needs to go; the config's longest interval made one hourly flow among
// flows probed every 10 s replay ten hours of each of them on either side
// of a one-hour range (7,560 runs a flow for the 360 in it, where 480 do).
//
// The streak's is in the flow's own interval, not at least a minute as the
// floor is: a flow every 10 s with down_after 60 replayed 2 h on either
// side where 20 minutes hold the streak (at down_after 1000, 33 h where
// 5.6 h do).
//
// A flow with a session goes back its ttl and two intervals at least: a
// function the session's steps alone serve (a login) is measured only by
// the runs that log in (state's package comment), at least once a ttl, so
// a replay from less than that before an edge found no login and said the
// window's start bound was not known where the stored window, whose
// machine saw the login, says an hour. With up_after above 1 it goes
// back and ahead up_after ttls: the passing logins that close a login
// window are a ttl apart, so a range that ended 7 minutes after the
// first of three (ttl 20m) replayed ahead to the second only and said
// the window open where the stored one ends at the first.
func flowLookback(f *config.Flow) time.Duration {
	ivl := f.Interval
	if ivl <= 0 {
		ivl = time.Minute
	}
	lb := max(10*max(ivl, time.Minute), time.Duration(2*max(f.DownAfter, f.UpAfter))*ivl)
	if f.Session != nil {
		ttl := f.Session.TTL
		if ttl <= 0 {
			ttl = config.DefaultSessionTTL
		}
		lb = max(lb, time.Duration(max(f.UpAfter, 1))*ttl+2*ivl)
	}
	return lb
}

// Recompute replays the stored runs in q through the state machine, one
// machine per flow and location with that flow's policy from cfg, and returns
// the windows it finds: closed ones, those still open at the last run (End
// zero) and a trailing unknown window up to q.To (Machine.Close). Flows not in
// cfg are skipped. Runs are read one flow at a time.
func Recompute(ctx context.Context, cfg *config.Config, s store.Store, q store.Query) ([]state.Window, error) {
	return recomputeAhead(ctx, cfg, s, q, time.Time{}, false)
}

// recomputeAhead is Recompute that replays each flow's runs from
// flowLookback before from (not before q.From; all of q when from is
// zero) and, if ahead, the runs stored up to flowLookback after q.To too,
// as the daemon saw them when it stored its events: the run that confirms
// a window backdated into the range, or the last of up_after passes that
// closed one in it, may start after q.To. It returns the windows that
// start before q.To; a machine with no run at or after q.To is closed at
// q.To as by Recompute.
func recomputeAhead(ctx context.Context, cfg *config.Config, s store.Store, q store.Query, from time.Time, ahead bool) ([]state.Window, error) {
	if cfg == nil || s == nil {
		return nil, errors.New("report: recompute needs a config and a store")
	}
	var out []state.Window
	for si := range cfg.Services {
		for fi := range cfg.Services[si].Flows {
			f := &cfg.Services[si].Flows[fi]
			if len(q.Flows) > 0 && !slices.Contains(q.Flows, f.Name) {
				continue
			}
			fq := q
			fq.Flows = []string{f.Name}
			lb := flowLookback(f)
			if !from.IsZero() {
				fq.From = maxT(q.From, from.Add(-lb))
			}
			if ahead {
				fq.To = q.To.Add(lb)
			}
			runs, err := s.Runs(ctx, fq)
			if err != nil {
				return nil, fmt.Errorf("report: runs of %s: %w", f.Name, err)
			}
			pol := state.Policy{Interval: f.Interval, DownAfter: f.DownAfter, UpAfter: f.UpAfter, ConfirmEvery: f.ConfirmEvery}
			machines := map[string]*state.Machine{}
			var order []string
			for i := range runs {
				r := &runs[i]
				m := machines[r.Location]
				if m == nil {
					m = state.New(cfg.Services[si].Name, f.Name, r.Location, f.Functions(), pol)
					machines[r.Location] = m
					order = append(order, r.Location)
				}
				for _, e := range m.Observe(r) {
					if e.Op == state.OpClose {
						out = append(out, e.Window)
					}
				}
			}
			for _, l := range order {
				m := machines[l]
				out = append(out, m.OpenWindows()...)
				if m.LastRun().Before(q.To) {
					out = append(out, m.Close(q.To)...)
				}
			}
		}
	}
	out = slices.DeleteFunc(out, func(w state.Window) bool { return !w.Start.Before(q.To) })
	sortStateWindows(out)
	return out, nil
}

func sortStateWindows(ws []state.Window) {
	slices.SortStableFunc(ws, func(a, b state.Window) int {
		return cmp.Or(a.Start.Compare(b.Start), cmp.Compare(a.Service, b.Service), cmp.Compare(a.Flow, b.Flow),
			cmp.Compare(a.Function, b.Function), cmp.Compare(a.Location, b.Location), cmp.Compare(a.Kind, b.Kind))
	})
}

// Windows returns the down and degraded windows in [in.From, in.To), flow and
// function, after the location quorum, clipped to the period and sorted by
// start: what `slaprobe windows` prints.
func Windows(ctx context.Context, in Input) ([]Window, error) {
	out, _, err := WindowsAndBelow(ctx, in)
	return out, err
}

// WindowsAndBelow is Windows, with apart the windows seen from too few
// locations to count (a report's below_quorum), so that a command listing
// the counted ones can say that others exist.
func WindowsAndBelow(ctx context.Context, in Input) (counted, below []Window, err error) {
	a, err := analyze(ctx, in)
	if err != nil {
		return nil, nil, err
	}
	counted, below = []Window{}, []Window{}
	for _, f := range a.flows {
		for _, w := range f.windows {
			counted = append(counted, a.window(w))
		}
		for _, w := range f.below {
			below = append(below, a.window(w))
		}
	}
	sortWindows(counted)
	sortWindows(below)
	return counted, below, nil
}

// measured is a window after the quorum, clipped to [from, end).
type measured struct {
	state.Key // Location ""
	kind      state.Kind
	iv
	open bool // still open at the end of the elapsed period
	// startCut and endCut say why an edge is not measured (CutPeriod,
	// CutNoData), or "" for a measured edge.
	startCut, endCut string
	confirmed        time.Time
	// known is when the confirmation was known: the end of the confirming
	// run (of the quorum's, the quorum-th to end); confirmed when that is
	// not stored.
	known time.Time
	cause string
	err   string
	locs  []string
	// by are the locations whose own windows began at its start: those
	// that made the quorum (a counted window's; of several, those whose
	// confirmations made it known: madeKnown; none where it began
	// otherwise: a location gone unknown).
	by     []string
	causes []state.Cause // clipped to the window
	// lastBefore and lastIn bound the edges (state.Window's); zero when the
	// edge is not a measured one. firstInEnd and firstAfterEnd bound them
	// the other way (state.Window's FirstInEnd, FirstAfterEnd): the ends of
	// the runs that started at them; zero when not known.
	lastBefore, lastIn        time.Time
	firstInEnd, firstAfterEnd time.Time
	// neverSure is a counted window starting where location windows begin
	// in which the quorum was never surely down at once (surelyDown, each
	// first run's end not known taken as early as it may be, finds no
	// instant before its end): Window.QuorumNeverSurelyDown, where its end
	// is measured.
	neverSure bool
	// splitFrom is the start of the counted window before this one of
	// the same key when a location window lasted from that one into this
	// one without a break (Window.SplitFrom); zero otherwise.
	splitFrom time.Time
	// endMayMove: Window.EndMayMove (flowWindows).
	endMayMove bool
}

// flowData is one flow's windows and unknown stretches in the period.
type flowData struct {
	svc     *config.Service
	flow    *config.Flow
	locs    []string
	unknown set        // no location reporting
	windows []measured // counted (quorum met)
	below   []measured // single-location windows that did not reach quorum
	// ends is, for each location with no run in the last two intervals
	// of the elapsed period, where its data ends (dataEnd).
	ends map[string]time.Time
	// silentSince is, for each location whose unknown time in the elapsed
	// period (the stretches no run of it covered, as the flow's accounting
	// takes them) reaches the period's end, where that stretch begins:
	// Report.Silent reads it. Nil when none does, the flow's usual case:
	// kept whole (each location's unknown set, a map a flow), it held some
	// 40 MB more through a report of 50,000 flows, the status page's
	// rebuild at that size peaking 492 -> 534-560 MiB.
	silentSince map[string]time.Time
	// settlingFrom is, in live figures, where the stretch in which the
	// quorum reads no location reporting (unknown, or settling:
	// settlingUnknown) that reaches the elapsed end begins; zero when none
	// does. Span.Settling reads it.
	settlingFrom time.Time
}

// analysis is the common part of Build and Windows.
type analysis struct {
	in Input
	// cfg is in.Config with the retired flows appended to their services
	// (in.Config itself when there are none).
	cfg   *config.Config
	loc   *time.Location
	end   time.Time // min(To, Now): the end of the elapsed period
	flows []*flowData
	// byService is each service's flows (a range of flows, config order).
	byService map[*config.Service][]*flowData
	cov       []store.Span
	// pruned is the hour rollups' horizon: nothing before it is kept
	// (zero: nothing pruned).
	pruned time.Time
	// after is, for a period that is over, each flow and location that
	// has run in the two longest intervals after its end (nextRuns).
	after map[[2]string]bool
	// ranAfter and ranBefore are each flow and location with a run within
	// edgeLookaround after the end of a period that is over, and before
	// its start (edgeSpans): the stored events then say whether the time
	// between that run and the period's nearest run was unknown.
	ranAfter, ranBefore map[[2]string]bool
	// edge is, for each flow and location with no run in the period whose
	// last run before it covers its start, that run's span (edgeSpans):
	// the location reports in the period from it.
	edge []store.Span
	// retired are the flows of cfg that in.Config does not have (see
	// retired.go); unordered those of them whose step order is not known.
	retired, unordered map[string]bool
	// last is the run at the last run time in the period of each flow and
	// location that had none in the two intervals before the period's
	// elapsed end (lastRunsAtEnd); missing when it is no longer kept raw.
	last map[[2]string]*probe.Run
	// resumedLast is, in live figures, the last run of each flow and
	// location whose data may have resumed less than Settling before the
	// elapsed end (resumedRuns): settlingUnknown reads whether it passed.
	resumedLast map[[2]string]*probe.Run
	// resumedBefore is, in live figures in a period's first Settling,
	// where each flow and location's last unknown stretch that ended
	// before the period (and within Settling of its start) ended: its
	// data resumed there, which the period's start hides from its own
	// unknown time (settlingUnknown).
	resumedBefore map[[2]string]time.Time
}

// edgeLookaround is how far past a period's edges a report looks for a
// location's runs, to know whether its stored events judged the stretch at
// the edge (see flowWindows). A day: longer than any interval's two.
const edgeLookaround = 24 * time.Hour

func (a *analysis) window(m measured) Window {
	w := Window{
		Service:    m.Service,
		Flow:       m.Flow,
		Kind:       string(m.kind),
		Start:      m.s.In(a.loc),
		StartCut:   m.startCut,
		EndCut:     m.endCut,
		CauseStep:  m.cause,
		Locations:  m.locs,
		QuorumBy:   m.by,
		EndMayMove: m.endMayMove && !m.open && m.endCut != CutPeriod,
		Error:      m.err,
		Confirmed:  m.confirmed.In(a.loc),
		Known:      maxT(m.known, m.confirmed).In(a.loc),
	}
	if w.Locations == nil {
		w.Locations = []string{}
	}
	if m.Function != "" {
		fn := m.Function
		w.Function = &fn
	}
	if !m.open && m.endCut != CutPeriod {
		e := m.e.In(a.loc)
		w.End = &e
		if m.endCut == "" && !m.lastIn.IsZero() && !m.lastIn.After(m.e) {
			w.EndUncertaintySeconds = ptrF(m.e.Sub(m.lastIn).Seconds())
		}
		if m.endCut == "" && !m.firstAfterEnd.IsZero() && !m.firstAfterEnd.Before(m.e) {
			w.EndUncertaintyLaterSeconds = ptrF(m.firstAfterEnd.Sub(m.e).Seconds())
		}
	}
	if m.startCut == "" && !m.lastBefore.IsZero() && !m.lastBefore.After(m.s) {
		w.StartUncertaintySeconds = ptrF(m.s.Sub(m.lastBefore).Seconds())
	}
	// A start next to time without data (the prober's first run, or its
	// first after a stop, found the outage) is not a measured edge: how
	// much earlier it began is not known; but the run that found it still
	// bounds how much later (the end of that first failing run), as the
	// daemon's /api/v1/status and alerts say of the same open window. A
	// start the period cuts is the period's start: neither.
	// No later than the end's latest instant: where the quorum was never
	// surely down at once (QuorumNeverSurelyDown) the first instant at
	// which it was may come after the window (the need-th first run to
	// end, one that hung past the end of the location windows it overlaps:
	// +15s beside an end of +300ms, 4 s after the start). A window starts
	// before it ends, if it was real at all.
	firstInEnd := m.firstInEnd
	measuredEnd := !m.open && m.endCut == ""
	if measuredEnd && !m.firstAfterEnd.IsZero() && !m.firstAfterEnd.Before(m.e) && firstInEnd.After(m.firstAfterEnd) {
		firstInEnd = m.firstAfterEnd
	}
	if (m.startCut == "" || m.startCut == CutNoData) && !firstInEnd.IsZero() && !firstInEnd.Before(m.s) {
		w.StartUncertaintyLaterSeconds = ptrF(firstInEnd.Sub(m.s).Seconds())
	}
	w.QuorumNeverSurelyDown = m.neverSure && measuredEnd && (m.startCut == "" || m.startCut == CutNoData)
	if !m.splitFrom.IsZero() {
		t := m.splitFrom.In(a.loc)
		w.SplitFrom = &t
	}
	w.Causes = make([]Cause, 0, len(m.causes))
	for _, c := range m.causes {
		x := Cause{Step: c.Step, Error: c.Error, From: c.From.In(a.loc)}
		// A cause lasts (to null) when the window has no end and the
		// cause goes on to the end of what was seen of it. With one
		// location only the last one can; the causes of a counted window
		// come from several locations, and more than one may last.
		lasts := c.To.IsZero() || !c.To.Before(m.e)
		if w.End != nil || !lasts {
			to := c.To
			if to.IsZero() || to.After(m.e) {
				to = m.e
			}
			to = to.In(a.loc)
			x.To = &to
		}
		w.Causes = append(w.Causes, x)
	}
	w.DurationSeconds = m.dur().Seconds()
	if in := a.maintenance(m.Service).clip(m.s, m.e).total(); in > 0 {
		w.MaintenanceSeconds = in.Seconds()
	}
	return w
}

func ptrF(f float64) *float64 { return &f }

// edges copies what w knows of its edges and causes into m, for the part of
// w that m covers: an edge of m that is not w's (clipped to the period) is
// not a measured edge.
func (m *measured) edges(w state.Window) {
	if m.s.Equal(w.Start) {
		m.lastBefore, m.firstInEnd = w.LastBefore, w.FirstInEnd
	}
	if !w.End.IsZero() && m.e.Equal(w.End) {
		m.lastIn, m.firstAfterEnd = w.LastIn, w.FirstAfterEnd
	}
	m.causes = clipCauses(w, m.s, m.e)
}

// clipCauses returns w's causes that overlap [s, e), clipped to it.
func clipCauses(w state.Window, s, e time.Time) []state.Cause {
	causes := w.Causes
	if len(causes) == 0 {
		causes = []state.Cause{{Step: w.CauseStep, Error: w.Error, From: w.Start, To: w.End}}
	}
	var out []state.Cause
	for _, c := range causes {
		starts := c.From.Before(e) || s.Equal(e) && !c.From.After(s)
		if !starts || !c.To.IsZero() && !c.To.After(s) {
			continue
		}
		c.From = maxT(c.From, s)
		if !c.To.IsZero() && c.To.After(e) {
			c.To = e
		}
		out = append(out, c)
	}
	return out
}

// seenWindow is a location window that makes a counted window and the
// stretches of it in which its location reported (not unknown there).
type seenWindow struct {
	w    state.Window
	seen set
}

// mergeCauses is the causes of a counted window [s, e) made of the
// location windows ws (the one whose cause is the counted window's first):
// each one's causes clipped to [s, e) and to the stretches its location
// reported in (a prober that stopped with its window open does not give
// its cause to the time after its data ends), the same cause
// (state.Cause.SameKey) at several locations, or again at one, where its
// stretches overlap or touch, one cause over their union; in order of
// start (the first location's first where two start together), at most
// state.MaxCauses as a window keeps them: as a location's window keeps its
// first MaxCauses-1 and the current one, the causes in force at the
// window's end (the current ones, of several locations) and the first of
// the others.
func mergeCauses(ws []seenWindow, s, e time.Time) []state.Cause {
	var groups [][]state.Cause
	group := map[string]int{} // by SameKey, each error's shape made once
	for _, sw := range ws {
		for _, p := range sw.seen.clip(s, e) {
			for _, c := range clipCauses(sw.w, p.s, p.e) {
				if c.To.IsZero() && p.e.Before(e) {
					c.To = p.e // its location's data ends there
				}
				k := c.SameKey()
				if gi, ok := group[k]; ok {
					groups[gi] = append(groups[gi], c)
					continue
				}
				group[k] = len(groups)
				groups = append(groups, []state.Cause{c})
			}
		}
	}
	// to is a cause's end, the far future while it lasts.
	to := func(c state.Cause) time.Time {
		if c.To.IsZero() {
			return time.Unix(1<<62, 0)
		}
		return c.To
	}
	var out []state.Cause
	for _, g := range groups {
		slices.SortStableFunc(g, func(x, y state.Cause) int { return x.From.Compare(y.From) })
		m := g[0]
		for _, c := range g[1:] {
			if c.From.After(to(m)) {
				out = append(out, m)
				m = c
				continue
			}
			if to(c).After(to(m)) {
				m.To = c.To
			}
		}
		out = append(out, m)
	}
	slices.SortStableFunc(out, func(x, y state.Cause) int { return x.From.Compare(y.From) })
	if len(out) <= state.MaxCauses {
		return out
	}
	// Keep those in force at the end (the latest to begin, should there be
	// more than MaxCauses), then the first of the others.
	keep := make([]bool, len(out))
	var current []int
	for i, c := range out {
		if !to(c).Before(e) {
			current = append(current, i)
		}
	}
	current = current[max(0, len(current)-state.MaxCauses):]
	for _, i := range current {
		keep[i] = true
	}
	room := state.MaxCauses - len(current)
	for i, c := range out {
		if room > 0 && to(c).Before(e) {
			keep[i] = true
			room--
		}
	}
	kept := out[:0]
	for i, c := range out {
		if keep[i] {
			kept = append(kept, c)
		}
	}
	return kept
}

func sortWindows(ws []Window) {
	slices.SortStableFunc(ws, func(a, b Window) int {
		fa, fb := "", ""
		if a.Function != nil {
			fa = *a.Function
		}
		if b.Function != nil {
			fb = *b.Function
		}
		return cmp.Or(a.Start.Compare(b.Start), cmp.Compare(a.Service, b.Service), cmp.Compare(a.Flow, b.Flow),
			cmp.Compare(fa, fb), cmp.Compare(a.Kind, b.Kind))
	})
}

func analyze(ctx context.Context, in Input) (*analysis, error) {
	if in.Config == nil {
		return nil, errors.New("report: no config")
	}
	if in.Store == nil {
		return nil, errors.New("report: no store")
	}
	if in.From.IsZero() || in.To.IsZero() || !in.To.After(in.From) {
		return nil, fmt.Errorf("report: bad period [%s, %s): want from before to", in.From.Format(time.RFC3339), in.To.Format(time.RFC3339))
	}
	a := &analysis{in: in, cfg: in.Config, loc: zone(in.Config)}
	now := in.Now
	if now.IsZero() {
		now = in.To
	}
	a.end = minT(maxT(now, in.From), in.To)
	a.in.Now = now

	q := store.Query{From: in.From, To: in.To}
	var raw []state.Window
	var err error
	a.cov, err = in.Store.Coverage(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("report: coverage: %w", err)
	}
	// The flows measured in the period that the config no longer has
	// (retired.go) are accounted with the config's.
	ret, err := findRetired(ctx, in, a.cov)
	if err != nil {
		return nil, err
	}
	ret.warn(in)
	a.cfg, a.retired, a.unordered = ret.cfg, ret.names, ret.unordered
	if in.Recompute {
		// A window under way at From began before it: replay from
		// recomputeLookback before, as the stored events saw it, and keep
		// the windows that reach into the period.
		// A period that is over: the runs stored after it, up to as far
		// again, decide its last windows' edges as they did for the
		// stored events (a window backdated into it by a run after its
		// end; up_after passes across it).
		// Each flow as far as its own interval needs (flowLookback).
		rq := q
		rq.From = q.From.Add(-recomputeLookback(in.Config))
		raw, err = recomputeKept(ctx, in, rq, !now.Before(in.To))
		a.noteResumedBefore(raw)
		raw = slices.DeleteFunc(raw, func(w state.Window) bool { return !w.End.IsZero() && !w.End.After(in.From) })
		if err == nil && len(a.retired) > 0 {
			// A retired flow's policy is not known: its windows are the
			// stored ones, which its own policy made.
			var stored []state.Window
			stored, err = in.Store.Windows(ctx, store.Query{From: in.From, To: in.To, Flows: slices.Sorted(maps.Keys(a.retired))})
			raw = append(raw, stored...)
			sortStateWindows(raw)
		}
	} else {
		raw, err = in.Store.Windows(ctx, q)
		if s := a.maxSettling(); err == nil && a.end.Before(in.To) && a.end.Before(in.From.Add(s)) {
			// The unknown stretches that ended just before the period.
			var before []state.Window
			before, err = in.Store.Windows(ctx, store.Query{From: in.From.Add(-s), To: in.From})
			a.noteResumedBefore(before)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("report: windows: %w", err)
	}
	if a.after, a.ranAfter, err = nextRuns(ctx, in, now); err != nil {
		return nil, fmt.Errorf("report: coverage after the period: %w", err)
	}
	// A location that ran before the period: the stretch up to its first
	// run in it is what the state machine made of it (stored, or
	// replayed from recomputeLookback before), not unknown for want of a
	// run before it. A recompute replays no further back: a run before
	// that is not one it judged the stretch from.
	// As far back as two of the longest interval at least: the run the
	// edge rule (a.edgeSpans) reports a location from may be that far
	// before a period with no run of it (a daily flow whose run was
	// missed: its last run 25 h before).
	before := max(edgeLookaround, 2*max(in.Config.MaxInterval(), time.Minute))
	if in.Recompute {
		a.ranAfter = nil // no stored events to say
		before = recomputeLookback(in.Config)
	}
	var prev map[[2]string]store.Span
	if prev, err = edgeSpans(ctx, in.Store, in.From.Add(-before), in.From); err != nil {
		return nil, fmt.Errorf("report: coverage before the period: %w", err)
	}
	if in.Recompute {
		// Each flow's replay went back flowLookback, not further.
		lbs := map[string]time.Duration{}
		for _, svc := range in.Config.Services {
			for _, f := range svc.Flows {
				lbs[f.Name] = flowLookback(&f)
			}
		}
		for k, c := range prev {
			if lb, ok := lbs[k[0]]; ok && c.Last.Before(in.From.Add(-lb)) {
				delete(prev, k)
			}
		}
	}
	a.ranBefore = make(map[[2]string]bool, len(prev))
	for k := range prev {
		a.ranBefore[k] = true
	}
	a.edge = a.edgeSpans(prev)
	if a.last, err = a.lastRunsAtEnd(ctx); err != nil {
		return nil, fmt.Errorf("report: last runs: %w", err)
	}
	if a.resumedLast, err = a.resumedRuns(ctx, raw); err != nil {
		return nil, fmt.Errorf("report: last runs: %w", err)
	}
	h, err := in.Store.Horizon(ctx)
	if err != nil {
		return nil, fmt.Errorf("report: horizon: %w", err)
	}
	a.pruned = h.Hour
	if in.Warn != nil && a.pruned.After(in.From) {
		in.Warn(fmt.Sprintf("results before %s were pruned (storage.hour_retention): windows and coverage there are no longer kept, and that time is unknown",
			a.pruned.In(zone(in.Config)).Format(time.RFC3339)))
	}

	byFlow := map[string][]state.Window{}
	for _, w := range raw {
		byFlow[w.Flow] = append(byFlow[w.Flow], w)
	}
	covByFlow := map[string][]store.Span{}
	for _, c := range slices.Concat(a.cov, a.edge) {
		covByFlow[c.Flow] = append(covByFlow[c.Flow], c)
	}
	a.byService = make(map[*config.Service][]*flowData, len(a.cfg.Services))
	for si := range a.cfg.Services {
		svc := &a.cfg.Services[si]
		first := len(a.flows)
		for fi := range svc.Flows {
			f := &svc.Flows[fi]
			a.flows = append(a.flows, a.flowWindows(svc, f, byFlow[f.Name], covByFlow[f.Name]))
		}
		a.byService[svc] = a.flows[first:len(a.flows):len(a.flows)]
	}
	return a, nil
}

// nextRuns is, for a period that is over (now at or after its end), each
// flow and location with a run in the two longest intervals after its end
// (before now): those whose next run after the period's last is not yet
// known to be late; and (later) each with a run stored within
// edgeLookaround after it, now or not. Nil for a period not over.
func nextRuns(ctx context.Context, in Input, now time.Time) (soon, later map[[2]string]bool, err error) {
	// A period made as of its end (the availability gauge passes
	// now = to; slaprobe report and windows did for one that was over) is
	// over too: the runs stored after it
	// are as much facts as those of a report made later, and without them
	// its edge was judged with today's interval (a reload from 60 s to
	// 10 s made 15 s unknown in the CLI's October and not the publisher's).
	if now.Before(in.To) {
		return nil, nil, nil
	}
	ivl := in.Config.MaxInterval()
	if ivl <= 0 {
		ivl = time.Minute
	}
	q := store.Query{From: in.To, To: in.To.Add(max(2*ivl, edgeLookaround))}
	cov, err := in.Store.Coverage(ctx, q)
	if err != nil {
		return nil, nil, err
	}
	// soon: not yet known to be late, as of now.
	soonEnd := minT(now, in.To.Add(2*ivl))
	soon, later = make(map[[2]string]bool, len(cov)), make(map[[2]string]bool, len(cov))
	for _, c := range cov {
		k := [2]string{c.Flow, c.Location}
		later[k] = true
		if c.First.Before(soonEnd) {
			soon[k] = true
		}
	}
	return soon, later, nil
}

// storedUnknownAfter reports whether raw holds an unknown stretch of the
// whole flow at loc that begins at or after last (the location's last run
// in the period) and reaches end: the state machine stored it, judged with
// the interval the flow had, when the location ran again.
func storedUnknownAfter(raw []state.Window, loc string, last, end time.Time) bool {
	for _, w := range raw {
		if w.Kind == state.KindUnknown && w.Function == "" && w.Location == loc && !w.Start.Before(last) && (w.End.IsZero() || !w.End.Before(end)) {
			return true
		}
	}
	return false
}

// edgeSpans is, for each flow and location with a run in [from, to), its
// span there (the services it ran under merged, as byLocation does).
func edgeSpans(ctx context.Context, s store.Store, from, to time.Time) (map[[2]string]store.Span, error) {
	if !to.After(from) {
		return nil, nil
	}
	cov, err := s.Coverage(ctx, store.Query{From: from, To: to})
	if err != nil {
		return nil, err
	}
	out := make(map[[2]string]store.Span, len(cov))
	for _, c := range cov {
		k := [2]string{c.Flow, c.Location}
		if o, ok := out[k]; ok {
			c.First = minT(o.First, c.First)
			c.Last, c.LastInterval = store.JoinLast(o.Last, o.LastInterval, c.Last, c.LastInterval)
			c.Runs += o.Runs
			c.Confirm += o.Confirm
		}
		out[k] = c
	}
	return out, nil
}

// edgeSpans is, of the spans before the period (prev), those of the flows
// and locations with no run in it whose last run before it still covers
// its start (less than twice the interval that run had before it): a
// location that ran before a period shorter than its interval reports in
// it as the state machine left it at that run (README, Accounting policy:
// unknown is no run for more than twice the interval), and the stretch
// after that run is judged as after a last run in the period. Each is
// reduced to that last run (First and Last; no runs counted). Before, such
// a location was taken for not reporting: a 40 s range inside an outage
// probed every 60 s read 40 s unknown and no window.
//
// The interval is the one that run had (stored with it since schema
// version 15, and with its rollup row since 16: the span's LastInterval),
// not the config's: a location every 60 s whose last run was 100 s before
// a range, read with 10 s in the config since, was not reporting in it,
// and one every 10 s whose last run was 30 s before it reported with 60 s
// in the config. Without it (runs rolled up before schema version 16, or
// stored before 15), the config's interval judges, as before.
func (a *analysis) edgeSpans(prev map[[2]string]store.Span) []store.Span {
	if len(prev) == 0 {
		return nil
	}
	in := map[[2]string]bool{}
	for _, c := range a.cov {
		in[[2]string{c.Flow, c.Location}] = true
	}
	ivls := map[string]time.Duration{}
	for _, svc := range a.cfg.Services {
		for _, f := range svc.Flows {
			if _, ok := ivls[f.Name]; !ok {
				ivls[f.Name] = cmp.Or(max(f.Interval, 0), time.Minute)
			}
		}
	}
	var out []store.Span
	for k, c := range prev {
		ivl, ok := ivls[k[0]]
		if !ok || in[k] {
			continue
		}
		if c.LastInterval > 0 {
			ivl = c.LastInterval
		}
		// A location that ran again after a period that is over
		// (ranAfter, stored events only): the state machine judged the
		// stretch between those runs when it made the later one, with
		// the interval the flow had then, and its events say whether it
		// was unknown (as for a location with a run in the period), not
		// today's interval.
		if a.in.From.Sub(c.Last) >= 2*ivl && !a.ranAfter[k] {
			continue
		}
		out = append(out, store.Span{Flow: c.Flow, Service: c.Service, Location: c.Location, First: c.Last, Last: c.Last, LastInterval: c.LastInterval})
	}
	slices.SortFunc(out, func(x, y store.Span) int {
		return cmp.Or(cmp.Compare(x.Flow, y.Flow), cmp.Compare(x.Location, y.Location))
	})
	return out
}

func zone(cfg *config.Config) *time.Location {
	if cfg.Loc != nil {
		return cfg.Loc
	}
	if cfg.Timezone != "" {
		if l, err := time.LoadLocation(cfg.Timezone); err == nil {
			return l
		}
	}
	return time.UTC
}

// flowWindows applies the location quorum to one flow's per-location windows.
func (a *analysis) flowWindows(svc *config.Service, f *config.Flow, raw []state.Window, cov []store.Span) *flowData {
	from, end := a.in.From, a.end
	ivl := f.Interval
	if ivl <= 0 {
		ivl = time.Minute
	}
	fd := &flowData{svc: svc, flow: f}

	// Each location's unknown stretches: unknown windows from the machine,
	// and no run at all for more than twice the interval at either end.
	unknown := map[string][]iv{}
	seen := map[string]bool{}
	addLoc := func(l string) {
		if !seen[l] {
			seen[l] = true
			fd.locs = append(fd.locs, l)
		}
	}
	first := map[string]time.Time{} // each location's first run in the period
	for _, c := range byLocation(cov) {
		addLoc(c.Location)
		if f, ok := first[c.Location]; !ok || c.First.Before(f) {
			first[c.Location] = c.First
		}
		// Where the location ran on the other side of an edge (before the
		// period's start; after the end of a period that is over), the
		// state machine judged the stretch between those runs when it
		// made the later one, with the interval the flow had then, and
		// stored it as unknown or not: its events say. Judging it again
		// here with the interval in today's config made a version 2 of a
		// finished month after a reload changed it (60 s to 10 s: the
		// last run's 60 s read as 50 s unknown). The guesses below are
		// for an edge no run on the other side of which is stored: the
		// prober's first run, or one stopped that has not run since.
		// Before a first run nothing covered the time, however short
		// (no run before it within edgeLookaround, nor two of the longest
		// interval): unknown from the period's start. The two intervals'
		// allowance is for the stretch after a run, which it covers.
		k := [2]string{f.Name, c.Location}
		if c.First.After(from) && !a.ranBefore[k] {
			unknown[c.Location] = append(unknown[c.Location], iv{from, c.First})
		}
		// The stretch after the last run is judged by the interval that
		// run had (stored with it since schema version 15), not by a
		// reload's since, as the state machine judged it (state.Machine's
		// ranIvl): a prober stopped at 10:55 and not back read 50 s more
		// unknown in 10:00-11:00 once a reload took its 60 s to 10 s. It is
		// the span's (LastInterval, kept with the rollups since schema
		// version 16, so also once the run is pruned), or the run's read;
		// the config's when neither has one (stored before version 15).
		runIvl := ivl
		if c.LastInterval > 0 {
			runIvl = c.LastInterval
		}
		if r := a.last[k]; r != nil && r.Start.Equal(c.Last) && r.Interval > 0 {
			runIvl = r.Interval
		}
		trailing := end.Sub(c.Last) > 2*runIvl || end.Equal(a.in.To) && a.in.Now.Sub(c.Last) > 2*runIvl && !a.after[k]
		if trailing {
			if fd.ends == nil {
				fd.ends = map[string]time.Time{}
			}
			fd.ends[c.Location] = a.dataEnd(f, runIvl, c, raw)
		}
		switch {
		case end.Equal(a.in.To) && a.ranAfter[k]:
		case end.Equal(a.in.To) && !a.in.Recompute && storedUnknownAfter(raw, c.Location, c.Last, end):
			// Back later than edgeLookaround: the stretch the state
			// machine stored when it ran again says, as above.
		case end.Sub(c.Last) > 2*runIvl:
			unknown[c.Location] = append(unknown[c.Location], iv{fd.ends[c.Location], end})
		case trailing:
			// A period over: no run for two intervals after the last one
			// in it, so the state machine will store (at the next run)
			// or has stored the stretch from the end of its interval as
			// unknown. Say so now, not only once the prober runs again:
			// a finished period's figures do not change with what comes
			// after it. With a run in those two intervals, the stored
			// events say whether there was a stretch (a run that hung
			// covers its time).
			unknown[c.Location] = append(unknown[c.Location], iv{fd.ends[c.Location], end})
		}
	}
	covered := map[string]bool{}
	for _, c := range cov {
		covered[c.Location] = true
	}
	for _, w := range raw {
		addLoc(w.Location)
		if w.Kind == state.KindUnknown && w.Function == "" {
			unknown[w.Location] = append(unknown[w.Location], iv{w.Start, endOr(w.End, end)})
		}
	}
	for _, l := range fd.locs {
		if !covered[l] { // windows but no run in the period: not reporting
			unknown[l] = append(unknown[l], iv{from, end})
		}
	}
	slices.Sort(fd.locs)
	locUnknown := map[string]set{}
	for _, l := range fd.locs {
		locUnknown[l] = union(unknown[l]).clip(from, end)
	}
	for _, l := range fd.locs {
		var since time.Time
		for _, u := range locUnknown[l] {
			if u.e.Equal(end) && u.s.Before(u.e) {
				since = u.s
			}
		}
		if !since.IsZero() {
			if fd.silentSince == nil {
				fd.silentSince = map[string]time.Time{}
			}
			fd.silentSince[l] = since
		}
	}
	// The flow is unknown where no location reports.
	fd.unknown = set{{from, end}}.clip(from, end)
	for _, l := range fd.locs {
		fd.unknown = fd.unknown.intersect(locUnknown[l])
	}

	// The quorum reads a location as reporting where it is not unknown,
	// but in live figures not yet in the first settling after its data
	// resumed (see settlingUnknown).
	quorumUnknown := locUnknown
	if a.end.Before(a.in.To) {
		var settling bool
		quorumUnknown, settling = a.settlingUnknown(f, raw, fd.locs, locUnknown)
		q := fd.unknown
		if settling {
			q = set{{from, end}}.clip(from, end)
			for _, l := range fd.locs {
				q = q.intersect(quorumUnknown[l])
			}
		}
		if n := len(q); n > 0 && q[n-1].e.Equal(end) {
			fd.settlingFrom = q[n-1].s
		}
	}

	// Group the down and degraded windows by function and kind.
	type gk struct {
		fn   string
		kind state.Kind
	}
	groups := map[gk][]state.Window{}
	var keys []gk
	for _, w := range raw {
		if w.Kind == state.KindUnknown {
			continue
		}
		k := gk{w.Function, w.Kind}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], w)
	}
	slices.SortFunc(keys, func(x, y gk) int { return cmp.Or(cmp.Compare(x.fn, y.fn), cmp.Compare(x.kind, y.kind)) })
	for _, k := range keys {
		counted, below := a.quorum(svc.Name, f.Name, k.fn, k.kind, groups[k], fd.locs, quorumUnknown, first)
		// In live figures, a counted window that ended less than the
		// flow's settling before their end while a location window of it
		// lasts past its end may not be over: a location down at its end
		// whose runs have not made its window yet (its confirmation in
		// flight) may join it, and the next figures carry it on (majority
		// of 4, seoul-a and busan-b down from 09:31:00 and confirmed,
		// daegu-c down then with its confirming run of 8 s in flight,
		// incheon-d reporting up from 09:31:30: 09:31:00-09:31:30 here,
		// 09:31:00 on, open, once daegu-c's window is stored). The late
		// page (alert's pageLate) waits for such an end, not paging as
		// over an outage that goes on.
		if a.end.Before(a.in.To) {
			settle := Settling(f)
			for i := range counted {
				m := &counted[i]
				if m.open || !a.end.Before(m.e.Add(settle)) {
					continue
				}
				m.endMayMove = slices.ContainsFunc(groups[k], func(w state.Window) bool {
					return !w.Start.After(m.e) && (w.End.IsZero() || w.End.After(m.e))
				})
			}
		}
		fd.windows = append(fd.windows, counted...)
		fd.below = append(fd.below, below...)
	}
	return fd
}

// Settling is how long after f's data resumes at a location (after an
// unknown stretch: a prober restarted, or back from a network or store
// outage, or its first runs) its runs may still make a window backdated to
// where they resumed: down_after failed runs, each after the last by
// confirm_every (the daemon confirm-runs a failure, and a degraded run
// likewise), or by the interval when that is off, the last ending by the
// timeout. Until then a failed run there is no window yet, and is not the
// location measuring the flow up.
func Settling(f *config.Flow) time.Duration {
	every := f.Interval
	if every <= 0 {
		every = time.Minute
	}
	if f.ConfirmEvery > 0 && f.ConfirmEvery < every {
		every = f.ConfirmEvery
	}
	return time.Duration(max(f.DownAfter, 1))*every + f.Timeout
}

// settlingUnknown is unknown (each location's unknown time, as the flow's
// accounting takes it) with, for live figures, each location whose data
// resumed less than Settling(f) before the elapsed end and whose runs have
// made no window since (raw: none of its windows, down or degraded, any
// function, reaches past the resume; the state machine closes what was
// open at a gap, so that is one its runs since made), and whose last run
// since did not pass (resumedLast; one that passed measured the flow up,
// and no failed run before it can become a window), also unknown from the
// resume to the end; and likewise a slice of data between two of its
// unknown stretches that began less than Settling before the end with no
// window in it (a prober stopped again before its runs made one). As the
// quorum reads it, that location is not reporting yet. Its
// runs have not had the time to confirm anything, and a failed run not yet
// a window would count as the location measuring the flow up: busan-b's
// figures built at the shared database's return, seoul-a restarted at
// 09:18 and one failed run of it stored after the gap (down_after 2),
// busan-b down and tokyo-c's runs not yet stored, counted 1 of 2
// reporting locations down, below the majority, and closed the counted
// window (resolving the quorum's page, paged anew a minute later). A
// period that is over is not changed (the caller asks only for live
// figures): its figures are facts, and the next runs decide. settling
// says whether any location changed (the map is unknown itself when not).
func (a *analysis) settlingUnknown(f *config.Flow, raw []state.Window, locs []string, unknown map[string]set) (map[string]set, bool) {
	settle := Settling(f)
	var out map[string]set
	for _, l := range locs {
		u := unknown[l]
		// Each resume within Settling of the end, the latest first: a
		// prober stopped again before its runs made a window (a crash
		// loop, the database away again) left a slice of failed runs
		// between two stretches that is no more the location measuring
		// the flow up than the last one is. The period's start hides a
		// resume just before it (resumedBefore).
		var add []iv
		for i := len(u); i >= 0; i-- {
			var sl iv // the data after the stretch before i, to stretch i
			switch {
			case i > 0:
				sl.s = u[i-1].e
			default:
				r, ok := a.resumedBefore[[2]string{f.Name, l}]
				if !ok {
					continue
				}
				sl.s = r
			}
			sl.e = a.end
			if i < len(u) {
				sl.e = u[i].s
			}
			if !a.end.Before(sl.s.Add(settle)) {
				break // older ones are older still
			}
			if !sl.s.Before(sl.e) {
				continue // no data after it: the next stretch is unknown already
			}
			judged := false
			for _, w := range raw {
				if w.Location == l && w.Kind != state.KindUnknown && w.Start.Before(sl.e) && (w.End.IsZero() || w.End.After(sl.s)) {
					judged = true
					break
				}
			}
			if judged {
				continue
			}
			if i == len(u) {
				if r := a.resumedLast[[2]string{f.Name, l}]; r != nil && !r.Start.Before(sl.s) && r.Outcome() == probe.StatusOK {
					// Its last run since passed: it measured the flow up
					// there, and a failed run before it made no window (a
					// window begins at the first of down_after failed runs
					// in a row), so it reports from its resume, as any
					// location.
					continue
				}
			}
			add = append(add, iv{maxT(sl.s, a.in.From), sl.e})
		}
		if len(add) == 0 {
			continue
		}
		if out == nil {
			out = maps.Clone(unknown)
		}
		out[l] = union(u, add).clip(a.in.From, a.end)
	}
	if out == nil {
		return unknown, false
	}
	return out, true
}

// maxSettling is the longest Settling of the config's flows.
func (a *analysis) maxSettling() time.Duration {
	var d time.Duration
	for _, svc := range a.cfg.Services {
		for i := range svc.Flows {
			d = max(d, Settling(&svc.Flows[i]))
		}
	}
	return d
}

// noteResumedBefore sets resumedBefore from ws, in live figures in the
// period's first Settling: the end of each flow and location's latest
// unknown stretch that ended before the period's start, less than its
// flow's Settling before it.
func (a *analysis) noteResumedBefore(ws []state.Window) {
	if !a.end.Before(a.in.To) {
		return
	}
	settle := map[string]time.Duration{}
	for _, svc := range a.cfg.Services {
		for i := range svc.Flows {
			settle[svc.Flows[i].Name] = Settling(&svc.Flows[i])
		}
	}
	for _, w := range ws {
		if w.Kind != state.KindUnknown || w.Function != "" || w.End.IsZero() || w.End.After(a.in.From) {
			continue
		}
		d, ok := settle[w.Flow]
		if !ok || !a.end.Before(w.End.Add(d)) {
			continue
		}
		k := [2]string{w.Flow, w.Location}
		if a.resumedBefore == nil {
			a.resumedBefore = map[[2]string]time.Time{}
		}
		if e, ok := a.resumedBefore[k]; !ok || w.End.After(e) {
			a.resumedBefore[k] = w.End
		}
	}
}

// resumedRuns reads, at once, in live figures, the last run of each flow
// and location whose data may have resumed less than Settling before the
// elapsed end: its first run in the period is that recent, or a stored
// unknown stretch of it ends that recently (raw), of a flow with a window.
// Only those: a build of 50,000 flows reads none but the few a restart or
// an outage left settling in an outage.
func (a *analysis) resumedRuns(ctx context.Context, raw []state.Window) (map[[2]string]*probe.Run, error) {
	if !a.end.Before(a.in.To) {
		return nil, nil
	}
	settle := map[string]time.Duration{}
	for _, svc := range a.cfg.Services {
		for i := range svc.Flows {
			settle[svc.Flows[i].Name] = Settling(&svc.Flows[i])
		}
	}
	recent := map[[2]string]bool{}
	for k := range a.resumedBefore {
		recent[k] = true
	}
	// Only a flow with a window (down or degraded, anywhere) has a quorum
	// that the run could change: a restart of a whole fleet of healthy
	// flows reads none.
	windowed := map[string]bool{}
	for _, w := range raw {
		if w.Kind != state.KindUnknown {
			windowed[w.Flow] = true
		}
		if w.Kind == state.KindUnknown && w.Function == "" && !w.End.IsZero() && !w.End.After(a.end) {
			if d, ok := settle[w.Flow]; ok && a.end.Before(w.End.Add(d)) {
				recent[[2]string{w.Flow, w.Location}] = true
			}
		}
	}
	latest := map[[2]string]store.Span{}
	for _, c := range a.cov {
		k := [2]string{c.Flow, c.Location}
		d, ok := settle[c.Flow]
		if !ok || !windowed[c.Flow] || !recent[k] && !a.end.Before(c.First.Add(d)) {
			continue
		}
		if l, ok := latest[k]; !ok || c.Last.After(l.Last) {
			latest[k] = c
		}
	}
	if len(latest) == 0 {
		return nil, nil
	}
	out := make(map[[2]string]*probe.Run, len(latest))
	for k, c := range latest {
		if r := a.last[k]; r != nil && r.Start.Equal(c.Last) {
			out[k] = r
			delete(latest, k)
		}
	}
	if err := lastRunsOf(ctx, a.in.Store, latest, out); err != nil {
		return nil, err
	}
	return out, nil
}

// lastRunsOf reads, at once, the run at the last run time (Last) of each of
// spans (by flow and location) into out.
func lastRunsOf(ctx context.Context, st store.Store, spans map[[2]string]store.Span, out map[[2]string]*probe.Run) error {
	if len(spans) == 0 {
		return nil
	}
	keys := slices.SortedFunc(maps.Keys(spans), func(x, y [2]string) int { return cmp.Or(cmp.Compare(x[0], y[0]), cmp.Compare(x[1], y[1])) })
	at := make([]store.Span, len(keys))
	for i, k := range keys {
		at[i] = spans[k]
	}
	runs, err := runsAt(ctx, st, at)
	if err != nil {
		return err
	}
	for i, k := range keys {
		for j := range runs[i] {
			// Of two runs at once, the longer interval's, as the
			// rollups keep it (Span.LastInterval).
			if r := &runs[i][j]; r.Start.Equal(at[i].Last) && r.Location == k[1] && (out[k] == nil || r.Interval >= out[k].Interval) {
				out[k] = r
			}
		}
	}
	return nil
}

// dataEnd is where the data of flow f at a location whose last run in the
// period (c.Last) no run followed within two intervals ends: where the
// state machine starts the unknown stretch after it (state.Policy.Covers),
// when the next run was due. That is confirm_every after it when the daemon
// was to confirm-run the flow after it (state.ConfirmingAfter, Confirming's
// rule: the flow's down or degraded window open at it, or that run failed
// or was degraded, but not degraded by a certificate alone), else the
// interval; or the end of that run, if later. Before,
// always the interval: a prober stopped mid-outage while it probed every
// 10 s at 60 s counted 50 s of downtime after its last run that no run
// measured. The run is read (lastRunsAtEnd) while it is kept raw; once
// pruned, only the open window says (a failure or degraded run while up,
// short of down_after, then counts the interval).
func (a *analysis) dataEnd(f *config.Flow, ivl time.Duration, c store.Span, raw []state.Window) time.Time {
	run := a.last[[2]string{f.Name, c.Location}]
	if run != nil && !run.Start.Equal(c.Last) {
		run = nil // another series' (a flow under two services there)
	}
	var down, degraded bool
	for _, w := range raw {
		if w.Function == "" && w.Location == c.Location && !w.Start.After(c.Last) && (w.End.IsZero() || w.End.After(c.Last)) {
			down = down || w.Kind == state.KindDown
			degraded = degraded || w.Kind == state.KindDegraded
		}
	}
	pol := state.Policy{Interval: ivl, DownAfter: f.DownAfter, UpAfter: f.UpAfter, ConfirmEvery: f.ConfirmEvery}
	e := c.Last.Add(pol.Covers(state.ConfirmingAfter(run, down, degraded)))
	if run != nil {
		e = maxT(e, run.Start.Add(max(run.Duration, 0)))
	}
	return e
}

// lastRunsAtEnd reads, at once, the run at the last run time in the period
// of each flow and location with no run in the two intervals of that run
// before the elapsed period's end, nor after the end of a period that is
// over (ranAfter): the runs dataEnd judges, by the interval each had
// (flowWindows). The interval is the span's LastInterval (the last run's,
// kept with the rollups since schema version 16), so it reads exactly the
// last runs of the locations that stopped by it, not every location's at
// every build; the config's where it is not known (rolled up before 16, or
// stored before 15), as before. Before, it picked by the shorter of the
// config's and the shortest interval of the location's runs in the period:
// after a reload that lengthened a flow's interval (10 s to 60 s), every
// build as of now read the last run of each location still running for
// the rest of the period. A flow under two services at a location is
// picked by the later series' last run (byLocation's), not by an older
// one's span that stopped.
func (a *analysis) lastRunsAtEnd(ctx context.Context) (map[[2]string]*probe.Run, error) {
	n := 0
	for _, svc := range a.cfg.Services {
		n += len(svc.Flows)
	}
	ivls := make(map[string]time.Duration, n)
	for _, svc := range a.cfg.Services {
		for _, f := range svc.Flows {
			ivls[f.Name] = f.Interval
		}
	}
	latest := make(map[[2]string]store.Span, len(a.cov))
	for _, c := range slices.Concat(a.cov, a.edge) {
		if _, ok := ivls[c.Flow]; !ok {
			continue
		}
		k := [2]string{c.Flow, c.Location}
		if l, ok := latest[k]; ok {
			c.Last, c.LastInterval = store.JoinLast(l.Last, l.LastInterval, c.Last, c.LastInterval)
		}
		latest[k] = c
	}
	for k, c := range latest {
		ivl := ivls[k[0]]
		if ivl <= 0 {
			ivl = time.Minute
		}
		if c.LastInterval > 0 {
			ivl = c.LastInterval
		}
		if a.ranAfter[k] || a.end.Sub(c.Last) <= 2*ivl && (!a.end.Equal(a.in.To) || a.in.Now.Sub(c.Last) <= 2*ivl) {
			delete(latest, k)
		}
	}
	if len(latest) == 0 {
		return nil, nil
	}
	out := make(map[[2]string]*probe.Run, len(latest))
	if err := lastRunsOf(ctx, a.in.Store, latest, out); err != nil {
		return nil, err
	}
	return out, nil
}

// byLocation is cov (one flow's) with one span a location: a flow stored
// under two services at one location (moved from one to the other, or its
// name reused by another service, in the period) has two series there,
// and the time after the first one's last run is not unknown when the
// second one ran then (judged each on its own, the one's end and the
// other's start made the whole period unknown). Runs are summed.
func byLocation(cov []store.Span) []store.Span {
	var out []store.Span
	at := map[string]int{}
	for _, c := range cov {
		i, ok := at[c.Location]
		if !ok {
			at[c.Location] = len(out)
			out = append(out, c)
			continue
		}
		o := &out[i]
		o.First = minT(o.First, c.First)
		o.Last, o.LastInterval = store.JoinLast(o.Last, o.LastInterval, c.Last, c.LastInterval)
		o.Runs += c.Runs
		o.Confirm += c.Confirm
	}
	return out
}

func endOr(e, def time.Time) time.Time {
	if e.IsZero() {
		return def
	}
	return e
}

// required is how many of r reporting locations must be down.
func (a *analysis) required(r int) int {
	q := a.cfg.Policy.Quorum
	switch q.Mode {
	case "all":
		return r
	case "count":
		if q.N >= 1 && q.N < r {
			return q.N
		}
		return r
	default:
		return r/2 + 1
	}
}

// quorum turns the per-location windows of one flow function and kind into
// counted windows: those stretches where at least the required number of the
// reporting locations were in such a window. The stretches of location
// windows that no counted window covers are returned as below quorum. first is each
// location's first run in the period.
func (a *analysis) quorum(service, flow, fn string, kind state.Kind, ws []state.Window, locs []string, unknown map[string]set, first map[string]time.Time) (counted, below []measured) {
	from, end := a.in.From, a.end
	type lw struct {
		w  state.Window
		iv iv
	}
	var lws []lw
	points := []time.Time{from, end}
	for _, w := range ws {
		x := iv{maxT(w.Start, from), minT(endOr(w.End, end), end)}
		if !x.e.After(x.s) {
			continue
		}
		lws = append(lws, lw{w, x})
		points = append(points, x.s, x.e)
	}
	if len(lws) == 0 {
		return nil, nil
	}
	for _, l := range locs {
		for _, u := range unknown[l] {
			points = append(points, u.s, u.e)
		}
	}
	slices.SortFunc(points, func(x, y time.Time) int { return x.Compare(y) })
	points = slices.CompactFunc(points, func(x, y time.Time) bool { return x.Equal(y) })

	key := state.Key{Service: service, Flow: flow, Function: fn}
	var cur *measured
	var curWs []int
	var firstDown, lastDown []string // locations down in the first and last stretch of cur
	flush := func() {
		if cur == nil {
			return
		}
		cur.startCut = a.startCut(cur.s, firstDown, unknown, first, func(yield func(state.Window) bool) {
			for _, i := range curWs {
				if lws[i].iv.s.Equal(cur.s) && !yield(lws[i].w) {
					return
				}
			}
		})
		cur.endCut = a.endCut(cur.e, lastDown, unknown, func(yield func(state.Window) bool) {
			for _, i := range curWs {
				if lws[i].iv.e.Equal(cur.e) && !yield(lws[i].w) {
					return
				}
			}
		})
		// Cause and confirmation from the earliest location window.
		best := -1
		for _, i := range curWs {
			if best < 0 || lws[i].w.Start.Before(lws[best].w.Start) {
				best = i
			}
		}
		cur.cause, cur.err = lws[best].w.CauseStep, lws[best].w.Error
		// Confirmed when as many locations as the quorum needs had
		// confirmed their own windows (not when the first one did): the
		// first location confirmation at which enough confirmed location
		// windows cover that instant.
		//
		// Never before the counted start. Of a window the period's start
		// cuts (start_cut "period") whose confirming run began before the
		// period, that is the period's start, as its start, causes and
		// duration are: a window is what the period saw of it, start <=
		// confirmed (confirmed - start, a time to detect, is never
		// negative), and the period's runs cannot always tell the
		// confirmation before it: --recompute replays only flowLookback
		// before --from, so of a window begun earlier it finds the first
		// failing run there and a confirmation down_after-1 runs later
		// (seoul-a down from 10:10, a range from 10:29:30: 10:21 where the
		// stored window says 10:11), and stored and recomputed windows
		// must agree. Nothing needs the earlier instant: the renderers do
		// not print confirmed, MTTD leaves out cut starts, and the status
		// page dates its alert's confirmation for a window open across the
		// month's start from the previous days' figures (statuspage's
		// verdict). A cut window confirmed in the period keeps its own
		// confirming run's start (TestCutWindowConfirmed).
		slices.Sort(curWs)
		curWs = slices.Compact(curWs)
		var cands []time.Time
		for _, i := range curWs {
			cands = append(cands, maxT(lws[i].w.Confirmed, cur.s))
		}
		slices.SortFunc(cands, func(x, y time.Time) int { return x.Compare(y) })
		var need int
		for _, c := range cands {
			var confirmed []string
			for _, i := range curWs {
				x := lws[i]
				if !x.w.Confirmed.After(c) && !c.Before(x.iv.s) && c.Before(x.iv.e) && !slices.Contains(confirmed, x.w.Location) {
					confirmed = append(confirmed, x.w.Location)
				}
			}
			reporting := reportingAt(locs, unknown, c)
			if reporting > 0 && len(confirmed) >= a.required(reporting) {
				cur.confirmed, need = c, a.required(reporting)
				break
			}
		}
		if cur.confirmed.IsZero() && len(cands) > 0 {
			// Never confirmed at the quorum while counted (its location
			// windows confirmed, but not enough of them at once: some
			// ended before the others' confirmations): known when the
			// windows of the quorum at one of its instants were all
			// known, the need-th of theirs to be, and confirmed by that
			// one's confirming run, both maybe after its end (quorum all,
			// seoul-a failing 10:05:04-10:11:04, busan-b down 10:05-10:20,
			// daegu-c from 10:11:00 with a 15 s first run: 10:11:00-10:11:04
			// known when daegu-c's confirming run from 10:12:00 ended);
			// before, the first location confirmation clipped to its
			// start, seoul-a's of 10:06:04, so 10:11:00 and a time to
			// detect of 0. The election (madeKnown) keeps the first to
			// know: none of their probers saw it open.
			need = 1
			cur.confirmed, cur.known = a.knownLate(cur, locs, unknown, curWs, func(i int) (state.Window, iv) { return lws[i].w, lws[i].iv })
			if cur.confirmed.IsZero() { // not expected: the first confirmation, as before
				cur.confirmed = cands[0]
				cur.known = quorumKnown(cur, need, curWs, func(i int) (state.Window, iv) { return lws[i].w, lws[i].iv })
			}
		} else {
			cur.known = quorumKnown(cur, need, curWs, func(i int) (state.Window, iv) { return lws[i].w, lws[i].iv })
		}
		// Several windows began at the start (at the period's start, or
		// in the same second): those whose probers' kicks could have seen
		// it open are the ones whose confirmations made the quorum known,
		// the need-th earliest of the locations down at the start to know
		// (each its window's KnownAt, not clipped to the period: the
		// verdict before it may have seen the window): busan-b's
		// confirming run ended at 10:12:05, seoul-a's at 10:12:00.3, both
		// down from 10:11, majority of 3: seoul-a's kicked rebuild at
		// 10:12:02.3 found busan-b not yet down, busan-b's at 10:12:07
		// found the quorum. Those tied stay (the alerts elect the first);
		// all of them where none is the need-th. need is the quorum's
		// when it was confirmed, as for Known, not at the start: majority
		// of 4, three down at once while three reported, the fourth
		// reporting by the confirmation, so the third to know made it
		// known, not the second.
		if len(cur.by) > 1 {
			cur.by = madeKnown(cur, need, curWs, func(i int) (state.Window, iv) { return lws[i].w, lws[i].iv })
		}
		// The causes of every location window that makes it, clipped to
		// it: the location that went down first may recover while others
		// keep the window counted with errors of their own.
		// Each only where its location reported: one whose prober
		// stopped with its window open has no cause after its data ends.
		seen := func(i int) seenWindow {
			// minus walks all of its argument: the location's unknown
			// time in the window only, not in the whole period.
			return seenWindow{lws[i].w, set{lws[i].iv}.minus(unknown[lws[i].w.Location].clip(cur.s, cur.e))}
		}
		byLoc := make([]seenWindow, 0, len(curWs))
		byLoc = append(byLoc, seen(best))
		for _, i := range curWs {
			if i != best {
				byLoc = append(byLoc, seen(i))
			}
		}
		cur.causes = mergeCauses(byLoc, cur.s, cur.e)
		// Its cause_step and error are its first cause, as any window's:
		// the first location's first cause may have ended before the
		// counted window began.
		if len(cur.causes) > 0 {
			cur.cause, cur.err = cur.causes[0].Step, cur.causes[0].Error
		}
		// The edges are those of the location windows that make them (the
		// last to go down, the first to come back), when one does. The
		// counted window began once enough of
		// the locations down at its start really went down, so no later
		// than the need-th earliest end of their first failing runs (see
		// below): those of the windows that begin there, and of any that
		// began before but whose first run was still in flight (seoul-a's
		// hung from 10:10:30 to 10:11:15, busan-b's window begins at
		// 10:11:00 with a 300 ms run: 15 s). A later bound not known (a
		// window stored before schema version 12, its run pruned) leaves
		// the edge's not known when it is the need-th (at the end, the
		// m-th, below); both are not known at a start no location window
		// begins at.
		//
		// The end mirrors the start. The counted window ended once fewer
		// than need were down: of the locations that come back at the end
		// (their windows end there), m = need less those still down after
		// it had to really come back (m is one when only one does; all of
		// them when as many come back as were down beyond need). Each came
		// back after its last failing run (LastIn) and by the end of the
		// run that ended its window (FirstAfterEnd). So the quorum surely
		// was down up to the m-th latest of their last failing runs (at
		// it, m of them and those still down were), and may have been to
		// the m-th latest end of those runs (later, fewer than m may
		// still have been down): the end's earlier and later bounds, not
		// the widest of theirs. Quorum 2 of 3, A and B back at 10:20 and C
		// up: one sufficed, so B's 40 ms run bounds it, not A's 14 s hang;
		// all three down and A and B back: both had to, so the later of
		// their last failing runs and the longer of their runs. A location
		// whose window ended before the counted end counts with its own
		// (among the m-th latest): its last failing run may be later than
		// theirs (runs at :30, failing at 10:18:30, where B skipped its
		// 10:19 run: -90 s, not -120 s), and its run that ended its window
		// may still have been in flight at the end (back at 10:19:30 with a
		// 45 s run, C down: +15 s). A later bound not known sorts as the
		// latest (it may be any instant): the end's is not known when the
		// m-th latest is one; an earlier one as the earliest. Where m is
		// not between one and how many come back at the end (the quorum
		// changed with the locations reporting), the widest, as before.
		//
		// The earlier bound of the start is the earliest instant at which
		// the quorum may really have been down. A location may have been
		// down from just after its last run before its window (LastBefore,
		// which passed) without a break into its window; so at any instant
		// after that, at least as many locations may have been down as have
		// such an instant before it, and the quorum (need: what it requires
		// of the locations reporting at the counted start) may have been
		// down from just after the need-th earliest of those instants. They
		// are those of the locations down at the counted start, and of the
		// locations whose windows join it later but whose last run before
		// them was before its start: quorum 2 of 3, A down since 10:00, B's
		// window begins the counted one at 10:11 after a pass at 10:10 and
		// C's at 10:11:50 after a pass at 10:09:50 (its 10:10:50 run
		// skipped): A and C may both have been down from 10:09:50, so -70 s,
		// not B's -60 s alone. A location down at the start whose window
		// knows no run before it (its first run, after an unknown stretch,
		// stored before schema version 6 with last_before_ns 0) may have
		// been down at any instant before, and so may one that joins later
		// with none known though it reported just before its window (stored
		// before schema version 6): when the need-th earliest is such a
		// one, the bound is not known. One that joins later with no data
		// just before its window does not count (the quorum counts the
		// locations reporting, and it reported nothing to be down in). The
		// earlier bound too is not known at a start no location window
		// begins at.
		//
		// The later bound of the start mirrors it: the quorum really was
		// down once need of the locations down at the counted start really
		// were, so by the need-th earliest of the instants by which each
		// was (the end of its window's first run, FirstInEnd): quorum 2 of
		// 3, all three down from 10:10 with first runs of 15 s, 2 s and
		// 300 ms, two were down by 10:10:02 (+2 s, not the latest's 15 s).
		// Where only need are down there, that is the latest, as before. A
		// window that begins at the start and does not know its run's end
		// may have begun as late as any instant: when the need-th is such
		// a one, the bound is not known. One down since before the start
		// that does not know it bounds nothing, as before (by the start).
		// Locations whose windows join the counted one after its start
		// count too, each from its own first run's end while its window
		// lasts, and those down at the start only while theirs do: the
		// bound is the first instant at which need of them surely were
		// down (surelyDown): quorum 2 of 3, A down since 10:05, B's window
		// begins the counted one at 10:11:00 with a 15 s hang, C's at
		// 10:11:03 with a 2.3 s run: A and C were by 10:11:05.3 (+5.3 s,
		// where B's +15 s ignored C); with A back at 10:11:04, only B and C
		// at 10:11:15 (+15 s). Where no instant has need of them, the
		// need-th earliest of those down at the start, as before.
		startsHere, endLaterUnknown := false, false
		// downFrom is, for each location down at the counted start or
		// joining it later, the instant after which it may have been down
		// without a break into the counted window (zero: any instant).
		downFrom := map[string]time.Time{}
		// downBy is, for each location down at the counted start, the
		// instant by which it really was down (zero: not known).
		downBy := map[string]time.Time{}
		// upFrom and upBy are, for each location whose window ends at the
		// counted end, its last failing run (after which it may have been
		// up) and the end of the run that ended it (by which it was; zero:
		// not known); leftBy, for each whose window ended before the
		// counted end, the end of that run where it was after the end.
		upFrom, upBy := map[string]time.Time{}, map[string]time.Time{}
		leftFrom, leftBy := map[string]time.Time{}, map[string]time.Time{}
		for _, i := range curWs {
			w := lws[i].w
			atStart, atEnd := cur.s.Equal(w.Start), !w.End.IsZero() && cur.e.Equal(w.End)
			if atStart {
				startsHere = true
			}
			if atStart || w.Start.Before(cur.s) {
				by := w.FirstInEnd
				if by.IsZero() && !atStart {
					by = cur.s
				}
				if d, ok := downBy[w.Location]; !ok || d.IsZero() || !by.IsZero() && by.Before(d) {
					downBy[w.Location] = by
				}
			}
			known := !w.LastBefore.IsZero() && !w.LastBefore.After(w.Start)
			f, ok := first[w.Location]
			dataBefore := ok && f.Before(w.Start) && !unknown[w.Location].contains(w.Start.Add(-1))
			joins := known && w.LastBefore.Before(cur.s) || !known && dataBefore
			if !w.Start.After(cur.s) || joins {
				b := w.LastBefore
				if !known {
					b = time.Time{}
				}
				if d, ok := downFrom[w.Location]; !ok || b.Before(d) {
					downFrom[w.Location] = b
				}
			}
			if atEnd {
				endLaterUnknown = endLaterUnknown || w.FirstAfterEnd.IsZero()
				if !w.LastIn.IsZero() && (cur.lastIn.IsZero() || w.LastIn.Before(cur.lastIn)) {
					cur.lastIn = w.LastIn
				}
				if w.FirstAfterEnd.After(cur.firstAfterEnd) {
					cur.firstAfterEnd = w.FirstAfterEnd
				}
				upFrom[w.Location], upBy[w.Location] = w.LastIn, w.FirstAfterEnd
			} else if !w.End.IsZero() && w.End.Before(cur.e) {
				// Left before the end: down until its last failing run,
				// maybe until the end of the run that ended its window.
				if f, ok := leftFrom[w.Location]; !ok || w.LastIn.After(f) {
					leftFrom[w.Location], leftBy[w.Location] = w.LastIn, w.FirstAfterEnd
				}
			}
		}
		// The end's bounds: the m-th latest (see above).
		if len(upFrom) > 0 {
			reporting := reportingAt(locs, unknown, cur.e.Add(-1))
			m := a.required(reporting) - (len(lastDown) - len(upFrom))
			if m >= 1 && m <= len(upFrom) {
				// Latest first, not known (zero) first for the later bound
				// (it may be any instant after) and last for the earlier
				// (any instant before).
				from, by := slices.Collect(maps.Values(upFrom)), slices.Collect(maps.Values(upBy))
				for l := range leftFrom {
					if !slices.Contains(lastDown, l) {
						from, by = append(from, leftFrom[l]), append(by, leftBy[l])
					}
				}
				slices.SortFunc(from, func(x, y time.Time) int { return y.Compare(x) })
				cur.lastIn = from[m-1]
				slices.SortFunc(by, func(x, y time.Time) int {
					switch {
					case x.IsZero() && y.IsZero():
						return 0
					case x.IsZero():
						return -1
					case y.IsZero():
						return 1
					}
					return y.Compare(x)
				})
				cur.firstAfterEnd = by[m-1]
				endLaterUnknown = by[m-1].IsZero()
			}
		}
		cur.firstInEnd = time.Time{} // not known at a start no location window begins at
		if startsHere {
			reporting := reportingAt(locs, unknown, cur.s)
			n := a.required(reporting)
			since := slices.SortedFunc(maps.Values(downFrom), func(x, y time.Time) int { return x.Compare(y) })
			if n >= 1 && n <= len(since) {
				cur.lastBefore = since[n-1] // zero (not known): need locations may have been down at any instant before
			}
			// Not known (zero) sorts last: it may be any instant.
			by := slices.SortedFunc(maps.Values(downBy), func(x, y time.Time) int {
				switch {
				case x.IsZero() && y.IsZero():
					return 0
				case x.IsZero():
					return 1
				case y.IsZero():
					return -1
				}
				return x.Compare(y)
			})
			if t, ok := surelyDown(cur.s, func(time.Time) int { return max(n, 1) }, nil, curWs, func(i int) state.Window { return lws[i].w }); ok {
				cur.firstInEnd = t
			} else if k := min(max(n, 1), len(by)); k >= 1 && !by[k-1].IsZero() {
				cur.firstInEnd = maxT(by[k-1], cur.s)
			}
			// Never surely down at once: not even with every first run
			// whose end is not known taken to have ended at its start
			// (the earliest it may have), before the counted end; by the
			// quorum at each instant, of the locations reporting then, as
			// the window is counted (majority of 4, three down at the
			// start, then two of the three reporting once a prober
			// stopped: two surely down is enough from then on), so at the
			// instants the locations reporting change too.
			early := func(i int) state.Window {
				w := lws[i].w
				if w.FirstInEnd.IsZero() {
					w.FirstInEnd = w.Start
				}
				return w
			}
			changes := unknownEdgesIn(locs, unknown, cur.s, cur.e)
			needAt := func(t time.Time) int {
				if r := reportingAt(locs, unknown, t); r > 0 {
					return max(a.required(r), 1)
				}
				return len(locs) + 1 // no one reports: not down
			}
			t, ok := surelyDown(cur.s, needAt, changes, curWs, early)
			cur.neverSure = !ok || !t.Before(cur.e)
		}
		if endLaterUnknown {
			cur.firstAfterEnd = time.Time{}
		}
		slices.Sort(cur.locs)
		cur.locs = slices.Compact(cur.locs)
		counted = append(counted, *cur)
		cur, curWs = nil, nil
	}
	for i := 0; i+1 < len(points); i++ {
		s, e := points[i], points[i+1]
		if !s.Before(end) || !e.After(from) {
			continue
		}
		reporting := 0
		var down []string
		var idx []int
		for _, l := range locs {
			if unknown[l].contains(s) {
				continue
			}
			reporting++
			hit := false
			for j, x := range lws {
				if x.w.Location == l && !s.Before(x.iv.s) && s.Before(x.iv.e) {
					hit = true
					idx = append(idx, j)
				}
			}
			if hit {
				down = append(down, l)
			}
		}
		if reporting > 0 && len(down) >= a.required(reporting) {
			if cur != nil && cur.e.Equal(s) {
				cur.e = e
				cur.locs = append(cur.locs, down...)
				curWs = append(curWs, idx...)
				lastDown = down
				continue
			}
			flush()
			cur = &measured{Key: key, kind: kind, iv: iv{s, e}, locs: append([]string(nil), down...)}
			for _, j := range idx {
				if x := lws[j]; x.iv.s.Equal(s) && !slices.Contains(cur.by, x.w.Location) {
					cur.by = append(cur.by, x.w.Location)
				}
			}
			slices.Sort(cur.by)
			curWs = idx
			firstDown, lastDown = down, down
			continue
		}
		flush()
	}
	flush()
	// Split: fewer than the quorum were down between two counted windows
	// while a location window lasted from the first into the second (one
	// outage the policy counts as two: majority of 3, daegu-c down
	// 10:13-10:25, seoul-a back at 10:15:00, busan-b down from 10:15:01):
	// the second names the first's start.
	for i := 1; i < len(counted); i++ {
		prev, c := &counted[i-1], &counted[i]
		for _, x := range lws {
			if x.iv.s.Before(prev.e) && x.iv.e.After(c.s) {
				c.splitFrom = prev.s
				break
			}
		}
	}
	// Open: reaches the end of the elapsed period while a location window
	// that makes it up is still open, and the period is not over.
	for i := range counted {
		c := &counted[i]
		if !c.e.Equal(end) || !end.Before(a.in.To) {
			continue
		}
		for _, x := range lws {
			if x.w.End.IsZero() && x.iv.e.Equal(end) && slices.Contains(c.locs, x.w.Location) {
				c.open = true
			}
		}
	}
	cs := make(set, 0, len(counted))
	for _, c := range counted {
		cs = append(cs, c.iv)
	}
	for _, x := range lws {
		one := func(yield func(state.Window) bool) { yield(x.w) }
		locs := []string{x.w.Location}
		// Below quorum where no counted window covers it: the stretches of
		// a long single-location outage before and after the time other
		// locations joined it are listed, not dropped with the whole window.
		// Seen only while its location reports: a window left open by a
		// prober that stopped during it ends where its data ends (no_data),
		// and is not seen at all in a later period without its runs.
		for _, p := range (set{x.iv}).minus(cs).minus(unknown[x.w.Location]) {
			b := measured{
				Key: key, kind: kind, iv: p, open: x.w.End.IsZero() && p.e.Equal(end) && end.Before(a.in.To),
				startCut: a.startCut(p.s, locs, unknown, first, one), endCut: a.endCut(p.e, locs, unknown, one),
				confirmed: maxT(x.w.Confirmed, p.s), known: maxT(x.w.KnownAt(), p.s), cause: x.w.CauseStep, err: x.w.Error, locs: locs,
			}
			b.edges(x.w)
			if len(b.causes) > 0 { // its first cause, as any window's
				b.cause, b.err = b.causes[0].Step, b.causes[0].Error
			}
			below = append(below, b)
		}
	}
	return counted, below
}

// surelyDown is the first instant from s at which need locations surely
// were down, by the windows idx of a counted window starting at s: each
// location from the end of its window's first run (FirstInEnd, by which its
// run had failed; s for a window begun before s that does not know it; never
// for one begun at or after s that does not know it) to its window's end,
// which it may have been down until. Windows that join the counted one after
// s count as those down at s do: quorum 2 of 3, A down since before, B's
// window begins the counted one at s with a run that hung 15 s, C's a few
// seconds after s with one that failed by s+5.3s: A and C were down by then,
// so s+5.3s, not B's s+15s; but not where A came back before C's run ended.
// need is how many must be at each instant; changes are further instants
// to look at (where need may change: locations that stop or start
// reporting). false when no instant has need of them (fewer know their
// runs' ends).
func surelyDown(s time.Time, need func(time.Time) int, changes []time.Time, idx []int, at func(int) state.Window) (time.Time, bool) {
	type span struct {
		loc      string
		by, till time.Time // till zero: open
	}
	var spans []span
	cands := []time.Time{s}
	for _, i := range idx {
		w := at(i)
		by := w.FirstInEnd
		if by.IsZero() {
			if !w.Start.Before(s) {
				continue // may have gone down at any instant
			}
			by = s
		}
		by = maxT(by, s)
		spans = append(spans, span{w.Location, by, w.End})
		cands = append(cands, by)
	}
	for _, t := range changes {
		if t.After(s) {
			cands = append(cands, t)
		}
	}
	slices.SortFunc(cands, func(x, y time.Time) int { return x.Compare(y) })
	for _, t := range slices.CompactFunc(cands, func(x, y time.Time) bool { return x.Equal(y) }) {
		var locs []string
		for _, sp := range spans {
			if !sp.by.After(t) && (sp.till.IsZero() || !t.After(sp.till)) && !slices.Contains(locs, sp.loc) {
				locs = append(locs, sp.loc)
			}
		}
		if len(locs) >= need(t) {
			return t, true
		}
	}
	return time.Time{}, false
}

// quorumKnown is when a counted window's confirmation was known: the end of
// the confirming runs (state.Window.KnownAt) of the need locations that knew
// first, each location at its earliest confirmation made while its own
// window was down (so with a quorum of all the locations, the last of their
// confirming runs to end: one that began first but hung to its timeout is
// known last). Never before the confirmation.
func quorumKnown(cur *measured, need int, idx []int, at func(int) (state.Window, iv)) time.Time {
	var locs []string
	var known []time.Time // per location of locs
	for _, i := range idx {
		w, x := at(i)
		c := maxT(w.Confirmed, cur.s)
		if c.Before(x.s) || !c.Before(x.e) {
			continue
		}
		k := maxT(w.KnownAt(), c)
		if j := slices.Index(locs, w.Location); j >= 0 {
			known[j] = minT(known[j], k)
			continue
		}
		locs, known = append(locs, w.Location), append(known, k)
	}
	if len(known) == 0 { // confirmed past its window's end in the period: that window's run
		for _, i := range idx {
			if w, _ := at(i); maxT(w.Confirmed, cur.s).Equal(cur.confirmed) {
				return maxT(w.KnownAt(), cur.confirmed)
			}
		}
		return cur.confirmed
	}
	slices.SortFunc(known, func(x, y time.Time) int { return x.Compare(y) })
	return maxT(known[min(max(need, 1), len(known))-1], cur.confirmed)
}

// knownLate dates a counted window never confirmed at the quorum while it
// was counted: at each instant of it where the location windows down or the
// locations reporting change, the locations down then and the quorum they
// made (of those reporting then); the earliest, over those instants, of the
// need-th of their windows' KnownAt, and the Confirmed of that window (each
// no earlier than cur's start). Zero when no instant has the quorum down.
func (a *analysis) knownLate(cur *measured, locs []string, unknown map[string]set, idx []int, at func(int) (state.Window, iv)) (confirmed, known time.Time) {
	pts := []time.Time{cur.s}
	for _, i := range idx {
		if _, x := at(i); x.s.After(cur.s) && x.s.Before(cur.e) {
			pts = append(pts, x.s)
		}
	}
	pts = append(pts, unknownEdgesIn(locs, unknown, cur.s, cur.e)...)
	type kc struct{ k, c time.Time }
	for _, t := range pts {
		r := reportingAt(locs, unknown, t)
		if r == 0 {
			continue
		}
		byLoc := map[string]kc{}
		for _, i := range idx {
			w, x := at(i)
			if t.Before(x.s) || !t.Before(x.e) || unknown[w.Location].contains(t) {
				continue
			}
			if o, ok := byLoc[w.Location]; !ok || w.KnownAt().Before(o.k) {
				byLoc[w.Location] = kc{w.KnownAt(), w.Confirmed}
			}
		}
		need := a.required(r)
		if need < 1 || len(byLoc) < need {
			continue
		}
		ks := slices.SortedFunc(maps.Values(byLoc), func(x, y kc) int { return x.k.Compare(y.k) })
		if k := ks[need-1]; known.IsZero() || k.k.Before(known) {
			confirmed, known = k.c, k.k
		}
	}
	if known.IsZero() {
		return time.Time{}, time.Time{}
	}
	return maxT(confirmed, cur.s), maxT(known, maxT(confirmed, cur.s))
}

// madeKnown narrows cur.by, the locations whose windows began at cur's
// start, to those whose confirmations (KnownAt, each location's earliest)
// were the need-th earliest to be known of all the locations down at the
// start: the quorum was known when theirs were, so their probers' kicked
// rebuilds are the ones that could have seen it open. cur.by when none of
// them is.
func madeKnown(cur *measured, need int, idx []int, at func(int) (state.Window, iv)) []string {
	known := map[string]time.Time{}
	for _, i := range idx {
		w, x := at(i)
		if x.s.After(cur.s) || !x.e.After(cur.s) {
			continue
		}
		if k, ok := known[w.Location]; !ok || w.KnownAt().Before(k) {
			known[w.Location] = w.KnownAt()
		}
	}
	ks := slices.SortedFunc(maps.Values(known), func(x, y time.Time) int { return x.Compare(y) })
	if need < 1 || need > len(ks) {
		return cur.by
	}
	var out []string
	for _, l := range cur.by {
		if k, ok := known[l]; ok && k.Equal(ks[need-1]) {
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		return cur.by
	}
	return out
}

// unknownEdgesIn are the instants strictly between s and e where one of
// locs stops or starts reporting (its unknown stretches' edges): where the
// quorum needed may change.
func unknownEdgesIn(locs []string, unknown map[string]set, s, e time.Time) []time.Time {
	var out []time.Time
	for _, l := range locs {
		for _, u := range unknown[l] {
			for _, t := range []time.Time{u.s, u.e} {
				if t.After(s) && t.Before(e) {
					out = append(out, t)
				}
			}
		}
	}
	return out
}

// reportingAt is how many of locs report at t (not unknown there).
func reportingAt(locs []string, unknown map[string]set, t time.Time) int {
	n := 0
	for _, l := range locs {
		if !unknown[l].contains(t) {
			n++
		}
	}
	return n
}

// startCut says why a counted window starting at s has no measured start:
// CutPeriod when a location window that starts it began before the period,
// CutNoData when a location down at s had no data just before (the prober
// came back to an outage already under way, or its first run there is in
// the period found one: a window that opened on the location's first run
// in the period with no run known before it); "" otherwise.
func (a *analysis) startCut(s time.Time, locs []string, unknown map[string]set, first map[string]time.Time, starting iter.Seq[state.Window]) string {
	if s.Equal(a.in.From) {
		for w := range starting {
			if w.Start.Before(a.in.From) {
				return CutPeriod
			}
		}
		return ""
	}
	for _, l := range locs {
		if unknown[l].contains(s.Add(-1)) {
			return CutNoData
		}
	}
	for w := range starting {
		if f, ok := first[w.Location]; ok && w.Start.Equal(s) && w.LastBefore.IsZero() && !f.Before(s) {
			return CutNoData
		}
	}
	return ""
}

// endCut says why a counted window ending at e has no measured end:
// CutPeriod when the period is over and a location window that ends it went
// on after the period, CutNoData when a location down until e has no data
// from e (the prober stopped during the outage); "" otherwise (a measured
// end, or a window still open at Now, which is open rather than cut).
func (a *analysis) endCut(e time.Time, locs []string, unknown map[string]set, ending iter.Seq[state.Window]) string {
	if e.Equal(a.end) {
		if a.end.Before(a.in.To) {
			return ""
		}
		for w := range ending {
			if w.End.IsZero() || w.End.After(a.end) {
				return CutPeriod
			}
		}
		return ""
	}
	for _, l := range locs {
		if unknown[l].contains(e) {
			return CutNoData
		}
	}
	return ""
}
