package probe

import (
	"regexp"

	"github.com/ohler55/ojg/jp"

	"github.com/slaprobe/slaprobe/config"
)

// compileCache shares, among the flows that one NewRunner compiles, the
// JSONPath expressions, regular expressions and TLS settings written the
// same: a config
// of 50,000 flows that each check "$.query" held 50,000 copies of it
// (about 7 MB). Shared are only values that concurrent runs may use at once:
// a *regexp.Regexp (safe for concurrent use), and a JSONPath of names and
// indexes only (one the scanner follows: scanPath), which ojg's Get and
// FirstFound only read. It lives while NewRunner compiles; a flow compiled
// later (Runner.compiled) parses its own.
type compileCache struct {
	paths map[string]parsedPath
	res   map[string]*regexp.Regexp
	tls   map[config.TLS]*config.TLS
}

// parsedPath is a parsed JSONPath and its scanner segments.
type parsedPath struct {
	expr jp.Expr
	segs []pathSeg
	scan bool
}

func newCompileCache() *compileCache {
	return &compileCache{paths: map[string]parsedPath{}, res: map[string]*regexp.Regexp{}, tls: map[config.TLS]*config.TLS{}}
}

// tlsOf returns TLS settings for a compiled flow to point to: nil for
// none, the same pointer for the same settings (a compiled flow held them
// inline: 72 of its 256 bytes, mostly zero).
func (c *compileCache) tlsOf(t config.TLS) *config.TLS {
	if t == (config.TLS{}) {
		return nil
	}
	if c != nil {
		if p, ok := c.tls[t]; ok {
			return p
		}
	}
	p := &t
	if c != nil {
		c.tls[t] = p
	}
	return p
}

// path parses a JSONPath expression (shared when c is not nil and the
// expression is one the scanner follows).
func (c *compileCache) path(src string) (parsedPath, error) {
	if p, ok := c.lookupPath(src); ok {
		return p, nil
	}
	expr, err := jp.ParseString(src)
	if err != nil {
		return parsedPath{}, err
	}
	p := parsedPath{expr: expr}
	p.segs, p.scan = scanPath(expr)
	if c != nil && p.scan {
		c.paths[src] = p
	}
	return p, nil
}

func (c *compileCache) lookupPath(src string) (parsedPath, bool) {
	if c == nil {
		return parsedPath{}, false
	}
	p, ok := c.paths[src]
	return p, ok
}

// regexp compiles a regular expression (shared when c is not nil).
func (c *compileCache) regexp(src string) (*regexp.Regexp, error) {
	if c != nil {
		if re, ok := c.res[src]; ok {
			return re, nil
		}
	}
	re, err := regexp.Compile(src)
	if err != nil {
		return nil, err
	}
	if c != nil {
		c.res[src] = re
	}
	return re, nil
}
