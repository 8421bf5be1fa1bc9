package textesc

import "testing"

func TestBidi(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"plain, 한국어, עברית", "plain, 한국어, עברית"}, // right-to-left letters are not controls
		{"\u202eevil", `\u202eevil`},
		{"a\u061cb\u200e\u200f\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069c", `a\u061cb\u200e\u200f\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069c`},
		{"zero\u200bwidth", "zero\u200bwidth"}, // not a bidi control
		{"\xff\u202e", "\xff\\u202e"},          // a byte that is not UTF-8 is left to Text
		{"a\nb", "a\nb"},                       // Bidi leaves controls
	} {
		if got := Bidi(tc.in); got != tc.want {
			t.Errorf("Bidi(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain: 한국어 עברית \"quoted\" \\ back", "plain: 한국어 עברית \"quoted\" \\ back"},
		{"a\r\nb\tc\x00d\x7fe", `a\r\nb\tc\x00d\x7fe`},
		{"\x1b[2J\a", `\x1b[2J\a`},
		{"c1 \u0085 \u009b", `c1 \u0085 \u009b`},
		{"not utf-8 \x9b[31m \xff", `not utf-8 \x9b[31m \xff`},
		{"\u202eevil", `\u202eevil`},
	} {
		if got := Text(tc.in); got != tc.want {
			t.Errorf("Text(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
