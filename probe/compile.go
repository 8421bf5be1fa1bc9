package probe

import (
	"errors"
	"fmt"
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
// parsed once. It is immutable and shared by concurrent runs.
type compiledFlow struct {
	flow         *config.Flow
	err          error // a flow that does not compile fails its first step with this
	nslots       int
	vars         []compiledVar
	steps        []compiledStep
	timeout      time.Duration
	maxBody      int64
	maxRedirects int
	tls          config.TLS
}

type compiledVar struct {
	name    string
	slot    int
	value   tmpl
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
}

func compileFlow(f *config.Flow, secrets map[string]string, defs config.Defaults) *compiledFlow {
	cf := &compiledFlow{flow: f}
	cf.timeout = firstPositive(f.Timeout, defs.Timeout, defaultTimeout)
	cf.maxBody = f.MaxBodyBytes
	if cf.maxBody <= 0 {
		cf.maxBody = defs.MaxBodyBytes
	}
	if cf.maxBody <= 0 {
		cf.maxBody = defaultMaxBodyBytes
	}
	cf.maxRedirects = f.MaxRedirects
	if cf.maxRedirects <= 0 {
		cf.maxRedirects = defs.MaxRedirects
	}
	if cf.maxRedirects <= 0 {
		cf.maxRedirects = defaultMaxRedirects
	}
	cf.tls = f.TLS
	if cf.tls == (config.TLS{}) {
		cf.tls = defs.TLS
	}
	if err := cf.compile(secrets); err != nil {
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

func (cf *compiledFlow) compile(secrets map[string]string) error {
	f := cf.flow
	if len(f.Steps) == 0 {
		return errors.New("no steps")
	}
	sy := newSymbols(secrets)
	for _, v := range f.Vars {
		if !validVarName(v.Name) {
			return fmt.Errorf("var %q: invalid name", v.Name)
		}
		t, err := sy.compile(v.Value)
		if err != nil {
			return fmt.Errorf("var %s: %w", v.Name, err)
		}
		cv := compiledVar{name: v.Name, slot: sy.slotOf(v.Name), value: t, tainted: sy.isTainted(&t)}
		sy.defined[v.Name] = true
		sy.tainted[v.Name] = cv.tainted
		cf.vars = append(cf.vars, cv)
	}
	cf.steps = make([]compiledStep, len(f.Steps))
	for i := range f.Steps {
		if err := cf.steps[i].compile(&f.Steps[i], sy); err != nil {
			return fmt.Errorf("step %s: %w", f.Steps[i].Name, err)
		}
	}
	cf.nslots = len(sy.slot)
	return nil
}

func (cs *compiledStep) compile(s *config.Step, sy *symbols) error {
	cs.name, cs.function, cs.timeout, cs.poll = s.Name, s.Function, s.Timeout, s.Poll
	if s.Poll != nil && (s.Poll.Every <= 0 || s.Poll.Within <= 0) {
		return errors.New("poll: every and within must be positive")
	}
	cs.latency = s.Expect.Latency
	h, err := compileHTTP(&s.Request, &s.Expect, sy)
	if err != nil {
		return err
	}
	cs.kind = h
	// The payload's extracts define variables for the steps after this
	// one, so it is compiled after the kind's own templates.
	return cs.pay.compile(&s.Expect, s.Extract, sy)
}
