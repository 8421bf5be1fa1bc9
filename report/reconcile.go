package report

import (
	"slices"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/state"
)

// reconcile pairs each declared incident of the service that overlaps the
// period with the measured down windows of that service that overlap
// [declared start - 2 intervals, declared end + 2 intervals].
//
// A window plays one of two parts. Function windows of a declared function
// measure the incident: its measured start and end are theirs. Windows that
// the incident explains without measuring it — a function blocked by a failing
// step that serves a declared function (send and receive when login fails),
// or the whole flow failing there — are matched but do not move the measured
// times: a flow window runs as long as any of its steps fails, which may be a
// different incident. Both are listed in the reconciliation's windows. Down
// windows no incident explains are undeclared.
//
// A window still open, or running up to the end of the period, has no
// measured end: the period cut it off.
func (a *analysis) reconcile(cs *config.Service, ws []Window, timelines []*config.Timeline) ([]Reconciliation, []Window) {
	out := []Reconciliation{}
	matched := make([]bool, len(ws))
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
			if inc.Service != cs.Name || !inc.Start.Before(a.in.To) || (!inc.Ongoing() && !inc.End.After(a.in.From)) {
				continue
			}
			r := Reconciliation{
				ID: inc.ID, Title: inc.Title, Timeline: name, Functions: append([]string{}, inc.Functions...),
				DeclaredStart: inc.Start.In(a.loc), Windows: []Window{},
			}
			if !inc.Ongoing() {
				e := inc.End.In(a.loc)
				r.DeclaredEnd = &e
			}
			var mStart, mEnd time.Time
			open, measured := false, 0
			for i, w := range ws {
				if w.Kind != string(state.KindDown) {
					continue
				}
				slack := 2 * a.flowInterval(cs, w.Flow)
				lo := inc.Start.Add(-slack)
				wEnd := a.end
				if w.End != nil {
					wEnd = *w.End
				}
				if !wEnd.After(lo) {
					continue
				}
				if !inc.Ongoing() && !w.Start.Before(inc.End.Add(slack)) {
					continue
				}
				measures := w.Function != nil && slices.Contains(inc.Functions, *w.Function)
				explains := measures || intersects(a.windowFunctions(cs, w), inc.Functions) ||
					(w.Function != nil && slices.Contains(inc.Functions, a.stepFunction(cs, w.Flow, w.CauseStep)))
				if !explains {
					continue
				}
				matched[i] = true
				r.Windows = append(r.Windows, w)
				if !measures {
					continue
				}
				measured++
				if mStart.IsZero() || w.Start.Before(mStart) {
					mStart = w.Start
				}
				if w.End == nil || !w.End.Before(a.end) {
					open = true
				} else if w.End.After(mEnd) {
					mEnd = *w.End
				}
			}
			r.Detected = measured > 0
			if r.Detected {
				s := mStart.In(a.loc)
				r.MeasuredStart = &s
				d := s.Sub(inc.Start).Seconds()
				r.StartDeltaSeconds = &d
				if !open {
					e := mEnd.In(a.loc)
					r.MeasuredEnd = &e
					if !inc.Ongoing() {
						d := e.Sub(inc.End).Seconds()
						r.EndDeltaSeconds = &d
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
				d := r.FirstNotice.Sub(*r.MeasuredStart).Seconds()
				r.NoticeDelaySeconds = &d
			}
			out = append(out, r)
		}
	}
	undeclared := []Window{}
	for i, w := range ws {
		if w.Kind == string(state.KindDown) && !matched[i] {
			undeclared = append(undeclared, w)
		}
	}
	return out, undeclared
}

// windowFunctions is what a window took down (see functions).
func (a *analysis) windowFunctions(cs *config.Service, w Window) []string {
	m := measured{Key: state.Key{Service: w.Service, Flow: w.Flow}, cause: w.CauseStep}
	if w.Function != nil {
		m.Function = *w.Function
	}
	return a.functions(cs, m)
}

// stepFunction is the function a flow's step serves ("" if unknown).
func (a *analysis) stepFunction(cs *config.Service, flow, step string) string {
	for i := range cs.Flows {
		if cs.Flows[i].Name != flow {
			continue
		}
		for _, s := range cs.Flows[i].Steps {
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
