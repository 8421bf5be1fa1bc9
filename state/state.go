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
//   - No run for longer than twice the interval is an unknown stretch, from
//     the end of the last run's interval to the next run's start. Open windows
//     close where the stretch begins, and counting starts over after it.
package state

import (
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
}

// Open reports whether the window has not ended.
func (w *Window) Open() bool { return w.End.IsZero() }

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
)

// Event is a state change, as stored so that open windows survive a restart.
// For OpOpen, Window.End is zero; for OpClose, it is set.
type Event struct {
	Op     Op
	Window Window
}

// Policy is what the machine needs of a flow's config.
type Policy struct {
	Interval  time.Duration
	DownAfter int
	UpAfter   int
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

// tracker is the machine for one key.
type tracker struct {
	key   Key
	state State
	open  *Window // the open down or degraded window

	fail, degr, pass int       // current streak lengths
	failAt, degrAt   time.Time // start of the first run of the streak
	passAt           time.Time
	cause, err       string // of the first run of the fail streak
	degrCause        string
	degrErr          string
}

func (t *tracker) observe(p Policy, at time.Time, st probe.Status, cause, errMsg string) []Event {
	var evs []Event
	switch st {
	case probe.StatusFailed:
		if t.fail == 0 {
			t.failAt, t.cause, t.err = at, cause, errMsg
		}
		t.fail++
		t.degr, t.pass = 0, 0
	case probe.StatusDegraded:
		if t.degr == 0 {
			t.degrAt, t.degrCause, t.degrErr = at, cause, errMsg
		}
		t.degr++
		t.fail = 0
		if t.pass == 0 {
			t.passAt = at
		}
		t.pass++
	default:
		t.fail, t.degr = 0, 0
		if t.pass == 0 {
			t.passAt = at
		}
		t.pass++
	}

	switch {
	case t.fail >= p.DownAfter && t.state != Down:
		if t.open != nil { // degraded until the outage began
			evs = append(evs, t.closeAt(maxTime(t.failAt, t.open.Start)))
		}
		evs = append(evs, t.openWindow(KindDown, t.failAt, at, t.cause, t.err))
		t.state = Down
	case t.state == Down && t.pass >= p.UpAfter:
		evs = append(evs, t.closeAt(t.passAt))
		t.state = Up
		if t.degr >= p.DownAfter {
			evs = append(evs, t.openWindow(KindDegraded, maxTime(t.degrAt, t.passAt), at, t.degrCause, t.degrErr))
			t.state = Degraded
		}
	case t.state == Degraded && st == probe.StatusOK && t.pass >= p.UpAfter:
		evs = append(evs, t.closeAt(t.passAt))
		t.state = Up
	case t.state != Down && t.state != Degraded && t.degr >= p.DownAfter:
		evs = append(evs, t.openWindow(KindDegraded, t.degrAt, at, t.degrCause, t.degrErr))
		t.state = Degraded
	case t.state == Unknown && st != probe.StatusFailed:
		t.state = Up
	}
	// A passing run while degraded restarts the count toward up only with
	// fully ok runs: a degraded run must not close a degraded window.
	if t.state == Degraded && st == probe.StatusDegraded {
		t.pass = 0
	}
	return evs
}

func (t *tracker) openWindow(k Kind, start, confirmed time.Time, cause, errMsg string) Event {
	t.open = &Window{Key: t.key, Kind: k, Start: start, Confirmed: confirmed, CauseStep: cause, Error: errMsg}
	return Event{Op: OpOpen, Window: *t.open}
}

func (t *tracker) closeAt(end time.Time) Event {
	w := *t.open
	if end.Before(w.Start) {
		end = w.Start
	}
	w.End = end
	t.open = nil
	return Event{Op: OpClose, Window: w}
}

// gap ends what was open at the start of an unknown stretch and starts over.
func (t *tracker) gap(start, end time.Time) []Event {
	var evs []Event
	if t.open != nil {
		evs = append(evs, t.closeAt(start))
	}
	evs = append(evs, Event{Op: OpClose, Window: Window{Key: t.key, Kind: KindUnknown, Start: start, End: end, Confirmed: start}})
	*t = tracker{key: t.key, state: Unknown}
	return evs
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
	flow    *tracker
	funcs   []*tracker // in the flow's function order
	lastRun time.Time  // start of the last observed run
}

// New returns a machine for a flow with the given functions (in step order).
func New(service, flow, location string, functions []string, p Policy) *Machine {
	m := &Machine{policy: p.withDefaults()}
	m.flow = &tracker{key: Key{Service: service, Flow: flow, Location: location}, state: Unknown}
	for _, fn := range functions {
		m.funcs = append(m.funcs, &tracker{key: Key{Service: service, Flow: flow, Function: fn, Location: location}, state: Unknown})
	}
	return m
}

// Observe feeds one run (runs must come in order of their start) and returns
// the events it caused: unknown stretches first, then closes before opens.
func (m *Machine) Observe(run *probe.Run) []Event {
	var evs []Event
	if !m.lastRun.IsZero() && run.Start.Sub(m.lastRun) > 2*m.policy.Interval {
		start := m.lastRun.Add(m.policy.Interval)
		evs = append(evs, m.flow.gap(start, run.Start)...)
		for _, t := range m.funcs {
			evs = append(evs, t.gap(start, run.Start)...)
		}
	}
	if run.Start.After(m.lastRun) {
		m.lastRun = run.Start
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
	evs = append(evs, m.flow.observe(m.policy, run.Start, outcome, pick(outcome, cause, dcause), pick(outcome, errMsg, derr))...)
	for _, t := range m.funcs {
		st := run.FunctionStatus(t.key.Function)
		c, e := cause, errMsg
		if st == probe.StatusDegraded {
			c, e = firstDegradedOf(run, t.key.Function)
		}
		evs = append(evs, t.observe(m.policy, run.Start, st, c, e)...)
	}
	return evs
}

// Close ends the stream at end (the end of the period being replayed, or a
// stop): nothing is closed, but a stretch with no run since the last one for
// longer than twice the interval is reported as unknown up to end. It returns
// that unknown window, if any, without changing the machine.
func (m *Machine) Close(end time.Time) []Window {
	if m.lastRun.IsZero() || end.Sub(m.lastRun) <= 2*m.policy.Interval {
		return nil
	}
	return []Window{{Key: m.flow.key, Kind: KindUnknown, Start: m.lastRun.Add(m.policy.Interval), End: end, Confirmed: m.lastRun.Add(m.policy.Interval)}}
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
func (m *Machine) State() State { return m.flow.state }

// FunctionState returns a function's current state (Unknown if the flow has
// no such function).
func (m *Machine) FunctionState(fn string) State {
	for _, t := range m.funcs {
		if t.key.Function == fn {
			return t.state
		}
	}
	return Unknown
}

// LastRun is the start of the last run observed.
func (m *Machine) LastRun() time.Time { return m.lastRun }

// OpenWindows returns the windows open now: the flow's first, then its
// functions' in order.
func (m *Machine) OpenWindows() []Window {
	var out []Window
	for _, t := range append([]*tracker{m.flow}, m.funcs...) {
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
func (m *Machine) Reconfigure(functions []string, p Policy) {
	had := make(map[string]*tracker, len(m.funcs))
	for _, t := range m.funcs {
		had[t.key.Function] = t
	}
	funcs := make([]*tracker, 0, len(functions))
	for _, fn := range functions {
		t := had[fn]
		if t == nil {
			k := m.flow.key
			k.Function = fn
			t = &tracker{key: k, state: Unknown}
		}
		funcs = append(funcs, t)
	}
	m.funcs = funcs
	m.policy = p.withDefaults()
}

// Restore puts back windows that were open when the daemon stopped (from the
// stored events) and the time of the last run, so that a restart neither loses
// an open window nor opens a second one. Windows for keys the machine does not
// have (a function removed from the config) are ignored.
func (m *Machine) Restore(open []Window, lastRun time.Time) {
	if lastRun.After(m.lastRun) {
		m.lastRun = lastRun
	}
	for _, w := range open {
		for _, t := range append([]*tracker{m.flow}, m.funcs...) {
			if t.key.Function == w.Function && w.Kind != KindUnknown {
				cp := w
				cp.Key = t.key
				t.open = &cp
				if w.Kind == KindDown {
					t.state = Down
				} else {
					t.state = Degraded
				}
			}
		}
	}
}
