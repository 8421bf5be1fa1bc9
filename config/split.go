package config

import (
	"bytes"
	"errors"
	"io"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// This file parses a large config without ever holding the whole
// document's YAML tree (#11: the tree of a 50,000-flow config is ~300 MB,
// 25 times the file). The YAML library builds a whole document's tree or
// nothing, so a conservative line scanner cuts each services[i].flows block
// sequence into its items: the skeleton (the file with those items' lines
// emptied, so that every other line keeps its number and columns) is parsed
// as one document, then the items about 32 KiB at a time (a few hundred
// flows), each piece decoded and dropped before the next. The result is the
// whole-document parse's, to the error: the walk visits the same nodes
// (lines shifted back to the file's) in the same order against the same
// budgets. Whenever the scanner cannot be sure of that (anchors, aliases,
// tags, directives, document markers, line breaks other than "\n", a
// flows: that is not a plain block sequence of a service, or any YAML error
// in a piece), Parse falls back to the whole document: that costs memory,
// never a different result. A YAML syntax error (in a piece or in the
// skeleton) is the whole document's too, found without its tree
// (syntaxError, below).
//
// Tabs: the scanner counts a line's leading spaces only, so a line whose
// first character after them is a tab is content at that column to it (not
// blank, not a "- " entry, not a "flows:" key): it ends a list (a piece cut
// short) where it is not deeper than the list's "-". The YAML library
// (scannerc.go, yaml_parser_scan_to_next_token) eats a tab before a line's
// first token only in flow context; in block context such a tab is "found
// character that cannot start any token", or, after a plain scalar (whose
// continuation lines may start with tabs from its block's column + 1 on) or
// in a block scalar (from its indentation on), "a tab character that
// violates indentation" / "where an indentation space is expected". A list
// element's block is deeper than its "-", so a tab at or left of the "-"
// column is an error of the whole document in block context (the piece
// before it parsed, so the document is in block context there): the same
// error in the piece that holds it or in the skeleton, which holds it right
// after the list's emptied "flows:" (syntaxError then gives the whole
// document's). In flow context or in a quoted scalar, the piece cut short
// ends inside it and does not parse (Parse falls back). A tab after a line's
// first token (after ":", "- ", in a comment, a quoted or block scalar's
// content, a flow collection) is inside a line the scanner has already
// judged by its spaces, and reads the same in a piece as in the whole
// document: both hold the same line, in the same block levels from the
// list's "-" on.
//
// Why a piece parses as in the whole document: every line of a list is
// blank, a comment, deeper than the list's "-" column, or a "- " at that
// column, and a piece starts at such a "- " line. If the whole document were
// inside a quoted or [ ] { } value there, the piece before would end inside
// it, which the YAML library refuses (and Parse falls back); plain
// and block scalars cannot reach back to the list's column. So each piece
// starts in block context, with the list's indentation, as in the whole
// document, and its elements are the whole document's (checked: a piece
// must hold exactly the "- " lines it was cut at). The skeleton's check that
// each cut list's key is a service's "flows" key with an empty value, at
// the scanned line and column, ties the pieces to where the walk expects a
// list.

// splitMinBytes is the smallest config Parse splits (about 250 one-step
// flows): below it the whole tree costs little (~1.5 MB). At 1,000 flows
// (290 KB) a reload's tree was ~7 MB, a third of the daemon's heap (#11).
const splitMinBytes = 64 << 10

// minCutBytes is the least a flows list must hold to be cut out (the
// parser's minCut, which tests lower): a smaller one stays in the skeleton.
// Each piece costs a YAML parser (~15 us and ~5 KB), so a file of many tiny
// lists would parse slower split than whole; with this, a file has at most
// two pieces per minCutBytes.
const minCutBytes = 16 << 10

// maxSplitLine bounds the lines of a split item. An item parsed alone sits
// up to four block levels (the top mapping, services, the service and the
// flows list) less deep than in the whole document, so near the YAML
// library's limit of 10,000 nested blocks the whole document could fail
// where the item parses; a block level takes at least one column, so items
// whose lines are all shorter than this cannot come near it.
const maxSplitLine = 8 << 10

// flowsRegion is one services[i].flows block sequence cut out of the file.
type flowsRegion struct {
	line, col int    // of its "flows" key, 1-based like yaml.Node's
	items     []span // its elements, in order
	next      int    // elements parsed so far
	long      bool   // a line longer than maxSplitLine: not to be cut
}

// span is one list element's lines: data[start:end], from line line.
type span struct{ start, end, line int }

// splitFlows cuts the block sequences of at least minCut bytes under
// "flows:" keys out of data. It returns the skeleton (data with those lines
// emptied) and the regions, or false when the file holds anything that
// could make pieces parsed apart differ from the whole document.
// Tabs anywhere are taken (see the top of this file).
func splitFlows(data []byte, minCut int) ([]byte, []*flowsRegion, bool) {
	if !utf8.Valid(data) || bytes.IndexByte(data, '\r') >= 0 {
		return nil, nil, false
	}
	// NEL, LS and PS are line breaks to the YAML library; a BOM may start
	// a document.
	for _, s := range []string{"\u0085", "\u2028", "\u2029", "\uFEFF"} {
		if bytes.Contains(data, []byte(s)) {
			return nil, nil, false
		}
	}
	var regions []*flowsRegion
	l := lines{data: data, line: 1}
	for l.more() {
		text := l.text()
		if bytes.HasPrefix(text, []byte("---")) || bytes.HasPrefix(text, []byte("...")) || bytes.HasPrefix(text, []byte("%")) {
			return nil, nil, false // document markers, directives
		}
		col, ok := flowsKey(text)
		if !ok {
			l.advance()
			continue
		}
		r, after := scanItems(l, col)
		if r == nil {
			l.advance()
			continue
		}
		// A list too small to cut stays in the skeleton, lines and all
		// (a "flows:" inside it is its content, not a service's).
		if r.items[len(r.items)-1].end-r.items[0].start >= minCut {
			if r.long {
				return nil, nil, false
			}
			r.line, r.col = l.line, col+1
			regions = append(regions, r)
		}
		l = after
	}
	if len(regions) == 0 {
		return nil, nil, true
	}
	skel := make([]byte, 0, len(data)/8)
	prev := 0
	for _, r := range regions {
		start, end := r.items[0].start, r.items[len(r.items)-1].end
		skel = append(skel, data[prev:start]...)
		for range bytes.Count(data[start:end], []byte{'\n'}) {
			skel = append(skel, '\n')
		}
		prev = end
	}
	return append(skel, data[prev:]...), regions, true
}

// scanItems finds the block sequence after the "flows:" line at l, whose
// key is at column col (0-based): its elements, each from its "- " line up
// to the next one (blank and comment lines after the last element are its
// own: a kept block scalar's trailing lines depend on them), and the line
// after it. It returns nil when the next content line does not start a
// block sequence (the value stays in the skeleton).
func scanItems(l lines, col int) (*flowsRegion, lines) {
	l.advance()
	for ; l.more() && l.blank(); l.advance() {
	}
	if !l.more() {
		return nil, l
	}
	ind := l.indent()
	if ind < col || !l.dash(ind) {
		return nil, l
	}
	r := &flowsRegion{}
	cur := span{start: l.off, line: l.line}
	for {
		r.long = r.long || len(l.text()) > maxSplitLine
		l.advance()
		if !l.more() {
			cur.end = len(l.data)
			r.items = append(r.items, cur)
			return r, l
		}
		if l.blank() || l.indent() > ind {
			continue
		}
		cur.end = l.off
		r.items = append(r.items, cur)
		if l.indent() < ind || !l.dash(ind) {
			return r, l
		}
		cur = span{start: l.off, line: l.line}
	}
}

// flowsKey reports whether a line is "flows:" or "- flows:", alone or with
// a comment, and the key's column (0-based).
func flowsKey(text []byte) (int, bool) {
	col := indent(text)
	if col+1 < len(text) && text[col] == '-' && text[col+1] == ' ' {
		col++
		for col < len(text) && text[col] == ' ' {
			col++
		}
	}
	rest, ok := bytes.CutPrefix(text[col:], []byte("flows:"))
	if !ok {
		return 0, false
	}
	if len(rest) == 0 {
		return col, true
	}
	// A tab after the ":" is white space to the YAML library (go.yaml.in
	// accepts "flows:\t# c"); the skeleton's parse checks the key.
	if rest[0] != ' ' && rest[0] != '\t' {
		return 0, false
	}
	rest = bytes.TrimLeft(rest, " \t")
	return col, len(rest) == 0 || rest[0] == '#'
}

// indent counts a line's leading spaces.
func indent(text []byte) int {
	n := 0
	for n < len(text) && text[n] == ' ' {
		n++
	}
	return n
}

// lines walks data line by line ("\n" only: splitFlows refuses the other
// line breaks).
type lines struct {
	data      []byte
	off, line int // the current line's start and number
}

func (l *lines) more() bool { return l.off < len(l.data) }

func (l *lines) end() int {
	if i := bytes.IndexByte(l.data[l.off:], '\n'); i >= 0 {
		return l.off + i
	}
	return len(l.data)
}

func (l *lines) text() []byte { return l.data[l.off:l.end()] }

func (l *lines) advance() {
	l.off = min(l.end()+1, len(l.data))
	l.line++
}

func (l *lines) indent() int { return indent(l.text()) }

// blank reports whether the line is empty, spaces, or a comment.
func (l *lines) blank() bool {
	t := l.text()
	i := indent(t)
	return i == len(t) || t[i] == '#'
}

// dash reports whether the line holds "-" at column ind, alone or followed
// by a space: a block sequence entry.
func (l *lines) dash(ind int) bool {
	t := l.text()
	return ind < len(t) && t[ind] == '-' && (ind+1 == len(t) || t[ind+1] == ' ')
}

// parseSplit parses data's skeleton and ties each region to the value it
// stands in for: the (empty) value of the one "flows" key of a service (a
// block mapping) in the one top-level "services" list. It returns false
// when it cannot: the caller parses the whole document instead.
func (p *parser) parseSplit(data []byte) (*yaml.Node, bool) {
	if len(data) > MaxFileBytes {
		return nil, false
	}
	skel, regions, ok := splitFlows(data, p.minCut)
	if !ok || len(regions) == 0 {
		return nil, false
	}
	dec := yaml.NewDecoder(bytes.NewReader(skel))
	var doc, extra yaml.Node
	if err := dec.Decode(&doc); err != nil {
		p.splitYAML = !errors.Is(err, io.EOF)
		return nil, false
	}
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		p.splitYAML = err != nil
		return nil, false
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || !plain(&doc, 0, false) {
		return nil, false
	}
	root := doc.Content[0]
	services, ok := only(root, "services")
	if !ok || services.Kind != yaml.SequenceNode {
		return nil, false
	}
	at := map[[2]int]*flowsRegion{}
	for _, r := range regions {
		at[[2]int{r.line, r.col}] = r
	}
	p.split = map[*yaml.Node]*flowsRegion{}
	for _, svc := range services.Content {
		k, v, ok := entryOf(svc, "flows")
		if !ok {
			continue
		}
		r := at[[2]int{k.Line, k.Column}]
		if r == nil {
			continue
		}
		// In a service written as a flow mapping ({name: a,\n flows:\n
		// - ...}), "- " lines are an error of the whole document, while the
		// skeleton and the pieces parse.
		if svc.Style&yaml.FlowStyle != 0 ||
			v.Kind != yaml.ScalarNode || v.Tag != "!!null" || v.Value != "" || v.Style != 0 {
			return nil, false
		}
		// The empty value stands for the list: it takes the list's place
		// (its first "-"), which a problem about it (a budget spent) names.
		first := r.items[0]
		v.Line, v.Column = first.line, indent(data[first.start:])+1
		p.split[v] = r
		delete(at, [2]int{k.Line, k.Column})
	}
	if len(at) > 0 {
		return nil, false // a "flows:" list the walk would not reach as a service's
	}
	p.regions = regions
	return root, true
}

// only returns the value of a mapping's key name, when the mapping holds
// that key exactly once.
func only(n *yaml.Node, name string) (*yaml.Node, bool) {
	_, v, ok := entryOf(n, name)
	return v, ok
}

// entryOf returns the key and value of name in mapping n, when it is there
// exactly once.
func entryOf(n *yaml.Node, name string) (k, v *yaml.Node, ok bool) {
	if n.Kind != yaml.MappingNode {
		return nil, nil, false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if c := n.Content[i]; c.Kind == yaml.ScalarNode && c.Value == name {
			if k != nil {
				return nil, nil, false
			}
			k, v = c, n.Content[i+1]
		}
	}
	return k, v, k != nil
}

// plain reports whether a tree is free of anchors, aliases, explicit tags
// and (unless merges) merge keys, and moves its lines down by shift.
func plain(n *yaml.Node, shift int, merges bool) bool {
	if n.Kind == yaml.AliasNode || n.Anchor != "" || n.Style&yaml.TaggedStyle != 0 || !merges && n.Tag == "!!merge" {
		return false
	}
	n.Line += shift
	for _, c := range n.Content {
		if !plain(c, shift, merges) {
			return false
		}
	}
	return true
}

// chunkBytes is about how much of a flows list one YAML parse takes (the
// parser's chunk, which tests lower): a few hundred flows, whose tree is
// small, and whose parser setup is shared.
const chunkBytes = 32 << 10

// splitChunk parses region r's next elements, about p.chunk bytes of them,
// apart from the rest of the file, with the file's lines. False means the
// piece is not what the whole document would hold there (or a YAML error,
// which the whole document reports).
func (p *parser) splitChunk(data []byte, r *flowsRegion) ([]*yaml.Node, bool) {
	first := r.items[r.next]
	end := r.next + 1
	for end < len(r.items) && r.items[end].end-first.start <= p.chunk {
		end++
	}
	n := end - r.next
	r.next = end
	p.pieces++
	var doc yaml.Node
	if err := yaml.Unmarshal(data[first.start:r.items[end-1].end], &doc); err != nil {
		p.splitYAML = true
		return nil, false
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, false
	}
	seq := doc.Content[0]
	if seq.Kind != yaml.SequenceNode || seq.Style != 0 || len(seq.Content) != n || seq.Anchor != "" {
		return nil, false
	}
	for _, item := range seq.Content {
		if !plain(item, first.line-1, true) {
			return nil, false
		}
	}
	return seq.Content, true
}

// flowItems calls fn with each element of a service's flows list: split
// ones parsed one at a time. It first calls size with the number of
// elements, when there are any.
func (p *parser) flowItems(n *yaml.Node, key string, size func(n int), fn func(i int, item *yaml.Node)) {
	r := p.split[n]
	if r == nil {
		items := p.seq(n, key)
		if len(items) > 0 {
			size(len(items))
		}
		for i, item := range items {
			fn(i, item)
		}
		return
	}
	if p.resolve(n) == nil { // counted as the list it stands for
		return
	}
	size(len(r.items))
	for i := 0; r.next < len(r.items); {
		items, ok := p.splitChunk(p.data, r)
		if !ok {
			p.splitFailed, p.exhausted = true, true // stop the walk; Parse starts over
			return
		}
		for _, item := range items {
			fn(i, item)
			i++
		}
	}
}

// splitDone parses what the walk did not reach of the split lists (a walk
// cut short still needs every piece checked): false when Parse must start
// over with the whole document.
func (p *parser) splitDone() bool {
	if p.splitFailed {
		return false
	}
	for _, r := range p.regions {
		for r.next < len(r.items) {
			if _, ok := p.splitChunk(p.data, r); !ok {
				return false
			}
		}
	}
	return true
}

// A YAML syntax error in a piece, or in the skeleton, makes Parse give the
// whole document's error, its message and line, which the pieces alone
// cannot: the YAML library numbers some problems from the construct they
// are in (the flows list's first "-", a mapping's first key), and a piece
// may fail only because it was cut out. Parsing the whole document for it
// held the tree up to the error: `slaprobe check` of a 50,000-flow file
// with a typo in its last flow took ~290 MB, the good file ~130 (#11).
// syntaxError parses the whole document with the list elements that are
// known to parse as they do in it emptied instead (their lines kept,
// blank): each is part of a piece that parses alone, with every piece
// before it in the document, neither the first nor the last of its list,
// in a list whose "flows:" key the document's text up to the list (lists
// before it so emptied) shows as a key of a block mapping with nothing
// after it on its line. The whole document's parser goes through the same
// states on those lines as on blank ones: each emptied element is a
// complete block sequence entry at the list's column, after which the
// parser is where it was before it; the list's first element is kept, as
// the list's start is the line some problems name (and the text after the
// list follows a list then, as in the document: after an empty value, "- "
// at the key's column would be the value), and its last, which may end the
// file without a line break. From the first piece that does not
// parse alone on, the text is the document's own. So the error, or none,
// is the whole document's, and the tree built is that of the skeleton, of
// two elements a list, and of what lies between the first piece that does
// not parse alone and the error.

// syntaxError returns the whole document's YAML error (nil for none), as
// the decoder's parse would meet it; false when data is not one the split
// parse takes apart (the caller parses the whole document).
func syntaxError(data []byte, minCut, chunk int) (error, bool) {
	doc, ok := emptiedDoc(data, minCut, chunk)
	if !ok {
		return nil, false
	}
	return yamlError(doc), true
}

// emptiedDoc is data with the list elements known to parse as in the whole
// document emptied (syntaxError).
func emptiedDoc(data []byte, minCut, chunk int) ([]byte, bool) {
	if len(data) > MaxFileBytes {
		return nil, false // refused before any YAML
	}
	// The YAML library reads its input 512 bytes at a time and refuses a
	// character that is not YAML's (a control character) as it decodes the
	// chunk that holds it, before parsing the bytes before it there: which
	// error comes first depends on the chunks' bounds, which emptying
	// moves (a tab's error two lines before a U+0001 was reported in the
	// emptied text, the U+0001 in the whole document).
	if off, _ := badChar(data); off >= 0 {
		return nil, false
	}
	_, regions, ok := splitFlows(data, minCut)
	if !ok || len(regions) == 0 {
		return nil, false
	}
	// Each list's elements that can be emptied: those after its first, in
	// pieces that parse alone, up to its last or to the first piece that
	// does not parse alone (the last list to empty).
	var blank []span // data[start:end], one per list; zero when none
	for _, r := range regions {
		f := parsesAlone(data, r, chunk)
		last := min(f, len(r.items)-1) // the first element kept after the first
		var b span
		if last > 1 {
			b = span{start: r.items[1].start, end: r.items[last-1].end}
		}
		blank = append(blank, b)
		if f < len(r.items) {
			break
		}
	}
	// Only the lists whose "flows:" key the emptied text up to their first
	// element shows as a key of a block mapping, with nothing after it.
	n := knownKeys(data, regions, blank)
	return emptiedText(data, blank[:n], len(data)), true
}

// emptiedText is data[:end] with the spans' text emptied, their lines kept.
func emptiedText(data []byte, blank []span, end int) []byte {
	doc := make([]byte, 0, len(data)/8)
	prev := 0
	for _, b := range blank {
		if b.end == 0 || b.start >= end {
			continue
		}
		doc = append(doc, data[prev:b.start]...)
		for range bytes.Count(data[b.start:b.end], []byte{'\n'}) {
			doc = append(doc, '\n')
		}
		prev = b.end
	}
	return append(doc, data[prev:end]...)
}

// yamlError is the YAML error of data as decoder.parse meets it: the first
// document's, or the next one's but io.EOF (a second document is not a
// syntax error, and split data has no document markers).
func yamlError(data []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		return err
	}
	doc = yaml.Node{} // the tree is garbage: only the rest's error counts
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// knownKeys is how many of the first regions (of those with a blank) have
// their "flows:" key where the whole document's parser reads it as a key
// of a block mapping (no flow collection around it) with nothing after it
// on its line: the most for which data up to the last one's first element,
// the regions before it emptied as blank says, is one YAML document that
// shows so (the whole document and that text are read the same up to
// there), found by halving.
func knownKeys(data []byte, regions []*flowsRegion, blank []span) int {
	lo, hi := 0, len(blank)
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if keysKnown(emptiedText(data, blank[:mid-1], regions[mid-1].items[0].start), regions[:mid]) {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}

// keysKnown parses text and reports whether each region's key is where the
// tree holds a key of a block mapping, all of whose ancestors are block
// collections: the last one's with an empty null value (text ends before
// its list), the others' with a block sequence.
func keysKnown(text []byte, regions []*flowsRegion) bool {
	dec := yaml.NewDecoder(bytes.NewReader(text))
	var doc, extra yaml.Node
	if dec.Decode(&doc) != nil || !errors.Is(dec.Decode(&extra), io.EOF) {
		return false
	}
	keys := map[[2]int]*yaml.Node{} // values
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Style&yaml.FlowStyle != 0 || n.Kind == yaml.AliasNode {
			return
		}
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if k := n.Content[i]; k.Kind == yaml.ScalarNode && k.Style == 0 && k.Value == "flows" {
					keys[[2]int{k.Line, k.Column}] = n.Content[i+1]
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&doc)
	for i, r := range regions {
		v := keys[[2]int{r.line, r.col}]
		switch {
		case v == nil:
			return false
		case i == len(regions)-1:
			if v.Kind != yaml.ScalarNode || v.Tag != "!!null" || v.Value != "" || v.Style != 0 {
				return false
			}
		case v.Kind != yaml.SequenceNode || v.Style != 0:
			return false
		}
	}
	return true
}

// parsesAlone is the index of the first element of r in a piece (cut as
// splitChunk cuts them, chunk bytes or so) that does not parse alone as
// the elements it was cut at, free of anchors, aliases and tags: len(r.items)
// when every piece does.
func parsesAlone(data []byte, r *flowsRegion, chunk int) int {
	for next := 0; next < len(r.items); {
		first := r.items[next]
		end := next + 1
		for end < len(r.items) && r.items[end].end-first.start <= chunk {
			end++
		}
		var doc yaml.Node
		if yaml.Unmarshal(data[first.start:r.items[end-1].end], &doc) != nil || doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
			return next
		}
		seq := doc.Content[0]
		if seq.Kind != yaml.SequenceNode || seq.Style != 0 || len(seq.Content) != end-next || seq.Anchor != "" {
			return next
		}
		for _, item := range seq.Content {
			if !plain(item, 0, true) {
				return next
			}
		}
		next = end
	}
	return len(r.items)
}
