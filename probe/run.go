package probe

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"time"

	"github.com/ohler55/ojg/oj"
	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
)

// Run executes flow once and returns its result: one StepResult per step, in
// order, the steps after a failed one not_run. It never panics. The run's
// clock is clock.FromContext(ctx, Options.Clock): the run's start, step
// durations, phase timings, poll waits and timeouts are all measured on it.
func (r *Runner) Run(ctx context.Context, flow *config.Flow) Run {
	c := clock.FromContext(ctx, r.clock)
	run := Run{ID: r.runID(ctx), Location: r.cfg.Location, Start: c.Now()}
	if flow == nil {
		return run
	}
	run.Flow, run.Service = flow.Name, flow.Service
	run.Steps = make([]StepResult, len(flow.Steps))
	for i := range flow.Steps {
		s := &flow.Steps[i]
		run.Steps[i] = StepResult{Step: s.Name, Function: s.Function, Status: StatusNotRun}
	}
	if len(run.Steps) > 0 {
		rs := r.getState()
		rs.c, rs.start, rs.parent, rs.runID, rs.steps = c, run.Start, ctx, run.ID, run.Steps
		rs.exec(flow)
		r.putState(rs)
	}
	run.Duration = c.Now().Sub(run.Start)
	if r.log.Enabled(ctx, slog.LevelDebug) {
		r.log.DebugContext(ctx, "run done", "flow", run.Flow, "id", run.ID, "outcome", run.Outcome(), "duration", run.Duration)
	}
	return run
}

// runState is one run in progress.
type runState struct {
	r      *Runner
	cf     *compiledFlow
	c      clock.Clock
	start  time.Time
	parent context.Context // the caller's
	ctx    context.Context // with the flow's timeout
	runID  string
	steps  []StepResult // the run's results, filled in place
	cur    int          // the step being run

	sc     scope
	client http.Client
	jar    lazyJar
	extra  []string // resolved values of vars built from secrets
	buf    []byte
	lr     io.LimitedReader
	one    [1]any
	parser oj.Parser
}

// getState returns a runState from the runner's pool. Run states keep their
// buffers, JSON parser and trace hooks between runs.
func (r *Runner) getState() *runState {
	if rs, ok := r.states.Get().(*runState); ok {
		return rs
	}
	rs := &runState{r: r}
	rs.client.Jar = &rs.jar
	rs.client.CheckRedirect = rs.checkRedirect
	rs.parser.Reuse = true // parsed documents never outlive an attempt
	return rs
}

// putState clears what belongs to one run and pools rs.
func (r *Runner) putState(rs *runState) {
	rs.cf, rs.c, rs.parent, rs.ctx, rs.steps, rs.cur = nil, nil, nil, nil, nil, 0
	rs.sc = scope{vals: rs.sc.vals[:0]}
	rs.client.Transport = nil
	rs.jar.j = nil
	rs.one[0] = nil
	clear(rs.extra)
	rs.extra = rs.extra[:0]
	if cap(rs.buf) > maxPooledBuf {
		rs.buf = nil
	}
	r.states.Put(rs)
}

// lazyJar is a run's cookie jar, created when the first cookie arrives, so
// runs that never see a cookie pay nothing for it.
type lazyJar struct{ j *cookiejar.Jar }

func (l *lazyJar) SetCookies(u *url.URL, cookies []*http.Cookie) {
	if l.j == nil {
		l.j, _ = cookiejar.New(nil) // never fails without options
	}
	l.j.SetCookies(u, cookies)
}

func (l *lazyJar) Cookies(u *url.URL) []*http.Cookie {
	if l.j == nil {
		return nil
	}
	return l.j.Cookies(u)
}

// exec runs the steps; a panic fails the current step instead of escaping.
func (rs *runState) exec(flow *config.Flow) {
	defer func() {
		if p := recover(); p != nil {
			rs.r.log.Error("probe: panic in run", "flow", flow.Name, "panic", rs.redact(fmt.Sprint(p)))
			rs.fail(rs.cur, fmt.Sprintf("internal error: %v", p))
		}
	}()
	cf := rs.r.compiled(flow)
	rs.cf = cf
	if cf.err != nil {
		rs.fail(0, cf.err.Error())
		return
	}
	rt, err := rs.r.transport(cf.tls)
	if err != nil {
		rs.fail(0, err.Error())
		return
	}
	// The deadline is on the run's clock: in a replay a target that hangs
	// fails at the timeout in virtual time, as it does live.
	ctx, cancel := clock.WithTimeout(rs.parent, rs.c, cf.timeout)
	defer cancel()
	rs.ctx = ctx
	rs.client.Transport = rt
	vals := rs.sc.vals[:0]
	if cap(vals) < cf.nslots {
		vals = make([]string, 0, cf.nslots)
	}
	rs.sc = scope{
		vals:     vals[:cf.nslots],
		runID:    rs.runID,
		location: rs.r.cfg.Location,
		clock:    rs.c,
		secrets:  rs.r.cfg.Secrets,
	}
	for i := range cf.vars {
		v := &cf.vars[i]
		val, err := v.value.render(&rs.sc)
		if err != nil {
			rs.fail(0, fmt.Sprintf("var %s: %v", v.name, err))
			return
		}
		rs.sc.vals[v.slot] = val
		if v.tainted {
			rs.extra = append(rs.extra, val)
		}
	}
	for i := range cf.steps {
		rs.cur = i
		rs.step(i)
		if rs.steps[i].Status == StatusFailed {
			return
		}
	}
}

// fail marks step i failed with msg (prefixed with the step name, secrets
// removed) and the steps after it not run.
func (rs *runState) fail(i int, msg string) {
	steps := rs.steps
	if i < 0 || i >= len(steps) {
		return
	}
	steps[i].Status = StatusFailed
	steps[i].Error = rs.redact(steps[i].Step + ": " + msg)
	for j := i + 1; j < len(steps); j++ {
		steps[j].Status = StatusNotRun
		steps[j].Error = "not run: step " + steps[i].Step + " failed"
	}
}

func (rs *runState) redact(s string) string { return rs.r.redact(s, rs.extra) }

// step runs step i, polling when asked, and fills its result.
func (rs *runState) step(i int) {
	cs := &rs.cf.steps[i]
	res := &rs.steps[i]
	c := rs.c
	start := c.Now()
	ctx := rs.ctx
	if cs.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = clock.WithTimeout(ctx, c, cs.timeout)
		defer cancel()
	}
	var deadline time.Time
	if cs.poll != nil {
		deadline = start.Add(cs.poll.Within)
	}
	msg := ""
	var a attempt
	for {
		res.Attempts++
		a = cs.kind.attempt(ctx, rs, cs)
		res.HTTPStatus, res.Phases = a.status, a.phases
		now := c.Now()
		if a.fatal {
			msg = a.fail // the kind's own verdict, deadlines included
			break
		}
		if m := rs.timedOut(ctx, cs, start, now); m != "" {
			msg = m
			break
		}
		if a.fail == "" {
			break
		}
		if cs.poll == nil {
			msg = a.fail
			break
		}
		if now.Add(cs.poll.Every).After(deadline) {
			msg = "expectation not met within " + cs.poll.Within.String() + ": " + a.fail
			break
		}
		if err := c.Sleep(ctx, cs.poll.Every); err != nil {
			if msg = rs.timedOut(ctx, cs, start, c.Now()); msg == "" {
				msg = "canceled"
			}
			break
		}
	}
	res.Duration = c.Now().Sub(start)
	if a.hasLatency {
		res.Duration = a.latency
	}
	switch {
	case msg != "":
		rs.fail(i, msg)
	case cs.latency > 0 && res.Duration > cs.latency:
		res.Status = StatusDegraded
		res.Error = rs.redact(fmt.Sprintf("%s: latency %s over objective %s", cs.name, roundDuration(res.Duration), cs.latency))
	default:
		res.Status, res.Error = StatusOK, ""
	}
	if rs.r.log.Enabled(rs.parent, slog.LevelDebug) {
		rs.r.log.DebugContext(rs.parent, "step done", "flow", rs.cf.flow.Name, "step", cs.name,
			"status", res.Status, "http_status", res.HTTPStatus, "duration", res.Duration,
			"attempts", res.Attempts, "error", res.Error)
	}
}

// timedOut says whether the run or the step is out of time, on the context
// (real deadlines) or on the run's clock (virtual time), or was canceled.
func (rs *runState) timedOut(ctx context.Context, cs *compiledStep, start, now time.Time) string {
	switch {
	case rs.parent.Err() != nil:
		return "canceled: " + rs.parent.Err().Error()
	case rs.ctx.Err() != nil || now.Sub(rs.start) > rs.cf.timeout:
		return "flow timeout after " + rs.cf.timeout.String()
	case ctx.Err() != nil || cs.timeout > 0 && now.Sub(start) > cs.timeout:
		return "timeout after " + cs.timeout.String()
	}
	return ""
}

// roundDuration keeps messages short: milliseconds, or microseconds under 1ms.
func roundDuration(d time.Duration) time.Duration {
	if d < time.Millisecond {
		return d.Round(time.Microsecond)
	}
	return d.Round(time.Millisecond)
}
