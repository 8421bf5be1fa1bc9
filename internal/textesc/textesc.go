// Package textesc escapes the characters of text a probed target controls
// that would change how the text around it reads: control characters (a
// terminal's escape sequences, line breaks that forge log or table lines),
// bytes that are not UTF-8, and Unicode bidirectional formatting characters
// (an unterminated RIGHT-TO-LEFT OVERRIDE, U+202E, reverses whatever an
// output prints after it on the same line: the status page's "· flow NAME
// · at LOCATION", the cells after an error in a CSV or a Markdown table
// read as text). Escaped, the text still shows what the target sent.
//
// A backslash is left as it is, not written \\ as Go's %q writes it. The
// texts escaped are step errors, in which nearly all that a target sent
// (bodies, JSON values, headers, a Location) is already quoted by Go's %q
// or as JSON, its backslashes written \\ and its controls \n or \u001b: a
// target's own four characters \x1b read \\x1b there, not as an escape. Escaping backslashes
// again would show a body's newline, "a\nb", as "a\\nb" (a backslash and
// an n, which the target did not send) and every JSON body {\"id\":1} as
// {\\"id\\":1}; and errors are escaped when stored, so a month's report
// across the upgrade would show one target's text two ways, and Text, run
// again on stored errors by the outputs (for those stored before escaping
// began), would double every backslash each time. Where a target's text
// stands unquoted (a WebSocket close reason, a name in Go's TLS errors) a
// \x1b may be its own four characters; the target can make those words say
// anything anyway (a close reason "timeout after 10s"). What escaping
// guarantees is that the text cannot act: move a terminal's cursor, forge
// a line, reorder what follows it.
package textesc

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// IsBidi reports whether r is a bidirectional formatting character that
// reorders the text after it: the embeddings and overrides (LRE, RLE, PDF,
// LRO, RLO) and the isolates (LRI, RLI, FSI, PDI), the nine that go vet's
// bidichk and Rust's text_direction_codepoint lints flag ("Trojan Source",
// CVE-2021-42574). The marks (LRM, RLM, ALM) are left: each is one
// invisible letter of a direction, which Arabic and Hebrew text (a report
// title, a service name) uses to place its punctuation, and which cannot
// reverse what follows it.
func IsBidi(r rune) bool {
	return (r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069')
}

// Bidi writes every bidirectional formatting character of s as \uXXXX
// (lower-case hex, as Go and JSON write them).
func Bidi(s string) string {
	if strings.IndexFunc(s, IsBidi) < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if IsBidi(r) {
			fmt.Fprintf(&b, `\u%04x`, r)
		} else {
			b.WriteString(s[i : i+n]) // a byte that is not UTF-8 stays as it is
		}
		i += n
	}
	return b.String()
}

// Text writes the control characters of s as Go quotes them (\n, \r, \t,
// \a, \x1b; \u0085 for C1), a byte that is not UTF-8 as \x9b (CSI to an
// 8-bit terminal), and its bidirectional formatting characters as Bidi
// does.
func Text(s string) string {
	if strings.IndexFunc(s, IsBidi) < 0 && strings.IndexFunc(s, unicode.IsControl) < 0 && utf8.ValidString(s) {
		return s
	}
	t, _ := Clip(s, -1)
	return t
}

// Clip is Text(s) cut to at most limit bytes (limit < 0: not cut) between
// two characters or escapes, never inside one (a "\x1" would read as a
// different escape), and whether it cut. Escaping makes a text up to four
// times as long (an ESC is \x1b), so a bound on a text must be checked on
// Clip's result, not on s.
func Clip(s string, limit int) (string, bool) {
	t, n := ClipAt(s, limit)
	return t, n < len(s)
}

// ClipAt is Clip, saying how many bytes of s it took (len(s) when it did
// not cut).
func ClipAt(s string, limit int) (string, int) {
	var b strings.Builder
	var esc [16]byte
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		var e []byte
		switch {
		case r == utf8.RuneError && n == 1:
			e = fmt.Appendf(esc[:0], `\x%02x`, s[i])
		case IsBidi(r):
			e = fmt.Appendf(esc[:0], `\u%04x`, r)
		case unicode.IsControl(r):
			q := strconv.QuoteRune(r) // '\x1b', '\n', '\u0085'
			e = append(esc[:0], q[1:len(q)-1]...)
		default:
			e = append(esc[:0], s[i:i+n]...)
		}
		if limit >= 0 && b.Len()+len(e) > limit {
			return b.String(), i
		}
		b.Write(e)
		i += n
	}
	return b.String(), len(s)
}
