package probe

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ohler55/ojg/oj"
)

// operand is a matcher's rendered operand, with its number and JSON readings
// worked out on demand.
type operand struct {
	s      string
	num    float64
	isNum  bool
	parsed any
	jsonOK bool
	jsonTo bool // parsed was tried
}

// exactFrom is the magnitude from which float64 no longer holds every
// integer (2^53): numbers that large compare by their exact value.
const exactFrom = 1 << 53

// maxExactDigits bounds the text compared exactly: a target's number of a
// megabyte of digits is compared as a float64, not converted at length.
const maxExactDigits = 400

// sameNumber reports whether the JSON number whose text is text (and whose
// float64 reading is f) equals the operand. Below 2^53 the float readings
// decide; from there on two different integers can share one float64 (an ID
// 1234567890123456789 and its neighbour), so the exact values do.
func (o *operand) sameNumber(text string, f float64) bool {
	if !o.isNum || f != o.num {
		return false
	}
	if math.Abs(f) < exactFrom || len(text) > maxExactDigits {
		return true
	}
	a, ok := new(big.Rat).SetString(text)
	if !ok {
		return true
	}
	b, ok := new(big.Rat).SetString(strings.TrimSpace(o.s))
	return ok && a.Cmp(b) == 0
}

func newOperand(s string) operand {
	o := operand{s: s}
	if t := strings.TrimSpace(s); t != "" && strings.IndexByte("0123456789+-.", t[0]) < 0 {
		return o // not a number: spare ParseFloat its error
	}
	if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
		o.num, o.isNum = f, true
	}
	return o
}

func (o *operand) json() (any, bool) {
	if !o.jsonTo {
		o.jsonTo = true
		v, err := oj.ParseString(o.s)
		o.parsed, o.jsonOK = v, err == nil
	}
	return o.parsed, o.jsonOK
}

// subjectKind says how a matcher reads the values it is given.
type subjectKind uint8

const (
	subjSingular subjectKind = iota // one JSONPath value (or none)
	subjMulti                       // a JSONPath that may select several values
	subjText                        // body or header text
)

// evalMatch applies m, with its operand rendered to op, to the values vals
// selected for label. It returns "" when the matcher holds, otherwise a short
// message: `$.messages[*].id does not contain "m-17"`.
func evalMatch(m *matcher, op string, label string, vals []any, kind subjectKind, sc scrubber) string {
	switch m.op {
	case opExists:
		has := len(vals) > 0
		switch {
		case m.exists && !has:
			return label + " does not exist"
		case !m.exists && has:
			return fmt.Sprintf("%s exists (got %s), want absent", label, show(vals, sc))
		}
		return ""
	case opEquals:
		o := newOperand(op)
		for _, v := range vals {
			if equal(v, &o, 0) {
				return ""
			}
		}
		if len(vals) == 0 {
			return fmt.Sprintf("%s selected nothing, want %s", label, strconv.Quote(op))
		}
		return fmt.Sprintf("%s does not equal %s (got %s)", label, strconv.Quote(op), show(vals, sc))
	case opContains:
		o := newOperand(op)
		for _, v := range vals {
			if contains(v, &o, kind) {
				return ""
			}
		}
		return fmt.Sprintf("%s does not contain %s", label, strconv.Quote(op))
	case opMatches:
		re := m.re
		if re == nil {
			var err error
			if re, err = regexp.Compile(op); err != nil {
				return fmt.Sprintf("%s: bad regular expression %s", label, strconv.Quote(op))
			}
		}
		for _, v := range vals {
			if re.MatchString(valueText(v)) {
				return ""
			}
		}
		if len(vals) == 0 {
			return fmt.Sprintf("%s selected nothing, want a match for %s", label, strconv.Quote(re.String()))
		}
		return fmt.Sprintf("%s does not match %s (got %s)", label, strconv.Quote(re.String()), show(vals, sc))
	case opGT, opGE, opLT, opLE:
		want := opSymbol(m.op) + " " + plainNumber(m.num)
		if b := strings.TrimSpace(op); math.Abs(m.num) >= exactFrom && len(b) <= maxExactDigits && exactBound(b, m.num) != nil {
			want = opSymbol(m.op) + " " + b // as written: its float64 may differ in the last digits
		}
		if len(vals) == 0 {
			return fmt.Sprintf("%s selected nothing, want %s", label, want)
		}
		for _, v := range vals {
			f, ok := toNumber(v)
			if !ok {
				return fmt.Sprintf("%s is %s, want a number %s", label, show([]any{v}, sc), want)
			}
			if !compare(m.op, order(v, f, m.num, op)) {
				return fmt.Sprintf("%s is %s, want %s", label, show([]any{v}, sc), want)
			}
		}
		return ""
	}
	return label + ": matcher has no condition"
}

// plainNumber writes a threshold as a config writes it: 1000000, not
// 1e+06; the exponent form only for the very large and very small.
func plainNumber(f float64) string {
	if a := math.Abs(f); a == 0 || a >= 1e-7 && a < 1e21 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func opSymbol(op matchOp) string {
	switch op {
	case opGT:
		return ">"
	case opGE:
		return ">="
	case opLT:
		return "<"
	default:
		return "<="
	}
}

// compare says whether a value ordered c (-1, 0, 1) against the threshold
// passes op.
func compare(op matchOp, c int) bool {
	switch op {
	case opGT:
		return c > 0
	case opGE:
		return c >= 0
	case opLT:
		return c < 0
	default:
		return c <= 0
	}
}

// order returns -1, 0 or 1 as the value v (read as f) is below, at or above
// the threshold t, written bound. Where the float64 readings differ they
// decide (rounding keeps the order); where they are equal, two different
// integers from 2^53 up may share one (an ID 9007199254740993 is no
// greater than 9007199254740992 as a float64), so the exact values do.
func order(v any, f, t float64, bound string) int {
	switch {
	case f < t:
		return -1
	case f > t:
		return 1
	}
	bound = strings.TrimSpace(bound)
	if bound == "" || len(bound) > maxExactDigits {
		return 0
	}
	b := exactBound(bound, t)
	if b == nil {
		return 0
	}
	a := new(big.Rat)
	switch x := v.(type) {
	case int64:
		a.SetInt64(x)
	case int:
		a.SetInt64(int64(x))
	case float64:
		a.SetFloat64(x)
	case json.Number:
		if len(x) > maxExactDigits {
			return 0
		}
		if _, ok := a.SetString(string(x)); !ok {
			return 0
		}
	case string:
		s := strings.TrimSpace(x)
		if len(s) > maxExactDigits {
			return 0
		}
		if _, ok := a.SetString(s); !ok {
			return 0
		}
	default:
		return 0
	}
	if af, _ := a.Float64(); af != f {
		return 0 // a form big.Rat reads otherwise than the JSON reader did
	}
	return a.Cmp(b)
}

// exactBound reads a threshold's text as an exact number, or nil when it
// does not read as t (a form the YAML reader and big.Rat take differently).
func exactBound(bound string, t float64) *big.Rat {
	b, ok := new(big.Rat).SetString(bound)
	if !ok {
		return nil
	}
	if f, _ := b.Float64(); f != t {
		return nil
	}
	return b
}

// contains: an array holds the operand, a text contains it, an object has it
// as a key; a value of a multi-value selection equals it.
func contains(v any, o *operand, kind subjectKind) bool {
	if kind == subjText {
		s, _ := v.(string)
		return strings.Contains(s, o.s)
	}
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			if equal(e, o, 0) {
				return true
			}
		}
		return false
	case string:
		if kind == subjSingular {
			return strings.Contains(x, o.s)
		}
	case map[string]any:
		if kind == subjSingular {
			_, ok := x[o.s]
			return ok
		}
	}
	return equal(v, o, 0)
}

// equal compares a JSON value with the operand as JSON scalars or text.
func equal(v any, o *operand, depth int) bool {
	switch x := v.(type) {
	case string:
		return x == o.s
	case bool:
		return o.s == strconv.FormatBool(x)
	case nil:
		return o.s == "null"
	case int64:
		t := strconv.FormatInt(x, 10)
		return o.s == t || o.sameNumber(t, float64(x))
	case int:
		t := strconv.Itoa(x)
		return o.s == t || o.sameNumber(t, float64(x))
	case float64:
		return o.isNum && x == o.num
	case json.Number:
		if string(x) == o.s {
			return true
		}
		f, err := x.Float64()
		return err == nil && o.sameNumber(string(x), f)
	}
	p, ok := o.json()
	return ok && jsonEqual(v, p, depth)
}

const maxDepth = 1000

// jsonEqual compares two parsed JSON values; numbers compare by value.
func jsonEqual(a, b any, depth int) bool {
	if depth > maxDepth {
		return false
	}
	if fa, ok := toJSONNumber(a); ok {
		fb, ok := toJSONNumber(b)
		return ok && fa == fb
	}
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case nil:
		return b == nil
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsonEqual(x[i], y[i], depth+1) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !jsonEqual(xv, yv, depth+1) {
				return false
			}
		}
		return true
	}
	return false
}

// toJSONNumber reads a JSON number (not a numeric string).
func toJSONNumber(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	case float64:
		return x, true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

// toNumber reads a number, or a string that holds one.
func toNumber(v any) (float64, bool) {
	if f, ok := toJSONNumber(v); ok {
		return f, true
	}
	if s, ok := v.(string); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		return f, err == nil && !math.IsNaN(f)
	}
	return 0, false
}

// valueText is a value as text: a string as itself, anything else as
// compact JSON.
func valueText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return string(appendJSONValue(nil, v, 0, -1))
}

// appendJSONValue writes v as compact JSON (object keys sorted). limit > 0
// stops writing once dst is that long; nesting past maxDepth is cut.
func appendJSONValue(dst []byte, v any, depth, limit int) []byte {
	if limit > 0 && len(dst) > limit {
		return dst
	}
	if depth > maxDepth {
		return append(dst, "..."...)
	}
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...)
	case string:
		return appendJSONString(dst, x)
	case bool:
		return strconv.AppendBool(dst, x)
	case int64:
		return strconv.AppendInt(dst, x, 10)
	case int:
		return strconv.AppendInt(dst, int64(x), 10)
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return append(dst, "null"...)
		}
		return strconv.AppendFloat(dst, x, 'g', -1, 64)
	case json.Number:
		return append(dst, x...)
	case []any:
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONValue(dst, e, depth+1, limit)
			if limit > 0 && len(dst) > limit {
				return dst
			}
		}
		return append(dst, ']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, k)
			dst = append(dst, ':')
			dst = appendJSONValue(dst, x[k], depth+1, limit)
			if limit > 0 && len(dst) > limit {
				return dst
			}
		}
		return append(dst, '}')
	}
	return fmt.Appendf(dst, "%v", v)
}

const showLimit = 64

// scrubber removes the run's secrets from text a message quotes. show
// scrubs before it cuts, so that a secret (an echoed password, a token just
// extracted) is never cut in two with its first half kept.
type scrubber interface {
	scrub(s string) string
	slack() int // the longest text scrub replaces
}

// noScrub is the scrubber of checks that see no secrets.
type noScrub struct{}

func (noScrub) scrub(s string) string { return s }
func (noScrub) slack() int            { return 0 }

// show renders selected values briefly for an error message: secrets
// scrubbed, then at most showLimit bytes.
func show(vals []any, sc scrubber) string {
	if sc == nil {
		sc = noScrub{}
	}
	// Rendered this far, a secret that starts before the cut ends before
	// the end of what is rendered, so scrub sees it whole.
	limit := showLimit + sc.slack()
	var b []byte
	switch len(vals) {
	case 0:
		return "nothing"
	case 1:
		b = appendJSONValue(nil, vals[0], 0, limit)
	default:
		b = appendJSONValue(nil, vals, 0, limit)
	}
	s := sc.scrub(string(b))
	if len(s) > showLimit {
		cut := showLimit
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
		if inString(s[:cut]) {
			// Closed again: a cut value left open ("hello...) was not
			// read as a quoted value by the window's cause grouping.
			s += `"`
		}
	}
	return s
}

// inString reports whether JSON text s ends inside a string.
func inString(s string) bool {
	in := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			in = !in
		}
	}
	return in
}
