package probe

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"regexp"

	"github.com/ohler55/ojg/jp"
	"github.com/slaprobe/slaprobe/config"
)

// The payload check: JSONPath, text and header matchers and extraction over
// the bytes a step received. HTTP request steps run it on a response body;
// stream and webhook await steps run it on every message until one passes.

// payload is a step's compiled payload expectations and extractions.
type payload struct {
	paths    []pathCheck
	bodyM    *matcher
	headerMs []headerCheck
	extract  []extractor
	needJSON bool // some check or extraction reads the body as JSON
	fastJSON bool // every JSON read is a singular path the scanner follows
	secrets  bool // some extraction is secret (see extractor.secret)
}

// pathCheck and matcher keep their bools last (160 and 88 bytes, not 176
// and 96: a 50,000-flow config has tens of thousands of them).
type pathCheck struct {
	src      string
	expr     jp.Expr
	segs     []pathSeg // for the scanner, when it can follow expr
	m        matcher
	singular bool
	scan     bool
}

type headerCheck struct {
	name string
	m    matcher
}

// matchOp is the one condition of a matcher.
type matchOp uint8

const (
	opEquals matchOp = iota + 1
	opContains
	opExists
	opGT
	opGE
	opLT
	opLE
	opMatches
)

// matcher is a compiled config.Matcher.
type matcher struct {
	operand tmpl           // equals, contains, matches
	num     float64        // gt, ge, lt, le
	re      *regexp.Regexp // matches, when the operand is static
	op      matchOp
	exists  bool // exists
}

type extractKind uint8

const (
	extractJSON extractKind = iota + 1
	extractRegex
	extractHeader
	extractCookie
)

type extractor struct {
	name   string
	slot   int
	kind   extractKind
	src    string
	expr   jp.Expr
	segs   []pathSeg
	scan   bool
	re     *regexp.Regexp
	header string
	// secret: the value is a credential (marked secret in the config, or
	// used in a credential header later), redacted from every message.
	secret bool
}

// compile parses the expectations that apply to a payload and the
// extractions; the extracted names become defined in sy.
func (p *payload) compile(e *config.Expect, extracts []config.Extract, sy *symbols) error {
	for _, pm := range e.JSONPath {
		pp, err := sy.cache.path(pm.Path)
		if err != nil {
			return fmt.Errorf("expect: jsonpath %q: %w", pm.Path, err)
		}
		m, err := compileMatcher(&pm.Matcher, sy)
		if err != nil {
			return fmt.Errorf("expect: jsonpath %q: %w", pm.Path, err)
		}
		p.paths = append(p.paths, pathCheck{src: pm.Path, expr: pp.expr, singular: singular(pp.expr), segs: pp.segs, scan: pp.scan, m: m})
		p.needJSON = true
	}
	if e.Body != nil {
		m, err := compileMatcher(e.Body, sy)
		if err != nil {
			return fmt.Errorf("expect: body: %w", err)
		}
		p.bodyM = &m
	}
	for _, hm := range e.Headers {
		m, err := compileMatcher(&hm.Matcher, sy)
		if err != nil {
			return fmt.Errorf("expect: header %s: %w", hm.Name, err)
		}
		p.headerMs = append(p.headerMs, headerCheck{name: http.CanonicalHeaderKey(hm.Name), m: m})
	}
	// Extracted variables are defined for the steps after this one.
	for _, e := range extracts {
		if !validVarName(e.Var) {
			return fmt.Errorf("extract %q: invalid variable name", e.Var)
		}
		x := extractor{name: e.Var, slot: sy.slotOf(e.Var), secret: e.Secret}
		n := 0
		var err error
		if e.JSONPath != "" {
			n++
			x.kind, x.src = extractJSON, e.JSONPath
			pp, err := sy.cache.path(e.JSONPath)
			if err != nil {
				return fmt.Errorf("extract %s: jsonpath %q: %w", e.Var, e.JSONPath, err)
			}
			x.expr, x.segs, x.scan = pp.expr, pp.segs, pp.scan
			p.needJSON = true
		}
		if e.Regex != "" {
			n++
			x.kind, x.src = extractRegex, e.Regex
			if x.re, err = sy.cache.regexp(e.Regex); err != nil {
				return fmt.Errorf("extract %s: regex: %w", e.Var, err)
			}
		}
		if e.Header != "" {
			n++
			x.kind, x.src, x.header = extractHeader, e.Header, http.CanonicalHeaderKey(e.Header)
		}
		if e.Cookie != "" {
			n++
			x.kind, x.src = extractCookie, e.Cookie
		}
		if n != 1 {
			return fmt.Errorf("extract %s: want exactly one of jsonpath, regex, header, cookie", e.Var)
		}
		p.extract = append(p.extract, x)
	}
	p.fastJSON = p.needJSON
	for _, x := range p.extract {
		sy.defined[x.name] = true
		sy.tainted[x.name] = false
		if x.kind == extractJSON && !x.scan {
			p.fastJSON = false
		}
	}
	for _, pc := range p.paths {
		if !pc.scan {
			p.fastJSON = false
		}
	}
	return nil
}

// singular reports whether a JSONPath selects at most one value by its form
// (only names and single indexes), as RFC 9535's singular queries.
func singular(x jp.Expr) bool {
	for _, f := range x {
		switch f.(type) {
		case jp.Root, jp.At, jp.Child, jp.Nth, jp.Bracket:
		default:
			return false
		}
	}
	return true
}

func compileMatcher(m *config.Matcher, sy *symbols) (matcher, error) {
	var out matcher
	n := 0
	set := func(op matchOp) { out.op = op; n++ }
	var err error
	if m.Equals != nil {
		set(opEquals)
		out.operand, err = sy.compile(*m.Equals)
	}
	if m.Contains != nil {
		set(opContains)
		out.operand, err = sy.compile(*m.Contains)
	}
	if m.Exists != nil {
		set(opExists)
		out.exists = *m.Exists
	}
	for _, c := range []struct {
		p  *float64
		op matchOp
	}{{m.GT, opGT}, {m.GE, opGE}, {m.LT, opLT}, {m.LE, opLE}} {
		if c.p != nil {
			set(c.op)
			out.num = *c.p
			// The threshold's text, for the exact comparison (see order).
			out.operand = tmpl{src: m.Bound, lit: m.Bound, static: true}
		}
	}
	if m.Matches != "" {
		set(opMatches)
		if out.operand, err = sy.compile(m.Matches); err == nil && out.operand.static {
			out.re, err = sy.cache.regexp(out.operand.lit)
		}
	}
	if err != nil {
		return matcher{}, err
	}
	if n != 1 {
		return matcher{}, fmt.Errorf("matcher needs exactly one condition, has %d", n)
	}
	return out, nil
}

// checkPayload applies p's expectations to body (and to h, the headers that
// came with it, when there are any), then its extractions into the run's
// scope. u is the URL a response came from (after redirects), whose
// cookies a cookie extraction reads; nil for a message. It returns "" when
// all hold.
func (rs *runState) checkPayload(p *payload, body []byte, h http.Header, u *url.URL) string {
	why, _ := rs.checkPayloadAt(p, body, h, u)
	return why
}

// checkPayloadAt is checkPayload, with how far the payload got when it
// failed: twice the number of p's checks it passed, in their order
// (reading the body as JSON, the jsonpath matchers, the body's, the
// headers', the extractions), one more when the matcher that failed found
// a value to check ($.id does not equal, beside $.id selected nothing: a
// presence notice without an id got less far than another message). An
// await says the message that got furthest (see awaitStep.attempt).
func (rs *runState) checkPayloadAt(p *payload, body []byte, h http.Header, u *url.URL) (string, int) {
	var data any
	if p.needJSON {
		if len(bytes.TrimSpace(body)) == 0 {
			return p.jsonReader() + ": body is empty, want JSON", 0
		}
		rs.bigDoc = rs.bigDoc || len(body) > maxPooledBuf
		if p.fastJSON {
			if !validJSON(body) {
				if tooDeep(body) {
					return errTooDeep, 0
				}
				return rs.notJSON(p, body), 0
			}
		} else {
			if tooDeep(body) {
				return errTooDeep, 0
			}
			var err error
			if data, err = rs.parser.Parse(body); err != nil {
				return rs.notJSON(p, body), 0
			}
		}
	}
	if p.secrets {
		rs.noteSecretExtracts(p, data, body, h, u)
	}
	at := 1 // the checks passed: the body read as JSON (or not needed)
	for i := range p.paths {
		pc := &p.paths[i]
		op, err := pc.m.operand.render(&rs.sc)
		if err != nil {
			return pc.src + ": " + err.Error(), 2 * at
		}
		kind := subjMulti
		if pc.singular {
			kind = subjSingular
		}
		var vals []any
		if p.fastJSON {
			if vals, err = rs.lookup(body, pc.segs); err != nil {
				return rs.notJSON(p, body), 0
			}
		} else {
			vals = pc.expr.Get(data)
		}
		if m := evalMatch(&pc.m, op, pc.src, vals, kind, rs); m != "" {
			return m, reached(at, vals)
		}
		at++
	}
	if p.bodyM != nil {
		op, err := p.bodyM.operand.render(&rs.sc)
		if err != nil {
			return "body: " + err.Error(), 2 * at
		}
		var vals []any
		if len(body) > 0 {
			vals = []any{string(body)}
		}
		if m := evalMatch(p.bodyM, op, "body", vals, subjText, rs); m != "" {
			return m, reached(at, vals)
		}
		at++
	}
	for i := range p.headerMs {
		hc := &p.headerMs[i]
		op, err := hc.m.operand.render(&rs.sc)
		if err != nil {
			return "header " + hc.name + ": " + err.Error(), 2 * at
		}
		hv := h[hc.name]
		vals := make([]any, len(hv))
		for j, v := range hv {
			vals[j] = v
		}
		if m := evalMatch(&hc.m, op, "header "+hc.name, vals, subjText, rs); m != "" {
			return m, reached(at, vals)
		}
		at++
	}
	for i := range p.extract {
		x := &p.extract[i]
		if x.kind == extractJSON && x.scan {
			v, m := rs.extractScanned(p, x, body)
			if m != "" {
				return m, 2 * at
			}
			rs.sc.vals[x.slot] = v
			at++
			continue
		}
		v, m := extract(x, data, body, h, &rs.jar, u)
		if m != "" {
			return m, 2 * at
		}
		rs.sc.vals[x.slot] = v
		at++
	}
	return "", 2 * at
}

// reached is how far a payload got that failed its at-th check, a matcher
// given vals (see checkPayloadAt).
func reached(at int, vals []any) int {
	if len(vals) > 0 {
		return 2*at + 1
	}
	return 2 * at
}

// jsonReader names the first check or extraction that reads the body as
// JSON: "$.id", "extract token".
func (p *payload) jsonReader() string {
	if len(p.paths) > 0 {
		return p.paths[0].src
	}
	for i := range p.extract {
		if p.extract[i].kind == extractJSON {
			return "extract " + p.extract[i].name
		}
	}
	return "jsonpath"
}

// notJSON is the failure of a body that is not JSON: what wanted JSON and
// the start of what came (a target's text or XML error page), secrets
// scrubbed: `$.id: body is not JSON (got "<error>BAD_CREDS</error>")`.
func (rs *runState) notJSON(p *payload, body []byte) string {
	// show renders this much at most: the rest need not be copied.
	if n := showLimit + rs.slack() + 1; len(body) > n {
		body = body[:n]
	}
	return p.jsonReader() + ": body is not JSON (got " + show([]any{string(body)}, rs) + ")"
}

// noteSecretExtracts adds the values of p's secret extractions (marked
// secret, or used later in a credential header) to the run's redaction
// before any check can quote them: a failed assertion on $.token used to
// print the live bearer token.
func (rs *runState) noteSecretExtracts(p *payload, data any, body []byte, h http.Header, u *url.URL) {
	for i := range p.extract {
		x := &p.extract[i]
		if !x.secret {
			continue
		}
		if x.kind == extractJSON && x.scan {
			if v, m := rs.extractScanned(p, x, body); m == "" {
				rs.note(v)
			}
			continue
		}
		if data == nil && x.kind == extractJSON {
			continue
		}
		if v, m := extract(x, data, body, h, &rs.jar, u); m == "" {
			rs.note(v)
		}
	}
}

// extractScanned reads x, a path the scanner follows, from body (valid
// JSON): a number as the target wrote it (an amount 10.10 passed on as
// 10.10, not 10.1; 0.0000001, not 1e-07), anything else as valueText.
func (rs *runState) extractScanned(p *payload, x *extractor, body []byte) (string, string) {
	raw, ok := lookupRaw(body, x.segs)
	if !ok {
		return "", "extract " + x.name + ": " + x.src + " selected nothing"
	}
	if c := raw[0]; c == '-' || c >= '0' && c <= '9' {
		return string(raw), ""
	}
	v, err := decodeRaw(raw, &rs.parser)
	if err != nil {
		return "", rs.notJSON(p, body)
	}
	return valueText(v), ""
}

// lookup finds a singular path's value with the scanner; the slice it
// returns is only valid until the next lookup.
func (rs *runState) lookup(body []byte, segs []pathSeg) ([]any, error) {
	raw, ok := lookupRaw(body, segs)
	if !ok {
		return nil, nil
	}
	v, err := decodeRaw(raw, &rs.parser)
	if err != nil {
		return nil, err
	}
	rs.one[0] = v
	return rs.one[:1], nil
}

// extract reads one variable from a response, which came from u (nil for a
// message); jar is the run's cookie jar.
func extract(x *extractor, data any, body []byte, h http.Header, jar *lazyJar, u *url.URL) (string, string) {
	switch x.kind {
	case extractJSON:
		v, ok := x.expr.FirstFound(data)
		if !ok {
			return "", "extract " + x.name + ": " + x.src + " selected nothing"
		}
		return valueText(v), ""
	case extractRegex:
		m := x.re.FindSubmatch(body)
		if m == nil {
			return "", "extract " + x.name + ": " + noMatchFor + ConfigText(x.src)
		}
		if len(m) > 1 {
			return string(m[1]), ""
		}
		return string(m[0]), ""
	case extractHeader:
		v := h[x.header]
		if len(v) == 0 {
			return "", "extract " + x.name + ": no header " + x.header
		}
		return v[0], ""
	case extractCookie:
		// The cookies the jar sends to the page, as its script reads them
		// from document.cookie (the most specific path first): set by this
		// response, a redirect on the way, or an earlier step.
		if u != nil {
			for _, c := range jar.Cookies(u) {
				if c.Name == x.src {
					return c.Value, ""
				}
			}
		}
		return "", "extract " + x.name + ": no cookie " + x.src + " for this URL"
	}
	return "", "extract " + x.name + ": no source"
}
