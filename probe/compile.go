package probe

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/slaprobe/slaprobe/config"
)

// Defaults for a config built in Go without config.Load's defaults.
const (
	defaultTimeout      = 10 * time.Second
	defaultMaxBodyBytes = 1 << 20
	defaultMaxRedirects = 5
)

// compiledFlow is a flow with every template, JSONPath and regular expression
// parsed once. It is immutable and shared by concurrent runs, and by the
// runners of successive configs whose flow is the same (Options.Previous).
// It holds no pointer to the config's Flow: a reused one would keep the
// whole previous config's flows alive.
type compiledFlow struct {
	name    string // the flow's
	service string
	err     error // a flow that does not compile fails its first step with this
	nslots  int
	vars    []compiledVar
	// steps are the session's steps, then the flow's steps, then its
	// teardown steps: nsession and nmain say where each list ends.
	steps        []compiledStep
	nsession     int
	nmain        int
	session      *flowSession // nil: the flow has no session (most flows: a pointer, not its fields in every flow; 168 B a flow)
	usesWebhook  bool         // the run needs a ${webhook.url}
	timeout      time.Duration
	maxBody      int64
	maxRedirects int
	tls          *config.TLS // nil: none set (shared among a NewRunner's flows: see tlsOf)
}

// flowSession is what a flow with a session keeps of it.
type flowSession struct {
	ttl   time.Duration
	hold  time.Duration // how long a refusal a fresh session got is held (see refusalHold)
	slots []int         // the variables the session's steps extract
}

// sessionTTL is how long the flow's session is kept (0: no session).
func (cf *compiledFlow) sessionTTL() time.Duration {
	if cf.session == nil {
		return 0
	}
	return cf.session.ttl
}

// sessionSlots are the variables the session's steps extract.
func (cf *compiledFlow) sessionSlots() []int {
	if cf.session == nil {
		return nil
	}
	return cf.session.slots
}

// tlsConfig returns the flow's TLS settings (the zero value: none).
func (cf *compiledFlow) tlsConfig() config.TLS {
	if cf.tls == nil {
		return config.TLS{}
	}
	return *cf.tls
}

// plain reports whether the flow has only its steps (no session, no
// teardown): its results map one to one onto the run's steps.
func (cf *compiledFlow) plain() bool { return cf.nsession == 0 && cf.nmain == len(cf.steps) }

// section says which list of the flow a step belongs to.
type section uint8

const (
	secMain section = iota
	secSession
	secTeardown
)

type compiledVar struct {
	name    string
	slot    int
	value   tmpl
	jwt     *compiledJWT
	tainted bool
}

// compiledStep is one step: what the generic shell needs (name, function,
// timeout, polling, latency objective), the kind that does the work, and the
// payload check the kind runs on what it receives.
type compiledStep struct {
	name, function string
	timeout        time.Duration
	poll           *config.Poll
	latency        time.Duration
	kind           stepKind
	pay            payload
	refs           []int // variable slots the step's templates read (teardown skips a step whose refs are unset)
	// The small fields last: 200 bytes a step (the four-byte fields and the
	// flags fill the last 16).
	minDaysLeft int32 // expect.tls: degraded when the certificate expires sooner (config: 1 to 3650)
	// since is, for a poll, the index of the step whose start a passing
	// poll's latency is measured from (poll.since); -1: its own start.
	since      int32
	section    section
	counts     bool // the result counts against availability (every step but uncounted teardown)
	sessionEnd bool // a teardown step that runs when the session is discarded, not after every run
	noRepeat   bool // repeat: false: not sent again in a run that logs in again (see runState.main)
}

// compileFlow compiles f; cache (nil: none) shares parsed expressions with
// the other flows of the same NewRunner.
func compileFlow(f *config.Flow, secrets map[string]string, defs config.Defaults, cache *compileCache) *compiledFlow {
	cf := &compiledFlow{name: f.Name, service: f.Service}
	cf.timeout = firstPositive(f.Timeout, defs.Timeout, defaultTimeout)
	cf.maxBody = f.MaxBodyBytes
	if cf.maxBody <= 0 {
		cf.maxBody = defs.MaxBodyBytes
	}
	if cf.maxBody <= 0 {
		cf.maxBody = defaultMaxBodyBytes
	}
	// 0 is a value (max_redirects: 0 follows none), which config.Load
	// leaves in every flow; only a config built in Go with no defaults at
	// all gets the default.
	cf.maxRedirects = f.MaxRedirects
	if cf.maxRedirects <= 0 && defs == (config.Defaults{}) {
		cf.maxRedirects = defaultMaxRedirects
	}
	tls := f.TLS
	if tls == (config.TLS{}) {
		tls = defs.TLS
	}
	cf.tls = cache.tlsOf(tls)
	if err := cf.compile(f, secrets, cache); err != nil {
		cf.err = fmt.Errorf("flow %s: %w", f.Name, err)
	}
	return cf
}

func firstPositive(ds ...time.Duration) time.Duration {
	for _, d := range ds {
		if d > 0 {
			return d
		}
	}
	return 0
}

func (cf *compiledFlow) compile(f *config.Flow, secrets map[string]string, cache *compileCache) error {
	if len(f.Steps) == 0 {
		return errors.New("no steps")
	}
	sy := newSymbols(secrets)
	sy.cache = cache
	for _, v := range f.Vars {
		if !validVarName(v.Name) {
			return fmt.Errorf("var %q: invalid name", v.Name)
		}
		var cv compiledVar
		if v.JWT != nil {
			j, err := compileJWT(v.JWT, sy)
			if err != nil {
				return fmt.Errorf("var %s: jwt: %w", v.Name, err)
			}
			cv = compiledVar{name: v.Name, slot: sy.slotOf(v.Name), jwt: j, tainted: true} // a credential
		} else {
			t, err := sy.compile(v.Value)
			if err != nil {
				return fmt.Errorf("var %s: %w", v.Name, err)
			}
			cv = compiledVar{name: v.Name, slot: sy.slotOf(v.Name), value: t, tainted: sy.isTainted(&t)}
		}
		sy.defined[v.Name] = true
		sy.tainted[v.Name] = cv.tainted
		cf.vars = append(cf.vars, cv)
	}
	var session []config.Step
	if f.Session != nil {
		session = f.Session.Steps
		cf.session = &flowSession{ttl: f.Session.TTL, hold: refusalHold}
		if cf.session.ttl <= 0 {
			cf.session.ttl = config.DefaultSessionTTL
		}
		// Nine tenths of the interval: from the refused run's start, the
		// next scheduled run's comes a little early when that run began
		// late; the confirm runs (interval/6 apart) still fall inside.
		if h := f.Interval - f.Interval/10; h > 0 && h < refusalHold {
			cf.session.hold = h
		}
	}
	cf.nsession, cf.nmain = len(session), len(f.Steps)
	cf.steps = make([]compiledStep, 0, len(session)+len(f.Steps)+len(f.Teardown))
	index := map[string]int{} // step name -> index in cf.steps
	for _, list := range []struct {
		steps []config.Step
		sec   section
	}{{session, secSession}, {f.Steps, secMain}, {f.Teardown, secTeardown}} {
		for i := range list.steps {
			s := &list.steps[i]
			end := list.sec == secTeardown && s.When == config.WhenSessionEnd
			cf.steps = append(cf.steps, compiledStep{section: list.sec, counts: list.sec != secTeardown || s.Counts && !end, sessionEnd: end,
				noRepeat: list.sec == secMain && s.NoRepeat})
			cs := &cf.steps[len(cf.steps)-1]
			before := len(sy.used)
			if err := cs.compile(s, sy, index, len(cf.steps)-1); err != nil {
				return fmt.Errorf("step %s: %w", s.Name, err)
			}
			cs.refs = sy.used[before:len(sy.used):len(sy.used)]
			cs.since = -1
			if s.Poll != nil {
				// Measured from its since step, as an await: the step just
				// before in its list unless it names one (config.Load
				// fills it in; a config built in Go may leave it empty).
				if j, ok := index[s.Poll.Since]; ok {
					cs.since = int32(j)
				} else if s.Poll.Since == "" && i > 0 {
					cs.since = int32(len(cf.steps) - 2)
				}
			}
			index[s.Name] = len(cf.steps) - 1
			if list.sec == secSession {
				for _, x := range cs.pay.extract {
					cf.session.slots = append(cf.session.slots, x.slot)
				}
			}
			if a, ok := cs.kind.(*awaitStep); ok && a.webhook {
				cf.usesWebhook = true
			}
		}
	}
	cf.usesWebhook = cf.usesWebhook || sy.webhook
	cf.nslots = len(sy.slot)
	// Extracted values that a credential header sends are secrets too.
	for i := range cf.steps {
		p := &cf.steps[i].pay
		for j := range p.extract {
			x := &p.extract[j]
			x.secret = x.secret || sy.credVars[x.name]
			p.secrets = p.secrets || x.secret
		}
	}
	return nil
}

// compile parses step s, the idx-th of the flow; index maps the names of
// the steps before it to their indexes.
func (cs *compiledStep) compile(s *config.Step, sy *symbols, index map[string]int, idx int) error {
	cs.name, cs.function, cs.timeout, cs.poll = s.Name, s.Function, s.Timeout, s.Poll
	if s.Poll != nil && (s.Poll.Every <= 0 || s.Poll.Within <= 0) {
		return errors.New("poll: every and within must be positive")
	}
	if s.Poll != nil && s.Kind() != config.KindRequest {
		return errors.New("poll: only request steps poll")
	}
	cs.latency = s.Expect.Latency
	if s.Expect.TLS != nil {
		cs.minDaysLeft = int32(min(max(s.Expect.TLS.MinDaysLeft, math.MinInt32), math.MaxInt32))
	}
	var err error
	switch s.Kind() {
	case config.KindWebSocket:
		cs.kind, err = compileWebSocket(s.WebSocket, &s.Expect, sy)
	case config.KindSSE:
		cs.kind, err = compileSSE(s.SSE, &s.Expect, sy)
	case config.KindAwait:
		cs.kind, err = compileAwait(s.Await, sy, index, idx)
	default:
		cs.kind, err = compileHTTP(&s.Request, &s.Expect, sy)
	}
	if err != nil {
		return err
	}
	// The payload's extracts define variables for the steps after this
	// one, so it is compiled after the kind's own templates.
	return cs.pay.compile(&s.Expect, s.Extract, sy)
}

// slotOf returns the slot of the variable name (a var or an extraction).
func (cf *compiledFlow) slotOf(name string) (int, bool) {
	for _, v := range cf.vars {
		if v.name == name {
			return v.slot, true
		}
	}
	for i := range cf.steps {
		for _, x := range cf.steps[i].pay.extract {
			if x.name == name {
				return x.slot, true
			}
		}
	}
	return 0, false
}

// slotName returns the variable name of slot, for messages.
func (cf *compiledFlow) slotName(slot int) string {
	for _, v := range cf.vars {
		if v.slot == slot {
			return v.name
		}
	}
	for i := range cf.steps {
		for _, x := range cf.steps[i].pay.extract {
			if x.slot == slot {
				return x.name
			}
		}
	}
	return "?"
}
