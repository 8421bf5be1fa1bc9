package bidi

import "testing"

func TestEscape(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"plain, 한국어, עברית", "plain, 한국어, עברית"}, // right-to-left letters are not controls
		{"\u202eevil", `\u202eevil`},
		{"a\u061cb\u200e\u200f\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069c", `a\u061cb\u200e\u200f\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069c`},
		{"zero\u200bwidth", "zero\u200bwidth"}, // not a bidi control
	} {
		if got := Escape(tc.in); got != tc.want {
			t.Errorf("Escape(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
