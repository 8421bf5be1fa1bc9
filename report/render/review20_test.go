package render

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestStoredNonUTF8Replaced: a byte that is not UTF-8 in an error stored
// before the probe escaped errors ("\x9b", CSI to a terminal that takes
// 8-bit controls) reaches no text renderer as it is: printable blanked
// control characters but returned a text without one untouched, so
// `windows` printed "got \x9b[2J" to the terminal byte for byte, and the
// HTML report was not UTF-8, while windows.csv wrote it \x9b.
func TestStoredNonUTF8Replaced(t *testing.T) {
	r := fixture()
	r.Services[1].Windows[0].Error = "s: got \x9b[2J\xff"
	r.Windows = append(r.Windows, r.Services[1].Windows[0])
	outs := map[string]func(*bytes.Buffer) error{
		"md":   func(b *bytes.Buffer) error { return Markdown(b, r) },
		"html": func(b *bytes.Buffer) error { return HTML(b, r) },
		"text": func(b *bytes.Buffer) error { return WindowsText(b, r.Windows, nil) },
	}
	for name, write := range outs {
		var b bytes.Buffer
		if err := write(&b); err != nil {
			t.Fatal(err)
		}
		if !utf8.Valid(b.Bytes()) {
			i := strings.IndexRune(strings.ToValidUTF8(b.String(), "\x00"), 0)
			t.Errorf("%s: not UTF-8 (a byte of the stored error at %d: %q)", name, i, b.String()[max(0, i-10):min(b.Len(), i+10)])
		}
		want := "got \ufffd[2J\ufffd"
		if name == "md" {
			want = "got \ufffd\\[2J\ufffd" // [ escaped
		}
		if !strings.Contains(b.String(), want) {
			t.Errorf("%s: the error is not there with its bytes replaced", name)
		}
	}
}
