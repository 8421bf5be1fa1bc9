package render

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

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

// TestPDFReproducible renders the same report several times: the bytes must
// be equal every time (`make demo` writes byte-identical files on a rerun),
// and the document's creation and modification dates are the report's
// generation time, not the clock's.
func TestPDFReproducible(t *testing.T) {
	tests := []struct {
		name   string
		report func() *report.Report
	}{
		{"two services", fixture},
		{"six services", func() *report.Report { return monthReport(6) }},
		{"timeline with a close-up", timelineReport},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			first, err := pdfBytes(tc.report(), PDFOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for i := 2; i <= 4; i++ {
				again, err := pdfBytes(tc.report(), PDFOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(first, again) {
					n := 0
					for n < min(len(first), len(again)) && first[n] == again[n] {
						n++
					}
					t.Errorf("render %d differs from the first at byte %d of %d", i, n, len(first))
					break
				}
			}
			r := tc.report()
			loc, err := time.LoadLocation(r.Timezone)
			if err != nil {
				t.Fatal(err)
			}
			date := "(D:" + r.Generated.In(loc).Format("20060102150405") + ")"
			for _, key := range []string{"/CreationDate ", "/ModDate "} {
				if !bytes.Contains(first, []byte(key+date)) {
					t.Errorf("PDF lacks %s%s (the report's generation time)", key, date)
				}
			}
		})
	}
}

// TestPDFConcurrent renders reports with different dates at the same time:
// each comes out as it does alone (gofpdf's process-wide defaults, which
// PDF sets for each document, do not leak from one to another; run with
// -race too).
func TestPDFConcurrent(t *testing.T) {
	reports := []func() *report.Report{fixture, timelineReport, fixture, timelineReport}
	alone := make([][]byte, len(reports))
	for i, r := range reports {
		b, err := pdfBytes(r(), PDFOptions{})
		if err != nil {
			t.Fatal(err)
		}
		alone[i] = b
	}
	together := make([][]byte, len(reports))
	errs := make([]error, len(reports))
	var wg sync.WaitGroup
	for i, r := range reports {
		wg.Go(func() { together[i], errs[i] = pdfBytes(r(), PDFOptions{}) })
	}
	wg.Wait()
	for i := range reports {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if !bytes.Equal(alone[i], together[i]) {
			t.Errorf("report %d rendered concurrently differs from its render alone", i)
		}
	}
}

// TestPDFUncertaintyCell: the windows tables' Uncertainty cell prints
// sub-minute bounds as the JSON has them (14.4 s is "+14.4s", not "+14s";
// 59.816686513 s "-59.8s") and, too wide for one line, breaks between the
// start and the end, after the "/", never inside an edge: it read
// "-1m1s +0s" then "/ -10s +0s" in one row and "-1m +0s /" then "-10s +0s"
// in another, and a longer start lost its "+" bound to the next line. The
// bounds of 10 to 60 minute intervals keep their edges whole too, at the
// cell's smaller size (uncertaintySize): at 7 points "-29m59s +300ms" left
// its "/" alone on the next line and "-1h59m59s +59.9s /" broke as
// "-1h59m59s" then "+59.9s /"; an edge wider than the column still breaks
// between its bounds, the "/" with the later one (the end after it if
// it fits).
func TestPDFUncertaintyCell(t *testing.T) {
	pdftotext := poppler(t, "pdftotext")
	f := func(v float64) *float64 { return &v }
	r := fixture()
	for _, tc := range []struct {
		w                                int // of the messaging service's windows
		start, startLater, end, endLater *float64
		lines                            []string // the cell's lines
	}{
		{0, f(61), f(0), f(10), f(0), []string{"-1m1s +0s / -10s +0s"}},
		{1, f(70), f(14.4), f(59.816686513), f(0.3), []string{"-1m10s +14.4s /", "-59.8s +300ms"}},
		{0, f(1799), f(0.3), f(1799), f(0.3), []string{"-29m59s +300ms /", "-29m59s +300ms"}},
		{1, f(3601), f(0.999), f(3601), f(0.999), []string{"-1h0m1s +999ms /", "-1h0m1s +999ms"}},
		{0, f(7199), f(59.9), f(7199), f(59.9), []string{"-1h59m59s +59.9s /", "-1h59m59s +59.9s"}},
		{1, f(2*86400 - 1), f(59.9), f(10), f(0), []string{"-1d23h59m59s", "+59.9s / -10s +0s"}},
	} {
		w := &r.Services[0].Windows[tc.w]
		w.StartUncertaintySeconds, w.StartUncertaintyLaterSeconds, w.EndUncertaintySeconds, w.EndUncertaintyLaterSeconds = tc.start, tc.startLater, tc.end, tc.endLater
		b, err := pdfBytes(r, PDFOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pdf := filepath.Join(t.TempDir(), "report.pdf")
		if err := os.WriteFile(pdf, b, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(pdftotext, "-layout", pdf, "-").CombinedOutput()
		if err != nil {
			t.Fatalf("pdftotext: %v\n%s", err, out)
		}
		// The cell's column, on consecutive lines, each the whole of its
		// line of the cell (two spaces or more before the next column).
		lines := strings.Split(strings.ReplaceAll(string(out), "\u00a0", " "), "\n")
		// pdftotext may shift a column by a character or two.
		whole := func(line, col int, want string) bool {
			l := []rune(lines[line])
			for c := max(0, col-3); c <= col+3 && c < len(l); c++ {
				if after, ok := strings.CutPrefix(string(l[c:]), want); ok && (c == 0 || l[c-1] == ' ') && (after == "" || strings.HasPrefix(after, "  ")) {
					return true
				}
			}
			return false
		}
		found := false
		for i := 0; i+len(tc.lines) <= len(lines) && !found; i++ {
			c := strings.Index(lines[i], tc.lines[0])
			if c < 0 {
				continue
			}
			col := len([]rune(lines[i][:c]))
			found = whole(i, col, tc.lines[0])
			for k := 1; k < len(tc.lines) && found; k++ {
				found = whole(i+k, col, tc.lines[k])
			}
		}
		if !found {
			t.Errorf("no cell reading %q in:\n%s", tc.lines, out)
		}
	}
}

// TestFitCell: how a table cell is made to wrap (glyphs.fit; maroto then
// wraps at spaces only). An Uncertainty cell (keepEdges) is one word an
// edge, the start's with its "/", and breaks inside an edge only where that
// edge is wider than its column; a hyphen that ends a piece hangs into the
// cell's padding rather than starting the next line ("messaging-" is 13.01
// mm at 7 pt, in a 13 mm column: it read "messaging" then "-roundtrip"); a
// word with nothing to break after is cut with a hyphen added, and a "/"
// that does not fit with its edge goes to the next line with its later
// bound, not alone.
func TestFitCell(t *testing.T) {
	reg, _, err := PDFOptions{}.fonts()
	if err != nil {
		t.Fatal(err)
	}
	g, err := newGlyphs(reg)
	if err != nil {
		t.Fatal(err)
	}
	col2, col5, col3 := 186.0*4/pdfGrid-2.5, 186.0*5/pdfGrid-2.5, 186.0*6/pdfGrid-2.5
	for _, tc := range []struct {
		name, cell string
		edges      bool
		width      float64
		want       string // no-break spaces as "~"
	}{
		{"flow name", "messaging-roundtrip", false, col2, "messaging- roundtrip"},
		{"bounds", "-1m1s +0s / -10s +0s", true, col3, "-1m1s~+0s~/ -10s~+0s"},
		{"bounds, an edge too wide", "-1h2m3s +0.4ms / -1m +15s", true, col3, "-1h2m3s +0.4ms~/ -1m~+15s"},
		// An edge that fits but not with its "/" (21.9 mm at 7 points):
		// the "/" stays with its later bound, not alone on a line.
		{"bounds, the edge fits without its /", "-29m59s +300ms / -29m59s +300ms", true, col3, "-29m59s +300ms~/ -29m59s~+300ms"},
		// A name with no hyphen or dot to break after is cut where the
		// most fits with a hyphen added: it read "attachmen" then "ts".
		{"function name", "attachments", false, col2, "attachmen- ts"},
		{"function name, its column", "authentication", false, col5, "authentication"},
		{"a soft break first", "a.bcdefghijklmnopq", false, col2, "a. bcdefghijkl- mnopq"},
		{"no bounds", "- / -", true, col3, "-~/ -"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.cell
			if tc.edges {
				c = keepEdges(c)
			}
			if got := strings.ReplaceAll(g.fit(c, 7, tc.width), nbsp, "~"); got != tc.want {
				t.Errorf("fit(%q) = %q, want %q", tc.cell, got, tc.want)
			}
		})
	}
}

// TestPDFFunctionNamesWhole: a function's name of up to 14 letters is one
// line of the windows and latency tables' Function columns: in 2 of 24
// shares (13 mm) the demo's "attachments" read "attachmen" then "ts", as
// "notifications", "subscriptions" and "authentication" would have.
func TestPDFFunctionNamesWhole(t *testing.T) {
	pdftotext := poppler(t, "pdftotext")
	names := []string{"authentication", "attachments", "notifications", "subscriptions"}
	r := fixture()
	s := &r.Services[0]
	for i := range s.Windows {
		s.Windows[i].Function = ptr(names[i%len(names)])
	}
	for i := range s.Steps {
		s.Steps[i].Function = names[(i+1)%len(names)]
	}
	b, err := pdfBytes(r, PDFOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pdf := filepath.Join(t.TempDir(), "report.pdf")
	if err := os.WriteFile(pdf, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(pdftotext, "-layout", pdf, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v\n%s", err, out)
	}
	for _, name := range names {
		// Every print of the name's first nine letters is of the whole
		// name (a cut one reads "attachmen" or "attachmen-").
		whole, part := strings.Count(string(out), name), strings.Count(string(out), name[:9])
		if whole == 0 || part != whole {
			t.Errorf("%q printed whole %d times of %d:\n%s", name, whole, part, out)
		}
	}
}
