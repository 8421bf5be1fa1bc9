// Package state is slaprobe's one state machine: it decides, from a flow's
// runs at one location, when the flow and each of its functions are up, down,
// degraded or unknown, and the windows that follow.
//
// The live daemon feeds it runs as they finish (metrics, alerts, stored
// events); the report builder feeds it stored runs. Both use Machine, so they
// cannot disagree on a window.
//
// The policy (DESIGN "Accounting policy"):
//
//   - A key goes down after DownAfter consecutive failed runs; the window is
//     backdated to the start of the first of them. It is up again at the start
//     of the first of UpAfter consecutive passing runs.
//   - Degraded works the same way with degraded runs (all steps passed, one
//     over its latency objective).
//   - A function fails in a run when a step serving it fails or is not run
//     (blocked by an earlier failure); the cause is the run's first failing step.
//   - A run with no step of a function in its results (probe.Run.Exercises:
//     none ran and none was blocked; a run that reused a flow's session
//     lists none of the session's steps, so it does not exercise a login
//     that they alone serve) is no evidence about that function: it neither
//     starts, ends, breaks nor extends its streaks, and it is not its
//     LastBefore, LastIn or FirstAfterEnd; the function keeps its verdict
//     (users' sessions worked) and an unknown one stays unknown. Time
//     coverage stays the flow's: the flow ran, so no unknown stretch. So a
//     login that fails when the session expires an hour after the last
//     login that passed begins at most an hour before, not a minute; with
//     up_after > 1, a login window ends at the first passing login but is
//     known only at the up_after-th, a ttl or more later. Windows a daemon
//     stored before this rule took reusing runs for passing logins (their
//     start bounds say the last reusing run); they are kept as they are,
//     and windows --recompute finds them by it from the results still kept.
//   - A run covers the time from its start to its end, so a slot skipped
//     because the previous run was still in flight (a hang) is covered by
//     that run: failures across skipped slots are consecutive. A stretch no
//     run covered, finished or in flight, for longer than twice the interval
//     is unknown, from when the next run was due (or the end of the last
//     run, if later) to the next run's start: the last run's start plus
//     ConfirmEvery when the flow was to be confirm-run after it (Confirming:
//     down or degraded, or a failed or degraded run while up), else plus the
//     interval. Open windows close where the stretch begins, and counting
//     starts over after it.
//   - A window keeps its causes in time order: a new cause begins at the
//     first of its runs whose first failing (or degraded) step differs, or
//     whose error differs in more than the numbers, durations and quoted
//     values in it. CauseStep and Error stay the first.
//   - Each edge knows how far it may be off, both ways: the start is at
//     most Start-LastBefore late (the last run before the window, which was
//     not in it) and at most FirstInEnd-Start early (the first run in the
//     window failed by its own end: the fault may have begun while it
//     waited); the end at most End-LastIn late (the last run in the window)
//     and at most FirstAfterEnd-End early (the run that ends it started at
//     End but passed only when it finished: a frozen platform that answers
//     when it wakes, a message delivered only on recovery).
package state

import (
	"iter"
	"math"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/slaprobe/slaprobe/probe"
)

// State is a key's current verdict.
type State string

// States.
const (
	Unknown  State = "unknown"
	Up       State = "up"
	Down     State = "down"
	Degraded State = "degraded"
)

// Kind is a window's kind.
type Kind string

// Window kinds. Unknown windows are stretches no run covered.
const (
	KindDown     Kind = "down"
	KindDegraded Kind = "degraded"
	KindUnknown  Kind = "unknown"
)

// Key names what a state is kept for. Function is "" for the whole flow.
type Key struct {
	Service  string
	Flow     string
	Function string
	Location string
}

// Window is a maximal interval in which a key was down, degraded or unknown.
type Window struct {
	Key
	Kind      Kind
	Start     time.Time // backdated to the first failing run's start
	End       time.Time // zero while open
	Confirmed time.Time // start of the run that confirmed it (Start for unknown)
	CauseStep string    // the first failing step of the first failing run
	Error     string    // that step's error
	// Known is when the confirmation was known: the end of the run that
	// confirmed it (its start plus its duration; Start for unknown). Zero
	// when not known (a window stored before schema version 11 whose
	// confirming run was no longer kept): read Confirmed then (KnownAt).
	Known time.Time
	// Causes are the window's causes in time order; the first is CauseStep
	// and Error from Start, the last one's To is End (zero while open).
	// Unknown windows have none.
	Causes []Cause
	// LastBefore is the start of the last run before the window that was not
	// in it: the window began at most Start-LastBefore before Start. Zero
	// when no run before it is known (the first run, or after an unknown
	// stretch).
	LastBefore time.Time
	// LastIn is the start of the last run in the window: it ended at most
	// End-LastIn before End. Zero while open.
	LastIn time.Time
	// FirstInEnd is the end of the first run in the window (the one that
	// started at Start): the window began at most FirstInEnd-Start after
	// Start. Zero when not known (an edge no run of the window made, a run
	// observed after the wall clock stepped back, a window stored before
	// schema version 12 whose run was no longer kept).
	FirstInEnd time.Time
	// FirstAfterEnd is the end of the run that ended the window (the first
	// of up_after passing runs, which started at End): the window ended at
	// most FirstAfterEnd-End after End. Zero while open, and when not known
	// (a window closed by an unknown stretch or a stop, or by a run observed
	// after the wall clock stepped back, one stored before schema version 12
	// whose run was no longer kept).
	FirstAfterEnd time.Time
	// QuorumBy is, of a fleet's counted window (report's), the locations
	// whose own windows began at its start, comma-separated as Location:
	// the quorum was reached by them. Empty for a location's own window,
	// and for a counted one that began otherwise (a location gone unknown,
	// the period's start).
	QuorumBy string
	// EndMayMove marks, of a live fleet's counted window (report's) that
	// has ended, an end the next figures may yet move: a location window
	// of it lasts past its end, and the figures end less than the flow's
	// settling (report.Settling) after it, so a location down at its end
	// whose window is not made yet (its confirming runs in flight) may
	// join it and carry it on. The late page waits for it (alert's
	// pageLate). False for a location's own window and in a report of a
	// period that is over.
	EndMayMove bool
	// QuorumNeverSurelyDown is, of a fleet's counted window (report's), the
	// report's mark (report.Window.QuorumNeverSurelyDown): at no instant
	// of it was the quorum surely down at once, so it may not have been
	// one outage. Its late page says so (alert's render). False for a
	// location's own window.
	QuorumNeverSurelyDown bool
}

// Cause is what made a stretch of a window's runs fail (or be degraded):
// the first failing step of those runs and the first of their errors.
type Cause struct {
	Step  string
	Error string
	From  time.Time // start of the first run with this cause
	To    time.Time // start of the first run with the next cause, or the window's end; zero while it lasts
}

// KnownAt is when the window's confirmation was known: Known, or Confirmed
// when that is not stored.
func (w *Window) KnownAt() time.Time {
	if w.Known.IsZero() || w.Known.Before(w.Confirmed) {
		return w.Confirmed
	}
	return w.Known
}

// Open reports whether the window has not ended.
func (w *Window) Open() bool { return w.End.IsZero() }

// StartUncertainty is how far the start may be off (Start-LastBefore), and
// whether that is known.
func (w *Window) StartUncertainty() (time.Duration, bool) {
	if w.LastBefore.IsZero() || w.LastBefore.After(w.Start) {
		return 0, false
	}
	return w.Start.Sub(w.LastBefore), true
}

// EndUncertainty is how far the end may be off (End-LastIn), and whether
// that is known (not while open).
func (w *Window) EndUncertainty() (time.Duration, bool) {
	if w.End.IsZero() || w.LastIn.IsZero() || w.LastIn.After(w.End) {
		return 0, false
	}
	return w.End.Sub(w.LastIn), true
}

// CurrentCause is the window's latest cause (CauseStep and Error when it
// lists none): of an open window, the latest to begin of those that last.
// A location's window has one lasting cause, its last; a fleet's counted
// window (the report's, which the quorum's page describes) lists the causes
// of every location that makes it, in order of start, and the last to begin
// may have ended (seoul-a's 503s from 10:30 to 10:35 while busan-b still
// times out from 10:15 on).
func (w *Window) CurrentCause() Cause {
	if n := len(w.Causes); n > 0 {
		if w.End.IsZero() {
			for i := n - 1; i >= 0; i-- {
				if w.Causes[i].To.IsZero() {
					return w.Causes[i]
				}
			}
		}
		return w.Causes[n-1]
	}
	return Cause{Step: w.CauseStep, Error: w.Error, From: w.Start, To: w.End}
}

// StartLater is how much later the start may really have been
// (FirstInEnd-Start: the first failing run's duration), and whether that is
// known.
func (w *Window) StartLater() (time.Duration, bool) {
	if w.FirstInEnd.IsZero() || w.FirstInEnd.Before(w.Start) {
		return 0, false
	}
	return w.FirstInEnd.Sub(w.Start), true
}

// EndLater is how much later the end may really have been
// (FirstAfterEnd-End: the duration of the run that ended the window), and
// whether that is known (not while open).
func (w *Window) EndLater() (time.Duration, bool) {
	if w.End.IsZero() || w.FirstAfterEnd.IsZero() || w.FirstAfterEnd.Before(w.End) {
		return 0, false
	}
	return w.FirstAfterEnd.Sub(w.End), true
}

// Duration is End-Start, or until now for an open window.
func (w *Window) Duration(now time.Time) time.Duration {
	if w.Open() {
		return now.Sub(w.Start)
	}
	return w.End.Sub(w.Start)
}

// Op says what an Event did to its window.
type Op string

// Event operations.
const (
	OpOpen  Op = "open"
	OpClose Op = "close"
	// OpCause: an open window's cause changed; Window.Causes ends with the
	// new one (its From is the start of the first run with it).
	OpCause Op = "cause"
)

// Event is a state change, as stored so that open windows (and their
// causes) survive a restart. For OpOpen and OpCause, Window.End is zero; for
// OpClose, it is set.
type Event struct {
	Op     Op
	Window Window
}

// Policy is what the machine needs of a flow's config.
type Policy struct {
	Interval  time.Duration
	DownAfter int
	UpAfter   int
	// ConfirmEvery is the flow's confirm_every (0: off): after a run that
	// leaves the flow Confirming, the next run is due this soon, so the
	// last run covers only this long when none follows (see Covers).
	ConfirmEvery time.Duration
}

// Covers is how long a run that started at a time covers when no run
// follows it: until the next run was due, ConfirmEvery after it when the
// flow was to be confirm-run after it (confirming: Machine.Confirming
// after that run), else the interval. A Retry-After that delayed the next
// confirm run is not counted (it is not stored, and stored runs replayed
// must give the same windows): it delays the run up to the next base slot
// at most, within twice the interval, so it makes no unknown stretch
// unless the prober stopped.
func (p Policy) Covers(confirming bool) time.Duration {
	p = p.withDefaults()
	if confirming && p.ConfirmEvery > 0 && p.ConfirmEvery < p.Interval {
		return p.ConfirmEvery
	}
	return p.Interval
}

func (p Policy) withDefaults() Policy {
	if p.DownAfter < 1 {
		p.DownAfter = 2
	}
	if p.UpAfter < 1 {
		p.UpAfter = 1
	}
	if p.Interval <= 0 {
		p.Interval = time.Minute
	}
	return p
}

// tracker is the machine for one key. A daemon of 50,000 flows keeps
// 100,000 of them, so it is kept small (136 bytes): of its key only the
// function (the machine keeps the rest, the same for all its trackers,
// and passes the whole key in); the run start times of its streaks as
// instants (8 bytes, not a time.Time's 24), all in the
// location of the last one set; its verdict as a byte; its streak lengths
// as int32 (they stop at math.MaxInt32: 68 years of runs every second); the
// causes of its streaks behind one pointer, set only while a failure or
// degraded streak is on.
type tracker struct {
	fn   string  // its key's Function ("" for the whole flow)
	open *Window // the open down or degraded window

	failAt, degrAt, passAt    instant        // start of the first run of the streak
	failEnd, degrEnd, passEnd instant        // end of that run (Window.FirstInEnd, FirstAfterEnd)
	failPre, degrPre, passPre instant        // start of the run before it (none: zero time)
	last                      instant        // start of the last run seen (none after a reset)
	loc                       *time.Location // of the instants
	causes                    *streakCauses  // nil: no cause (no failure or degraded streak on)
	fail, degr, pass          int32          // current streak lengths
	state                     verdict
}

// streakCauses are the causes of a tracker's failure and degraded streaks,
// in order (each read only while its streak is on).
type streakCauses struct {
	fail, degr []Cause
}

// failCauses are the causes of the failure streak.
func (t *tracker) failCauses() []Cause {
	if t.causes == nil {
		return nil
	}
	return t.causes.fail
}

// degrCauses are the causes of the degraded streak.
func (t *tracker) degrCauses() []Cause {
	if t.causes == nil {
		return nil
	}
	return t.causes.degr
}

// setCauses sets both streaks' causes; none at all drops the holder.
func (t *tracker) setCauses(fail, degr []Cause) {
	if fail == nil && degr == nil {
		t.causes = nil
		return
	}
	if t.causes == nil {
		t.causes = &streakCauses{}
	}
	t.causes.fail, t.causes.degr = fail, degr
}

// verdict is a tracker's State in one byte.
type verdict uint8

const (
	vUnknown verdict = iota
	vUp
	vDown
	vDegraded
)

// State is the verdict as the package's State.
func (v verdict) State() State {
	switch v {
	case vUp:
		return Up
	case vDown:
		return Down
	case vDegraded:
		return Degraded
	}
	return Unknown
}

// inc adds one run to a streak length, stopping at math.MaxInt32.
func inc(n *int32) {
	if *n < math.MaxInt32 {
		*n++
	}
}

// instant is a time as Unix nanoseconds (noInstant: the zero time). A run's
// start is always within what that holds (the years 1678 to 2262).
type instant int64

const noInstant instant = math.MinInt64

func instantOf(t time.Time) instant {
	if t.IsZero() {
		return noInstant
	}
	return instant(t.UnixNano())
}

// at returns the tracker's instant i as a time in its location.
func (t *tracker) at(i instant) time.Time {
	if i == noInstant {
		return time.Time{}
	}
	return time.Unix(0, int64(i)).In(t.loc)
}

// setLoc records the location of a time the tracker keeps.
func (t *tracker) setLoc(at time.Time) {
	if !at.IsZero() {
		t.loc = at.Location()
	}
}

// observe feeds the tracker one run observed at at, whose verdict was
// known at known; ended is the run's end on the timeline it is observed on
// (zero when that is not known: Observe), which bounds how much later an
// edge it makes may have been (Window.FirstInEnd, FirstAfterEnd).
func (t *tracker) observe(p Policy, key Key, at, known, ended time.Time, st probe.Status, cause, errMsg string) []Event {
	var evs []Event
	prev := t.last
	t.setLoc(at)
	now := instantOf(at)
	done := instantOf(ended)
	t.last = now
	switch st {
	case probe.StatusFailed:
		fc := t.failCauses()
		if t.fail == 0 {
			t.failAt, t.failEnd, t.failPre, fc = now, done, prev, nil
		}
		t.setCauses(addCause(fc, cause, errMsg, at), nil) // no degraded streak on
		inc(&t.fail)
		t.degr, t.pass = 0, 0
	case probe.StatusDegraded:
		dc := t.degrCauses()
		if t.degr == 0 {
			t.degrAt, t.degrEnd, t.degrPre, dc = now, done, prev, nil
		}
		t.setCauses(nil, addCause(dc, cause, errMsg, at)) // no failure streak on
		inc(&t.degr)
		t.fail = 0
		if t.pass == 0 {
			t.passAt, t.passEnd, t.passPre = now, done, prev
		}
		inc(&t.pass)
	default:
		t.fail, t.degr = 0, 0
		if t.pass == 0 {
			t.passAt, t.passEnd, t.passPre = now, done, prev
		}
		inc(&t.pass)
	}
	// A streak's causes are read only while it is on (a new streak starts
	// from none): a flow that passes again keeps none.
	if t.fail == 0 && t.degr == 0 {
		t.causes = nil
	}

	switch {
	case int(t.fail) >= p.DownAfter && t.state != vDown:
		if t.open != nil { // degraded until the outage began
			evs = append(evs, t.closeAt(maxTime(t.at(t.failAt), t.open.Start), t.at(t.failPre), t.at(t.failAt), t.at(t.failEnd)))
		}
		evs = append(evs, t.openWindow(key, KindDown, t.at(t.failAt), t.at(t.failPre), t.at(t.failEnd), at, known, t.failCauses()))
		t.state = vDown
	case t.state == vDown && int(t.pass) >= p.UpAfter:
		evs = append(evs, t.closeAt(t.at(t.passAt), t.at(t.passPre), t.at(t.passAt), t.at(t.passEnd)))
		t.state = vUp
		if int(t.degr) >= p.DownAfter {
			start, pre, firstEnd := t.degrAt, t.degrPre, t.degrEnd
			if t.passAt > start {
				start, pre, firstEnd = t.passAt, t.passPre, t.passEnd
			}
			evs = append(evs, t.openWindow(key, KindDegraded, t.at(start), t.at(pre), t.at(firstEnd), at, known, t.degrCauses()))
			t.state = vDegraded
		}
	case t.state == vDegraded && st == probe.StatusOK && int(t.pass) >= p.UpAfter:
		evs = append(evs, t.closeAt(t.at(t.passAt), t.at(t.passPre), t.at(t.passAt), t.at(t.passEnd)))
		t.state = vUp
	case t.state != vDown && t.state != vDegraded && int(t.degr) >= p.DownAfter:
		evs = append(evs, t.openWindow(key, KindDegraded, t.at(t.degrAt), t.at(t.degrPre), t.at(t.degrEnd), at, known, t.degrCauses()))
		t.state = vDegraded
	case t.state == vUnknown && st != probe.StatusFailed:
		t.state = vUp
	default:
		// A run of the open window's kind may bring a new cause.
		if w := t.open; w != nil && (w.Kind == KindDown && st == probe.StatusFailed || w.Kind == KindDegraded && st == probe.StatusDegraded) {
			if n := len(w.Causes); n == 0 || !sameCause(w.Causes[n-1], cause, errMsg) {
				w.Causes = addCause(slices.Clone(w.Causes), cause, errMsg, at)
				evs = append(evs, Event{Op: OpCause, Window: *w})
			}
		}
	}
	// A passing run while degraded restarts the count toward up only with
	// fully ok runs: a degraded run must not close a degraded window.
	if t.state == vDegraded && st == probe.StatusDegraded {
		t.pass = 0
	}
	return evs
}

// openWindow opens a window from start; before is the start of the run
// before it, firstEnd the end of its first run.
func (t *tracker) openWindow(key Key, k Kind, start, before, firstEnd, confirmed, known time.Time, causes []Cause) Event {
	cs := slices.Clone(causes)
	// Causes of runs before the start (a down window that ends a degraded
	// one keeps only its own) are not the window's.
	for len(cs) > 1 && !cs[1].From.After(start) {
		cs = cs[1:]
	}
	if len(cs) > 0 && cs[0].From.Before(start) {
		cs[0].From = start
	}
	w := &Window{Key: key, Kind: k, Start: start, Confirmed: confirmed, Known: known, LastBefore: before, FirstInEnd: firstEnd, Causes: cs}
	if len(cs) > 0 {
		w.CauseStep, w.Error = cs[0].Step, cs[0].Error
	}
	t.open = w
	return Event{Op: OpOpen, Window: *w}
}

// closeAt ends the open window at end; lastIn is the start of its last run;
// the run that ends it started at next and ended at nextEnd (both zero when
// no run ends it: an unknown stretch, a stop).
func (t *tracker) closeAt(end, lastIn, next, nextEnd time.Time) Event {
	w := *t.open
	if end.Before(w.Start) {
		end = w.Start
	}
	w.End = end
	if !lastIn.After(end) {
		w.LastIn = lastIn
	}
	if !next.IsZero() && next.Equal(end) && !nextEnd.Before(end) {
		w.FirstAfterEnd = nextEnd
	}
	if n := len(w.Causes); n > 0 {
		w.Causes = slices.Clone(w.Causes)
		w.Causes[n-1].To = end
	}
	t.open = nil
	return Event{Op: OpClose, Window: w}
}

// gap ends what was open at the start of an unknown stretch and starts over.
func (t *tracker) gap(key Key, start, end time.Time) []Event {
	var evs []Event
	if t.open != nil {
		evs = append(evs, t.closeAt(start, t.at(t.last), time.Time{}, time.Time{}))
	}
	evs = append(evs, Event{Op: OpClose, Window: Window{Key: key, Kind: KindUnknown, Start: start, End: end, Confirmed: start, Known: start}})
	*t = emptyTracker(t.fn)
	return evs
}

// JoinCauses returns the causes of a window (a) followed by those of its
// continuation (b, which starts where a's last ended or later): the last of
// a and the first of b are one cause when they are the same.
func JoinCauses(a, b []Cause) []Cause {
	out := slices.Clone(a)
	for _, c := range b {
		if n := len(out); n > 0 && sameCause(out[n-1], c.Step, c.Error) {
			out[n-1].To = c.To
			continue
		}
		out = AppendCause(out, c)
	}
	return out
}

// MaxCauses is the most causes a window lists. A window whose cause keeps
// changing (an outage that answers "connection refused" and "timeout" by
// turns, every run) would otherwise list one per run: a day of confirm runs
// every 10 s made 8,640 causes, 26,000 events and 9 GB of garbage (each
// event carries the whole list) for one flow. Once the list is full, a new
// cause takes the last place: the list keeps the first MaxCauses-1 causes
// and the current one, with a gap in between (the last but one's To is
// before the last's From). The store reads its cause rows back by the same
// rule (AppendCause).
const MaxCauses = 32

// addCause appends a cause starting at at, unless it is the same as the last.
func addCause(cs []Cause, step, errMsg string, at time.Time) []Cause {
	if n := len(cs); n > 0 && sameCause(cs[n-1], step, errMsg) {
		return cs
	}
	return AppendCause(cs, Cause{Step: step, Error: errMsg, From: at})
}

// AppendCause adds c, a new cause of a window (c.From after the last's),
// to its causes: the last one ends where c begins; when the list is full
// (MaxCauses), c takes the last one's place instead.
func AppendCause(cs []Cause, c Cause) []Cause {
	n := len(cs)
	if n >= MaxCauses {
		cs[n-1] = c
		return cs
	}
	if n > 0 {
		cs[n-1].To = c.From
	}
	return append(cs, c)
}

// SameKey is a key two causes share exactly when one continues the other
// by the rule that keeps a window's runs in one cause (sameCause: the same
// step, an error of the same shape): the report groups by it the causes of
// the locations that make a counted window, each error's shape made once.
func (c Cause) SameKey() string { return c.Step + "\x00" + errorShape(c.Error) }

// sameCause reports whether a run that failed at step with errMsg continues
// cause c: the same step, and an error that differs at most in its numbers,
// durations, identifiers and quoted values (a poll that waits for another
// message ID each run is one cause, not one per run).
func sameCause(c Cause, step, errMsg string) bool {
	return c.Step == step && (c.Error == errMsg || errorShape(c.Error) == errorShape(errMsg))
}

// volatile matches what changes from run to run in an error of the same
// kind: quoted values, durations and sizes (a body that stalled "after 600
// kB" one run and "after 1.2 MB" the next: probe's byteSize), long numbers
// and hex strings; and, first, the config's text that probe.ConfigText
// puts between backquotes, so that it is taken whole, digits and all. That
// and a JSONPath's single-quoted name without a digit are kept (errorShape).
var volatile = regexp.MustCompile("`[^`]*`|" + `"(?:[^"\\]|\\.)*"|'[^']*'|\b\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h)(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))*\b|\b\d+(?:\.\d+)? (?:bytes|kB|MB|GB)\b|\b\d{4,}\b|\b[0-9a-fA-F]{8,}\b|\d+\.\d+`)

// errorShape is what two errors of one cause share: s without what
// volatile matches, the values maskReturned and maskAddrs mask, and a
// poll's probe.StillWaitingNote (its last attempt cut at within one run,
// ended just before it the next), and an await's account of the messages
// that did not match (probe.AwaitMissShape: one missing message is one
// cause whatever else the stream carried). The config's text that probe quotes
// between backquotes (probe.ConfigText: no match for `tok-(\w+)`, no
// claim `sub`) stays where probe puts it (a backquoted span elsewhere is
// a target's, masked), and so do a JSONPath's single-quoted names without
// a digit (configQuote): $['pending'] and $['queued'] tell causes apart.
// Other quoted values do not: a matcher's operand is
// often a variable (does not equal "m-17", then "m-18"; or a word another
// step read, "amber" then "birch"), and a server's message goes by its
// errcode (status 403: M_FORBIDDEN "...").
func errorShape(s string) string {
	s = maskReturned(maskAddrs(probe.AwaitMissShape(strings.Replace(s, probe.StillWaitingNote, "", 1))))
	var b strings.Builder
	w := 0 // s[:w] is written
	for _, m := range volatile.FindAllStringIndex(s, -1) {
		b.WriteString(s[w:m[0]])
		if q := s[m[0]:m[1]]; configQuote(s[:m[0]], q) {
			b.WriteString(q)
		} else {
			b.WriteByte('_')
		}
		w = m[1]
	}
	if w == 0 {
		return s
	}
	b.WriteString(s[w:])
	return b.String()
}

// configQuote reports whether q, a quoted value that volatile matched
// after before, is the config's own words: the config's text as
// probe.ConfigText quotes it (an extraction's regex, a claim's name, a
// step's name), where probe puts it (probe.ConfigTextAt: a target's words
// can hold backquotes too, a WebSocket close reason "request `a1f09c3e77`
// failed" unquoted, and its IDs are masked), or a single-quoted name in a
// JSONPath with no digit in it.
func configQuote(before, q string) bool {
	if len(q) >= 2 && q[0] == '`' {
		return probe.ConfigTextAt(before)
	}
	return len(q) >= 2 && q[0] == '\'' && !strings.ContainsAny(q, "0123456789") && inJSONPath(before)
}

// inJSONPath reports whether the end of before is inside a JSONPath: a
// word that begins with $ and runs on to there, its spaces only in its
// brackets or its quoted names ($['queue a']['pending'],
// $.items[?(@.state == 'ready')]).
func inJSONPath(before string) bool {
	for k := strings.LastIndexByte(before, '$'); k >= 0; k = strings.LastIndexByte(before[:k], '$') {
		if k > 0 && before[k-1] != ' ' {
			continue
		}
		depth, in := 0, false
		for i := k; i < len(before); i++ {
			switch c := before[i]; {
			case c == '\'':
				in = !in
			case in:
			case c == '[':
				depth++
			case c == ']':
				depth--
			case c == ' ' && depth <= 0:
				return false
			}
		}
		return !in
	}
	return false
}

// ipCandidate matches what may be an IP address in an error: an IPv6 one
// in brackets (before a port: "[2001:db8::5]:8448", as probe names a
// dialled address), a bare IPv6 one (two colons or more), a dotted IPv4
// one. maskAddrs keeps only those netip reads as addresses.
var ipCandidate = regexp.MustCompile(`\[[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*(?:%[^\]\s]*)?\]|[0-9A-Fa-f]*:[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*(?:%[0-9A-Za-z_.-]+)?|\b\d{1,3}(?:\.\d{1,3}){3}\b`)

// maskAddrs masks the IP addresses in an error, IPv6 as IPv4 and one family
// as the other: "connection refused ([2001:db8::5]:8448)" and "(10.0.0.6:8448)"
// are one cause (a DNS answer that moved, a dual-stack target). A port is
// left to the rest of errorShape's rules (a short one, :443 or :80, stays).
// A time of day ("01:02:03") or anything else netip does not read as an
// address is left as it is.
func maskAddrs(s string) string {
	if !strings.ContainsAny(s, ":.") {
		return s
	}
	return ipCandidate.ReplaceAllStringFunc(s, func(m string) string {
		if _, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(m, "["), "]")); err != nil {
			return m
		}
		return "_"
	})
}

// maskReturned masks, in an error, the values the target returned that
// probe's assertions quote back (probe's assert.go): "$.pending is 45,
// want < 10" and "$.state does not equal \"ready\" (got 3)". A queue
// length or a lag checked against a bound is another number every run,
// and a short whole number is not volatile (a status is kept: 503 is not
// 404), so without this each run made a new cause up to MaxCauses, which
// then hid the later, different ones. What the value was checked against
// (the JSONPath, the "want" part) is kept: "want < 10" and "want < 20"
// stay two causes, and so do "want < 1000" and "want < 2000", whose
// numbers the volatile rules would take otherwise. Only a value as probe renders one (JSON: a number,
// true, false, null, a quoted string, an array or object, cut with
// "...") between " is " and ", want ", or between "(got " and ")", is
// masked; other words with " is " or "(got " are left as they are.
func maskReturned(s string) string {
	if !strings.Contains(s, " is ") && !strings.Contains(s, "(got ") {
		return s
	}
	var b strings.Builder
	w := 0 // s[:w] is written
	for i := 0; i < len(s); i++ {
		var from int
		var term string
		switch {
		case strings.HasPrefix(s[i:], " is "):
			from, term = i+len(" is "), ", want "
		case strings.HasPrefix(s[i:], "(got "):
			from, term = i+len("(got "), ")"
		default:
			continue
		}
		to, ok := shownValue(s, from, term)
		if !ok {
			continue
		}
		b.WriteString(s[w:from])
		b.WriteByte('_')
		w, i = to, to-1
		// A bound ("want < 1000", "want <= 2.5") is the config's, not the
		// target's: kept whatever its size, in letters that the volatile
		// rules do not take for a number.
		if term == ", want " {
			if m := wantBound.FindStringSubmatchIndex(s[to:]); m != nil {
				b.WriteString(s[to : to+m[2]])
				for _, c := range []byte(s[to+m[2] : to+m[3]]) {
					b.WriteByte(boundLetters[strings.IndexByte(boundChars, c)])
				}
				w, i = to+m[3], to+m[3]-1
			}
		}
	}
	if w == 0 {
		return s
	}
	b.WriteString(s[w:])
	return b.String()
}

// wantBound is the bound after a value probe showed: ", want < 10", ", want
// a number >= 2.5" (assert.go's gt, ge, lt, le), its number the submatch.
var wantBound = regexp.MustCompile(`^, want (?:a number )?(?:<|<=|>|>=) (-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)\b`)

// boundChars are what a bound's number is written with; boundLetters what
// maskReturned writes for each (no digit, no hex letter, no quote).
const (
	boundChars   = "0123456789.-+eE"
	boundLetters = "ghijklmnopqrstu"
)

// shownNumber is a JSON number as probe shows one.
var shownNumber = regexp.MustCompile(`^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$`)

// shownValue reports whether s, from from, holds a value as probe shows
// one (assert.go's show: JSON, quoted strings closed again when cut)
// followed by term outside any quoted string, and where the value ends.
func shownValue(s string, from int, term string) (int, bool) {
	in := false
	end := -1
	for i := from; i < len(s); i++ {
		switch c := s[i]; {
		case in && c == '\\':
			i++
		case c == '"':
			in = !in
		case !in && strings.HasPrefix(s[i:], term):
			end = i
		}
		if end >= 0 {
			break
		}
	}
	if end <= from {
		return 0, false
	}
	v := strings.TrimSuffix(s[from:end], "...")
	switch {
	case v == "":
		return 0, false
	case v[0] == '"' || v[0] == '[' || v[0] == '{':
	case v == "true" || v == "false" || v == "null":
	case !shownNumber.MatchString(v):
		return 0, false
	}
	return end, true
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Machine keeps the state of one flow at one location: the whole flow and
// each of its functions. It is not safe for concurrent use; the daemon keeps
// one per flow and location and feeds it from that flow's runs only.
type Machine struct {
	policy  Policy
	service string    // its trackers' keys but the function, kept once
	name    string    // the flow's
	loc     string    // the location
	ts      []tracker // the flow's, then its functions' in order: one allocation
	lastRun time.Time // start of the last observed run
	covered time.Time // the latest end of an observed run (or lastRun, if later)
	// confirming is Confirming() after the last run: its next run was
	// due ConfirmEvery after it, not an interval (uncovered). Kept apart
	// from the trackers, which Stale resets, so that the next run's
	// unknown stretch starts where Stale closed the windows.
	confirming bool
	// certOnly: the last run observed was degraded by a certificate
	// under expect.tls.min_days_left alone (probe.Run.Slow false), which
	// stays so until it is renewed: no reason to confirm-run it.
	certOnly bool
	// ranIvl and ranConfirm are the interval and confirm_every that judge
	// the stretch after the last run (uncovered): those the policy had
	// when it ran, not a reload's since, unless the reload came before
	// that run's next one was due (Reconfigure).
	ranIvl, ranConfirm time.Duration
}

// keyOf is t's key.
func (m *Machine) keyOf(t *tracker) Key {
	return Key{Service: m.service, Flow: m.name, Function: t.fn, Location: m.loc}
}

// flow is the whole flow's tracker.
func (m *Machine) flow() *tracker { return &m.ts[0] }

// funcs are the functions' trackers, in the flow's function order.
func (m *Machine) funcs() []tracker { return m.ts[1:] }

// New returns a machine for a flow with the given functions (in step order).
func New(service, flow, location string, functions []string, p Policy) *Machine {
	m := &Machine{policy: p.withDefaults(), service: service, name: flow, loc: location, ts: make([]tracker, 0, 1+len(functions))}
	m.ranIvl, m.ranConfirm = m.policy.Interval, m.policy.ConfirmEvery
	m.ts = append(m.ts, emptyTracker(""))
	for _, fn := range functions {
		m.ts = append(m.ts, emptyTracker(fn))
	}
	return m
}

// Observe feeds one run (runs must come in order of their start) and returns
// the events it caused: unknown stretches first, then closes before opens.
//
// A run covers its whole duration: the next run is measured from its end,
// so a slot skipped while it hung is no gap.
//
// A run that starts before the last run did (the prober's wall clock
// stepped back: chrony's makestep, a VM resumed, date -s) is observed at
// the time already covered (the end of the last run, or its start if
// later), not at its own start: a window it closes or opens never reaches
// back before what was measured, so a down window keeps the length it had
// on the old timeline instead of closing at its own start (a step back of
// 8 minutes while down made the window m1-m1). The cost: the runs of the
// time the step repeats count in the streaks, but take no length, until
// the wall clock passes the covered time again (their durations do not
// push the covered time on either; only a run whose own end is later does).
func (m *Machine) Observe(run *probe.Run) []Event {
	var evs []Event
	at := run.Start
	// Its own end on the wall timeline: a run observed at the covered time
	// does not push that on by its duration (20 repeated runs of 15 s
	// added 5 minutes to a window that nothing measured).
	end := run.Start.Add(max(run.Duration, 0))
	if at.Before(m.lastRun) {
		at = maxTime(m.lastRun, m.covered)
	}
	if start, ok := m.uncovered(at); ok {
		for i := range m.ts {
			evs = append(evs, m.ts[i].gap(m.keyOf(&m.ts[i]), start, at)...)
		}
	}
	if at.After(m.lastRun) {
		m.lastRun = at
	}
	if end.After(m.covered) {
		m.covered = end
	}
	// A window this run confirms is known when the run ended (a run that
	// hung to its timeout confirms at its start and is known a timeout
	// later), never before the start it is observed at.
	known := maxTime(end, at)
	// Its end bounds how much later an edge it makes may have been, on
	// the timeline it is observed on: of a run observed at the covered
	// time rather than its own start (the clock stepped back), that is not
	// known (its own end is on the new timeline, before at; the step was
	// not measured), so such an edge says not known rather than 0 s.
	ended := end
	if !at.Equal(run.Start) {
		ended = time.Time{}
	}

	cause, errMsg := "", ""
	if f := run.FirstFailure(); f != nil {
		cause, errMsg = f.Step, f.Error
	}
	outcome := run.Outcome()
	dcause, derr := cause, errMsg
	if outcome == probe.StatusDegraded {
		dcause, derr = firstDegraded(run)
	}
	evs = append(evs, m.flow().observe(m.policy, m.keyOf(m.flow()), at, known, ended, outcome, pick(outcome, cause, dcause), pick(outcome, errMsg, derr))...)
	for i := range m.funcs() {
		t := &m.ts[1+i]
		if !run.Exercises(t.fn) {
			// No step of it ran or was blocked (a run that reused the
			// session, for a function its login steps alone serve): no
			// evidence about it, its tracker is left as it was.
			continue
		}
		st := run.FunctionStatus(t.fn)
		c, e := cause, errMsg
		if st == probe.StatusDegraded {
			c, e = firstDegradedOf(run, t.fn)
		}
		evs = append(evs, t.observe(m.policy, m.keyOf(t), at, known, fnEnded(run, t.fn, ended), st, c, e)...)
	}
	m.certOnly = outcome == probe.StatusDegraded && !run.Slow()
	m.confirming = m.Confirming()
	m.ranIvl, m.ranConfirm = m.policy.Interval, m.policy.ConfirmEvery
	return evs
}

// fnEnded is when function fn's evidence in run was in, to bound its edges
// (Window.FirstInEnd, FirstAfterEnd): when its own last step ended, or, when
// a step of it did not run (blocked), when the run's first failed step
// ended; not the run's end, which a later step's timeout may put seconds
// after (maps-route's route, back in 5 ms, said +10s for tile's timeout).
// ended is the run's end on the timeline it is observed on (zero: not
// known); it stays when a step's end is not known (probe.StepResult.Ended
// 0: a run stored before it was kept, one built by hand) or fn has no step.
func fnEnded(run *probe.Run, fn string, ended time.Time) time.Time {
	if ended.IsZero() {
		return ended
	}
	var last time.Duration
	for i := range run.Steps {
		s := &run.Steps[i]
		if s.Function != fn {
			continue
		}
		if s.Status == probe.StatusNotRun {
			f := run.FirstFailure()
			if f == nil || f.Ended <= 0 {
				return ended
			}
			last = f.Ended
			break
		}
		if s.Ended <= 0 {
			return ended
		}
		last = max(last, s.Ended)
	}
	if last <= 0 {
		return ended
	}
	if e := run.Start.Add(last); e.Before(ended) {
		return e
	}
	return ended
}

// Stale ends, at a restart, what the stop ended: when no run covered the
// time up to now for longer than twice the interval, the next run (after
// now) will find an unknown stretch from when the run after the last one was
// due (uncovered: confirm_every after it while the flow was down or a
// failure was being confirmed, else an interval; or the end of the last run,
// if later), and close every open window where it begins. Stale closes them there at once and forgets the verdicts and
// streaks (unknown until that run, which reports the unknown stretch as
// ever), so that a restart after a long stop neither says the flow is down
// nor keeps its alerts firing until its first run.
func (m *Machine) Stale(now time.Time) []Event {
	start, ok := m.uncovered(now)
	if !ok {
		return nil
	}
	var evs []Event
	for i := range m.ts {
		t := &m.ts[i]
		if t.open != nil {
			evs = append(evs, t.closeAt(start, t.at(t.last), time.Time{}, time.Time{}))
		}
		*t = emptyTracker(t.fn)
	}
	return evs
}

// Close ends the stream at end (the end of the period being replayed, or a
// stop): nothing is closed, but a stretch with no run since the last one for
// longer than twice the interval is reported as unknown up to end. It returns
// that unknown window, if any, without changing the machine.
func (m *Machine) Close(end time.Time) []Window {
	start, ok := m.uncovered(end)
	if !ok {
		return nil
	}
	return []Window{{Key: m.keyOf(m.flow()), Kind: KindUnknown, Start: start, End: end, Confirmed: start, Known: start}}
}

// uncovered reports whether no run covered the time up to t for longer than
// twice the interval, and where that unknown stretch starts: when the next
// run was due (Policy.Covers: confirm_every after the last run's start
// when the flow was to be confirm-run after it, else the interval), or the
// end of the last run if it lasted longer. The threshold stays twice the
// interval: a confirm run a Retry-After delayed comes by the next base slot.
// The interval and confirm_every are those the last run had (ranPolicy),
// not a reload's since: a flow every 10 minutes reloaded to every minute 3
// minutes after its last run had its next run due 7 minutes later, and
// stored 3 minutes of unknown time at the next run.
func (m *Machine) uncovered(t time.Time) (time.Time, bool) {
	if m.lastRun.IsZero() {
		return time.Time{}, false
	}
	p := m.ranPolicy()
	covered := maxTime(m.lastRun, m.covered)
	if t.Sub(covered) <= 2*p.Interval {
		return time.Time{}, false
	}
	return maxTime(m.lastRun.Add(p.Covers(m.confirming)), covered), true
}

// ranPolicy is the policy that judges the stretch after the last run
// (uncovered): its interval and confirm_every are ranIvl and ranConfirm.
func (m *Machine) ranPolicy() Policy {
	p := m.policy
	p.Interval, p.ConfirmEvery = m.ranIvl, m.ranConfirm
	return p.withDefaults()
}

func pick(st probe.Status, failed, degraded string) string {
	if st == probe.StatusDegraded {
		return degraded
	}
	return failed
}

func firstDegraded(run *probe.Run) (string, string) {
	for _, s := range run.Steps {
		if s.Status == probe.StatusDegraded {
			return s.Step, s.Error
		}
	}
	return "", ""
}

func firstDegradedOf(run *probe.Run, fn string) (string, string) {
	for _, s := range run.Steps {
		if s.Function == fn && s.Status == probe.StatusDegraded {
			return s.Step, s.Error
		}
	}
	return "", ""
}

// State returns the flow's current state.
func (m *Machine) State() State { return m.flow().state.State() }

// FunctionState returns a function's current state (Unknown if the flow has
// no such function).
func (m *Machine) FunctionState(fn string) State {
	for _, t := range m.funcs() {
		if t.fn == fn {
			return t.state.State()
		}
	}
	return Unknown
}

// NumFunctions is how many functions the flow has.
func (m *Machine) NumFunctions() int { return len(m.ts) - 1 }

// Functions yields the flow's functions, in step order, with their
// current states.
func (m *Machine) Functions() iter.Seq2[string, State] {
	return func(yield func(string, State) bool) {
		for _, t := range m.funcs() {
			if !yield(t.fn, t.state.State()) {
				return
			}
		}
	}
}

// HasFunctions reports whether the flow's functions are fns, in that order.
func (m *Machine) HasFunctions(fns []string) bool {
	return slices.EqualFunc(m.funcs(), fns, func(t tracker, fn string) bool { return t.fn == fn })
}

// Confirming reports whether the flow's verdict is in question, so that a
// scheduler with adaptive edge probing runs it again soon: a failure or
// degraded streak while it is not down (a failure or a slow run that may be
// the start of a down or degraded window, or may turn back: the last run
// failed or was degraded), or the flow is down or degraded (a passing run may
// be the start of its recovery; and it is watched closely until it is up).
// Degraded windows are windows like down ones (listed, reconciled with
// declared incidents, outages under policy.degraded: down), so their edges
// are probed as sharply, whatever that policy; but not while the last run
// was degraded by a certificate under expect.tls.min_days_left alone: that
// lasts until the certificate is renewed, days or weeks, and is no more
// likely to end before the next scheduled run than after it, so probing it
// every confirm_every would multiply the flow's runs for as long (six times
// at the default) to sharpen an edge that a renewal makes.
func (m *Machine) Confirming() bool {
	t := m.flow()
	return confirming(t.state == vDown || t.fail > 0, t.state == vDegraded || t.degr > 0, m.certOnly)
}

// ConfirmingAfter is Confirming for a flow whose last run was run (nil when
// it is not known any more) and whose down or degraded window was open at
// it, or not: what a report reads of a stopped prober from the store.
func ConfirmingAfter(run *probe.Run, downOpen, degradedOpen bool) bool {
	failed := run != nil && run.Outcome() == probe.StatusFailed
	degraded := run != nil && run.Degraded()
	return confirming(downOpen || failed, degradedOpen || degraded, degraded && !run.Slow())
}

// confirming is Confirming's rule: a down flow or a failure is confirm-run,
// a degraded one or a degraded run too unless the last run was degraded by
// a certificate alone (certOnly).
func confirming(down, degraded, certOnly bool) bool {
	return down || degraded && !certOnly
}

// LastRun is the start of the last run observed.
func (m *Machine) LastRun() time.Time { return m.lastRun }

// OpenWindows returns the windows open now: the flow's first, then its
// functions' in order.
func (m *Machine) OpenWindows() []Window {
	var out []Window
	for _, t := range m.ts {
		if t.open != nil {
			out = append(out, *t.open)
		}
	}
	return out
}

// Reconfigure gives the machine new functions (in step order) and a new
// policy in place, as a config reload does: the flow's state, streaks and
// open window and those of every function that stays carry over, so a flow
// that failed once still needs only the rest of its down_after, and its
// verdict does not fall back to unknown. A new function starts unknown; a
// function that left is forgotten with its open window (close it first).
// The new policy applies from the next run on.
//
// The stretch after the last run is still judged by the interval (and
// confirm_every) that run had, the policy printed in every report says so:
// a reload at at, after its next run was due, does not change whether that
// stretch is unknown nor where it starts. A reload before the next run was
// due moves that run (the daemon schedules it by the new interval, NextDue:
// an interval after the last run at most, or on the new grid after the
// reload), so the stretch is judged by the longer of the two: a flow every
// 10 minutes reloaded to every minute 3 minutes after its last run is not
// unknown from a minute after it (its next run was due 7 minutes later),
// and one every minute reloaded to every 10 minutes before its next run is
// not unknown until that run, 10 minutes after.
func (m *Machine) Reconfigure(functions []string, p Policy, at time.Time) {
	had := make(map[string]int, len(m.ts)-1)
	for i, t := range m.funcs() {
		had[t.fn] = 1 + i
	}
	ts := make([]tracker, 0, 1+len(functions))
	ts = append(ts, m.ts[0])
	for _, fn := range functions {
		if i, ok := had[fn]; ok {
			ts = append(ts, m.ts[i])
			continue
		}
		ts = append(ts, emptyTracker(fn))
	}
	m.ts = ts
	old := m.ranPolicy()
	m.policy = p.withDefaults()
	if m.lastRun.IsZero() {
		m.ranIvl, m.ranConfirm = m.policy.Interval, m.policy.ConfirmEvery
		return
	}
	if due := maxTime(m.lastRun.Add(old.Covers(m.confirming)), m.covered); at.Before(due) {
		// Covers(true) of the merged policy is the longer of the two
		// confirm stretches (each at most its interval), Covers(false)
		// the longer interval.
		m.ranIvl = max(old.Interval, m.policy.Interval)
		m.ranConfirm = max(old.Covers(true), m.policy.Covers(true))
	}
}

// ResumeRuns is how many of a flow's last runs Resume needs (with the
// policy's defaults): enough that no streak that still decides anything
// began before them.
func ResumeRuns(p Policy) int {
	p = p.withDefaults()
	return max(p.DownAfter, p.UpAfter) + 1
}

// Resume brings back, after Restore, what the stored windows do not hold:
// the failure, degraded and passing streaks at the restart, and how long
// the last run lasted. Without it a restart forgot them: a flow that failed
// once before it went down_after-1 more failures after it, so its window
// began later than `windows --recompute` found, and a window that had
// passed once of up_after 2 ended later.
//
// tail is the flow's last runs at this location, in start order: at least
// ResumeRuns of them, or all since an unknown stretch (fewer is an
// approximation); for a flow with a session, back to the up_after-th last
// run that exercised each function (a login is exercised once a ttl:
// daemon's lookback reads up_after ttls), or its last run and the login
// window's start bound and streaks are not known. windows are its stored windows around them (any; those
// open just before tail[0] give the state the runs are replayed from). The
// runs are replayed on a scratch machine through the same Observe, their
// events dropped (they are stored already), and its streaks are taken over;
// the state and open windows stay those Restore put back.
func (m *Machine) Resume(tail []probe.Run, windows []Window) {
	if len(tail) == 0 {
		return
	}
	first := tail[0].Start
	scratch := &Machine{policy: m.policy, service: m.service, name: m.name, loc: m.loc, ts: make([]tracker, len(m.ts)), ranIvl: m.policy.Interval, ranConfirm: m.policy.ConfirmEvery}
	for i := range m.ts {
		scratch.ts[i] = emptyTracker(m.ts[i].fn)
	}
	for i := range scratch.ts {
		t := &scratch.ts[i]
		for _, w := range windows {
			if w.Key != scratch.keyOf(t) || w.Kind == KindUnknown || !w.Start.Before(first) || (!w.End.IsZero() && w.End.Before(first)) {
				continue
			}
			cp := w
			cp.End, cp.LastIn, cp.FirstAfterEnd = time.Time{}, time.Time{}, time.Time{}
			t.open = &cp
			t.state = vDown
			if w.Kind == KindDegraded {
				t.state = vDegraded
			}
		}
	}
	for i := range tail {
		if i > 0 && tail[i-1].Interval > 0 {
			// The stretch between two runs is judged by the interval the
			// earlier one had (stored with it), or the later one's when
			// longer (a reload before that run was due), as the machine
			// that made them judged it, not by the config's at the
			// restart: runs every 3 minutes replayed at 30 s reset the
			// streaks at each one (TestRestartKeepsTheStreaksOfRunsAtTheirInterval).
			scratch.ranIvl = max(tail[i-1].Interval, tail[i].Interval)
		}
		scratch.Observe(&tail[i])
	}
	for i := range m.ts {
		t, s := &m.ts[i], &scratch.ts[i]
		t.fail, t.degr, t.pass = s.fail, s.degr, s.pass
		t.failAt, t.degrAt, t.passAt = s.failAt, s.degrAt, s.passAt
		t.failEnd, t.degrEnd, t.passEnd = s.failEnd, s.degrEnd, s.passEnd
		t.failPre, t.degrPre, t.passPre = s.failPre, s.degrPre, s.passPre
		t.causes = s.causes
		switch {
		case i > 0 && s.last != scratch.ts[0].last:
			// A function the tail's last run did not exercise (a login
			// the run reused the session for): the last run that did is
			// the tail's last to (none: before the tail, not known), not
			// the flow's last run Restore put.
			t.last = s.last
		case s.last > t.last:
			t.last = s.last
		}
		if s.loc != nil {
			t.loc = s.loc
		}
		if t.open == nil && s.state == vUp {
			t.state = vUp // it was up before the restart, not unknown
		}
		// A window of the key that was closed before its runs said so (the
		// flow left the config, and has come back) accounts for the runs
		// before its end: a streak that began before it goes on from there,
		// so that the next window neither reopens it (one start, two
		// windows) nor overlaps it.
		for _, w := range windows {
			if w.Key != m.keyOf(t) || w.End.IsZero() || !w.End.After(first) {
				continue
			}
			end := instantOf(w.End)
			switch {
			case w.Kind == KindDown && t.fail > 0 && t.failAt < end:
				t.failAt, t.failEnd, t.failPre = end, noInstant, noInstant
			case w.Kind == KindDegraded && t.degr > 0 && t.degrAt < end:
				t.degrAt, t.degrEnd, t.degrPre = end, noInstant, noInstant
			}
		}
	}
	if !scratch.lastRun.Before(m.lastRun) {
		m.certOnly = scratch.certOnly
	}
	m.lastRun = maxTime(m.lastRun, scratch.lastRun)
	m.covered = maxTime(m.covered, scratch.covered)
	// Whether the flow was to be confirm-run after its last run: the runs
	// replayed up to it say so too when no window is open any more, as
	// when a restart long after the stop closed the down window (Stale)
	// and the daemon stopped again before the flow's next run: the next
	// restart's unknown stretch must start where that one closed it.
	m.confirming = m.Confirming() || scratch.confirming && !scratch.lastRun.Before(m.lastRun)
}

// Restarted tells the machine, after Restore and Resume, the interval its
// last run had (probe.Run.Interval, stored with it; 0: not known) and when
// the daemon restarted: the stretch since that run is judged by it, as a
// reload's is (Reconfigure), not by the interval in the config the daemon
// restarted with. A restart before that run's next one was due judges it
// by the longer of the two (the daemon schedules that run by the new
// interval), one after by the run's: a flow every 10 minutes stopped a
// minute after its last run and restarted every minute 3 minutes later
// stored unknown from a minute after that run, where the old schedule had
// its next run due 7 minutes later; one every minute restarted every 10
// minutes 3 minutes after its last run stored none for the two runs it
// missed.
func (m *Machine) Restarted(ran time.Duration, at time.Time) {
	if ran <= 0 || m.lastRun.IsZero() || ran == m.policy.Interval {
		return
	}
	m.ranIvl = ran
	old := m.ranPolicy()
	if due := maxTime(m.lastRun.Add(old.Covers(m.confirming)), m.covered); at.Before(due) {
		m.ranIvl = max(old.Interval, m.policy.Interval)
		m.ranConfirm = max(old.Covers(true), m.policy.Covers(true))
	}
}

// emptyTracker is a tracker for function fn ("": the flow) with nothing
// observed.
func emptyTracker(fn string) tracker {
	return tracker{fn: fn, state: vUnknown, failAt: noInstant, degrAt: noInstant, passAt: noInstant,
		failEnd: noInstant, degrEnd: noInstant, passEnd: noInstant,
		failPre: noInstant, degrPre: noInstant, passPre: noInstant, last: noInstant}
}

// Restore puts back windows that were open when the daemon stopped (from the
// stored events) and the time of the last run, so that a restart neither loses
// an open window nor opens a second one. Windows for keys the machine does not
// have (a function removed from the config) are ignored.
func (m *Machine) Restore(open []Window, lastRun time.Time) {
	if lastRun.After(m.lastRun) {
		m.lastRun = lastRun
	}
	for i := range m.ts {
		t := &m.ts[i]
		if !m.lastRun.IsZero() && instantOf(m.lastRun) > t.last {
			t.last = instantOf(m.lastRun)
			t.setLoc(m.lastRun)
		}
	}
	for _, w := range open {
		for i := range m.ts {
			t := &m.ts[i]
			if t.fn == w.Function && w.Kind != KindUnknown {
				cp := w
				cp.Key = m.keyOf(t)
				cp.Causes = slices.Clone(w.Causes)
				if len(cp.Causes) == 0 && (cp.CauseStep != "" || cp.Error != "") {
					cp.Causes = []Cause{{Step: cp.CauseStep, Error: cp.Error, From: cp.Start}}
				}
				t.open = &cp
				if w.Kind == KindDown {
					t.state = vDown
				} else {
					t.state = vDegraded
				}
			}
		}
	}
	m.confirming = m.Confirming()
}
