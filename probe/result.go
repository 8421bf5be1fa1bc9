package probe

import (
	"strings"
	"time"
)

// Status is a step's outcome.
type Status string

// Step outcomes.
const (
	StatusOK       Status = "ok"
	StatusFailed   Status = "failed"
	StatusDegraded Status = "degraded" // passed, but over its latency objective or on a certificate under min_days_left
	StatusNotRun   Status = "not_run"  // an earlier step failed
)

// Phases are a step's HTTP timings from httptrace, summed over redirects. For
// a polled step they describe the last attempt.
type Phases struct {
	Resolve    time.Duration `json:"resolve"`
	Connect    time.Duration `json:"connect"`
	TLS        time.Duration `json:"tls"`
	Processing time.Duration `json:"processing"`
	Transfer   time.Duration `json:"transfer"`
}

// StepResult is what one step of one run yielded.
type StepResult struct {
	Step       string
	Function   string
	Status     Status
	HTTPStatus int           // 0 when no response arrived
	Duration   time.Duration // from the step's start to its end, polls included
	// Ended is when the step ended, after the run's start, on the runner's
	// clock (virtual time in a replay): what the step's own evidence waited
	// for, where Duration need not be its span (a poll with since counts
	// from its since step's start, an await its message's latency). At
	// least 1ns for a step that ran or failed; 0 for one not run and when
	// not known (a run built by hand, a run stored before it was kept).
	Ended    time.Duration
	Phases   Phases
	Attempts int    // 1 unless the step polled
	Error    string // short, specific, secrets removed; "" when ok
	// CertExpiry is the earliest expiry of the server's certificates (zero
	// without TLS): probe_ssl_earliest_cert_expiry.
	CertExpiry time.Time
}

// Run is one execution of a flow, from one location, at one scheduled time.
// It is the unit the store, the metrics and the state machine consume.
type Run struct {
	ID       string // unique; also ${run.id}
	Flow     string
	Service  string
	Location string
	Start    time.Time // when the run started (for scheduled runs, close to its due time)
	Duration time.Duration
	Steps    []StepResult // one per step that counts, in order (see Runner.Run)
	// Teardown holds the teardown steps that do not count against
	// availability: reported apart, never in Steps.
	Teardown []StepResult
	// Confirm marks a confirm run: an extra run made every confirm_every
	// while the flow's verdict was in question (see config Flow.ConfirmEvery)
	// that covered no base slot. It feeds the state machine like any run,
	// but run counts, the run success ratio, latency percentiles and
	// slaprobe_runs_total count scheduled runs only. A base slot that passes
	// while confirm runs are made is covered by the first run at or after
	// it, which is that slot's scheduled run (Confirm false).
	Confirm bool
	// Interval is the flow's interval when the run was made (a confirm
	// run's too): the stretch after it is judged by it (README, Accounting
	// policy), not by a reload's since. 0: not known (a run stored before
	// schema version 15, or made outside the daemon); a report then takes
	// the config's.
	Interval time.Duration
	// RetryAfter is what the first failing step's last answer asked of the
	// client (a session or main step's; not a teardown step's), a 429 (Too
	// Many Requests) or 503 (Service Unavailable) with a Retry-After header: the daemon makes no confirm run sooner (see
	// config Flow.ConfirmEvery). 0: none asked. Not stored.
	RetryAfter time.Duration
}

// OK reports whether no step failed (a degraded step still counts as ok).
func (r *Run) OK() bool {
	for i := range r.Steps {
		if r.Steps[i].Status == StatusFailed || r.Steps[i].Status == StatusNotRun {
			return false
		}
	}
	return true
}

// Degraded reports whether the run passed but a step was degraded: over its
// latency objective, or on a certificate under expect.tls.min_days_left
// (Slow tells the two apart).
func (r *Run) Degraded() bool {
	if !r.OK() {
		return false
	}
	for i := range r.Steps {
		if r.Steps[i].Status == StatusDegraded {
			return true
		}
	}
	return false
}

// underMinDaysLeft is in the error of a step degraded only by its
// certificate's expiry (see step: "STEP: certificate expires in 9 days,
// under min_days_left 14"), never in a latency one's.
const underMinDaysLeft = ", under min_days_left "

// Slow reports whether the run passed but a step was over its latency
// objective: degraded by something that can change from one run to the
// next, not only by a certificate under expect.tls.min_days_left, which
// stays until it is renewed. It reads the kind from the step's error, as
// stored (the store keeps no other trace of it), so that a stored run says
// the same as a live one.
func (r *Run) Slow() bool {
	if !r.OK() {
		return false
	}
	for i := range r.Steps {
		if s := &r.Steps[i]; s.Status == StatusDegraded && !strings.Contains(s.Error, underMinDaysLeft) {
			return true
		}
	}
	return false
}

// Outcome is the run's overall result: ok, degraded or failed.
func (r *Run) Outcome() Status {
	switch {
	case !r.OK():
		return StatusFailed
	case r.Degraded():
		return StatusDegraded
	default:
		return StatusOK
	}
}

// FirstFailure returns the first failed step, or nil.
func (r *Run) FirstFailure() *StepResult {
	for i := range r.Steps {
		if r.Steps[i].Status == StatusFailed {
			return &r.Steps[i]
		}
	}
	return nil
}

// Exercises reports whether the run measured function fn: one of fn's
// steps is in its results, run or blocked (not_run). A run that reuses a
// flow's session lists none of the session's steps (docs/config.md,
// Sessions), so it does not exercise a function served by them alone (a
// login): FunctionStatus's ok for it means only that nothing of it failed.
func (r *Run) Exercises(fn string) bool {
	for i := range r.Steps {
		if r.Steps[i].Function == fn {
			return true
		}
	}
	return false
}

// FunctionStatus is the outcome of one function in a run: the worst status of
// the steps that serve it, with not_run (blocked) counted as failed. The cause
// is the run's first failing step.
func (r *Run) FunctionStatus(function string) Status {
	st := StatusOK
	for i := range r.Steps {
		s := &r.Steps[i]
		if s.Function != function {
			continue
		}
		switch s.Status {
		case StatusFailed, StatusNotRun:
			return StatusFailed
		case StatusDegraded:
			st = StatusDegraded
		}
	}
	return st
}
