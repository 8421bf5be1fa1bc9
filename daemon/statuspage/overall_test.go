package statuspage

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/daemon"
)

// TestOverallNeverUpWithoutData: the headline of the page (what a customer
// reads first) says "All services up" only when every service is up; a
// service not measured yet (a daemon just started, a service without
// flows) makes it unknown, never up. The internal page's line of this
// prober's location agrees: it said "2/2 services up" under "State
// unknown" (a daemon just started, seen on the page of examples/demo.yaml).
// here is that line's state word and the start of its summary ("" for a
// row that does not check it).
func TestOverallNeverUpWithoutData(t *testing.T) {
	now := time.Date(2026, 12, 3, 16, 40, 0, 0, time.UTC)
	cfg := genConfig(20, 2, time.Minute) // two services of ten flows
	withEmpty := genConfig(10, 2, time.Minute)
	withEmpty.Services = append(withEmpty.Services, config.Service{Name: "empty", Objective: 0.99})
	states := func(c *config.Config, f func(svc string) string) *daemon.Status {
		st := &daemon.Status{Location: c.Location, Time: now}
		for _, s := range c.Services {
			for _, fl := range s.Flows {
				fs := daemon.FlowStatus{Flow: fl.Name, Service: s.Name, Location: c.Location}
				for _, fn := range fl.Functions() {
					fs.Functions = append(fs.Functions, daemon.FunctionStatus{Function: fn, State: f(s.Name)})
				}
				if k := f(s.Name); k == "down" || k == "degraded" {
					fs.State = k
					fs.OpenWindows = []daemon.WindowStatus{{Kind: k, Start: now.Add(-5 * time.Minute), Confirmed: now.Add(-4 * time.Minute)}}
				}
				st.Flows = append(st.Flows, fs)
			}
		}
		return st
	}
	// firstThen gives the first service one state and the others another.
	firstThen := func(first, others string) func(string) string {
		return func(s string) string {
			if s == cfg.Services[0].Name {
				return first
			}
			return others
		}
	}
	for _, tc := range []struct {
		name     string
		cfg      *config.Config
		live     *daemon.Status
		word     string
		headline string
		here     string
	}{
		{"no live state", cfg, nil, "unknown", "State unknown", ""},
		{"nothing run yet", cfg, states(cfg, func(string) string { return "unknown" }), "unknown", "State unknown",
			"unknown: 0/2 services up; not measured: " + cfg.Services[0].Name + ", " + cfg.Services[1].Name + " · this prober"},
		{"one service not run yet", cfg, states(cfg, firstThen("up", "unknown")), "unknown", "Some services unknown",
			"unknown: 1/2 services up; not measured: " + cfg.Services[1].Name + " · this prober"},
		{"a service without flows", withEmpty, states(withEmpty, func(string) string { return "up" }), "unknown", "Some services unknown",
			"unknown: 1/2 services up; not measured: empty · this prober"},
		{"all up", cfg, states(cfg, func(string) string { return "up" }), "up", "All services up", "up: 2/2 services up · this prober"},
		{"one down, one unknown", cfg, states(cfg, firstThen("down", "unknown")), "down", "Some functions down",
			"down: down: " + cfg.Services[0].Name + "; not measured: " + cfg.Services[1].Name + " · this prober"},
		{"one degraded, one unknown", cfg, states(cfg, firstThen("degraded", "unknown")), "degraded", "Some functions degraded",
			"degraded: degraded: " + cfg.Services[0].Name + "; not measured: " + cfg.Services[1].Name + " · this prober"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, public := range []bool{false, true} {
				v := build(tc.cfg, nil, tc.live, public, nil, now, "", 30*time.Second)
				if v.Overall.Word != tc.word {
					t.Errorf("public=%v: overall %q (%s), want %q", public, v.Overall.Word, v.Counts, tc.word)
				}
				tmpl, err := templates()
				if err != nil {
					t.Fatal(err)
				}
				var buf bytes.Buffer
				if err := tmpl.ExecuteTemplate(&buf, "main", v); err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(buf.String(), tc.headline) {
					t.Errorf("public=%v: the page does not say %q: %.300s", public, tc.headline, buf.String())
				}
				if public || tc.here == "" {
					continue
				}
				here := ""
				for _, lv := range v.Locations {
					if lv.Self {
						here = lv.State.Word + ": " + lv.Summary
					}
				}
				if !strings.HasPrefix(here, tc.here) {
					t.Errorf("this prober's location reads %q, want %q", here, tc.here)
				}
			}
		})
	}
}

// TestPartialDatesItsBars: the part the page's script swaps in every
// refresh carries the first day of the 90 bars, so that a page left open
// across midnight (a wall display) dates a hovered bar by the bars it shows,
// not by the day it was first loaded (the first day was on <main>, which a
// refresh does not replace: a day off for every midnight).
func TestPartialDatesItsBars(t *testing.T) {
	cfg := genConfig(10, 2, time.Minute)
	for _, tc := range []struct {
		now   time.Time
		first string
	}{
		{time.Date(2026, 12, 3, 23, 59, 0, 0, time.UTC), "2026-09-05"},
		{time.Date(2026, 12, 4, 0, 1, 0, 0, time.UTC), "2026-09-06"},
	} {
		v := build(cfg, nil, nil, true, nil, tc.now, "", 30*time.Second)
		tmpl, err := templates()
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := tmpl.ExecuteTemplate(&buf, "main", v); err != nil {
			t.Fatal(err)
		}
		if want := `data-first="` + tc.first + `"`; !strings.Contains(buf.String(), want) {
			t.Errorf("%s: the partial has no %s: %.300s", tc.now, want, buf.String())
		}
	}
}
