package probe

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ohler55/ojg/jp"
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

type compiledStep struct {
	name, function string
	timeout        time.Duration
	poll           *config.Poll

	method  string
	url     tmpl
	headers []compiledHeader
	host    *tmpl
	body    compiledBody

	status   []int
	latency  time.Duration
	paths    []pathCheck
	bodyM    *matcher
	headerMs []headerCheck
	extract  []extractor
	needJSON bool // some check or extraction reads the body as JSON
	fastJSON bool // every JSON read is a singular path the scanner follows
	wantText bool // the body matcher reads the body as text
}

type compiledHeader struct {
	key   string // canonical
	value tmpl
}

type bodyKind uint8

const (
	bodyNone bodyKind = iota
	bodyJSON
	bodyForm
	bodyRaw
)

type compiledBody struct {
	kind        bodyKind
	contentType string
	json        *jnode
	form        []formField
	raw         tmpl
}

type formField struct {
	key   string
	value tmpl
}

type pathCheck struct {
	src      string
	expr     jp.Expr
	singular bool
	segs     []pathSeg // for the scanner, when it can follow expr
	scan     bool
	m        matcher
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
	op      matchOp
	operand tmpl           // equals, contains, matches
	num     float64        // gt, ge, lt, le
	exists  bool           // exists
	re      *regexp.Regexp // matches, when the operand is static
}

type extractKind uint8

const (
	extractJSON extractKind = iota + 1
	extractRegex
	extractHeader
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
}

// compileFlow parses everything in f. secrets is cfg.Secrets; defs the
// config's defaults, used where the flow leaves a limit at zero.
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
	cs.method = strings.ToUpper(s.Request.Method)
	if cs.method == "" {
		cs.method = http.MethodGet
	}
	var err error
	if s.Request.URL == "" {
		return errors.New("request: no url")
	}
	if cs.url, err = sy.compile(s.Request.URL); err != nil {
		return fmt.Errorf("url: %w", err)
	}
	if cs.url.static {
		if _, err := url.Parse(cs.url.lit); err != nil {
			return fmt.Errorf("url: %w", err)
		}
	}
	names := make([]string, 0, len(s.Request.Headers))
	for k := range s.Request.Headers {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		t, err := sy.compile(s.Request.Headers[k])
		if err != nil {
			return fmt.Errorf("header %s: %w", k, err)
		}
		key := http.CanonicalHeaderKey(k)
		if key == "Host" {
			cs.host = &t
			continue
		}
		cs.headers = append(cs.headers, compiledHeader{key: key, value: t})
	}
	if err := cs.body.compile(&s.Request, sy); err != nil {
		return err
	}
	if err := cs.compileExpect(&s.Expect, sy); err != nil {
		return err
	}
	// Extracted variables are defined for the steps after this one.
	for _, e := range s.Extract {
		if !validVarName(e.Var) {
			return fmt.Errorf("extract %q: invalid variable name", e.Var)
		}
		x := extractor{name: e.Var, slot: sy.slotOf(e.Var)}
		n := 0
		if e.JSONPath != "" {
			n++
			x.kind, x.src = extractJSON, e.JSONPath
			if x.expr, err = jp.ParseString(e.JSONPath); err != nil {
				return fmt.Errorf("extract %s: jsonpath %q: %w", e.Var, e.JSONPath, err)
			}
			x.segs, x.scan = scanPath(x.expr)
			cs.needJSON = true
		}
		if e.Regex != "" {
			n++
			x.kind, x.src = extractRegex, e.Regex
			if x.re, err = regexp.Compile(e.Regex); err != nil {
				return fmt.Errorf("extract %s: regex: %w", e.Var, err)
			}
		}
		if e.Header != "" {
			n++
			x.kind, x.src, x.header = extractHeader, e.Header, http.CanonicalHeaderKey(e.Header)
		}
		if n != 1 {
			return fmt.Errorf("extract %s: want exactly one of jsonpath, regex, header", e.Var)
		}
		cs.extract = append(cs.extract, x)
	}
	cs.fastJSON = cs.needJSON
	for _, x := range cs.extract {
		sy.defined[x.name] = true
		sy.tainted[x.name] = false
		if x.kind == extractJSON && !x.scan {
			cs.fastJSON = false
		}
	}
	for _, pc := range cs.paths {
		if !pc.scan {
			cs.fastJSON = false
		}
	}
	return nil
}

func (cs *compiledStep) compileExpect(e *config.Expect, sy *symbols) error {
	for _, st := range e.Status {
		if st < 100 || st > 999 {
			return fmt.Errorf("expect: status %d out of range", st)
		}
	}
	cs.status = slices.Clone(e.Status)
	cs.latency = e.Latency
	for _, pm := range e.JSONPath {
		expr, err := jp.ParseString(pm.Path)
		if err != nil {
			return fmt.Errorf("expect: jsonpath %q: %w", pm.Path, err)
		}
		m, err := compileMatcher(&pm.Matcher, sy)
		if err != nil {
			return fmt.Errorf("expect: jsonpath %q: %w", pm.Path, err)
		}
		segs, scan := scanPath(expr)
		cs.paths = append(cs.paths, pathCheck{src: pm.Path, expr: expr, singular: singular(expr), segs: segs, scan: scan, m: m})
		cs.needJSON = true
	}
	if e.Body != nil {
		m, err := compileMatcher(e.Body, sy)
		if err != nil {
			return fmt.Errorf("expect: body: %w", err)
		}
		cs.bodyM = &m
		cs.wantText = true
	}
	for _, hm := range e.Headers {
		m, err := compileMatcher(&hm.Matcher, sy)
		if err != nil {
			return fmt.Errorf("expect: header %s: %w", hm.Name, err)
		}
		cs.headerMs = append(cs.headerMs, headerCheck{name: http.CanonicalHeaderKey(hm.Name), m: m})
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
		}
	}
	if m.Matches != "" {
		set(opMatches)
		if out.operand, err = sy.compile(m.Matches); err == nil && out.operand.static {
			out.re, err = regexp.Compile(out.operand.lit)
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

func (b *compiledBody) compile(r *config.Request, sy *symbols) error {
	n := 0
	if r.JSON != nil {
		n++
		node, err := compileJSON(r.JSON, sy, 0)
		if err != nil {
			return fmt.Errorf("json: %w", err)
		}
		b.kind, b.json, b.contentType = bodyJSON, node, "application/json"
	}
	if r.Form != nil {
		n++
		b.kind, b.contentType = bodyForm, "application/x-www-form-urlencoded"
		keys := make([]string, 0, len(r.Form))
		for k := range r.Form {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			t, err := sy.compile(r.Form[k])
			if err != nil {
				return fmt.Errorf("form %s: %w", k, err)
			}
			b.form = append(b.form, formField{key: k, value: t})
		}
	}
	if r.Body != "" {
		n++
		t, err := sy.compile(r.Body)
		if err != nil {
			return fmt.Errorf("body: %w", err)
		}
		b.kind, b.raw = bodyRaw, t
	}
	if n > 1 {
		return errors.New("request: more than one of json, form, body")
	}
	return nil
}

// jnode is a compiled JSON body: literal JSON, a string template, an object
// or an array. A subtree without templates is pre-encoded in lit.
type jnode struct {
	lit    []byte // pre-encoded, when static
	str    *tmpl
	keys   []tmpl
	vals   []*jnode
	isObj  bool
	static bool
}

const maxJSONDepth = 200

func compileJSON(v any, sy *symbols, depth int) (*jnode, error) {
	if depth > maxJSONDepth {
		return nil, errors.New("nested too deeply")
	}
	var n *jnode
	switch x := v.(type) {
	case string:
		t, err := sy.compile(x)
		if err != nil {
			return nil, err
		}
		n = &jnode{str: &t, static: t.static}
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		n = &jnode{isObj: true, static: true}
		for _, k := range keys {
			kt, err := sy.compile(k)
			if err != nil {
				return nil, err
			}
			c, err := compileJSON(x[k], sy, depth+1)
			if err != nil {
				return nil, err
			}
			n.keys = append(n.keys, kt)
			n.vals = append(n.vals, c)
			n.static = n.static && kt.static && c.static
		}
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = e
		}
		return compileJSON(m, sy, depth)
	case []any:
		n = &jnode{static: true, vals: []*jnode{}}
		for _, e := range x {
			c, err := compileJSON(e, sy, depth+1)
			if err != nil {
				return nil, err
			}
			n.vals = append(n.vals, c)
			n.static = n.static && c.static
		}
	case nil, bool, int, int64, uint64, float64, json.Number:
		b, err := json.Marshal(x)
		if err != nil {
			return nil, err
		}
		return &jnode{lit: b, static: true}, nil
	default:
		// Any other shape (typed maps, slices, times): through encoding/json
		// into the generic form, keeping strings as templates.
		b, err := json.Marshal(x)
		if err != nil {
			return nil, err
		}
		var g any
		if err := json.Unmarshal(b, &g); err != nil {
			return nil, err
		}
		if _, again := g.(string); !again {
			return compileJSON(g, sy, depth)
		}
		n = &jnode{lit: b, static: true}
		return n, nil
	}
	if n.static {
		b, err := n.append(nil, nil)
		if err != nil {
			return nil, err
		}
		n.lit = b
	}
	return n, nil
}

// append writes the node as JSON.
func (n *jnode) append(dst []byte, sc *scope) ([]byte, error) {
	if n.lit != nil {
		return append(dst, n.lit...), nil
	}
	switch {
	case n.str != nil:
		s, err := n.str.render(sc)
		if err != nil {
			return nil, err
		}
		return appendJSONString(dst, s), nil
	case n.isObj:
		dst = append(dst, '{')
		for i := range n.keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			k, err := n.keys[i].render(sc)
			if err != nil {
				return nil, err
			}
			dst = appendJSONString(dst, k)
			dst = append(dst, ':')
			if dst, err = n.vals[i].append(dst, sc); err != nil {
				return nil, err
			}
		}
		return append(dst, '}'), nil
	default:
		dst = append(dst, '[')
		var err error
		for i, v := range n.vals {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, err = v.append(dst, sc); err != nil {
				return nil, err
			}
		}
		return append(dst, ']'), nil
	}
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			dst = append(dst, '\\', byte(r))
		case r == '\n':
			dst = append(dst, '\\', 'n')
		case r == '\r':
			dst = append(dst, '\\', 'r')
		case r == '\t':
			dst = append(dst, '\\', 't')
		case r < 0x20 || r == 0x2028 || r == 0x2029:
			dst = append(dst, '\\', 'u', hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
		default:
			dst = utf8.AppendRune(dst, r)
		}
	}
	return append(dst, '"')
}
