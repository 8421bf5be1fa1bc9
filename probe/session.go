package probe

import (
	"net/http/cookiejar"
	"time"
)

// A flow's session (config.Session) is a login whose extracted variables
// and cookie jar outlive the run: later runs reuse them until the session's
// TTL passes on the run clock, or until a step gets 401 or 403, which
// drops the session and runs its steps again, once, in that run. The runner
// keeps one session per flow.

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
