package render

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slaprobe/slaprobe/report"
)

// TestWindowInMaintenanceSaysNotCounted: a window measured during planned
// maintenance says so in the window tables of every human format, with how
// much of it the maintenance covered: Centrifugo killed at 10:06:11 inside
// a 10:05-10:07 hub upgrade made a window 10:06:16-10:06:50 that the
// Downtime windows table listed as a plain 34s down window beside a
// Downtime figure of 0s, nothing to say why it was not counted.
func TestWindowInMaintenanceSaysNotCounted(t *testing.T) {
	r := maintWindowReport(t)
	for format, out := range humanText(t, r) {
		for _, want := range []string{
			"34s (in planned maintenance, not counted)",
			"20m (10m in planned maintenance, not counted)",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: %q not in the report", format, want)
			}
		}
		if n := strings.Count(out, "planned maintenance, not counted)"); n != 2 {
			t.Errorf("%s: %d cells marked, want 2 (the window after the maintenance is not)", format, n)
		}
	}
}

// TestWindowInMaintenancePDFWordsWhole: in the PDF the mark wraps at its
// spaces, its words whole: in the Duration column as 864b827 left it (2
// shares of 24) "maintenance" was wider than the cell and broken inside
// ("maintenan" / "ce, not"), so the text an auditor reads or searches in
// the PDF never said "maintenance".
func TestWindowInMaintenancePDFWordsWhole(t *testing.T) {
	pdftotext := poppler(t, "pdftotext")
	b, err := pdfBytes(maintWindowReport(t), PDFOptions{})
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
	if n := strings.Count(string(out), "maintenance, not"); n != 2 {
		t.Errorf("%d cells say \"maintenance, not\" on one line, want 2:\n%s", n, out)
	}
}

func maintWindowReport(t *testing.T) *report.Report {
	t.Helper()
	return auditReport(t, `, "availability": 0.999, "credit_percent": 0, "incidents": 1, "downtime_seconds": 600,
	  "maintenance": [{"start": "2026-03-20T02:00:00Z", "end": "2026-03-20T04:00:00Z", "duration_seconds": 7200, "reason": "upgrade"}],
	  "windows": [
	    {"service": "messaging", "flow": "chat", "function": null, "kind": "down", "start": "2026-03-20T02:06:16Z", "end": "2026-03-20T02:06:50Z", "duration_seconds": 34, "cause_step": "login", "locations": ["seoul-a"], "error": "login: connection refused"},
	    {"service": "messaging", "flow": "chat", "function": null, "kind": "down", "start": "2026-03-20T03:50:00Z", "end": "2026-03-20T04:10:00Z", "duration_seconds": 1200, "cause_step": "login", "locations": ["seoul-a"], "error": "login: connection refused"},
	    {"service": "messaging", "flow": "chat", "function": null, "kind": "down", "start": "2026-03-21T01:00:00Z", "end": "2026-03-21T01:10:00Z", "duration_seconds": 600, "cause_step": "login", "locations": ["seoul-a"], "error": "login: connection refused"}]`)
}
