// Package redact removes secret values from text that slaprobe shows:
// error messages that reach the store, /api/v1/status, alerts and logs.
//
// A secret reaches a message in more forms than its raw bytes: a target that
// echoes it back is quoted with strconv.Quote or JSON escaping, sometimes
// twice (a JSON body quoted in a message), a URL carries it percent-encoded,
// an HTML error page carries it as entities (&amp;, &#34;), and HTTP basic
// authentication sends base64 of user:password. Forms lists
// them all, and a Redactor replaces every form of every secret it was given.
//
// Values shorter than MinLen are never redacted: a one-letter "secret"
// would mangle every message ("d***faults.down_aft***r"); config.Config
// lists them so that `slaprobe check` can warn.
package redact

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// MinLen is the length, in bytes, below which a value is not redacted.
const MinLen = 4

// Mask replaces a secret.
const Mask = "***"

// escapers turn a value into the way one kind of message shows it, without
// surrounding quotes.
var escapers = []func(string) string{
	func(s string) string { q := strconv.Quote(s); return q[1 : len(q)-1] },        // %q, strconv.Quote
	func(s string) string { q := strconv.QuoteToASCII(s); return q[1 : len(q)-1] }, // %+q
	jsonEscape(true),  // encoding/json
	jsonEscape(false), // a json.Encoder with SetEscapeHTML(false)
	jsonSlashes,       // PHP's json_encode, and APIs that escape '/' as JSON allows
	url.QueryEscape,
	url.PathEscape,
	// The same with lowercase hex digits (%2f), as .NET's HttpUtility
	// writes them.
	func(s string) string { return lowerHex(url.QueryEscape(s)) },
	func(s string) string { return lowerHex(url.PathEscape(s)) },
	// A URL's path as Go's client sends it (a target's 404 page echoes the
	// request line), and its user:password@ as url.URL writes it: each
	// leaves other characters raw than PathEscape ("$,;=&" in a path).
	func(s string) string { return (&url.URL{Path: s}).EscapedPath() },
	func(s string) string { return strings.TrimPrefix(url.UserPassword("", s).String(), ":") },
	// A value put raw into a URL's query ("?pw=${env:PW}"), as the probe
	// sends it (only the bytes QueryUnsafe names encoded: '!' and '/'
	// stay) and a target echoes the query back.
	wireQuery,
	// HTML, as a target's error page echoes a form value: Go
	// (html.EscapeString, html/template: &#34; &#39;), Python's html.escape
	// (&quot; &#x27;), PHP's htmlspecialchars and Java's escapers (&quot;
	// &#039;).
	html.EscapeString,
	strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#x27;").Replace,
	strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#039;").Replace,
}

// QueryUnsafe reports whether byte c of a URL's query cannot go on the wire
// as it is and is percent-encoded by the probe, as a browser does with what
// is typed into its address bar: control characters, space, '"', '<', '>'
// and every non-ASCII byte. What is already encoded, and the query's
// structure ('&', '='), are kept.
func QueryUnsafe(c byte) bool {
	return c < 0x20 || c == 0x7f || c == ' ' || c == '"' || c == '<' || c == '>' || c >= 0x80
}

// wireQuery is s as the probe sends it in a URL's query (QueryUnsafe).
func wireQuery(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; QueryUnsafe(c) {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

func jsonEscape(html bool) func(string) string {
	return func(s string) string {
		var b strings.Builder
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(html)
		_ = enc.Encode(s) // a string always encodes
		q := strings.TrimSuffix(b.String(), "\n")
		return q[1 : len(q)-1]
	}
}

// jsonSlashes escapes s as PHP's json_encode does by default: '/' as \/
// (which JSON allows), every rune outside printable ASCII as \uXXXX
// (UTF-16), and <, >, & and the single quote left raw.
func jsonSlashes(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '/':
			b.WriteString(`\/`)
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r > 0x7e:
			for _, u := range utf16.Encode([]rune{r}) {
				fmt.Fprintf(&b, `\u%04x`, u)
			}
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// lowerHex lowercases the two hex digits after every '%'.
func lowerHex(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			for j := i + 1; j <= i+2; j++ {
				if 'A' <= b[j] && b[j] <= 'F' {
					b[j] += 'a' - 'A'
				}
			}
			i += 2
		}
	}
	return string(b)
}

// Forms returns the forms in which s can appear in a message, longest
// first: s itself; s escaped once and twice by Go quoting (%q, %+q), JSON
// (with and without HTML escaping, and as PHP writes it: \/ and \u00e9), URL encoding (query, path segment, a
// path as Go sends it, a query as the probe sends a raw value in it, userinfo; hex digits in either case) and HTML
// entities (as Go, Python and PHP write them); s percent-decoded, when it
// is percent-encoded ('+' kept, and read as a space as urldecode does),
// and that escaped once; and
// base64 (standard and URL alphabets) of s at each of the three byte
// alignments it can have inside a longer encoded text, such as
// base64("user:" + s) in an Authorization header, less the one or two
// characters at each end that also depend on its neighbours. A value
// shorter than MinLen has no forms.
func Forms(s string) []string {
	if len(s) < MinLen {
		return nil
	}
	out := []string{s}
	add := func(f string) {
		if f != "" && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	once := []string{s}
	for _, esc := range escapers {
		f := esc(s)
		add(f)
		once = append(once, f)
	}
	for _, f := range once[1:] {
		for _, esc := range escapers {
			add(esc(f))
		}
	}
	// A value a server set percent-encoded (a cookie such as Laravel's
	// XSRF-TOKEN) goes back decoded (urldecode) and may be echoed so.
	// PHP's urldecode also reads '+' as a space (url.QueryUnescape).
	for _, unescape := range []func(string) (string, error){url.PathUnescape, url.QueryUnescape} {
		if !strings.Contains(s, "%") {
			break // not percent-encoded: a '+' in base64 is no space
		}
		if d, err := unescape(s); err == nil && d != s && len(d) >= MinLen {
			add(d)
			for _, esc := range escapers {
				add(esc(d))
			}
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		for k := 0; k < 3; k++ {
			full := enc.EncodeToString(append(make([]byte, k), s...))
			from := (8*k + 5) / 6                             // the first character with no bit of the k leading bytes
			to := 8 * (k + len(s)) / 6                        // one past the last character with only bits of s
			if core := full[from:to]; len(core) >= MinLen+2 { // a short core would match unrelated base64
				add(core)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b string) int { return len(b) - len(a) })
	return out
}

// Redactor replaces every form of a set of values with Mask. The zero
// value and a nil *Redactor redact nothing. It is safe for concurrent use.
type Redactor struct {
	r      *strings.Replacer
	maxLen int
	// forms by their first byte, longest first, when one of them ends
	// with the start of one (Redact then masks overlapping occurrences as
	// one); nil otherwise.
	overlapping *[256][]string
}

// New returns a Redactor for values (those shorter than MinLen are left
// out).
func New(values ...string) *Redactor {
	var forms []string
	for _, v := range values {
		for _, f := range Forms(v) {
			if !slices.Contains(forms, f) {
				forms = append(forms, f)
			}
		}
	}
	if len(forms) == 0 {
		return &Redactor{}
	}
	// At one position the replacer tries the old strings in argument order:
	// longest first, so a secret that contains another is hidden whole.
	slices.SortStableFunc(forms, func(a, b string) int { return len(b) - len(a) })
	pairs := make([]string, 0, 2*len(forms))
	for _, f := range forms {
		pairs = append(pairs, f, Mask)
	}
	red := &Redactor{r: strings.NewReplacer(pairs...), maxLen: len(forms[0])}
	byFirst := new([256][]string)
	for _, f := range forms {
		byFirst[f[0]] = append(byFirst[f[0]], f)
	}
	if overlap(forms, byFirst) {
		red.overlapping = byFirst
	}
	return red
}

// overlap reports whether one of forms ends with the start of one: a
// value such as "abab1abab", or "aaaaaaaa". byFirst holds forms by their
// first byte.
func overlap(forms []string, byFirst *[256][]string) bool {
	for _, f := range forms {
		for p := 1; p < len(f); p++ {
			for _, g := range byFirst[f[p]] {
				if len(g) > len(f)-p && strings.HasPrefix(g, f[p:]) {
					return true
				}
			}
		}
	}
	return false
}

// maskOverlapping is Redact for forms that overlap: a strings.Replacer
// replaces occurrences that do not overlap, leftmost first, so of
// "abab1abab1abab" with the value "abab1abab" it kept "***1abab", the
// value's last five bytes. Each occurrence that starts inside a masked
// one and ends past it is masked with it, under the one Mask.
func (r *Redactor) maskOverlapping(s string) string {
	at := func(i int) int { // the end of the longest form at i, or -1
		for _, f := range r.overlapping[s[i]] {
			if strings.HasPrefix(s[i:], f) {
				return i + len(f)
			}
		}
		return -1
	}
	var b strings.Builder
	done := 0
	for i := 0; i < len(s); {
		j := at(i)
		if j < 0 {
			i++
			continue
		}
		for k := i + 1; k < j; k++ {
			j = max(j, at(k))
		}
		b.WriteString(s[done:i])
		b.WriteString(Mask)
		done, i = j, j
	}
	b.WriteString(s[done:])
	return b.String()
}

// Redact returns s with every form of every value replaced by Mask.
func (r *Redactor) Redact(s string) string {
	if r == nil || r.r == nil || s == "" {
		return s
	}
	if r.overlapping != nil {
		return r.maskOverlapping(s)
	}
	return r.r.Replace(s)
}

// MaxLen is the length of the longest form Redact replaces: a message cut
// at n bytes after redaction must be rendered to n+MaxLen bytes before it,
// so that no secret is cut in two and half of it kept. One Mask can stand
// for more: occurrences that overlap are masked together, so 1,000 "a"
// with the value "aaaaaaaa" become one "***".
func (r *Redactor) MaxLen() int {
	if r == nil {
		return 0
	}
	return r.maxLen
}

// Empty reports whether r redacts nothing.
func (r *Redactor) Empty() bool { return r == nil || r.r == nil }

// Cut is where to cut s, redacted, at most n bytes in: n, or, when the cut
// at n falls inside a run of '*' (a Mask, or masks that touch, "******"),
// before the stars of the run that do not make a whole Mask, so that a text
// cut there ends in whole masks, never in a lone "*" or "**" that reads as
// the target's own text. (A star of the target's touching a mask is
// indistinguishable from the mask's: the run is counted from its start.)
func Cut(s string, n int) int {
	if n <= 0 || n >= len(s) || s[n] != '*' {
		return max(n, 0)
	}
	k := 0
	for k < n && s[n-1-k] == '*' {
		k++
	}
	return n - k%len(Mask)
}

// Shorten is s, redacted, cut to at most n bytes, at a rune's start and
// never inside a "***" (Cut), with "…" where it was cut; s as it is when
// it fits.
func Shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:Cut(s, cut)] + "…"
}

// TrimUnseen is s, the redaction of a read that stopped short of the
// text's end, without its last maxLen-1 bytes (maxLen: the longest form
// redacted, Redactor.MaxLen): a secret that began there went on past the
// read, so the redactor never saw it whole, and part of it may be left.
// Cut at a rune's start and never inside a "***" (Cut). A read of maxLen
// more than the text wanted keeps that much.
func TrimUnseen(s string, maxLen int) string {
	end := len(s)
	if maxLen > 1 {
		end = max(end-(maxLen-1), 0)
	}
	for end > 0 && end < len(s) && !utf8.RuneStart(s[end]) {
		end--
	}
	return s[:Cut(s, end)]
}
