package integration

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/slaprobe/slaprobe/report/render"
)

// zoneReport is the part of a month's report.json TestDemoZones reads.
type zoneReport struct {
	Timezone string `json:"timezone"`
	Services []struct {
		Name               string   `json:"name"`
		Availability       *float64 `json:"availability"`
		PeriodSeconds      float64  `json:"period_seconds"`
		DowntimeSeconds    float64  `json:"downtime_seconds"`
		DegradedSeconds    float64  `json:"degraded_seconds"`
		MaintenanceSeconds float64  `json:"maintenance_seconds"`
		CreditPercent      *float64 `json:"credit_percent"`
		Windows            []struct {
			Function *string `json:"function"`
			Kind     string  `json:"kind"`
			Start    string  `json:"start"`
			End      *string `json:"end"`
			Duration float64 `json:"duration_seconds"`
		} `json:"windows"`
		Reconciliation []struct {
			ID            string  `json:"id"`
			Detected      bool    `json:"detected"`
			DeclaredStart string  `json:"declared_start"`
			DeclaredEnd   string  `json:"declared_end"`
			MeasuredStart *string `json:"measured_start"`
			MeasuredEnd   *string `json:"measured_end"`
		} `json:"reconciliation"`
	} `json:"services"`
}

// TestDemoZones replays two timelines written for this check, not the
// Kakao ones, in zones whose clocks change inside them, and reads the
// month reports in every format (test/testdata/bbzone):
//   - America/New_York, 2026-11-01, when 01:00-01:59 happens twice: a
//     payments outage from 23:10 EDT on October 31 to the second 01:25
//     (EST), 3h15m of real time, is cut at the month's end and counted in
//     both months (49m50s and 2h25m10s at the replay's phase); two login
//     outages in the first and the second 01:00 hour stay two windows of
//     45 minutes each, printed with -04:00 and -05:00; November is 721
//     hours long;
//   - Australia/Lord_Howe, 2026-10-04, when 02:00 +10:30 became 02:30
//     +11:00: a route slow for 2 hours of real time (2h30m on the wall
//     clock) is degraded, not down, and 2 hours long; a tile outage whose
//     last 30 minutes fall in planned maintenance counts only its first
//     hour; October is 743h30m long.
//
// The PDF, HTML and Markdown print each service's availability and
// downtime as the JSON has them, and each window's local start.
func TestDemoZones(t *testing.T) {
	dir, err := filepath.Abs("../testdata/bbzone")
	if err != nil {
		t.Fatal(err)
	}
	type month struct {
		month  string
		period float64            // seconds
		down   map[string]float64 // per service
	}
	cases := []struct {
		name, config, timeline, from, to string
		months                           []month
		check                            func(t *testing.T, reps map[string]zoneReport)
	}{
		{
			name: "new-york", config: "nyc.yaml", timeline: "nyc-2026-11-01.yaml",
			from: "2026-10-31T12:00:00-04:00", to: "2026-11-01T12:00:00-05:00",
			months: []month{
				{"2026-10", 31 * 86400, map[string]float64{"payments": 50 * 60, "account": 0}},
				{"2026-11", 30*86400 + 3600, map[string]float64{"payments": 2*3600 + 25*60, "account": 5400}},
			},
			check: func(t *testing.T, reps map[string]zoneReport) {
				var logins []string
				for _, s := range reps["2026-11"].Services {
					if s.Name != "account" {
						continue
					}
					for _, w := range s.Windows {
						if w.Function != nil && *w.Function == "login" && w.End != nil {
							logins = append(logins, w.Start[11:16]+w.Start[len(w.Start)-6:]+" "+(*w.End)[11:16]+(*w.End)[len(*w.End)-6:])
							if math.Abs(w.Duration-2700) > 1 {
								t.Errorf("login window from %s lasts %v s, want 2700 (45 minutes of real time)", w.Start, w.Duration)
							}
						}
					}
				}
				want := []string{"00:50-04:00 01:35-04:00", "01:05-05:00 01:50-05:00"}
				if strings.Join(logins, ",") != strings.Join(want, ",") {
					t.Errorf("login windows %q, want %q (one in each pass of the repeated hour)", logins, want)
				}
				// The payments window cut at the month's end: its two parts
				// make its 3h15m of real time.
				var sum float64
				for _, m := range []string{"2026-10", "2026-11"} {
					for _, s := range reps[m].Services {
						if s.Name == "payments" {
							sum += s.DowntimeSeconds
						}
					}
				}
				if math.Abs(sum-11700) > 1 {
					t.Errorf("payments downtime in October and November %v s, want 11700 (3h15m)", sum)
				}
			},
		},
		{
			name: "lord-howe", config: "lordhowe.yaml", timeline: "lordhowe-2026-10-04.yaml",
			from: "2026-10-03T12:00:00+10:30", to: "2026-10-04T12:00:00+11:00",
			months: []month{
				{"2026-10", 31*86400 - 1800, map[string]float64{"maps": 3600, "account": 0}}, // 05:00 to the maintenance at 06:00
			},
			check: func(t *testing.T, reps map[string]zoneReport) {
				for _, s := range reps["2026-10"].Services {
					if s.Name != "maps" {
						continue
					}
					if math.Abs(s.DegradedSeconds-7200) > 60 || math.Abs(s.MaintenanceSeconds-3600) > 1 {
						t.Errorf("maps degraded %v s, maintenance %v s, want 2 h of real time (not 2h30m) and 3600", s.DegradedSeconds, s.MaintenanceSeconds)
					}
					for _, w := range s.Windows {
						if w.Function != nil && *w.Function == "route" && (w.Kind != "degraded" || w.Start[11:16] != "01:15" || !strings.HasSuffix(w.Start, "+10:30") || w.End == nil || (*w.End)[11:16] != "03:45" || !strings.HasSuffix(*w.End, "+11:00")) {
							t.Errorf("route window %s %s to %v, want degraded from 01:15 +10:30 to 03:45 +11:00", w.Kind, w.Start, w.End)
						}
					}
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			r := runDemo(t, out, "--config", filepath.Join(dir, tc.config), "--timeline", filepath.Join(dir, tc.timeline), "--from", tc.from, "--to", tc.to)
			for _, s := range r.Services {
				for _, inc := range s.Reconciliation {
					if !inc.Detected || inc.StartDeltaSeconds == nil || inc.EndDeltaSeconds == nil || math.Abs(*inc.StartDeltaSeconds) > 60 || math.Abs(*inc.EndDeltaSeconds) > 60 {
						t.Errorf("%s %s: detected %v, deltas %v %v, want both within a minute", s.Name, inc.ID, inc.Detected, inc.StartDeltaSeconds, inc.EndDeltaSeconds)
					}
				}
				if len(s.Undeclared) > 0 {
					t.Errorf("%s: undeclared windows %+v", s.Name, s.Undeclared)
				}
			}
			reps := map[string]zoneReport{}
			for _, m := range tc.months {
				texts := map[string]string{}
				for _, f := range []string{"json", "md", "html", "pdf", "csv"} {
					path := filepath.Join(out, m.month+"."+f)
					if stdout, code := runCmd(t, binary, "report", "--config", filepath.Join(dir, tc.config), "--db", filepath.Join(out, "results.db"), "--month", m.month, "--format", f, "--out", path); code != 0 {
						t.Fatalf("report %s %s: exit %d\n%s", m.month, f, code, stdout)
					}
					data, err := os.ReadFile(path)
					if err != nil {
						t.Fatal(err)
					}
					if f == "pdf" {
						if data, err = exec.Command("pdftotext", path, "-").Output(); err != nil {
							t.Fatalf("pdftotext: %v", err)
						}
					}
					texts[f] = string(data)
				}
				var rep zoneReport
				if err := json.Unmarshal([]byte(texts["json"]), &rep); err != nil {
					t.Fatal(err)
				}
				reps[m.month] = rep
				html := regexp.MustCompile(`<[^>]*>`).ReplaceAllString(texts["html"], " ")
				for _, s := range rep.Services {
					if s.PeriodSeconds != m.period {
						t.Errorf("%s %s: period %v s, want %v", m.month, s.Name, s.PeriodSeconds, m.period)
					}
					if want := m.down[s.Name]; math.Abs(s.DowntimeSeconds-want) > 60 {
						t.Errorf("%s %s: downtime %v s, want %v within a minute (the probe's interval)", m.month, s.Name, s.DowntimeSeconds, want)
					}
					if s.Availability == nil {
						t.Errorf("%s %s: no availability", m.month, s.Name)
						continue
					}
					pct := "availability " + render.Availability(*s.Availability, 0.999)
					for _, f := range []string{"md", "pdf"} {
						if !strings.Contains(strings.ToLower(strings.Join(strings.Fields(texts[f]), " ")), strings.ToLower(pct)) {
							t.Errorf("%s %s: %s lacks %q", m.month, s.Name, f, pct)
						}
					}
					if !strings.Contains(strings.ToLower(strings.Join(strings.Fields(html), " ")), strings.ToLower(pct)) {
						t.Errorf("%s %s: html lacks %q", m.month, s.Name, pct)
					}
					for _, w := range s.Windows {
						local := w.Start[:10] + " " + w.Start[11:19] + " " + w.Start[len(w.Start)-6:]
						for f, text := range map[string]string{"md": texts["md"], "html": html, "pdf": strings.Join(strings.Fields(texts["pdf"]), " ")} {
							if !strings.Contains(text, local) {
								t.Errorf("%s %s: %s lacks the window start %s", m.month, s.Name, f, local)
							}
						}
						if !strings.Contains(texts["csv"], w.Start) {
							t.Errorf("%s %s: csv lacks the window start %s", m.month, s.Name, w.Start)
						}
					}
				}
			}
			tc.check(t, reps)
		})
	}
}
