package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
)

// zonesReport is what TestDemoZonesByHand reads of report.json.
type zonesReport struct {
	From     time.Time      `json:"from"`
	To       time.Time      `json:"to"`
	Services []zonesService `json:"services"`
}

// zonesService is a service of a zonesReport.
type zonesService struct {
	Name               string   `json:"name"`
	PeriodSeconds      float64  `json:"period_seconds"`
	UptimeSeconds      float64  `json:"uptime_seconds"`
	DowntimeSeconds    float64  `json:"downtime_seconds"`
	UnknownSeconds     float64  `json:"unknown_seconds"`
	MaintenanceSeconds float64  `json:"maintenance_seconds"`
	Availability       *float64 `json:"availability"`
	Daily              []struct {
		Date    string  `json:"date"`
		Seconds float64 `json:"seconds"`
	} `json:"daily"`
	Windows []struct {
		Function *string    `json:"function"`
		Start    time.Time  `json:"start"`
		End      *time.Time `json:"end"`
	} `json:"windows"`
	Reconciliation []struct {
		ID       string `json:"id"`
		Detected bool   `json:"detected"`
	} `json:"reconciliation"`
}

// TestDemoZonesByHand replays made-up timelines (testdata/zones) in zones
// whose calendars are odd, with a config in the timeline's zone, and checks
// what was checked by hand with the binary: the range's and each month's
// length in seconds (report --month of both months an outage spans), the
// days (their dates and real lengths), the whole-flow window against the
// declared incident (start within an interval after it, end within
// confirm_every and a run after it), downtime as the window less planned
// maintenance, in the range and split between the months, and availability
// as up time over period less maintenance and unknown. Held already.
func TestDemoZonesByHand(t *testing.T) {
	type span struct{ from, to string }
	cases := []struct {
		timeline, zone string
		from, to       string
		maintenance    []span // in the config, for every service
		days           []string
		dayHours       []float64
		months         []string
		monthHours     []float64
	}{
		{ // November's first hour twice; maintenance across the month's end
			"havana-2020-11.yaml", "America/Havana", "2020-10-31", "2020-11-02",
			[]span{{"2020-10-31T23:50:00-04:00", "2020-11-01T00:10:00-05:00"}},
			[]string{"2020-10-31", "2020-11-01"}, []float64{24, 25},
			[]string{"2020-10", "2020-11"}, []float64{744, 721},
		},
		{ // no 2011-12-30; maintenance across the new year
			"apia-2011-12.yaml", "Pacific/Apia", "2011-12-29", "2012-01-02",
			[]span{{"2011-12-31T23:30:00+14:00", "2012-01-01T00:30:00+14:00"}},
			[]string{"2011-12-29", "2011-12-31", "2012-01-01"}, []float64{24, 24, 24},
			[]string{"2011-12", "2012-01"}, []float64{720, 744},
		},
		{ // 01:00-02:00 twice: a 3-hour outage by the clock's 2, one in the second hour only, one across October's end; maintenance in the second hour
			"newyork-2026-11.yaml", "America/New_York", "2026-10-31", "2026-11-02",
			[]span{{"2026-11-01T01:15:00-05:00", "2026-11-01T01:30:00-05:00"}},
			[]string{"2026-10-31", "2026-11-01"}, []float64{24, 25},
			[]string{"2026-10", "2026-11"}, []float64{744, 721},
		},
		{ // 02:00-03:00 skipped: 01:30 to 03:30 is an hour
			"newyork-2026-03.yaml", "America/New_York", "2026-03-07", "2026-03-09",
			nil,
			[]string{"2026-03-07", "2026-03-08"}, []float64{24, 23},
			[]string{"2026-03"}, []float64{743},
		},
		{ // a half-hour change: 01:30-02:00 twice; an outage across March's end
			"lordhowe-2026-04.yaml", "Australia/Lord_Howe", "2026-03-31", "2026-04-06",
			nil,
			[]string{"2026-03-31", "2026-04-01", "2026-04-02", "2026-04-03", "2026-04-04", "2026-04-05"}, []float64{24, 24, 24, 24, 24, 24.5},
			[]string{"2026-03", "2026-04"}, []float64{744, 720.5},
		},
		{ // a 745-hour October; times in UTC and local offsets mixed
			"berlin-2026-10.yaml", "Europe/Berlin", "2026-10-31", "2026-11-02",
			nil,
			[]string{"2026-10-31", "2026-11-01"}, []float64{24, 24},
			[]string{"2026-10", "2026-11"}, []float64{745, 720},
		},
		{ // +05:45, a leap day
			"kathmandu-2024-02.yaml", "Asia/Kathmandu", "2024-02-29", "2024-03-02",
			nil,
			[]string{"2024-02-29", "2024-03-01"}, []float64{24, 24},
			[]string{"2024-02", "2024-03"}, []float64{696, 744},
		},
	}
	demoCfg, err := os.ReadFile(filepath.Join("..", "..", "examples", "demo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	secret, err := os.ReadFile(filepath.Join("..", "..", "examples", "webhook-secret"))
	if err != nil {
		t.Fatal(err)
	}
	const (
		interval = time.Minute
		confirm  = 10 * time.Second // the default, interval/6
		slack    = 5 * time.Second  // a run's own time
	)
	for _, tc := range cases {
		t.Run(strings.TrimSuffix(tc.timeline, ".yaml"), func(t *testing.T) {
			dir := t.TempDir()
			tlPath, err := filepath.Abs(filepath.Join("testdata", "zones", tc.timeline))
			if err != nil {
				t.Fatal(err)
			}
			tls, err := config.LoadTimelines([]string{tlPath}, config.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if ws := tls[0].Warnings(); len(ws) != 0 {
				t.Fatalf("timeline warnings: %+v", ws)
			}
			// The demo's own config, in the timeline's zone, reconciling it.
			cfg := strings.Replace(string(demoCfg), "\ntimezone: Asia/Seoul\n", "\ntimezone: "+tc.zone+"\n", 1)
			cfg = regexp.MustCompile(`timelines: \[[^]]*\]`).ReplaceAllString(cfg, "timelines: ["+tlPath+"]")
			var maint [][2]time.Time
			if len(tc.maintenance) > 0 {
				cfg += "maintenance:\n"
				for _, m := range tc.maintenance {
					cfg += "  - {service: \"*\", start: " + m.from + ", end: " + m.to + ", reason: planned}\n"
					maint = append(maint, [2]time.Time{rfc(t, m.from), rfc(t, m.to)})
				}
			}
			cfgPath := filepath.Join(dir, "config.yaml")
			for name, data := range map[string][]byte{cfgPath: []byte(cfg), filepath.Join(dir, "webhook-secret"): secret} {
				if err := os.WriteFile(name, data, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			out := filepath.Join(dir, "demo")
			var demo zonesReport
			if err := json.Unmarshal(runDemo(t, out, "report.json", "--config", cfgPath, "--timeline", tlPath, "--from", tc.from, "--to", tc.to), &demo); err != nil {
				t.Fatal(err)
			}
			months := make([]zonesReport, len(tc.months))
			for i, m := range tc.months {
				path := filepath.Join(dir, m+".json")
				var stdout, stderr bytes.Buffer
				if code := runMain(context.Background(), []string{"report", "--config", cfgPath, "--db", filepath.Join(out, "results.db"), "--month", m, "--format", "json", "--out", path}, &stdout, &stderr); code != exitOK {
					t.Fatalf("report --month %s: exit %d: %s", m, code, stderr.String())
				}
				data, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if err := json.Unmarshal(data, &months[i]); err != nil {
					t.Fatal(err)
				}
			}
			rangeSeconds := demo.To.Sub(demo.From).Seconds()
			var wantRange float64
			for _, h := range tc.dayHours {
				wantRange += h * 3600
			}
			if rangeSeconds != wantRange {
				t.Errorf("range %s to %s is %gs, want %gs", demo.From, demo.To, rangeSeconds, wantRange)
			}
			for i, m := range months {
				if got := m.To.Sub(m.From).Hours(); got != tc.monthHours[i] {
					t.Errorf("month %s is %g hours, want %g", tc.months[i], got, tc.monthHours[i])
				}
			}
			for _, inc := range tls[0].Incidents {
				s := zoneService(t, demo, inc.Service)
				if s.PeriodSeconds != wantRange {
					t.Errorf("%s: period_seconds %g, want %g", inc.Service, s.PeriodSeconds, wantRange)
				}
				var dates []string
				for i, d := range s.Daily {
					dates = append(dates, d.Date)
					if i < len(tc.dayHours) && d.Seconds != tc.dayHours[i]*3600 {
						t.Errorf("%s: day %s is %gs, want %gs", inc.Service, d.Date, d.Seconds, tc.dayHours[i]*3600)
					}
				}
				if strings.Join(dates, " ") != strings.Join(tc.days, " ") {
					t.Errorf("%s: days %q, want %q", inc.Service, dates, tc.days)
				}
				// The whole-flow window against the declared incident.
				var win [2]time.Time
				found := 0
				for _, w := range s.Windows {
					if w.Function == nil && w.End != nil {
						win, found = [2]time.Time{w.Start, *w.End}, found+1
					}
				}
				if found != 1 {
					t.Fatalf("%s: %d closed whole-flow windows, want 1", inc.Service, found)
				}
				if d := win[0].Sub(inc.Start); d < 0 || d > interval {
					t.Errorf("%s: window starts %s after the declared start %s, want within %s", inc.Service, d, inc.Start, interval)
				}
				if d := win[1].Sub(inc.End); d < 0 || d > confirm+slack {
					t.Errorf("%s: window ends %s after the declared end %s, want within %s", inc.Service, d, inc.End, confirm+slack)
				}
				if len(s.Reconciliation) != 1 || !s.Reconciliation[0].Detected {
					t.Errorf("%s: reconciliation %+v, want %s detected", inc.Service, s.Reconciliation, inc.ID)
				}
				wantDown := win[1].Sub(win[0]).Seconds() - overlapSeconds(win, maint)
				if !near(s.DowntimeSeconds, wantDown) {
					t.Errorf("%s: downtime %.9fs, want the window less maintenance, %.9fs", inc.Service, s.DowntimeSeconds, wantDown)
				}
				if want := overlapSeconds([2]time.Time{demo.From, demo.To}, maint); !near(s.MaintenanceSeconds, want) {
					t.Errorf("%s: maintenance %gs, want %gs", inc.Service, s.MaintenanceSeconds, want)
				}
				if den := s.PeriodSeconds - s.MaintenanceSeconds - s.UnknownSeconds; s.Availability == nil || !near(*s.Availability, s.UptimeSeconds/den) {
					t.Errorf("%s: availability %v, want %g/%g", inc.Service, s.Availability, s.UptimeSeconds, den)
				}
				// Each month has the part of the window in it, less maintenance.
				var sum float64
				for i, m := range months {
					ms := zoneService(t, m, inc.Service)
					if ms.PeriodSeconds != tc.monthHours[i]*3600 {
						t.Errorf("%s %s: period_seconds %g, want %g", inc.Service, tc.months[i], ms.PeriodSeconds, tc.monthHours[i]*3600)
					}
					part := [2]time.Time{maxT(win[0], m.From), minT(win[1], m.To)}
					want := 0.0
					if part[1].After(part[0]) {
						want = part[1].Sub(part[0]).Seconds() - overlapSeconds(part, maint)
					}
					if !near(ms.DowntimeSeconds, want) {
						t.Errorf("%s %s: downtime %.9fs, want %.9fs", inc.Service, tc.months[i], ms.DowntimeSeconds, want)
					}
					sum += ms.DowntimeSeconds
				}
				if !near(sum, s.DowntimeSeconds) {
					t.Errorf("%s: the months' downtime adds up to %.9fs, the range's is %.9fs", inc.Service, sum, s.DowntimeSeconds)
				}
			}
		})
	}
}

func zoneService(t *testing.T, r zonesReport, name string) zonesService {
	t.Helper()
	for _, s := range r.Services {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no service %s in the report", name)
	return zonesService{}
}

// overlapSeconds is how much of w the spans cover (they do not overlap).
func overlapSeconds(w [2]time.Time, spans [][2]time.Time) float64 {
	var sum float64
	for _, s := range spans {
		if from, to := maxT(w[0], s[0]), minT(w[1], s[1]); to.After(from) {
			sum += to.Sub(from).Seconds()
		}
	}
	return sum
}

func maxT(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minT(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

func rfc(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
