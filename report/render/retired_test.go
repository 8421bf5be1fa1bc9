package render

import (
	"bytes"
	"strings"
	"testing"
)

// TestRetiredFlowShown: a flow the config no longer has but that ran in the
// period (report.Flow.Retired) is marked so in the Flows table of every
// human format, with a note saying what that means, and has "retired":
// true in JSON; a configured flow is not marked. Before, nothing told a
// reader why a flow absent from the config was in the report.
func TestRetiredFlowShown(t *testing.T) {
	r := auditReport(t, `, "availability": 0.99, "credit_percent": 10, "flows": [
	  {"name": "chat", "availability": 1, "run_success_ratio": 1, "runs": 22000},
	  {"name": "chat-old", "availability": 0.98, "run_success_ratio": 0.98, "runs": 22640, "retired": true}]`)
	texts := humanText(t, r)
	texts["pdf"] = pdfText(t, r)
	for format, out := range texts {
		if !strings.Contains(out, "chat-old (no longer configured)") {
			t.Errorf("%s: the retired flow is not marked", format)
		}
		if strings.Contains(out, "chat (no longer configured)") {
			t.Errorf("%s: the configured flow is marked", format)
		}
		if !strings.Contains(strings.Join(strings.Fields(out), " "), "not in the config this report was made with") {
			t.Errorf("%s: no note on what the mark means", format)
		}
	}
	var js bytes.Buffer
	if err := JSON(&js, r); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(js.String(), `"retired": true`); n != 1 {
		t.Errorf(`JSON has "retired": true %d times, want once (chat-old)`, n)
	}
	// Without a retired flow, no note.
	for format, out := range humanText(t, auditReport(t, "")) {
		if strings.Contains(out, "no longer configured") {
			t.Errorf("%s: a note without a retired flow", format)
		}
	}
}
