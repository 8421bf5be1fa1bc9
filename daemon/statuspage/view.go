package statuspage

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/daemon"
	"github.com/slaprobe/slaprobe/internal/textesc"
	"github.com/slaprobe/slaprobe/report"
	"github.com/slaprobe/slaprobe/report/render"
)

// stateView is a state in words and a symbol, never colour alone.
type stateView struct {
	Word, Symbol, Class string
	rank                int
}

var (
	stUnknown = stateView{"unknown", "?", "n", 0}
	stUp      = stateView{"up", "✓", "u", 1}
	// stMaintenance is a service (and its functions) under a configured
	// maintenance window: shown instead of its live state, since it is
	// expected to be down. Any service down or degraded outranks it.
	stMaintenance = stateView{"maintenance", "⚙", "m", 2}
	stDegraded    = stateView{"degraded", "▲", "g", 3}
	stDown        = stateView{"down", "✕", "d", 4}
)

func stateOf(s string) stateView {
	switch s {
	case "up":
		return stUp
	case "down":
		return stDown
	case "degraded":
		return stDegraded
	}
	return stUnknown
}

func worse(a, b stateView) stateView {
	if b.rank > a.rank {
		return b
	}
	return a
}

type view struct {
	Title    string
	Public   bool
	Now      string
	Zone     string
	Location string
	Refresh  int
	Overall  stateView
	SomeUp   bool // with Overall unknown: some services are up, others unknown
	// InMaintenance counts the services under planned maintenance now.
	InMaintenance int
	Counts        string
	Stale         string
	// AsOf is, in a fleet, when the figures the states now come from were
	// built (their end): the states are that old, not the "updated" time's.
	AsOf      string
	Services  []serviceView
	Locations []locationView
	Archive   []ArchiveMonth
	FirstDay  string
	LastDay   string
}

type serviceView struct {
	Name, ID     string
	State        stateView
	Availability string
	Objective    string
	Met          bool
	// Verdict is the month so far against the objective: "met so far",
	// "below so far" (under the objective, its error budget not spent:
	// the rest of the month up would still meet it) or "missed" (the
	// budget spent: no rest of the month can meet it).
	Verdict string
	NoData  bool
	// MaintOnly: the month so far was all planned maintenance (NoData
	// too: no figure), which the page says instead of "no data".
	MaintOnly bool
	Budget    string
	BudgetPct int
	// Maintenance, while a configured maintenance window covers now, says
	// until when (in the config's time zone) and why.
	Maintenance string
	// Upcoming is the service's planned maintenance that starts within
	// upcomingMaintenance, Completed that which ended within the bars' 90
	// days (newest first, at most maxIncidents): scheduled events, as
	// status pages list them, not incidents.
	Upcoming  []maintView
	Completed []maintView
	Functions []functionView
	Open      []openView
	Incidents []incidentView
	Recon     []reconView
	// Timeline is the function timeline (report/render) of the service's
	// latest incident while it is open or recent; Caption says which.
	Timeline template.HTML
	Caption  string
}

type functionView struct {
	Name         string
	State        stateView
	Availability string
	Bars         template.HTML
}

type openView struct {
	Function, Kind, Since, For string
	// Between says in words how sharp the start is: "began between
	// 21:46:10 and 21:47:02" (the window's start bounds), "" when neither
	// bound is known or the start is exact.
	Between            string
	Flow, Cause, Error string
	Locations          string
	// Maint marks a window open while its service is in planned
	// maintenance (internal page; the public one lists none).
	Maint string
	// Note says, in a fleet (internal page), whether the window is one the
	// report counts or this prober's own, and whether that is counted.
	Note string
	// start is when the line dates the window from; earliest and latest
	// the bounds of its start (zero: not known).
	start, earliest, latest time.Time
}

type incidentView struct {
	Start, End, Duration, Functions string
	Ongoing                         bool
	// Note says how planned maintenance bears on an incident still open
	// while it runs: on the public page the incident ends where the
	// maintenance began ("then planned maintenance"), on the internal one
	// it stays ongoing, marked.
	Note string
}

// maintView is one stretch of planned maintenance, as the report lists it.
type maintView struct {
	Start, End, Reason string
}

type reconView struct {
	ID, Title                  string
	DeclaredStart, DeclaredEnd string
	MeasuredStart, MeasuredEnd string
	StartDelta, EndDelta       string
	Detected                   bool
}

type locationView struct {
	Name    string
	Self    bool
	State   stateView
	Summary string
}

const tsLayout = "2006-01-02 15:04 MST"

// build assembles the page from the snapshot and the live state.
func build(cfg *config.Config, snap *snapshot, live *daemon.Status, public bool, archive []ArchiveMonth, now time.Time, title string, refresh time.Duration) *view {
	loc := cfg.Loc
	if loc == nil {
		loc = time.UTC
	}
	v := &view{Title: title, Public: public, Now: now.In(loc).Format("2006-01-02 15:04:05 MST"), Zone: loc.String(),
		Location: cfg.Location, Refresh: int(refresh / time.Second), Overall: stUp}
	if v.Title == "" {
		v.Title = "Service status" // the public page names no location
		if !public {
			v.Title = cfg.Location + " status"
		}
	}
	first, _, _ := bounds(now, loc)
	v.FirstDay, v.LastDay = first.Format("2006-01-02"), now.In(loc).Format("2006-01-02")
	if snap == nil {
		v.Stale = "figures are being computed"
	} else if snap.err != nil {
		v.Stale = "figures could not be refreshed at " + snap.built.In(loc).Format(tsLayout)
		if !public {
			v.Stale += ": " + snap.err.Error()
		}
	}
	var month, hist *report.Report
	if snap != nil {
		month, hist = snap.month, snap.history
	}
	liveFn := liveStates(live)
	fleet := isFleet(cfg, month)
	if fleet {
		v.AsOf = snap.built.In(loc).Format("2006-01-02 15:04:05 MST")
	}
	var up, total int
	for si := range cfg.Services {
		cs := &cfg.Services[si]
		sv := serviceView{Name: cs.Name, ID: "svc-" + cs.Name, Objective: pct(cs.Objective), State: stUnknown, NoData: true}
		var ms, hs *report.Service
		if month != nil && si < len(month.Services) && month.Services[si].Name == cs.Name {
			ms = &month.Services[si]
		}
		if hist != nil && si < len(hist.Services) && hist.Services[si].Name == cs.Name {
			hs = &hist.Services[si]
		}
		sv.MaintOnly = ms != nil && ms.Availability == nil && ms.MaintenanceOnly
		if ms != nil && ms.Runs > 0 && ms.Availability != nil {
			sv.NoData = false
			sv.Availability = render.Availability(*ms.Availability, cs.Objective)
			sv.Met = *ms.Availability >= cs.Objective
			b := ms.ErrorBudget
			sv.Verdict = monthVerdict(sv.Met, b)
			if b.AllowedSeconds > 0 && b.RemainingRatio != nil {
				sv.BudgetPct = int(math.Max(0, math.Floor(*b.RemainingRatio*100)))
				if b.RemainingSeconds >= 0 {
					sv.Budget = fmt.Sprintf("%d%% left (%s of %s)", sv.BudgetPct, dur(b.RemainingSeconds), dur(b.AllowedSeconds))
				} else {
					sv.Budget = fmt.Sprintf("overspent by %s (of %s)", dur(-b.RemainingSeconds), dur(b.AllowedSeconds))
				}
			}
		}
		maint, inMaint := cfg.Maintenance.Cover(cs.Name, now)
		if inMaint {
			sv.Maintenance = maintenanceText(maint, loc)
		}
		sv.Upcoming, sv.Completed = scheduled(cfg.Maintenance, cs.Name, first, now, loc)
		var during *config.MaintenanceSpan
		if inMaint {
			during = &maint
		}
		fnNames := cs.Functions()
		for _, fn := range fnNames {
			fv := functionView{Name: fn, State: stUnknown, Availability: "no data"}
			if st, ok := liveFn[cs.Name][fn]; ok {
				fv.State = st
			}
			var mf, hf *report.FunctionAccount
			if ms != nil {
				mf = findFn(ms.Functions, fn)
			}
			if fleet {
				fv.State = fleetState(fv.State, measuredNow(month, ms, cs, fn), ms, mf, fn)
			}
			if inMaint {
				fv.State = stMaintenance
			}
			if hs != nil {
				hf = findFn(hs.Functions, fn)
			}
			if mf != nil && mf.Availability != nil {
				fv.Availability = render.Availability(*mf.Availability, cs.Objective)
			} else if mf != nil && mf.MaintenanceOnly {
				fv.Availability = "planned maintenance"
			}
			fv.Bars = bars(hs, hf, ms, mf, during, public, v.LastDay, loc)
			sv.State = worse(sv.State, fv.State)
			sv.Functions = append(sv.Functions, fv)
		}
		if inMaint {
			// Expected to be down, whatever it measures: the service says
			// maintenance (a service without flows too). The internal
			// page still lists the open windows.
			sv.State = stMaintenance
			v.InMaintenance++
		}
		if fleet && !(inMaint && public) {
			var dhs *report.Service // the history's, when it dates this month's windows
			if datingHistory(month, hist) != nil {
				dhs = hs
			}
			sv.Open = fleetOpenWindows(ms, dhs, cfg.Location, live, cs.Name, public, cfg.Maintenance, now, loc)
		} else if live != nil && !(inMaint && public) {
			sv.Open = openWindows(live, cs.Name, public, cfg.Maintenance, now, loc)
		}
		for i := range sv.Open {
			if inMaint {
				sv.Open[i].Maint = "during planned maintenance"
			}
		}
		sv.Incidents = incidents(ms, hs, during, public, loc)
		sv.Timeline, sv.Caption = incidentTimeline(cs.Name, month, hist, during, public, now, loc)
		sv.Recon = reconciliation(ms, hs, loc)
		if sv.State.rank > v.Overall.rank {
			v.Overall = sv.State
		}
		total++
		if sv.State == stUp {
			up++
		}
		v.Services = append(v.Services, sv)
	}
	// Down and degraded outrank unknown, but unknown outranks up: a page
	// with a service not (yet) measured never says all are up.
	if v.Overall == stUp && up < total || total == 0 {
		v.Overall, v.SomeUp = stUnknown, up > 0
	}
	v.Counts = fmt.Sprintf("%d of %d services up", up, total)
	if v.InMaintenance > 0 {
		v.Counts += fmt.Sprintf(", %d in planned maintenance", v.InMaintenance)
	}
	if !public {
		v.Locations = locations(cfg, month, live, now)
		v.Archive = archive
	}
	return v
}

// maintenanceText is what the page says of a stretch of planned
// maintenance: until when, in the config's time zone, and why.
func maintenanceText(sp config.MaintenanceSpan, loc *time.Location) string {
	out := "Planned maintenance until " + sp.End.In(loc).Format(tsLayout)
	if len(sp.Reasons) > 0 {
		out += ": " + strings.Join(sp.Reasons, "; ")
	}
	return out
}

// upcomingMaintenance is how far ahead the page announces planned
// maintenance.
const upcomingMaintenance = 7 * 24 * time.Hour

// scheduled is the service's planned maintenance that starts after now and
// within upcomingMaintenance (soonest first), and that which ended after
// first and by now (newest first, at most maxIncidents): the stretches the
// report lists (touching windows merged, their reasons joined). The one
// running now is the service's Maintenance.
func scheduled(plan config.MaintenancePlan, service string, first, now time.Time, loc *time.Location) (upcoming, completed []maintView) {
	mv := func(sp config.MaintenanceSpan) maintView {
		return maintView{Start: sp.Start.In(loc).Format(tsLayout), End: sp.End.In(loc).Format(tsLayout), Reason: strings.Join(sp.Reasons, "; ")}
	}
	for _, sp := range plan.Spans(service, first, now.Add(upcomingMaintenance)) {
		switch {
		case sp.Start.After(now):
			upcoming = append(upcoming, mv(sp))
		case !sp.End.After(now):
			completed = append(completed, mv(sp))
		}
	}
	slices.Reverse(completed)
	if len(completed) > maxIncidents {
		completed = completed[:maxIncidents]
	}
	return upcoming, completed
}

// ongoingIntoMaintenance reports whether an incident still open runs into
// the planned maintenance its service is in now: it began before the
// maintenance, and the report counts it only until then.
func ongoingIntoMaintenance(in *report.Incident, during *config.MaintenanceSpan) bool {
	return during != nil && in.End == nil && in.Start.Before(during.Start)
}

func findFn(fs []report.FunctionAccount, name string) *report.FunctionAccount {
	for i := range fs {
		if fs[i].Name == name {
			return &fs[i]
		}
	}
	return nil
}

// liveStates is each service function's state now at this location: the
// worst over the flows that serve it (down, degraded, up, unknown).
func liveStates(live *daemon.Status) map[string]map[string]stateView {
	out := map[string]map[string]stateView{}
	if live == nil {
		return out
	}
	for _, f := range live.Flows {
		m := out[f.Service]
		if m == nil {
			m = map[string]stateView{}
			out[f.Service] = m
		}
		for _, fn := range f.Functions {
			st := stateOf(fn.State)
			if cur, ok := m[fn.Function]; !ok || st.rank > cur.rank {
				m[fn.Function] = st
			}
		}
	}
	return out
}

func openWindows(live *daemon.Status, service string, public bool, plan config.MaintenancePlan, now time.Time, loc *time.Location) []openView {
	var out []openView
	for _, f := range live.Flows {
		if f.Service != service {
			continue
		}
		for _, w := range f.OpenWindows {
			lo, hi := w.StartBounds()
			ov, ok := openLine(service, w.Function, w.Kind, w.Start, lo, hi, public, plan, now, loc)
			if !ok {
				continue
			}
			if !public {
				// An error stored before the probe escaped errors (a window
				// restored across an upgrade) may hold a U+202E that would
				// reverse the rest of the line: escaped as the reports do.
				ov.Flow, ov.Cause, ov.Error, ov.Locations = f.Flow, w.CauseStep, textesc.Text(w.Error), f.Location
			}
			out = append(out, ov)
		}
	}
	if public {
		out = onePerFunction(out, loc)
	}
	return out
}

// openLine is an open window's line; false for one the public page does
// not name (a whole flow's). earliest and latest are the bounds of the
// window's start (the state machine's, as /api/v1/status and `windows
// --format json` give them; zero: not known).
func openLine(service string, fn *string, kind string, start, earliest, latest time.Time, public bool, plan config.MaintenancePlan, now time.Time, loc *time.Location) (openView, bool) {
	if sp, in := plan.Cover(service, start); in && public && sp.End.Before(now) {
		// Opened during planned maintenance that has ended: the
		// outage customers are owed began at its end, where the
		// month's report starts the incident, exactly.
		start, earliest, latest = sp.End, sp.End, sp.End
	}
	ov := openView{Function: "whole flow", Kind: kind, Since: start.In(loc).Format(tsLayout), For: dur(now.Sub(start).Seconds()),
		start: start, earliest: earliest, latest: latest, Between: between(start, earliest, latest, loc)}
	if fn != nil {
		ov.Function = *fn
	}
	if public && fn == nil {
		return ov, false // a flow is not something the public page names
	}
	return ov, true
}

// between says in words when a window dated from start may really have
// begun, from earliest to latest (either zero: not known), to the second,
// rounded outwards so that the two hold the start: "began between
// 21:46:10 and 21:47:02", "began after 21:46:10", "began by 21:47:02"; a
// bound on another day than start (in loc) with its date, in another zone
// abbreviation (the clocks changed) with it. "" when neither is known or
// the start is exact (both are start).
func between(start, earliest, latest time.Time, loc *time.Location) string {
	if earliest.Equal(start) && latest.Equal(start) {
		return ""
	}
	s := start.In(loc)
	at := func(t time.Time) string {
		t = t.In(loc)
		layout := "15:04:05"
		if y, m, d := t.Date(); y != s.Year() || m != s.Month() || d != s.Day() {
			layout = "2006-01-02 15:04:05"
		}
		if t.Format("MST") != s.Format("MST") {
			layout += " MST"
		}
		return t.Format(layout)
	}
	var lo, hi string
	if !earliest.IsZero() {
		lo = at(earliest.Truncate(time.Second))
	}
	if !latest.IsZero() {
		c := latest.Truncate(time.Second)
		if c.Before(latest) {
			c = c.Add(time.Second)
		}
		hi = at(c)
	}
	switch {
	case lo != "" && hi != "":
		return "began between " + lo + " and " + hi
	case lo != "":
		return "began after " + lo
	case hi != "":
		return "began by " + hi
	}
	return ""
}

// onePerFunction keeps one line per function and kind, the earliest, with
// bounds that hold the start of every window it stands for: the function
// went down when the first of them began, which is no earlier than the
// earliest of their earliest bounds (not known when one is not) and no
// later than the earliest of their latest.
func onePerFunction(out []openView, loc *time.Location) []openView {
	slices.SortFunc(out, func(a, b openView) int {
		if c := strings.Compare(a.Function+"\x00"+a.Kind, b.Function+"\x00"+b.Kind); c != 0 {
			return c
		}
		return a.start.Compare(b.start)
	})
	var kept []openView
	for _, ov := range out {
		n := len(kept)
		if n == 0 || kept[n-1].Function != ov.Function || kept[n-1].Kind != ov.Kind {
			kept = append(kept, ov)
			continue
		}
		k := &kept[n-1]
		switch {
		case k.earliest.IsZero() || ov.earliest.IsZero():
			k.earliest = time.Time{}
		case ov.earliest.Before(k.earliest):
			k.earliest = ov.earliest
		}
		if !ov.latest.IsZero() && (k.latest.IsZero() || ov.latest.Before(k.latest)) {
			k.latest = ov.latest
		}
		k.Between = between(k.start, k.earliest, k.latest, loc)
	}
	return kept
}

// isFleet reports whether the month's figures hold a location other than
// this prober's: several probers share the store, and the report counts a
// window only where the quorum of locations saw it.
func isFleet(cfg *config.Config, month *report.Report) bool {
	if month == nil {
		return false
	}
	for _, l := range strings.Split(month.Location, ",") {
		if l != "" && l != cfg.Location {
			return true
		}
	}
	return false
}

// fleetState is a function's state now in a fleet: down or degraded while
// one of the month's counted windows (after the quorum over locations, the
// report's) is still open at the figures' end; otherwise up where it is
// measured now (here, by the live state machines, or by a flow of the
// figures that some location still ran at their end: measured) and unknown
// where not. A window below the quorum (one location of two down) is not
// down: the report does not count it, and every prober reads the same
// figures from the store, so their pages agree. A function the month
// measured but no location measures now (every prober that runs its flows
// stopped, even while another location runs other services) is unknown,
// as a prober alone's is, not up.
func fleetState(here stateView, measured bool, ms *report.Service, mf *report.FunctionAccount, fn string) stateView {
	st := stUnknown
	if here != stUnknown || measured && mf != nil && mf.Availability != nil {
		st = stUp
	}
	if ms == nil {
		return st
	}
	for _, w := range ms.Windows {
		if w.End == nil && w.Function != nil && *w.Function == fn {
			st = worse(st, stateOf(w.Kind))
		}
	}
	return st
}

// elapsedEnd is where r's figures end: Generated, or To once the period
// is over.
func elapsedEnd(r *report.Report) time.Time {
	if r.To.Before(r.Generated) {
		return r.To
	}
	return r.Generated
}

// measuredNow reports whether a flow of cs that measures fn was still run
// by some location at the end of the month's figures: its unknown stretch
// (where no location reports, Service.Unknown, of which trim keeps those
// reaching the end) does not reach their end.
// Per flow, not per location (Report.Silent): a location still running
// another service's flows says nothing of this one's.
func measuredNow(month *report.Report, ms *report.Service, cs *config.Service, fn string) bool {
	if month == nil || ms == nil {
		return false
	}
	end := elapsedEnd(month)
	for fi := range cs.Flows {
		f := &cs.Flows[fi]
		if !slices.Contains(f.Functions(), fn) {
			continue
		}
		silent := false
		for _, u := range ms.Unknown {
			if u.Flow == f.Name && !u.End.Before(end) {
				silent = true
				break
			}
		}
		if !silent {
			return true
		}
	}
	return false
}

// fleetOpenWindows are a fleet's open windows of service: the month's
// counted windows still open at the figures' end (the public page's, which
// every prober reads alike from the store) and, on the internal page, this
// prober's own live windows beside them, each marked as its own and, where
// no counted window at its location matches it, as not counted.
//
// A counted window the month cut at its start (open since before the month
// began) is dated from its start in the history's figures (hs), where it
// went on past their end, and said with the cause it began with there: not
// from the first instant of the month.
func fleetOpenWindows(ms, hs *report.Service, here string, live *daemon.Status, service string, public bool, plan config.MaintenancePlan, now time.Time, loc *time.Location) []openView {
	var out []openView
	if ms != nil {
		for _, w := range ms.Windows {
			if w.End != nil {
				continue
			}
			// Its cause too: what it began with, not the one in force at
			// the month's first instant (the month's window's first).
			start, cause, errText := w.Start, w.CauseStep, w.Error
			lo, hi := w.StartBounds()
			if w.StartCut == report.CutPeriod && hs != nil {
				for _, h := range hs.Windows {
					if h.End == nil && h.EndCut == report.CutPeriod && sameWindow(&h, w.Flow, w.Function, w.Kind) && h.Start.Before(start) {
						start = h.Start
						lo, hi = h.StartBounds()
						if h.CauseStep != "" || h.Error != "" {
							cause, errText = h.CauseStep, h.Error
						}
					}
				}
			}
			ov, ok := openLine(service, w.Function, w.Kind, start, lo, hi, public, plan, now, loc)
			if !ok {
				continue
			}
			if !public {
				ov.Flow, ov.Cause, ov.Error, ov.Locations = w.Flow, cause, textesc.Text(errText), strings.Join(w.Locations, ", ")
				ov.Note = "counted (quorum of locations)"
			}
			out = append(out, ov)
		}
	}
	if public {
		return onePerFunction(out, loc)
	}
	if live == nil {
		return out
	}
	for _, f := range live.Flows {
		if f.Service != service {
			continue
		}
		for _, w := range f.OpenWindows {
			lo, hi := w.StartBounds()
			ov, _ := openLine(service, w.Function, w.Kind, w.Start, lo, hi, false, plan, now, loc)
			ov.Flow, ov.Cause, ov.Error, ov.Locations = f.Flow, w.CauseStep, textesc.Text(w.Error), f.Location
			ov.Note = "this prober's own"
			if !countedAt(ms, here, f.Flow, w.Function, w.Kind) {
				ov.Note += ", below the quorum: not counted"
			}
			out = append(out, ov)
		}
	}
	return out
}

// countedAt reports whether a counted window of flow and function (nil: the
// whole flow) of kind is open with location among its locations.
func countedAt(ms *report.Service, location, flow string, fn *string, kind string) bool {
	if ms == nil {
		return false
	}
	for _, w := range ms.Windows {
		if w.End == nil && sameWindow(&w, flow, fn, kind) && slices.Contains(w.Locations, location) {
			return true
		}
	}
	return false
}

// sameWindow reports whether w is of flow, function fn (nil: the whole
// flow) and kind.
func sameWindow(w *report.Window, flow string, fn *string, kind string) bool {
	return w.Flow == flow && w.Kind == kind && (w.Function == nil) == (fn == nil) && (fn == nil || *w.Function == *fn)
}

const maxIncidents = 5

// recentIncident is how long after its end an incident keeps its timeline
// on the page.
const recentIncident = 7 * 24 * time.Hour

// incidentTimeline draws the report's function timeline (render.NewTimeline,
// the one the PDF and HTML reports open with) around the service's latest
// incident, if it is open or ended within recentIncident. The public page's
// timeline names no flow or cause step.
//
// An incident still open while its service is in planned maintenance, which
// began before the maintenance (during: the stretch of it now), is drawn on
// the public page up to the maintenance's start, where the report stops
// counting it, and captioned as the latest incident; the internal page
// draws it to now, captioned as ongoing in planned maintenance.
func incidentTimeline(service string, month, hist *report.Report, during *config.MaintenanceSpan, public bool, now time.Time, loc *time.Location) (template.HTML, string) {
	var rep *report.Report
	var inc *report.Incident
	ms, hs := serviceNamed(month, service), serviceNamed(hist, service)
	for _, rs := range []struct {
		r *report.Report
		s *report.Service
	}{{month, ms}, {hist, hs}} {
		if rs.s == nil {
			continue
		}
		for i := range rs.s.IncidentList {
			in := &rs.s.IncidentList[i]
			if inc == nil || in.Start.After(inc.Start) {
				rep, inc = rs.r, in
			}
		}
	}
	if inc == nil {
		return "", ""
	}
	end := now
	intoMaint := ongoingIntoMaintenance(inc, during)
	if intoMaint && public {
		end = during.Start
	}
	if inc.End != nil {
		end = *inc.End
		if now.Sub(end) > recentIncident {
			return "", ""
		}
	}
	pad := max(15*time.Minute, end.Sub(inc.Start)/10)
	from, to := inc.Start.Add(-pad), end.Add(pad)
	if intoMaint && public && to.After(during.Start) {
		to = during.Start // what the maintenance covers is not the customer's incident
	}
	if from.Before(rep.From) {
		from = rep.From
	}
	if to.After(rep.To) {
		to = rep.To
	}
	if !to.After(from) {
		return "", ""
	}
	tl := render.NewTimeline(rep, render.TimelineOptions{From: from, To: to, Services: []string{service}})
	if public {
		for li := range tl.Lanes {
			for bi := range tl.Lanes[li].Bars {
				b := &tl.Lanes[li].Bars[bi]
				b.Flow, b.Cause = "", ""
				if intoMaint && b.Open {
					// Drawn to the maintenance's start, where it is counted
					// to: nothing of it is in the maintenance then.
					b.Open, b.WindowEnd = false, during.Start
					b.InMaintenance, b.Whole = 0, false
				}
			}
		}
	}
	start := inc.Start
	if rep == month && inc.StartCut == report.CutPeriod && datingHistory(month, hist) != nil {
		// Went on from the history's days: since its start there.
		if a := acrossMonth(ms, hs); a != nil {
			start = a.Start
		}
	}
	what := "Latest incident"
	since := "since " + start.In(loc).Format(tsLayout)
	switch {
	case intoMaint && public:
		since += ", until planned maintenance began at " + during.Start.In(loc).Format(tsLayout)
	case intoMaint:
		what = "Ongoing incident (in planned maintenance since " + during.Start.In(loc).Format(tsLayout) + ", not counted)"
	case inc.End == nil:
		what = "Ongoing incident"
	}
	return tl.SVG(), fmt.Sprintf("%s, %s: each function's windows (down solid, degraded hatched half height), declared incidents dashed", what, since)
}

// incidents lists the service's latest incidents, newest first. One still
// open that ran into the planned maintenance the service is in now (during)
// is, on the public page, the report's count of it: from its start to the
// maintenance's, "then planned maintenance"; on the internal page it stays
// ongoing, marked. Once the maintenance ends with the service still down,
// the report counts it on and both pages list it as ongoing again.
//
// An incident that went on from the history's days into this month is one
// incident, from its start in the history: the two reports cut it at the
// month's start, each with its half.
func incidents(ms, hs *report.Service, during *config.MaintenanceSpan, public bool, loc *time.Location) []incidentView {
	var all []report.Incident
	across := acrossMonth(ms, hs)
	if ms != nil {
		for _, in := range ms.IncidentList {
			if across != nil && in.StartCut == report.CutPeriod {
				in.Start, in.StartCut = across.Start, across.StartCut
				in.DurationSeconds += across.DurationSeconds
				in.Parts += across.Parts
				for _, f := range across.Functions {
					if !slices.Contains(in.Functions, f) {
						in.Functions = append(in.Functions, f)
					}
				}
				slices.Sort(in.Functions)
			}
			all = append(all, in)
		}
	}
	if hs != nil {
		for _, in := range hs.IncidentList {
			if across != nil && in.EndCut == report.CutPeriod && in.End == nil {
				continue // joined to the month's half above
			}
			all = append(all, in)
		}
	}
	slices.SortFunc(all, func(a, b report.Incident) int { return b.Start.Compare(a.Start) })
	var out []incidentView
	for _, in := range all {
		if len(out) == maxIncidents {
			break
		}
		iv := incidentView{Start: in.Start.In(loc).Format(tsLayout), Duration: dur(in.DurationSeconds), Functions: strings.Join(in.Functions, ", ")}
		switch {
		case in.End != nil:
			iv.End = in.End.In(loc).Format(tsLayout)
		case ongoingIntoMaintenance(&in, during) && public:
			iv.End, iv.Note = during.Start.In(loc).Format(tsLayout), "then planned maintenance"
		case ongoingIntoMaintenance(&in, during):
			iv.Ongoing, iv.End = true, "ongoing"
			iv.Note = "in planned maintenance since " + during.Start.In(loc).Format(tsLayout) + ", not counted"
		default:
			iv.Ongoing, iv.End = true, "ongoing"
		}
		out = append(out, iv)
	}
	return out
}

// serviceNamed is r's service of that name; nil when r is nil or has none.
func serviceNamed(r *report.Report, name string) *report.Service {
	if r == nil {
		return nil
	}
	for si := range r.Services {
		if r.Services[si].Name == name {
			return &r.Services[si]
		}
	}
	return nil
}

// datingHistory is hist when it is the days just before month (its figures
// end at the month's start), which dates a window or an incident the month
// cut at its start; nil otherwise: when the history's build at the month's
// change failed the page keeps the last one, of the days before another
// month, whose windows open at its end are not this month's (as for the
// verdict: verdictOf).
func datingHistory(month, hist *report.Report) *report.Report {
	if month == nil || hist == nil || !hist.To.Equal(month.From) {
		return nil
	}
	return hist
}

// acrossMonth is the history's incident that went on past the history's
// end (the month's start) when the month's figures have its other half (an
// incident cut at their start); nil when there is none.
func acrossMonth(ms, hs *report.Service) *report.Incident {
	if ms == nil || hs == nil || !slices.ContainsFunc(ms.IncidentList, func(in report.Incident) bool { return in.StartCut == report.CutPeriod }) {
		return nil
	}
	for i := range hs.IncidentList {
		if in := &hs.IncidentList[i]; in.End == nil && in.EndCut == report.CutPeriod {
			return in
		}
	}
	return nil
}

func reconciliation(ms, hs *report.Service, loc *time.Location) []reconView {
	var all []report.Reconciliation
	seen := map[string]bool{}
	for _, s := range []*report.Service{ms, hs} {
		if s == nil {
			continue
		}
		for _, r := range s.Reconciliation {
			if !seen[r.ID] {
				seen[r.ID] = true
				all = append(all, r)
			}
		}
	}
	slices.SortFunc(all, func(a, b report.Reconciliation) int { return b.DeclaredStart.Compare(a.DeclaredStart) })
	var out []reconView
	for _, r := range all {
		if len(out) == maxIncidents {
			break
		}
		rv := reconView{ID: r.ID, Title: r.Title, DeclaredStart: r.DeclaredStart.In(loc).Format(tsLayout),
			DeclaredEnd: tsOr(r.DeclaredEnd, loc, "ongoing"), MeasuredStart: tsOr(r.MeasuredStart, loc, "not measured"),
			MeasuredEnd: tsOr(r.MeasuredEnd, loc, "no measured end"), StartDelta: delta(r.StartDeltaSeconds), EndDelta: delta(r.EndDeltaSeconds), Detected: r.Detected}
		out = append(out, rv)
	}
	return out
}

func locations(cfg *config.Config, month *report.Report, live *daemon.Status, now time.Time) []locationView {
	zone := cfg.Loc
	if zone == nil {
		zone = time.UTC
	}
	names := []string{cfg.Location}
	if month != nil {
		for _, l := range strings.Split(month.Location, ",") {
			if l != "" && !slices.Contains(names, l) {
				names = append(names, l)
			}
		}
	}
	// The services under planned maintenance now: expected to be down,
	// their windows are not news at any location.
	var maint []string
	for _, s := range cfg.Services {
		if _, ok := cfg.Maintenance.Cover(s.Name, now); ok {
			maint = append(maint, s.Name)
		}
	}
	// The services nothing has measured at this prober since it started
	// (no flow of theirs has run yet, or they have no flows): neither up
	// nor down here, as the headline says ("Some services unknown").
	var unmeasured []string
	if live != nil {
		fns := liveStates(live)
		for _, s := range cfg.Services {
			if slices.Contains(maint, s.Name) {
				continue
			}
			measured := false
			for _, st := range fns[s.Name] {
				measured = measured || st != stUnknown
			}
			if !measured {
				unmeasured = append(unmeasured, s.Name)
			}
		}
	}
	type issue struct{ down, degraded []string }
	by := map[string]*issue{}
	add := func(l, svc, kind string) {
		is := by[l]
		if is == nil {
			is = &issue{}
			by[l] = is
		}
		if slices.Contains(maint, svc) {
			return
		}
		if kind == "down" && !slices.Contains(is.down, svc) {
			is.down = append(is.down, svc)
		} else if kind == "degraded" && !slices.Contains(is.degraded, svc) {
			is.degraded = append(is.degraded, svc)
		}
	}
	if month != nil {
		for _, s := range month.Services {
			for _, ws := range [][]report.Window{s.Windows, s.BelowQuorum} {
				for _, w := range ws {
					if w.End != nil {
						continue
					}
					for _, l := range w.Locations {
						add(l, s.Name, w.Kind)
					}
				}
			}
		}
	}
	// This prober's own location: the live state machines say more, and
	// sooner, than the last figures.
	if live != nil {
		delete(by, cfg.Location)
		for _, f := range live.Flows {
			for _, w := range f.OpenWindows {
				add(cfg.Location, f.Service, w.Kind)
			}
		}
		if by[cfg.Location] == nil {
			by[cfg.Location] = &issue{}
		}
	}
	var out []locationView
	for _, l := range names {
		lv := locationView{Name: l, Self: l == cfg.Location, State: stUp}
		is := by[l]
		since, silent := time.Time{}, false
		if month != nil && !lv.Self {
			since, silent = month.Silent[l]
		}
		var unknown []string
		if lv.Self {
			unknown = unmeasured
		}
		switch {
		case silent:
			// A prober that stopped is neither up nor down: nothing is
			// measured from there (a window it left open is not news).
			lv.State = stUnknown
			lv.Summary = "not reporting since " + since.In(zone).Format(tsLayout)
		case is != nil && len(is.down) > 0:
			lv.State = stDown
			lv.Summary = "down: " + strings.Join(is.down, ", ")
			if len(is.degraded) > 0 {
				lv.Summary += "; degraded: " + strings.Join(is.degraded, ", ")
			}
		case is != nil && len(is.degraded) > 0:
			lv.State = stDegraded
			lv.Summary = "degraded: " + strings.Join(is.degraded, ", ")
		default:
			lv.Summary = fmt.Sprintf("%d/%d services up", len(cfg.Services)-len(maint)-len(unknown), len(cfg.Services))
			if len(unknown) > 0 {
				lv.State = stUnknown
			}
		}
		if len(unknown) > 0 && !silent {
			// Down or degraded outranks unknown, but the services not
			// measured yet are named all the same.
			lv.Summary += "; not measured: " + strings.Join(unknown, ", ")
		}
		if len(maint) > 0 && !silent {
			if lv.State == stUp {
				lv.State = stMaintenance
			}
			lv.Summary += "; in planned maintenance: " + strings.Join(maint, ", ")
		}
		if lv.Self && live != nil {
			lv.Summary += fmt.Sprintf(" · this prober, %d flows", len(live.Flows))
		}
		out = append(out, lv)
	}
	return out
}

// bars draws the function's daily bars as one small SVG: one rect for the
// whole range (up), and over it a rect for every other day with a <title>
// (the day's figure and windows), so that hover works without JavaScript
// and the page stays small. Patterns and heights tell down, degraded and no
// data apart without colour. The first date and the count are on <main>.
func bars(hs *report.Service, hf *report.FunctionAccount, ms *report.Service, mf *report.FunctionAccount, during *config.MaintenanceSpan, public bool, today string, loc *time.Location) template.HTML {
	var days []barDay
	for _, src := range []struct {
		s *report.Service
		f *report.FunctionAccount
	}{{hs, hf}, {ms, mf}} {
		if src.f == nil {
			continue
		}
		for i := range src.f.Daily {
			d := &src.f.Daily[i]
			if d.Date > today {
				break
			}
			days = append(days, barDay{d.Date, d, src.s, src.f})
		}
	}
	if len(days) > Days {
		days = days[len(days)-Days:]
	}
	off := Days - len(days) // days before any data: no data
	var b strings.Builder
	b.Grow(512)
	var body strings.Builder
	nUp, nDown, nDeg, nNone := 0, 0, 0, off
	// Days without data come in runs (before the prober started, while it
	// was down): one rect a run.
	noneFrom, noneStart := -1, ""
	if off > 0 {
		noneFrom = 0
	}
	flushNone := func(end int, last string) {
		if noneFrom < 0 {
			return
		}
		what := "no data"
		if noneStart != "" {
			what = noneStart + " no data"
			if last != noneStart {
				what = noneStart + " to " + last + " no data"
			}
		}
		fmt.Fprintf(&body, `<rect class=n x=%d width=%d><title>%s</title></rect>`, noneFrom, end-noneFrom, what)
		noneFrom, noneStart = -1, ""
	}
	prev := ""
	nMaint := 0
	for i, d := range days {
		if d.d.Availability == nil && d.d.MaintenanceOnly {
			// Planned maintenance all day (as far as it has gone):
			// excluded from the figures, not missing, as the report's
			// day says.
			flushNone(i+off, prev)
			prev = d.date
			nMaint++
			fmt.Fprintf(&body, `<rect class=m x=%d><title>%s planned maintenance</title></rect>`, i+off, d.date)
			continue
		}
		if d.d.Availability == nil {
			nNone++
			if noneFrom < 0 {
				noneFrom = i + off
			}
			if noneStart == "" && noneFrom == i+off {
				noneStart = d.date
			}
			prev = d.date
			continue
		}
		flushNone(i+off, prev)
		prev = d.date
		cls := "u"
		switch {
		case d.d.DowntimeSeconds > 0:
			cls = "d"
		case d.d.DegradedSeconds > 0:
			cls = "g"
		}
		switch cls {
		case "u":
			nUp++
			continue
		case "d":
			nDown++
		case "g":
			nDeg++
		}
		fmt.Fprintf(&body, `<rect class=%s x=%d><title>%s</title></rect>`, cls, i+off, html.EscapeString(dayTitle(d.date, d.d, d.svc, d.fa, during, public, loc)))
	}
	flushNone(Days, prev)
	label := fmt.Sprintf("%d days up", nUp)
	if nUp == 1 {
		label = "1 day up"
	}
	for _, c := range []struct {
		n    int
		what string
	}{{nDown, "with downtime"}, {nDeg, "degraded"}, {nMaint, "in planned maintenance"}, {nNone, "without data"}} {
		if c.n > 0 {
			label += fmt.Sprintf(", %d %s", c.n, c.what)
		}
	}
	fmt.Fprintf(&b, `<svg class=bars viewBox="0 0 %d 10" preserveAspectRatio=none role=img aria-label="%s"><rect class=u width=%d />`, Days, label, Days)
	b.WriteString(body.String())
	fmt.Fprintf(&b, `<rect class=gap width=%d /></svg>`, Days)
	return template.HTML(b.String()) //nolint:gosec // every value above is escaped or generated
}

// barDay is one day of a function's bars and the report it comes from.
type barDay struct {
	date string
	d    *report.FunctionDay
	svc  *report.Service
	fa   *report.FunctionAccount
}

// dayTitle is a day's figure and the windows that touched it, merged by
// kind and time (a flow's window and its function's window are one line).
//
// Planned maintenance (the report's, and during: the stretch the service is
// in now) is not downtime, as the figure says: the public page leaves out a
// window wholly inside it and ends one still open that ran into the
// maintenance now where the maintenance began ("then planned maintenance");
// the internal page lists them all, marked "in planned maintenance".
func dayTitle(date string, d *report.FunctionDay, s *report.Service, fa *report.FunctionAccount, during *config.MaintenanceSpan, public bool, loc *time.Location) string {
	var b strings.Builder
	b.WriteString(date)
	b.WriteString(" ")
	objective := 0.0 // three decimals
	if s != nil {
		objective = s.Objective
	}
	b.WriteString(render.Availability(*d.Availability, objective))
	if d.DowntimeSeconds > 0 {
		b.WriteString(" down " + dur(d.DowntimeSeconds))
	}
	if d.DegradedSeconds > 0 {
		b.WriteString(" degraded " + dur(d.DegradedSeconds))
	}
	dayStart, err := report.ParseDate(date, loc)
	if err != nil || s == nil || fa == nil {
		return b.String()
	}
	dayEnd := report.DayStart(dayStart.Year(), dayStart.Month(), dayStart.Day()+1, loc)
	// On a day the clocks change a local time can occur twice: the times
	// name their zone (01:30 EDT–01:30 EST is an hour).
	layout := "15:04"
	if dayEnd.Sub(dayStart) != 24*time.Hour {
		layout = "15:04 MST"
	}
	var lines []string
	more := 0
	for _, i := range fa.Windows {
		if i >= len(s.Windows) {
			continue
		}
		w := s.Windows[i]
		end := dayEnd
		if w.End != nil {
			end = *w.End
		}
		if !w.Start.Before(dayEnd) || !end.After(dayStart) {
			continue
		}
		inMaint, wholly := false, false
		for _, m := range s.Maintenance {
			if m.Start.Before(end) && m.End.After(w.Start) {
				inMaint = true
				wholly = wholly || (!w.Start.Before(m.Start) && w.End != nil && !w.End.After(m.End))
			}
		}
		intoMaint := during != nil && w.End == nil
		if intoMaint {
			inMaint = true
			wholly = wholly || !w.Start.Before(during.Start)
		}
		if public && wholly {
			continue
		}
		endAt := endText(w.End, loc, layout)
		if public && intoMaint {
			endAt = during.Start.In(loc).Format(layout) + ", then planned maintenance"
		}
		line := w.Start.In(loc).Format(layout) + "–" + endAt
		if w.Kind != "down" {
			line = w.Kind + " " + line
		}
		if !public && w.CauseStep != "" {
			line += " " + w.CauseStep
		}
		if !public && inMaint {
			line += " in planned maintenance"
		}
		if slices.Contains(lines, line) {
			continue
		}
		if len(lines) == 3 {
			more++
			continue
		}
		lines = append(lines, line)
	}
	for _, l := range lines {
		b.WriteString("\n" + l)
	}
	if more > 0 {
		fmt.Fprintf(&b, "\n+%d more", more)
	}
	return b.String()
}

func endText(e *time.Time, loc *time.Location, layout string) string {
	if e == nil {
		return "ongoing"
	}
	return e.In(loc).Format(layout)
}

func tsOr(t *time.Time, loc *time.Location, none string) string {
	if t == nil {
		return none
	}
	return t.In(loc).Format(tsLayout)
}

func delta(s *float64) string {
	if s == nil {
		return "–"
	}
	sign := "+"
	if *s < 0 {
		sign = "−"
	}
	return sign + dur(math.Abs(*s))
}

// pct prints a ratio as a percentage with as few digits as it needs.
func pct(r float64) string {
	return strconv.FormatFloat(r*100, 'f', -1, 64) + "%"
}

// dur prints seconds as 3d4h, 3h59m59s, 4m10s or 12s.
func dur(sec float64) string {
	d := time.Duration(math.Round(sec)) * time.Second
	if d <= 0 {
		return "0s"
	}
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	h, m, s := d/time.Hour, (d%time.Hour)/time.Minute, (d%time.Minute)/time.Second
	var b strings.Builder
	if days > 0 {
		fmt.Fprintf(&b, "%dd", days)
	}
	if h > 0 {
		fmt.Fprintf(&b, "%dh", h)
	}
	if m > 0 && days == 0 {
		fmt.Fprintf(&b, "%dm", m)
	}
	if s > 0 && days == 0 {
		fmt.Fprintf(&b, "%ds", s)
	}
	return b.String()
}

// monthVerdict says where a month in progress stands against its
// objective: "met so far" at or above it; "below so far" under it while
// its error budget is not spent (the budget is the month's, less its
// planned maintenance, still to come too, and the time unknown so far, so
// the rest of the month up would bring it back: a service down for two minutes of its first three
// measured ones reads 32.585% with 94% of its budget left); "missed" once
// the budget is spent, or with none to spend (an objective of 100%).
func monthVerdict(met bool, b report.Budget) string {
	switch {
	case met:
		return "met so far"
	case b.AllowedSeconds > 0 && b.RemainingSeconds >= 0:
		return "below so far"
	}
	return "missed"
}
