package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"html"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/report"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it); got:\n%s", name, got)
	}
}

func TestGolden(t *testing.T) {
	seoul, err := time.LoadLocation("Asia/Seoul")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		file   string
		render func(*bytes.Buffer, *report.Report) error
	}{
		{"json", "report.json", func(b *bytes.Buffer, r *report.Report) error { return JSON(b, r) }},
		{"csv", "windows.csv", func(b *bytes.Buffer, r *report.Report) error { return CSV(b, r) }},
		{"windows json", "windows.json", func(b *bytes.Buffer, r *report.Report) error { return WindowsJSON(b, r.Windows) }},
		{"windows text", "windows.txt", func(b *bytes.Buffer, r *report.Report) error { return WindowsText(b, r.Windows, seoul) }},
		{"markdown", "report.md", func(b *bytes.Buffer, r *report.Report) error { return Markdown(b, r) }},
		{"html", "report.html", func(b *bytes.Buffer, r *report.Report) error { return HTML(b, r) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.render(&b, fixture()); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.file, b.Bytes())
		})
	}
}

// TestHumanContent checks that every human format carries the contents the
// report promises, in the report's zone.
func TestHumanContent(t *testing.T) {
	want := []string{
		"Monthly SLA report: May 2021",
		"2021-05-01 00:00:00 +09:00", "2021-06-01 00:00:00 +09:00", // period in KST
		"99.674%", "99.9%", "missed", "met", // headline against objective
		"99.621%",                    // run success ratio
		"2h21m",                      // downtime and the window's duration
		"21m",                        // notice delay
		"2021-05-05 21:47:00 +09:00", // window start in the zone
		"whole flow", "ongoing",      // payments window
		"kakaotalk-receive-2021-05-05", "yes",
		"Undeclared windows", "prober not yet deployed", "planned database upgrade",
		"backdated to the start of the first", // policy text
		"Below quorum", "HTTP 503",
		"10.02 s", "620 ms", // step latency
		"3.17x", "-1h36m", // burn rate, overspent budget
	}
	tests := []struct {
		name   string
		render func(*bytes.Buffer, *report.Report) error
	}{
		{"markdown", func(b *bytes.Buffer, r *report.Report) error { return Markdown(b, r) }},
		{"html", func(b *bytes.Buffer, r *report.Report) error { return HTML(b, r) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.render(&b, fixture()); err != nil {
				t.Fatal(err)
			}
			out := html.UnescapeString(b.String()) // html/template writes + as &#43;
			for _, w := range want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q", w)
				}
			}
			if !strings.Contains(out, "메시지-수신") && !strings.Contains(out, "메시지\\-수신") {
				t.Errorf("output lacks the Hangul flow name")
			}
		})
	}
}

func TestHTMLSelfContained(t *testing.T) {
	r := fixture()
	r.Services[0].Name = `<script>alert("x")</script>`
	r.Services[0].Windows[0].Error = `"><img src=x onerror=alert(1)>`
	var b bytes.Buffer
	if err := HTML(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, bad := range []string{"<script", "<img", "<link", "src=\"http", "href=\"http", "@import"} {
		if strings.Contains(out, bad) {
			t.Errorf("HTML contains %q", bad)
		}
	}
	timelines := strings.Count(out, `<svg xmlns="http://www.w3.org/2000/svg" class="timeline"`)
	if timelines < 1 {
		t.Errorf("no function timeline")
	}
	if n := strings.Count(out, "<svg") - timelines; n != 2 {
		t.Errorf("want one inline SVG chart per service (2), got %d", n)
	}
}

func TestMarkdownEscapes(t *testing.T) {
	r := fixture()
	r.Services[1].Windows[0].Error = "bad | pipe\nnew line <b>x</b>"
	var b bytes.Buffer
	if err := Markdown(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, `bad \| pipe new line &lt;b&gt;x&lt;/b&gt;`) {
		t.Errorf("error cell not escaped:\n%s", out)
	}
}

func TestWindowsJSONEmpty(t *testing.T) {
	tests := []struct {
		name string
		ws   []report.Window
	}{
		{"nil", nil},
		{"empty", []report.Window{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WindowsJSON(&b, tc.ws); err != nil {
				t.Fatal(err)
			}
			if got := b.String(); got != "[]\n" {
				t.Errorf("got %q, want []", got)
			}
		})
	}
}

func TestJSONShape(t *testing.T) {
	r := fixture()
	r.Services[1].Steps = nil
	var b bytes.Buffer
	if err := JSON(&b, r); err != nil {
		t.Fatal(err)
	}
	var got struct {
		From     string `json:"from"`
		Services []struct {
			Steps   []any `json:"steps"`
			Windows []struct {
				Function *string `json:"function"`
				Start    string  `json:"start"`
				End      *string `json:"end"`
			} `json:"windows"`
		} `json:"services"`
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.From != "2021-05-01T00:00:00+09:00" {
		t.Errorf("from = %q, want the report's offset", got.From)
	}
	if got.Services[1].Steps == nil || !strings.Contains(b.String(), `"steps": []`) {
		t.Errorf("nil steps should encode as []")
	}
	w := got.Services[1].Windows[0]
	if w.Function != nil || w.End != nil {
		t.Errorf("whole-flow ongoing window: function and end should be null, got %v %v", w.Function, w.End)
	}
}

func TestCSVFormulaAndFields(t *testing.T) {
	r := fixture()
	r.Windows[0].Error = "=HYPERLINK(\"http://x\")"
	r.Windows[0].MaintenanceSeconds = 120.5
	var b bytes.Buffer
	if err := CSV(&b, r); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if lines[0] != "service,flow,function,kind,start,end,duration_seconds,cause_step,locations,error,start_uncertainty_seconds,end_uncertainty_seconds,start_cut,end_cut,start_uncertainty_later_seconds,end_uncertainty_later_seconds,maintenance_seconds" {
		t.Errorf("header = %q", lines[0])
	}
	if len(lines) != 4 {
		t.Fatalf("want header + 3 rows, got %d lines", len(lines))
	}
	if !strings.Contains(lines[1], `seoul-a;busan-b,"'=HYPERLINK(""http://x"")"`) {
		t.Errorf("row 1 = %q", lines[1])
	}
	if !strings.HasPrefix(lines[3], "payments,payments-transfer,,down,2021-05-31T23:30:00+09:00,,1800,login,") ||
		!strings.HasSuffix(lines[3], ",60,,,,0.003,,") {
		t.Errorf("whole-flow ongoing row = %q (want a start uncertainty both ways and none for the end)", lines[3])
	}
	if !strings.HasSuffix(lines[1], ",60,10,,,10,0.04,120.5") {
		t.Errorf("row 1 = %q, want uncertainties 60 and 10 before the (empty) cuts, 10 and 0.04 later after them, then 120.5 s in maintenance", lines[1])
	}
}

func TestWindowsTextControlChars(t *testing.T) {
	ws := fixture().Windows
	ws[0].Error = "boom\x1b[31mred\x1b[0m\r\n"
	var b bytes.Buffer
	if err := WindowsText(&b, ws, nil); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(b.String(), "\x1b\r") {
		t.Errorf("control characters reached the terminal: %q", b.String())
	}
	if got := strings.Count(b.String(), "\n"); got != 4 {
		t.Errorf("want 4 lines, got %d", got)
	}
}

func TestFmtDur(t *testing.T) {
	tests := []struct {
		sec  float64
		want string
	}{
		{0, "0s"}, {0.25, "0.2s"}, {45, "45s"}, {60, "1m"}, {750, "12m30s"}, {8460, "2h21m"},
		{7200, "2h"}, {36000, "10h"}, {457200, "5d7h"}, {90061, "1d1h1m1s"}, {-5790.41, "-1h36m30s"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			if got := fmtDur(tc.sec); got != tc.want {
				t.Errorf("fmtDur(%v) = %q, want %q", tc.sec, got, tc.want)
			}
		})
	}
}

// TestFmtPctNegative: a negative ratio (an overspent error budget) is
// truncated toward minus infinity, as a positive one is toward zero, so that
// it is never shown higher than it is: a budget overspent by 0.00004% is
// -0.001%, not "0.000%", which reads as spent exactly beside an
// availability shown missed.
func TestFmtPctNegative(t *testing.T) {
	tests := []struct {
		v    float64
		want string
	}{
		{-3.858024691e-7, "-0.001%"},
		{-9.694447227844512, "-969.445%"},
		{-0.5, "-50.000%"},
		{-0.00001, "-0.001%"},
		{-0.000019, "-0.002%"},
		{-2.169, "-216.900%"},
		{-0.999999, "-100.000%"},
		{0, "0.000%"},
		{0.9989997, "99.899%"},
		{0.999, "99.900%"},
	}
	for _, tc := range tests {
		if got := fmtPct(tc.v); got != tc.want {
			t.Errorf("fmtPct(%v) = %q, want %q", tc.v, got, tc.want)
		}
	}
	r := fixture()
	s := &r.Services[0]
	avail := 1 - 2592.001/2592000
	ratio := -0.001 / 2592.0
	s.Availability = &avail
	s.ErrorBudget = report.Budget{AllowedSeconds: 2592, ConsumedSeconds: 2592.001, RemainingSeconds: -0.001, RemainingRatio: &ratio}
	var b bytes.Buffer
	if err := Markdown(&b, r); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	if !strings.Contains(md, "99.899%") || !strings.Contains(md, "(-0.001%)") || strings.Contains(md, "(0.000%)") {
		i := strings.Index(md, "Error budget remaining")
		t.Errorf("an availability shown missed beside a budget shown not overspent:\n%s", md[i:i+60])
	}
}

// TestDegradedCountedAsDownShown: under policy.degraded: down a flow's
// availability counts its degraded time, so the Summary and Flows tables
// show it beside the downtime: a flow that was only slow read "99.865%"
// with "Downtime 0s" and "Unknown 0s", which no reader could add up. Under
// degraded: up the tables stay as they were.
func TestDegradedCountedAsDownShown(t *testing.T) {
	for _, policy := range []string{"down", "up"} {
		r := fixture()
		r.Policy.Degraded = policy
		s := &r.Services[0]
		s.DegradedSeconds = 3599
		s.Flows[0].DegradedSeconds = 3599
		var b bytes.Buffer
		if err := Markdown(&b, r); err != nil {
			t.Fatal(err)
		}
		md := b.String()
		summary := "| Service | Availability | Objective | Result | Run success | Downtime | Unknown | Credit |"
		flows := "| Flow | Availability | Run success | Runs | Confirm runs | Downtime | Unknown |"
		if policy == "down" {
			summary = "| Service | Availability | Objective | Result | Run success | Downtime | Degraded | Unknown | Credit |"
			flows = "| Flow | Availability | Run success | Runs | Confirm runs | Downtime | Degraded | Unknown |"
		}
		for _, want := range []string{summary, flows} {
			if !strings.Contains(md, want) {
				t.Errorf("degraded: %s: Markdown lacks %q", policy, want)
			}
		}
		if policy == "down" && strings.Count(md, "| 59m59s |") < 2 {
			t.Errorf("degraded: down: the degraded time 59m59s is not in the Summary and Flows rows")
		}
	}
}

// TestTableWidthsFillThePage: a PDF table's column shares sum to the
// grid (24), no more: the Flows table's summed 26, so its last column
// (Unknown) ran past the right margin.
func TestTableWidthsFillThePage(t *testing.T) {
	for _, policy := range []string{"up", "down"} {
		r := fixture()
		r.Policy.Degraded = policy
		v := newView(r, time.UTC)
		tables := []table{v.Summary}
		for _, s := range v.Services {
			tables = append(tables, s.Tables...)
		}
		for _, tb := range tables {
			sum := 0
			for _, w := range tb.Widths {
				sum += w
			}
			if sum != pdfGrid || len(tb.Widths) != len(tb.Head) {
				t.Errorf("degraded: %s: table %q: %d widths summing to %d for %d columns, want %d", policy, tb.Title, len(tb.Widths), sum, len(tb.Head), pdfGrid)
			}
		}
	}
}

func TestBadZone(t *testing.T) {
	r := fixture()
	r.Timezone = "Mars/Olympus"
	for name, f := range map[string]func() error{
		"json":     func() error { return JSON(&bytes.Buffer{}, r) },
		"markdown": func() error { return Markdown(&bytes.Buffer{}, r) },
		"html":     func() error { return HTML(&bytes.Buffer{}, r) },
		"pdf":      func() error { return PDF(&bytes.Buffer{}, r, PDFOptions{}) },
	} {
		t.Run(name, func(t *testing.T) {
			if err := f(); err == nil || !strings.Contains(err.Error(), "Mars/Olympus") {
				t.Errorf("want an error naming the zone, got %v", err)
			}
		})
	}
}

func TestEmptyReport(t *testing.T) {
	r := &report.Report{Title: "empty", Timezone: "UTC"}
	r.Services = []report.Service{{Name: "idle", Objective: 0.99}}
	tests := []struct {
		name   string
		render func(*bytes.Buffer) error
	}{
		{"markdown", func(b *bytes.Buffer) error { return Markdown(b, r) }},
		{"html", func(b *bytes.Buffer) error { return HTML(b, r) }},
		{"pdf", func(b *bytes.Buffer) error { return PDF(b, r, PDFOptions{}) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.render(&b); err != nil {
				t.Fatal(err)
			}
			if b.Len() == 0 {
				t.Fatal("empty output")
			}
		})
	}
}

// TestWindowsTextCuts: `slaprobe windows` text says why an edge is not a
// measured one, as the report's tables do. A window that went on after a
// range that is over read "ongoing" (JSON: end null, end_cut period), also
// when it had ended since; one that began before the range showed the range
// start as if it were measured.
func TestWindowsTextCuts(t *testing.T) {
	at := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	end := at.Add(time.Hour)
	tests := []struct {
		name       string
		end        *time.Time
		start, fin string // start_cut, end_cut
		want       []string
	}{
		{"measured", &end, "", "", []string{"2026-11-02 09:00:00 +00:00  2026-11-02 10:00:00 +00:00"}},
		{"open", nil, "", "", []string{"2026-11-02 09:00:00 +00:00  ongoing"}},
		{"went on after the period", nil, "", report.CutPeriod, []string{"went on after the period"}},
		{"began before the period", &end, report.CutPeriod, "", []string{"2026-11-02 09:00:00 +00:00 (began before the period)"}},
		{"no data before and after", &end, report.CutNoData, report.CutNoData, []string{"(no data before)", "2026-11-02 10:00:00 +00:00 (then no data)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ws := []report.Window{{Service: "mail", Flow: "mail-roundtrip", Kind: "down", Start: at, End: tc.end,
				StartCut: tc.start, EndCut: tc.fin, DurationSeconds: 3600, CauseStep: "login", Locations: []string{"seoul-a"}}}
			var b bytes.Buffer
			if err := WindowsText(&b, ws, time.UTC); err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("want %q in\n%s", w, b.String())
				}
			}
			if tc.fin == report.CutPeriod && strings.Contains(b.String(), "ongoing") {
				t.Errorf("a window cut by the period reads ongoing:\n%s", b.String())
			}
		})
	}
}

// TestMarkdownNoAutolinks: a URL, a www. host or an e-mail address in a
// target's error is not made a link by a GFM viewer (GitHub, GitLab,
// goldmark's Linkify): the report would offer its readers a link the
// target chose ("to claim your SLA credit, see https://evil.example/refund").
// The escapes render as the characters themselves.
func TestMarkdownNoAutolinks(t *testing.T) {
	r := fixture()
	r.Services[1].Windows[0].Error = `s: got "see https://evil.example/refund, HTTP://EVIL.example, ftp://evil.example, WWW.evil.example or pay@evil.example"`
	var b bytes.Buffer
	if err := Markdown(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, bad := range []string{"https://evil", "HTTP://EVIL", "ftp://evil", "WWW.evil", "pay@evil"} {
		if strings.Contains(out, bad) {
			t.Errorf("%q in the Markdown, which GFM makes a link", bad)
		}
	}
	want := `see https\://evil.example/refund, HTTP\://EVIL.example, ftp\://evil.example, WWW\.evil.example or pay\@evil.example`
	if !strings.Contains(out, want) {
		t.Errorf("error cell not escaped as %q:\n%s", want, out)
	}
}

// TestMarkdownNoStrikeOrMath: GFM's strikethrough (~~text~~) and GitHub's
// math ($...$) in a target's error are text in the Markdown report, not
// formatting: "~~objective met~~" would strike words out of a reader's view
// of the evidence, and $\color{red}{...}$ draw text as the target likes.
func TestMarkdownNoStrikeOrMath(t *testing.T) {
	r := fixture()
	r.Services[1].Windows[0].Error = `s: got "~~objective met~~ $\color{red}{paid}$"`
	var b bytes.Buffer
	if err := Markdown(&b, r); err != nil {
		t.Fatal(err)
	}
	want := `s: got "\~\~objective met\~\~ \$\\color{red}{paid}\$"`
	if out := b.String(); !strings.Contains(out, want) {
		t.Errorf("error cell not escaped as %q:\n%s", want, out)
	}
}

// TestStoredBidiControlsEscaped: an error stored by a version that kept a
// target's bidi formatting characters (before the probe escaped them) is
// escaped by every text renderer too, so a report of a month measured then
// does not let an unterminated U+202E reverse the rest of its line.
func TestStoredBidiControlsEscaped(t *testing.T) {
	r := fixture()
	r.Services[1].Windows[0].Error = "s: got \"\u202edetaroced\u2066"
	r.Windows = append(r.Windows, r.Services[1].Windows[0])
	outs := map[string]func(*bytes.Buffer) error{
		"md":   func(b *bytes.Buffer) error { return Markdown(b, r) },
		"html": func(b *bytes.Buffer) error { return HTML(b, r) },
		"text": func(b *bytes.Buffer) error { return WindowsText(b, r.Windows, nil) },
	}
	for name, write := range outs {
		var b bytes.Buffer
		if err := write(&b); err != nil {
			t.Fatal(err)
		}
		if i := strings.IndexAny(b.String(), "\u202e\u2066"); i >= 0 {
			t.Errorf("%s: a bidi control at byte %d", name, i)
		}
		want := `\u202edetaroced\u2066`
		if name == "md" {
			want = `\\u202edetaroced\\u2066` // the backslashes escaped: it reads as the others
		}
		if !strings.Contains(b.String(), want) {
			t.Errorf("%s: the error is not there escaped", name)
		}
	}
}

// TestHTMLLongTokenWraps: a cell holding a long run without a space (a
// token or URL an error quotes from a target) is drawn with class wrap,
// which the stylesheet breaks anywhere: without it the cell widened its
// table and the page (Chromium at 1200 pixels: a 200-character run made
// the report 2534 pixels wide, 1185 with the class). Other cells keep
// breaking at spaces only.
func TestHTMLLongTokenWraps(t *testing.T) {
	r := fixture()
	token := strings.Repeat("A1b2", 30)
	r.Services[1].Windows[0].Error = "s: got " + token
	var b bytes.Buffer
	if err := HTML(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, "td.wrap { overflow-wrap: anywhere; }") {
		t.Errorf("no td.wrap rule in the stylesheet")
	}
	if !regexp.MustCompile(`<td class="wrap">[^<]*` + token).MatchString(out) {
		t.Errorf("the cell with a %d-character token is not of class wrap", len(token))
	}
	if n := strings.Count(out, `class="wrap"`); n != strings.Count(out, token) {
		t.Errorf("%d cells of class wrap, want %d (those with the token)", n, strings.Count(out, token))
	}
}

// TestCSVControlCharsEscaped: an error stored by a version that kept a
// target's control characters (a certificate's DNS name or a WebSocket
// close reason quoted whole by Go) reaches windows.csv and `windows
// --format csv` escaped as the probe now escapes new ones: raw, ESC [2J
// cleared the terminal the CSV was printed to, and U+202E reversed the
// cells after it on its line. The escape comes before the formula check: a
// leading tab is "\t", no formula.
func TestCSVControlCharsEscaped(t *testing.T) {
	ws := fixture().Windows
	ws[0].Error = "s: tls: x509: certificate is valid for \x1b[2J\x1b[31mevil\a, not localhost \u202e\xff"
	ws[1].Error = "\t=1+1"
	var b bytes.Buffer
	if err := WindowsCSV(&b, ws); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if i := strings.IndexAny(out, "\x1b\a\t\u202e"); i >= 0 {
		t.Errorf("a control or bidi character at byte %d: %q", i, out)
	}
	for _, want := range []string{`certificate is valid for \x1b[2J\x1b[31mevil\a, not localhost \u202e\xff"`, `,\t=1+1,`} {
		if !strings.Contains(out, want) {
			t.Errorf("the CSV lacks %q:\n%s", want, out)
		}
	}
}

// TestFmtUncertainty: the tables' Uncertainty cell, each edge's earlier (-)
// and later (+) bound; a later bound under a second in milliseconds, but
// one that rounds to 1000 ms is "1s" (it read "+1000ms").
func TestFmtUncertainty(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	for _, tc := range []struct {
		start, startLater, end, endLater *float64
		want                             string
	}{
		{nil, nil, nil, nil, "- / -"},
		{f(60), f(15), f(10), f(0.04), "-1m +15s / -10s +40ms"},
		{f(60), nil, nil, f(14), "-1m +? / -? +14s"},
		{f(60), f(0), f(10), f(0.9996), "-1m +0s / -10s +1s"},
		{f(60), f(0.0004), f(10), f(0.9994), "-1m +0.4ms / -10s +999ms"},
		// Sub-minute bounds as the JSON has them, to three significant
		// digits; whole seconds from a minute on.
		{f(70), f(14.4), f(59.816686513), f(0.3), "-1m10s +14.4s / -59.8s +300ms"},
		{f(61), f(0), f(10), f(0), "-1m1s +0s / -10s +0s"},
		{f(1.5), f(2.25), f(9.996), f(59.96), "-1.5s +2.25s / -10s +1m"},
		// Zero is "0s" however small the bound that rounds to it (under
		// 0.5 µs; it read "+0ms" beside a zero's "+0s"); 0.5 µs is not zero.
		{f(70.4), f(0.0000001), f(3600), f(0.0123456), "-1m10s +0s / -1h +12.3ms"},
		{f(0.0000004999), f(0), f(0.0000005), f(0.000001), "-0s +0s / -0.001ms +0.001ms"},
		// A bound that rounds to a minute prints as one (not "60.0s" or
		// "1m0s"), as exactly 60 s does; a negative zero is "0s", not "-0s".
		{f(60), f(math.Copysign(0, -1)), f(59.95), f(60.5), "-1m +0s / -1m +1m1s"},
	} {
		got := fmtUncertainty(tc.start, tc.startLater, tc.end, tc.endLater)
		if got != tc.want {
			t.Errorf("fmtUncertainty = %q, want %q", got, tc.want)
		}
		if !numeric(got) { // the HTML keeps it on one line
			t.Errorf("numeric(%q) = false", got)
		}
	}
}

// TestFmtDeltaAgreesWithTimes: a reconciliation's delta reads as the times
// beside it subtract. The tables print instants to the second, cut down
// (01:15:11.58 is 01:15:11), so a delta rounded up contradicted them: Lord
// Howe's route-slow measured 01:15:11 against a declared 01:15:00 read
// +12s (JSON 11.58), its end 03:45:01 against 03:45:00 +2s (1.58). The
// delta is now cut down too, toward minus infinity, with the precision of
// the uncertainty bounds (fmtBound) below a minute and whole seconds from
// one on, so that the printed measured time less the declared one (whole
// seconds, as timelines write them) is the printed delta cut to seconds.
func TestFmtDeltaAgreesWithTimes(t *testing.T) {
	loc, err := time.LoadLocation("Australia/Lord_Howe")
	if err != nil {
		t.Fatal(err)
	}
	declared := time.Date(2026, 10, 4, 1, 15, 0, 0, loc)
	tests := []struct {
		delta time.Duration // measured - declared
		want  string
	}{
		{11580 * time.Millisecond, "+11.5s"}, // route-slow's start
		{1580 * time.Millisecond, "+1.58s"},  // route-slow's end
		{11970 * time.Millisecond, "+11.9s"}, // not +12s
		{-11580 * time.Millisecond, "-11.6s"},
		{-11020 * time.Millisecond, "-11.1s"}, // measured 01:14:48.98: -12 s by the clock, not -11s
		{59970 * time.Millisecond, "+59.9s"},
		{-59970 * time.Millisecond, "-1m"},
		{90580 * time.Millisecond, "+1m30s"}, // was +1m31s
		{-90580 * time.Millisecond, "-1m31s"},
		{5409900 * time.Millisecond, "+1h30m9s"}, // was +1h30m10s
		{40 * time.Millisecond, "+40ms"},
		{-400 * time.Microsecond, "-0.4ms"},
		{999600 * time.Microsecond, "+999ms"},
		{-999600 * time.Microsecond, "-1s"},
		{0, "0s"},
		{12 * time.Second, "+12s"},
		{-3 * time.Minute, "-3m"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			sec := tc.delta.Seconds()
			got := fmtDelta(&sec)
			if got != tc.want {
				t.Errorf("fmtDelta(%v) = %q, want %q", sec, got, tc.want)
			}
			measured := declared.Add(tc.delta)
			pm, err1 := time.ParseInLocation(timeLayout, fmtTime(measured, loc), loc)
			pd, err2 := time.ParseInLocation(timeLayout, fmtTime(declared, loc), loc)
			d, err3 := time.ParseDuration(strings.TrimPrefix(got, "+"))
			if err := errors.Join(err1, err2, err3); err != nil {
				t.Fatal(err)
			}
			if by := pm.Sub(pd); d < by || d >= by+time.Second {
				t.Errorf("%s less %s is %v, printed delta %s", fmtTime(measured, loc), fmtTime(declared, loc), by, got)
			}
		})
	}
}
