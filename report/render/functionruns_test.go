package render

import (
	"bytes"
	"strings"
	"testing"
)

// TestFunctionRunsShown: a flow whose login its session's steps alone serve
// (report.Flow.FunctionRuns, login exercised by 720 of 43,200 runs) has the
// table of functions measured by fewer runs than their flow in every human
// format, with a row for login only (send, exercised by every run, has
// none) and a note on why; function_runs is in JSON. A report whose flows'
// functions were all exercised by every run has no such table, so reports
// of flows without a session read as before.
func TestFunctionRunsShown(t *testing.T) {
	r := auditReport(t, `, "availability": 0.99, "credit_percent": 10, "flows": [
	  {"name": "matrix-sync", "availability": 1, "run_success_ratio": 1, "runs": 43200,
	   "function_runs": [{"function": "login", "runs": 720}, {"function": "send", "runs": 43200}]},
	  {"name": "chat", "availability": 1, "run_success_ratio": 1, "runs": 43200}]`)
	texts := humanText(t, r)
	texts["pdf"] = pdfText(t, r)
	for format, out := range texts {
		flat := strings.Join(strings.Fields(out), " ")
		if !strings.Contains(flat, "Functions measured by fewer runs than their flow") {
			t.Errorf("%s: no table of functions measured by fewer runs", format)
			continue
		}
		if !strings.Contains(flat, "720") {
			t.Errorf("%s: login's 720 runs not shown", format)
		}
		if !strings.Contains(flat, "exercised only by the runs that logged in") {
			t.Errorf("%s: no note on what the table means", format)
		}
	}
	md := texts["markdown"]
	if !strings.Contains(md, "| matrix-sync | login | 720 | 43200 |") || strings.Contains(md, "| matrix-sync | send |") {
		t.Errorf("md: want a row for login alone:\n%s", md)
	}
	var js bytes.Buffer
	if err := JSON(&js, r); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(js.String(), `"function_runs"`); n != 1 {
		t.Errorf(`JSON has "function_runs" %d times, want once (matrix-sync)`, n)
	}
	same := auditReport(t, `, "availability": 0.99, "credit_percent": 10, "flows": [
	  {"name": "matrix-sync", "availability": 1, "run_success_ratio": 1, "runs": 43200,
	   "function_runs": [{"function": "login", "runs": 43200}, {"function": "send", "runs": 43200}]}]`)
	for format, out := range humanText(t, same) {
		if strings.Contains(out, "fewer runs than their flow") {
			t.Errorf("%s: the table shown where every run exercised every function", format)
		}
	}
}
