package render

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
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

// pdfText renders r as PDF and returns its text (pdftotext -layout).
func pdfText(t *testing.T, r *report.Report) string {
	t.Helper()
	pdftotext := poppler(t, "pdftotext")
	b, err := pdfBytes(r, PDFOptions{})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "r.pdf")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(pdftotext, "-layout", path, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v\n%s", err, out)
	}
	return string(out)
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
			pdfFlat := strings.Join(strings.Fields(pdfText(t, r)), " ")

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
	// The credit, then the tier it came from in brackets.
	credit, _, _ := strings.Cut(fact("SLA credit"), " (")
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

// TestReviewTimelineTicks: the timeline's axis marks, for tiny, short, long
// and DST-crossing periods in zones with half-hour offsets, a 30-minute DST
// shift and clocks that jump at midnight. Every mark is inside the period,
// in order, labelled with its own local time (its date at the first instant
// of a local date), and there are 3 to 13 of them. Before the review a
// 1-minute period had no mark, Lord Howe's DST morning had a mark labelled
// 02:30 among whole hours (time.Date's 02:00 does not exist there), and a
// two-day Santiago period had no date mark for the day whose midnight does
// not exist.
func TestReviewTimelineTicks(t *testing.T) {
	zone := func(name string) *time.Location {
		l, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	lordHowe, santiago, kolkata := zone("Australia/Lord_Howe"), zone("America/Santiago"), zone("Asia/Kolkata")
	tests := []struct {
		name     string
		from, to time.Time
		loc      *time.Location
		has      []string // labels that must be there (at their own times)
	}{
		{"one minute", time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC), time.Date(2024, 3, 1, 10, 1, 0, 0, time.UTC), time.UTC, nil},
		{"ninety seconds off the minute", time.Date(2024, 3, 1, 10, 0, 17, 0, time.UTC), time.Date(2024, 3, 1, 10, 1, 47, 0, time.UTC), time.UTC, nil},
		{"ninety minutes", time.Date(2024, 3, 1, 10, 10, 0, 0, time.UTC), time.Date(2024, 3, 1, 11, 40, 0, 0, time.UTC), time.UTC, nil},
		{"Lord Howe DST morning", report.DayStart(2024, 10, 6, lordHowe), report.DayStart(2024, 10, 7, lordHowe), lordHowe, []string{"10-06", "04:00 +11:00"}},
		{"Lord Howe DST ends", report.DayStart(2024, 4, 7, lordHowe), report.DayStart(2024, 4, 8, lordHowe), lordHowe, []string{"04-07"}},
		{"Santiago two days over the jump", time.Date(2024, 9, 7, 12, 0, 0, 0, santiago), time.Date(2024, 9, 9, 12, 0, 0, 0, santiago), santiago, []string{"09-08"}},
		{"Kolkata day", report.DayStart(2024, 3, 1, kolkata), report.DayStart(2024, 3, 2, kolkata), kolkata, []string{"03-01", "12:00"}},
		{"127 hours", time.Date(2022, 10, 15, 15, 30, 0, 0, kst), time.Date(2022, 10, 20, 22, 30, 0, 0, kst), kst, []string{"10-16", "10-20"}},
		{"a month", report.DayStart(2024, 9, 1, santiago), report.DayStart(2024, 10, 1, santiago), santiago, []string{"09-01"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tl := Timeline{From: tc.from, To: tc.to, Loc: tc.loc}
			ticks := tl.ticks()
			var got []string
			for i, tk := range ticks {
				local := tk.at.In(tc.loc)
				got = append(got, local.Format("01-02 15:04:05")+"="+tk.label)
				if tk.at.Before(tc.from) || !tk.at.Before(tc.to) || (i > 0 && !tk.at.After(ticks[i-1].at)) {
					t.Errorf("mark %s out of the period or of order", tk.at)
				}
				y, m, d := local.Date()
				dayStart := report.DayStart(y, m, d, tc.loc).Equal(tk.at)
				switch tk.label {
				case local.Format("01-02"):
					if !dayStart {
						t.Errorf("date mark %q at %s, not the first instant of that date", tk.label, local)
					}
				case local.Format("15:04"), local.Format("15:04:05"):
					if dayStart {
						t.Errorf("mark at the start of %s labelled %q, not with its date", local.Format("01-02"), tk.label)
					}
					if local.Second() != 0 && len(tk.label) == 5 {
						t.Errorf("mark %q at %s", tk.label, local)
					}
				case local.Format("15:04") + " " + zoneName(local):
					// The zone, after a clock change or on the first of the wall
					// times it repeats (TestTimelineTicksRepeatedHour).
					if dayStart {
						t.Errorf("date mark at %s labelled %q", local, tk.label)
					}
				default:
					t.Errorf("mark at %s labelled %q", local, tk.label)
				}
			}
			if len(ticks) < 3 || len(ticks) > 13 {
				t.Errorf("%d marks: %v", len(ticks), got)
			}
			// Marks at a regular step: whole hours where the step is hours.
			for _, h := range tc.has {
				found := false
				for _, tk := range ticks {
					found = found || tk.label == h
				}
				if !found {
					t.Errorf("no mark %q: %v", h, got)
				}
			}
			for _, tk := range ticks {
				if l := tk.at.In(tc.loc); tc.to.Sub(tc.from) > 6*time.Hour && l.Minute() != 0 {
					t.Errorf("mark %q at %s, not a whole hour: %v", tk.label, l.Format("15:04"), got)
				}
			}
		})
	}
}

// TestReviewTimelineFitsAPage: a report with many services draws its
// function timeline in parts that each fit an A4 page under their heading,
// breaking between services, with every lane in exactly one part. Before,
// 80 services made one figure 5.5 times as high as it was wide (1,023 mm in
// the PDF): maroto put it on a page of its own and cut off everything below
// the first ~20 services, and rasterised it at 2000 x 11000 pixels.
func TestReviewTimelineFitsAPage(t *testing.T) {
	for _, n := range []int{1, 12, 80} {
		r := monthReport(n)
		v := newView(r, time.UTC)
		whole := NewTimeline(r, TimelineOptions{})
		var lanes []string
		parts := 0
		for _, tf := range v.Timelines {
			if tf.TL.Height() > tlMaxHeight {
				t.Errorf("%d services: %q is %.0f high (at most %.0f)", n, tf.Caption, tf.TL.Height(), tlMaxHeight)
			}
			if strings.HasPrefix(tf.Caption, "Close-up") {
				continue
			}
			parts++
			for i, l := range tf.TL.Lanes {
				lanes = append(lanes, l.Service+"/"+l.Function)
				if i == 0 && len(lanes) > 1 && strings.HasPrefix(lanes[len(lanes)-2], l.Service+"/") {
					t.Errorf("%d services: a part starts inside service %s", n, l.Service)
				}
			}
		}
		var want []string
		for _, l := range whole.Lanes {
			want = append(want, l.Service+"/"+l.Function)
		}
		if strings.Join(lanes, ",") != strings.Join(want, ",") {
			t.Errorf("%d services: the parts have lanes %v, want %v", n, lanes, want)
		}
		if n == 1 && parts != 1 {
			t.Errorf("one service drawn in %d parts", parts)
		}
	}
	// One service with more functions than fit: split between lanes.
	r := monthReport(1)
	for i := range 120 {
		r.Services[0].Steps = append(r.Services[0].Steps, report.StepLatency{Flow: "f", Step: fmt.Sprint("s", i), Function: fmt.Sprint("fn-", i)})
	}
	v := newView(r, time.UTC)
	n := 0
	for _, tf := range v.Timelines {
		if tf.TL.Height() > tlMaxHeight {
			t.Errorf("%q is %.0f high", tf.Caption, tf.TL.Height())
		}
		if !strings.HasPrefix(tf.Caption, "Close-up") {
			n += len(tf.TL.Lanes)
		}
	}
	if want := len(NewTimeline(r, TimelineOptions{}).Lanes); n != want {
		t.Errorf("123 functions: %d lanes in the parts, want %d", n, want)
	}
}

// TestReviewManyServicesPDF renders a month of 80 services as PDF and reads
// its text back: the whole-period timeline is drawn in parts whose lane
// labels, in order, are every service once (before the timeline was split,
// the figure went on a page of its own and lost everything below the first
// ~20 services), and every service has its section, in order.
func TestReviewManyServicesPDF(t *testing.T) {
	const n = 80
	var want []string
	for i := range n {
		want = append(want, fmt.Sprintf("service-%02d", i))
	}
	text := pdfText(t, monthReport(n))

	caption := regexp.MustCompile(`^(Whole period|Close-up), part \d+ of \d+ `)
	lane := regexp.MustCompile(`^service-\d\d$`)
	var lanes []string
	parts, whole := 0, false
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimLeft(line, "\f ")
		if m := caption.FindStringSubmatch(line); m != nil {
			whole = m[1] == "Whole period"
			if whole {
				parts++
			}
			continue
		}
		if strings.HasPrefix(line, "Service: ") {
			whole = false
		}
		if whole && lane.MatchString(line) {
			lanes = append(lanes, line)
		}
	}
	if parts < 2 {
		t.Errorf("the whole-period timeline is in %d parts, want several for %d services", parts, n)
	}
	if got := strings.Join(lanes, ","); got != strings.Join(want, ",") {
		t.Errorf("whole-period timeline lanes in the PDF:\n%s\nwant every service once, in order:\n%s", got, strings.Join(want, ","))
	}

	var sections []string
	for _, m := range regexp.MustCompile(`(?m)^\f? ?Service: (\S+)$`).FindAllStringSubmatch(text, -1) {
		sections = append(sections, m[1])
	}
	if got := strings.Join(sections, ","); got != strings.Join(want, ",") {
		t.Errorf("service sections in the PDF:\n%s\nwant every service once, in order", got)
	}
}

// TestReviewTimelinePeriods: tiny (one minute), long (127 hours), empty (no
// window) and serviceless reports render in every format, and the timeline
// draws the window there is. Held on the code under review (the marks of
// the tiny period are TestReviewTimelineTicks'); kept as a guard.
func TestReviewTimelinePeriods(t *testing.T) {
	base := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	mk := func(span time.Duration, win time.Duration) *report.Report {
		r := auditReport(t, "")
		r.From, r.To, r.Generated = base, base.Add(span), base.Add(span)
		r.Services[0].Daily = []report.Day{{Date: "2026-03-01", Availability: ptr(0.5), Seconds: span.Seconds()}}
		r.Services[0].Steps = []report.StepLatency{{Flow: "chat", Step: "send", Function: "send"}}
		if win > 0 {
			e := base.Add(span / 2).Add(win)
			r.Services[0].Windows = []report.Window{{Service: "messaging", Flow: "chat", Function: ptr("send"), Kind: "down",
				Start: base.Add(span / 2), End: &e, DurationSeconds: win.Seconds(), CauseStep: "send"}}
			r.Windows = r.Services[0].Windows
		}
		return r
	}
	noServices := mk(time.Hour, 0)
	noServices.Services = nil
	for name, tc := range map[string]struct {
		r    *report.Report
		bars int
	}{
		"one minute": {mk(time.Minute, 10*time.Second), 1}, "127 hours": {mk(127*time.Hour, 40*time.Hour), 1},
		"empty": {mk(time.Hour, 0), 0}, "no services": {noServices, 0},
	} {
		t.Run(name, func(t *testing.T) {
			for _, format := range []string{"json", "csv", "md", "html", "pdf"} {
				var b bytes.Buffer
				if err := Write(&b, tc.r, format, PDFOptions{}); err != nil || b.Len() == 0 {
					t.Errorf("%s: %v (%d bytes)", format, err, b.Len())
				}
			}
			bars := 0
			for _, l := range NewTimeline(tc.r, TimelineOptions{}).Lanes {
				bars += len(l.Bars)
			}
			if bars != tc.bars {
				t.Errorf("%d bars, want %d", bars, tc.bars)
			}
		})
	}
}
