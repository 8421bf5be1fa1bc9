package config

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"maps"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// This file decodes one flow: its vars (JWT vars too), session, steps and
// teardown, and the steps' poll block.

// DefaultSessionTTL is how long a session's variables are kept when the
// session does not say.
const DefaultSessionTTL = time.Hour

var (
	flowKeys    = []string{"name", "interval", "timeout", "down_after", "up_after", "confirm_every", "max_body_bytes", "max_redirects", "tls", "vars", "session", "steps", "teardown"}
	sessionKeys = []string{"ttl", "steps"}
	varKeys     = []string{"jwt"}
	jwtKeys     = []string{"alg", "key", "expires_in", "claims"}
	pollKeys    = []string{"every", "within", "since"}
)

// flow decodes one flow of service svc.
func (p *parser) flow(n *yaml.Node, key, svc string) (Flow, bool) {
	rn, ok := p.item(n, key)
	if !ok {
		return Flow{}, false
	}
	df := p.cfg.Defaults
	k := knobs{interval: df.Interval, timeout: df.Timeout, downAfter: df.DownAfter, upAfter: df.UpAfter,
		maxBody: df.MaxBodyBytes, maxRedirects: df.MaxRedirects, tls: df.TLS,
		confirm: df.ConfirmEvery, setConfirm: df.ConfirmEverySet}
	f := Flow{Service: svc, Line: rn.Line}
	var nameNode, varsNode, stepsNode, timeoutNode, sessionNode, teardownNode *yaml.Node
	p.object(rn, key, flowKeys, func(e entry, key string) {
		switch e.name {
		case "name":
			nameNode = e.v
			f.Name, _ = p.uniqueName(e.v, key)
		case "vars":
			varsNode = e.v
		case "steps":
			stepsNode = e.v
		case "session":
			sessionNode = e.v
		case "teardown":
			teardownNode = e.v
		default:
			if e.name == "timeout" || e.name == "interval" {
				timeoutNode = e.v
			}
			p.knob(&k, e, key)
		}
	})
	f.Interval, f.Timeout, f.DownAfter, f.UpAfter = k.interval, k.timeout, k.downAfter, k.upAfter
	f.MaxBodyBytes, f.MaxRedirects, f.TLS = k.maxBody, k.maxRedirects, k.tls
	f.ConfirmEvery = k.confirmEvery(k.confirmNode != nil)
	if k.confirmNode != nil && f.ConfirmEvery > f.Interval {
		p.errf(k.confirmNode, key+".confirm_every", "confirm_every %v is longer than the interval %v", f.ConfirmEvery, f.Interval)
	}
	if nameNode == nil {
		p.errf(rn, key+".name", "is required")
	} else if f.Name != "" {
		if line, dup := p.flows[f.Name]; dup {
			p.errf(nameNode, key+".name", "duplicate flow name %q (first used on line %d; flow names are unique across services)", f.Name, line)
		} else {
			p.flows[f.Name] = nameNode.Line
		}
	}
	if (k.setInterval || k.setTim) && f.Timeout > f.Interval {
		p.errf(timeoutNode, key+".timeout", "timeout %v is longer than the interval %v", f.Timeout, f.Interval)
	}

	defined := map[string]bool{}
	for _, b := range builtins {
		defined[b] = true
	}
	for _, e := range p.entries(varsNode, key+".vars") {
		vkey := child(key+".vars", e.name)
		if !isIdent(e.name) {
			p.errf(e.k, vkey, "invalid variable name %q: use ASCII letters (a-z, A-Z), digits and '_', starting with a letter or '_'", e.name)
			continue
		}
		if e.name == RefLocation || e.name == RefNow {
			p.errf(e.k, vkey, "%q is a built-in reference and cannot be redefined", e.name)
			continue
		}
		if rv := p.resolve(e.v); rv != nil && rv.Kind == yaml.MappingNode {
			v := Var{Name: e.name}
			p.object(rv, vkey, varKeys, func(je entry, jkey string) {
				v.JWT = p.jwt(je.v, jkey, defined)
			})
			if v.JWT == nil {
				p.errf(rv, vkey, "a var is a string template or {jwt: {...}}")
			} else {
				f.Vars = append(f.Vars, v)
			}
		} else if v, ok := p.str(e.v, vkey); ok {
			p.template(e.v, vkey, v, defined)
			f.Vars = append(f.Vars, Var{Name: e.name, Value: v})
		}
		defined[e.name] = true
	}

	sc := &stepScope{defined: defined, names: map[string]int{}, streams: map[string]bool{}}
	if sessionNode != nil {
		f.Session = p.session(sessionNode, key+".session", &f, sc)
		sc.session = maps.Clone(sc.defined)
	}
	f.Steps = p.steps(stepsNode, key+".steps", &f, sc, sectionSteps)
	if rs := p.resolve(stepsNode); isNull(rs) || isList(rs) && len(rs.Content) == 0 {
		p.errf(orNode(stepsNode, rn), key+".steps", "is required: list at least one step")
	}
	if teardownNode != nil {
		f.Teardown = p.steps(teardownNode, key+".teardown", &f, sc, sectionTeardown)
		if len(f.Teardown) > 0 && 2*f.Timeout > f.Interval && f.Timeout <= f.Interval {
			p.cfg.longTeardown = append(p.cfg.longTeardown, Warning{Line: teardownNode.Line, Key: key + ".teardown",
				Msg: fmt.Sprintf("a run can last twice the timeout (the steps, then the teardown with a deadline of its own as long): 2 x %v is longer than the interval %v, and the flow's next run is skipped while one lasts: a timeout of at most %v keeps every run", f.Timeout, f.Interval, f.Interval/2)})
		}
	}
	p.checkSessionWebhook(stepsNode, key+".steps", &f)
	return f, true
}

func (p *parser) poll(n *yaml.Node, key string, f *Flow, stepTimeout time.Duration) (*Poll, *yaml.Node) {
	var pl Poll
	var everyNode, withinNode, sinceNode *yaml.Node
	p.object(n, key, pollKeys, func(e entry, key string) {
		switch e.name {
		case "every":
			everyNode = e.v
			pl.Every, _ = p.atLeast(e.v, key, MinPollEvery)
		case "within":
			withinNode = e.v
			pl.Within, _ = p.positive(e.v, key)
		case "since":
			sinceNode = e.v
			if v, ok := p.str(e.v, key); ok {
				if v == "" {
					p.errf(e.v, key, "name a step (an earlier one, or the step itself)")
				}
				pl.Since = v
			}
		}
	})
	rn := p.resolve(n)
	if everyNode == nil {
		p.errf(rn, key+".every", "is required")
	}
	if withinNode == nil {
		p.errf(rn, key+".within", "is required")
	}
	if pl.Every > 0 && pl.Within > 0 && pl.Every > pl.Within {
		p.errf(everyNode, key+".every", "every %v is longer than within %v", pl.Every, pl.Within)
	}
	limit, what := f.Timeout, "the flow's timeout"
	if stepTimeout > 0 {
		limit, what = stepTimeout, "the step's timeout"
	}
	if pl.Within > limit {
		p.errf(withinNode, key+".within", "within %v is longer than %s %v", pl.Within, what, limit)
	}
	return &pl, sinceNode
}

// pollSince checks a poll's since (an earlier step of its list, or the step
// itself, name) and defaults it to the step just before, as an await's.
func (p *parser) pollSince(pl *Poll, sinceNode *yaml.Node, key, name string, sc *stepScope) {
	switch {
	case pl.Since == "":
		pl.Since = sc.prev
		if pl.Since == "" {
			pl.Since = name // the first step of its list: its own start
		}
	case pl.Since != name && !sc.earlier[pl.Since]:
		p.errf(sinceNode, key+".since", "%q is neither an earlier step of the flow's %s nor this step", pl.Since, sc.section)
	}
}

// session decodes a flow's session block: {ttl, steps}.
func (p *parser) session(n *yaml.Node, key string, f *Flow, sc *stepScope) *Session {
	s := &Session{TTL: DefaultSessionTTL}
	var stepsNode *yaml.Node
	before := len(*p.errs)
	p.object(n, key, sessionKeys, func(e entry, key string) {
		switch e.name {
		case "ttl":
			if v, ok := p.positive(e.v, key); ok {
				s.TTL = v
			}
		case "steps":
			stepsNode = e.v
		}
	})
	s.Steps = p.steps(stepsNode, key+".steps", f, sc, sectionSession)
	if len(s.Steps) == 0 && len(*p.errs) == before {
		p.errf(orNode(stepsNode, p.resolve(n)), key+".steps", "is required: list the steps that log in")
	}
	return s
}

func (p *parser) jwt(n *yaml.Node, key string, defined map[string]bool) *JWT {
	j := &JWT{}
	var algNode, keyNode *yaml.Node
	p.object(n, key, jwtKeys, func(e entry, key string) {
		switch e.name {
		case "alg":
			algNode = e.v
			if v, ok := p.str(e.v, key); ok {
				switch strings.ToUpper(v) {
				case "HS256", "RS256":
					j.Alg = strings.ToUpper(v)
				default:
					p.errf(e.v, key, "unknown alg %q (expected HS256 or RS256)", v)
				}
			}
		case "key":
			keyNode = e.v
			if v, ok := p.str(e.v, key); ok && p.template(e.v, key, v, defined) {
				if !strings.Contains(v, "${") {
					p.errf(e.v, key, "write the key as a reference (${env:NAME} or ${file:PATH}), not in the config")
				}
				j.Key = v
			}
		case "expires_in":
			j.ExpiresIn, _ = p.positive(e.v, key)
		case "claims":
			rn := p.resolve(e.v)
			if rn != nil && rn.Kind != yaml.MappingNode {
				p.errf(rn, key, "claims are a mapping (sub: ..., channels: [...])")
				return
			}
			if m, ok := p.jsonValue(e.v, key, defined, 0).(map[string]any); ok {
				for _, reserved := range []string{"iat", "exp"} {
					if _, set := m[reserved]; set {
						p.errf(rn, child(key, reserved), "is set from the run's clock (use expires_in for exp)")
					}
				}
				j.Claims = m
			}
		}
	})
	rn := p.resolve(n)
	if algNode == nil {
		p.errf(rn, key+".alg", "is required: HS256 or RS256")
	}
	if keyNode == nil {
		p.errf(rn, key+".key", "is required")
	} else if j.Key != "" {
		p.checkJWTKey(keyNode, key+".key", j)
	}
	return j
}

// checkJWTKey checks a key made of secrets only (the usual case) now rather
// than at the first run: an RS256 key must be a PEM RSA private key, an
// HS256 key must not be empty. Messages never quote the key.
func (p *parser) checkJWTKey(n *yaml.Node, key string, j *JWT) {
	v, err := p.cfg.ExpandSecrets(j.Key)
	if err != nil {
		return // refers to vars: checked when a run signs
	}
	switch j.Alg {
	case "HS256":
		if v == "" {
			p.errf(n, key, "the HS256 key is empty")
		}
	case "RS256":
		block, _ := pem.Decode([]byte(v))
		if block == nil {
			p.errf(n, key, "the RS256 key is not PEM")
			return
		}
		if _, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
			return
		}
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if _, ok := k.(*rsa.PrivateKey); err != nil || !ok {
			p.errf(n, key, "the RS256 key is not an RSA private key (PKCS #1 or PKCS #8 PEM)")
		}
	}
}
