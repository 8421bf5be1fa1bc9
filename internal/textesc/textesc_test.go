package textesc

import "testing"

func TestBidi(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"plain, 한국어, עברית", "plain, 한국어, עברית"}, // right-to-left letters are not controls
		{"\u202eevil", `\u202eevil`},
		{"a\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069c", `a\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069c`},
		// The marks are letters of a direction, not reordering controls:
		// an Arabic or Hebrew title places its punctuation with them.
		{"\u0627\u0644\u062a\u0642\u0631\u064a\u0631 (\u0661)\u200f \u05d3\u05d5\u05f4\u05d7\u200e:\u061c", "\u0627\u0644\u062a\u0642\u0631\u064a\u0631 (\u0661)\u200f \u05d3\u05d5\u05f4\u05d7\u200e:\u061c"},
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

func TestClip(t *testing.T) {
	for _, tc := range []struct {
		in    string
		limit int
		want  string
		cut   bool
	}{
		{"plain", -1, "plain", false},
		{"plain", 5, "plain", false},
		{"plain", 4, "plai", true},
		{"\x1b\x1b", 8, `\x1b\x1b`, false},
		{"\x1b\x1b", 7, `\x1b`, true}, // never "\x1b\x1"
		{"a\u202eb", 6, "a", true},    // never half of \u202e
		{"한국", 4, "한", true},          // never half a character
		{"\xff\n", 5, `\xff`, true},
	} {
		got, cut := Clip(tc.in, tc.limit)
		if got != tc.want || cut != tc.cut {
			t.Errorf("Clip(%q, %d) = %q, %v; want %q, %v", tc.in, tc.limit, got, cut, tc.want, tc.cut)
		}
		if at, n := ClipAt(tc.in, tc.limit); at != got || (n < len(tc.in)) != cut || Text(tc.in[:n]) != got {
			t.Errorf("ClipAt(%q, %d) = %q, %d; Clip gave %q, %v", tc.in, tc.limit, at, n, got, cut)
		}
		if tc.limit < 0 && got != Text(tc.in) {
			t.Errorf("Clip(%q, -1) = %q, Text = %q", tc.in, got, Text(tc.in))
		}
	}
}

// Text leaves a backslash as it is (see the package comment), so it changes
// nothing of its own output: the outputs run it again on stored errors,
// which the probe escaped when it stored them.
func TestTextAgainChangesNothing(t *testing.T) {
	for _, in := range []string{`a\x1b b`, "a\x1b b", "\x1b\u202e\\", `got "{\"id\":1}"`, `got "a\nb"`, "\xff\u0085"} {
		once := Text(in)
		if twice := Text(once); twice != once {
			t.Errorf("Text(%q) = %q, and again %q", in, once, twice)
		}
	}
	if got := Text(`\x1b`); got != `\x1b` {
		t.Errorf("Text(%q) = %q: the backslash is left", `\x1b`, got)
	}
}
