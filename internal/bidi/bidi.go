// Package bidi neutralises Unicode bidirectional formatting characters in
// text a probed target controls. An unterminated RIGHT-TO-LEFT OVERRIDE
// (U+202E) quoted in an error reverses whatever an output prints after it
// on the same line: the status page's "· flow NAME · at LOCATION", the
// cells after the error in a CSV or a Markdown table read as text, a
// terminal table's last columns.
package bidi

import (
	"fmt"
	"strings"
)

// Is reports whether r is a bidirectional formatting character: ALM, LRM,
// RLM, the embeddings and overrides (LRE, RLE, PDF, LRO, RLO) and the
// isolates (LRI, RLI, FSI, PDI).
func Is(r rune) bool {
	return r == '\u061c' || r == '\u200e' || r == '\u200f' || (r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069')
}

// Escape writes every bidirectional formatting character of s as \uXXXX
// (lower-case hex, as Go and JSON write them), so that the text still
// shows that it held one.
func Escape(s string) string {
	if strings.IndexFunc(s, Is) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if Is(r) {
			fmt.Fprintf(&b, `\u%04x`, r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
