package statuspage

import (
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/report"
)

// TestPageIgnoresHistoryOfAnotherMonth: a fleet's public page dates a
// counted window open since before the month (the month's figures cut it
// at their start) from the previous days' figures only when they end at
// this month's start. When the history's build at the month's change
// failed, the page keeps the last one, of the days before November; its
// window open at its end is not December's, and the page said "since
// 2026-10-31 23:00" for a window the month's figures had from 1 December
// (the verdict had the same defect: TestVerdictIgnoresHistoryOfAnotherMonth).
func TestPageIgnoresHistoryOfAnotherMonth(t *testing.T) {
	cfg := fleetConfig("seoul-a")
	dec := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	nov := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	login := "login"
	open := func(start time.Time, cut string) report.Window {
		w := report.Window{Service: "messaging", Flow: "chat", Function: &login, Kind: "down", Start: start, Locations: []string{"busan-b", "seoul-a"}, EndCut: report.CutPeriod}
		w.StartCut = cut
		return w
	}
	month := &report.Report{From: dec, To: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), Generated: dec.Add(10 * time.Second), Location: "busan-b, seoul-a",
		Services: []report.Service{{Name: "messaging", Runs: 2, Windows: []report.Window{open(dec, report.CutPeriod)}}}}
	hist := func(to, start time.Time) *report.Report {
		return &report.Report{From: to.AddDate(0, 0, -89), To: to, Location: "busan-b, seoul-a",
			Services: []report.Service{{Name: "messaging", Runs: 100, Windows: []report.Window{open(start, "")}}}}
	}
	now := dec.Add(10 * time.Second)
	for _, c := range []struct {
		name string
		hist *report.Report
		want string
	}{
		{"the previous days", hist(dec, dec.Add(-10*time.Minute)), "2026-11-30 23:50"},
		{"the days before November (the build failed)", hist(nov, nov.Add(-time.Hour)), "2026-12-01 00:00"},
	} {
		v := build(cfg, &snapshot{month: month, history: c.hist, built: now}, nil, true, nil, now, "", time.Minute)
		var since []string
		for _, sv := range v.Services {
			for _, o := range sv.Open {
				since = append(since, o.Since)
			}
		}
		if len(since) != 1 || !strings.Contains(since[0], c.want) {
			t.Errorf("history %s: open windows since %q, want one since %s", c.name, since, c.want)
		}
	}
}
