package render

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestNeverSurelyDownMark: a counted window in which the quorum was never
// surely down at once (report.Window.QuorumNeverSurelyDown) says so after
// its duration in the report's windows tables (Markdown, HTML, PDF) and in
// `windows`' text, and has "quorum_never_surely_down": true in the JSON;
// any other window says nothing and has no such key (an additive key).
func TestNeverSurelyDownMark(t *testing.T) {
	const mark = "(quorum never surely down at once)"
	for _, never := range []bool{false, true} {
		r := auditReport(t, `, "availability": 0.99999, "credit_percent": 0, "windows": [
	  {"service": "messaging", "flow": "chat", "function": null, "kind": "down", "start": "2026-03-10T10:11:00Z", "end": "2026-03-10T10:11:04Z", "duration_seconds": 4, "cause_step": "send", "locations": ["busan-b", "seoul-a"], "error": "HTTP 503", "confirmed": "2026-03-10T10:12:00Z", "start_uncertainty_seconds": 60, "start_uncertainty_later_seconds": 4.3, "end_uncertainty_seconds": 60, "end_uncertainty_later_seconds": 0.3, "quorum_never_surely_down": `+map[bool]string{false: "false", true: "true"}[never]+`}
	]`)
		if got := r.Services[0].Windows[0].QuorumNeverSurelyDown; got != never {
			t.Fatalf("read back %v, want %v", got, never)
		}
		outs := humanText(t, r)
		var txt, js bytes.Buffer
		if err := WindowsText(&txt, r.Services[0].Windows, time.UTC); err != nil {
			t.Fatal(err)
		}
		outs["text"] = txt.String()
		outs["pdf"] = pdfText(t, r)
		for format, out := range outs {
			m := mark
			if format == "pdf" { // the cell takes three lines beside the others (pdftotext -layout)
				m = "4s (quorum never"
			}
			if got := strings.Contains(out, m); got != never {
				t.Errorf("never surely down %v: %s has %q: %v", never, format, m, got)
			}
		}
		if err := WindowsJSON(&js, r.Services[0].Windows); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(js.String(), `"quorum_never_surely_down": true`); got != never {
			t.Errorf("never surely down %v: the JSON has the key: %v\n%s", never, got, js.String())
		}
		if !never && strings.Contains(js.String(), "quorum_never_surely_down") {
			t.Errorf("the key where it is false:\n%s", js.String())
		}
	}
}
