package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Limits that keep a hostile file from costing much.
const (
	maxFileBytes = 8 << 20 // largest config or timeline accepted
	maxVisits    = 100_000 // nodes walked, counting each alias expansion
)

// decoder walks a yaml.Node tree and records problems with their lines.
type decoder struct {
	file      string
	errs      *Errors
	visits    int
	exhausted bool
}

// errf records a problem about node n (its line) at key.
func (d *decoder) errf(n *yaml.Node, key, format string, args ...any) {
	if d.exhausted {
		return
	}
	line := 0
	if n != nil {
		line = n.Line
	}
	*d.errs = append(*d.errs, &Error{File: d.file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)})
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parse reads one YAML document. An empty file gives an empty mapping.
func (d *decoder) parse(data []byte) (*yaml.Node, bool) {
	if len(data) > maxFileBytes {
		d.errf(nil, "", "file is larger than %d bytes", maxFileBytes)
		return nil, false
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: 1}, true
		}
		d.yamlErr(err)
		return nil, false
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		d.errf(&extra, "", "more than one YAML document in the file")
		return nil, false
	} else if !errors.Is(err, io.EOF) {
		d.yamlErr(err)
		return nil, false
	}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		return doc.Content[0], true
	}
	return &doc, true
}

func (d *decoder) yamlErr(err error) {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		*d.errs = append(*d.errs, &Error{File: d.file, Line: line, Msg: "invalid YAML: " + m[2]})
		return
	}
	*d.errs = append(*d.errs, &Error{File: d.file, Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")})
}

// resolve follows aliases and counts the visit against the budget. It
// returns nil once the budget is spent.
func (d *decoder) resolve(n *yaml.Node) *yaml.Node {
	if d.exhausted {
		return nil
	}
	for depth := 0; n != nil && n.Kind == yaml.AliasNode; depth++ {
		if depth > 100 {
			return nil
		}
		n = n.Alias
	}
	d.visits++
	if d.visits > maxVisits {
		d.errf(n, "", "document too large: more than %d values after expanding aliases", maxVisits)
		d.exhausted = true
		return nil
	}
	return n
}

// child returns the key path of a mapping entry.
func child(key, name string) string {
	if !isPlainKey(name) {
		return key + "[" + strconv.Quote(name) + "]"
	}
	if key == "" {
		return name
	}
	return key + "." + name
}

func isPlainKey(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// index returns the key path of a list element.
func index(key string, i int) string { return key + "[" + strconv.Itoa(i) + "]" }

// describe names a node's kind for "expected X, got Y" messages.
func describe(n *yaml.Node) string {
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!int":
			return "an integer"
		case "!!float":
			return "a number"
		case "!!bool":
			return "a boolean"
		case "!!timestamp":
			return "a timestamp"
		}
		return "a string"
	}
	return "an unsupported YAML node"
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// entry is one key and value of a mapping.
type entry struct {
	name string
	k, v *yaml.Node
}

// entries returns a mapping's entries in order, with "<<" merge keys
// expanded (explicit keys win) and duplicate keys reported. A null value
// is an empty mapping.
func (d *decoder) entries(n *yaml.Node, key string) []entry {
	n = d.resolve(n)
	if n == nil || isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		d.errf(n, key, "expected a mapping, got %s", describe(n))
		return nil
	}
	var out, merged []entry
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := d.resolve(n.Content[i]), n.Content[i+1]
		if k == nil {
			return nil
		}
		if k.Kind != yaml.ScalarNode {
			d.errf(k, key, "a key must be a string, got %s", describe(k))
			continue
		}
		if k.ShortTag() == "!!merge" {
			merged = append(merged, d.merge(v, key)...)
			continue
		}
		if seen[k.Value] {
			d.errf(k, child(key, k.Value), "duplicate key")
			continue
		}
		seen[k.Value] = true
		out = append(out, entry{k.Value, k, v})
	}
	for _, e := range merged {
		if !seen[e.name] {
			seen[e.name] = true
			out = append(out, e)
		}
	}
	return out
}

// merge returns the entries a "<<" key brings in: one mapping or a list of
// mappings, earlier ones winning.
func (d *decoder) merge(v *yaml.Node, key string) []entry {
	v = d.resolve(v)
	if v == nil {
		return nil
	}
	if v.Kind == yaml.SequenceNode {
		var out []entry
		for _, m := range v.Content {
			out = append(out, d.entries(m, key)...)
		}
		return out
	}
	return d.entries(v, key)
}

// object walks a mapping whose keys must be among known, calling fn for
// each; any other key is an error.
func (d *decoder) object(n *yaml.Node, key string, known []string, fn func(e entry, key string)) {
	for _, e := range d.entries(n, key) {
		if !contains(known, e.name) {
			d.errf(e.k, child(key, e.name), "unknown key (expected one of: %s)", strings.Join(known, ", "))
			continue
		}
		fn(e, child(key, e.name))
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// item resolves a list element that must be a mapping; it reports the
// problem and returns false otherwise.
func (d *decoder) item(n *yaml.Node, key string) (*yaml.Node, bool) {
	rn := d.resolve(n)
	if rn == nil {
		return nil, false
	}
	if rn.Kind != yaml.MappingNode {
		d.errf(rn, key, "expected a mapping, got %s", describe(rn))
		return nil, false
	}
	return rn, true
}

// seq returns a list's elements; a null value is an empty list.
func (d *decoder) seq(n *yaml.Node, key string) []*yaml.Node {
	n = d.resolve(n)
	if n == nil || isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.errf(n, key, "expected a list, got %s", describe(n))
		return nil
	}
	return n.Content
}

// str reads a scalar as text. Numbers and booleans are taken as written.
func (d *decoder) str(n *yaml.Node, key string) (string, bool) {
	n = d.resolve(n)
	if n == nil {
		return "", false
	}
	if n.Kind != yaml.ScalarNode || isNull(n) {
		d.errf(n, key, "expected a string, got %s", describe(n))
		return "", false
	}
	return n.Value, true
}

func (d *decoder) int(n *yaml.Node, key string) (int64, bool) {
	n = d.resolve(n)
	if n == nil {
		return 0, false
	}
	var v int64
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&v) != nil {
		d.errf(n, key, "expected an integer, got %s", describe(n))
		return 0, false
	}
	return v, true
}

func (d *decoder) float(n *yaml.Node, key string) (float64, bool) {
	n = d.resolve(n)
	if n == nil {
		return 0, false
	}
	var v float64
	tag := n.ShortTag()
	if n.Kind != yaml.ScalarNode || (tag != "!!int" && tag != "!!float") || n.Decode(&v) != nil {
		d.errf(n, key, "expected a number, got %s", describe(n))
		return 0, false
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		d.errf(n, key, "expected a finite number")
		return 0, false
	}
	return v, true
}

func (d *decoder) bool(n *yaml.Node, key string) (bool, bool) {
	n = d.resolve(n)
	if n == nil {
		return false, false
	}
	var v bool
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&v) != nil {
		d.errf(n, key, "expected true or false, got %s", describe(n))
		return false, false
	}
	return v, true
}

// duration reads a Go duration, or days ("400d", "1d12h").
func (d *decoder) duration(n *yaml.Node, key string) (time.Duration, bool) {
	s, ok := d.str(n, key)
	if !ok {
		return 0, false
	}
	v, err := ParseDuration(s)
	if err != nil {
		d.errf(n, key, "%v", err)
		return 0, false
	}
	return v, true
}

// positive reads a duration that must be above zero.
func (d *decoder) positive(n *yaml.Node, key string) (time.Duration, bool) {
	v, ok := d.duration(n, key)
	if ok && v <= 0 {
		d.errf(n, key, "must be greater than 0")
		return 0, false
	}
	return v, ok
}

// time reads an RFC 3339 time.
func (d *decoder) time(n *yaml.Node, key string) (time.Time, bool) {
	s, ok := d.str(n, key)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		d.errf(n, key, "invalid time %q: use RFC 3339, e.g. 2026-11-01T02:00:00+09:00", s)
		return time.Time{}, false
	}
	return t, true
}

// name reads a service, flow, step, function or location name.
func (d *decoder) name(n *yaml.Node, key string) (string, bool) {
	s, ok := d.str(n, key)
	if !ok {
		return "", false
	}
	if !isName(s) {
		d.errf(n, key, "invalid name %q: use letters, digits, '_', '.' and '-', starting with a letter or digit", s)
		return "", false
	}
	return s, true
}

// strings reads a list of strings; one string alone is a list of one.
func (d *decoder) strings(n *yaml.Node, key string) []string {
	r := d.resolve(n)
	if r != nil && r.Kind == yaml.ScalarNode && !isNull(r) {
		return []string{r.Value}
	}
	var out []string
	for i, e := range d.seq(n, key) {
		if s, ok := d.str(e, index(key, i)); ok {
			out = append(out, s)
		}
	}
	return out
}

// ParseDuration parses a Go duration ("30s", "2m", "1h30m") or one with a
// leading count of days ("400d", "1d12h").
func ParseDuration(s string) (time.Duration, error) {
	bad := fmt.Errorf("invalid duration %q: use Go durations like 500ms, 30s, 2m, 1h, or days like 400d", s)
	if s == "" {
		return 0, bad
	}
	rest := s
	var days int64
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		n, err := strconv.ParseInt(s[:i], 10, 64)
		if err != nil || n < 0 || n > math.MaxInt64/int64(24*time.Hour) {
			return 0, bad
		}
		days, rest = n, s[i+1:]
	}
	var v time.Duration
	if rest != "" {
		var err error
		if v, err = time.ParseDuration(rest); err != nil {
			return 0, bad
		}
		if days > 0 && v < 0 {
			return 0, bad
		}
	}
	total := time.Duration(days) * 24 * time.Hour
	if v > math.MaxInt64-total {
		return 0, bad
	}
	return total + v, nil
}

// ParseSize parses a byte count: an integer, or a number with a unit
// B, kB/KB, MB, GB (powers of 1000) or KiB, MiB, GiB (powers of 1024).
func ParseSize(s string) (int64, error) {
	bad := fmt.Errorf("invalid size %q: use bytes (1048576) or a unit, e.g. 1MiB, 512KiB, 2MB", s)
	s = strings.TrimSpace(s)
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 || i > 15 {
		return 0, bad
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil {
		return 0, bad
	}
	units := map[string]int64{"": 1, "B": 1, "kB": 1e3, "KB": 1e3, "MB": 1e6, "GB": 1e9, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}
	m, ok := units[strings.TrimSpace(s[i:])]
	if !ok {
		return 0, bad
	}
	return n * m, nil
}
