package probe

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
)

// segKind says what one piece of a template is.
type segKind uint8

const (
	segLit        segKind = iota // literal text
	segVar                       // a flow variable or an extracted value
	segRunID                     // ${run.id}
	segLocation                  // ${location}
	segNow                       // ${now}
	segSecret                    // ${env:NAME} or ${file:PATH}
	segNowUnix                   // ${now.unix}
	segNowUnixMS                 // ${now.unix_ms}
	segRandomID                  // ${random.id}
	segWebhookURL                // ${webhook.url}
	segCall                      // ${fn(args...)}: a template function
)

// seg is one piece of a parsed template.
type seg struct {
	kind segKind
	text string // literal text, variable name or secret reference ("env:NAME")
	slot int    // for segVar: the variable's slot, set by bind
	call *call  // for segCall
}

// tmpl is a parsed template. A template without references keeps its text in
// lit and renders without allocating.
type tmpl struct {
	src    string
	segs   []seg
	lit    string
	static bool
}

// parseTemplate splits s into literal text and ${...} references.
func parseTemplate(s string) (tmpl, error) {
	t := tmpl{src: s}
	if strings.IndexByte(s, '$') < 0 {
		t.lit, t.static = s, true
		return t, nil
	}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			t.segs = append(t.segs, seg{kind: segLit, text: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); {
		j := strings.IndexByte(s[i:], '$')
		if j < 0 {
			lit.WriteString(s[i:])
			break
		}
		lit.WriteString(s[i : i+j])
		i += j
		switch {
		case strings.HasPrefix(s[i:], "$${"):
			lit.WriteString("${")
			i += 3
		case strings.HasPrefix(s[i:], "${"):
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return tmpl{}, fmt.Errorf("unterminated ${ at offset %d", i)
			}
			name := s[i+2 : i+2+end]
			sg, err := parseRef(name)
			if err != nil {
				return tmpl{}, err
			}
			flush()
			t.segs = append(t.segs, sg)
			i += 2 + end + 1
		default:
			lit.WriteByte('$')
			i++
		}
	}
	flush()
	if len(t.segs) == 0 {
		t.static = true
	} else if len(t.segs) == 1 && t.segs[0].kind == segLit {
		t.lit, t.static, t.segs = t.segs[0].text, true, nil
	}
	return t, nil
}

// parseRef classifies what is inside ${...}: a name or a function call.
func parseRef(name string) (seg, error) {
	if strings.ContainsAny(name, `("`) {
		e, err := config.ParseExpr(name)
		if err != nil {
			return seg{}, err
		}
		c, err := newCall(e)
		if err != nil {
			return seg{}, err
		}
		return seg{kind: segCall, text: name, call: c}, nil
	}
	switch {
	case name == "":
		return seg{}, errors.New("empty ${}")
	case name == config.RefRunID:
		return seg{kind: segRunID}, nil
	case name == config.RefLocation:
		return seg{kind: segLocation}, nil
	case name == config.RefNow:
		return seg{kind: segNow}, nil
	case name == config.RefNowUnix:
		return seg{kind: segNowUnix}, nil
	case name == config.RefNowUnixMS:
		return seg{kind: segNowUnixMS}, nil
	case name == config.RefRandomID:
		return seg{kind: segRandomID}, nil
	case name == config.RefWebhookURL:
		return seg{kind: segWebhookURL}, nil
	case strings.HasPrefix(name, "env:"), strings.HasPrefix(name, "file:"):
		_, rest, _ := strings.Cut(name, ":")
		if rest == "" || strings.ContainsAny(rest, "${") {
			return seg{}, fmt.Errorf("invalid secret reference ${%s}", name)
		}
		return seg{kind: segSecret, text: name}, nil
	}
	if !validVarName(name) {
		return seg{}, fmt.Errorf("invalid variable name %q", name)
	}
	return seg{kind: segVar, text: name}, nil
}

// validVarName: a letter or _, then letters, digits, _, - or '.'.
func validVarName(s string) bool {
	for i, r := range s {
		switch {
		case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && (r >= '0' && r <= '9' || r == '-' || r == '.'):
		default:
			return false
		}
	}
	return s != ""
}

// hasSecret reports whether the template refers to a secret directly.
func (t *tmpl) hasSecret() bool {
	for _, s := range t.segs {
		if s.kind == segSecret || s.kind == segCall && s.call.hasSecret() {
			return true
		}
	}
	return false
}

// uses reports whether the template refers to kind, directly or in a call.
func (t *tmpl) uses(kind segKind) bool {
	for i := range t.segs {
		if t.segs[i].kind == kind || t.segs[i].kind == segCall && t.segs[i].call.uses(kind) {
			return true
		}
	}
	return false
}

// scope holds what templates of one run resolve against.
type scope struct {
	vals       []string // by variable slot
	runID      string
	location   string
	clock      clock.Clock
	secrets    map[string]string
	webhookURL string        // "" when the run has no webhook listener
	rnd        *rand.ChaCha8 // ${random.id}; seeded from the run id, made on first use
}

// render expands the template in sc.
func (t *tmpl) render(sc *scope) (string, error) {
	if t.static {
		return t.lit, nil
	}
	if len(t.segs) == 1 {
		return sc.value(&t.segs[0])
	}
	var b strings.Builder
	n := 0
	for i := range t.segs {
		if t.segs[i].kind == segLit {
			n += len(t.segs[i].text)
		} else {
			n += 16
		}
	}
	b.Grow(n)
	for i := range t.segs {
		v, err := sc.value(&t.segs[i])
		if err != nil {
			return "", err
		}
		b.WriteString(v)
	}
	return b.String(), nil
}

// value resolves one segment.
func (sc *scope) value(s *seg) (string, error) {
	switch s.kind {
	case segLit:
		return s.text, nil
	case segVar:
		if s.slot < 0 || s.slot >= len(sc.vals) {
			return "", fmt.Errorf("undefined variable ${%s}", s.text)
		}
		return sc.vals[s.slot], nil
	case segRunID:
		return sc.runID, nil
	case segLocation:
		return sc.location, nil
	case segNow:
		return sc.clock.Now().UTC().Format(time.RFC3339), nil
	case segSecret:
		v, ok := sc.secrets[s.text]
		if !ok {
			return "", fmt.Errorf("secret ${%s} is not loaded", s.text)
		}
		return v, nil
	case segNowUnix:
		return strconv.FormatInt(sc.clock.Now().Unix(), 10), nil
	case segNowUnixMS:
		return strconv.FormatInt(sc.clock.Now().UnixMilli(), 10), nil
	case segRandomID:
		return sc.randomID(), nil
	case segWebhookURL:
		if sc.webhookURL == "" {
			return "", errors.New("${webhook.url}: no webhook listener (the command serves one: run, once, demo)")
		}
		return sc.webhookURL, nil
	case segCall:
		return s.call.eval(sc)
	}
	return "", fmt.Errorf("bad template segment %d", s.kind)
}

// symbols assigns variable slots and tracks which names are defined at each
// point of a flow, so that an undefined ${name} is a compile error.
type symbols struct {
	slot    map[string]int
	defined map[string]bool
	tainted map[string]bool // the value derives from a secret
	secrets map[string]string
	used    []int // slots of the variables bound so far, in order (with repeats)
	webhook bool  // some template uses ${webhook.url}
	// credVars are the variables a credential header (Authorization,
	// Proxy-Authorization, Cookie) or a URL's user:password uses.
	credVars map[string]bool
	cache    *compileCache // nil: nothing shared
}

func newSymbols(secrets map[string]string) *symbols {
	return &symbols{slot: map[string]int{}, defined: map[string]bool{}, tainted: map[string]bool{}, secrets: secrets, credVars: map[string]bool{}}
}

// markCredential records the variables t uses as credentials.
func (s *symbols) markCredential(t *tmpl) {
	var walk func(sg *seg)
	walk = func(sg *seg) {
		switch sg.kind {
		case segVar:
			s.credVars[sg.text] = true
		case segCall:
			for i := range sg.call.args {
				if a := &sg.call.args[i]; !a.lit {
					walk(&a.seg)
				}
			}
		}
	}
	for i := range t.segs {
		walk(&t.segs[i])
	}
}

// slotOf returns name's slot, assigning one on first sight.
func (s *symbols) slotOf(name string) int {
	if i, ok := s.slot[name]; ok {
		return i
	}
	i := len(s.slot)
	s.slot[name] = i
	return i
}

// compile parses src and binds its variables, which must be defined.
func (s *symbols) compile(src string) (tmpl, error) {
	t, err := parseTemplate(src)
	if err != nil {
		return tmpl{}, err
	}
	for i := range t.segs {
		if err := s.bind(&t.segs[i]); err != nil {
			return tmpl{}, err
		}
	}
	return t, nil
}

// bind resolves a segment's variable slot (and those of a call's
// arguments) and checks its secrets are loaded.
func (s *symbols) bind(sg *seg) error {
	switch sg.kind {
	case segVar:
		if !s.defined[sg.text] {
			return fmt.Errorf("undefined variable ${%s}", sg.text)
		}
		sg.slot = s.slot[sg.text]
		s.used = append(s.used, sg.slot)
	case segSecret:
		if _, ok := s.secrets[sg.text]; !ok {
			return fmt.Errorf("secret ${%s} is not loaded", sg.text)
		}
	case segWebhookURL:
		s.webhook = true
	case segCall:
		for i := range sg.call.args {
			if a := &sg.call.args[i]; !a.lit {
				if err := s.bind(&a.seg); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// isTainted reports whether t uses a secret or a var built from one.
func (s *symbols) isTainted(t *tmpl) bool {
	for i := range t.segs {
		if s.segTainted(&t.segs[i]) {
			return true
		}
	}
	return false
}

func (s *symbols) segTainted(sg *seg) bool {
	switch sg.kind {
	case segSecret:
		return true
	case segVar:
		return s.tainted[sg.text]
	case segCall:
		for i := range sg.call.args {
			if a := &sg.call.args[i]; !a.lit && s.segTainted(&a.seg) {
				return true
			}
		}
	}
	return false
}
