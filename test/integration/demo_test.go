package integration

import (
	"bytes"
	"encoding/json"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/report/render"
)

// demoReport is the part of report.json the acceptance checks read.
type demoReport struct {
	Services []struct {
		Name           string   `json:"name"`
		Availability   *float64 `json:"availability"`
		Reconciliation []struct {
			ID                string   `json:"id"`
			Detected          bool     `json:"detected"`
			StartDeltaSeconds *float64 `json:"start_delta_seconds"`
			EndDeltaSeconds   *float64 `json:"end_delta_seconds"`
			NoticeDelay       *float64 `json:"notice_delay_seconds"`
		} `json:"reconciliation"`
		Undeclared []struct {
			Flow      string  `json:"flow"`
			Function  *string `json:"function"`
			Start     string  `json:"start"`
			CauseStep string  `json:"cause_step"`
		} `json:"undeclared"`
	} `json:"services"`
}

func runDemo(t *testing.T, out string, args ...string) demoReport {
	t.Helper()
	stdout, code := runCmd(t, append([]string{binary, "demo", "--out", out}, args...)...)
	if code != 0 {
		t.Fatalf("demo exit %d\n%s", code, stdout)
	}
	data, err := os.ReadFile(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r demoReport
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("report.json: %v", err)
	}
	for _, f := range []string{"report.pdf", "report.html", "report.json", "windows.json", "windows.csv", "results.db"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Errorf("demo did not write %s: %v", f, err)
		}
	}
	return r
}

// checkReconciliation: every declared incident detected, its measured start
// and end within tolerance of the declared ones, and nothing undeclared.
func checkReconciliation(t *testing.T, r demoReport, tolerance time.Duration, wantIncidents int) {
	t.Helper()
	n := 0
	for _, s := range r.Services {
		for _, inc := range s.Reconciliation {
			n++
			if !inc.Detected {
				t.Errorf("%s: %s not detected", s.Name, inc.ID)
				continue
			}
			for what, d := range map[string]*float64{"start": inc.StartDeltaSeconds, "end": inc.EndDeltaSeconds} {
				if d == nil {
					t.Errorf("%s: %s has no measured %s", s.Name, inc.ID, what)
				} else if math.Abs(*d) > tolerance.Seconds() {
					t.Errorf("%s: %s measured %s off by %.0fs, want within %s", s.Name, inc.ID, what, *d, tolerance)
				}
			}
		}
		for _, u := range s.Undeclared {
			fn := "(flow)"
			if u.Function != nil {
				fn = *u.Function
			}
			t.Errorf("%s: undeclared window %s/%s from %s, cause %s", s.Name, u.Flow, fn, u.Start, u.CauseStep)
		}
	}
	if n != wantIncidents {
		t.Errorf("report reconciles %d declared incidents, want %d", n, wantIncidents)
	}
}

func TestDemoKakao2021(t *testing.T) {
	out1, out2 := t.TempDir(), t.TempDir()
	args := []string{"--timeline", "../../examples/incidents/kakao-2021-05-05.yaml", "--from", "2021-05-05", "--to", "2021-05-07"}
	r := runDemo(t, out1, args...)
	checkReconciliation(t, r, time.Minute, 2)

	// The first notice came 21 minutes after the measured start.
	for _, s := range r.Services {
		for _, inc := range s.Reconciliation {
			if inc.ID == "kakaotalk-receive-2021-05-05" {
				if inc.NoticeDelay == nil || math.Abs(*inc.NoticeDelay-21*60) > 60 {
					t.Errorf("notice delay = %v, want about 21m", inc.NoticeDelay)
				}
			}
		}
	}

	// Deterministic: a second replay writes the same bytes, the PDF too
	// (its dates are the report's, its figures vector drawings). The
	// database is not compared: SQLite's header and page layout record how
	// it was written, not only what it holds.
	runDemo(t, out2, args...)
	for _, f := range []string{"windows.json", "windows.csv", "report.json", "report.html", "report.pdf"} {
		a, _ := os.ReadFile(filepath.Join(out1, f))
		b, _ := os.ReadFile(filepath.Join(out2, f))
		if len(a) < 10 {
			t.Errorf("%s: %d bytes", f, len(a))
			continue
		}
		if !bytes.Equal(a, b) {
			n := 0
			for n < min(len(a), len(b)) && a[n] == b[n] {
				n++
			}
			t.Errorf("%s differs between two replays of the same timeline, from byte %d (%d and %d bytes)", f, n, len(a), len(b))
		}
	}
}

func TestDemoKakao2022Fire(t *testing.T) {
	out := t.TempDir()
	r := runDemo(t, out, "--timeline", "../../examples/incidents/kakao-2022-10-15.yaml", "--from", "2022-10-15", "--to", "2022-10-22")
	checkReconciliation(t, r, time.Minute, 10)

	// The PDF holds the period, windows and availability, and renders.
	pdf := filepath.Join(out, "report.pdf")
	for _, tool := range []string{"pdftotext", "pdftoppm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: run scripts/deps.sh (apt-get install -y poppler-utils)", tool)
		}
	}
	text, err := exec.Command("pdftotext", "-layout", pdf, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	// The words of a table cell wrap inside it ("login: connection" over
	// "refused (127.0.0.1:18080)"), which -layout sets beside the other
	// columns' lines: phrases are looked for in the text in content order,
	// its white space folded.
	raw, err := exec.Command("pdftotext", pdf, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	flat := strings.Join(strings.Fields(string(raw)), " ")
	for _, want := range []string{"2022-10-15", "2022-10-22", "messaging-roundtrip", "login: connection refused (127.0.0.1:", "Availability", "fire-messaging-"} {
		if !strings.Contains(flat, want) {
			t.Errorf("PDF text lacks %q", want)
		}
	}
	for _, s := range r.Services {
		if s.Availability == nil {
			t.Errorf("%s: no availability", s.Name)
			continue
		}
		if pct := render.Percent(*s.Availability, 3); !strings.Contains(string(text), pct) {
			t.Errorf("PDF text lacks %s availability %s", s.Name, pct)
		}
	}
	pages := t.TempDir()
	if out, err := exec.Command("pdftoppm", "-png", "-r", "40", pdf, filepath.Join(pages, "p")).CombinedOutput(); err != nil || len(out) > 0 {
		t.Fatalf("pdftoppm: %v %s", err, out)
	}
	m, _ := filepath.Glob(filepath.Join(pages, "p-*.png"))
	if len(m) < 2 {
		t.Fatalf("pdftoppm rendered %d pages", len(m))
	}
	// The report opens with the function timeline, and sections flow: no
	// page but the last is left mostly empty (issue #10 item 5).
	page1, err := exec.Command("pdftotext", "-layout", "-f", "1", "-l", "1", pdf, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	for _, want := range []string{"Function timeline", "Whole period: 2022-10-15 00:00 to 2022-10-22 00:00"} {
		if !strings.Contains(string(page1), want) {
			t.Errorf("page 1 lacks %q", want)
		}
	}
	for i, p := range m[:len(m)-1] {
		if fill := pageFill(t, p); fill < 0.6 {
			t.Errorf("page %d of %d is filled to %.0f%% only", i+1, len(m), 100*fill)
		}
	}
}

// pageFill is how far down a rendered page its content reaches, above the
// page-number footer, as a share of the page height.
func pageFill(t *testing.T, path string) float64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	last := 0
	for y := b.Min.Y; y < b.Max.Y-b.Dy()*6/100; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if r, g, bl, _ := img.At(x, y).RGBA(); r>>8 < 235 || g>>8 < 235 || bl>>8 < 235 {
				last = y
				break
			}
		}
	}
	return float64(last) / float64(b.Dy())
}

// TestDemoPartialIncident: an incident that fails 60% of requests is still
// detected, its start and end within five intervals of the declared ones.
func TestDemoPartialIncident(t *testing.T) {
	dir := t.TempDir()
	tl := writeFile(t, dir, "partial.yaml", `name: partial
title: New-year traffic outage, partial
timezone: Asia/Seoul
incidents:
  - id: newyear-2020
    title: Many messages failed to send
    service: messaging
    functions: [send]
    start: 2020-01-01T00:00:00+09:00
    end: 2020-01-01T02:15:00+09:00
    mode: error
    rate: 0.6
`)
	r := runDemo(t, filepath.Join(dir, "out"), "--timeline", tl, "--from", "2019-12-31T18:00:00+09:00", "--to", "2020-01-01T06:00:00+09:00")
	checkReconciliation(t, r, 5*time.Minute, 1)
}
