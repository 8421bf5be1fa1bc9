package statuspage

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/daemon"
	"github.com/slaprobe/slaprobe/report"
)

// TestFleetPageStartedBetween: the quorum's page (two probers on one store,
// seoul-a down from 09:30, busan-b from 09:36 to 09:45) says when the
// counted window may really have begun, started_between, from the bounds
// `windows --format json` gives that window (report.Windows, the same
// figures): start_uncertainty_seconds before its start, rounded down to
// the second, and start_uncertainty_later_seconds after it, rounded up.
// Before, the verdict's windows had no bounds (report.Window.State() left
// them out) and the page had no started_between.
func TestFleetPageStartedBetween(t *testing.T) {
	s := tempStore(t)
	t0 := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	clk := clock.NewManual(t0)
	ps := []*pushProber{newPushProber(t, s, clk, "seoul-a", true), newPushProber(t, s, clk, "busan-b", true)}
	down := map[string][2]int{"seoul-a": {30, 50}, "busan-b": {36, 45}}
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	for i := 0; i < 40; i++ {
		pushMinute(t, s, clk, at(i), ps, func(loc string) bool { d := down[loc]; return i < d[0] || i >= d[1] })
	}
	ws, err := report.Windows(context.Background(), report.Input{Config: fleetConfig("seoul-a"), Store: s, From: t0, To: clk.Now(), Now: clk.Now()})
	if err != nil {
		t.Fatal(err)
	}
	var want string
	for _, w := range ws {
		if w.Function == nil && w.Kind == "down" && w.End == nil {
			if w.StartUncertaintySeconds == nil || w.StartUncertaintyLaterSeconds == nil {
				t.Fatalf("counted window from %s: bounds %v, %v; want both known", w.Start, w.StartUncertaintySeconds, w.StartUncertaintyLaterSeconds)
			}
			lo, hi := w.StartBounds()
			want = lo.Truncate(time.Second).Format(time.RFC3339) + " and " + hi.Add(time.Second-1).Truncate(time.Second).Format(time.RFC3339)
			t.Logf("counted window from %s: -%vs +%vs: %s", w.Start.Format("15:04:05"), *w.StartUncertaintySeconds, *w.StartUncertaintyLaterSeconds, want)
		}
	}
	if want == "" {
		t.Fatalf("no open counted whole-flow window in %+v", ws)
	}
	for _, p := range ps {
		var n int
		for _, a := range p.am.alerts() {
			if a.labels["severity"] != "page" || a.labels["alertname"] != "SlaprobeFlowDown" {
				continue
			}
			n++
			if got := a.ann["started_between"]; got != want {
				t.Errorf("%s's page pushed at %s: started_between %q, want %q", p.loc, a.at.Format("15:04:05"), got, want)
			}
		}
		if n == 0 {
			t.Errorf("%s pushed no page for the flow", p.loc)
		}
	}
}

// TestVerdictStartBounds: the fleet's verdict gives its counted windows
// the bounds of their starts as the figures have them, and a window open
// since before the month (which the month's figures cut at its start, so
// know no bounds) those of its start in the previous days' figures, where
// the verdict dates it from.
func TestVerdictStartBounds(t *testing.T) {
	cfg := fleetConfig("seoul-a")
	dec := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	f := func(v float64) *float64 { return &v }
	fn := "login"
	month := &report.Report{From: dec, To: dec.AddDate(0, 1, 0), Location: "busan-b, seoul-a",
		Services: []report.Service{{Name: "messaging", Runs: 2, Windows: []report.Window{
			{Service: "messaging", Flow: "chat", Kind: "down", Start: dec, StartCut: report.CutPeriod, EndCut: report.CutPeriod,
				Locations: []string{"busan-b", "seoul-a"}, CauseStep: "login", Error: "login: i/o timeout"},
			{Service: "messaging", Flow: "chat", Function: &fn, Kind: "down", Start: dec.Add(3 * time.Minute), EndCut: report.CutPeriod,
				Locations: []string{"busan-b", "seoul-a"}, CauseStep: "login", Error: "login: i/o timeout",
				StartUncertaintySeconds: f(60), StartUncertaintyLaterSeconds: f(0.3)},
		}}}}
	start := dec.Add(-time.Hour)
	hist := &report.Report{From: dec.AddDate(0, 0, -89), To: dec, Location: "busan-b, seoul-a",
		Services: []report.Service{{Name: "messaging", Runs: 100, Windows: []report.Window{{
			Service: "messaging", Flow: "chat", Kind: "down", Start: start, Confirmed: start.Add(time.Minute), EndCut: report.CutPeriod,
			Locations: []string{"busan-b", "seoul-a"}, CauseStep: "login", Error: "login: connection refused",
			StartUncertaintySeconds: f(45), StartUncertaintyLaterSeconds: f(14.5),
		}}}}}
	v := verdictOf(cfg, month, hist, dec.Add(15*time.Minute), dec)
	if len(v.Counted) != 2 {
		t.Fatalf("counted %+v, want two", v.Counted)
	}
	for _, w := range v.Counted {
		lo, okLo := w.StartUncertainty()
		hi, okHi := w.StartLater()
		got := [2]time.Duration{lo, hi}
		want := [2]time.Duration{45 * time.Second, 14500 * time.Millisecond} // the previous days'
		if w.Function != "" {
			want = [2]time.Duration{time.Minute, 300 * time.Millisecond}
		}
		if !okLo || !okHi || got != want {
			t.Errorf("%q from %s: bounds -%s (%v) +%s (%v), want -%s +%s", w.Function, w.Start.Format("01-02 15:04"), lo, okLo, hi, okHi, want[0], want[1])
		}
	}
}

// TestOpenWindowSaysHowSharpItsStartIs: both pages' open windows say, beside
// since when a function is down, between which seconds it went down: from
// the start of the last run before the window, which passed, to the end of
// the first failing one (rounded outwards), as /api/v1/status gives them
// of this prober's own windows and `windows --format json` of the counted
// ones. Runs every minute of 300 ms: seoul-a alone down from 09:30 reads
// "between 09:29:00 and 09:30:01" on both pages; with busan-b down from
// 09:36 too, the public pages give the counted window's, "between 09:35:00
// and 09:36:01", and seoul-a's internal page that one beside its own.
// Before, they said only "down since 2026-12-05 09:30 UTC (20m)".
func TestOpenWindowSaysHowSharpItsStartIs(t *testing.T) {
	from := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	own := "down since <time>2026-12-05 09:30 UTC</time> (20m; began between 09:29:00 and 09:30:01)"
	counted := "down since <time>2026-12-05 09:36 UTC</time> (14m; began between 09:35:00 and 09:36:01)"
	for _, tc := range []struct {
		name              string
		downSince         map[string]int
		public, internal  []string // lines each page holds
		notPublic, notInt []string // and does not
	}{
		{"alone", map[string]int{"seoul-a": 30}, []string{"<b>login</b> " + own}, []string{"<b>login</b> " + own, "<b>whole flow</b> " + own}, nil, nil},
		{"fleet", map[string]int{"seoul-a": 30, "busan-b": 36}, []string{"<b>login</b> " + counted},
			[]string{"<b>login</b> " + counted, "<b>login</b> " + own, "<b>whole flow</b> " + counted, "<b>whole flow</b> " + own},
			[]string{own}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s := tempStore(t)
			var p *Page
			for loc, d := range tc.downSince {
				pp := proberPage(t, s, loc, from, 50, d)
				if loc == "seoul-a" {
					p = pp
				}
			}
			if err := p.Refresh(ctx); err != nil {
				t.Fatal(err)
			}
			for _, public := range []bool{true, false} {
				rec := httptest.NewRecorder()
				p.Handler(public).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
				page := rec.Body.String()
				want, not := tc.internal, tc.notInt
				if public {
					want, not = tc.public, tc.notPublic
				}
				for _, line := range want {
					if !strings.Contains(page, line) {
						t.Errorf("public %v: no %q in the open windows: %s", public, line, openSection(page))
					}
				}
				for _, line := range not {
					if strings.Contains(page, line) {
						t.Errorf("public %v: %q in the open windows: %s", public, line, openSection(page))
					}
				}
			}
		})
	}
}

// openSection is a page's list of open windows.
func openSection(page string) string {
	i := strings.Index(page, `<ul class="open">`)
	if i < 0 {
		return "(none)"
	}
	j := strings.Index(page[i:], "</ul>")
	return page[i : i+j]
}

// TestBetween: the words for the bounds of a start, to the second, rounded
// outwards; a bound on another day with its date, in another zone
// abbreviation with it.
func TestBetween(t *testing.T) {
	kst := time.FixedZone("KST", 9*3600)
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 12, 5, 21, 47, 0, 0, kst)
	for _, tc := range []struct {
		name          string
		start, lo, hi time.Time
		loc           *time.Location
		want          string
	}{
		{"both", start, start.Add(-50 * time.Second), start.Add(2 * time.Second), kst, "began between 21:46:10 and 21:47:02"},
		{"rounded outwards", start, start.Add(-49500 * time.Millisecond), start.Add(40 * time.Millisecond), kst, "began between 21:46:10 and 21:47:01"},
		{"earlier only", start, start.Add(-time.Minute), time.Time{}, kst, "began after 21:46:00"},
		{"later only", start, time.Time{}, start.Add(15 * time.Second), kst, "began by 21:47:15"},
		{"neither", start, time.Time{}, time.Time{}, kst, ""},
		{"exact", start, start, start, kst, ""},
		{"the day before", time.Date(2026, 12, 6, 0, 0, 5, 0, kst), time.Date(2026, 12, 5, 23, 59, 5, 0, kst), time.Date(2026, 12, 6, 0, 0, 6, 0, kst), kst,
			"began between 2026-12-05 23:59:05 and 00:00:06"},
		{"across a change of the clocks", time.Date(2026, 11, 1, 6, 0, 30, 0, time.UTC), time.Date(2026, 11, 1, 5, 59, 0, 0, time.UTC), time.Date(2026, 11, 1, 6, 0, 31, 0, time.UTC), ny,
			"began between 01:59:00 EDT and 01:00:31"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := between(tc.start, tc.lo, tc.hi, tc.loc); got != tc.want {
				t.Errorf("between = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestPublicOpenLineBoundsEveryFlow: the public page gives a function one
// open line however many flows serve it, dated from the window that began
// first, and its bounds hold the start of each: chat's window from
// 21:47:00 (its last pass 21:46:50) and sync's from 21:47:30, whose last
// pass was at 21:43:00 (a flow every 5 minutes), read "between 21:43:00
// and 21:47:01": login may have failed since sync's pass. One window whose
// earliest bound is not known makes the line's not known. A window opened
// in planned maintenance that has ended is dated from its end, exactly: no
// bounds. Before, the line kept one window's (by a sort on the minute).
func TestPublicOpenLineBoundsEveryFlow(t *testing.T) {
	kst := time.FixedZone("KST", 9*3600)
	t0 := time.Date(2026, 12, 5, 21, 47, 0, 0, kst)
	now := t0.Add(10 * time.Minute)
	f := func(v float64) *float64 { return &v }
	login := "login"
	win := func(start time.Time, earlier, later *float64) daemon.WindowStatus {
		return daemon.WindowStatus{Function: &login, Kind: "down", Start: start, Confirmed: start.Add(time.Minute),
			StartUncertaintySeconds: earlier, StartUncertaintyLaterSeconds: later}
	}
	live := func(chat, sync daemon.WindowStatus) *daemon.Status {
		return &daemon.Status{Location: "seoul-a", Time: now, Flows: []daemon.FlowStatus{
			{Flow: "sync", Service: "messaging", OpenWindows: []daemon.WindowStatus{sync}},
			{Flow: "chat", Service: "messaging", OpenWindows: []daemon.WindowStatus{chat}},
		}}
	}
	for _, tc := range []struct {
		name       string
		chat, sync daemon.WindowStatus
		plan       config.MaintenancePlan
		want       string // the line's Since and Between
	}{
		{"both flows' bounds", win(t0, f(10), f(1.5)), win(t0.Add(30*time.Second), f(270), f(1)), nil, "2026-12-05 21:47 KST; began between 21:43:00 and 21:47:02"},
		{"the later window's latest is not the line's", win(t0, f(10), f(40)), win(t0.Add(30*time.Second), f(20), f(1)), nil, "2026-12-05 21:47 KST; began between 21:46:50 and 21:47:31"},
		{"an earliest not known", win(t0, f(10), f(1.5)), win(t0.Add(30*time.Second), nil, f(1)), nil, "2026-12-05 21:47 KST; began by 21:47:02"},
		{"after planned maintenance", win(t0, f(10), f(1.5)), win(t0.Add(30*time.Second), f(20), f(1)),
			config.MaintenancePlan{{Service: "messaging", Start: t0.Add(-time.Hour), End: t0.Add(time.Minute), Reason: "upgrade"}}, "2026-12-05 21:48 KST; "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := openWindows(live(tc.chat, tc.sync), "messaging", true, tc.plan, now, kst)
			if len(out) != 1 {
				t.Fatalf("lines %+v, want one", out)
			}
			if got := out[0].Since + "; " + out[0].Between; got != tc.want {
				t.Errorf("line %q, want %q", got, tc.want)
			}
		})
	}
}
