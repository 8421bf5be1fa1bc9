package config

import (
	"time"

	"go.yaml.in/yaml/v3"
)

// This file decodes one flow, its vars and its steps' poll block.

var (
	flowKeys = []string{"name", "interval", "timeout", "down_after", "up_after", "max_body_bytes", "max_redirects", "tls", "vars", "steps"}
	pollKeys = []string{"every", "within"}
)

// flow decodes one flow of service svc.
func (p *parser) flow(n *yaml.Node, key, svc string) (Flow, bool) {
	rn, ok := p.item(n, key)
	if !ok {
		return Flow{}, false
	}
	df := p.cfg.Defaults
	k := knobs{interval: df.Interval, timeout: df.Timeout, downAfter: df.DownAfter, upAfter: df.UpAfter,
		maxBody: df.MaxBodyBytes, maxRedirects: df.MaxRedirects, tls: df.TLS}
	f := Flow{Service: svc, Line: rn.Line}
	var nameNode, varsNode, stepsNode, timeoutNode *yaml.Node
	p.object(rn, key, flowKeys, func(e entry, key string) {
		switch e.name {
		case "name":
			nameNode = e.v
			f.Name, _ = p.name(e.v, key)
		case "vars":
			varsNode = e.v
		case "steps":
			stepsNode = e.v
		default:
			if e.name == "timeout" || e.name == "interval" {
				timeoutNode = e.v
			}
			p.knob(&k, e, key)
		}
	})
	f.Interval, f.Timeout, f.DownAfter, f.UpAfter = k.interval, k.timeout, k.downAfter, k.upAfter
	f.MaxBodyBytes, f.MaxRedirects, f.TLS = k.maxBody, k.maxRedirects, k.tls
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
			p.errf(e.k, vkey, "invalid variable name %q: use letters, digits and '_', starting with a letter or '_'", e.name)
			continue
		}
		if e.name == RefLocation || e.name == RefNow {
			p.errf(e.k, vkey, "%q is a built-in reference and cannot be redefined", e.name)
			continue
		}
		if v, ok := p.str(e.v, vkey); ok {
			p.template(e.v, vkey, v, defined)
			f.Vars = append(f.Vars, Var{Name: e.name, Value: v})
		}
		defined[e.name] = true
	}

	steps := map[string]int{}
	items := p.seq(stepsNode, key+".steps")
	for i, sn := range items {
		st, ok := p.step(sn, index(key+".steps", i), &f, defined, steps)
		if ok {
			f.Steps = append(f.Steps, st)
		}
	}
	if rs := p.resolve(stepsNode); isNull(rs) || isList(rs) && len(items) == 0 {
		p.errf(orNode(stepsNode, rn), key+".steps", "is required: list at least one step")
	}
	return f, true
}

func (p *parser) poll(n *yaml.Node, key string, f *Flow, stepTimeout time.Duration) *Poll {
	var pl Poll
	var everyNode, withinNode *yaml.Node
	p.object(n, key, pollKeys, func(e entry, key string) {
		switch e.name {
		case "every":
			everyNode = e.v
			pl.Every, _ = p.positive(e.v, key)
		case "within":
			withinNode = e.v
			pl.Within, _ = p.positive(e.v, key)
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
	return &pl
}
