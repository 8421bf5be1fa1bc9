package statuspage

import (
	"context"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
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
