package report

import (
	"math"
	"strings"
	"time"

	"github.com/slaprobe/slaprobe/state"
)

// Report is one SLA report: a period, the policy used, and per service the
// accounting, windows and reconciliation. Every renderer (JSON, CSV, Markdown,
// HTML, PDF) draws from this one value; JSON is its direct encoding, so the
// json tags below are a public contract (DESIGN "report.json").
type Report struct {
	Title     string    `json:"title"`
	From      time.Time `json:"from"`
	To        time.Time `json:"to"`
	Timezone  string    `json:"timezone"`
	Location  string    `json:"location"` // the prober location(s), comma separated
	Generated time.Time `json:"generated"`
	// Provisional: the period is not over (Generated is before To): it is
	// accounted up to Generated, and its figures, verdicts and credits are
	// so far, not final.
	Provisional bool      `json:"provisional"`
	Policy      Policy    `json:"policy"`
	Services    []Service `json:"services"`
	// Windows is every down and degraded window in the period, all services,
	// ordered by start (the same list as windows.json).
	Windows []Window `json:"windows"`
	// Silent is each location that stopped reporting before the end of the
	// elapsed period (no run of any of its flows in the last two of that
	// flow's intervals), with when its data ended: where the unknown
	// stretch after its flows' last runs starts (when their next runs were
	// due), the latest of them. The status page shows such a location as not
	// reporting rather than up or down. Not part of report.json.
	Silent map[string]time.Time `json:"-"`
}

// Policy is the accounting policy, as values and in words.
type Policy struct {
	DownAfter int     `json:"down_after"`
	UpAfter   int     `json:"up_after"`
	Unknown   string  `json:"unknown"`  // exclude | down
	Degraded  string  `json:"degraded"` // up | down
	Quorum    string  `json:"quorum"`
	FlapGap   float64 `json:"flap_gap_seconds"`
	// MinCoverage: below this coverage a service's credit is withheld;
	// absent when 0 (off).
	MinCoverage float64  `json:"min_coverage,omitempty"`
	Text        []string `json:"text"` // the policy in plain sentences, printed in every report
}

// CreditTier is one SLA credit tier: availability below Below earns
// CreditPercent.
type CreditTier struct {
	Below         float64 `json:"below"`
	CreditPercent float64 `json:"credit_percent"`
}

// Service is the accounting for one service over the period.
//
// A figure that cannot be computed is null in JSON, never 0: Availability,
// RunSuccessRatio and CreditPercent when nothing was measured (NoData), the
// latency percentiles when no step was timed, and
// the incident figures (MTTR, MTBF, MTTD, longest, average) when there was no
// incident or, for MTTD, no incident whose detection was seen, for MTTR,
// none seen to recover (begun and ended in the period, both edges measured)
// and, for MTBF (up time / incidents begun in the period), none begun in the
// period.
type Service struct {
	Name         string   `json:"name"`
	Objective    float64  `json:"objective"`
	Availability *float64 `json:"availability"` // time-weighted, 0..1; null without data
	NoData       bool     `json:"no_data"`      // nothing in the period was measured (outside planned maintenance)
	// MaintenanceOnly: all of the elapsed period was planned maintenance
	// (the config's maintenance: for this service), so there is no time to
	// judge availability over: Availability and CreditPercent are null as
	// without data, but NoData is false (the time is excluded from the SLA,
	// not missing) and the human formats say "planned maintenance". Absent
	// otherwise.
	MaintenanceOnly    bool     `json:"maintenance_only,omitempty"`
	RunSuccessRatio    *float64 `json:"run_success_ratio"` // ok runs / runs, shown beside it; null without runs
	Runs               int64    `json:"runs"`              // scheduled runs (confirm runs are not in Runs, RunSuccessRatio or the latencies)
	ConfirmRuns        int64    `json:"confirm_runs"`      // extra runs made every confirm_every while a verdict was in question
	PeriodSeconds      float64  `json:"period_seconds"`
	UptimeSeconds      float64  `json:"uptime_seconds"`
	DowntimeSeconds    float64  `json:"downtime_seconds"`
	DegradedSeconds    float64  `json:"degraded_seconds"`
	UnknownSeconds     float64  `json:"unknown_seconds"`
	MaintenanceSeconds float64  `json:"maintenance_seconds"`
	Incidents          int      `json:"incidents"` // outages after flap merging
	MTTRSeconds        *float64 `json:"mttr_seconds"`
	MTBFSeconds        *float64 `json:"mtbf_seconds"`
	MTTDSeconds        *float64 `json:"mttd_seconds"` // backdated start to the end of the confirming run, mean over incidents whose start was seen
	LongestSeconds     *float64 `json:"longest_outage_seconds"`
	AverageSeconds     *float64 `json:"average_outage_seconds"`
	ErrorBudget        Budget   `json:"error_budget"`
	CreditPercent      *float64 `json:"credit_percent"` // null without data, or withheld (CreditWithheld)
	// Coverage is the share of the elapsed period, less maintenance, that
	// runs covered (not unknown); only when policy.min_coverage is set
	// (and absent then too when the period was all maintenance).
	Coverage *float64 `json:"coverage,omitempty"`
	// CreditWithheld says why CreditPercent is null although there is an
	// availability: CreditBelowCoverage. Empty (absent) otherwise.
	CreditWithheld string `json:"credit_withheld,omitempty"`
	// CreditTiers are the tiers CreditPercent comes from, as configured:
	// the first, from the top, whose Below the availability is under.
	CreditTiers []CreditTier `json:"credit_tiers"`
	// P50, P95 and P99 are over every step of the service, in seconds
	// (null when no step was timed); Steps has them per flow and step.
	P50   *float64      `json:"p50"`
	P95   *float64      `json:"p95"`
	P99   *float64      `json:"p99"`
	Steps []StepLatency `json:"steps"`
	Flows []Flow        `json:"flows"`
	// Daily availability in the report's time zone, for the chart.
	Daily          []Day            `json:"daily"`
	Windows        []Window         `json:"windows"`        // this service's down and degraded windows
	IncidentList   []Incident       `json:"incident_list"`  // merged outages with their parts
	Unknown        []Span           `json:"unknown"`        // stretches no run covered
	Maintenance    []Span           `json:"maintenance"`    // planned windows inside the period
	Reconciliation []Reconciliation `json:"reconciliation"` // one per declared incident
	Undeclared     []Window         `json:"undeclared"`     // measured windows counted as down that nothing declared
	// BelowQuorum lists windows seen from too few locations to count
	// (DESIGN: single-location failures are shown but not counted).
	BelowQuorum []Window `json:"below_quorum"`
	// Functions is each function's accounting, only when Input.Functions
	// asked for it (see FunctionAccount).
	Functions []FunctionAccount `json:"functions,omitempty"`
}

// Flow is the accounting for one flow.
type Flow struct {
	Name         string   `json:"name"`
	Availability *float64 `json:"availability"` // null without data
	NoData       bool     `json:"no_data"`
	// MaintenanceOnly: all of the elapsed period was planned maintenance
	// (see Service.MaintenanceOnly). Absent otherwise.
	MaintenanceOnly bool     `json:"maintenance_only,omitempty"`
	RunSuccessRatio *float64 `json:"run_success_ratio"` // null without runs
	Runs            int64    `json:"runs"`              // scheduled runs
	ConfirmRuns     int64    `json:"confirm_runs"`      // confirm runs, not in Runs or RunSuccessRatio
	DowntimeSeconds float64  `json:"downtime_seconds"`
	DegradedSeconds float64  `json:"degraded_seconds"` // counted as down under policy.degraded: down
	UnknownSeconds  float64  `json:"unknown_seconds"`
	// Retired: the flow is not in the config the report was made with
	// (renamed or removed since), but ran in the period under this
	// service, so it is accounted like the configured ones (see README,
	// Reports). Absent for a configured flow.
	Retired bool `json:"retired,omitempty"`
	// FunctionRuns are, for each function of a flow with a session (or
	// any flow some function of which was not exercised by all its runs),
	// how many of its scheduled runs (Runs) exercised that function: a run
	// that reused the session lists none of the session's steps, so a login
	// they alone serve was measured only by the runs that logged in (24 of
	// 1,440 a day with ttl 1h at 60 s), and its availability between them
	// is the sessions' (state's package comment). Counted from the step
	// rollups, which outlive the raw results. Absent for a flow without a
	// session whose every run exercised every function, and in a report
	// built without latencies (the status page's).
	FunctionRuns []FunctionRuns `json:"function_runs,omitempty"`
}

// FunctionRuns is how many of a flow's scheduled runs exercised one of its
// functions: one of its steps ran or was blocked (not_run) in them.
type FunctionRuns struct {
	Function string `json:"function"`
	Runs     int64  `json:"runs"`
}

// Budget is the error budget for the period.
type Budget struct {
	AllowedSeconds   float64  `json:"allowed_seconds"`
	ConsumedSeconds  float64  `json:"consumed_seconds"`
	RemainingSeconds float64  `json:"remaining_seconds"` // negative when overspent
	RemainingRatio   *float64 `json:"remaining_ratio"`   // null when no budget was allowed
	BurnRate         *float64 `json:"burn_rate"`         // consumed share / elapsed share of the period; null as above
}

// StepLatency holds latency percentiles of one step, in seconds; they are
// null when the step was not timed in the period (Count 0).
type StepLatency struct {
	Flow     string   `json:"flow"`
	Step     string   `json:"step"`
	Function string   `json:"function"`
	Count    int64    `json:"count"`
	P50      *float64 `json:"p50"`
	P95      *float64 `json:"p95"`
	P99      *float64 `json:"p99"`
}

// Day is one local calendar day of the period: its availability (nil when
// nothing was measured) and its time accounting. Days start at the first
// instant of their local date; Seconds is the day's real length inside the
// period (23 or 25 hours on a DST change, less at a partial edge).
type Day struct {
	Date               string   `json:"date"` // YYYY-MM-DD in the report's zone
	Availability       *float64 `json:"availability"`
	Seconds            float64  `json:"seconds"`
	DowntimeSeconds    float64  `json:"downtime_seconds"`
	UnknownSeconds     float64  `json:"unknown_seconds"`
	MaintenanceSeconds float64  `json:"maintenance_seconds"`
	// MaintenanceOnly: the day's elapsed part was all planned maintenance
	// (its availability null for that, not for want of data). Absent
	// otherwise.
	MaintenanceOnly bool `json:"maintenance_only,omitempty"`
}

// Edge cuts: why a window's (or an incident's, or a reconciliation's)
// start or end is not a measured edge.
const (
	// CutPeriod: the window began before the period (start is the period
	// start) or went on after it (end is null).
	CutPeriod = "period"
	// CutNoData: no run covered the time just before the start or just after
	// the end (the prober was down): the window's edge is where the data
	// stops, not where the outage did.
	CutNoData = "no_data"
	// CutBlocked (reconciliation only): the function was blocked by an
	// earlier step's failure that another declared incident explains; the
	// measured edge is where its own failure was first (last) seen.
	CutBlocked = "blocked"
)

// Window is a downtime window as windows.json and the reports show it.
type Window struct {
	Service  string     `json:"service"`
	Flow     string     `json:"flow"`
	Function *string    `json:"function"` // null for a whole-flow window
	Kind     string     `json:"kind"`     // down | degraded
	Start    time.Time  `json:"start"`
	End      *time.Time `json:"end"` // null while ongoing, or when it went on after the period (end_cut "period")
	// StartCut and EndCut say why an edge is not a measured one: "period"
	// or "no_data" (see CutPeriod, CutNoData); empty for a measured edge.
	StartCut        string  `json:"start_cut,omitempty"`
	EndCut          string  `json:"end_cut,omitempty"`
	DurationSeconds float64 `json:"duration_seconds"`
	// MaintenanceSeconds is how much of the window the planned
	// maintenance of its service covered (the config's, its own and the
	// "*" ones), which availability and the incidents do not count;
	// absent when none did.
	MaintenanceSeconds float64  `json:"maintenance_seconds,omitempty"`
	CauseStep          string   `json:"cause_step"`
	Locations          []string `json:"locations"`
	// QuorumBy are the locations of a counted window whose own windows
	// began at its start, the quorum reached by them (their probers' runs
	// made it count); of several (the period's start, the same second),
	// those whose confirmations made the quorum known (madeKnown); none
	// where it began otherwise. Not in the JSON (the report's keys are a
	// contract): the alerts elect by it (state.Window).
	QuorumBy  []string  `json:"-"`
	Error     string    `json:"error"`
	Confirmed time.Time `json:"confirmed"` // start of the run that reached down_after (the quorum's); the period's start for a cut window confirmed before it (see quorum)
	// StartUncertaintySeconds is how much earlier the window may really have
	// started: its start minus the start of the last run before it that
	// passed (of a counted window, back to the earliest instant at which
	// the quorum may have been down: see quorum in windows.go).
	// EndUncertaintySeconds is how much earlier it may have ended: its end
	// minus the start of the last failing run (of a counted window, the
	// m-th latest of those of its locations that had to come back: see
	// quorum in windows.go). Null when no run
	// bounds the edge (the first run, after an unknown stretch, an edge that
	// is not a measured one: start_cut/end_cut) and, for the end, while
	// ongoing.
	StartUncertaintySeconds *float64 `json:"start_uncertainty_seconds"`
	EndUncertaintySeconds   *float64 `json:"end_uncertainty_seconds"`
	// StartUncertaintyLaterSeconds is how much later the window may really
	// have started: the duration of its first failing run, which began at
	// its start but failed only at its end (a timeout, a message that never
	// arrived). EndUncertaintyLaterSeconds is how much later it may have
	// ended: the duration of the run that ended it (the first of up_after
	// passing runs), which began at its end but passed only when the
	// platform answered (a frozen platform that woke while it waited). Of a
	// counted window: at its start, the first instant at which the quorum
	// surely was down (as many location windows, down at it or joining it
	// later, past the end of their first runs and not yet ended; else the
	// quorum-th earliest end of the first runs of those down at it); at
	// its end, the m-th latest end of the runs
	// that ended the location windows that had to come back (as many as
	// were down beyond the quorum; see quorum in windows.go). Null when not
	// known: no run made the edge
	// (as above; also an end where a location's data ended), or a window
	// stored before schema version 12 whose run is no longer kept.
	StartUncertaintyLaterSeconds *float64 `json:"start_uncertainty_later_seconds"`
	EndUncertaintyLaterSeconds   *float64 `json:"end_uncertainty_later_seconds"`
	// Causes are the window's causes in time order (the first is CauseStep
	// and Error), each from the first run that had it to the first that had
	// the next (or the window's end), clipped to the window. A counted
	// window's are those of every location window that makes it, each
	// clipped to it and to where its location reported, the same cause at
	// several locations merged: they may overlap, and more than one may
	// last (to null) while it is open. At most state.MaxCauses: past that,
	// those in force at its end and the first of the others.
	Causes []Cause `json:"causes"`
	// QuorumNeverSurelyDown marks a counted window in which the quorum was
	// never surely down at once: at no instant in it were as many of its
	// locations as the quorum then needs (of the locations reporting at
	// that instant) each past the end of its window's
	// first failing run and not yet back, however early the runs whose
	// ends are not known ended (majority of 3, seoul-a back at 10:11:04,
	// busan-b down from 10:11:00 with a first run that hung to 10:11:15).
	// The policy counts it (the measured location windows overlap), but it
	// may not have been real: each location's outage may have missed the
	// other's. Its start's later bound is then its end's latest instant.
	// Only where its end is measured and its start measured or next to
	// time without data (start_cut "no_data": the first failing run's end
	// still bounds it), not one the period cuts; in the JSON only when
	// true (an additive key: absent on every other window).
	QuorumNeverSurelyDown bool `json:"quorum_never_surely_down,omitempty"`
	// SplitFrom is, of a counted window, the start of the counted window
	// of the same flow, function and kind just before it when a location
	// window lasted from that one into this one without a break: fewer
	// than the quorum were down between them, so the policy counts two
	// windows of what may have been one outage (majority of 3, daegu-c
	// down 10:13-10:25, seoul-a back at 10:15:00, busan-b down from
	// 10:15:01: 10:13-10:15:00 and 10:15:01-10:25, the second with
	// split_from 10:13). In the JSON only then (an additive key).
	SplitFrom *time.Time `json:"split_from,omitempty"`
	// Known is when the window's confirmation was known: the end of its
	// confirming run (of the quorum's, the quorum-th to end; MTTD's), its
	// Confirmed where that end is not stored. Not in the JSON (the report's
	// keys are a contract): the daemon's fleet push holds the quorum's page
	// for maintenance by it, as it holds this prober's own windows
	// (state.Window.Known).
	Known time.Time `json:"-"`
	// EndMayMove marks a counted window of live figures whose end the
	// next figures may yet move (state.Window.EndMayMove, which it gives:
	// see flowWindows). Not in the JSON.
	EndMayMove bool `json:"-"`
}

// Cause is one stretch of a window with the same failing step and error.
type Cause struct {
	Step  string     `json:"step"`
	Error string     `json:"error"`
	From  time.Time  `json:"from"`
	To    *time.Time `json:"to"` // null while it lasts
}

// Incident is one outage after flap merging: windows of a service closer than
// the flap gap, listed with their parts.
// Its duration leaves out maintenance inside it.
type Incident struct {
	Start           time.Time  `json:"start"`
	End             *time.Time `json:"end"` // null while ongoing or when it went on after the period
	StartCut        string     `json:"start_cut,omitempty"`
	EndCut          string     `json:"end_cut,omitempty"`
	DurationSeconds float64    `json:"duration_seconds"`
	Functions       []string   `json:"functions"`
	Parts           int        `json:"parts"`
	// StartMaintenance (EndMaintenance) is set when the incident's start
	// (end) is where planned maintenance cut it: the outage was under way
	// when the maintenance ended (went on into it). That edge is the
	// maintenance's, not a measured one: the incident is not in MTTR, and
	// the tables say so. Not in the JSON (the report's keys are a
	// contract).
	StartMaintenance bool `json:"-"`
	EndMaintenance   bool `json:"-"`
}

// Span is a stretch of time with a reason (unknown or maintenance).
type Span struct {
	Flow            string    `json:"flow,omitempty"`
	Start           time.Time `json:"start"`
	End             time.Time `json:"end"`
	DurationSeconds float64   `json:"duration_seconds"`
	Reason          string    `json:"reason,omitempty"`
	// Settling: in live figures (a range still open), an unknown stretch
	// that ended before the elapsed end after which the quorum still
	// reads no location reporting, up to that end: every location whose
	// data resumed after it is settling (Settling: its runs since made no
	// window and its last run did not pass), so whether the flow was
	// down from its end is not known yet. Not in the JSON.
	Settling bool `json:"-"`
}

// CreditBelowCoverage is Service.CreditWithheld when runs covered less of
// the period than policy.min_coverage.
const CreditBelowCoverage = "coverage below policy.min_coverage"

// Reasons of unknown stretches.
const (
	// ReasonNoRun: no run covered the stretch (the prober was down, not
	// yet deployed, or the flow not configured then).
	ReasonNoRun = "no run"
	// ReasonPruned: the stretch is older than what the store keeps (its
	// hour rollups and ended windows were pruned under
	// storage.hour_retention), so whether runs covered it is not known.
	ReasonPruned = "pruned: older than storage.hour_retention"
)

// Reconciliation pairs a declared incident with what was measured.
type Reconciliation struct {
	ID                string     `json:"id"`
	Title             string     `json:"title"`
	Timeline          string     `json:"timeline"`
	Functions         []string   `json:"functions"`
	DeclaredStart     time.Time  `json:"declared_start"`
	DeclaredEnd       *time.Time `json:"declared_end"`
	MeasuredStart     *time.Time `json:"measured_start"`
	MeasuredEnd       *time.Time `json:"measured_end"`
	StartDeltaSeconds *float64   `json:"start_delta_seconds"` // measured - declared
	EndDeltaSeconds   *float64   `json:"end_delta_seconds"`
	// StartCut and EndCut say why a measured edge is null ("period",
	// "no_data") or where it comes from when the function was blocked by an
	// earlier failure ("blocked"); empty for an edge measured directly.
	StartCut string   `json:"start_cut,omitempty"`
	EndCut   string   `json:"end_cut,omitempty"`
	Detected bool     `json:"detected"`
	Windows  []Window `json:"windows"` // the measured windows matched to it
	// BelowQuorum are the windows of its functions near it that fewer
	// locations than the quorum saw: shown, not counted, so they neither
	// detect it nor measure its edges; with them a "not detected" says
	// what was seen and from where.
	BelowQuorum []Window `json:"below_quorum"`
	// BelowQuorumStart and BelowQuorumEnd are when the BelowQuorum windows
	// saw it: the earliest start and the latest end among them, with their
	// deltas (seen - declared), for a customer disputing it: the incident
	// was seen, from those windows' locations, though not by the quorum
	// (Detected stays false, and MeasuredStart/MeasuredEnd and the deltas
	// above stay those of counted windows only). Null without such
	// windows, or where that edge is not a measured one:
	// BelowQuorumStartCut/EndCut say why ("period", "no_data"), and a
	// null end without a cut is a window still open.
	BelowQuorumStart             *time.Time `json:"below_quorum_start"`
	BelowQuorumEnd               *time.Time `json:"below_quorum_end"`
	BelowQuorumStartDeltaSeconds *float64   `json:"below_quorum_start_delta_seconds"`
	BelowQuorumEndDeltaSeconds   *float64   `json:"below_quorum_end_delta_seconds"`
	BelowQuorumStartCut          string     `json:"below_quorum_start_cut,omitempty"`
	BelowQuorumEndCut            string     `json:"below_quorum_end_cut,omitempty"`
	// FirstNotice is the provider's first notice, and NoticeDelaySeconds the
	// time from the measured start to it (on 2021-05-05: 21 minutes).
	FirstNotice        *time.Time `json:"first_notice"`
	NoticeDelaySeconds *float64   `json:"notice_delay_seconds"`
}

// StartBounds are the earliest and the latest w may really have begun
// (Start less StartUncertaintySeconds, Start plus
// StartUncertaintyLaterSeconds); each zero when not known.
func (w Window) StartBounds() (earliest, latest time.Time) {
	if w.StartUncertaintySeconds != nil {
		earliest = w.Start.Add(-SecondsDuration(*w.StartUncertaintySeconds))
	}
	if w.StartUncertaintyLaterSeconds != nil {
		latest = w.Start.Add(SecondsDuration(*w.StartUncertaintyLaterSeconds))
	}
	return earliest, latest
}

// SecondsDuration is the duration of s seconds (Duration.Seconds' inverse,
// to the nanosecond); daemon's WindowStatus.StartBounds uses it too.
func SecondsDuration(s float64) time.Duration {
	return time.Duration(math.Round(s * float64(time.Second)))
}

// State is w as the state machine tells a window (its locations joined in
// Key.Location), as the status page hands it to the notifier: its start's
// bounds as LastBefore and FirstInEnd (StartBounds; zero where not known),
// so that its StartUncertainty and StartLater are w's; not its end's.
func (w Window) State() state.Window {
	sw := state.Window{
		Key:  state.Key{Service: w.Service, Flow: w.Flow, Location: strings.Join(w.Locations, ", ")},
		Kind: state.Kind(w.Kind), Start: w.Start, Confirmed: w.Confirmed, Known: w.Known, CauseStep: w.CauseStep, Error: w.Error,
	}
	sw.LastBefore, sw.FirstInEnd = w.StartBounds()
	sw.QuorumBy = strings.Join(w.QuorumBy, ", ")
	sw.EndMayMove = w.EndMayMove
	sw.QuorumNeverSurelyDown = w.QuorumNeverSurelyDown
	if w.Function != nil {
		sw.Function = *w.Function
	}
	if w.End != nil {
		sw.End = *w.End
	}
	for _, c := range w.Causes {
		sc := state.Cause{Step: c.Step, Error: c.Error, From: c.From}
		if c.To != nil {
			sc.To = *c.To
		}
		sw.Causes = append(sw.Causes, sc)
	}
	return sw
}
