package probe

import (
	"context"
	"maps"
	"net/http/cookiejar"
	"reflect"
	"slices"
	"sync/atomic"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
)

// A flow's session (config.Session) is a login whose extracted variables
// and cookie jar outlive the run: later runs reuse them until the session's
// TTL passes on the run clock, or until a step gets 401 or 403, which
// drops the session and runs its steps again, once, in that run. The runner
// keeps one session per flow. Teardown steps with when: session_end run
// once per session, with its variables and jar, when it is discarded: at
// the end of the run that finds its ttl passed, gets the 401/403, or
// replaces it (runs of one flow at the same time), after the run's other
// teardown steps and within the teardown's deadline, so that a logout that
// hangs never costs the run's own steps their time; or from EndSessions
// (shutdown, a reload). A session whose steps failed half way (a login
// that passed, a later session step that did not) is ended the same way:
// the server may hold it (a Matrix device) though the run cannot use it.

// sessionData is a session: the values of the variables its steps
// extracted, by slot, and its cookie jar.
type sessionData struct {
	vals    []string // by slot; only slots (the session's, that hold a value) are meaningful
	slots   []int
	secrets []string // its secret extractions' and credential-like cookies' values: redacted in every run that uses it
	pages   []string // the pages (pageKey) its steps requested: a flow step sent to one was refused
	jar     *cookiejar.Jar
	expires time.Time
	ended   atomic.Bool // its session_end teardown ran (or it was handed to another runner)
	// refused is a refusal (401 or 403, see refusal) that a flow step got
	// from this session while it was fresh (logged in by the same run): a
	// new login did not help, so the refusal is not the session's (a Matrix
	// 403 for a room the account left) and later runs that get it again do
	// not log in again, which would make the probe a login loop (every
	// confirm run) that the login's rate limit answers with 429. 0: none.
	// It holds for the flow's hold (see refusalHold) from refusedAt (Unix ns on the run's clock):
	// a token issued while the platform's auth was broken may stay dead
	// after it recovers, and the probe must then log in again.
	refused   atomic.Int64
	refusedAt atomic.Int64
	// untried marks a session logged in by a run that then ended before a
	// flow step used it (a repeat: false step it would not send again): the
	// next run that reuses it is its first use, and a refusal there is held
	// as a fresh session's, or a hub that refuses every token would get a
	// new login from every run, confirm runs too. Its hold is counted from
	// the start of the run that logged it in (refusedAt, set then).
	untried atomic.Bool
	// users counts the runs using the session (guarded by the runner's
	// sessMu); endLater marks one that a retired runner's EndSessions found
	// in use: the last run to let go of it ends it, at the end of its
	// teardown, rather than log it out under that run (a reload made the
	// run in flight fail with 401 on the token it had just logged in).
	users    int
	endLater bool
}

// refusalHold is the longest a refusal a fresh session got keeps later
// runs from logging in again; a flow whose interval is shorter holds it
// until its next scheduled run (nine tenths of an interval from the
// refused run's start). While the step keeps refusing, the probe then logs in once
// a scheduled run (as often as a flow without a session), not on every
// confirm run; and a token that a platform issued while its auth was
// broken, dead after the recovery, is replaced within an interval: held
// for 5 minutes, a 30-second refusal of fresh tokens was measured as a
// 5-minute outage.
const refusalHold = 5 * time.Minute

// refusal packs flow step i's refusing status for sessionData.refused.
func refusal(i, status int) int64 { return int64(i+1)<<16 | int64(status) }

// reuseSession loads a live session into the run; false when there is none.
func (rs *runState) reuseSession() bool {
	s := rs.r.holdSession(rs.cf, rs.c.Now())
	if s == nil {
		return false
	}
	rs.load(s)
	rs.sess, rs.held = s, true
	return true
}

// holdSession returns the flow's session, counted as in use, unless there
// is none or it expired at now.
func (r *Runner) holdSession(cf *compiledFlow, now time.Time) *sessionData {
	r.sessMu.Lock()
	defer r.sessMu.Unlock()
	s := r.sessions[cf]
	if s == nil || !now.Before(s.expires) {
		return nil
	}
	s.users++
	return s
}

// releaseSession lets go of the session the run used; when a retired
// runner's EndSessions left it to the run (endLater), it ends at the end
// of the run's teardown.
func (rs *runState) releaseSession() {
	s := rs.sess
	if s == nil || !rs.held {
		return
	}
	rs.held = false
	r := rs.r
	r.sessMu.Lock()
	s.users--
	end := s.users == 0 && s.endLater
	r.sessMu.Unlock()
	if end {
		rs.ending = append(rs.ending, s)
	}
}

// load puts s's variables and cookie jar into the run, and its secrets
// into the run's redaction.
func (rs *runState) load(s *sessionData) {
	for _, slot := range rs.cf.sessionSlots() {
		rs.sc.vals[slot] = ""
		if slot < len(rs.set) {
			rs.set[slot] = false
		}
	}
	for _, slot := range s.slots {
		rs.sc.vals[slot] = s.vals[slot]
		rs.markSet(slot)
	}
	for _, v := range s.secrets {
		rs.note(v)
	}
	rs.jar.j = s.jar
}

// runSession runs the session's steps with a fresh cookie jar; when they
// pass, the session is kept for the next runs. When they fail after one
// of them extracted something, that partial session is ended at the end
// of the run.
func (rs *runState) runSession() bool {
	cf := rs.cf
	rs.sessionRan = true
	rs.jar.j = nil
	for _, slot := range cf.sessionSlots() {
		if slot < len(rs.set) {
			rs.set[slot] = false
		}
	}
	ok := true
	for i := 0; i < cf.nsession; i++ {
		rs.cur = i
		rs.step(i)
		if rs.steps[i].Status == StatusFailed {
			ok = false
			break
		}
		rs.markExtracted(i)
	}
	if rs.jar.j == nil {
		rs.jar.j, _ = cookiejar.New(nil) // never fails without options
	}
	s := &sessionData{vals: make([]string, cf.nslots), jar: rs.jar.j, expires: rs.c.Now().Add(cf.sessionTTL())}
	for _, slot := range cf.sessionSlots() {
		if slot < len(rs.set) && rs.set[slot] {
			s.vals[slot] = rs.sc.vals[slot]
			s.slots = append(s.slots, slot)
		}
	}
	for i := 0; i < cf.nsession; i++ {
		for _, x := range cf.steps[i].pay.extract {
			if x.secret && slices.Contains(s.slots, x.slot) {
				s.secrets = append(s.secrets, s.vals[x.slot])
			}
		}
	}
	s.secrets = append(s.secrets, rs.cookies...) // the session's cookies: sent by every run that uses it
	s.pages = slices.Clone(rs.pages)
	if !ok {
		if len(s.slots) > 0 {
			rs.ending = append(rs.ending, s)
		}
		return false
	}
	rs.sess, rs.held = s, true
	if old := rs.r.keepSession(cf, s); old != nil {
		rs.ending = append(rs.ending, old)
	}
	return true
}

// discard drops s from the runner; its session_end teardown runs at the
// end of the run.
func (rs *runState) discard(s *sessionData) {
	if s == nil {
		return
	}
	if s == rs.sess {
		rs.releaseSession()
	}
	rs.r.dropSession(rs.cf, s)
	rs.ending = append(rs.ending, s)
}

// session returns the flow's live session, or nil.
func (r *Runner) session(cf *compiledFlow) *sessionData {
	r.sessMu.Lock()
	defer r.sessMu.Unlock()
	return r.sessions[cf]
}

// keepSession makes s the flow's session and returns the one it replaces
// (a run of the same flow at the same time logged in too), which the
// caller must end. A retired runner keeps no session: it returns s itself.
func (r *Runner) keepSession(cf *compiledFlow, s *sessionData) (replaced *sessionData) {
	r.sessMu.Lock()
	defer r.sessMu.Unlock()
	s.users++ // the run that logged in uses it
	if r.retired {
		return s
	}
	if r.sessions == nil {
		r.sessions = map[*compiledFlow]*sessionData{}
	}
	old := r.sessions[cf]
	r.sessions[cf] = s
	if old == s {
		return nil
	}
	return old
}

// dropSession forgets the flow's session if it is still s.
func (r *Runner) dropSession(cf *compiledFlow, s *sessionData) {
	r.sessMu.Lock()
	defer r.sessMu.Unlock()
	if r.sessions[cf] == s {
		delete(r.sessions, cf)
	}
}

// endSessions runs the session_end teardown of the sessions the run
// discarded. Called last in the teardown, with its deadline.
func (rs *runState) endSessions() {
	for i, s := range rs.ending {
		rs.endSession(s)
		rs.ending[i] = nil
	}
	rs.ending = rs.ending[:0]
}

// endSession runs the flow's session_end teardown steps with s's variables
// and cookie jar (their results are reported with this run's teardown),
// once per session; a step that uses a variable s does not hold is not run.
// It leaves s's variables in the run's scope.
func (rs *runState) endSession(s *sessionData) {
	if s == nil || !s.ended.CompareAndSwap(false, true) {
		return
	}
	cf := rs.cf
	saved := rs.jar.j
	rs.load(s)
	for i := cf.nsession + cf.nmain; i < len(cf.steps); i++ {
		if !cf.steps[i].sessionEnd {
			continue
		}
		rs.cur = i
		rs.steps[i] = StepResult{Step: rs.steps[i].Step, Function: rs.steps[i].Function, Status: StatusNotRun}
		if name := rs.unset(i); name != "" {
			rs.steps[i].Error = "not run: ${" + name + "} has no value in this session"
			continue
		}
		rs.guard(func() bool { rs.step(i); return true })
	}
	rs.jar.j = saved
}

// EndSessions discards every live session of the runner, running each
// flow's session_end teardown steps (a logout) under ctx, and returns those
// runs' results (a Run whose Teardown holds them) for the caller to log. The
// daemon calls it when it stops, and on the runner a reload replaced.
//
// On a retired runner (a reload), a session that a run in flight uses is
// left to that run, which ends it at the end of its teardown.
func (r *Runner) EndSessions(ctx context.Context) []Run {
	r.sessMu.Lock()
	live := make(map[*compiledFlow]*sessionData, len(r.sessions))
	for cf, s := range r.sessions {
		if r.retired && s.users > 0 {
			s.endLater = true
			continue
		}
		live[cf] = s
	}
	clear(r.sessions)
	r.sessMu.Unlock()
	var out []Run
	for cf, s := range live {
		if cf.err != nil || s.ended.Load() {
			continue
		}
		c := clock.FromContext(ctx, r.clock)
		run := Run{ID: r.runID(ctx), Flow: cf.name, Service: cf.service, Location: r.cfg.Location, Start: c.Now()}
		all := make([]StepResult, len(cf.steps))
		for i := range cf.steps {
			all[i] = StepResult{Step: cf.steps[i].name, Function: cf.steps[i].function, Status: StatusNotRun}
		}
		rs := r.getState()
		rs.c, rs.start, rs.run0, rs.parent, rs.runID, rs.steps, rs.cf = c, run.Start, run.Start, ctx, run.ID, all, cf
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
			if cf.steps[i].sessionEnd && all[i].Attempts+len(all[i].Error) > 0 {
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

// EndSessionsInto ends every live session of the runner like EndSessions
// and appends each one's session_end teardown results to the last run of
// its flow in runs: a one-shot caller (`slaprobe once`) stops with its runs,
// so the sessions they logged in end with them (a Matrix login is a device
// on the account until it logs out) and their logout is reported with them.
func (r *Runner) EndSessionsInto(ctx context.Context, runs []Run) {
	for _, e := range r.EndSessions(ctx) {
		for i := len(runs) - 1; i >= 0; i-- {
			if runs[i].Flow == e.Flow && runs[i].Service == e.Service {
				runs[i].Teardown = append(runs[i].Teardown, e.Teardown...)
				break
			}
		}
	}
}

// Retire hands the runner's live sessions over to next, the runner that
// replaces it (a reload): a flow of next with the same name whose session
// would log in the same way (the same session steps, vars, TLS and secrets)
// takes the session over, unless it has one already; the others stay for
// EndSessions, which the caller runs next. From now on the runner keeps no
// session: a run still in flight on it that logs in ends that session
// itself, at its end. Retire does no I/O.
func (r *Runner) Retire(next *Runner) {
	r.sessMu.Lock()
	r.retired = true
	live := maps.Clone(r.sessions)
	r.sessMu.Unlock()
	if next == nil || next == r || len(live) == 0 {
		return
	}
	// The configs of the flows that hold a session, on both sides (a
	// compiled flow does not point to its config; next may share it).
	mine := map[*compiledFlow]*config.Flow{}
	names := map[string]bool{}
	r.mu.Lock()
	for _, m := range []map[*config.Flow]*compiledFlow{r.flows, r.adhoc} {
		for f, cf := range m {
			if _, ok := live[cf]; ok {
				mine[cf] = f
				names[f.Name] = true
			}
		}
	}
	r.mu.Unlock()
	type nextFlow struct {
		f  *config.Flow
		cf *compiledFlow
	}
	byName := map[string]nextFlow{}
	next.mu.Lock()
	for f, ncf := range next.flows {
		if names[f.Name] {
			byName[f.Name] = nextFlow{f, ncf}
		}
	}
	next.mu.Unlock()
	for cf, s := range live {
		n, ok := byName[cf.name]
		if !ok || !sameSession(r, mine[cf], cf, next, n.f, n.cf) || s.ended.Load() {
			continue
		}
		ncf := n.cf
		moved := &sessionData{vals: make([]string, ncf.nslots), jar: s.jar, expires: s.expires, secrets: s.secrets, pages: s.pages}
		// A refusal it got while fresh stays held when the flow step that
		// refused it is the same (the session steps are: sameSession);
		// without it, the first run after every reload logged in again.
		if ref := s.refused.Load(); ref != 0 {
			of, nf := mine[cf], n.f
			if k := int(ref>>16) - 1 - cf.nsession; k >= 0 && k < len(of.Steps) && k < len(nf.Steps) && sameSteps(of.Steps[k:k+1], nf.Steps[k:k+1]) {
				moved.refused.Store(ref)
				moved.refusedAt.Store(s.refusedAt.Load())
			}
		}
		if s.untried.Load() {
			moved.untried.Store(true)
			moved.refusedAt.Store(s.refusedAt.Load())
		}
		for _, slot := range s.slots {
			if ns, ok := ncf.slotOf(cf.slotName(slot)); ok {
				moved.vals[ns] = s.vals[slot]
				moved.slots = append(moved.slots, ns)
			}
		}
		next.sessMu.Lock()
		taken := next.sessions[ncf] == nil && !next.retired
		if taken {
			if next.sessions == nil {
				next.sessions = map[*compiledFlow]*sessionData{}
			}
			next.sessions[ncf] = moved
		}
		next.sessMu.Unlock()
		if taken {
			s.ended.Store(true) // next owns it: no run on r logs it out
			r.dropSession(cf, s)
		}
	}
}

// sameSession reports whether flow a of runner ra (compiled from fa) and
// flow b of rb (from fb) log in the same way, so that a session of one
// serves the other.
func sameSession(ra *Runner, fa *config.Flow, a *compiledFlow, rb *Runner, fb *config.Flow, b *compiledFlow) bool {
	if fa == nil || fb == nil || fa.Session == nil || fb.Session == nil || a.err != nil || b.err != nil || a.nsession != b.nsession || a.nsession == 0 ||
		a.sessionTTL() != b.sessionTTL() || a.tlsConfig() != b.tlsConfig() || !maps.Equal(ra.cfg.Secrets, rb.cfg.Secrets) {
		return false
	}
	return slices.EqualFunc(fa.Vars, fb.Vars, func(x, y config.Var) bool { return reflect.DeepEqual(x, y) }) &&
		sameSteps(fa.Session.Steps, fb.Session.Steps)
}
