package probe

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/ohler55/ojg/jp"
	"github.com/ohler55/ojg/oj"
)

// A singular JSONPath ($.a.b[2]) needs one value, not the whole document: the
// scanner below walks the JSON text to it without building maps and strings
// for everything else. It is the fast path for the common step that checks a
// few fields; a path that may select several values parses the document with
// ojg instead. The body is validated first, so the scanner may assume
// well-formed JSON (and still never indexes out of range).

// pathSeg is one step of a singular path: an object key or an array index.
type pathSeg struct {
	key   string
	index int
	isKey bool
}

// scanPath turns a singular expression into segments; ok is false when the
// scanner cannot follow it (a negative index, or a non-singular fragment).
func scanPath(x jp.Expr) ([]pathSeg, bool) {
	var segs []pathSeg
	for i, f := range x {
		switch v := f.(type) {
		case jp.Root:
			if i != 0 {
				return nil, false
			}
		case jp.Bracket:
		case jp.Child:
			segs = append(segs, pathSeg{key: string(v), isKey: true})
		case jp.Nth:
			if v < 0 {
				return nil, false
			}
			segs = append(segs, pathSeg{index: int(v)})
		default:
			return nil, false
		}
	}
	if len(x) == 0 {
		return nil, false
	}
	if _, ok := x[0].(jp.Root); !ok {
		return nil, false
	}
	return segs, true
}

// validJSON reports whether b is one JSON value (a UTF-8 BOM allowed).
func validJSON(b []byte) bool {
	return json.Valid(trimBOM(b))
}

// maxNesting is how deep arrays and objects in a body may nest: encoding/json's
// own limit, which validJSON enforces. ojg has none, and its parse of a 1 MiB
// body of 500,000 nested arrays (or a .. path walking it) takes over 150 MB.
const maxNesting = 10000

// errTooDeep is the failure of a body nested deeper than maxNesting.
const errTooDeep = "body is not JSON: nested deeper than 10000 levels"

// tooDeep reports whether arrays and objects in b nest deeper than
// maxNesting. It does not validate b: brackets inside strings are skipped.
func tooDeep(b []byte) bool {
	depth := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			i = skipString(b, i) - 1
		case '{', '[':
			if depth++; depth > maxNesting {
				return true
			}
		case '}', ']':
			depth--
		}
	}
	return false
}

func trimBOM(b []byte) []byte {
	return bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
}

// lookupRaw returns the JSON text of the value at segs in doc, which must be
// valid JSON. For a repeated key the last one wins, as in a parsed document.
func lookupRaw(doc []byte, segs []pathSeg) ([]byte, bool) {
	doc = trimBOM(doc)
	i := skipWS(doc, 0)
	for _, sg := range segs {
		if i >= len(doc) {
			return nil, false
		}
		var ok bool
		if sg.isKey {
			i, ok = findKey(doc, i, sg.key)
		} else {
			i, ok = findIndex(doc, i, sg.index)
		}
		if !ok {
			return nil, false
		}
	}
	end := skipValue(doc, i)
	if end <= i || end > len(doc) {
		return nil, false
	}
	return doc[i:end], true
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string that starts at b[i] == '"'.
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// skipValue returns the index after the value that starts at i.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return len(b)
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = skipString(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return len(b)
	default: // number, true, false, null
		for ; i < len(b); i++ {
			switch b[i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return i
			}
		}
		return len(b)
	}
}

// findKey returns the start of the value of key in the object at i.
func findKey(b []byte, i int, key string) (int, bool) {
	if b[i] != '{' {
		return 0, false
	}
	found, at := false, 0
	i = skipWS(b, i+1)
	for i < len(b) && b[i] == '"' {
		kEnd := skipString(b, i)
		if kEnd > len(b) || kEnd-1 <= i {
			return 0, false
		}
		match := keyEquals(b[i:kEnd], key)
		i = skipWS(b, kEnd)
		if i >= len(b) || b[i] != ':' {
			return 0, false
		}
		i = skipWS(b, i+1)
		if match {
			found, at = true, i
		}
		i = skipWS(b, skipValue(b, i))
		if i < len(b) && b[i] == ',' {
			i = skipWS(b, i+1)
		}
	}
	return at, found
}

// keyEquals compares a quoted JSON key with key.
func keyEquals(quoted []byte, key string) bool {
	raw := quoted[1 : len(quoted)-1]
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw) == key
	}
	var s string
	return json.Unmarshal(quoted, &s) == nil && s == key
}

// findIndex returns the start of element n of the array at i.
func findIndex(b []byte, i, n int) (int, bool) {
	if b[i] != '[' {
		return 0, false
	}
	i = skipWS(b, i+1)
	for k := 0; i < len(b) && b[i] != ']'; k++ {
		if k == n {
			return i, true
		}
		i = skipWS(b, skipValue(b, i))
		if i < len(b) && b[i] == ',' {
			i = skipWS(b, i+1)
		}
	}
	return 0, false
}

// decodeRaw turns one JSON value's text into the types ojg produces:
// string, int64, float64, json.Number (too big for int64), bool, nil,
// map[string]any, []any.
func decodeRaw(raw []byte, p *oj.Parser) (any, error) {
	switch raw[0] {
	case '"':
		if bytes.IndexByte(raw, '\\') < 0 {
			return string(raw[1 : len(raw)-1]), nil
		}
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	case 't':
		return true, nil
	case 'f':
		return false, nil
	case 'n':
		return nil, nil
	case '{', '[':
		return p.Parse(raw)
	}
	if bytes.IndexAny(raw, ".eE") < 0 {
		if n, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
			return n, nil
		}
		return json.Number(string(raw)), nil
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		return json.Number(string(raw)), nil
	}
	return f, nil
}
