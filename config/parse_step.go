package config

import "go.yaml.in/yaml/v3"

// This file decodes one step and the keys every step kind shares.

var (
	stepKeys = []string{"name", "function", "timeout", "request", "poll", "expect", "extract"}
)

// step decodes one step; defined holds the references usable so far, and
// gains the step's extracts.
func (p *parser) step(n *yaml.Node, key string, f *Flow, defined map[string]bool, names map[string]int) (Step, bool) {
	rn, ok := p.item(n, key)
	if !ok {
		return Step{}, false
	}
	st := Step{Line: rn.Line}
	var nameNode, fnNode, reqNode, pollNode, expectNode, extractNode *yaml.Node
	p.object(rn, key, stepKeys, func(e entry, key string) {
		switch e.name {
		case "name":
			nameNode = e.v
			st.Name, _ = p.name(e.v, key)
		case "function":
			fnNode = e.v
			st.Function, _ = p.name(e.v, key)
		case "timeout":
			if v, ok := p.positive(e.v, key); ok {
				st.Timeout = v
				if v > f.Timeout {
					p.errf(e.v, key, "step timeout %v is longer than the flow's timeout %v", v, f.Timeout)
				}
			}
		case "request":
			reqNode = e.v
		case "poll":
			pollNode = e.v
		case "expect":
			expectNode = e.v
		case "extract":
			extractNode = e.v
		}
	})
	if nameNode == nil {
		p.errf(rn, key+".name", "is required")
	} else if st.Name != "" {
		if line, dup := names[st.Name]; dup {
			p.errf(nameNode, key+".name", "duplicate step name %q in flow (first used on line %d)", st.Name, line)
		} else {
			names[st.Name] = nameNode.Line
		}
	}
	if fnNode == nil {
		p.errf(rn, key+".function", "is required: name the user-visible function this step serves (login, send, receive, ...)")
	}
	if reqNode == nil {
		p.errf(rn, key+".request", "is required")
	} else {
		st.Request = p.request(reqNode, key+".request", defined)
	}
	if pollNode != nil {
		st.Poll = p.poll(pollNode, key+".poll", f, st.Timeout)
	}
	if expectNode != nil {
		st.Expect = p.expect(expectNode, key+".expect", defined)
	}
	// Extracts become usable from the next step on.
	for _, e := range p.entries(extractNode, key+".extract") {
		if ex, ok := p.extract(e, child(key+".extract", e.name)); ok {
			st.Extract = append(st.Extract, ex)
		}
	}
	for _, ex := range st.Extract {
		defined[ex.Var] = true
	}
	return st, true
}
