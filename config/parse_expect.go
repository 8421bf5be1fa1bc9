package config

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/ohler55/ojg/jp"
	"go.yaml.in/yaml/v3"
)

// This file decodes a step's expect, matchers and extracts.

var (
	expectKeys  = []string{"status", "latency", "jsonpath", "body", "headers", "tls"}
	tlsExpKeys  = []string{"min_days_left"}
	matcherKeys = []string{"equals", "contains", "exists", "gt", "ge", "lt", "le", "matches"}
	extractKeys = []string{"jsonpath", "regex", "header", "cookie"}
)

// expectAllowed lists the expect keys a kind of step uses, and what it
// checks them against, for the error when a key does not apply.
func expectAllowed(st *Step) ([]string, string) {
	switch {
	case st.WebSocket != nil || st.SSE != nil:
		return []string{"status", "latency", "headers", "tls"}, "the handshake response (message checks go on the await step)"
	case st.Await != nil && st.Await.Webhook != nil:
		return []string{"latency", "jsonpath", "body", "headers"}, "each callback"
	case st.Await != nil:
		return []string{"latency", "jsonpath", "body"}, "each message"
	}
	return expectKeys, "the response"
}

// extractAllowed lists the extract sources a kind of step has.
func extractAllowed(st *Step) []string {
	switch {
	case st.WebSocket != nil || st.SSE != nil:
		return []string{"header"}
	case st.Await != nil && st.Await.Webhook == nil:
		return []string{"jsonpath", "regex"}
	case st.Await != nil:
		return []string{"jsonpath", "regex", "header"}
	}
	return extractKeys
}

func (p *parser) expect(n *yaml.Node, key string, defined map[string]bool, st *Step) Expect {
	var ex Expect
	allowed, against := expectAllowed(st)
	p.object(n, key, expectKeys, func(e entry, key string) {
		if !contains(allowed, e.name) {
			p.errf(e.k, key, "not used by %s step: its expect takes %s, checked against %s", article(st.Kind()), strings.Join(allowed, ", "), against)
			return
		}
		switch e.name {
		case "tls":
			p.object(e.v, key, tlsExpKeys, func(e entry, key string) {
				if v, ok := p.int(e.v, key); ok {
					if v < 1 || v > 3650 {
						p.errf(e.v, key, "must be between 1 and 3650 days")
					} else {
						ex.TLS = &TLSExpect{MinDaysLeft: int(v)}
					}
				}
			})
		case "status":
			rn := p.resolve(e.v)
			var items []*yaml.Node
			if rn != nil && rn.Kind == yaml.ScalarNode {
				items = []*yaml.Node{rn}
			} else {
				items = p.seq(e.v, key)
				if rn != nil && rn.Kind == yaml.SequenceNode && len(items) == 0 {
					// An empty list read as no list at all: any status
					// from 200 to 399 passed.
					p.errf(rn, key, "lists no status: list the statuses that pass, or leave status out for 200..399")
				}
			}
			for i, sn := range items {
				if v, ok := p.int(sn, index(key, i)); ok {
					if v < 100 || v > 599 {
						p.errf(sn, index(key, i), "HTTP status %d is outside 100..599", v)
					} else {
						ex.Status = append(ex.Status, int(v))
					}
				}
			}
		case "latency":
			ex.Latency, _ = p.positive(e.v, key)
		case "jsonpath":
			ex.JSONPath = append(ex.JSONPath, p.pathMatches(e.v, key, defined)...)
		case "body":
			if m, ok := p.matcher(e.v, key, defined); ok {
				ex.Body = &m
			}
		case "headers":
			for _, he := range p.entries(e.v, key) {
				hkey := child(key, he.name)
				if !isToken(he.name) {
					p.errf(he.k, hkey, "invalid header name %q", he.name)
					continue
				}
				if m, ok := p.matcher(he.v, hkey, defined); ok {
					ex.Headers = append(ex.Headers, HeaderMatch{Name: he.name, Matcher: m})
				}
			}
		}
	})
	return ex
}

// checkJSONPath parses a JSONPath expression.
func checkJSONPath(s string) error {
	if !strings.HasPrefix(s, "$") {
		return fmt.Errorf("invalid JSONPath %q: it must start with $", s)
	}
	if ref := firstRef(s); ref != "" {
		// A path is not a template: "$.messages[?(@.id == '${mid}')]"
		// compared with the text ${mid} and never matched.
		return fmt.Errorf("invalid JSONPath %q: a path is not a template, %s is not filled in; select the values and match them instead: \"$.messages[*].id\": {contains: \"${mid}\"}", s, ref)
	}
	if _, err := jp.ParseString(s); err != nil {
		if name := dottedPunct(s); name != "" {
			return fmt.Errorf("invalid JSONPath %q: %v (a name with punctuation goes in brackets: ['%s'])", s, err, name)
		}
		return fmt.Errorf("invalid JSONPath %q: %v", s, err)
	}
	return nil
}

// firstRef returns the first "${...}" in s (what there is of it when it is
// not closed), or "".
func firstRef(s string) string {
	i := strings.Index(s, "${")
	if i < 0 {
		return ""
	}
	ref := s[i:]
	if j := strings.IndexByte(ref, '}'); j >= 0 {
		ref = ref[:j+1]
	}
	return ref
}

// dottedPunct returns the first name written after a '.' that holds a
// character a dot-name cannot ("$.x-request-id", "$.data.user@id"), or "".
func dottedPunct(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] != '.' || i+1 < len(s) && s[i+1] == '.' {
			continue
		}
		j := i + 1
		for j < len(s) && s[j] != '.' && s[j] != '[' {
			j++
		}
		name := s[i+1 : j]
		if strings.ContainsAny(name, "-:@/+ #%!&") && !strings.ContainsAny(name, "'\"()?*") {
			return name
		}
		i = j - 1
	}
	return ""
}

// matcher decodes {equals|contains|exists|gt|ge|lt|le|matches: X}; a bare
// scalar is shorthand for equals.
func (p *parser) matcher(n *yaml.Node, key string, defined map[string]bool) (Matcher, bool) {
	var m Matcher
	rn := p.resolve(n)
	if rn == nil {
		return m, false
	}
	if rn.Kind == yaml.ScalarNode && !isNull(rn) {
		if !p.template(rn, key, rn.Value, defined) {
			return m, false
		}
		m.Equals = p.internPtr(rn.Value)
		return m, true
	}
	before := len(*p.errs)
	var set []string
	p.object(rn, key, matcherKeys, func(e entry, key string) {
		set = append(set, e.name)
		switch e.name {
		case "equals", "contains":
			ev := p.resolve(e.v)
			if ev == nil {
				return
			}
			if ev.Kind != yaml.ScalarNode || isNull(ev) {
				p.errf(ev, key, "expected a string or number, got %s", describe(ev))
				return
			}
			v := p.internPtr(ev.Value)
			p.template(ev, key, *v, defined)
			if e.name == "equals" {
				m.Equals = v
			} else {
				m.Contains = v
			}
		case "exists":
			if b, ok := p.bool(e.v, key); ok {
				m.Exists = p.boolPtr(b)
			}
		case "gt", "ge", "lt", "le":
			if f, ok := p.float(e.v, key); ok {
				m.Bound = p.resolve(e.v).Value
				switch e.name {
				case "gt":
					m.GT = &f
				case "ge":
					m.GE = &f
				case "lt":
					m.LT = &f
				default:
					m.LE = &f
				}
			}
		case "matches":
			s, ok := p.str(e.v, key)
			if !ok || !p.template(e.v, key, s, defined) {
				return
			}
			if _, err := regexp.Compile(placeholder(s)); err != nil {
				p.errf(e.v, key, "invalid regular expression: %v", err)
				return
			}
			if s == "" {
				p.errf(e.v, key, "empty regular expression")
				return
			}
			m.Matches = s
		}
	})
	if len(set) == 0 && len(*p.errs) == before {
		p.errf(rn, key, "a matcher needs one of: %s", strings.Join(matcherKeys, ", "))
		return m, false
	}
	if len(set) > 1 {
		p.errf(rn, key, "a matcher takes exactly one of %s; found %s", strings.Join(matcherKeys, ", "), strings.Join(set, " and "))
		return m, false
	}
	return m, len(*p.errs) == before
}

func (p *parser) extract(e entry, key string, st *Step) (Extract, bool) {
	ex := Extract{Var: e.name}
	if !isIdent(e.name) {
		p.errf(e.k, key, "invalid variable name %q: use ASCII letters (a-z, A-Z), digits and '_', starting with a letter or '_'", e.name)
		return ex, false
	}
	if e.name == RefLocation || e.name == RefNow {
		p.errf(e.k, key, "%q is a built-in reference and cannot be redefined", e.name)
		return ex, false
	}
	before := len(*p.errs)
	var set []string
	allowed := extractAllowed(st)
	p.object(e.v, key, append(extractKeys[:len(extractKeys):len(extractKeys)], "secret"), func(e entry, key string) {
		if e.name == "secret" {
			ex.Secret, _ = p.bool(e.v, key)
			return
		}
		set = append(set, e.name)
		if !contains(allowed, e.name) {
			p.errf(e.k, key, "%s step has no %s to extract from (it can use: %s)", article(st.Kind()), e.name, strings.Join(allowed, ", "))
			return
		}
		s, ok := p.str(e.v, key)
		if !ok {
			return
		}
		switch e.name {
		case "jsonpath":
			if err := checkJSONPath(s); err != nil {
				p.errf(e.v, key, "%v", err)
			}
			ex.JSONPath = s
		case "regex":
			if ref := firstRef(s); ref != "" {
				// Read as a regular expression, "${mid}" is the end of
				// the text and then "{mid}": it never matched.
				p.errf(e.v, key, "an extract regex is not a template: %s is not filled in", ref)
			} else if _, err := regexp.Compile(s); err != nil {
				p.errf(e.v, key, "invalid regular expression: %v", err)
			} else if s == "" {
				p.errf(e.v, key, "empty regular expression")
			}
			ex.Regex = s
		case "header":
			if !isToken(s) {
				p.errf(e.v, key, "invalid header name %q", s)
			}
			ex.Header = s
		case "cookie":
			if !isToken(s) {
				p.errf(e.v, key, "invalid cookie name %q", s)
			}
			ex.Cookie = s
		}
	})
	if len(set) != 1 && len(*p.errs) == before {
		rn := p.resolve(e.v)
		p.errf(orNode(rn, e.k), key, "an extract takes exactly one of: %s", strings.Join(extractKeys, ", "))
	}
	return ex, len(*p.errs) == before
}

// article puts "a" or "an" before a step kind.
func article(k StepKind) string {
	if k == KindAwait {
		return "an " + string(k)
	}
	return "a " + string(k)
}
