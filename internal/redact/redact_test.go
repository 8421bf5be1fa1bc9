package redact

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

// builders are the ways slaprobe (and the libraries it uses) put a value
// into a message.
var builders = []struct {
	name  string
	build func(s string) string
}{
	{"raw", func(s string) string { return "got " + s + " back" }},
	{"%q", func(s string) string { return fmt.Sprintf("does not equal %q", s) }},
	{"%+q", func(s string) string { return fmt.Sprintf("bad url %+q", s) }},
	{"strconv.Quote", func(s string) string { return "want " + strconv.Quote(s) }},
	{"json.Marshal", func(s string) string { b, _ := json.Marshal(map[string]string{"password": s}); return string(b) }},
	{"json without HTML escaping", func(s string) string {
		var b strings.Builder
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		_ = enc.Encode([]string{s})
		return b.String()
	}},
	{"JSON body quoted", func(s string) string {
		b, _ := json.Marshal(map[string]string{"password": s})
		return "body does not contain " + strconv.Quote(string(b))
	}},
	{"JSON in JSON", func(s string) string {
		inner, _ := json.Marshal(map[string]string{"password": s})
		outer, _ := json.Marshal(map[string]string{"error": string(inner)})
		return string(outer)
	}},
	{"URL query", func(s string) string { return "GET /login?pw=" + url.QueryEscape(s) }},
	{"URL path", func(s string) string { return "GET /users/" + url.PathEscape(s) }},
	{"URL query, lowercase hex (.NET's HttpUtility.UrlEncode)", func(s string) string {
		return "GET /login?pw=" + lowerPercent(url.QueryEscape(s)) + " 401"
	}},
	{"URL path, lowercase hex", func(s string) string { return "no such key /keys/" + lowerPercent(url.PathEscape(s)) }},
	{"URL path as Go's client sends it", func(s string) string {
		return "GET " + (&url.URL{Path: "/users/" + s}).RequestURI() + ": 404 no such user"
	}},
	{"URL userinfo, password only", func(s string) string {
		return (&url.URL{Scheme: "http", User: url.UserPassword("", s), Host: "x"}).String()
	}},
	{"URL userinfo", func(s string) string {
		return (&url.URL{Scheme: "http", User: url.UserPassword("probe", s), Host: "x"}).String()
	}},
	{"basic auth", func(s string) string {
		return "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("probe:"+s))
	}},
	{"basic auth, another user", func(s string) string {
		return "echo: Basic " + base64.StdEncoding.EncodeToString([]byte("alice-the-operator:"+s))
	}},
	{"base64url token", func(s string) string { return base64.URLEncoding.EncodeToString([]byte("x" + s)) }},
	{"JSON as PHP's json_encode writes it (\\/ and \\u00e9)", func(s string) string {
		var b strings.Builder
		for _, r := range s {
			switch {
			case r == '/':
				b.WriteString(`\/`)
			case r == '"' || r == '\\':
				b.WriteString(`\` + string(r))
			case r < 0x20 || r > 0x7e:
				for _, u := range utf16.Encode([]rune{r}) {
					fmt.Fprintf(&b, `\u%04x`, u)
				}
			default:
				b.WriteRune(r)
			}
		}
		return `{"error":"invalid key ` + b.String() + `"}`
	}},
	// A target's HTML error page echoes a form value escaped, as Go's
	// html/template and html.EscapeString, Python's html.escape, PHP's
	// htmlspecialchars and Java's escapers write it.
	{"HTML (Go)", func(s string) string { return "<p>Bad password " + html.EscapeString(s) + "</p>" }},
	{"HTML (&quot; &#x27;)", func(s string) string {
		return "<td>" + strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#x27;").Replace(s)
	}},
	{"HTML (&quot; &#039;)", func(s string) string {
		return "<td>" + strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#039;").Replace(s)
	}},
	{"percent-decoded (urldecode of a cookie set encoded)", func(s string) string {
		if d, err := url.PathUnescape(s); err == nil {
			return fmt.Sprintf("header X-XSRF-TOKEN: %q", d)
		}
		return s
	}},
	{"form-decoded (PHP's urldecode: '+' a space)", func(s string) string {
		if d, err := url.QueryUnescape(s); err == nil && strings.Contains(s, "%") {
			return fmt.Sprintf("cookie value %q", d)
		}
		return s
	}},
	{"HTML page quoted", func(s string) string {
		return fmt.Sprintf("body does not equal %q", "<p>"+html.EscapeString(s)+"</p>")
	}},
}

// TestEveryForm covers #13 finding 1: a secret with quotes, backslashes,
// control characters or non-ASCII text is hidden whatever way a message
// quotes it.
func TestEveryForm(t *testing.T) {
	secrets := []string{`p"w\x-1`, "abc\x01def", "tök€n/+=?&", "plain-secret-value", "a b<c>&d'e", `ab$c,d=e"f`, `pa"th;sec<ret`, "k3y/Ab+c/dé==", "eyJpdiI6Ik1%2Fa2x%3D%3D", "s%3Asid+v2.Zm9v%2Bbar"}
	for _, secret := range secrets {
		r := New(secret)
		for _, b := range builders {
			t.Run(fmt.Sprintf("%q %s", secret, b.name), func(t *testing.T) {
				msg := b.build(secret)
				got := r.Redact(msg)
				if !strings.Contains(got, Mask) {
					t.Errorf("nothing redacted in %q", msg)
				}
				for _, f := range Forms(secret) {
					if strings.Contains(got, f) {
						t.Errorf("form %q left in %q", f, got)
					}
				}
				if strings.Contains(got, secret) {
					t.Errorf("raw secret left in %q", got)
				}
			})
		}
	}
}

// TestShortValues: values shorter than MinLen are left alone (#15
// finding 8: a one-letter secret turned "defaults.down_after" into
// "d***faults.down_aft***r").
func TestShortValues(t *testing.T) {
	r := New("e", "ab", "abc")
	const msg = "defaults.down_after: abc"
	if got := r.Redact(msg); got != msg {
		t.Errorf("short values redacted: %q", got)
	}
	if !r.Empty() {
		t.Error("a redactor of short values only is not empty")
	}
}

// TestLongestFirst: a secret that contains another is hidden whole.
func TestLongestFirst(t *testing.T) {
	r := New("token", "token-extended-value")
	if got := r.Redact("x token-extended-value y token z"); got != "x *** y *** z" {
		t.Errorf("got %q", got)
	}
}

// TestMaxLen: MaxLen covers every form, escapes included.
func TestMaxLen(t *testing.T) {
	s := "\x01\x02\x03\x04"
	r := New(s)
	longest := 0
	for _, f := range Forms(s) {
		longest = max(longest, len(f))
	}
	if r.MaxLen() != longest || longest <= len(s) {
		t.Errorf("MaxLen %d, longest form %d", r.MaxLen(), longest)
	}
}

// FuzzRedact: whatever surrounds a secret and however a message quotes
// it, no form of it is left.
func FuzzRedact(f *testing.F) {
	f.Add(`p"w\x-1`, "before ", " after")
	f.Add("abc\x01def", "", "")
	f.Add("çà-€€-secret", "{\"a\":\"", "\"}")
	f.Fuzz(func(t *testing.T, secret, prefix, suffix string) {
		if len(secret) < MinLen || strings.Contains(secret, "*") || !utf8.ValidString(secret+prefix+suffix) {
			return // the mask could rebuild a secret made of '*'; escapers are per rune only on valid UTF-8
		}
		r := New(secret)
		for _, b := range builders {
			got := r.Redact(b.build(prefix + secret + suffix))
			if strings.Contains(got, secret) {
				t.Fatalf("%s: raw secret left in %q", b.name, got)
			}
			for _, form := range Forms(secret)[:1] {
				if strings.Contains(got, form) {
					t.Fatalf("%s: form %q left in %q", b.name, form, got)
				}
			}
		}
	})
}

// lowerPercent lowercases the hex digits of a percent-encoded text.
func lowerPercent(s string) string {
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			b[i+1], b[i+2] = lowerASCII(b[i+1]), lowerASCII(b[i+2])
		}
	}
	return string(b)
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// TestOverlappingOccurrences: a value that ends with its own start
// ("abab1abab", "aaaaaaaa") leaves no piece of itself where a message
// holds it overlapping itself. The replacer masked occurrences that do not
// overlap, leftmost first, so "abab1abab1abab" became "***1abab" (the
// value's last five bytes), and a run of 13 "a" with the value "aaaaaaaa"
// became "***aaaaa". A value that does not overlap itself is masked as
// before, each occurrence with its own "***".
func TestOverlappingOccurrences(t *testing.T) {
	for _, tc := range []struct {
		values   []string
		in, want string
	}{
		{[]string{"abab1abab"}, "x abab1abab1abab y", "x *** y"},
		{[]string{"aaaaaaaa"}, strings.Repeat("a", 13) + " b", "*** b"},
		{[]string{"aaaaaaaa"}, strings.Repeat("a", 16), "***"},
		{[]string{"abcd1234", "4xyz9876"}, "abcd1234xyz9876!", "***!"},
		{[]string{"aaaaaaaa"}, "aaaaaaaa aaaaaaaa", "*** ***"},
		{[]string{"s3cret-pw"}, "s3cret-pws3cret-pw", "******"},
	} {
		if got := New(tc.values...).Redact(tc.in); got != tc.want {
			t.Errorf("%q redacting %q: %q, want %q", tc.in, tc.values, got, tc.want)
		}
	}
}

func TestCut(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want int
	}{
		{"abc***def", 4, 3},  // "abc*": the star goes
		{"abc***def", 5, 3},  // "abc**"
		{"abc***def", 6, 6},  // "abc***": whole
		{"abc***def", 3, 3},  // before the mark
		{"abc******d", 7, 6}, // touching marks: the whole ones stay
		{"abc******d", 8, 6},
		{"******", 5, 3},
		{"***", 2, 0},
		{"abc", 5, 5}, // past the end: not cut
		{"abc*", 4, 4},
		{"", 0, 0},
	} {
		if got := Cut(tc.s, tc.n); got != tc.want {
			t.Errorf("Cut(%q, %d) = %d, want %d", tc.s, tc.n, got, tc.want)
		}
	}
}

// TestShortenAndTrimUnseen: a redacted text is cut at a rune's start and
// never inside a "***", Shorten marking the cut with "…", TrimUnseen
// dropping the read's last maxLen-1 bytes.
func TestShortenAndTrimUnseen(t *testing.T) {
	for _, tc := range []struct {
		name, s string
		n       int
		want    string
	}{
		{"fits", "abc", 3, "abc"},
		{"cut", "abcdef", 3, "abc…"},
		{"inside a rune", "ab€d", 3, "ab…"},
		{"inside a mask", "ab***cd", 4, "ab…"},
		{"after a mask", "ab***cd", 5, "ab***…"},
		{"between masks", "a******b", 4, "a***…"},
	} {
		if got := Shorten(tc.s, tc.n); got != tc.want {
			t.Errorf("Shorten %s: Shorten(%q, %d) = %q, want %q", tc.name, tc.s, tc.n, got, tc.want)
		}
	}
	for _, tc := range []struct {
		name, s string
		maxLen  int
		want    string
	}{
		{"no secrets", "abcdef", 0, "abcdef"},
		{"one byte secrets", "abcdef", 1, "abcdef"},
		{"drops maxLen-1", "abcdef", 3, "abcd"},
		{"all of it", "ab", 5, ""},
		{"at a rune's start", "ab€", 2, "ab"},
		{"not inside a mask", "x***yz", 4, "x"},
	} {
		if got := TrimUnseen(tc.s, tc.maxLen); got != tc.want {
			t.Errorf("TrimUnseen %s: TrimUnseen(%q, %d) = %q, want %q", tc.name, tc.s, tc.maxLen, got, tc.want)
		}
	}
}
