package render

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"html"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/report"
)

// Cases from the review of the report (notes/review-report.md).

// reviewReports are reports whose figures the formats must agree on: the
// two-service fixture, a service with nothing measured (null), one with
// nothing measured under `unknown: down` (availability 0, no_data true),
// and one just under its objective with windows at sub-second instants,
// cut by the period at both ends.
func reviewReports(t *testing.T) map[string]*report.Report {
	t.Helper()
	unknownDown := auditReport(t, `, "availability": 0, "no_data": true, "credit_percent": 100, "runs": 0, "run_success_ratio": null, "unknown_seconds": 2678400,
	  "flows": [{"name": "chat", "availability": 0, "no_data": true, "run_success_ratio": null, "runs": 0, "unknown_seconds": 2678400}]`)
	unknownDown.Policy.Unknown = "down"
	cut := auditReport(t, `, "availability": 0.9989999999999999, "credit_percent": 10, "incidents": 1, "mttr_seconds": 2680.5, "mtbf_seconds": 2675719.5, "mttd_seconds": null,
	  "windows": [
	    {"service": "messaging", "flow": "chat", "function": "receive", "kind": "down", "start": "2026-03-01T00:00:00Z", "end": "2026-03-01T00:30:00.25Z", "start_cut": "period", "duration_seconds": 1800.25, "cause_step": "receive", "locations": ["seoul-a"], "error": "HTTP 503", "confirmed": "2026-03-01T00:00:00Z", "causes": []},
	    {"service": "messaging", "flow": "chat", "function": "send", "kind": "down", "start": "2026-03-31T23:15:00.816686513Z", "end": null, "end_cut": "period", "duration_seconds": 2699.183313487, "cause_step": "send", "locations": ["seoul-a"], "error": "HTTP 503", "confirmed": "2026-03-31T23:16:00.816686513Z", "causes": []}
	  ]`)
	cut.Windows = cut.Services[0].Windows
	return map[string]*report.Report{
		"fixture":                fixture(),
		"no data":                auditReport(t, `, "availability": null, "no_data": true, "credit_percent": null, "runs": 0, "run_success_ratio": null, "flows": [{"name": "chat", "availability": null, "no_data": true, "runs": 0}]`),
		"unknown down":           unknownDown,
		"sub-second cut windows": cut,
	}
}

// sectionFacts returns, per service section in order, the label -> value
// table of its figures, read from Markdown or HTML.
func sectionFacts(t *testing.T, doc, sep string, row *regexp.Regexp) []map[string]string {
	t.Helper()
	parts := strings.Split(doc, sep)
	var out []map[string]string
	for _, p := range parts[1:] {
		// Only the figures table: Markdown's starts at its header row and
		// ends at a blank line; HTML's is the table of class facts.
		if i := strings.Index(p, "| Figure | Value |"); i >= 0 {
			p = p[i:]
			if j := strings.Index(p, "\n\n"); j >= 0 {
				p = p[:j]
			}
		}
		if i := strings.Index(p, `<table class="facts">`); i >= 0 {
			p = p[i:]
			if j := strings.Index(p, "</table>"); j >= 0 {
				p = p[:j]
			}
		}
		facts := map[string]string{}
		for _, m := range row.FindAllStringSubmatch(p, -1) {
			if _, ok := facts[m[1]]; !ok && m[1] != "Figure" {
				facts[m[1]] = m[2]
			}
		}
		out = append(out, facts)
	}
	return out
}

var (
	mdFact   = regexp.MustCompile(`(?m)^\| ([^|]+) \| ([^|\n]*) \|$`)
	htmlFact = regexp.MustCompile(`<tr><th>([^<]+)</th><td>([^<]*)</td></tr>`)
	pctRe    = regexp.MustCompile(`^(-?[0-9]+(?:\.[0-9]+)?)%`)
)

// unmd undoes md's escapes.
func unmd(s string) string {
	s = regexp.MustCompile(`\\(.)`).ReplaceAllString(s, "$1")
	return html.UnescapeString(s)
}

// TestReviewFormatsAgree renders each review report as JSON, CSV, Markdown,
// HTML and PDF, and checks that they show the same figures, that a figure
// the JSON has as null (or a service marked no_data) is "no data" or "-" in
// every human format, that no availability is shown reaching a threshold
// (objective or credit tier) it misses, and that the CSV's windows are the
// JSON's to the nanosecond, with the same cuts.
//
// Before the review the CSV cut times to the second (a window starting at
// 23:15:00.816686513 was 23:15:00 in the CSV) and had no cut columns, and a
// service with nothing measured under `unknown: down` was "0.000% ...:
// missed" in Markdown, HTML and PDF while its JSON said no_data: true.
func TestReviewFormatsAgree(t *testing.T) {
	pdftotext := poppler(t, "pdftotext")
	for name, r := range reviewReports(t) {
		t.Run(name, func(t *testing.T) {
			var js, cs, md, h bytes.Buffer
			for _, f := range []struct {
				format string
				w      *bytes.Buffer
			}{{"json", &js}, {"csv", &cs}, {"md", &md}, {"html", &h}} {
				if err := Write(f.w, r, f.format, PDFOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			pdf, err := pdfBytes(r, PDFOptions{})
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "r.pdf")
			if err := os.WriteFile(path, pdf, 0o644); err != nil {
				t.Fatal(err)
			}
			pdfText, err := exec.Command(pdftotext, "-layout", path, "-").CombinedOutput()
			if err != nil {
				t.Fatalf("pdftotext: %v\n%s", err, pdfText)
			}
			pdfFlat := strings.Join(strings.Fields(string(pdfText)), " ")

			var rep report.Report
			if err := json.Unmarshal(js.Bytes(), &rep); err != nil {
				t.Fatal(err)
			}
			mdFacts := sectionFacts(t, md.String(), "\n## Service: ", mdFact)
			htmlFacts := sectionFacts(t, h.String(), "<h2>Service: ", htmlFact)
			if len(mdFacts) != len(rep.Services) || len(htmlFacts) != len(rep.Services) {
				t.Fatalf("%d services, %d Markdown and %d HTML sections", len(rep.Services), len(mdFacts), len(htmlFacts))
			}
			for i, s := range rep.Services {
				mf, hf := mdFacts[i], htmlFacts[i]
				for label, v := range mf {
					v = unmd(v)
					if hv, ok := hf[label]; !ok || html.UnescapeString(hv) != v {
						t.Errorf("%s %s: Markdown %q, HTML %q", s.Name, label, v, html.UnescapeString(hf[label]))
					}
					if !strings.Contains(pdfFlat, strings.Join(strings.Fields(v), " ")) {
						t.Errorf("%s %s: %q not in the PDF", s.Name, label, v)
					}
				}
				checkFigures(t, s, func(label string) string { return unmd(mf[label]) })
			}
			checkCSV(t, rep.Windows, cs.Bytes())
		})
	}
}

// checkFigures checks a service's human figures against its JSON.
func checkFigures(t *testing.T, s report.Service, fact func(string) string) {
	t.Helper()
	avail := fact("Availability")
	noData := s.Availability == nil || s.NoData
	if noData != strings.Contains(avail, "no data") {
		t.Errorf("%s: availability shown %q; JSON availability %s, no_data %v", s.Name, avail, fmtPctPtr(s.Availability, "null"), s.NoData)
	}
	if s.Availability != nil {
		m := pctRe.FindStringSubmatch(avail)
		if m == nil {
			t.Fatalf("%s: availability %q is not a percentage", s.Name, avail)
		}
		shown, _ := strconv.ParseFloat(m[1], 64)
		dec := 0
		if _, frac, ok := strings.Cut(m[1], "."); ok {
			dec = len(frac)
		}
		v := *s.Availability * 100
		if shown > v+1e-9 || v-shown >= math.Pow(10, -float64(dec))+1e-9 {
			t.Errorf("%s: availability %v shown as %s (not truncated to %d decimals)", s.Name, *s.Availability, avail, dec)
		}
		thresholds := []float64{s.Objective}
		for _, c := range []float64{0.95, 0.99, 0.999, 0.9995, 0.9999} {
			thresholds = append(thresholds, c)
		}
		for _, th := range thresholds {
			if *s.Availability < th && shown >= th*100-1e-9 {
				t.Errorf("%s: %v is below %v but shown as %s", s.Name, *s.Availability, th, avail)
			}
		}
		verdict := fact("Objective")
		if met := *s.Availability >= s.Objective; met != strings.Contains(verdict, "(met)") {
			t.Errorf("%s: objective shown %q for availability %v against %v", s.Name, verdict, *s.Availability, s.Objective)
		}
	}
	for label, v := range map[string]*float64{"MTTR": s.MTTRSeconds, "MTBF": s.MTBFSeconds, "MTTD": s.MTTDSeconds, "Longest outage": s.LongestSeconds} {
		if (v == nil) != (fact(label) == "-") {
			t.Errorf("%s: %s shown %q, JSON %v", s.Name, label, fact(label), v)
		}
	}
	credit := fact("SLA credit")
	switch {
	case s.CreditPercent == nil && credit != "-":
		t.Errorf("%s: credit shown %q, JSON null", s.Name, credit)
	case s.CreditPercent != nil && credit != strconv.FormatFloat(*s.CreditPercent, 'f', -1, 64)+"%":
		t.Errorf("%s: credit shown %q, JSON %v", s.Name, credit, *s.CreditPercent)
	}
	if got := fact("Incidents"); got != strconv.Itoa(s.Incidents) {
		t.Errorf("%s: incidents shown %q, JSON %d", s.Name, got, s.Incidents)
	}
}

// checkCSV compares the CSV's windows with the JSON's.
func checkCSV(t *testing.T, ws []report.Window, b []byte) {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	for _, c := range []string{"start", "end", "duration_seconds", "start_cut", "end_cut"} {
		if _, ok := col[c]; !ok {
			t.Fatalf("CSV has no %s column: %v", c, recs[0])
		}
	}
	if len(recs)-1 != len(ws) {
		t.Fatalf("CSV has %d windows, JSON %d", len(recs)-1, len(ws))
	}
	for i, w := range ws {
		rec := recs[i+1]
		start, err := time.Parse(time.RFC3339Nano, rec[col["start"]])
		if err != nil || !start.Equal(w.Start) {
			t.Errorf("window %d: CSV start %q, JSON %s", i, rec[col["start"]], w.Start.Format(time.RFC3339Nano))
		}
		switch end := rec[col["end"]]; {
		case w.End == nil && end != "":
			t.Errorf("window %d: CSV end %q, JSON null", i, end)
		case w.End != nil:
			e, err := time.Parse(time.RFC3339Nano, end)
			if err != nil || !e.Equal(*w.End) {
				t.Errorf("window %d: CSV end %q, JSON %s", i, end, w.End.Format(time.RFC3339Nano))
			}
		}
		if d, err := strconv.ParseFloat(rec[col["duration_seconds"]], 64); err != nil || d != w.DurationSeconds {
			t.Errorf("window %d: CSV duration %q, JSON %v", i, rec[col["duration_seconds"]], w.DurationSeconds)
		}
		if rec[col["start_cut"]] != w.StartCut || rec[col["end_cut"]] != w.EndCut {
			t.Errorf("window %d: CSV cuts %q/%q, JSON %q/%q", i, rec[col["start_cut"]], rec[col["end_cut"]], w.StartCut, w.EndCut)
		}
	}
}
