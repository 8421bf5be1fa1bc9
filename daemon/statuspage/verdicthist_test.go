package statuspage

import (
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/report"
)

// TestVerdictIgnoresHistoryOfAnotherMonth: when the history build at the
// month's change fails (a store hiccup at 00:00:10 on the 1st) while the
// month's succeeds, the page keeps the history it had, the 89 days before
// November, and the verdict dated December's counted window, open since
// before the month (seoul-a and busan-b down since 23:50 on the 30th),
// from a window of that old history open at its end with the same key (a
// flow down across midnight on October 31, from 23:00): the quorum's page
// was pushed with startsAt 2026-10-31T23:00 and kept it (a firing alert
// keeps its startsAt) after the history was built. Now the previous days'
// figures date a window only when they end at this month's start; the
// verdict dates it from December's first instant until they do, as with no
// history at all. (That history still tells the locations that reported
// before: the month's first figures lacking one say nothing.)
func TestVerdictIgnoresHistoryOfAnotherMonth(t *testing.T) {
	cfg := fleetConfig("seoul-a")
	dec := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	nov := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	open := func(start time.Time, cut string) report.Window {
		w := report.Window{Service: "messaging", Flow: "chat", Kind: "down", Start: start, Locations: []string{"busan-b", "seoul-a"}, EndCut: report.CutPeriod}
		w.StartCut = cut
		return w
	}
	month := &report.Report{From: dec, To: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), Location: "busan-b, seoul-a",
		Services: []report.Service{{Name: "messaging", Runs: 2, Windows: []report.Window{open(dec, report.CutPeriod)}}}}
	hist := func(to, start time.Time) *report.Report {
		return &report.Report{From: to.AddDate(0, 0, -89), To: to, Location: "busan-b, seoul-a",
			Services: []report.Service{{Name: "messaging", Runs: 100, Windows: []report.Window{open(start, "")}}}}
	}
	now := dec.Add(10 * time.Second)
	for _, c := range []struct {
		name string
		hist *report.Report
		want time.Time
	}{
		{"the previous days", hist(dec, dec.Add(-10*time.Minute)), dec.Add(-10 * time.Minute)},
		{"the days before November (the build failed)", hist(nov, nov.Add(-time.Hour)), dec},
		{"none", nil, dec},
	} {
		v := verdictOf(cfg, month, c.hist, now, dec)
		if len(v.Counted) != 1 || !v.Counted[0].Start.Equal(c.want) {
			t.Errorf("history %s: counted %+v, want one from %s", c.name, v.Counted, c.want)
		}
	}
	// That history still says which locations reported before: figures of
	// the month's first moments lacking busan-b say nothing.
	month.Location = "seoul-a"
	if v := verdictOf(cfg, month, hist(nov, nov.Add(-time.Hour)), now, dec); v.Runs || len(v.Counted) != 0 {
		t.Errorf("December's first figures lacking busan-b, the history of the days before November: %+v, want nothing said", v)
	}
}

// TestVerdictSayingNothingKnowsTheFleet: the verdict of the month's first
// figures that say nothing (no run yet, or lacking busan-b, whose first
// December run is not stored) was the zero verdict, Fleet false: a prober
// restarted then (its flows every 15 minutes: up to 30 minutes of such
// figures) did not know it was in a fleet, and its notifier, with no
// verdict for 5 minutes, lapsed to this prober's own verdict and paged
// below the quorum (TestFleetRestartAtMonthStartNoLapse). Now such a
// verdict says Fleet when the previous days' figures show another location
// reporting at their end, and not when they show this prober alone; figures
// with no run whose previous days hold no location but this prober's say
// alone (Runs, Fleet false: TestAloneEmptyMonthSaysAlone).
func TestVerdictSayingNothingKnowsTheFleet(t *testing.T) {
	cfg := fleetConfig("seoul-a")
	cfg.Services[0].Flows[0].Interval = 15 * time.Minute
	dec := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	now := dec.Add(7 * time.Minute)
	hist := func(locs string, silent ...string) *report.Report {
		r := &report.Report{From: dec.AddDate(0, 0, -89), To: dec, Location: locs, Silent: map[string]time.Time{},
			Services: []report.Service{{Name: "messaging", Runs: 100}}}
		for _, l := range silent {
			r.Silent[l] = dec.AddDate(0, 0, -20)
		}
		return r
	}
	month := func(locs string, runs int64) *report.Report {
		return &report.Report{From: dec, To: dec.AddDate(0, 1, 0), Location: locs,
			Services: []report.Service{{Name: "messaging", Runs: runs}}}
	}
	for _, c := range []struct {
		name         string
		month, hist  *report.Report
		fleet, alone bool
	}{
		{"seoul-a's first run alone, busan-b before", month("seoul-a", 1), hist("busan-b, seoul-a"), true, false},
		{"no run yet, busan-b before", month("", 0), hist("busan-b, seoul-a"), true, false},
		{"no run yet, seoul-a alone before", month("", 0), hist("seoul-a"), false, true},
		{"no run yet, no location before", month("", 0), hist(""), false, true},
		{"no run yet, busan-b retired last month", month("", 0), hist("busan-b, seoul-a", "busan-b"), false, false},
		{"no run yet, no history", month("", 0), nil, false, false},
		{"no run 30 minutes on, busan-b before", month("", 0), hist("busan-b, seoul-a"), false, false},
		{"no run 30 minutes on, seoul-a alone before", month("", 0), hist("seoul-a"), false, true},
	} {
		now := now
		if strings.HasPrefix(c.name, "no run 30") {
			now = dec.Add(30 * time.Minute)
		}
		v := verdictOf(cfg, c.month, c.hist, now, dec)
		if c.alone {
			if !v.Runs || v.Fleet || len(v.Counted) != 0 {
				t.Errorf("%s: %+v, want alone (Runs, Fleet false)", c.name, v)
			}
			continue
		}
		if v.Runs || len(v.Counted) != 0 || v.Fleet != c.fleet {
			t.Errorf("%s: %+v, want nothing said, Fleet %v", c.name, v, c.fleet)
		}
	}
}
