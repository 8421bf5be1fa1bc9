package render

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/slaprobe/slaprobe/report"
)

// view is a report with every figure already formatted: the single source of
// the Markdown, HTML and PDF renderers.
type view struct {
	Title     string
	Period    string
	Zone      string
	Generated string
	Locations string
	Summary   table
	Policy    []string
	Services  []serviceView
	// Timelines are the function timeline over the period and, when the
	// activity covers a small part of it, a close-up of that part.
	Timelines []timelineFig
}

// timelineFig is one function timeline with its caption.
type timelineFig struct {
	Caption string
	TL      Timeline
	Aspect  float64 // height / width
}

// timelineLegend says how the timeline tells its marks apart, for the
// formats that draw it.
const timelineLegend = "One lane per service and function. Solid full-height bars: measured down. Hatched half-height bars: measured degraded. Dashed outlines: declared incidents. Hover a mark in the HTML report for its times."

// serviceView is one service's section.
type serviceView struct {
	Name     string
	Headline string // "99.674% against an objective of 99.9%: missed"
	Met      bool
	// Below: a period not over, under its objective with its error
	// budget not spent ("below so far"): amber, as the status page draws
	// it, not the red of a missed objective.
	Below     bool
	NoData    bool // nothing measured: neither met nor missed (or missed only by policy: unknown counted as down)
	Facts     []fact
	Objective float64
	Daily     []report.Day
	Sparkline string
	// Gaps says what the daily chart's gaps are: days without data, all
	// in planned maintenance, or both (chartGaps).
	Gaps   string
	Tables []table
}

// chartGaps says what the gaps in a daily chart of days are: "days without
// data", and days all in planned maintenance (maintenance_only), which are
// gaps too, said as such, since the report counts them so.
func chartGaps(days []report.Day) string {
	var none, maint bool
	for _, d := range days {
		switch {
		case d.Availability != nil:
		case d.MaintenanceOnly:
			maint = true
		default:
			none = true
		}
	}
	switch {
	case maint && none:
		return "gaps are days without data or all in planned maintenance"
	case maint:
		return "gaps are days all in planned maintenance"
	}
	return "gaps are days without data"
}

// fact is one labelled figure.
type fact struct{ Label, Value string }

// table is a titled table; Widths are the PDF column shares (they sum to
// pdfGrid) and Empty is what to print when there are no rows.
type table struct {
	Title  string
	Note   string
	Head   []string
	Widths []int
	Rows   [][]string
	Empty  string
}

// retiredMark follows the name of a retired flow (report.Flow.Retired) in
// the flows table, and retiredNote says under it what that means.
const (
	retiredMark = " (no longer configured)"
	retiredNote = "A flow marked no longer configured ran in the period but is not in the config this report was made with (renamed or removed since): it is accounted like the others."
)

func newView(r *report.Report, loc *time.Location) view {
	v := view{
		Title:     r.Title,
		Period:    fmtTime(r.From, loc) + " to " + fmtTime(r.To, loc),
		Zone:      loc.String(),
		Generated: fmtTime(r.Generated, loc),
		Locations: r.Location,
		Policy:    r.Policy.Text,
	}
	if r.Provisional {
		v.Period += " (not over: accounted up to " + fmtTime(r.Generated, loc) + "; figures, results and credits are provisional)"
	}
	if v.Title == "" {
		v.Title = "SLA report"
	}
	if v.Locations == "" {
		v.Locations = "-"
	}
	tl := NewTimeline(r, TimelineOptions{})
	v.Timelines = append(v.Timelines, timelineFigs("Whole period", tl, loc)...)
	if c, ok := tl.CloseUp(r); ok {
		v.Timelines = append(v.Timelines, timelineFigs("Close-up", c, loc)...)
	}
	for i := range v.Timelines {
		v.Timelines[i].Aspect = v.Timelines[i].TL.Height() / tlWidth
	}
	// Under policy.degraded: down, degraded time counts against
	// availability as downtime does, so the tables show it beside it.
	degDown := r.Policy.Degraded == "down"
	v.Summary = table{
		Title:  "Summary",
		Head:   withDegraded(degDown, []string{"Service", "Availability", "Objective", "Result", "Run success", "Downtime", "Unknown", "Credit"}, 6, "Degraded"),
		Widths: summaryWidths(degDown),
		Empty:  "No services in this report.",
	}
	for _, s := range r.Services {
		v.Summary.Rows = append(v.Summary.Rows, withDegraded(degDown, []string{
			s.Name, fmtMeasured(s.Availability, s.NoData, s.MaintenanceOnly, s.Objective), fmtObjective(s.Objective), verdict(s, r.Provisional),
			fmtPctPtr(s.RunSuccessRatio, "-"), fmtDur(s.DowntimeSeconds), fmtDur(s.UnknownSeconds),
			summaryCredit(s),
		}, 6, fmtDur(s.DegradedSeconds)))
		v.Services = append(v.Services, newServiceView(s, loc, degDown, r.Provisional, r.Policy.MinCoverage))
	}
	return v
}

// withDegraded is xs with x inserted at i when degraded time counts as down
// (the Degraded column), and xs as it is otherwise.
func withDegraded[T any](degDown bool, xs []T, i int, x T) []T {
	if !degDown {
		return xs
	}
	return slices.Insert(xs, i, x)
}

// summaryWidths and flowWidths are the PDF column shares of the Summary and
// Flows tables, with the Degraded column or without; each sums to pdfGrid.
func summaryWidths(degDown bool) []int {
	if degDown {
		return []int{6, 6, 4, 4, 4, 6, 6, 8, 4}
	}
	return []int{10, 6, 6, 4, 6, 6, 6, 4}
}

func flowWidths(degDown bool) []int {
	if degDown {
		return []int{10, 6, 6, 4, 4, 6, 6, 6}
	}
	return []int{12, 6, 6, 6, 4, 8, 6}
}

func newServiceView(s report.Service, loc *time.Location, degDown, provisional bool, minCoverage float64) serviceView {
	b := s.ErrorBudget
	sv := serviceView{
		Name:      s.Name,
		Headline:  headline(s, provisional),
		Met:       met(s),
		Below:     verdict(s, provisional) == "below so far",
		NoData:    s.Availability == nil || s.NoData,
		Objective: s.Objective,
		Daily:     s.Daily,
		Sparkline: sparkline(s.Daily),
		Gaps:      chartGaps(s.Daily),
		Facts: []fact{
			{"Availability", fmtMeasured(s.Availability, s.NoData, s.MaintenanceOnly, s.Objective)},
			{"Objective", fmtObjective(s.Objective) + " (" + verdict(s, provisional) + ")"},
			{"Run success ratio", runSuccess(s.RunSuccessRatio, s.Runs)},
			{"Confirm runs", strconv.FormatInt(s.ConfirmRuns, 10) + " (not in runs or latencies)"},
			{"Uptime", fmtDur(s.UptimeSeconds)},
			{"Downtime", fmtDur(s.DowntimeSeconds)},
			{"Degraded", fmtDur(s.DegradedSeconds)},
			{"Unknown", fmtDur(s.UnknownSeconds)},
			{"Maintenance", fmtDur(s.MaintenanceSeconds)},
			{"Incidents", strconv.Itoa(s.Incidents)},
			{"Longest outage", fmtDurPtr(s.LongestSeconds)},
			{"MTTR", fmtDurPtr(s.MTTRSeconds)},
			{"MTBF", fmtDurPtr(s.MTBFSeconds)},
			{"MTTD", fmtDurPtr(s.MTTDSeconds)},
			{"Error budget allowed", fmtDur(b.AllowedSeconds)},
			{"Error budget consumed", fmtDur(b.ConsumedSeconds)},
			{"Error budget remaining", budgetLeft(b)},
			{"Burn rate", burnRate(b.BurnRate)},
			{"SLA credit", creditFrom(s, provisional, minCoverage)},
			{"SLA credit tiers", creditTiers(s.CreditTiers)},
			{"Latency p50 / p95 / p99", latencies(&s)},
		},
	}

	flows := table{
		Title:  "Flows",
		Head:   withDegraded(degDown, []string{"Flow", "Availability", "Run success", "Runs", "Confirm runs", "Downtime", "Unknown"}, 6, "Degraded"),
		Widths: flowWidths(degDown),
		Empty:  "No flows.",
	}
	for _, f := range s.Flows {
		name := f.Name
		if f.Retired {
			name += retiredMark
			flows.Note = retiredNote
		}
		flows.Rows = append(flows.Rows, withDegraded(degDown, []string{name, fmtMeasured(f.Availability, f.NoData, f.MaintenanceOnly, s.Objective), fmtPctPtr(f.RunSuccessRatio, "-"),
			strconv.FormatInt(f.Runs, 10), strconv.FormatInt(f.ConfirmRuns, 10), fmtDur(f.DowntimeSeconds), fmtDur(f.UnknownSeconds)}, 6, fmtDur(f.DegradedSeconds)))
	}

	// A function some runs did not exercise (a login the session's steps
	// alone serve: a run that reused the session measured nothing of it)
	// is listed with how many did, so that a reader does not take its
	// availability for one measured at every run. A table only when a
	// flow has such a function: other reports are as they were.
	measured := table{
		Title:  "Functions measured by fewer runs than their flow",
		Note:   "A run that reuses a flow's session does not run its login steps: the functions they alone serve were exercised only by the runs that logged in. Between those runs they keep their verdict (users' sessions worked), so their availability rests on these runs.",
		Head:   []string{"Flow", "Function", "Runs that exercised it", "Flow's runs"},
		Widths: []int{14, 12, 12, 10},
	}
	for _, f := range s.Flows {
		for _, fr := range f.FunctionRuns {
			if fr.Runs != f.Runs {
				measured.Rows = append(measured.Rows, []string{f.Name, fr.Function, strconv.FormatInt(fr.Runs, 10), strconv.FormatInt(f.Runs, 10)})
			}
		}
	}

	incidents := table{
		Title:  "Incidents",
		Note:   "Outages after merging windows closer than the flap gap.",
		Head:   []string{"Start", "End", "Duration", "Functions", "Parts"},
		Widths: []int{10, 10, 6, 16, 6},
		Empty:  "No incidents.",
	}
	for _, in := range s.IncidentList {
		fs := "whole flow"
		if len(in.Functions) > 0 {
			fs = strings.Join(in.Functions, ", ")
		}
		incidents.Rows = append(incidents.Rows, []string{incidentStartCell(in, loc), incidentEndCell(in, s.Maintenance, loc),
			fmtDur(in.DurationSeconds), fs, strconv.Itoa(in.Parts)})
	}

	latency := table{
		Title:  "Latency per step",
		Head:   []string{"Flow", "Step", "Function", "Count", "p50", "p95", "p99"},
		Widths: []int{12, 8, 6, 4, 6, 6, 6},
		Empty:  "No latency measurements.",
	}
	for _, st := range s.Steps {
		latency.Rows = append(latency.Rows, []string{st.Flow, st.Step, st.Function, strconv.FormatInt(st.Count, 10),
			fmtLatencyPtr(st.P50), fmtLatencyPtr(st.P95), fmtLatencyPtr(st.P99)})
	}

	rec := table{
		Title:  "Reconciliation with declared incidents",
		Note:   "Deltas are measured minus declared; the notice delay runs from the measured start to the provider's first notice.",
		Head:   []string{"Declared incident", "Declared start", "Declared end", "Measured start", "Measured end", "Start delta", "End delta", "Detected", "Notice delay"},
		Widths: []int{7, 6, 6, 6, 6, 4, 4, 5, 4}, // Detected: "yes (in planned maintenance, not counted)" in a few lines
		Empty:  "No declared incidents in this period.",
	}
	for _, rc := range s.Reconciliation {
		name := rc.ID
		if rc.Title != "" {
			name += ": " + rc.Title
		}
		detected := "no"
		switch {
		case rc.Detected:
			detected = "yes" + reconMaint(rc, s.Maintenance)
		case rc.StartCut == report.CutNoData:
			detected = "no (no data)" // no run covered its time
		case len(rc.BelowQuorum) > 0:
			// Seen, but from fewer locations than the quorum: not a miss.
			detected = "no (below quorum: seen from " + strings.Join(belowLocations(rc.BelowQuorum), ", ") + ")"
		}
		notice := "-"
		if rc.NoticeDelaySeconds != nil {
			notice = fmtDur(*rc.NoticeDelaySeconds)
		}
		ms, me := measuredCell(rc.MeasuredStart, rc.StartCut, true, rc.Detected, loc), measuredCell(rc.MeasuredEnd, rc.EndCut, false, rc.Detected, loc)
		sd, ed := fmtDelta(rc.StartDeltaSeconds), fmtDelta(rc.EndDeltaSeconds)
		if !rc.Detected && len(rc.BelowQuorum) > 0 {
			// Seen from too few locations to count: when, marked as such,
			// so that the row is evidence and not a bare "-".
			ms, me = belowCell(rc.BelowQuorumStart, rc.BelowQuorumStartCut, true, loc), belowCell(rc.BelowQuorumEnd, rc.BelowQuorumEndCut, false, loc)
			sd, ed = belowDelta(rc.BelowQuorumStartDeltaSeconds), belowDelta(rc.BelowQuorumEndDeltaSeconds)
		}
		rec.Rows = append(rec.Rows, []string{name, fmtTime(rc.DeclaredStart, loc), fmtTimePtr(rc.DeclaredEnd, loc, "ongoing"),
			ms, me, sd, ed, detected, notice})
	}

	sv.Tables = []table{flows}
	if len(measured.Rows) > 0 {
		sv.Tables = append(sv.Tables, measured)
	}
	sv.Tables = append(sv.Tables,
		incidents,
		windowTable("Downtime windows", "Uncertainty: how much earlier (-) and later (+) each edge may really have been. The start: since the last passing run before it, and the first failing run's duration (it failed only when it ended); the end: since the last failing run, and the duration of the passing run that ended it (it passed only when the platform answered); ? not known. A window whose cause changed lists every cause from the time it began.", "No down or degraded windows.", s.Windows, s.Maintenance, loc),
		latency,
		rec,
		windowTable("Below quorum (shown, not counted)", "Windows seen from too few locations to count as downtime.", "None.", s.BelowQuorum, nil, loc),
		windowTable("Undeclared windows", "Measured down windows that no declared incident covers.", "None: every measured window was declared.", s.Undeclared, s.Maintenance, loc),
		spanTable("Unknown", "No run covered these stretches, or their results are no longer kept (the reason says which); they are excluded from the denominator unless the policy counts them as down.", "No unknown time.", s.Unknown, loc),
		spanTable("Maintenance", "Planned windows, excluded from the denominator.", "No maintenance.", s.Maintenance, loc),
	)
	return sv
}

// headline is "99.674% against an objective of 99.9%: missed", "no data
// against an objective of 99.9%", or, for a period all planned maintenance,
// that it was not measured for that; for a period not over, judged so far
// (see verdict).
func headline(s report.Service, provisional bool) string {
	if s.Availability == nil && s.MaintenanceOnly {
		return "not measured: the period was planned maintenance, excluded from the SLA (objective " + fmtObjective(s.Objective) + ")"
	}
	h := fmtMeasured(s.Availability, s.NoData, s.MaintenanceOnly, s.Objective) + " against an objective of " + fmtObjective(s.Objective)
	if s.Availability == nil {
		return h
	}
	return h + ": " + verdict(s, provisional)
}

func runSuccess(r *float64, runs int64) string {
	if r == nil {
		return "no runs"
	}
	return fmtPct(*r) + " of " + strconv.FormatInt(runs, 10) + " runs"
}

// belowLocations are the locations that saw the windows ws, sorted, once each.
func belowLocations(ws []report.Window) []string {
	var out []string
	for _, w := range ws {
		out = append(out, w.Locations...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// creditFrom is the service's credit and the tier it came from, so that it
// can be checked against the availability and the tiers printed beside it;
// provisional while the period is not over.
func creditFrom(s report.Service, provisional bool, minCoverage float64) string {
	if s.CreditWithheld != "" {
		return withheld(s, minCoverage)
	}
	c := fmtCredit(s.CreditPercent)
	if s.CreditPercent == nil && s.Availability == nil && s.MaintenanceOnly {
		return c + " (planned maintenance throughout: no availability to judge)"
	}
	if s.CreditPercent == nil {
		return c
	}
	var why []string
	if s.Availability != nil && len(s.CreditTiers) > 0 {
		tier := "availability not below any tier"
		for _, t := range s.CreditTiers {
			if *s.Availability < t.Below {
				tier = "availability below " + fmtObjective(t.Below)
				break
			}
		}
		why = append(why, tier)
	}
	if provisional {
		why = append(why, "provisional")
	}
	if len(why) == 0 {
		return c
	}
	return c + " (" + strings.Join(why, "; ") + ")"
}

// summaryCredit is the Summary table's credit cell: the credit, or why
// there is none although there is an availability.
func summaryCredit(s report.Service) string {
	if s.CreditWithheld != "" {
		return "withheld"
	}
	return fmtCredit(s.CreditPercent)
}

// withheld says why a service with an availability has no credit.
func withheld(s report.Service, minCoverage float64) string {
	if s.CreditWithheld != report.CreditBelowCoverage {
		return "not computed (" + s.CreditWithheld + ")"
	}
	cov := "none"
	if s.Coverage != nil {
		cov = fmtPct(*s.Coverage)
	}
	return "not computed: runs covered " + cov + " of the period, below policy.min_coverage " + fmtObjective(minCoverage)
}

// creditTiers lists the tiers in the order they are matched.
func creditTiers(ts []report.CreditTier) string {
	if len(ts) == 0 {
		return "none configured"
	}
	var parts []string
	for _, t := range ts {
		parts = append(parts, "below "+fmtObjective(t.Below)+": "+fmtFloat(t.CreditPercent)+"%")
	}
	return strings.Join(parts, "; ") + " (the first, from the top, that the availability is below)"
}

func fmtCredit(c *float64) string {
	if c == nil {
		return "-"
	}
	return fmtFloat(*c) + "%"
}

func budgetLeft(b report.Budget) string {
	if b.RemainingRatio == nil {
		return "-"
	}
	return fmtDur(b.RemainingSeconds) + " (" + fmtPct(*b.RemainingRatio) + ")"
}

func burnRate(r *float64) string {
	if r == nil {
		return "-"
	}
	return strconv.FormatFloat(*r, 'f', 2, 64) + "x"
}

// startCell is a window's or incident's start, saying when it is not a
// measured edge.
func startCell(t time.Time, cut string, loc *time.Location) string {
	switch cut {
	case report.CutPeriod:
		return fmtTime(t, loc) + " (began before the period)"
	case report.CutNoData:
		return fmtTime(t, loc) + " (no data before)"
	}
	return fmtTime(t, loc)
}

// incidentStartCell is an incident's start, as startCell, but for a
// start planned maintenance cut: not when the outage began (the table
// said "04:00:00" for one down since 03:30, with nothing to say why). The
// maintenance is the nearer cut: an outage that also began before the
// period says both ("00:30:00 (began before the period)" read as if the
// period began at 00:30), and one whose data began inside the
// maintenance had data before the start shown, so "no data before" is
// not said.
func incidentStartCell(in report.Incident, loc *time.Location) string {
	if !in.StartMaintenance {
		return startCell(in.Start, in.StartCut, loc)
	}
	if in.StartCut == report.CutPeriod {
		return fmtTime(in.Start, loc) + " (after planned maintenance; began before the period)"
	}
	return fmtTime(in.Start, loc) + " (after planned maintenance)"
}

// incidentEndCell is an incident's end, as endCell, but for an end
// planned maintenance cut: the count stopped where the maintenance began
// (maint, the service's maintenance in the period, says when for one that
// went on after the period: "went on after the period" alone stood beside
// a duration of 10 minutes for an outage counted up to a maintenance
// that reached the period's end).
func incidentEndCell(in report.Incident, maint []report.Span, loc *time.Location) string {
	if !in.EndMaintenance {
		return endCell(in.End, in.EndCut, loc)
	}
	if in.End != nil {
		return fmtTime(*in.End, loc) + " (then planned maintenance)"
	}
	if in.EndCut == report.CutPeriod {
		// The last maintenance that began after the incident did: it
		// runs to the period's end.
		for i := len(maint) - 1; i >= 0; i-- {
			if m := maint[i]; m.Start.After(in.Start) {
				return fmtTime(m.Start, loc) + " (then planned maintenance; went on after the period)"
			}
		}
	}
	return endCell(in.End, in.EndCut, loc)
}

// endCell is a window's or incident's end: "ongoing" while open, "went on
// after the period" when the period cut it.
func endCell(t *time.Time, cut string, loc *time.Location) string {
	switch {
	case cut == report.CutPeriod:
		return "went on after the period"
	case t == nil:
		return "ongoing"
	case cut == report.CutNoData:
		return fmtTime(*t, loc) + " (then no data)"
	}
	return fmtTime(*t, loc)
}

// belowCell is a reconciliation's below-quorum start or end (seen from
// fewer locations than the quorum), or why there is none.
func belowCell(t *time.Time, cut string, start bool, loc *time.Location) string {
	if t != nil {
		return fmtTime(*t, loc) + " (below quorum)"
	}
	return measuredCell(nil, cut, start, true, loc)
}

func belowDelta(sec *float64) string {
	if sec == nil {
		return "-"
	}
	return fmtDelta(sec) + " (below quorum)"
}

// measuredCell is a reconciliation's measured start or end, or why there is
// none.
func measuredCell(t *time.Time, cut string, start, detected bool, loc *time.Location) string {
	switch {
	case cut == report.CutBlocked && t != nil && start:
		return fmtTime(*t, loc) + " (blocked by an earlier failure before)"
	case cut == report.CutBlocked && t != nil:
		return fmtTime(*t, loc) + " (blocked by an earlier failure after)"
	case t != nil:
		return fmtTime(*t, loc)
	case cut == report.CutNoData && !detected:
		return "- (no data)"
	case cut == report.CutPeriod && start:
		return "- (began before the period)"
	case cut == report.CutPeriod:
		return "- (went on after the period)"
	case cut == report.CutNoData && start:
		return "- (no data before)"
	case cut == report.CutNoData:
		return "- (then no data)"
	case cut == report.CutBlocked:
		return "- (blocked by an earlier failure)"
	case detected && !start:
		return "- (still open)"
	}
	return "-"
}

func windowTable(title, note, empty string, ws []report.Window, maint []report.Span, loc *time.Location) table {
	t := table{
		Title: title,
		Note:  note,
		// Locations: where the window was seen from (those that made the
		// quorum; a below-quorum window's own location).
		Head: []string{"Start", "End", "Duration", uncertaintyHead, "Flow", "Function", "Kind", "Locations", "Cause"},
		// Uncertainty 6: "-1h59m59s +59.9s /" is one line of the PDF at
		// its cell's size (uncertaintySize). Function 5: a name of 14
		// letters ("authentication", 16.6 mm at 7 points, of 16.9) is one
		// line, where 4 cut "attachments" (14.2 mm); the half unit is
		// Cause's, which wraps anyway.
		Widths: []int{6, 6, 6, 6, 4, 5, 4, 4, 7},
		Empty:  empty,
	}
	for _, w := range ws {
		t.Rows = append(t.Rows, []string{startCell(w.Start, w.StartCut, loc), endCell(w.End, w.EndCut, loc), durationCell(w, maint),
			fmtUncertainty(w.StartUncertaintySeconds, w.StartUncertaintyLaterSeconds, w.EndUncertaintySeconds, w.EndUncertaintyLaterSeconds), w.Flow, function(w.Function), w.Kind,
			strings.Join(w.Locations, ", "), fmtCauses(w, loc)})
	}
	return t
}

// durationCell prints a window's duration, and how much of it planned
// maintenance covered, which the report does not count as downtime:
// "34s (in planned maintenance, not counted)" for a window wholly inside
// maintenance, "20m (10m in planned maintenance, not counted)" for one
// partly in it. The window itself is what was measured, as the state
// machine saw it; without the mark a maintenance window read as downtime
// beside a Downtime figure that left it out.
func durationCell(w report.Window, maint []report.Span) string {
	d := fmtDur(w.DurationSeconds) + neverSureMark(w)
	end := w.Start.Add(time.Duration(w.DurationSeconds * float64(time.Second)))
	if w.End != nil {
		end = *w.End
	}
	in := maintIn(w.Start, end, maint)
	return d + maintMark(in, in > 0 && in >= end.Sub(w.Start))
}

// reconMaint is what follows a detected declared incident's "yes" when
// planned maintenance covered its measured windows, which the report does
// not count: " (in planned maintenance, not counted)", or how much of them
// (" (30m in planned maintenance, not counted)"), over the time the windows
// cover (an open one's to its duration): maintenance between two of them
// is not theirs, and two functions' windows at once are counted once.
func reconMaint(rc report.Reconciliation, maint []report.Span) string {
	type span struct{ s, e time.Time }
	var spans []span
	for _, w := range rc.Windows {
		end := w.Start.Add(time.Duration(w.DurationSeconds * float64(time.Second)))
		if w.End != nil {
			end = *w.End
		}
		if end.After(w.Start) {
			spans = append(spans, span{w.Start, end})
		}
	}
	slices.SortFunc(spans, func(a, b span) int { return a.s.Compare(b.s) })
	var in, total time.Duration
	for i := 0; i < len(spans); {
		cur := spans[i]
		for i++; i < len(spans) && !spans[i].s.After(cur.e); i++ {
			if spans[i].e.After(cur.e) {
				cur.e = spans[i].e
			}
		}
		in += maintIn(cur.s, cur.e, maint)
		total += cur.e.Sub(cur.s)
	}
	if total <= 0 {
		return ""
	}
	return maintMark(in, in > 0 && in >= total)
}

// maintIn is how much of [start, end) the planned maintenance windows
// cover.
func maintIn(start, end time.Time, maint []report.Span) time.Duration {
	var in time.Duration
	for _, m := range maint {
		s, e := start, end
		if m.Start.After(s) {
			s = m.Start
		}
		if m.End.Before(e) {
			e = m.End
		}
		if e.After(s) {
			in += e.Sub(s)
		}
	}
	return in
}

// maintMark is what follows a window's duration (windows tables) or its
// times (the timeline's tooltip) when planned maintenance covered in of it:
// " (in planned maintenance, not counted)" when it covered it whole,
// " (10m in planned maintenance, not counted)" for part, "" for none.
func maintMark(in time.Duration, whole bool) string {
	switch {
	case in <= 0:
		return ""
	case whole:
		return " (in planned maintenance, not counted)"
	}
	return " (" + fmtDur(in.Seconds()) + " in planned maintenance, not counted)"
}

// neverSureMark is " (quorum never surely down at once)" for a counted
// window in which the quorum never surely was (QuorumNeverSurelyDown: its
// locations' windows overlap, but each location's first failing run may
// have ended after another came back, so the window may not be real), ""
// otherwise; after the duration in the windows tables and `windows`' text.
func neverSureMark(w report.Window) string {
	if w.QuorumNeverSurelyDown {
		return " (quorum never surely down at once)"
	}
	return ""
}

// uncertaintyHead heads the windows tables' Uncertainty column, whose cells
// the PDF breaks only between the start and the end (keepEdges).
const uncertaintyHead = "Uncertainty (start / end)"

// fmtUncertainty prints a window's edge uncertainties, how much earlier
// (-) and later (+) each edge may have been, as "-1m +15s / -10s +14.4s"
// (fmtBound): "?" for a direction not known (a window stored before its
// runs' ends were), "-" for an edge no run bounds either way (or the end of
// an ongoing window).
func fmtUncertainty(start, startLater, end, endLater *float64) string {
	edge := func(earlier, later *float64) string {
		if earlier == nil && later == nil {
			return "-"
		}
		f := func(sign string, v *float64) string {
			if v == nil {
				return sign + "?"
			}
			return sign + fmtBound(*v)
		}
		return f("-", earlier) + " " + f("+", later)
	}
	return edge(start, startLater) + " / " + edge(end, endLater)
}

// boundsCell reports whether s is a cell fmtUncertainty printed: two edges
// around " / ", each "-" or "-EARLIER +LATER" (a bound or "?").
func boundsCell(s string) bool {
	start, end, ok := strings.Cut(s, " / ")
	if !ok {
		return false
	}
	edge := func(e string) bool {
		if e == "-" {
			return true
		}
		a, b, ok := strings.Cut(e, " ")
		bound := func(x, sign string) bool {
			x, ok := strings.CutPrefix(x, sign)
			return ok && (x == "?" || x != "" && x[0] >= '0' && x[0] <= '9' && !strings.ContainsAny(x, " /"))
		}
		return ok && bound(a, "-") && bound(b, "+")
	}
	return edge(start) && edge(end)
}

// fmtBound prints an edge's bound of sec seconds as the JSON's figure to
// three significant digits below a minute, so that the tables read as the
// JSON does ("14.4s" for 14.4, "2.35s", "40ms" for 0.04, "0.4ms", "999ms"
// for 0.9994 and "1s" for 0.9996, not "1000ms"), and as fmtDur from a minute
// on, in whole seconds ("1m", "1m10s"). Zero has one spelling, "0s": 0, and
// a bound under 0.5 µs, which rounds to it (it read "0ms" beside "0s").
func fmtBound(sec float64) string {
	sig3 := func(x float64) (float64, string) { // x in (0, 1000): three significant digits
		d := 0
		switch {
		case x < 1:
			d = 3 // 0.4ms; less than a microsecond prints 0
		case x < 10:
			d = 2
		case x < 100:
			d = 1
		}
		p := math.Pow(10, float64(d))
		r := math.Round(x*p) / p
		t := strconv.FormatFloat(r, 'f', d, 64)
		if strings.Contains(t, ".") {
			t = strings.TrimRight(strings.TrimRight(t, "0"), ".")
		}
		return r, t
	}
	if sec > 0 && sec < 1 {
		switch r, t := sig3(sec * 1000); {
		case r == 0: // under 0.5 µs: zero, spelt as zero is
			return "0s"
		case r < 1000:
			return t + "ms"
		}
		return "1s"
	}
	if sec >= 1 && sec < 60 {
		if r, t := sig3(sec); r < 60 {
			return t + "s"
		}
	}
	return fmtDur(sec)
}

// fmtCauses prints a window's cause: its error (which names the step), or,
// when the cause changed, every cause with the time it began, in order.
// When causes overlap (a fleet's counted window: its locations failed with
// errors of their own at once), each is printed with its end too ("from
// 07:21:04 to 07:33:31: ..."; "from 07:24:10: ..." for one still lasting),
// since one beginning does not end the one before.
func fmtCauses(w report.Window, loc *time.Location) string {
	text := func(step, err string) string {
		switch {
		case err == "":
			return step
		case step == "" || strings.HasPrefix(err, step+":"):
			return err
		}
		return step + ": " + err
	}
	if len(w.Causes) <= 1 {
		return clip(printable(text(w.CauseStep, w.Error)), 200)
	}
	overlap := false
	for i := 1; i < len(w.Causes); i++ {
		if prev := w.Causes[i-1].To; prev == nil || prev.After(w.Causes[i].From) {
			overlap = true
		}
	}
	parts := make([]string, len(w.Causes))
	for i, c := range w.Causes {
		when := "from " + causeTime(c.From, loc)
		if overlap && c.To != nil {
			when += " to " + causeTime(*c.To, loc)
		}
		parts[i] = when + ": " + clip(printable(text(c.Step, c.Error)), 160)
	}
	return strings.Join(parts, "; ")
}

// causeLayout is the short time of a cause change (the window's start has
// the date and offset in full).
const causeLayout = "01-02 15:04:05"

// causeTime is t as causeLayout writes it, with its offset where the
// clocks go back over it: on that day "11-01 01:20:41" in New York is two
// instants an hour apart (Lord Howe's, half an hour), so the offset says
// which, as the timeline's captions do (tlTime).
func causeTime(t time.Time, loc *time.Location) string {
	t = t.In(loc)
	if repeated(t, loc) {
		return t.Format(causeLayout + " -07:00")
	}
	return t.Format(causeLayout)
}

func spanTable(title, note, empty string, ss []report.Span, loc *time.Location) table {
	t := table{
		Title:  title,
		Note:   note,
		Head:   []string{"Flow", "Start", "End", "Duration", "Reason"},
		Widths: []int{10, 10, 10, 6, 12},
		Empty:  empty,
	}
	for _, s := range ss {
		flow := s.Flow
		if flow == "" {
			flow = "all flows"
		}
		t.Rows = append(t.Rows, []string{flow, fmtTime(s.Start, loc), fmtTime(s.End, loc), fmtDur(s.DurationSeconds), printable(s.Reason)})
	}
	return t
}

// sparkline draws daily availability with block characters scaled between
// the lowest value (or the objective) and 100%; a day without data is a
// blank gap.
func sparkline(days []report.Day) string {
	if len(days) == 0 {
		return ""
	}
	lo, _ := yRange(days, 1)
	bars := []rune("▁▂▃▄▅▆▇█")
	var b strings.Builder
	for _, d := range days {
		if d.Availability == nil {
			b.WriteRune(' ')
			continue
		}
		f := (*d.Availability - lo) / (1 - lo)
		i := int(f * float64(len(bars)-1))
		i = max(0, min(i, len(bars)-1))
		b.WriteRune(bars[i])
	}
	return b.String()
}

// tlMaxHeight is the tallest a function timeline figure may be on its
// 1000-wide canvas: 1.1 times its width, which fits an A4 page (186 mm wide,
// so about 205 mm high) under the timeline's heading, legend and caption.
const tlMaxHeight = 1100.0

// timelineFigs is a timeline as figures that each fit a page: one, or
// parts of at most tlMaxHeight (see splitTimeline), each caption saying
// which part and which services it shows.
func timelineFigs(what string, tl Timeline, loc *time.Location) []timelineFig {
	parts := splitTimeline(tl)
	out := make([]timelineFig, len(parts))
	for i, p := range parts {
		c := what
		if len(parts) > 1 {
			first, last := p.Lanes[0].Service, p.Lanes[len(p.Lanes)-1].Service
			names := first
			if last != first {
				names += " to " + last
			}
			c += ", part " + strconv.Itoa(i+1) + " of " + strconv.Itoa(len(parts)) + " (" + names + ")"
		}
		out[i] = timelineFig{Caption: c + ": " + tlTime(p.From, loc) + " to " + tlTime(p.To, loc), TL: p}
	}
	return out
}

// splitTimeline cuts tl into parts no higher than tlMaxHeight, in lane
// order: between services, and between the lanes of a service only when it
// does not fit in a part by itself.
func splitTimeline(tl Timeline) []Timeline {
	if lanesHeight(tl.Lanes) <= tlMaxHeight {
		return []Timeline{tl}
	}
	var parts []Timeline
	cur := tl
	cur.Lanes = nil
	flush := func() {
		if len(cur.Lanes) > 0 {
			parts = append(parts, cur)
			cur = tl
			cur.Lanes = nil
		}
	}
	for i := 0; i < len(tl.Lanes); {
		j := i + 1
		for j < len(tl.Lanes) && tl.Lanes[j].Service == tl.Lanes[i].Service {
			j++
		}
		switch {
		case lanesHeight(slices.Concat(cur.Lanes, tl.Lanes[i:j])) <= tlMaxHeight: // the service fits here
			cur.Lanes = slices.Concat(cur.Lanes, tl.Lanes[i:j])
			i = j
		case len(cur.Lanes) > 0 && lanesHeight(tl.Lanes[i:j]) <= tlMaxHeight: // in the next part
			flush()
		default: // too many functions for one part: lane by lane
			if len(cur.Lanes) > 0 && lanesHeight(slices.Concat(cur.Lanes, tl.Lanes[i:i+1])) > tlMaxHeight {
				flush()
			}
			cur.Lanes = slices.Concat(cur.Lanes, tl.Lanes[i:i+1])
			i++
		}
	}
	flush()
	return parts
}

// lanesHeight is the height of a timeline with these lanes (as layout draws
// it): legend, a heading per service, a row per lane, the axis.
func lanesHeight(lanes []TimelineLane) float64 {
	h := tlLegendH + tlAxisH
	if len(lanes) == 0 {
		return h + tlLaneH
	}
	svc := ""
	for _, l := range lanes {
		if l.Service != svc {
			svc = l.Service
			h += tlServiceH
		}
		h += tlLaneH
	}
	return h
}

// latencies is the service's p50 / p95 / p99, or "not measured" when no
// step was timed (never "0 ms").
func latencies(s *report.Service) string {
	if s.P50 == nil || s.P95 == nil || s.P99 == nil {
		return "not measured"
	}
	return fmtLatency(*s.P50) + " / " + fmtLatency(*s.P95) + " / " + fmtLatency(*s.P99)
}
