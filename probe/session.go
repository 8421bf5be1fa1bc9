package probe

import (
	"context"
	"net/http/cookiejar"
	"time"

	"github.com/slaprobe/slaprobe/clock"
)

// A flow's session (config.Session) is a login whose extracted variables
// and cookie jar outlive the run: later runs reuse them until the session's
// TTL passes on the run clock, or until a step gets 401 or 403, which
// drops the session and runs its steps again, once, in that run. The runner
// keeps one session per flow. Teardown steps with when: session_end run
// once per session, with its variables and jar, when it is discarded: in
// the run that finds its ttl passed or gets the 401/403 (before the new
// login), or from EndSessions at shutdown.

// sessionData is a live session: the values of the variables its steps
// extracted, by slot, and its cookie jar.
type sessionData struct {
	vals    []string // by slot; only the session's slots are meaningful
	jar     *cookiejar.Jar
	expires time.Time
}

// reuseSession loads a live session into the run; false when there is none.
func (rs *runState) reuseSession() bool {
	s := rs.r.session(rs.cf)
	if s == nil || !rs.c.Now().Before(s.expires) {
		return false
	}
	for _, slot := range rs.cf.sessionSlots {
		rs.sc.vals[slot] = s.vals[slot]
		rs.markSet(slot)
	}
	rs.sess, rs.jar.j = s, s.jar
	return true
}

// runSession runs the session's steps with a fresh cookie jar; when they
// pass, the session is kept for the next runs.
func (rs *runState) runSession() bool {
	cf := rs.cf
	rs.sessionRan = true
	rs.jar.j = nil
	for i := 0; i < cf.nsession; i++ {
		rs.cur = i
		rs.step(i)
		if rs.steps[i].Status == StatusFailed {
			return false
		}
		rs.markExtracted(i)
	}
	if rs.jar.j == nil {
		rs.jar.j, _ = cookiejar.New(nil) // never fails without options
	}
	s := &sessionData{vals: make([]string, cf.nslots), jar: rs.jar.j, expires: rs.c.Now().Add(cf.sessionTTL)}
	for _, slot := range cf.sessionSlots {
		s.vals[slot] = rs.sc.vals[slot]
	}
	rs.sess = s
	rs.r.keepSession(cf, s)
	return true
}

// session returns the flow's live session, or nil.
func (r *Runner) session(cf *compiledFlow) *sessionData {
	r.sessMu.Lock()
	defer r.sessMu.Unlock()
	return r.sessions[cf]
}

func (r *Runner) keepSession(cf *compiledFlow, s *sessionData) {
	r.sessMu.Lock()
	defer r.sessMu.Unlock()
	if r.sessions == nil {
		r.sessions = map[*compiledFlow]*sessionData{}
	}
	r.sessions[cf] = s
}

// dropSession forgets the flow's session if it is still s.
func (r *Runner) dropSession(cf *compiledFlow, s *sessionData) {
	r.sessMu.Lock()
	defer r.sessMu.Unlock()
	if r.sessions[cf] == s {
		delete(r.sessions, cf)
	}
}

// endSession discards s: the flow's session_end teardown steps run with its
// variables and cookie jar (their results are reported with this run's
// teardown), then the runner forgets it.
func (rs *runState) endSession(s *sessionData) {
	cf := rs.cf
	rs.r.dropSession(cf, s)
	if s == nil {
		return
	}
	saved := rs.jar.j
	for _, slot := range cf.sessionSlots {
		rs.sc.vals[slot] = s.vals[slot]
		rs.markSet(slot)
	}
	rs.jar.j = s.jar
	for i := cf.nsession + cf.nmain; i < len(cf.steps); i++ {
		if !cf.steps[i].sessionEnd {
			continue
		}
		rs.cur = i
		rs.guard(func() bool { rs.step(i); return true })
	}
	rs.jar.j = saved
}

// EndSessions discards every live session of the runner, running each
// flow's session_end teardown steps (a logout) under ctx, and returns those
// runs' results (a Run whose Teardown holds them) for the caller to log. The
// daemon calls it when it stops or reloads a flow.
func (r *Runner) EndSessions(ctx context.Context) []Run {
	r.sessMu.Lock()
	live := make(map[*compiledFlow]*sessionData, len(r.sessions))
	for cf, s := range r.sessions {
		live[cf] = s
	}
	r.sessMu.Unlock()
	var out []Run
	for cf, s := range live {
		if cf.err != nil {
			continue
		}
		c := clock.FromContext(ctx, r.clock)
		run := Run{ID: r.runID(ctx), Flow: cf.flow.Name, Service: cf.flow.Service, Location: r.cfg.Location, Start: c.Now()}
		all := make([]StepResult, len(cf.steps))
		for i := range cf.steps {
			all[i] = StepResult{Step: cf.steps[i].name, Function: cf.steps[i].function, Status: StatusNotRun}
		}
		rs := r.getState()
		rs.c, rs.start, rs.parent, rs.runID, rs.steps, rs.cf = c, run.Start, ctx, run.ID, all, cf
		if rs.guard(rs.setUp) {
			rs.endSession(s)
		}
		rs.closeStreams()
		for i, cancel := range rs.cancels {
			cancel()
			rs.cancels[i] = nil
		}
		rs.cancels = rs.cancels[:0]
		for i := cf.nsession + cf.nmain; i < len(cf.steps); i++ {
			if cf.steps[i].sessionEnd {
				run.Teardown = append(run.Teardown, all[i])
			}
		}
		r.putState(rs)
		run.Duration = c.Now().Sub(run.Start)
		if len(run.Teardown) > 0 {
			out = append(out, run)
		}
	}
	return out
}
