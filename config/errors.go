package config

import (
	"sort"
	"strconv"
	"strings"
)

// Error is one problem found in a config or timeline file.
type Error struct {
	File string // the file as named to Load or Parse
	Line int    // 1-based; 0 when the problem is about the whole file
	Key  string // dotted key path, e.g. services[0].flows[1].steps[2].expect.status
	Msg  string
}

// Error formats the problem as "FILE:LINE: KEY: MSG", leaving out the parts
// that are not known.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(e.Line))
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in one load, sorted by file order and line.
type Errors []*Error

// Error joins the problems with newlines.
func (es Errors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

// Unwrap lets errors.As find the single problems.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// sortErrors orders the problems of each file by line; the files come in
// the order they were first reported, except first (the config, before its
// timelines).
func sortErrors(es Errors, first string) {
	rank := map[string]int{first: -1}
	for _, e := range es {
		if _, ok := rank[e.File]; !ok {
			rank[e.File] = len(rank)
		}
	}
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i], es[j]
		if a.File != b.File {
			return rank[a.File] < rank[b.File]
		}
		return a.Line < b.Line
	})
}

// errOrNil returns es, sorted with file first, as an error, or nil when it
// is empty (never a typed nil).
func errOrNil(es Errors, file string) error {
	if len(es) == 0 {
		return nil
	}
	sortErrors(es, file)
	return es
}
