package config

import (
	"encoding/json"
	"fmt"
	"math/big"
	"net/url"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// This file decodes a step's HTTP request.

var (
	requestKeys = []string{"method", "url", "headers", "json", "form", "body"}
)

// method decodes an HTTP method (any case; returned in upper case).
func (p *parser) method(n *yaml.Node, key string) (string, bool) {
	s, ok := p.str(n, key)
	if !ok {
		return "", false
	}
	m := p.intern(strings.ToUpper(s)) // "post": a new string per flow
	if !isToken(m) {
		p.errf(n, key, "invalid HTTP method %q", s)
		return "", false
	}
	return m, true
}

func (p *parser) request(n *yaml.Node, key string, defined map[string]bool) Request {
	rq := Request{Method: "GET"}
	var urlNode, bodyNode *yaml.Node
	var bodyKey string
	p.object(n, key, requestKeys, func(e entry, key string) {
		switch e.name {
		case "method":
			if m, ok := p.method(e.v, key); ok {
				rq.Method = m
			}
		case "url":
			urlNode = e.v
			if s, ok := p.str(e.v, key); ok && p.template(e.v, key, s, defined) {
				if err := checkURL(s); err != nil {
					p.errf(e.v, key, "%v", err)
				} else if why := p.secretURL(s, "http", "https"); why != "" {
					p.errf(e.v, key, "%s", why)
				} else {
					rq.URL = s
				}
			}
		case "headers":
			rq.Headers = p.headers(e.v, key, defined)
		case "json", "form", "body":
			if bodyNode != nil {
				p.errf(e.k, key, "a request has at most one body: %s is already set on line %d", bodyKey, bodyNode.Line)
				return
			}
			bodyNode, bodyKey = e.k, e.name
			switch e.name {
			case "json":
				rq.JSON = p.jsonValue(e.v, key, defined, 0)
			case "form":
				for _, fe := range p.entries(e.v, key) {
					fkey := child(key, fe.name)
					if ref := firstRef(fe.name); ref != "" {
						// Sent as written ("${k}=..."), never filled in.
						p.errf(fe.k, fkey, "a form key is not a template: %s is not filled in (a json: key is)", ref)
						continue
					}
					if s, ok := p.str(fe.v, fkey); ok && p.template(fe.v, fkey, s, defined) {
						if rq.Form == nil {
							rq.Form = map[string]string{}
						}
						rq.Form[fe.name] = s
					}
				}
			case "body":
				if s, ok := p.str(e.v, key); ok && p.template(e.v, key, s, defined) {
					rq.Body = s
				}
			}
		}
	})
	if urlNode == nil && p.resolve(n) != nil {
		p.errf(p.resolve(n), key+".url", "is required")
	}
	return rq
}

// checkURL checks a URL template's shape with every reference replaced.
func checkURL(tmpl string) error {
	u, err := url.Parse(urlPlaceholder(tmpl))
	if err != nil {
		return fmt.Errorf("invalid URL %q", tmpl)
	}
	if strings.HasPrefix(tmpl, "${") {
		return encodedBase(tmpl, "http", "https") // scheme and host come from a variable
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("invalid URL %q: want http:// or https:// and a host", tmpl)
	}
	return nil
}

// encodedBase refuses a URL template that begins with a call to a
// function whose result never holds "://" (an encoding: urlpath, urlquery,
// base64, a digest): filled in, it has no scheme and host, so every run
// would fail. A template that begins with a plain reference, or urldecode
// or jwtclaim of one, is left to its value.
func encodedBase(tmpl string, schemes ...string) error {
	ref, _, ok := strings.Cut(strings.TrimPrefix(tmpl, "${"), "}")
	if !ok {
		return nil
	}
	e, err := ParseExpr(ref)
	if err != nil || e.Func == "" {
		return nil
	}
	switch e.Func {
	case "urldecode", "jwtclaim", "regexquote", "json":
		return nil
	}
	return fmt.Errorf("has no %s scheme and host once filled in: it begins with ${%s(...)}, which encodes its '://' too; "+
		"write the scheme and host in the config and the encoded part after them (`https://api.example.com/rooms/${%s(...)}`)",
		schemeList(schemes), e.Func, e.Func)
}

// isToken reports whether s is an HTTP token (method or header name).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r > 0x7e || r <= ' ' || strings.ContainsRune("\"(),/:;<=>?@[\\]{}", r) {
			return false
		}
	}
	return true
}

// jsonValue converts a YAML value to what encoding/json marshals, checking
// the templates in its strings.
func (p *parser) jsonValue(n *yaml.Node, key string, defined map[string]bool, depth int) any {
	rn := p.resolve(n)
	if rn == nil {
		return nil
	}
	if depth > 64 {
		p.errf(rn, key, "nested more than 64 levels")
		return nil
	}
	switch rn.Kind {
	case yaml.MappingNode:
		m := map[string]any{}
		for _, e := range p.entries(rn, key) {
			// A key is a template too (the runner fills it in): one that
			// names no variable passed check and then stopped the runner.
			p.template(e.k, child(key, e.name), e.name, defined)
			m[e.name] = p.jsonValue(e.v, child(key, e.name), defined, depth+1)
		}
		return m
	case yaml.SequenceNode:
		out := make([]any, 0, len(rn.Content))
		for i, c := range rn.Content {
			out = append(out, p.jsonValue(c, index(key, i), defined, depth+1))
		}
		return out
	case yaml.ScalarNode:
		switch rn.ShortTag() {
		case "!!null":
			return nil
		case "!!bool":
			var b bool
			if rn.Decode(&b) == nil {
				return b
			}
		case "!!int":
			var i int64
			if rn.Decode(&i) == nil {
				return i
			}
			// Past int64 (an order number, an amount in a currency's
			// smallest unit): every digit, not a float64's 17.
			if b, ok := new(big.Int).SetString(rn.Value, 0); ok {
				return json.Number(b.String())
			}
			var f float64
			if rn.Decode(&f) == nil {
				return f
			}
		case "!!float":
			var f float64
			if rn.Decode(&f) == nil && !isInfNaN(f) {
				if exact, ok := exactDecimal(rn.Value, f); ok {
					return exact
				}
				return f
			}
			p.errf(rn, key, "%q cannot be written as JSON", rn.Value)
			return nil
		}
		p.template(rn, key, rn.Value, defined)
		return p.intern(rn.Value)
	}
	p.errf(rn, key, "unsupported value")
	return nil
}

// exactDecimal is the literal v, as written, when it is a JSON number that
// f (its float64 reading) does not hold exactly: a decimal with more digits
// than a float64 keeps is sent with all of them.
func exactDecimal(v string, f float64) (json.Number, bool) {
	if !isJSONNumber(v) {
		return "", false
	}
	want, ok := new(big.Rat).SetString(v)
	if !ok {
		return "", false
	}
	got, ok := new(big.Rat).SetString(strconv.FormatFloat(f, 'g', -1, 64))
	if !ok || got.Cmp(want) == 0 {
		return "", false
	}
	return json.Number(v), true
}

// isJSONNumber reports whether v is a number as JSON writes it (not YAML's
// ".5", "+1" or "0x1F").
func isJSONNumber(v string) bool {
	i := 0
	digits := func() int {
		n := 0
		for i < len(v) && v[i] >= '0' && v[i] <= '9' {
			i, n = i+1, n+1
		}
		return n
	}
	if i < len(v) && v[i] == '-' {
		i++
	}
	if i < len(v) && v[i] == '0' {
		i++
	} else if digits() == 0 {
		return false
	}
	if i < len(v) && v[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(v) && (v[i] == 'e' || v[i] == 'E') {
		i++
		if i < len(v) && (v[i] == '+' || v[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(v)
}

func isInfNaN(f float64) bool {
	return f != f || f > 1.7976931348623157e308 || f < -1.7976931348623157e308
}

// headers decodes request headers: names are HTTP tokens, values templates.
func (p *parser) headers(n *yaml.Node, key string, defined map[string]bool) map[string]string {
	var out map[string]string
	for _, h := range p.entries(n, key) {
		hkey := child(key, h.name)
		if !isToken(h.name) {
			p.errf(h.k, hkey, "invalid header name %q", h.name)
			continue
		}
		if s, ok := p.str(h.v, hkey); ok && p.template(h.v, hkey, s, defined) {
			if out == nil {
				out = map[string]string{}
			}
			out[h.name] = s
		}
	}
	return out
}
