package report

import (
	"cmp"
	"slices"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/state"
)

// reconcile pairs each declared incident of the service that overlaps the
// elapsed period (up to now) with the measured windows of that service near it (overlapping
// [declared start - 2 intervals, declared end + 2 intervals]).
//
// A window plays one of two parts. A window of a declared function measures
// the incident: the incident's measured start and end are its. Each such
// window measures one incident only, the one it overlaps most (then the one
// whose mode matches its kind: a degraded window a `slow` incident, a down
// window any other; then the nearest), so that two incidents declared on one
// function each get their own window; an incident left without one (two
// incidents declared overlapping on one function, measured as one window)
// shares the windows of its functions inside its declared time, whose edges
// are then its measured ones. Windows that the incident explains
// without measuring it (a function blocked by a failing step that serves a
// declared function, or the whole flow failing there) are matched but do not
// move the measured times. Both are listed in the reconciliation's windows.
//
// An incident just outside the period (declared over as it began, or
// declared from its end) is not listed, but still measures and explains the
// windows near it, so the period's piece of its outage is not undeclared.
//
// Down windows measure and explain any incident; degraded windows only `slow`
// incidents, or any when the policy counts degraded time as down. Windows
// counted as down that no incident matches are undeclared, unless they lie
// wholly inside planned maintenance.
//
// Measured edges are only measured ones. An edge the period cut, or next to
// time without data (the prober was down), is null with start_cut/end_cut
// saying why, as is the end of a window still open. Where a function was
// blocked by an earlier step's failure outside the incident's declared
// interval, that blocked stretch is not this incident's (see ownEdges):
// start_cut/end_cut "blocked" mark an edge taken from where the block ends
// (or begins), or a null edge the block hides.
//
// Windows below quorum (seen from too few locations to count) measure
// nothing, but those of an incident's functions near it are listed with it
// (BelowQuorum), so that an incident seen from one location of three reads
// as that, not as unseen.
func (a *analysis) reconcile(cs *config.Service, ws, below []Window, timelines []*config.Timeline) ([]Reconciliation, []Window) {
	countDeg := a.cfg.Policy.Degraded == "down"
	// listed: the incident overlaps the elapsed period, so it is
	// reconciled in the report. An incident that starts after now (a
	// period not over yet is accounted up to now) has not happened: not
	// "not detected". The others still explain the windows near them: the
	// tail of an outage declared over just before the period (seen back a
	// run later), or the first minute of one declared just after it, is
	// theirs, not an undeclared outage.
	type declared struct {
		inc    *config.Incident
		name   string
		listed bool
	}
	var decl []declared
	for _, tl := range timelines {
		if tl == nil {
			continue
		}
		name := tl.Name
		if name == "" {
			name = tl.File
		}
		for ii := range tl.Incidents {
			inc := &tl.Incidents[ii]
			if inc.Service != cs.Name {
				continue
			}
			// a.end is the period's start when the period has not begun:
			// an incident declared from before it has not begun either
			// if it starts after now.
			listed := inc.Start.Before(a.end) && inc.Start.Before(a.in.Now) && (inc.Ongoing() || inc.End.After(a.in.From))
			decl = append(decl, declared{inc, name, listed})
		}
	}

	span := func(w Window) iv {
		sp := iv{w.Start, a.end}
		if w.End != nil {
			sp.e = *w.End
		} else if w.EndCut == CutPeriod {
			sp.e = a.in.To
		}
		return sp
	}
	spans := make([]iv, len(ws))
	for i, w := range ws {
		spans[i] = span(w)
	}
	// nearSpan: a window of flow spanning sp overlaps the incident widened
	// by the slack.
	nearSpan := func(flow string, sp iv, inc *config.Incident) bool {
		slack := 2 * a.flowInterval(cs, flow)
		if !sp.e.After(inc.Start.Add(-slack)) {
			return false
		}
		return inc.Ongoing() || sp.s.Before(inc.End.Add(slack))
	}
	near := func(i int, inc *config.Incident) bool { return nearSpan(ws[i].Flow, spans[i], inc) }
	compatible := func(w Window, inc *config.Incident) bool {
		return w.Kind == string(state.KindDown) || inc.Mode == "slow" || countDeg
	}
	measures := func(w Window, inc *config.Incident) bool {
		return w.Function != nil && slices.Contains(inc.Functions, *w.Function)
	}

	// Each measuring window goes to the one incident it fits best.
	assigned := make([]int, len(ws))
	for i, w := range ws {
		assigned[i] = -1
		type score struct {
			overlap, kind, dist time.Duration
		}
		var best score
		for j, d := range decl {
			if !measures(w, d.inc) || !compatible(w, d.inc) || !near(i, d.inc) {
				continue
			}
			de := a.end
			if !d.inc.Ongoing() {
				de = d.inc.End
			}
			di := iv{d.inc.Start, de}
			sc := score{overlap: set{spans[i]}.intersect(set{di}).total()}
			if (d.inc.Mode == "slow") == (w.Kind == string(state.KindDegraded)) {
				sc.kind = 1
			}
			sc.dist = -max(di.s.Sub(spans[i].e), spans[i].s.Sub(di.e), 0)
			if assigned[i] < 0 || cmp.Or(cmp.Compare(sc.overlap, best.overlap), cmp.Compare(sc.kind, best.kind), cmp.Compare(sc.dist, best.dist)) > 0 {
				assigned[i], best = j, sc
			}
		}
	}

	out := []Reconciliation{}
	matched := make([]bool, len(ws))
	for j, d := range decl {
		inc := d.inc
		r := Reconciliation{
			ID: inc.ID, Title: inc.Title, Timeline: d.name, Functions: append([]string{}, inc.Functions...),
			DeclaredStart: inc.Start.In(a.loc), Windows: []Window{}, BelowQuorum: []Window{},
		}
		if !inc.Ongoing() {
			e := inc.End.In(a.loc)
			r.DeclaredEnd = &e
		}
		var first, last *edge
		take := func(i int) {
			s, e, ok := a.ownEdges(cs, ws, i, spans[i], inc)
			if !ok { // blocked throughout, and not while inc was declared
				return
			}
			if first == nil || s.t.Before(first.t) || (s.t.Equal(first.t) && s.nul) {
				first = &s
			}
			if last == nil || e.t.After(last.t) || (e.t.Equal(last.t) && e.nul) {
				last = &e
			}
		}
		var shown []int // the windows r lists, by index
		for i, w := range ws {
			own := assigned[i] == j
			if !own {
				explains := !measures(w, inc) && compatible(w, inc) && near(i, inc) &&
					(intersects(a.windowFunctions(cs, w), inc.Functions) ||
						(w.Function != nil && w.Kind == string(state.KindDown) && slices.Contains(inc.Functions, a.stepFunction(cs, w.Flow, w.CauseStep))))
				if !explains {
					continue
				}
			}
			matched[i] = true
			shown = append(shown, i)
			if own {
				take(i)
			}
		}
		if !d.listed {
			continue
		}
		if first == nil {
			// No window of its own: another incident declared on the same
			// function, overlapping this one, has the window that covers
			// both. This incident was measured too, by the windows of
			// its functions inside its declared time, and shares them.
			di := iv{inc.Start, a.end}
			if !inc.Ongoing() {
				di.e = inc.End
			}
			for i, w := range ws {
				if assigned[i] >= 0 && assigned[i] != j && measures(w, inc) && compatible(w, inc) && (set{spans[i]}).intersect(set{di}).total() > 0 {
					shown = append(shown, i)
					take(i)
				}
			}
			slices.Sort(shown)
		}
		for _, i := range shown {
			r.Windows = append(r.Windows, ws[i])
		}
		r.Detected = first != nil
		for _, w := range below {
			if measures(w, inc) && compatible(w, inc) && nearSpan(w.Flow, span(w), inc) {
				r.BelowQuorum = append(r.BelowQuorum, w)
			}
		}
		belowEdges(&r, inc)
		if first == nil && a.unmeasured(cs, inc) {
			// Not seen because nothing was looking: say so, as for an
			// edge next to time without data.
			r.StartCut, r.EndCut = CutNoData, CutNoData
		}
		if first != nil {
			r.StartCut, r.EndCut = first.cut, last.cut
			if !first.nul {
				st := first.t.In(a.loc)
				r.MeasuredStart = &st
				dlt := st.Sub(inc.Start).Seconds()
				r.StartDeltaSeconds = &dlt
			}
			if !last.nul {
				en := last.t.In(a.loc)
				r.MeasuredEnd = &en
				if !inc.Ongoing() {
					dlt := en.Sub(inc.End).Seconds()
					r.EndDeltaSeconds = &dlt
				}
			}
		}
		for _, n := range inc.Notices {
			if r.FirstNotice == nil || n.At.Before(*r.FirstNotice) {
				at := n.At.In(a.loc)
				r.FirstNotice = &at
			}
		}
		if r.FirstNotice != nil && r.MeasuredStart != nil {
			dlt := r.FirstNotice.Sub(*r.MeasuredStart).Seconds()
			r.NoticeDelaySeconds = &dlt
		}
		out = append(out, r)
	}
	// Undeclared: counted as down, matched by no incident, and not wholly
	// inside planned maintenance (which counts for nothing).
	maint := a.maintenance(cs.Name)
	undeclared := []Window{}
	for i, w := range ws {
		counted := w.Kind == string(state.KindDown) || (countDeg && w.Kind == string(state.KindDegraded))
		if counted && !matched[i] && (set{spans[i]}).minus(maint).total() > 0 {
			undeclared = append(undeclared, w)
		}
	}
	return out, undeclared
}

// belowEdges sets r's below-quorum edges from r.BelowQuorum: the earliest
// start and the latest end among those windows, null where that edge is
// not a measured one (the window's own cut) or the window is still open.
func belowEdges(r *Reconciliation, inc *config.Incident) {
	var first, last *Window
	for i := range r.BelowQuorum {
		w := &r.BelowQuorum[i]
		if first == nil || w.Start.Before(first.Start) || (w.Start.Equal(first.Start) && w.StartCut != "") {
			first = w
		}
		// A window with no end (open, or went on after the period) ends
		// after any that has one.
		if last == nil || (last.End != nil && (w.End == nil || w.End.After(*last.End) || (w.End.Equal(*last.End) && w.EndCut != ""))) {
			last = w
		}
	}
	if first == nil {
		return
	}
	if r.BelowQuorumStartCut = first.StartCut; first.StartCut == "" {
		st := first.Start
		d := st.Sub(inc.Start).Seconds()
		r.BelowQuorumStart, r.BelowQuorumStartDeltaSeconds = &st, &d
	}
	switch r.BelowQuorumEndCut = last.EndCut; {
	case last.EndCut != "" || last.End == nil:
	default:
		en := *last.End
		r.BelowQuorumEnd = &en
		if !inc.Ongoing() {
			d := en.Sub(inc.End).Seconds()
			r.BelowQuorumEndDeltaSeconds = &d
		}
	}
}

// unmeasured reports whether no run of the flows that serve inc's functions
// covered any of inc's declared time in the elapsed period (the prober was
// down throughout, or no flow probes those functions): an incident not
// detected there was not looked for.
func (a *analysis) unmeasured(cs *config.Service, inc *config.Incident) bool {
	di := iv{maxT(inc.Start, a.in.From), a.end}
	if !inc.Ongoing() && inc.End.Before(di.e) {
		di.e = inc.End
	}
	if !di.e.After(di.s) {
		return false
	}
	for _, fd := range a.byService[cs] {
		if intersects(fd.flow.Functions(), inc.Functions) && (set{di}).minus(fd.unknown).total() > 0 {
			return false
		}
	}
	return true
}

// edge is one measured edge of a window for a declared incident.
type edge struct {
	t   time.Time
	cut string // "", or why the edge is not measured directly (Cut*)
	nul bool   // no measured edge: cut by the period or missing data, masked, or still open
}

// ownEdges returns the start and end that window i (a window of one of inc's
// functions, spanning sp) measures for inc, and false when none of it is
// inc's.
//
// Where the function was blocked by an earlier step's failure, the blocked
// time is inc's only while inc was declared, give or take two intervals (a
// provider that declares the function down from the moment its login failed
// is measured from that moment); blocked time outside that belongs to
// whatever broke the earlier step. An edge that falls in a block is where the
// block ends (or begins) when that is within two intervals of it, and is
// masked (null) when the block hides it for longer.
func (a *analysis) ownEdges(cs *config.Service, ws []Window, i int, sp iv, inc *config.Incident) (edge, edge, bool) {
	w := ws[i]
	// The declared interval, widened by two intervals as in matching: the
	// runs that see an outage begin and end are that far from its edges.
	slack := 2 * a.flowInterval(cs, w.Flow)
	decl := iv{inc.Start.Add(-slack), a.in.To}
	if !inc.Ongoing() {
		decl.e = inc.End.Add(slack)
	}
	blocked := a.blocked(cs, ws, w, inc.Functions)
	own := set{sp}.minus(blocked.minus(set{decl}))
	if len(own) == 0 {
		return edge{}, edge{}, false
	}
	s := edge{t: own[0].s}
	switch {
	case s.t.Equal(sp.s):
		if w.StartCut != "" {
			s.cut, s.nul = w.StartCut, true
		}
	default:
		s.cut = CutBlocked
		if b, in := blockAt(blocked, s.t); in { // the declared start, inside a block
			if b.e.Sub(s.t) <= slack {
				s.t = b.e
			} else {
				s.nul = true
			}
		}
	}
	e := edge{t: own[len(own)-1].e}
	switch {
	case e.t.Equal(sp.e):
		switch {
		case w.EndCut != "":
			e.cut, e.nul = w.EndCut, true
		case w.End == nil:
			e.nul = true // still open
		}
	default:
		e.cut = CutBlocked
		if b, in := blockAt(blocked, e.t.Add(-1)); in && !b.s.Equal(e.t) { // the declared end, inside a block
			if e.t.Sub(b.s) <= slack {
				e.t = b.s
			} else {
				e.nul = true
			}
		}
	}
	return s, e, true
}

// blockAt returns the stretch of bs that contains t.
func blockAt(bs set, t time.Time) (iv, bool) {
	for _, b := range bs {
		if !t.Before(b.s) && t.Before(b.e) {
			return b, true
		}
	}
	return iv{}, false
}

// blocked is where function window w's function could not be seen failing by
// itself: the down windows, in the same flow, of the functions its steps come
// after, leaving out those declared (a failure of a declared function is the
// same incident, and its blocked functions with it).
func (a *analysis) blocked(cs *config.Service, ws []Window, w Window, declared []string) set {
	if w.Function == nil {
		return nil
	}
	before := a.before(cs, w.Flow, *w.Function)
	var xs []iv
	for _, b := range ws {
		if b.Flow != w.Flow || b.Function == nil || b.Kind != string(state.KindDown) ||
			!slices.Contains(before, *b.Function) || slices.Contains(declared, *b.Function) {
			continue
		}
		e := a.end
		if b.End != nil {
			e = *b.End
		} else if b.EndCut == CutPeriod {
			e = a.in.To
		}
		xs = append(xs, iv{b.Start, e})
	}
	return union(xs)
}

// before lists the functions of a flow's steps that come before the first
// step serving fn, its session's steps first (a login kept across runs): a
// failure of any of them blocks fn. Teardown steps block nothing: they run
// after a failed step too.
func (a *analysis) before(cs *config.Service, flow, fn string) []string {
	for i := range cs.Flows {
		f := &cs.Flows[i]
		if f.Name != flow {
			continue
		}
		steps := f.Steps
		if f.Session != nil {
			steps = slices.Concat(f.Session.Steps, f.Steps)
		}
		var out []string
		for _, s := range steps {
			if s.Function == fn {
				return out
			}
			out = append(out, s.Function)
		}
	}
	return nil
}

// windowFunctions is what a window took down (see functions).
func (a *analysis) windowFunctions(cs *config.Service, w Window) []string {
	m := measured{Key: state.Key{Service: w.Service, Flow: w.Flow}, kind: state.Kind(w.Kind), cause: w.CauseStep}
	if w.Function != nil {
		m.Function = *w.Function
	}
	return a.functions(cs, m)
}

// stepFunction is the function a flow's step serves ("" if unknown): a
// step of its session (a login kept across runs) or a counted teardown
// step too, which a window's cause_step names as it names the others.
func (a *analysis) stepFunction(cs *config.Service, flow, step string) string {
	for i := range cs.Flows {
		if cs.Flows[i].Name != flow {
			continue
		}
		for _, s := range cs.Flows[i].CountedSteps() {
			if s.Name == step {
				return s.Function
			}
		}
	}
	return ""
}

func intersects(a, b []string) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}
