package statuspage

import (
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/report"
)

// TestVerdictDatesFirstCauseFromPreviousDays: a counted window open since
// before the month is dated from the previous days' figures, its start and
// its first cause too: the quorum page's description says what the outage
// began with ("at first"). Before, only its start, confirmation and known
// time were, and its cause_step and error were the month's window's, the
// cause in force at the month's first instant (a window's first cause, as
// the report now gives it): seoul-a and busan-b refused from 23:00 on the
// 30th, timing out from 23:30 and answering 503 from 00:10 on the 1st made
// the page say "down since 23:00 ...; first failing step: login: HTTP 503
// (since 00:10; at first login: i/o timeout)", where it began refused.
func TestVerdictDatesFirstCauseFromPreviousDays(t *testing.T) {
	cfg := fleetConfig("seoul-a")
	dec := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	start := dec.Add(-time.Hour)
	at := func(d time.Duration) *time.Time { x := dec.Add(d); return &x }
	month := &report.Report{From: dec, To: dec.AddDate(0, 1, 0), Location: "busan-b, seoul-a",
		Services: []report.Service{{Name: "messaging", Runs: 2, Windows: []report.Window{{
			Service: "messaging", Flow: "chat", Kind: "down", Start: dec, StartCut: report.CutPeriod, EndCut: report.CutPeriod,
			Locations: []string{"busan-b", "seoul-a"}, CauseStep: "login", Error: "login: i/o timeout",
			Causes: []report.Cause{
				{Step: "login", Error: "login: i/o timeout", From: dec, To: at(10 * time.Minute)},
				{Step: "login", Error: "login: HTTP 503", From: *at(10 * time.Minute)},
			},
		}}}}}
	hist := &report.Report{From: dec.AddDate(0, 0, -89), To: dec, Location: "busan-b, seoul-a",
		Services: []report.Service{{Name: "messaging", Runs: 100, Windows: []report.Window{{
			Service: "messaging", Flow: "chat", Kind: "down", Start: start, Confirmed: start.Add(time.Minute), EndCut: report.CutPeriod,
			Locations: []string{"busan-b", "seoul-a"}, CauseStep: "login", Error: "login: connection refused",
			Causes: []report.Cause{
				{Step: "login", Error: "login: connection refused", From: start, To: at(-30 * time.Minute)},
				{Step: "login", Error: "login: i/o timeout", From: *at(-30 * time.Minute)},
			},
		}}}}}
	v := verdictOf(cfg, month, hist, dec.Add(15*time.Minute), dec)
	if len(v.Counted) != 1 {
		t.Fatalf("counted %+v, want one", v.Counted)
	}
	w := v.Counted[0]
	if !w.Start.Equal(start) {
		t.Errorf("start %s, want %s", w.Start, start)
	}
	if w.CauseStep != "login" || !strings.Contains(w.Error, "connection refused") {
		t.Errorf("first cause %s: %s, want the outage's, login: connection refused", w.CauseStep, w.Error)
	}
	if cur := w.CurrentCause(); cur.Error != "login: HTTP 503" {
		t.Errorf("current cause %q, want login: HTTP 503", cur.Error)
	}
}

// TestOpenWindowCauseFromPreviousDays: the internal page's line of a
// counted window open since before the month gives the cause it began
// with, as it gives its start, from the previous days' figures: it gave the
// month's window's, the cause in force at the month's first instant
// ("since 23:00 ... login: i/o timeout" for an outage that began refused).
func TestOpenWindowCauseFromPreviousDays(t *testing.T) {
	dec := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	start := dec.Add(-time.Hour)
	ms := &report.Service{Name: "messaging", Runs: 2, Windows: []report.Window{{
		Service: "messaging", Flow: "chat", Kind: "down", Start: dec, StartCut: report.CutPeriod, EndCut: report.CutPeriod,
		Locations: []string{"busan-b", "seoul-a"}, CauseStep: "login", Error: "login: i/o timeout",
	}}}
	hs := &report.Service{Name: "messaging", Runs: 100, Windows: []report.Window{{
		Service: "messaging", Flow: "chat", Kind: "down", Start: start, EndCut: report.CutPeriod,
		Locations: []string{"busan-b", "seoul-a"}, CauseStep: "login", Error: "login: connection refused",
	}}}
	out := fleetOpenWindows(ms, hs, "seoul-a", nil, "messaging", false, config.MaintenancePlan{}, dec.Add(15*time.Minute), time.UTC)
	if len(out) != 1 {
		t.Fatalf("open windows %+v, want one", out)
	}
	if out[0].Error != "login: connection refused" {
		t.Errorf("open window's error %q (since %s), want login: connection refused", out[0].Error, out[0].Since)
	}
}
