package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Limits that keep a hostile file from costing much. The walk's budgets
// grow with the file, so that a large config written out in full loads (a
// 9 MB file of 50,000 flows), while aliases that expand a small file into a
// huge document are still refused early: an alias-free document never
// visits more than a few values and bytes per byte of its file.
const (
	// MaxFileBytes is the largest config or timeline file read (about
	// 175,000 one-step flows).
	MaxFileBytes = 32 << 20

	baseVisits        = 100_000 // values any file may walk, counting each alias expansion
	visitsPerByte     = 4       // and this many more per byte of the file
	baseValueBytes    = 8 << 20 // bytes of scalar values any file may walk, counting each alias expansion
	valueBytesPerByte = 4       // and this many more per byte of the file

	maxErrors = 200  // problems reported per load; the walk stops after them
	maxQuote  = 64   // bytes of a value quoted in a message
	maxMsg    = 1024 // bytes of a message
	maxKey    = 256  // bytes of a key path
)

// decoder walks a yaml.Node tree and records problems with their lines.
type decoder struct {
	file      string
	errs      *Errors
	visits    int
	bytes     int
	maxVisits int // budgets, set by budget from the file's size
	maxBytes  int
	exhausted bool
	// redact, when set, removes the secrets known so far from a value
	// before it is clipped into a message.
	redact func(string) string
	// strs holds the strings this walk has returned, each value once
	// (intern); ptrs and bools the matchers' operands (internPtr, boolPtr).
	strs  map[string]string
	ptrs  map[string]*string
	bools [2]*bool
}

// intern returns s, or the equal string the walk met first: the config
// keeps one copy of each text its flows repeat (step names and functions,
// URLs, JSONPaths, header names and values, ...) instead of the YAML
// library's copy per scalar. The map lives as long as the decoder (one
// load), and holds no more strings than the walk visits values.
func (d *decoder) intern(s string) string {
	if s == "" {
		return ""
	}
	if v, ok := d.strs[s]; ok {
		return v
	}
	if d.strs == nil {
		d.strs = map[string]string{}
	}
	d.strs[s] = s
	return s
}

// internPtr returns a pointer to intern(s), the same one for every equal s
// of this load: a matcher's operand is a *string (set or not), one 16-byte
// object per flow otherwise. The config's pointers are read, never
// written through.
func (d *decoder) internPtr(s string) *string {
	if v, ok := d.ptrs[s]; ok {
		return v
	}
	if d.ptrs == nil {
		d.ptrs = map[string]*string{}
	}
	v := new(string)
	*v = d.intern(s)
	d.ptrs[*v] = v
	return v
}

// boolPtr is internPtr of a bool.
func (d *decoder) boolPtr(b bool) *bool {
	i := 0
	if b {
		i = 1
	}
	if d.bools[i] == nil {
		d.bools[i] = &b
	}
	return d.bools[i]
}

// errf records a problem about node n (its line) at key. Arguments quoted
// with %q (values from the file) are clipped to a short prefix (a value may
// be megabytes long, and aliases repeat it), and the message and key are
// bounded; after maxErrors problems the walk stops.
func (d *decoder) errf(n *yaml.Node, key, format string, args ...any) {
	if d.exhausted {
		return
	}
	line := 0
	if n != nil {
		line = n.Line
	}
	if len(*d.errs) >= maxErrors {
		*d.errs = append(*d.errs, &Error{File: d.file, Line: line, Msg: fmt.Sprintf("too many problems: stopped after the first %d", maxErrors)})
		d.exhausted = true
		return
	}
	for i, verb := range verbs(format) {
		if s, ok := args[min(i, len(args)-1)].(string); ok && i < len(args) {
			if d.redact != nil {
				s = d.redact(s)
			}
			if verb == 'q' {
				s = clip(s, maxQuote) // a value from the file
			}
			args[i] = s
		}
	}
	*d.errs = append(*d.errs, &Error{File: d.file, Line: line, Key: clip(key, maxKey), Msg: clip(fmt.Sprintf(format, args...), maxMsg)})
}

// verbs returns the verb of each argument of a printf format (the code
// here uses neither explicit indexes nor '*').
func verbs(format string) []byte {
	var out []byte
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		for i++; i < len(format) && strings.IndexByte("+-# 0123456789.", format[i]) >= 0; i++ {
		}
		if i < len(format) && format[i] != '%' {
			out = append(out, format[i])
		}
	}
	return out
}

// clip returns s, or its first bytes (whole runes) and the length it had
// when it is longer than limit.
func clip(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…(" + strconv.Itoa(len(s)) + " bytes)"
}

// quote is strconv.Quote of at most a short prefix of s.
func quote(s string) string { return strconv.Quote(clip(s, maxQuote)) }

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parserProblems are the problems the YAML library's parser reports (its
// scanner's are others): it gives their line from 0, one less than the
// file's line (go.yaml.in/yaml/v3 parser.fail adds the 1 only to a
// scanner's), so an unclosed `[` on line 4 read "line 3".
var parserProblems = []string{
	"did not find expected <stream-start>",
	"did not find expected <document start>",
	"did not find expected node content",
	"did not find expected '-' indicator",
	"did not find expected key",
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"found undefined tag handle",
	"found duplicate %YAML directive",
	"found duplicate %TAG directive",
	"found incompatible YAML document",
}

// newDecoder is a decoder of a file of size bytes, its walk's budgets
// set from that size.
func newDecoder(file string, errs *Errors, size int) decoder {
	d := decoder{file: file, errs: errs}
	d.budget(size)
	return d
}

// parse reads one YAML document (the decoder's budgets are set from its
// size when the decoder is made: newDecoder). An empty file gives an empty
// mapping.
func (d *decoder) parse(data []byte) (*yaml.Node, bool) {
	if len(data) > MaxFileBytes {
		d.errf(nil, "", "file is larger than %d bytes", MaxFileBytes)
		return nil, false
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: 1}, true
		}
		d.yamlErr(err, data)
		return nil, false
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		d.errf(&extra, "", "more than one YAML document in the file")
		return nil, false
	} else if !errors.Is(err, io.EOF) {
		d.yamlErr(err, data)
		return nil, false
	}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		return doc.Content[0], true
	}
	return &doc, true
}

// budget sets the walk's budgets for a file of size bytes.
func (d *decoder) budget(size int) {
	d.maxVisits = baseVisits + visitsPerByte*size
	d.maxBytes = baseValueBytes + valueBytesPerByte*size
}

// yamlErr records a YAML syntax error with its line. The YAML library
// leaves the line out of problems on the first line and of problems in the
// bytes themselves (invalid UTF-8, control characters); those lines are
// found here.
func (d *decoder) yamlErr(err error, data []byte) {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		if slices.Contains(parserProblems, m[2]) {
			// Numbered from 0 (the scanner's from 1): the line of the
			// construct the parser was in, or of the problem; at the end
			// of the file, the line after its last newline.
			line = min(line+1, lastLine(data))
		}
		*d.errs = append(*d.errs, &Error{File: d.file, Line: line, Msg: clip("invalid YAML: "+m[2], maxMsg)})
		return
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	line := 1
	if off, what := badChar(data); off >= 0 {
		line = 1 + bytes.Count(data[:off], []byte{'\n'})
		msg = what
	} else if name, ok := strings.CutPrefix(msg, "unknown anchor '"); ok {
		// The library names the anchor but not the line of the alias.
		if off := aliasOffset(data, strings.TrimSuffix(name, "' referenced")); off >= 0 {
			line = 1 + bytes.Count(data[:off], []byte{'\n'})
		}
	}
	*d.errs = append(*d.errs, &Error{File: d.file, Line: line, Msg: clip("invalid YAML: "+msg, maxMsg)})
}

// lastLine is the number of data's last line (1 for an empty file).
func lastLine(data []byte) int {
	n := bytes.Count(data, []byte{'\n'})
	if len(data) == 0 || data[len(data)-1] != '\n' {
		n++
	}
	return max(1, n)
}

// aliasOffset returns the offset of the first alias "*name" in data (the
// name ending where an alias ends), or -1.
func aliasOffset(data []byte, name string) int {
	pat := []byte("*" + name)
	for from := 0; ; {
		i := bytes.Index(data[from:], pat)
		if i < 0 || name == "" {
			return -1
		}
		end := from + i + len(pat)
		if end == len(data) || bytes.IndexByte([]byte(" \t\r\n,]}"), data[end]) >= 0 {
			return from + i
		}
		from = end
	}
}

// badChar returns the offset of the first byte YAML does not accept (not
// UTF-8, or a control character), with what it is, or -1.
func badChar(data []byte) (int, string) {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			return i, fmt.Sprintf("invalid UTF-8 (byte 0x%02x)", data[i])
		case !yamlPrintable(r) && !(i == 0 && r == '\uFEFF'):
			return i, fmt.Sprintf("control character %U is not allowed", r)
		}
		i += size
	}
	return -1, ""
}

// yamlPrintable is YAML 1.2's c-printable.
func yamlPrintable(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' || r >= 0x20 && r <= 0x7e || r == 0x85 ||
		r >= 0xa0 && r <= 0xd7ff || r >= 0xe000 && r <= 0xfffd || r >= 0x10000 && r <= 0x10ffff
}

// resolve follows aliases and counts the visit (and a scalar's bytes)
// against the budgets. It returns nil once a budget is spent.
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
	if n != nil {
		d.bytes += len(n.Value)
	}
	if d.maxVisits == 0 { // a walk without parse (tests build nodes by hand)
		d.maxVisits, d.maxBytes = baseVisits, baseValueBytes
	}
	switch {
	case d.visits > d.maxVisits:
		d.errf(n, "", "document too large: more than %d values after expanding aliases", d.maxVisits)
		d.exhausted = true
		return nil
	case d.bytes > d.maxBytes:
		d.errf(n, "", "document too large: more than %d bytes of values after expanding aliases", d.maxBytes)
		d.exhausted = true
		return nil
	}
	return n
}

// child returns the key path of a mapping entry.
func child(key, name string) string {
	if len(key) > maxKey {
		return key // already clipped in messages; stop growing it
	}
	if !isPlainKey(name) || len(name) > maxQuote {
		return key + "[" + quote(name) + "]"
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
		out = append(out, entry{d.intern(k.Value), k, v})
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

// str reads a scalar as text (interned). Numbers and booleans are taken as
// written.
func (d *decoder) str(n *yaml.Node, key string) (string, bool) {
	s, ok := d.text(n, key)
	return d.intern(s), ok
}

// text is str without intern, for texts that are unique by rule (flow
// names): interning them would only grow the map.
func (d *decoder) text(n *yaml.Node, key string) (string, bool) {
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

// atLeast reads a duration that must be at least min: below the floors in
// limits.go a setting only burns CPU (an interval of 1ns froze the daemon).
func (d *decoder) atLeast(n *yaml.Node, key string, min time.Duration) (time.Duration, bool) {
	v, ok := d.duration(n, key)
	if ok && v < min {
		d.errf(n, key, "%v is below the minimum of %v", v, min)
		return 0, false
	}
	return v, ok
}

// zone loads an IANA time zone by name. "Local" and "localtime" (whatever
// zone the host happens to be set to: Debian's /usr/share/zoneinfo/localtime
// is a link to /etc/localtime, which time.LoadLocation reads) and "" are
// refused: reports must not change with the machine they run on. So are
// the names only a host's zoneinfo directory has, not the tz database
// Go embeds (time/tzdata): posixrules (a copy of America/New_York on
// Debian, of another zone elsewhere), posix/NAME and right/NAME (NAME
// with leap seconds counted, 27 s off); for the last two NAME is
// suggested. Only a name that does not load is compared with the IANA
// names (zoneHint walks some 600 of them, 0.3 ms, where a name that loads
// takes 7 µs).
func zone(name string) (*time.Location, error) {
	bad := func() error {
		if hint := zoneHint(name); hint != "" {
			return fmt.Errorf("unknown time zone %s:%s (use an IANA name such as Asia/Seoul)", quote(name), hint)
		}
		return fmt.Errorf("unknown time zone %s (use an IANA name such as Asia/Seoul)", quote(name))
	}
	if name == "" || name == "Local" || name == "localtime" || name == "posixrules" ||
		strings.HasPrefix(name, "posix/") || strings.HasPrefix(name, "right/") {
		return nil, bad()
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, bad()
	}
	return loc, nil
}

// validHostPort reports whether s is HOST:PORT with a port 0..65535 and a
// host that is empty (every interface), an IP address or a DNS name.
func validHostPort(s string) bool {
	host, port, err := net.SplitHostPort(s)
	if err != nil || !isPort(port) {
		return false
	}
	if host == "" {
		return true
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	return isHostname(host)
}

// isHostname reports whether s is a DNS name: dot-separated labels of
// letters, digits and '-', 1 to 63 bytes each, not starting or ending with
// '-'; at most 253 bytes.
func isHostname(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
				return false
			}
		}
	}
	return true
}

// time reads an RFC 3339 time.
func (d *decoder) time(n *yaml.Node, key string) (time.Time, bool) {
	s, ok := d.str(n, key)
	if !ok {
		return time.Time{}, false
	}
	t, err := ParseRFC3339(s)
	if err != nil {
		d.errf(n, key, "invalid time %q: %v", s, err)
		return time.Time{}, false
	}
	return t, true
}

// name reads a service, step, function or location name.
func (d *decoder) name(n *yaml.Node, key string) (string, bool) {
	s, ok := d.str(n, key)
	return d.checkName(n, key, s, ok)
}

// uniqueName reads a flow's name: unique in the config, so not interned.
func (d *decoder) uniqueName(n *yaml.Node, key string) (string, bool) {
	s, ok := d.text(n, key)
	return d.checkName(n, key, s, ok)
}

func (d *decoder) checkName(n *yaml.Node, key, s string, ok bool) (string, bool) {
	if !ok {
		return "", false
	}
	if problem := nameProblem(s); problem != "" {
		d.errf(n, key, "invalid name %q: %s", s, problem)
		return "", false
	}
	return s, true
}

// strings reads a list of strings; one string alone is a list of one.
func (d *decoder) strings(n *yaml.Node, key string) []string {
	r := d.resolve(n)
	if r != nil && r.Kind == yaml.ScalarNode && !isNull(r) {
		return []string{d.intern(r.Value)}
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
	if d, ok := parseDuration(s); ok {
		return d, nil
	}
	// Made only for a bad one: a 50,000-flow config parses some 100,000
	// good durations.
	return 0, fmt.Errorf("invalid duration %s: use Go durations like 500ms, 30s, 2m, 1h, or days like 400d", quote(s))
}

// parseDuration is ParseDuration without its error: false for what it
// refuses.
func parseDuration(s string) (time.Duration, bool) {
	if s == "" {
		return 0, false
	}
	rest := s
	var days int64
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		n, err := strconv.ParseInt(s[:i], 10, 64)
		if err != nil || n < 0 || n > math.MaxInt64/int64(24*time.Hour) {
			return 0, false
		}
		days, rest = n, s[i+1:]
	}
	var v time.Duration
	if rest != "" {
		var err error
		if v, err = time.ParseDuration(rest); err != nil {
			return 0, false
		}
		if days > 0 && v < 0 {
			return 0, false
		}
	}
	total := time.Duration(days) * 24 * time.Hour
	if v > math.MaxInt64-total {
		return 0, false
	}
	return total + v, true
}

// ParseSize parses a byte count: an integer, or a number with a unit
// B, kB/KB, MB, GB (powers of 1000) or KiB, MiB, GiB (powers of 1024).
func ParseSize(s string) (int64, error) {
	bad := fmt.Errorf("invalid size %s: use bytes (1048576) or a unit, e.g. 1MiB, 512KiB, 2MB", quote(s))
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
	if n > math.MaxInt64/m {
		return 0, fmt.Errorf("size %s is too large", quote(s))
	}
	return n * m, nil
}

// ParseRFC3339 reads an RFC 3339 time, whose "T" and "Z" may be written in
// lower case (RFC 3339, section 5.6), as a config's, a timeline's and the
// command line's times are read. A string that is not one is an error
// that says why where it can: a day or month out of range, a leap second
// (":60", which Go's time cannot hold), an offset of 24 hours or more
// (RFC 3339's offset hours are 00 to 23; Go takes up to 24).
func ParseRFC3339(s string) (time.Time, error) {
	const use = UseRFC3339
	u := upperTZ(s)
	t, err := time.Parse(time.RFC3339, u)
	if err != nil {
		if len(u) >= 20 && u[10] == 'T' && u[17:19] == "60" {
			return time.Time{}, fmt.Errorf("a leap second (:60) cannot be stored: write %s:59 or the next second", u[11:16])
		}
		if msg := err.Error(); strings.HasSuffix(msg, " out of range") {
			return time.Time{}, fmt.Errorf("%s: %s", msg[strings.LastIndex(msg, ": ")+2:], use)
		}
		if why := notRFC3339(s, u); why != "" {
			return time.Time{}, errors.New(why + ": " + use)
		}
		return time.Time{}, errors.New(use)
	}
	if len(u) > 19 && u[19] == ',' { // Go takes a comma there; RFC 3339's time-secfrac is "." 1*DIGIT
		frac := u[20:]
		if k := strings.IndexFunc(frac, func(r rune) bool { return r < '0' || r > '9' }); k >= 0 {
			frac = frac[:k]
		}
		return time.Time{}, fmt.Errorf("a fraction of a second follows a '.' (%s.%s), not a ','", u[11:19], frac)
	}
	if u[12] == ':' { // time.Parse takes a one-digit hour; RFC 3339's time-hour is 2DIGIT
		return time.Time{}, fmt.Errorf("the hour has two digits (0%s, not %s): %s", u[11:12], u[11:12], use)
	}
	if _, off := t.Zone(); off >= 24*3600 || off <= -24*3600 {
		return time.Time{}, fmt.Errorf("offset hours out of range (00 to 23): %s", use)
	}
	return t, nil
}

// UseRFC3339 ends ParseRFC3339's error for a string that is no RFC 3339
// time, after what it can tell of why ("no offset: ...: use RFC 3339, ...").
const UseRFC3339 = "use RFC 3339, e.g. 2026-11-01T02:00:00+09:00"

// notRFC3339 says what keeps s (u: s with t and z upper case) from being an
// RFC 3339 time where it is one of the usual near misses (white space around
// it, a date alone, a space for the T, no offset, an offset without its
// colon or a zone's name for it, no seconds), "" otherwise.
func notRFC3339(s, u string) string {
	ok := func(layout, v string) bool { _, err := time.Parse(layout, v); return err == nil }
	const wall = "2006-01-02T15:04:05" // time.Parse takes a fraction after it too
	if strings.TrimSpace(s) != s {
		return "white space before or after the time"
	}
	if why := zoneNamed(s, u); why != "" {
		return why
	}
	switch {
	case ok("2006-01-02", u):
		return "a date alone: give a time of day and its offset too"
	case len(u) >= 16 && u[10] == ' ' && ok("2006-01-02T15:04", u[:10]+"T"+u[11:16]): // a date, a space, an hour and minute
		return "a space between the date and the time, where RFC 3339 has a T"
	case ok(wall, u):
		return "no offset: end the time with Z (UTC) or its offset from UTC"
	case ok(time.RFC3339, strings.ReplaceAll(u, " ", "")):
		return "a space inside the time"
	case ok(wall+"-0700", u):
		return "an offset without its colon (+0900 is written +09:00)"
	case ok("2006-01-02T15:04Z07:00", u):
		return "no seconds: write them (" + withSeconds("2006-01-02T15:04Z07:00", u) + ")"
	case ok("2006-01-02T15:04", u):
		return "no seconds and no offset: write them (" + withSeconds("2006-01-02T15:04", u) + ", then Z for UTC or the offset from UTC)"
	}
	return ""
}

// zoneNamed says what keeps s (u: s with t and z upper case) from being an
// RFC 3339 time when a zone's name stands where its offset goes, after a
// wall clock time whose T may be a space and whose seconds may be left
// out ("2026-11-01T01:30 EST", "2026-11-01 01:30:00 EST"), all of it: ""
// when s is no such time. A name is letters alone, not Z (RFC 3339's UTC)
// and not a 12-hour clock's AM or PM.
func zoneNamed(s, u string) string {
	ok := func(layout, v string) bool { _, err := time.Parse(layout, v); return err == nil }
	const wall = "2006-01-02T15:04:05" // time.Parse takes a fraction after it too
	if len(u) != len(s) || len(u) <= 16 {
		return "" // invalid UTF-8 (which YAML does not pass on), or too short
	}
	spaced := u[10] == ' '
	t := u // u with its T written
	if spaced {
		t = u[:10] + "T" + u[11:]
	}
	var fixed, rest string // the wall time with its seconds; what follows it in s
	noSeconds := false
	switch {
	case len(t) > len(wall) && ok(wall, t[:len(wall)]):
		// The name as written: t's first bytes, a wall time, are ASCII,
		// so s's rest begins where t's does.
		rest = strings.TrimLeft(s[len(wall):], ".0123456789")
		fixed = t[:len(t)-len(rest)]
	case t[16] != ':' && ok("2006-01-02T15:04", t[:16]):
		rest, fixed, noSeconds = s[16:], t[:16]+":00", true
	default:
		return ""
	}
	name := strings.TrimSpace(rest)
	if name == "" || strings.IndexFunc(name, func(r rune) bool { return !unicode.IsLetter(r) }) >= 0 ||
		strings.EqualFold(name, "Z") || strings.EqualFold(name, "AM") || strings.EqualFold(name, "PM") {
		return ""
	}
	why := "a zone's name (" + name + ") where its offset goes"
	if !spaced && !noSeconds {
		return why + ": write the offset, e.g. +09:00"
	}
	var also []string
	if spaced {
		also = append(also, "a space where RFC 3339 has a T")
	}
	if noSeconds {
		also = append(also, "no seconds")
	}
	return why + ", " + strings.Join(also, ", ") + ": write " + fixed + " and the offset, e.g. +09:00"
}

// withSeconds is the time of day of u, which layout parses, with its
// seconds: "10:00:00" of "2026-05-01T10:00Z" (and of "2026-05-01T1:00Z", a
// one-digit hour time.Parse takes, "01:00:00").
func withSeconds(layout, u string) string {
	t, _ := time.Parse(layout, u)
	return t.Format("15:04:05")
}

// upperTZ is s with t and z upper-cased, the only letters with a case in
// RFC 3339 ("2026-11-01t01:30:00z").
func upperTZ(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case 't':
			return 'T'
		case 'z':
			return 'Z'
		}
		return r
	}, s)
}
