package render

import (
	"regexp"
	"strings"
	"testing"
)

// TestWindowTablesNameLocations: the human reports say from where each
// window was seen. A below-quorum window is one location's view ("seen from
// too few locations"): without its location the row cannot be read; a
// counted window lists the locations that made the quorum.
func TestWindowTablesNameLocations(t *testing.T) {
	r := auditReport(t, `, "availability": 0.99, "credit_percent": 10, "windows": [
	  {"service": "messaging", "flow": "chat", "function": "receive", "kind": "down", "start": "2026-03-02T00:00:00Z", "end": "2026-03-02T00:30:00Z", "duration_seconds": 1800, "cause_step": "receive", "locations": ["seoul-a", "seoul-b"], "error": "HTTP 503", "confirmed": "2026-03-02T00:01:00Z"}
	], "below_quorum": [
	  {"service": "messaging", "flow": "chat", "function": "send", "kind": "down", "start": "2026-03-10T00:00:00Z", "end": "2026-03-10T00:20:00Z", "duration_seconds": 1200, "cause_step": "send", "locations": ["busan-c"], "error": "HTTP 502", "confirmed": "2026-03-10T00:01:00Z"}
	]`)
	tests := []struct {
		name string
		row  *regexp.Regexp // the window's row (its first line in the PDF)
		want string
	}{
		{"counted", regexp.MustCompile(`2026-03-02(?: 00:00:00 \+00:00 \||\s{3,})[^\n]*?HTTP 503`), "seoul-a, seoul-b"},
		{"below quorum", regexp.MustCompile(`2026-03-10(?: 00:00:00 \+00:00 \||\s{3,})[^\n]*?HTTP 502`), "busan-c"},
	}
	texts := humanText(t, r)
	texts["html"] = htmlCells(texts["html"])
	texts["pdf"] = pdfText(t, r)
	for format, out := range texts {
		for _, tc := range tests {
			loc := tc.row.FindStringIndex(out)
			if loc == nil {
				t.Errorf("%s: no %s row", format, tc.name)
				continue
			}
			row, want := out[loc[0]:loc[1]], []string{tc.want}
			if format == "pdf" {
				// pdftotext -layout wraps a cell onto the next lines.
				rest := strings.SplitN(out[loc[0]:], "\n", 4)
				row, want = strings.Join(rest[:min(3, len(rest))], "\n"), strings.Split(tc.want, " ")
			}
			for _, w := range want {
				if !strings.Contains(row, w) {
					t.Errorf("%s: %s row does not name %q: %q", format, tc.name, w, row)
				}
			}
		}
	}
}
