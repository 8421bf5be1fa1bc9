package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"strings"
	"testing"

	"github.com/slaprobe/slaprobe/report"
)

// The rendering cases of issue #12: figures rounded toward the verdict, "no
// data" and "-" where there is nothing to show, cut windows said to be cut.
// Fixtures are report.json text, the public contract, decoded into the model.

// auditReport is a one-service report.json with the given service fields
// (JSON object members) merged over a plain default.
func auditReport(t *testing.T, service string) *report.Report {
	t.Helper()
	doc := `{
  "title": "SLA report 2026-03", "from": "2026-03-01T00:00:00Z", "to": "2026-04-01T00:00:00Z",
  "timezone": "UTC", "location": "seoul-a", "generated": "2026-04-01T00:10:00Z",
  "policy": {"text": ["Availability is up time / (period - maintenance - unknown)."]},
  "services": [{
    "name": "messaging", "objective": 0.999, "runs": 44640, "period_seconds": 2678400,
    "flows": [{"name": "chat", "availability": 1, "run_success_ratio": 1, "runs": 44640}],
    "daily": [{"date": "2026-03-01", "availability": 1}]
    ` + service + `
  }]
}`
	// Later members win in encoding/json, so the case's fields override.
	var r report.Report
	if err := json.Unmarshal([]byte(doc), &r); err != nil {
		t.Fatalf("fixture: %v\n%s", err, doc)
	}
	return &r
}

// humanText is the Markdown and (unescaped) HTML of r, for substring checks.
func humanText(t *testing.T, r *report.Report) map[string]string {
	t.Helper()
	var md, h bytes.Buffer
	if err := Markdown(&md, r); err != nil {
		t.Fatal(err)
	}
	if err := HTML(&h, r); err != nil {
		t.Fatal(err)
	}
	return map[string]string{"markdown": md.String(), "html": html.UnescapeString(h.String())}
}

func TestAuditFigures(t *testing.T) {
	tests := []struct {
		name    string
		service string
		want    []string // in every human format
		not     []string // in none
	}{
		{
			name:    "just below the objective",
			service: `, "availability": 0.9989997, "run_success_ratio": 0.9989997, "credit_percent": 10, "incidents": 1, "mttr_seconds": 2680, "mtbf_seconds": 2675720, "mttd_seconds": 60, "longest_outage_seconds": 2680, "average_outage_seconds": 2680`,
			want:    []string{"99.899% against an objective of 99.9%: missed"},
			not:     []string{"99.900%"},
		},
		{
			name:    "just below a credit tier",
			service: `, "availability": 0.9899975, "run_success_ratio": 0.98, "credit_percent": 25, "incidents": 1, "mttr_seconds": 26800, "mtbf_seconds": 2651600, "mttd_seconds": 60, "longest_outage_seconds": 26800, "average_outage_seconds": 26800`,
			want:    []string{"98.999% against an objective of 99.9%: missed"},
			not:     []string{"99.000%"},
		},
		{
			name:    "objective with three decimals",
			service: `, "objective": 0.99995, "availability": 0.99994999, "run_success_ratio": 1, "credit_percent": 10, "incidents": 1, "mttr_seconds": 134, "mtbf_seconds": 2678266, "mttd_seconds": 60, "longest_outage_seconds": 134, "average_outage_seconds": 134`,
			want:    []string{"99.994% against an objective of 99.995%: missed"},
			not:     []string{"99.995% against"},
		},
		{
			name:    "objective with four decimals",
			service: `, "objective": 0.999995, "availability": 0.9999951, "run_success_ratio": 1, "credit_percent": 0, "incidents": 1, "mttr_seconds": 13, "mtbf_seconds": 2678387, "mttd_seconds": 60, "longest_outage_seconds": 13, "average_outage_seconds": 13`,
			want:    []string{"99.9995% against an objective of 99.9995%: met"},
			not:     []string{"100.000% against"},
		},
		{
			name:    "met exactly",
			service: `, "availability": 0.999, "run_success_ratio": 0.999, "credit_percent": 0, "incidents": 1, "mttr_seconds": 2678.4, "mtbf_seconds": 2675721.6, "mttd_seconds": 60, "longest_outage_seconds": 2678.4, "average_outage_seconds": 2678.4`,
			want:    []string{"99.900% against an objective of 99.9%: met"},
		},
		{
			name:    "no data",
			service: `, "availability": null, "no_data": true, "run_success_ratio": null, "runs": 0, "credit_percent": null, "unknown_seconds": 2678400, "incidents": 0, "mttr_seconds": null, "mtbf_seconds": null, "mttd_seconds": null, "longest_outage_seconds": null, "average_outage_seconds": null, "flows": [{"name": "chat", "availability": null, "no_data": true, "run_success_ratio": null, "runs": 0}], "daily": [{"date": "2026-03-01", "availability": null}]`,
			want:    []string{"no data against an objective of 99.9%", "| messaging | no data | 99.9% | no data |"},
			not:     []string{"0.000%", "missed", "MTBF | 0s", "| 0% |"},
		},
		{
			name:    "no incidents",
			service: `, "availability": 1, "run_success_ratio": 1, "credit_percent": 0, "incidents": 0, "mttr_seconds": null, "mtbf_seconds": null, "mttd_seconds": null, "longest_outage_seconds": null, "average_outage_seconds": null`,
			want:    []string{"| MTBF | - |", "| MTTR | - |", "| MTTD | - |", "| Longest outage | - |"},
			not:     []string{"| MTBF | 0s |"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := auditReport(t, tc.service)
			for format, out := range humanText(t, r) {
				if format == "html" {
					// Compare HTML text without its tags, cells joined as in Markdown.
					out = htmlCells(out)
				}
				for _, w := range tc.want {
					if !strings.Contains(out, w) {
						t.Errorf("%s lacks %q", format, w)
					}
				}
				for _, n := range tc.not {
					if strings.Contains(out, n) {
						t.Errorf("%s has %q", format, n)
					}
				}
			}
		})
	}
}

// htmlCells flattens HTML to text: table cells as "| a | b |" rows, so the
// same substrings as in Markdown can be looked for.
func htmlCells(s string) string {
	if i := strings.Index(s, "<style>"); i >= 0 { // CSS class names are not text
		if j := strings.Index(s[i:], "</style>"); j >= 0 {
			s = s[:i] + s[i+j:]
		}
	}
	var b strings.Builder
	inTag := false
	var tag strings.Builder
	for _, r := range s {
		switch {
		case r == '<':
			inTag = true
			tag.Reset()
		case r == '>' && inTag:
			inTag = false
			name := strings.Fields(tag.String() + " ")[0]
			switch name {
			case "tr":
				b.WriteString("\n|")
			case "td", "th":
				b.WriteString(" ")
			case "/td", "/th":
				b.WriteString(" |")
			case "br", "/p", "/h1", "/h2", "/h3", "/li", "/div":
				b.WriteString("\n")
			}
		case inTag:
			tag.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	// Collapse runs of spaces the template's indentation leaves.
	return strings.Join(strings.Fields(strings.ReplaceAll(b.String(), "\n", " \n ")), " ")
}

// TestAuditPDFFigures reads the PDF's text back with pdftotext.
func TestAuditPDFFigures(t *testing.T) {
	tests := []struct {
		name    string
		service string
		want    []string
		not     []string
	}{
		{"just below the objective", `, "availability": 0.9989997, "credit_percent": 10, "incidents": 0`, []string{"99.899%"}, []string{"99.900%"}},
		{"just below a credit tier", `, "availability": 0.9899975, "credit_percent": 25, "incidents": 0`, []string{"98.999%"}, []string{"99.000%"}},
		{"no data", `, "availability": null, "no_data": true, "credit_percent": null, "runs": 0, "run_success_ratio": null, "mtbf_seconds": null, "mttr_seconds": null, "mttd_seconds": null`, []string{"no data against an objective of 99.9%"}, []string{"0.000% against", "missed", "MTBF 0s"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := pdfText(t, auditReport(t, tc.service))
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("PDF text lacks %q", w)
				}
			}
			for _, n := range tc.not {
				for _, line := range strings.Split(out, "\n") {
					if strings.Contains(line, n) {
						t.Errorf("PDF text has %q: %s", n, strings.TrimSpace(line))
					}
				}
			}
		})
	}
}

// TestAuditCutWindows: windows the period cut, or whose end the prober did
// not see, say so instead of showing a cut as a measured edge.
func TestAuditCutWindows(t *testing.T) {
	windows := `, "availability": 0.99, "credit_percent": 10, "windows": [
	  {"service": "messaging", "flow": "chat", "function": "receive", "kind": "down", "start": "2026-03-01T00:00:00Z", "end": "2026-03-01T00:30:00Z", "start_cut": "period", "duration_seconds": 1800, "cause_step": "receive", "locations": ["seoul-a"], "error": "HTTP 503", "confirmed": "2026-03-01T00:00:00Z"},
	  {"service": "messaging", "flow": "chat", "function": "send", "kind": "down", "start": "2026-03-10T00:00:00Z", "end": "2026-03-10T00:20:00Z", "end_cut": "no_data", "duration_seconds": 1200, "cause_step": "send", "locations": ["seoul-a"], "error": "HTTP 503", "confirmed": "2026-03-10T00:01:00Z"},
	  {"service": "messaging", "flow": "chat", "function": "login", "kind": "down", "start": "2026-03-31T23:00:00Z", "end": null, "end_cut": "period", "duration_seconds": 3600, "cause_step": "login", "locations": ["seoul-a"], "error": "HTTP 503", "confirmed": "2026-03-31T23:01:00Z"}
	]`
	r := auditReport(t, windows)
	for format, out := range humanText(t, r) {
		for _, w := range []string{"before the period", "after the period", "then no data"} {
			if !strings.Contains(out, w) {
				t.Errorf("%s lacks %q", format, w)
			}
		}
		if strings.Contains(out, "ongoing") {
			t.Errorf("%s calls a window cut by the period end ongoing", format)
		}
	}
}

func TestAuditDurations(t *testing.T) {
	tests := []struct {
		sec  float64
		want string
	}{
		{14399, "3h59m59s"}, {3605, "1h0m5s"}, {3600, "1h"}, {8460, "2h21m"}, {311399, "3d14h29m59s"},
		{459000, "5d7h30m"}, {86403, "1d0h0m3s"}, {-3661, "-1h1m1s"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.sec), func(t *testing.T) {
			if got := fmtDur(tc.sec); got != tc.want {
				t.Errorf("fmtDur(%v) = %q, want %q", tc.sec, got, tc.want)
			}
		})
	}
}
