package config

import (
	"errors"
	"fmt"
	"strings"
)

// Template functions, usable inside ${...}: ${urlpath(room_id)},
// ${hmac_sha256(env:KEY, "text")}. Arguments are references (variables,
// built-ins, ${env:...}/${file:...} secrets without the ${}), string
// literals in double quotes (\" and \\ escape), or other calls. A literal
// cannot hold '}' (the first '}' ends the reference).
const funcList = "base64, base64url, hmac_sha256, hmac_sha256_base64, json, jwtclaim, regexquote, sha256, urldecode, urlpath, urlquery"

// FuncArity returns the number of arguments function name takes, and
// whether it is a template function:
//
//   - urlpath(s): percent-encodes a URL path segment ("/" too)
//   - urlquery(s): encodes a query value (space as +)
//   - urldecode(s): decodes %XX escapes (not + as space), as a browser
//     script's decodeURIComponent: a cookie a server set percent-encoded
//   - base64(s): standard encoding with padding; base64url(s): URL-safe, unpadded
//   - sha256(s): lowercase hex digest
//   - regexquote(s): s with every regular expression metacharacter escaped,
//     so that a matches operand matches it literally
//   - json(s): s as a JSON string, quotes included, for a raw body
//   - hmac_sha256(key, message): lowercase hex; hmac_sha256_base64: standard base64
//   - jwtclaim(token, name): a top-level claim of a JWT's payload, read
//     without checking the signature (the probe is the token's client)
func FuncArity(name string) (int, bool) {
	switch name {
	case "urlpath", "urlquery", "urldecode", "base64", "base64url", "sha256", "regexquote", "json":
		return 1, true
	case "hmac_sha256", "hmac_sha256_base64", "jwtclaim":
		return 2, true
	}
	return 0, false
}

// Expr is a parsed ${...} reference: a name, a function call, or (as an
// argument) a string literal.
type Expr struct {
	Name  string  // a reference, when Func is "" and Lit is nil
	Func  string  // a function's name
	Args  []*Expr // the call's arguments
	Lit   *string // a string literal
	IsLit bool
}

// maxExprDepth bounds nested calls.
const maxExprDepth = 16

// ParseExpr parses what is between ${ and }. A plain name parses to an Expr
// with Name set and no further checks (the caller knows what names mean).
func ParseExpr(s string) (*Expr, error) {
	if !strings.ContainsAny(s, `("`) {
		if s == "" {
			return nil, errors.New("empty ${}")
		}
		return &Expr{Name: s}, nil
	}
	p := exprParser{s: s}
	e, err := p.expr(0)
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i != len(p.s) {
		return nil, fmt.Errorf("unexpected %q after %s(...) in ${%s}", p.s[p.i:], e.Func, s)
	}
	if e.IsLit {
		return nil, fmt.Errorf("a string literal alone is not a reference: ${%s}", s)
	}
	return e, nil
}

// Walk calls fn for every name the expression refers to, depth first.
func (e *Expr) Walk(fn func(name string)) {
	switch {
	case e.IsLit:
	case e.Func != "":
		for _, a := range e.Args {
			a.Walk(fn)
		}
	default:
		fn(e.Name)
	}
}

type exprParser struct {
	s string
	i int
}

func (p *exprParser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

func (p *exprParser) expr(depth int) (*Expr, error) {
	if depth > maxExprDepth {
		return nil, fmt.Errorf("calls nested more than %d deep", maxExprDepth)
	}
	p.space()
	if p.i < len(p.s) && p.s[p.i] == '"' {
		return p.literal()
	}
	start := p.i
	for p.i < len(p.s) && !strings.ContainsRune(`(),"`, rune(p.s[p.i])) {
		p.i++
	}
	name := strings.TrimRight(p.s[start:p.i], " \t")
	if name == "" {
		if p.i < len(p.s) {
			return nil, fmt.Errorf("expected a name or a \"literal\" before %q", p.s[p.i:])
		}
		return nil, errors.New("expected a name or a \"literal\"")
	}
	if p.i >= len(p.s) || p.s[p.i] != '(' {
		return &Expr{Name: name}, nil
	}
	want, ok := FuncArity(name)
	if !ok {
		return nil, fmt.Errorf("unknown function %s (known: %s)", name, funcList)
	}
	p.i++ // (
	e := &Expr{Func: name}
	p.space()
	if p.i < len(p.s) && p.s[p.i] == ')' {
		p.i++
	} else {
		for {
			a, err := p.expr(depth + 1)
			if err != nil {
				return nil, err
			}
			e.Args = append(e.Args, a)
			p.space()
			if p.i >= len(p.s) {
				return nil, fmt.Errorf("%s(: missing )", name)
			}
			c := p.s[p.i]
			p.i++
			if c == ')' {
				break
			}
			if c != ',' {
				return nil, fmt.Errorf("%s(: expected , or ) at %q", name, p.s[p.i-1:])
			}
		}
	}
	if len(e.Args) != want {
		return nil, fmt.Errorf("%s takes %d argument(s), got %d", name, want, len(e.Args))
	}
	return e, nil
}

func (p *exprParser) literal() (*Expr, error) {
	p.i++ // "
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch c {
		case '\\':
			if p.i+1 >= len(p.s) {
				return nil, errors.New("unterminated string literal")
			}
			b.WriteByte(p.s[p.i+1])
			p.i += 2
			continue
		case '"':
			p.i++
			v := b.String()
			return &Expr{Lit: &v, IsLit: true}, nil
		}
		b.WriteByte(c)
		p.i++
	}
	return nil, errors.New("unterminated string literal")
}
