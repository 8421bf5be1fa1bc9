package render

import (
	"bytes"
	"strings"
	"testing"
)

func TestWrite(t *testing.T) {
	for _, tc := range []struct{ format, prefix string }{
		{"pdf", "%PDF-"}, {"html", "<!doctype html>"}, {"json", "{"}, {"csv", ""}, {"md", "#"},
	} {
		var b bytes.Buffer
		if err := Write(&b, fixture(), tc.format, PDFOptions{}); err != nil {
			t.Fatalf("%s: %v", tc.format, err)
		}
		if b.Len() == 0 || !strings.HasPrefix(strings.ToLower(b.String()), strings.ToLower(tc.prefix)) {
			t.Errorf("%s: %.40q", tc.format, b.String())
		}
	}
	if err := Write(&bytes.Buffer{}, fixture(), "docx", PDFOptions{}); err == nil || !strings.Contains(err.Error(), "docx") {
		t.Errorf("unknown format: %v", err)
	}
}
