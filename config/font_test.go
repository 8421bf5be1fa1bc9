package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReportFontChecked: check reads report.font and refuses what the PDF
// renderer refuses (a missing file, a directory, a file that is not a
// TrueType font, a CFF OpenType one), naming the key's line: it accepted
// them all, and `report --format pdf`, a scheduled PDF report or the end of
// a demo replay failed instead.
func TestReportFontChecked(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ttf, err := filepath.Abs("../report/render/fonts/NanumGothic.ttf")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, font, want string // want "" for accepted
	}{
		{"the bundled TrueType font", ttf, ""},
		{"missing", filepath.Join(dir, "nope.ttf"), "cannot read the font"},
		{"a directory", dir, "cannot read the font"},
		{"not a font", write("text.ttf", []byte("location: x\n")), "not a TrueType font"},
		{"CFF OpenType", write("cff.otf", []byte("OTTO\x00\x01\x00\x00")), "CFF-based OpenType fonts are not supported"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(filepath.Join(dir, "c.yaml"), []byte("services: [{name: s}]\nreport: {font: \""+tc.font+"\"}\n"), Options{})
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "c.yaml:2: report.font: ")):
				t.Errorf("err = %v, want one on line 2, key report.font, containing %q", err, tc.want)
			}
		})
	}
}
