package render

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slaprobe/slaprobe/report"
)

// poppler returns the path of a poppler-utils tool or fails the test.
func poppler(t *testing.T, tool string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		t.Fatalf("%s not found: install poppler-utils (apt-get install -y poppler-utils)", tool)
	}
	return p
}

func TestPDF(t *testing.T) {
	pdftotext, pdftoppm := poppler(t, "pdftotext"), poppler(t, "pdftoppm")
	b, err := pdfBytes(fixture(), PDFOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pdf := filepath.Join(dir, "report.pdf")
	if err := os.WriteFile(pdf, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if dst := os.Getenv("SLAPROBE_KEEP_PDF"); dst != "" { // for looking at it by hand
		_ = os.WriteFile(dst, b, 0o644)
	}

	out, err := exec.Command(pdftotext, "-layout", pdf, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v\n%s", err, out)
	}
	text := string(out)
	for _, want := range []string{
		"2021-05-01 00:00:00 +09:00 to 2021-06-01 00:00:00 +09:00", // period
		"99.674%",            // availability
		"receive",            // the window's cause step
		"메시지-수신",             // Hangul flow name
		"kakaotalk-receive-", // reconciliation (the id wraps in its cell)
		"Accounting policy",
		"Service: payments",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("PDF text lacks %q", want)
		}
	}

	out, err = exec.Command(pdftoppm, "-png", "-r", "50", pdf, filepath.Join(dir, "page")).CombinedOutput()
	if err != nil {
		t.Fatalf("pdftoppm: %v\n%s", err, out)
	}
	pages, _ := filepath.Glob(filepath.Join(dir, "page*.png"))
	if len(pages) < 3 {
		t.Errorf("want at least 3 pages (cover and one per service), got %d", len(pages))
	}
	if len(out) > 0 {
		t.Errorf("pdftoppm complained: %s", out)
	}
}

func TestPDFMissingGlyph(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(r *report.Report)
		want   []string
	}{
		{"flow name", func(r *report.Report) { r.Services[0].Flows[0].Name = "메시지-수신🙂" }, []string{"U+1F642", "메시지-수신🙂", "flow name"}},
		{"service name", func(r *report.Report) { r.Services[1].Name = "pay\u0378" }, []string{"U+0378", "service name"}},
		{"window function", func(r *report.Report) { r.Windows[0].Function = ptr("✈︎fly") }, []string{"function name"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := fixture()
			tc.mutate(r)
			err := PDF(&bytes.Buffer{}, r, PDFOptions{})
			if err == nil {
				t.Fatal("want an error for a rune the font cannot draw")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestPDFFreeTextReplaced(t *testing.T) {
	r := fixture()
	r.Services[0].Windows[0].Error = "boom 🔥"
	if _, err := pdfBytes(r, PDFOptions{}); err != nil {
		t.Fatalf("free text with an undrawable rune should not fail: %v", err)
	}
}

func TestPDFFontOptions(t *testing.T) {
	tests := []struct {
		name string
		o    PDFOptions
		want string
	}{
		{"missing file", PDFOptions{FontPath: filepath.Join(t.TempDir(), "nope.ttf")}, "nope.ttf"},
		{"not a font", PDFOptions{FontTTF: []byte("this is not a font")}, "not a TrueType font"},
		{"cff", PDFOptions{FontTTF: []byte("OTTO and more")}, "CFF"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := pdfBytes(fixture(), tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("want error containing %q, got %v", tc.want, err)
			}
		})
	}
	t.Run("font path", func(t *testing.T) {
		b, err := pdfBytes(fixture(), PDFOptions{FontPath: "fonts/NanumGothic.ttf"})
		if err != nil || !bytes.HasPrefix(b, []byte("%PDF-")) {
			t.Fatalf("custom font path: %v", err)
		}
	})
}

// BenchmarkPDF renders a 10-service month report.
func BenchmarkPDF(b *testing.B) {
	r := monthReport(10)
	for b.Loop() {
		if err := PDF(&bytes.Buffer{}, r, PDFOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
