package probe

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ohler55/ojg/oj"
	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/internal/redact"
	"github.com/slaprobe/slaprobe/internal/textesc"
)

// Run executes flow once and returns its result: one StepResult per step, in
// order, the steps after a failed one not_run. A flow with a session lists
// the session's steps first when they ran in this run (not when the
// session was reused); its teardown steps run after the others whatever
// happened, and only those that count are in Steps (the others are in
// Teardown). It never panics. The run's clock is clock.FromContext(ctx,
// Options.Clock): the run's start, step durations, phase timings, poll and
// await waits and timeouts are all measured on it. Every stream the run
// opened is closed before Run returns.
func (r *Runner) Run(ctx context.Context, flow *config.Flow) Run {
	c := clock.FromContext(ctx, r.clock)
	run := Run{ID: r.runID(ctx), Location: r.cfg.Location, Start: c.Now()}
	if flow == nil {
		return run
	}
	run.Flow, run.Service = flow.Name, flow.Service
	cf := r.compiled(flow)
	var all []StepResult
	if cf.err != nil {
		all = make([]StepResult, len(flow.Steps))
		for i := range flow.Steps {
			s := &flow.Steps[i]
			all[i] = StepResult{Step: s.Name, Function: s.Function, Status: StatusNotRun}
		}
	} else {
		all = make([]StepResult, len(cf.steps))
		for i := range cf.steps {
			s := &cf.steps[i]
			all[i] = StepResult{Step: s.name, Function: s.function, Status: StatusNotRun}
		}
	}
	if len(all) > 0 {
		rs := r.getState()
		rs.c, rs.start, rs.run0, rs.parent, rs.runID, rs.steps, rs.cf = c, run.Start, run.Start, ctx, run.ID, all, cf
		rs.exec()
		run.Steps, run.Teardown = rs.results()
		run.RetryAfter = rs.retryAfter
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
	start  time.Time       // the run's start; the teardown's, once it runs
	run0   time.Time       // the run's start, always (StepResult.Ended)
	parent context.Context // the caller's
	ctx    context.Context // with the flow's timeout
	runID  string
	steps  []StepResult // one per compiled step (session, steps, teardown), filled in place
	cur    int          // the step being run
	starts []time.Time  // when each step started, for a since (await, poll); after a new login, at most its end

	sessionRan bool           // the session's steps ran in this run
	set        []bool         // variable slots that hold a value (kept for flows with a teardown)
	streams    []*stream      // by step index, the streams the run opened
	hooks      *inbox         // the run's webhook callbacks
	sess       *sessionData   // the session the run uses, when the flow has one
	held       bool           // sess is counted in use by this run (see releaseSession)
	ending     []*sessionData // sessions the run discarded: their session_end teardown runs last
	cancels    []context.CancelFunc

	sc     scope
	client http.Client
	jar    lazyJar
	extra  []string // resolved values of vars built from secrets
	// red is the redactor of the config's secrets and extra as it was
	// when red was built (nred: len(extra) then; extra only grows in a
	// run): built once a run rather than once a message. A failed run
	// redacts several messages (its error, the cut's retries, a redirect's
	// checks), and each built a redactor of every secret afresh: ~130 µs
	// with five, on every failed run of a total outage.
	red     *redact.Redactor
	nred    int
	cookies []string // credential-like cookie values servers set in this run (see cookieSecret)
	pages   []string // the pages (pageKey) the session's steps requested in this run
	atLogin int      // 1 + the flow step whose last answer sent it to a session page (see sessionPage)
	taken   int      // 1 + the repeat: false step whose request a redirect took (see takenBy): its answer refuses nothing
	buf     []byte
	lr      io.LimitedReader
	one     [1]any
	parser  oj.Parser
	bigDoc  bool // the parser read a body over maxPooledBuf: not pooled with it

	retryAfter time.Duration // what the first failed step's last answer asked (Run.RetryAfter)
	// expiredStep is 1 + the step whose last failure was its session's
	// expiry said inside a protocol (see expiry.go), which counts as a
	// 401; expiredFrom is the step to run again from after a new login.
	expiredStep, expiredFrom int
	// firstUse: the run reuses a session that no flow step has used yet
	// (sessionData.untried): a refusal counts as a fresh session's.
	firstUse bool
}

// getState returns a runState from the runner's pool. Run states keep their
// buffers, JSON parser and trace hooks between runs.
func (r *Runner) getState() *runState {
	if rs, ok := r.states.Get().(*runState); ok {
		rs.r = r
		return rs
	}
	rs := &runState{r: r}
	rs.client.Jar = &rs.jar
	rs.jar.note = rs.noteCookie
	rs.client.CheckRedirect = rs.checkRedirect
	rs.parser.Reuse = true // parsed documents never outlive an attempt
	return rs
}

// putState clears what belongs to one run and pools rs. A pooled state
// points to no runner (see Runner.states).
func (r *Runner) putState(rs *runState) {
	rs.r, rs.cf, rs.c, rs.parent, rs.ctx, rs.steps, rs.cur = nil, nil, nil, nil, nil, nil, 0
	rs.retryAfter, rs.expiredStep, rs.expiredFrom, rs.firstUse = 0, 0, 0, false
	rs.sc = scope{vals: rs.sc.vals[:0]}
	rs.client.Transport = nil
	rs.jar.j = nil
	rs.one[0] = nil
	clear(rs.extra)
	rs.extra = rs.extra[:0]
	rs.red, rs.nred = nil, 0
	clear(rs.cookies)
	rs.cookies = rs.cookies[:0]
	clear(rs.pages)
	rs.pages, rs.atLogin, rs.taken = rs.pages[:0], 0, 0
	rs.starts = rs.starts[:0]
	rs.set = rs.set[:0]
	rs.streams, rs.hooks, rs.sess, rs.held, rs.sessionRan = nil, nil, nil, false, false
	clear(rs.ending)
	rs.ending = rs.ending[:0]
	if cap(rs.buf) > maxPooledBuf {
		rs.buf = nil
	}
	if rs.bigDoc {
		// With Reuse the parser keeps the maps and slices of the last
		// document it parsed (25 MB for 1 MiB of small objects).
		rs.parser, rs.bigDoc = oj.Parser{Reuse: true}, false
	}
	r.states.Put(rs)
}

// lazyJar is a run's cookie jar, created when the first cookie arrives, so
// runs that never see a cookie pay nothing for it. A flow with a session
// keeps the jar with the session. The values of the cookies a server sets
// that look like credentials join the run's redaction (see cookieSecret):
// the client sends them, and a target that echoes them back must not put
// a session id in an error.
type lazyJar struct {
	j    *cookiejar.Jar
	note func(string)
}

func (l *lazyJar) SetCookies(u *url.URL, cookies []*http.Cookie) {
	if l.j == nil {
		l.j, _ = cookiejar.New(nil) // never fails without options
	}
	if l.note != nil {
		for _, c := range cookies {
			if cookieSecret(c) {
				l.note(c.Value)
			}
		}
	}
	l.j.SetCookies(u, cookies)
}

// cookieSecret says whether a cookie's value is redacted: an HttpOnly
// cookie (what session cookies are), or any value of 8 bytes or more (an
// id, a token); short values such as lang=en stay readable.
func cookieSecret(c *http.Cookie) bool {
	return len(c.Value) >= redact.MinLen && (c.HttpOnly || len(c.Value) >= 8)
}

func (l *lazyJar) Cookies(u *url.URL) []*http.Cookie {
	if l.j == nil {
		return nil
	}
	return l.j.Cookies(u)
}

// exec runs the session (unless it is reused), the steps and the teardown,
// then closes the run's streams and gives back its webhook URL.
func (rs *runState) exec() {
	cf := rs.cf
	if cf.err != nil {
		rs.fail(0, cf.err.Error())
		return
	}
	defer func() {
		for i, cancel := range rs.cancels {
			cancel()
			rs.cancels[i] = nil
		}
		rs.cancels = rs.cancels[:0]
	}()
	defer rs.closeStreams()
	if !rs.guard(rs.setUp) {
		return
	}
	if cf.usesWebhook && rs.r.hooks != nil {
		url, box, release := rs.r.hooks.register(rs.runID, rs.c)
		rs.sc.webhookURL, rs.hooks = url, box
		defer release()
	}
	rs.guard(rs.main)
	rs.releaseSession()
	if len(cf.steps) > cf.nsession+cf.nmain {
		rs.guard(rs.teardown)
	}
}

// guard runs fn; a panic fails the current step instead of escaping.
func (rs *runState) guard(fn func() bool) (ok bool) {
	defer func() {
		if p := recover(); p != nil {
			rs.r.log.Error("probe: panic in run", "flow", rs.cf.name, "panic", rs.redact(fmt.Sprint(p)))
			rs.fail(rs.cur, fmt.Sprintf("internal error: %v", p))
			ok = false
		}
	}()
	return fn()
}

// setUp prepares the run: transport, deadline, scope and vars.
func (rs *runState) setUp() bool {
	cf := rs.cf
	rt, err := rs.r.transport(cf.tlsConfig())
	if err != nil {
		rs.fail(0, err.Error())
		return false
	}
	// The deadline is on the run's clock: in a replay a target that hangs
	// fails at the timeout in virtual time, as it does live.
	rs.ctx = rs.withTimeout(rs.parent)
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
	if n := len(cf.steps); cap(rs.starts) < n {
		rs.starts = make([]time.Time, n)
	} else {
		rs.starts = rs.starts[:n]
		clear(rs.starts) // a step not run in this run has no start: not an earlier run's
	}
	if !cf.plain() {
		if cap(rs.set) < cf.nslots {
			rs.set = make([]bool, cf.nslots)
		} else {
			rs.set = rs.set[:cf.nslots]
			clear(rs.set)
		}
	}
	for i := range cf.vars {
		v := &cf.vars[i]
		var val string
		var err error
		if v.jwt != nil {
			val, err = v.jwt.sign(&rs.sc)
		} else {
			val, err = v.value.render(&rs.sc)
		}
		if err != nil {
			rs.fail(0, fmt.Sprintf("var %s: %v", v.name, err))
			return false
		}
		rs.sc.vals[v.slot] = val
		rs.markSet(v.slot)
		if v.tainted {
			rs.extra = append(rs.extra, val)
		}
	}
	return true
}

// withTimeout returns a context with the flow's timeout; the run's
// context cancels it when the run ends (see cancelCtx).
func (rs *runState) withTimeout(parent context.Context) context.Context {
	ctx, cancel := clock.WithTimeout(parent, rs.c, rs.cf.timeout)
	rs.cancels = append(rs.cancels, cancel)
	return ctx
}

// main runs the session when there is no live one, then the steps. A step
// that gets 401 or 403 while the run reuses a session drops the session,
// runs the session's steps again (once per run) and tries the step again;
// an await whose stream said the session expired (expiry.go) does the
// same, trying the steps again from the stream step.
func (rs *runState) main() bool {
	cf := rs.cf
	if cf.nsession > 0 && !rs.reuseSession() {
		rs.discard(rs.r.session(cf)) // its ttl passed (nil: there was none)
		if !rs.runSession() {
			return false
		}
	}
	if !rs.sessionRan && rs.sess != nil && rs.sess.untried.Swap(false) {
		rs.firstUse = true
	}
	relogged := false
	for i := cf.nsession; i < cf.nsession+cf.nmain; i++ {
		rs.cur = i
		rs.step(i)
		res := &rs.steps[i]
		if res.Status != StatusFailed {
			rs.markExtracted(i)
			if rs.sess != nil && rs.sess.refused.Load()>>16 == int64(i+1) {
				rs.sess.refused.Store(0) // it passes again: a new refusal gets a new login
			}
			continue
		}
		status := rs.refusalStatus(i, res.HTTPStatus)
		if (rs.sessionRan || rs.firstUse) && rs.sess != nil && refuses(status) {
			rs.sess.refused.Store(refusal(i, status)) // a fresh session refused: not its doing
			if !rs.firstUse {
				// The run's start: the hold is counted in runs (at a first
				// use, from the start of the run that logged in, set then).
				rs.sess.refusedAt.Store(rs.start.UnixNano())
			}
		}
		if !relogged && rs.refusedSession(i, status) {
			relogged = true
			from := i
			if rs.expiredStep == i+1 && rs.expiredFrom >= cf.nsession && rs.expiredFrom < i {
				from = rs.expiredFrom // the stream that said it: opened again with the new token
			}
			// and every stream the run opened before it that a step from i
			// on still awaits, whatever refused the token (an expiry a
			// stream said, or a send's 401): the same token opened them (an
			// await on the later one can come first; a stream opened before
			// a send refused keeps saying so)
			for j := cf.nsession; j < from && j < len(rs.streams); j++ {
				if rs.streams[j] != nil && cf.awaited(j, i) {
					from = j
					break
				}
			}
			rs.expiredStep = 0
			// A step between that must not be sent twice in a run (repeat:
			// false: a payment) was sent, and passed: the run logs in again,
			// so that the next run has a token that works, and ends here
			// rather than send it again. (The refused step itself is tried
			// again: a 401 did nothing.)
			norepeat := -1
			for j := from; j < i; j++ {
				if cf.steps[j].noRepeat {
					norepeat = j
					break
				}
			}
			rs.discard(rs.sess) // its logout is best effort: the server may have ended it already
			if !rs.runSession() {
				return false
			}
			if norepeat >= 0 {
				rs.sess.untried.Store(true) // the next run is its first use
				rs.sess.refusedAt.Store(rs.start.UnixNano())
				res := &rs.steps[i] // runSession wrote the session's results only
				res.Error += "; logged in again, " + stepsFrom + ConfigText(cf.steps[from].name) +
					notTriedAgain + ConfigText(cf.steps[norepeat].name) + " has repeat: false and was sent in this run"
				return false
			}
			// A later step timed from a step before from (a poll's or an
			// await's since) is timed from now: the new login's time is
			// the probe's, not the target's.
			now := rs.c.Now()
			for j := cf.nsession; j < from; j++ {
				if rs.starts[j].Before(now) {
					rs.starts[j] = now
				}
			}
			for j := from; j < cf.nsession+cf.nmain; j++ {
				rs.steps[j] = StepResult{Step: rs.steps[j].Step, Function: rs.steps[j].Function, Status: StatusNotRun}
			}
			i = from - 1
			continue
		}
		return false
	}
	return true
}

// awaited reports whether an await step from step i on (in the flow's
// steps) reads stream step j's stream.
func (cf *compiledFlow) awaited(j, i int) bool {
	for k := i; k < cf.nsession+cf.nmain; k++ {
		if w, ok := cf.steps[k].kind.(*awaitStep); ok && w.stream == j {
			return true
		}
	}
	return false
}

// refusedSession reports whether status, an answer to flow step i, refuses
// the session this run reuses (401 or 403): main then logs in again, and a
// poll stops at once rather than ask again with a token that will not come
// back until `within` has spent the time the new login needs.
//
// A refusal that this session already got from step i while it was fresh
// (see sessionData.refused) is not the session's: no new login, for the
// flow's hold (an interval, at most refusalHold). Nor is any refusal at
// the session's first use (runState.firstUse), which main holds as a fresh
// session's: an await or a poll that asks before main has noted it gets
// the answer main will act on (it waits on, as when the refusal is held,
// rather than fail at once for a new login that does not follow).
func (rs *runState) refusedSession(i int, status int) bool {
	cf := rs.cf
	return cf.nsession > 0 && !rs.sessionRan && i >= cf.nsession && i < cf.nsession+cf.nmain && refuses(status) &&
		(rs.sess == nil || !rs.firstUse && rs.sess.refused.Load() != refusal(i, status) ||
			rs.start.Sub(time.Unix(0, rs.sess.refusedAt.Load())) >= cf.session.hold)
}

// refusalStatus is the status the last answer to flow step i counts as
// for its session: an answer that sent it to one of the session's pages
// (see sessionPage), and a session expiry a stream said (see expiry.go),
// count as a 401; an answer after a redirect that took a repeat: false
// step's request (see takenBy) refuses nothing (0).
func (rs *runState) refusalStatus(i, status int) int {
	if rs.taken == i+1 {
		return 0
	}
	if rs.atLogin == i+1 || rs.expiredStep == i+1 {
		return http.StatusUnauthorized
	}
	return status
}

// refuses says whether an HTTP status refuses a session (401, 403).
func refuses(status int) bool {
	return status == http.StatusUnauthorized || status == http.StatusForbidden
}

// teardown runs the teardown steps with a deadline of their own (the
// flow's timeout: a run lasts at most twice its timeout): each runs unless
// it uses a variable this run did not set (the step that extracts it failed
// or did not run); a failure does not stop the others. Then the
// session_end steps of the sessions the run discarded run, within the same
// deadline.
func (rs *runState) teardown() bool {
	cf := rs.cf
	rs.start = rs.c.Now()
	rs.ctx = rs.withTimeout(rs.parent)
	for i := cf.nsession + cf.nmain; i < len(cf.steps); i++ {
		if cf.steps[i].sessionEnd {
			continue // runs when the session is discarded (endSession)
		}
		rs.cur = i
		if name := rs.unset(i); name != "" {
			rs.steps[i].Error = "not run: ${" + name + "} has no value in this run"
			continue
		}
		rs.step(i)
		if rs.steps[i].Status != StatusFailed {
			rs.markExtracted(i)
		}
	}
	rs.endSessions()
	return true
}

// markSet records that slot holds a value (for the teardown's check).
func (rs *runState) markSet(slot int) {
	if slot < len(rs.set) {
		rs.set[slot] = true
	}
}

// markExtracted records the variables a passing step i extracted.
func (rs *runState) markExtracted(i int) {
	if len(rs.set) == 0 {
		return
	}
	for _, x := range rs.cf.steps[i].pay.extract {
		rs.set[x.slot] = true
	}
}

// unset returns the name of a variable step i uses that has no value in
// this run, or "".
func (rs *runState) unset(i int) string {
	for _, slot := range rs.cf.steps[i].refs {
		if slot < len(rs.set) && !rs.set[slot] {
			return rs.cf.slotName(slot)
		}
	}
	return ""
}

// results splits the step results into the run's Steps and Teardown.
func (rs *runState) results() (steps, teardown []StepResult) {
	cf := rs.cf
	if cf.err != nil || cf.plain() {
		return rs.steps, nil
	}
	steps = make([]StepResult, 0, len(rs.steps))
	if rs.sessionRan {
		steps = append(steps, rs.steps[:cf.nsession]...)
	}
	steps = append(steps, rs.steps[cf.nsession:cf.nsession+cf.nmain]...)
	for i := cf.nsession + cf.nmain; i < len(cf.steps); i++ {
		switch {
		case cf.steps[i].sessionEnd && rs.steps[i].Attempts == 0 && rs.steps[i].Error == "":
			// did not run: only runs that end a session report it
		case cf.steps[i].counts:
			steps = append(steps, rs.steps[i])
		default:
			teardown = append(teardown, rs.steps[i])
		}
	}
	return steps, teardown
}

// ended is StepResult.Ended of a step that ended at now: at least 1ns, so
// that 0 says not known.
func (rs *runState) ended(now time.Time) time.Duration {
	return max(now.Sub(rs.run0), time.Nanosecond)
}

// fail marks step i failed with msg (prefixed with the step name, secrets
// removed) and the steps after it that it blocks not run: a session step
// blocks the session's and the flow's steps, a step the flow's steps after
// it, and a teardown step nothing.
func (rs *runState) fail(i int, msg string) {
	steps := rs.steps
	if i < 0 || i >= len(steps) {
		return
	}
	steps[i].Status = StatusFailed
	if steps[i].Ended == 0 && rs.c != nil {
		// Failed before it ran (the set-up's, a panic's): its failure is
		// known now.
		steps[i].Ended = rs.ended(rs.c.Now())
	}
	prefix := steps[i].Step + ": "
	if strings.HasPrefix(msg, prefix) {
		// A step named after its kind ("websocket", "sse": the
		// Centrifugo example's) says the word once, not "websocket:
		// websocket: connection refused".
		prefix = ""
	}
	steps[i].Error = rs.clipError(prefix, msg)
	end := len(steps)
	if cf := rs.cf; cf != nil && cf.err == nil && !cf.plain() {
		end = cf.nsession + cf.nmain
		if i >= end {
			end = i + 1
		}
	}
	for j := i + 1; j < end; j++ {
		steps[j].Status = StatusNotRun
		steps[j].Error = "not run: step " + steps[i].Step + " failed"
	}
}

func (rs *runState) redact(s string) string { return rs.redactor().Redact(s) }

// redactor is the Runner's redactor (the config's secrets) while the run has
// no credential of its own, else one of both (Runner.redact), kept until
// extra grows.
func (rs *runState) redactor() *redact.Redactor {
	if len(rs.extra) == 0 {
		return rs.r.red
	}
	if rs.red == nil || rs.nred != len(rs.extra) {
		rs.red, rs.nred = redact.New(append(slices.Clip(rs.r.secretVals), rs.extra...)...), len(rs.extra)
	}
	return rs.red
}

// maxErrorBytes bounds a step's error. Go quotes a redirect's Location, a
// host name and a malformed status line whole in its errors: without a
// bound a target could make each run's error megabytes long, stored with
// every run and served by the live API, the status page and alerts.
const maxErrorBytes = 1024

// clipError returns prefix (the step's name, the config's own text, which
// is not redacted: a secret that happens to equal it must not hide which
// step failed) and msg redacted, cut so that both fit in maxErrorBytes,
// saying how long msg was. It cuts before redacting too (leaving room for
// a secret that starts before the cut to be seen whole, and reading on
// while the secrets redacted leave the text under the bound), so a huge
// message costs the redactor no more than a few KiB. msg quotes the target and
// the error reaches every output, so its control and bidi formatting
// characters are escaped (package textesc), within the bound, and never
// cut inside an escape, nor inside a "***" (redact.Cut: the part of the
// mark before the cut goes).
func (rs *runState) clipError(prefix, msg string) string {
	n, limit, slack := len(msg), max(maxErrorBytes-len(prefix), 0), rs.slack()
	var red, read string // red: what is kept of read, msg redacted as far as it was read
	whole := false
	for room := limit + slack; ; room *= 2 {
		if n <= room {
			red, whole = rs.redact(msg), true
			read = red
			break
		}
		red = rs.redact(msg[:room])
		read = red
		if slack > 1 {
			// The last slack-1 bytes cut off may begin a secret the
			// redactor could not see whole, and each secret redacted
			// before them shrank to "***": a Location repeating the
			// password 150 times kept a third of its length, so the cut
			// at limit below reached them and the error ended
			// "***s3cret-". They go.
			end := max(len(red)-(slack-1), 0)
			for end > 0 && !utf8.RuneStart(red[end]) {
				end--
			}
			red = red[:end]
		}
		if len(red) >= limit {
			break
		}
		// Secrets shrank the text below the bound: read on, or a
		// message that fits once redacted is cut and marked so (each
		// "***" stands for at most slack bytes, so this reads at most
		// about 2*limit*slack/3 bytes; except where occurrences overlap,
		// masked as one "***" however long: a message repeating a secret
		// that ends with its own start is read to its end).
	}
	// The bound holds for the escaped text: an ESC is four bytes once
	// written \x1b, so 800 bytes of them made an error of 3 KiB.
	msg, used := textesc.ClipAt(red, limit)
	// A cut inside a "***" drops its part before the cut (redact.Cut; '*'
	// is not escaped, so a byte of red is one of msg), so no lone "*" or
	// "**" reads as the target's own text.
	if c := redact.Cut(read, used); c < used {
		msg, used = msg[:len(msg)-(used-c)], c
	}
	if whole && used == len(red) {
		return prefix + msg
	}
	return prefix + msg + "…(" + strconv.Itoa(n) + " bytes)"
}

// noteCookie adds a cookie's value to the run's redaction and remembers it
// for the session the run may keep.
func (rs *runState) noteCookie(v string) {
	rs.note(v)
	if !slices.Contains(rs.cookies, v) {
		rs.cookies = append(rs.cookies, v)
	}
}

// note adds a value this run holds as a credential (a credential header
// it sends, a secret extraction, a URL's password) to its redaction.
func (rs *runState) note(v string) {
	if len(v) >= redact.MinLen && !slices.Contains(rs.extra, v) {
		rs.extra = append(rs.extra, v)
	}
}

// errSplitSecret fails a step whose URL, once its secrets are filled in,
// does not parse or cuts a secret across its parts: a '#', '/', '?' or '@'
// in a secret placed raw would send a piece of it somewhere else (a host
// to resolve, a fragment) and quote that piece, unredactable, in errors.
var errSplitSecret = errors.New("url: not a valid URL once its secrets are filled in, or one of them is cut by the URL's syntax: place secrets with ${urlquery(...)} or ${urlpath(...)}")

// checkURL checks a rendered URL before it is used: every secret it holds
// whole in one part (see errSplitSecret); the password of user:password@,
// and the base64 of user:password that basic authentication sends, join
// the run's redaction.
func (rs *runState) checkURL(u string) error {
	var held []string
	for _, v := range rs.r.secretVals {
		if strings.Contains(u, v) {
			held = append(held, v)
		}
	}
	for _, v := range rs.extra {
		if strings.Contains(u, v) {
			held = append(held, v)
		}
	}
	if len(held) == 0 && strings.IndexByte(u, '@') < 0 {
		return nil
	}
	if !config.SecretsWholeInURL(u, held) {
		return errSplitSecret
	}
	pu, err := url.Parse(u)
	if err != nil {
		return nil // the request reports it
	}
	if pu.User != nil {
		if pw, ok := pu.User.Password(); ok {
			rs.note(pw)
			rs.note(base64.StdEncoding.EncodeToString([]byte(pu.User.Username() + ":" + pw)))
		}
	}
	return nil
}

// scrub and slack make the run a scrubber for show.
func (rs *runState) scrub(s string) string { return rs.redact(s) }

func (rs *runState) slack() int { return rs.redactor().MaxLen() }

// StillWaitingNote ends a poll's error taken from the attempt before the
// last, when the last was still waiting at within (a long poll nearly
// always is): whether it was, run to run, is no new cause (state's
// errorShape leaves it out).
const StillWaitingNote = " (the attempt after it was still waiting at the deadline)"

// step runs step i, polling when asked, and fills its result.
func (rs *runState) step(i int) {
	cs := &rs.cf.steps[i]
	res := &rs.steps[i]
	c := rs.c
	start := c.Now()
	rs.starts[i] = start
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
	var a, ended attempt // ended: a poll's last attempt that ended by itself (not cut at within)
	for {
		res.Attempts++
		res.CertExpiry = time.Time{}
		a = rs.attempt(ctx, cs, deadline)
		if a.cut && ended.fail != "" {
			// A long poll (a Matrix /sync, a ?wait= inbox) is nearly always
			// in flight when within runs out: its cut says nothing about the
			// target, the answer before it does (the message is not there).
			a.status, a.phases, a.retryAfter = ended.status, ended.phases, ended.retryAfter
			a.fail = ended.fail + StillWaitingNote
		} else if cs.poll != nil && !a.cut {
			ended = a
		}
		res.HTTPStatus, res.Phases = a.status, a.phases
		if a.atLogin {
			rs.atLogin = i + 1
		} else if rs.atLogin == i+1 {
			rs.atLogin = 0
		}
		if a.taken {
			rs.taken = i + 1
		} else if rs.taken == i+1 {
			rs.taken = 0
		}
		now := c.Now()
		if a.fatal {
			msg = a.fail // the kind's own verdict, deadlines included
			break
		}
		if m := rs.timedOut(ctx, cs, start, now, deadline, a.fail); m != "" {
			msg = m
			if a.waiting != "" && (rs.parent.Err() == nil || rs.callerDeadline()) && !strings.Contains(m, a.waiting) {
				// Where it hung: "timeout after 10s waiting for response
				// headers from 10.0.0.5:443" (a poll's within already
				// says it, in its last attempt's failure).
				msg += " " + a.waiting
			}
			if a.statusFirst != "" && (rs.parent.Err() == nil || rs.callerDeadline()) && !strings.Contains(msg, a.statusFirst) {
				// A refused status whose body the deadline cut: the status
				// first, as when the body fails by itself.
				msg = a.statusFirst + " (" + msg + ")"
			}
			break
		}
		if a.fail == "" {
			break
		}
		if cs.poll == nil || rs.refusedSession(i, rs.refusalStatus(i, a.status)) {
			msg = a.fail
			break
		}
		// A 429 or 503 that asks for a longer wait gets it: polling on
		// every 500 ms through a rate limit keeps the limit on.
		wait := max(cs.poll.Every, a.retryAfter)
		if now.Add(wait).After(deadline) {
			msg = "expectation not met within " + cs.poll.Within.String() + ": " + a.fail
			if wait > cs.poll.Every {
				msg += " (the answer asked to retry after " + roundDuration(a.retryAfter).String() + ")"
			}
			break
		}
		if err := c.Sleep(ctx, wait); err != nil {
			if msg = rs.timedOut(ctx, cs, start, c.Now(), deadline, a.fail); msg == "" {
				msg = "canceled"
			}
			break
		}
	}
	if a.expired {
		rs.expiredStep, rs.expiredFrom = i+1, a.restart
	} else if rs.expiredStep == i+1 {
		rs.expiredStep = 0
	}
	now := c.Now()
	res.Ended = rs.ended(now)
	res.Duration = now.Sub(start)
	if a.hasLatency {
		res.Duration = a.latency
	} else if cs.poll != nil && cs.since >= 0 && msg == "" && !rs.starts[cs.since].IsZero() {
		// A poll that passed: from its since step's start, as an await
		// measures send-to-receive (its own time when that step did not
		// run: a teardown step skipped).
		res.Duration = max(0, now.Sub(rs.starts[cs.since]))
	}
	switch {
	case msg != "":
		rs.fail(i, msg)
		// The run's Retry-After is a verdict step's (session or main): a
		// teardown's answer says nothing of why the run failed.
		if rs.retryAfter == 0 && i < rs.cf.nsession+rs.cf.nmain {
			rs.retryAfter = a.retryAfter
		}
	case cs.latency > 0 && res.Duration > cs.latency:
		res.Status = StatusDegraded
		res.Error = cs.name + ": " + rs.redact(fmt.Sprintf("latency %s over objective %s", roundDuration(res.Duration), cs.latency))
	case cs.minDaysLeft > 0 && !res.CertExpiry.IsZero() && res.CertExpiry.Sub(now) < time.Duration(cs.minDaysLeft)*24*time.Hour:
		res.Status = StatusDegraded
		when := "expires in " + daysLeft(res.CertExpiry.Sub(now))
		if left := res.CertExpiry.Sub(now); left < 0 { // passed with insecure_skip_verify
			when = "expired " + daysLeft(-left) + " ago"
		}
		// The fixed words are slaprobe's, as the step's name is the
		// config's: not redacted, so that a secret among them ("under",
		// "days") cannot hide what Run.Slow reads (a certificate, not
		// latency); the figures are.
		res.Error = cs.name + ": certificate " + rs.redact(when) + underMinDaysLeft + rs.redact(strconv.Itoa(int(cs.minDaysLeft)))
	default:
		res.Status, res.Error = StatusOK, ""
	}
	if rs.r.log.Enabled(rs.parent, slog.LevelDebug) {
		rs.r.log.DebugContext(rs.parent, "step done", "flow", rs.cf.name, "step", cs.name,
			"status", res.Status, "http_status", res.HTTPStatus, "duration", res.Duration,
			"attempts", res.Attempts, "error", res.Error)
	}
}

// attempt runs one attempt of cs. A poll's attempt has the time left of
// its within (deadline), so that one that hangs ends the poll there rather
// than at the step's or flow's timeout; one that starts at the deadline (in
// virtual time, the last of within/every+1) has the step's. An attempt cut
// by the deadline fails with "timeout" whatever it got, as a live one does
// (an in-process target in a replay answers when its context ends), and is
// marked cut: step reports the failure of the attempt before it, if any.
func (rs *runState) attempt(ctx context.Context, cs *compiledStep, deadline time.Time) attempt {
	if cs.poll != nil {
		if left := deadline.Sub(rs.c.Now()); left > 0 {
			actx, cancel := clock.WithTimeout(ctx, rs.c, left)
			defer cancel()
			a := cs.kind.attempt(actx, rs, cs)
			if actx.Err() != nil && ctx.Err() == nil && !rs.c.Now().Before(deadline) {
				a.fail, a.fatal, a.cut = "timeout", false, true
				if a.waiting != "" {
					a.fail += " " + a.waiting
				}
				if a.statusFirst != "" {
					a.fail = a.statusFirst + " (" + a.fail + ")"
				}
			}
			return a
		}
	}
	return cs.kind.attempt(ctx, rs, cs)
}

// timedOut says whether the run or the step is out of time, on the context
// (real deadlines) or on the run's clock (virtual time), or was canceled.
// A run stalled past more than one deadline (a machine starved of CPU
// wakes the attempt after all of them) is said to have passed the one that
// came first: the step's own timeout, or a poll's within (its deadline,
// zero without a poll; fail is its last attempt's failure), before the
// flow's; the flow's when they fall at once.
func (rs *runState) timedOut(ctx context.Context, cs *compiledStep, start, now, within time.Time, fail string) string {
	if rs.parent.Err() != nil {
		return rs.canceled()
	}
	flow := rs.ctx.Err() != nil || now.Sub(rs.start) > rs.cf.timeout
	step := ctx.Err() != nil || cs.timeout > 0 && now.Sub(start) > cs.timeout
	if !flow && !step {
		return ""
	}
	first, msg := rs.start.Add(rs.cf.timeout), "flow timeout after "+rs.cf.timeout.String()
	if !flow {
		first, msg = start.Add(cs.timeout), "timeout after "+cs.timeout.String()
	} else if stepAt := start.Add(cs.timeout); cs.timeout > 0 && step && stepAt.Before(first) {
		first, msg = stepAt, "timeout after "+cs.timeout.String()
	}
	if cs.poll != nil && !within.IsZero() && !now.Before(within) && within.Before(first) {
		if fail == "" {
			fail = "timeout" // the expectation held, but only after the deadlines
		}
		msg = "expectation not met within " + cs.poll.Within.String() + ": " + fail
	}
	return msg
}

// canceled says why the run's caller ended it (its context's cause, when
// the caller gave one: "canceled: the stop's 10s for session_end steps ran
// out", where Go's words, "context deadline exceeded", say nothing of who
// set the deadline).
func (rs *runState) canceled() string {
	return "canceled: " + context.Cause(rs.parent).Error()
}

// callerDeadline reports whether the run's caller ended it at a deadline
// (the daemon's bound on a stop's session_end steps), not by a cancel: the
// step that was cut then says where it hung, as at its own deadline.
func (rs *runState) callerDeadline() bool {
	return errors.Is(rs.parent.Err(), context.DeadlineExceeded)
}

// roundDuration keeps messages short: milliseconds, or microseconds under 1ms.
func roundDuration(d time.Duration) time.Duration {
	if d < time.Millisecond {
		return d.Round(time.Microsecond)
	}
	return d.Round(time.Millisecond)
}
