package render

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/report"
)

// timelineReport is a two-day report: messaging's login fails and blocks
// send and receive (declared), then receive is slow (degraded), and send
// goes down again until after the period; payments is up throughout.
func timelineReport() *report.Report {
	r := fixture()
	r.From, r.To, r.Generated = at("2021-05-05 00:00:00"), at("2021-05-07 00:00:00"), at("2021-05-07 00:10:00")
	w := func(fn, kind, start, end string) report.Window {
		x := report.Window{Service: "messaging", Flow: "메시지-수신", Function: ptr(fn), Kind: kind, Start: at(start), CauseStep: "login", Locations: []string{"seoul-a"}}
		if end != "" {
			x.End = ptr(at(end))
			x.DurationSeconds = x.End.Sub(x.Start).Seconds()
		}
		return x
	}
	s := &r.Services[0]
	s.Windows = []report.Window{
		w("login", "down", "2021-05-05 10:00:00", "2021-05-05 14:00:00"),
		w("send", "down", "2021-05-05 10:00:00", "2021-05-05 14:00:00"),
		w("receive", "down", "2021-05-05 10:00:00", "2021-05-05 14:00:00"),
		w("receive", "degraded", "2021-05-05 20:00:00", "2021-05-06 08:00:00"),
		w("send", "down", "2021-05-06 18:00:00", ""),
	}
	s.Windows[4].EndCut = report.CutPeriod
	de := at("2021-05-05 14:00:00")
	s.Reconciliation = []report.Reconciliation{{
		ID: "login-outage", Title: `Login <failed> & "blocked"`, Functions: []string{"login", "send", "receive"},
		DeclaredStart: at("2021-05-05 10:00:00"), DeclaredEnd: &de, Detected: true,
	}}
	r.Services[1].Windows = nil
	r.Services[1].Reconciliation = nil
	r.Windows = s.Windows
	return r
}

func TestTimelineModel(t *testing.T) {
	r := timelineReport()
	tl := NewTimeline(r, TimelineOptions{})
	var lanes []string
	for _, l := range tl.Lanes {
		lanes = append(lanes, l.Service+"/"+l.Function)
	}
	if got, want := strings.Join(lanes, " "), "messaging/login messaging/send messaging/receive payments/login payments/send"; got != want {
		t.Errorf("lanes %q, want %q", got, want)
	}
	send := tl.Lanes[1]
	if len(send.Bars) != 2 || !send.Bars[1].Open || !send.Bars[1].End.Equal(r.To) || send.Bars[0].Kind != "down" {
		t.Errorf("send bars %+v: want a closed down bar and one open to the period end", send.Bars)
	}
	recv := tl.Lanes[2]
	if len(recv.Bars) != 2 || recv.Bars[1].Kind != "degraded" || len(recv.Declared) != 1 || recv.Declared[0].ID != "login-outage" {
		t.Errorf("receive lane %+v", recv)
	}
	if from, to, ok := tl.Active(); !ok || !from.Equal(at("2021-05-05 10:00:00")) || !to.Equal(r.To) {
		t.Errorf("active %s..%s %v", from, to, ok)
	}

	// Narrowed to an hour of the first outage, one service: bars clipped.
	nar := NewTimeline(r, TimelineOptions{From: at("2021-05-05 13:00:00"), To: at("2021-05-05 15:00:00"), Services: []string{"messaging"}})
	if len(nar.Lanes) != 3 {
		t.Fatalf("narrowed lanes %d, want 3", len(nar.Lanes))
	}
	b := nar.Lanes[0].Bars
	if len(b) != 1 || !b[0].Start.Equal(at("2021-05-05 13:00:00")) || !b[0].End.Equal(at("2021-05-05 14:00:00")) {
		t.Errorf("clipped login bars %+v", b)
	}
	if len(nar.Lanes[1].Bars) != 1 {
		t.Errorf("bars outside the range kept: %+v", nar.Lanes[1].Bars)
	}
}

func TestTimelineCloseUp(t *testing.T) {
	tests := []struct {
		name     string
		mutate   func(r *report.Report)
		ok       bool
		from, to string
	}{
		{"activity over most of the period", func(*report.Report) {}, false, "", ""},
		{"one outage in a month", func(r *report.Report) {
			r.From, r.To = at("2021-05-01 00:00:00"), at("2021-06-01 00:00:00")
			s := &r.Services[0]
			s.Windows = s.Windows[:3]
		}, true, "2021-05-05 09:00:00", "2021-05-05 15:00:00"},
		{"a few days in a month", func(r *report.Report) {
			r.From, r.To = at("2021-05-01 00:00:00"), at("2021-06-01 00:00:00")
			s := &r.Services[0]
			s.Windows = s.Windows[:4]
		}, true, "2021-05-05 00:00:00", "2021-05-07 00:00:00"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := timelineReport()
			tc.mutate(r)
			c, ok := NewTimeline(r, TimelineOptions{}).CloseUp(r)
			if ok != tc.ok {
				t.Fatalf("close-up %v, want %v", ok, tc.ok)
			}
			if ok && (!c.From.Equal(at(tc.from)) || !c.To.Equal(at(tc.to))) {
				t.Errorf("close-up %s..%s, want %s..%s", c.From.In(kst), c.To.In(kst), tc.from, tc.to)
			}
		})
	}
}

// TestTimelineCloseUpWholeLocalHours: a close-up shorter than a day starts
// and ends on whole hours of the report's zone, also where its offset is not
// a whole number of hours (Kathmandu +05:45, Lord Howe +10:30/+11:00 on the
// day its clocks jump 30 minutes, St. John's -03:30): truncating the instant
// to a UTC hour drew Kathmandu's 23:45-00:15 outage from 22:45 to 01:45.
func TestTimelineCloseUpWholeLocalHours(t *testing.T) {
	zone := func(name string) *time.Location {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		return loc
	}
	ktm, lh, nf, ny := zone("Asia/Kathmandu"), zone("Australia/Lord_Howe"), zone("America/St_Johns"), zone("America/New_York")
	tests := []struct {
		loc        *time.Location
		month      string
		start, end time.Time // the one outage
		from, to   string    // the close-up, local wall times with offsets
	}{
		{ktm, "2026-06", time.Date(2026, 6, 15, 23, 45, 32, 0, ktm), time.Date(2026, 6, 16, 0, 15, 2, 0, ktm),
			"2026-06-15 23:00 +05:45", "2026-06-16 01:00 +05:45"},
		// 01:40 LHST (+10:30) to 02:50 LHDT (+11:00): 40 minutes across the jump from 02:00 to 02:30.
		{lh, "2026-10", time.Date(2026, 10, 4, 1, 40, 0, 0, lh), time.Date(2026, 10, 4, 2, 50, 0, 0, lh),
			"2026-10-04 01:00 +10:30", "2026-10-04 04:00 +11:00"},
		{nf, "2026-07", time.Date(2026, 7, 9, 14, 10, 0, 0, nf), time.Date(2026, 7, 9, 14, 40, 0, 0, nf),
			"2026-07-09 13:00 -02:30", "2026-07-09 16:00 -02:30"},
		// Whole-hour offsets held already: the repeated hour of New York's 2026-11-01.
		{ny, "2026-11", time.Date(2026, 11, 1, 1, 30, 0, 0, ny), time.Date(2026, 11, 1, 1, 30, 0, 0, ny).Add(time.Hour),
			"2026-11-01 01:00 -04:00", "2026-11-01 02:00 -05:00"},
	}
	for _, tc := range tests {
		t.Run(tc.loc.String(), func(t *testing.T) {
			r := timelineReport()
			from, to, err := report.MonthRange(tc.month, tc.loc)
			if err != nil {
				t.Fatal(err)
			}
			r.From, r.To, r.Timezone = from, to, tc.loc.String()
			s := &r.Services[0]
			s.Windows = s.Windows[:1]
			s.Windows[0].Start, s.Windows[0].End = tc.start, ptr(tc.end)
			s.Reconciliation = nil
			c, ok := NewTimeline(r, TimelineOptions{}).CloseUp(r)
			if !ok {
				t.Fatal("no close-up of a 30-minute outage in a month")
			}
			const layout = "2006-01-02 15:04 -07:00"
			if got, want := c.From.In(tc.loc).Format(layout)+" to "+c.To.In(tc.loc).Format(layout), tc.from+" to "+tc.to; got != want {
				t.Errorf("close-up %s, want %s", got, want)
			}
		})
	}
}

// TestTimelineTicks: day ticks at the first instant of each local date,
// 01:00 where the clocks jump over midnight.
func TestTimelineTicks(t *testing.T) {
	santiago, err := time.LoadLocation("America/Santiago")
	if err != nil {
		t.Fatal(err)
	}
	from := report.DayStart(2024, 9, 6, santiago)
	tl := Timeline{From: from, To: report.DayStart(2024, 9, 11, santiago), Loc: santiago}
	var got []string
	for _, tk := range tl.ticks() {
		got = append(got, tk.at.In(santiago).Format("01-02 15:04")+"="+tk.label)
	}
	s := strings.Join(got, " ")
	if !strings.Contains(s, "09-08 01:00=09-08") || strings.Contains(s, "23:00") {
		t.Errorf("ticks %s: want 09-08 at 01:00 and no 23:00", s)
	}
	hours := Timeline{From: at("2021-05-05 00:00:00"), To: at("2021-05-06 00:00:00"), Loc: kst}
	if n := len(hours.ticks()); n < 4 || n > 13 {
		t.Errorf("a day has %d ticks", n)
	}
}

// TestTimelineTicksRepeatedHour: on the day the clocks go back, the wall
// times that occur twice are marked twice, so the axis has no hole: New
// York's 2026-11-01 00:00-03:00 at 30-minute marks drew 01:00 and 01:30 once
// (EDT), leaving 90 minutes unmarked between 01:30 EDT and 02:00 EST; Lord
// Howe's 01:30-02:00, which occurs twice (at 02:00 +11:00 the clocks go back
// to 01:30 +10:30), lost its second 01:30. The two passes are labelled
// apart: the first tick of the repeated wall times with the zone before the
// change, the first after it with the zone after ("01:00 EDT" ... "01:00
// EST"; the axis read 00:30 01:00 01:30 01:00 01:30 02:00 with nothing to
// tell them apart), Lord Howe's by offset as its abbreviations are numbers;
// a jump forward marks its first tick after the change likewise (03:00 EDT
// after 01:45).
func TestTimelineTicksRepeatedHour(t *testing.T) {
	for _, tc := range []struct {
		zone     string
		from, to [2]int // day, hour in 2026-11 (New York) or 2026-04 (Lord Howe)
		month    time.Month
		want     string
	}{
		{"America/New_York", [2]int{1, 0}, [2]int{1, 3}, time.November,
			"00:00-04:00=11-01 00:30-04:00 01:00-04:00=01:00 EDT 01:30-04:00 01:00-05:00=01:00 EST 01:30-05:00 02:00-05:00 02:30-05:00"},
		{"Australia/Lord_Howe", [2]int{5, 0}, [2]int{5, 4}, time.April,
			"00:00+11:00=04-05 00:30+11:00 01:00+11:00 01:30+11:00=01:30 +11:00 01:30+10:30=01:30 +10:30 02:00+10:30 02:30+10:30 03:00+10:30 03:30+10:30"},
		{"America/New_York", [2]int{8, 0}, [2]int{8, 4}, time.March,
			"00:00-05:00=03-08 00:15-05:00 00:30-05:00 00:45-05:00 01:00-05:00 01:15-05:00 01:30-05:00 01:45-05:00 03:00-04:00=03:00 EDT 03:15-04:00 03:30-04:00 03:45-04:00"},
	} {
		t.Run(tc.zone, func(t *testing.T) {
			loc, err := time.LoadLocation(tc.zone)
			if err != nil {
				t.Fatal(err)
			}
			tl := Timeline{From: report.LocalTime(2026, tc.month, tc.from[0], tc.from[1], 0, 0, loc),
				To: report.LocalTime(2026, tc.month, tc.to[0], tc.to[1], 0, 0, loc), Loc: loc}
			var got []string
			for _, tk := range tl.ticks() {
				s := tk.at.In(loc).Format("15:04-07:00")
				if tk.label != tk.at.In(loc).Format("15:04") {
					s += "=" + tk.label
				}
				got = append(got, s)
			}
			if g := strings.Join(got, " "); g != tc.want {
				t.Errorf("ticks\n%s\nwant\n%s", g, tc.want)
			}
		})
	}
}

func TestTimelineSVG(t *testing.T) {
	r := timelineReport()
	r.Services[0].Name = `<script>alert(1)</script>`
	for i := range r.Services[0].Windows {
		r.Services[0].Windows[i].Service = r.Services[0].Name
	}
	svg := string(NewTimeline(r, TimelineOptions{}).SVG())
	for _, bad := range []string{"<script", `<failed>`} {
		if strings.Contains(svg, bad) {
			t.Errorf("SVG has unescaped %q", bad)
		}
	}
	for _, want := range []string{
		`<svg xmlns="http://www.w3.org/2000/svg" class="timeline"`,
		`fill="#b42318"`,                  // a down bar
		`stroke-dasharray="3 2"`,          // a declared outline
		`fill="#fef0c7" stroke="#b54708"`, // a degraded bar, hatched:
		`<line x1=`,
		"&lt;script&gt;", "Login &lt;failed&gt; &amp; &#34;blocked&#34;", // escaped names and titles
		"receive: degraded 2021-05-05 20:00:00 +09:00 to 2021-05-06 08:00:00 +09:00", // a tooltip in the report's zone
		"(not ended)", "declared incident", "degraded", "down",
	} {
		if !strings.Contains(svg, want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
}

// TestTimelineTooltipsSayTheDeclaredTimes: a declared incident that went on
// after the period (or began before it) is drawn clipped to the period, but
// its tooltip gives the times the provider declared, as the reconciliation
// table does; it said the period's end, as if that were the declared end.
// A window narrowed out of a shorter timeline (the status page's) likewise
// gives its own times.
func TestTimelineTooltipsSayTheDeclaredTimes(t *testing.T) {
	r := timelineReport()
	s := &r.Services[0]
	de := at("2021-05-07 00:30:00")
	s.Reconciliation = []report.Reconciliation{{
		ID: "send-errors", Title: "send errors", Functions: []string{"send"},
		DeclaredStart: at("2021-05-04 23:10:00"), DeclaredEnd: &de, Detected: true,
	}}
	svg := string(NewTimeline(r, TimelineOptions{}).SVG())
	if want := "declared send-errors: send errors, 2021-05-04 23:10:00 +09:00 to 2021-05-07 00:30:00 +09:00"; !strings.Contains(svg, want) {
		t.Errorf("SVG lacks %q", want)
	}
	nar := string(NewTimeline(r, TimelineOptions{From: at("2021-05-05 12:00:00"), To: at("2021-05-05 13:00:00")}).SVG())
	if want := "messaging / login: down 2021-05-05 10:00:00 +09:00 to 2021-05-05 14:00:00 +09:00"; !strings.Contains(nar, want) {
		t.Errorf("narrowed SVG lacks %q", want)
	}
}

// TestTimelineTooltipsSayTheCuts: a bar's tooltip says what the windows
// table says of an edge that is not a measured one: a window that began
// before the period (drawn from its start) "began before the period", one
// whose prober stopped ends "(then no data)"; the tooltip read as if the
// outage had begun at midnight on the first.
func TestTimelineTooltipsSayTheCuts(t *testing.T) {
	r := timelineReport()
	s := &r.Services[0]
	s.Windows[0].Start, s.Windows[0].StartCut = r.From, report.CutPeriod
	s.Windows[1].EndCut = report.CutNoData
	r.Windows = s.Windows
	svg := string(NewTimeline(r, TimelineOptions{}).SVG())
	for _, want := range []string{
		"messaging / login: down 2021-05-05 00:00:00 +09:00 (began before the period) to 2021-05-05 14:00:00 +09:00",
		"messaging / send: down 2021-05-05 10:00:00 +09:00 to 2021-05-05 14:00:00 +09:00 (then no data)",
		"messaging / send: down 2021-05-06 18:00:00 +09:00 to 2021-05-07 00:00:00 +09:00 (not ended)",
	} {
		if !strings.Contains(svg, want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
}

// TestTimelineTooltipsOnDSTDay: on the day the clocks go back, an hour's
// local times occur twice; a mark's tooltip gives each time's offset, so an
// outage from 01:30 EDT to 01:30 EST does not read as lasting no time, nor
// two incidents an hour apart as starting together.
func TestTimelineTooltipsOnDSTDay(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	r := timelineReport()
	r.Timezone = "America/New_York"
	r.From = time.Date(2026, 11, 1, 4, 0, 0, 0, time.UTC).In(ny)
	r.To = time.Date(2026, 11, 2, 5, 0, 0, 0, time.UTC).In(ny)
	r.Generated = r.To
	start, end := time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC), time.Date(2026, 11, 1, 6, 30, 0, 0, time.UTC)
	s := &r.Services[0]
	s.Windows = []report.Window{{Service: "messaging", Flow: "chat", Function: ptr("send"), Kind: "down", Start: start, End: &end,
		DurationSeconds: 3600, CauseStep: "send", Locations: []string{"seoul-a"}}}
	s.Reconciliation = []report.Reconciliation{{ID: "fall-back", Functions: []string{"send"}, DeclaredStart: start, DeclaredEnd: &end, Detected: true}}
	r.Windows = s.Windows
	svg := string(NewTimeline(r, TimelineOptions{}).SVG())
	for _, want := range []string{
		"messaging / send: down 2026-11-01 01:30:00 -04:00 to 2026-11-01 01:30:00 -05:00",
		"declared fall-back, 2026-11-01 01:30:00 -04:00 to 2026-11-01 01:30:00 -05:00",
	} {
		if !strings.Contains(svg, want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
}

// TestTimelineCaptionRepeatedHour: a caption's time that occurs twice (the
// clocks go back over it) says which one by its offset: the close-up of
// 01:40-02:00 EST on New York's 2026-11-01 read "01:00 to 03:00", three
// hours to the reader, when it starts at the second 01:00 and lasts two.
func TestTimelineCaptionRepeatedHour(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	r := timelineReport()
	r.Timezone = "America/New_York"
	r.From, r.To, _ = report.MonthRange("2026-11", ny)
	r.Generated = r.To
	start, end := time.Date(2026, 11, 1, 6, 40, 0, 0, time.UTC), time.Date(2026, 11, 1, 7, 0, 0, 0, time.UTC) // 01:40-02:00 EST
	s := &r.Services[0]
	s.Windows = []report.Window{{Service: "messaging", Flow: "chat", Function: ptr("send"), Kind: "down", Start: start, End: &end,
		DurationSeconds: 1200, CauseStep: "send", Locations: []string{"seoul-a"}}}
	s.Reconciliation = nil
	r.Windows = s.Windows
	var got []string
	for _, f := range newView(r, ny).Timelines {
		got = append(got, f.Caption)
	}
	want := []string{"Whole period: 2026-11-01 00:00 to 2026-12-01 00:00", "Close-up: 2026-11-01 01:00 -05:00 to 2026-11-01 03:00"}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("captions %q, want %q", got, want)
	}
}

// TestTimelinePNG checks the drawn pixels: the down bar is solid red where
// the layout puts it, the degraded bar hatched, and nothing red where the
// function was up.
func TestTimelinePNG(t *testing.T) {
	tl := NewTimeline(timelineReport(), TimelineOptions{})
	b, err := tl.PNG(2000)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	scale := 2000 / tlWidth
	if w, h := img.Bounds().Dx(), img.Bounds().Dy(); w != 2000 || h < int(tl.Height()*scale)-1 {
		t.Fatalf("size %dx%d", w, h)
	}
	xAt := func(s string) int {
		f := float64(at(s).Sub(tl.From)) / float64(tl.To.Sub(tl.From))
		return int((tlPlotX + f*(tlPlotEnd-tlPlotX)) * scale)
	}
	laneMid := func(i int) int { // lanes of messaging: header, then lanes
		return int((tlLegendH + tlServiceH + float64(i)*tlLaneH + tlLaneH/2) * scale)
	}
	near := func(c color.Color, want color.RGBA) bool {
		r, g, b, _ := c.RGBA()
		d := func(a uint32, b uint8) int { return int(a>>8) - int(b) }
		return abs(d(r, want.R)) < 20 && abs(d(g, want.G)) < 20 && abs(d(b, want.B)) < 20
	}
	if c := img.At(xAt("2021-05-05 12:00:00"), laneMid(0)); !near(c, tlDown) {
		t.Errorf("login at 12:00: %v, want the down colour", c)
	}
	if c := img.At(xAt("2021-05-06 12:00:00"), laneMid(0)); near(c, tlDown) {
		t.Errorf("login up on 05-06 drawn down")
	}
	// The degraded bar: pale fill and the hatch colour both inside it.
	var pale, hatch int
	for dx := -20; dx <= 20; dx++ {
		c := img.At(xAt("2021-05-06 02:00:00")+dx, laneMid(2))
		switch {
		case near(c, tlDegFill):
			pale++
		case near(c, tlDegraded):
			hatch++
		}
	}
	if pale == 0 || hatch == 0 {
		t.Errorf("degraded bar: %d pale and %d hatch pixels, want both", pale, hatch)
	}
	if c := img.At(xAt("2021-05-06 23:00:00"), laneMid(1)); !near(c, tlDown) {
		t.Errorf("send open to the period end: %v at 23:00", c)
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// TestPDFTimelineAndFlow renders a six-service month with pdftoppm and
// pdftotext: the first page opens with the function timeline (its heading,
// legend and drawn bars), and sections flow: every page but the last is
// filled to at least 60% of its height and none ends with a heading.
func TestPDFTimelineAndFlow(t *testing.T) {
	pdftotext, pdftoppm := poppler(t, "pdftotext"), poppler(t, "pdftoppm")
	r := monthReport(6)
	r.Windows = nil
	for i := range r.Services {
		s := &r.Services[i]
		s.Undeclared = nil // empty sections, as in the demo
		s.BelowQuorum = nil
		for j := range s.Windows {
			end := s.Windows[j].Start.Add(time.Duration(j+2) * 3 * time.Hour)
			s.Windows[j].End = &end
		}
		r.Windows = append(r.Windows, s.Windows...)
	}
	b, err := pdfBytes(r, PDFOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pdf := filepath.Join(dir, "r.pdf")
	if err := os.WriteFile(pdf, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if dst := os.Getenv("SLAPROBE_KEEP_PDF"); dst != "" {
		_ = os.WriteFile(dst, b, 0o644)
	}
	if out, err := exec.Command(pdftoppm, "-png", "-r", "30", pdf, filepath.Join(dir, "p")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v %s", err, out)
	}
	pages, _ := filepath.Glob(filepath.Join(dir, "p-*.png"))
	if len(pages) < 3 {
		t.Fatalf("%d pages", len(pages))
	}
	for i, p := range pages {
		img := decodePNG(t, p)
		fill, red := pageInk(img)
		if i == 0 && red < 50 {
			t.Errorf("page 1 has %d down-red pixels: no timeline drawn", red)
		}
		if i < len(pages)-1 && fill < 0.6 {
			t.Errorf("page %d of %d is filled to %.0f%% only", i+1, len(pages), 100*fill)
		}
		text, err := exec.Command(pdftotext, "-layout", "-f", strconv.Itoa(i+1), "-l", strconv.Itoa(i+1), pdf, "-").Output()
		if err != nil {
			t.Fatal(err)
		}
		lines := nonEmpty(string(text))
		if i == 0 {
			page1 := strings.Join(lines, "\n")
			for _, want := range []string{"Function timeline", "Whole period: 2021-05-01 00:00 to 2021-06-01 00:00", "Dashed outlines: declared incidents"} {
				if !strings.Contains(page1, want) {
					t.Errorf("page 1 lacks %q", want)
				}
			}
			if strings.Index(page1, "Function timeline") > strings.Index(page1, "Summary") && strings.Contains(page1, "Summary") {
				t.Errorf("page 1 does not open with the timeline")
			}
		}
		// The last line above the page number must not be a section title.
		if n := len(lines); n >= 2 {
			last := strings.TrimSpace(lines[n-2])
			for _, title := range []string{"Flows", "Incidents", "Downtime windows", "Latency per step", "Reconciliation with declared incidents", "Daily availability", "Summary", "Accounting policy"} {
				if last == title {
					t.Errorf("page %d ends with the heading %q", i+1, title)
				}
			}
		}
	}
}

func decodePNG(t *testing.T, path string) image.Image {
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
	return img
}

// pageInk returns how far down the page its content reaches (above the
// page-number footer), as a share of the height, and how many pixels have
// the timeline's down colour.
func pageInk(img image.Image) (fill float64, red int) {
	b := img.Bounds()
	footer := b.Max.Y - b.Dy()*6/100
	last := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if y < footer && (r>>8 < 235 || g>>8 < 235 || bl>>8 < 235) {
				last = y
			}
			if abs(int(r>>8)-int(tlDown.R)) < 25 && abs(int(g>>8)-int(tlDown.G)) < 25 && abs(int(bl>>8)-int(tlDown.B)) < 25 {
				red++
			}
		}
	}
	return float64(last) / float64(b.Dy()), red
}

func nonEmpty(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" && !strings.HasPrefix(strings.TrimSpace(l), "\f") {
			out = append(out, l)
		}
	}
	return out
}
