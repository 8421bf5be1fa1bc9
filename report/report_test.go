package report

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/state"
	"github.com/slaprobe/slaprobe/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// testConfig is one service, messaging, with one flow, chat: login -> send
// -> receive, every interval.
func testConfig(tz string, interval time.Duration) *config.Config {
	loc, err := time.LoadLocation(tz)
	if err != nil {
		panic(err)
	}
	return &config.Config{
		Location: "seoul-a",
		Timezone: tz,
		Loc:      loc,
		// confirm_every: 0s in the defaults, as its flows have it (a flow
		// the config no longer has is accounted with the defaults').
		Defaults: config.Defaults{Interval: interval, DownAfter: 2, UpAfter: 1, ConfirmEverySet: true},
		Policy:   config.Policy{Unknown: "exclude", Degraded: "up", Quorum: config.Quorum{Mode: "majority"}, FlapGap: 5 * time.Minute},
		Services: []config.Service{{
			Name:      "messaging",
			Objective: 0.999,
			Credits:   []config.Credit{{Below: 0.95, CreditPercent: 100}, {Below: 0.99, CreditPercent: 25}, {Below: 0.999, CreditPercent: 10}},
			Flows: []config.Flow{{
				Name: "chat", Service: "messaging", Interval: interval, DownAfter: 2, UpAfter: 1,
				Steps: []config.Step{
					{Name: "login", Function: "login"},
					{Name: "send", Function: "send"},
					{Name: "receive", Function: "receive"},
				},
			}},
		}},
	}
}

// mkRun builds a run of chat from a spec: "ok", "fail:STEP" (later steps not
// run) or "slow:STEP" (over the latency objective). Steps take 100 ms, slow
// ones 3 s.
func mkRun(loc string, at time.Time, spec string) probe.Run {
	steps := []probe.StepResult{
		{Step: "login", Function: "login", Status: probe.StatusOK, Duration: 100 * time.Millisecond},
		{Step: "send", Function: "send", Status: probe.StatusOK, Duration: 100 * time.Millisecond},
		{Step: "receive", Function: "receive", Status: probe.StatusOK, Duration: 100 * time.Millisecond},
	}
	kind, step, _ := strings.Cut(spec, ":")
	hit := false
	for i := range steps {
		switch {
		case hit && kind == "fail":
			steps[i].Status, steps[i].Duration = probe.StatusNotRun, 0
		case steps[i].Step == step && kind == "fail":
			steps[i].Status, steps[i].Error, hit = probe.StatusFailed, step+": HTTP 503", true
		case steps[i].Step == step && kind == "slow":
			steps[i].Status, steps[i].Error, steps[i].Duration = probe.StatusDegraded, step+": over 2s", 3*time.Second
		case steps[i].Step == step && kind == "cert": // as probe words it
			steps[i].Status, steps[i].Error = probe.StatusDegraded, step+": certificate expires in 3.0 days, under min_days_left 14"
		}
	}
	return probe.Run{ID: loc + at.UTC().Format("20060102T150405"), Flow: "chat", Service: "messaging", Location: loc, Start: at, Duration: 300 * time.Millisecond, Steps: steps}
}

// schedule makes runs every interval in [from, to) at location loc; spec
// gives each run's spec from its minute offset (or "" for no run).
func schedule(loc string, from, to time.Time, interval time.Duration, spec func(off time.Duration) string) []probe.Run {
	var out []probe.Run
	for t := from; t.Before(to); t = t.Add(interval) {
		if s := spec(t.Sub(from)); s != "" {
			out = append(out, mkRun(loc, t, s))
		}
	}
	return out
}

// failing returns a spec that is what in the given half-open minute ranges
// [a, b) and ok elsewhere; "gap" as what means no run.
func failing(what string, ranges ...[2]int) func(time.Duration) string {
	return func(off time.Duration) string {
		m := int(off / time.Minute)
		for _, r := range ranges {
			if m >= r[0] && m < r[1] {
				if what == "gap" {
					return ""
				}
				return what
			}
		}
		return "ok"
	}
}

// load writes runs into s and, as the daemon does, the events of one state
// machine per flow and location. Runs must be in order of start per flow.
func load(t testing.TB, s store.Store, cfg *config.Config, runs []probe.Run) {
	t.Helper()
	ctx := context.Background()
	if err := s.AppendRuns(ctx, runs); err != nil {
		t.Fatal(err)
	}
	machines := map[[2]string]*state.Machine{}
	var evs []state.Event
	for i := range runs {
		r := &runs[i]
		m := machines[[2]string{r.Flow, r.Location}]
		if m == nil {
			_, f := cfg.Flow(r.Flow)
			if f == nil {
				t.Fatalf("run of flow %q, which the config does not have", r.Flow)
			}
			m = state.New(r.Service, r.Flow, r.Location, f.Functions(), state.Policy{Interval: f.Interval, DownAfter: f.DownAfter, UpAfter: f.UpAfter, ConfirmEvery: f.ConfirmEvery})
			machines[[2]string{r.Flow, r.Location}] = m
		}
		evs = append(evs, m.Observe(r)...)
	}
	if err := s.AppendEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// val is *p, or NaN (never near anything) for a figure that is null.
func val(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

type num struct {
	name      string
	got, want float64
}

func checkNums(t *testing.T, nums []num) {
	t.Helper()
	for _, n := range nums {
		if !near(n.got, n.want) {
			t.Errorf("%s = %.12g, want %.12g", n.name, n.got, n.want)
		}
	}
}

func fnName(w Window) string {
	if w.Function == nil {
		return "flow"
	}
	return *w.Function
}

// winList writes windows as "function kind start-end cause locations" with
// times as HH:MM in the window's zone.
func winList(ws []Window) []string {
	var out []string
	for _, w := range ws {
		end := "open"
		if w.End != nil {
			end = w.End.Format("15:04")
		}
		out = append(out, fnName(w)+" "+w.Kind+" "+w.Start.Format("15:04")+"-"+end+" "+w.CauseStep+" "+strings.Join(w.Locations, ","))
	}
	return out
}

func sameList(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\n got %q\nwant %q", what, got, want)
	}
}

var hourStart = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

type buildCase struct {
	name      string
	cfg       func() *config.Config
	from, to  time.Time
	now       time.Time
	runs      func() []probe.Run
	timelines []*config.Timeline
	check     func(t *testing.T, r *Report)
}

func hourCase(name string, mut func(*config.Config), runs func() []probe.Run, check func(*testing.T, *Report)) buildCase {
	return buildCase{
		name: name,
		cfg: func() *config.Config {
			c := testConfig("UTC", time.Minute)
			if mut != nil {
				mut(c)
			}
			return c
		},
		from: hourStart, to: hourStart.Add(time.Hour), runs: runs, check: check,
	}
}

func oneLoc(spec func(time.Duration) string) func() []probe.Run {
	return func() []probe.Run {
		return schedule("seoul-a", hourStart, hourStart.Add(time.Hour), time.Minute, spec)
	}
}

func buildCases() []buildCase {
	seoul, _ := time.LoadLocation("Asia/Seoul")
	ny, _ := time.LoadLocation("America/New_York")
	return []buildCase{
		hourCase("blip", nil, oneLoc(failing("fail:send", [2]int{10, 11})), func(t *testing.T, r *Report) {
			s := r.Services[0]
			checkNums(t, []num{
				{"availability", val(s.Availability), 1},
				{"run success", val(s.RunSuccessRatio), 59.0 / 60},
				{"runs", float64(s.Runs), 60},
				{"incidents", float64(s.Incidents), 0},
				{"downtime", s.DowntimeSeconds, 0},
				{"credit", val(s.CreditPercent), 0},
				{"budget remaining", s.ErrorBudget.RemainingSeconds, 3.6},
			})
			sameList(t, "windows", winList(s.Windows), nil)
		}),
		hourCase("backdating", nil, oneLoc(failing("fail:send", [2]int{10, 15})), func(t *testing.T, r *Report) {
			s := r.Services[0]
			checkNums(t, []num{
				{"availability", val(s.Availability), 3300.0 / 3600},
				{"downtime", s.DowntimeSeconds, 300},
				{"uptime", s.UptimeSeconds, 3300},
				{"run success", val(s.RunSuccessRatio), 55.0 / 60},
				{"incidents", float64(s.Incidents), 1},
				{"mttr", val(s.MTTRSeconds), 300},
				{"mttd", val(s.MTTDSeconds), 60.3}, // to the end of the 0.3 s confirming run
				{"mtbf", val(s.MTBFSeconds), 3300},
				{"longest", val(s.LongestSeconds), 300},
				{"credit", val(s.CreditPercent), 100},
				{"budget allowed", s.ErrorBudget.AllowedSeconds, 3.6},
				{"budget consumed", s.ErrorBudget.ConsumedSeconds, 300},
				{"budget remaining", s.ErrorBudget.RemainingSeconds, 3.6 - 300},
				{"burn rate", val(s.ErrorBudget.BurnRate), 300 / 3.6},
				{"p50", val(s.P50), val(s.Steps[0].P50)},
			})
			if p50 := val(s.P50); p50 < 0.094 || p50 > 0.106 {
				t.Errorf("p50 = %g, want about 0.1", p50)
			}
			if s.Steps[2].Count != 55 { // receive was not run in 5 runs
				t.Errorf("receive count = %d, want 55", s.Steps[2].Count)
			}
			sameList(t, "windows", winList(s.Windows), []string{
				"flow down 10:10-10:15 send seoul-a",
				"receive down 10:10-10:15 send seoul-a",
				"send down 10:10-10:15 send seoul-a",
			})
			if !s.Windows[0].Confirmed.Equal(hourStart.Add(11 * time.Minute)) {
				t.Errorf("confirmed = %s, want 10:11", s.Windows[0].Confirmed)
			}
		}),
		hourCase("blocked functions", nil, oneLoc(failing("fail:login", [2]int{10, 12})), func(t *testing.T, r *Report) {
			s := r.Services[0]
			sameList(t, "windows", winList(s.Windows), []string{
				"flow down 10:10-10:12 login seoul-a",
				"login down 10:10-10:12 login seoul-a",
				"receive down 10:10-10:12 login seoul-a",
				"send down 10:10-10:12 login seoul-a",
			})
			sameList(t, "incident functions", s.IncidentList[0].Functions, []string{"login", "receive", "send"})
			checkNums(t, []num{{"downtime", s.DowntimeSeconds, 120}, {"incidents", float64(s.Incidents), 1}})
		}),
		hourCase("unknown gap", nil, oneLoc(func(off time.Duration) string {
			m := int(off / time.Minute)
			switch {
			case m >= 15 && m < 20:
				return "fail:receive"
			case m >= 20 && m < 30:
				return ""
			}
			return "ok"
		}), func(t *testing.T, r *Report) {
			s := r.Services[0]
			// down 10:15-10:20 (closed where the gap starts), unknown 10:20-10:30
			checkNums(t, []num{
				{"availability", val(s.Availability), 2700.0 / 3000},
				{"downtime", s.DowntimeSeconds, 300},
				{"unknown", s.UnknownSeconds, 600},
				{"flow unknown", s.Flows[0].UnknownSeconds, 600},
				{"budget allowed", s.ErrorBudget.AllowedSeconds, 0.001 * 3000},
			})
			if len(s.Unknown) != 1 || s.Unknown[0].Start.Format("15:04") != "10:20" || s.Unknown[0].End.Format("15:04") != "10:30" {
				t.Errorf("unknown spans = %+v", s.Unknown)
			}
		}),
		hourCase("unknown counted as down", func(c *config.Config) { c.Policy.Unknown = "down" }, oneLoc(failing("gap", [2]int{20, 30})), func(t *testing.T, r *Report) {
			s := r.Services[0]
			checkNums(t, []num{{"availability", val(s.Availability), 3000.0 / 3600}, {"unknown", s.UnknownSeconds, 600}, {"downtime", s.DowntimeSeconds, 0},
				{"budget allowed", s.ErrorBudget.AllowedSeconds, 0.001 * 3600}})
			// The policy in words says what was computed: unknown time
			// stays in the denominator (it said "period - maintenance -
			// unknown" for availability and the error budget).
			for _, line := range r.Policy.Text {
				if strings.Contains(line, "- unknown") {
					t.Errorf("policy text under unknown: down: %q", line)
				}
			}
			if text := strings.Join(r.Policy.Text, "\n"); !strings.Contains(text, "Availability is up time / (period - maintenance)") ||
				!strings.Contains(text, "The error budget is (1 - objective) x (period - maintenance);") {
				t.Errorf("policy text under unknown: down lacks its formulas:\n%s", text)
			}
		}),
		hourCase("trailing and leading unknown from coverage", nil, oneLoc(func(off time.Duration) string {
			if off < 5*time.Minute || off >= 50*time.Minute {
				return ""
			}
			return "ok"
		}), func(t *testing.T, r *Report) {
			s := r.Services[0]
			// no run before 10:05 (> 2m): unknown 10:00-10:05; last run
			// 10:49, so unknown from 10:50 to 11:00.
			checkNums(t, []num{{"unknown", s.UnknownSeconds, 900}, {"availability", val(s.Availability), 1}})
		}),
		hourCase("maintenance overlapping an outage", func(c *config.Config) {
			c.Maintenance = []config.Maintenance{{Service: "messaging", Start: hourStart.Add(20 * time.Minute), End: hourStart.Add(40 * time.Minute), Reason: "upgrade"}}
		}, oneLoc(failing("fail:send", [2]int{10, 30})), func(t *testing.T, r *Report) {
			s := r.Services[0]
			checkNums(t, []num{
				{"availability", val(s.Availability), 1800.0 / 2400},
				{"downtime", s.DowntimeSeconds, 600},
				{"maintenance", s.MaintenanceSeconds, 1200},
				{"uptime", s.UptimeSeconds, 1800},
			})
			if len(s.Maintenance) != 1 || s.Maintenance[0].Reason != "upgrade" {
				t.Errorf("maintenance = %+v", s.Maintenance)
			}
		}),
		hourCase("degraded counted as up", nil, oneLoc(failing("slow:login", [2]int{10, 20})), func(t *testing.T, r *Report) {
			s := r.Services[0]
			checkNums(t, []num{{"availability", val(s.Availability), 1}, {"degraded", s.DegradedSeconds, 600}, {"run success", val(s.RunSuccessRatio), 1}})
			sameList(t, "windows", winList(s.Windows), []string{
				"flow degraded 10:10-10:20 login seoul-a",
				"login degraded 10:10-10:20 login seoul-a",
			})
		}),
		hourCase("degraded counted as down", func(c *config.Config) { c.Policy.Degraded = "down" }, oneLoc(failing("slow:login", [2]int{10, 20})), func(t *testing.T, r *Report) {
			s := r.Services[0]
			checkNums(t, []num{{"availability", val(s.Availability), 3000.0 / 3600}, {"degraded", s.DegradedSeconds, 600}, {"downtime", s.DowntimeSeconds, 0}})
		}),
		hourCase("flapping merges into one incident", nil, oneLoc(failing("fail:send", [2]int{10, 12}, [2]int{14, 16}, [2]int{30, 32})), func(t *testing.T, r *Report) {
			s := r.Services[0]
			checkNums(t, []num{
				{"incidents", float64(s.Incidents), 2},
				{"downtime", s.DowntimeSeconds, 360},
				{"mttr", val(s.MTTRSeconds), 240},
				{"longest", val(s.LongestSeconds), 360},
				{"mtbf", val(s.MTBFSeconds), 3240.0 / 2},
				{"mttd", val(s.MTTDSeconds), 60.3},
				{"parts", float64(s.IncidentList[0].Parts), 2},
				{"parts 2", float64(s.IncidentList[1].Parts), 1},
				{"credit", val(s.CreditPercent), 100}, // 3240/3600 = 0.9 < 0.95
			})
		}),
		quorumCase("quorum majority of 3", config.Quorum{Mode: "majority"}, func(t *testing.T, r *Report) {
			s := r.Services[0]
			checkNums(t, []num{{"downtime", s.DowntimeSeconds, 300}, {"availability", val(s.Availability), 3300.0 / 3600}, {"runs", float64(s.Runs), 180}})
			sameList(t, "windows", winList(s.Windows), []string{
				"flow down 10:15-10:20 send seoul-a,seoul-b",
				"receive down 10:15-10:20 send seoul-a,seoul-b",
				"send down 10:15-10:20 send seoul-a,seoul-b",
			})
			// The single-location stretches either side of the counted
			// window are listed too.
			sameList(t, "below quorum", winList(s.BelowQuorum), []string{
				"flow down 10:10-10:15 send seoul-a",
				"receive down 10:10-10:15 send seoul-a",
				"send down 10:10-10:15 send seoul-a",
				"flow down 10:20-10:25 send seoul-b",
				"receive down 10:20-10:25 send seoul-b",
				"send down 10:20-10:25 send seoul-b",
				"flow down 10:40-10:42 login seoul-c",
				"login down 10:40-10:42 login seoul-c",
				"receive down 10:40-10:42 login seoul-c",
				"send down 10:40-10:42 login seoul-c",
			})
		}),
		quorumCase("quorum all of 3", config.Quorum{Mode: "all"}, func(t *testing.T, r *Report) {
			s := r.Services[0]
			checkNums(t, []num{{"downtime", s.DowntimeSeconds, 0}, {"availability", val(s.Availability), 1}})
			if len(s.BelowQuorum) != 10 {
				t.Errorf("below quorum = %d windows, want 10", len(s.BelowQuorum))
			}
		}),
		quorumCase("quorum count 1", config.Quorum{Mode: "count", N: 1}, func(t *testing.T, r *Report) {
			s := r.Services[0]
			checkNums(t, []num{{"downtime", s.DowntimeSeconds, 1020}, {"incidents", float64(s.Incidents), 2}})
			sameList(t, "flow windows", winList(s.Windows[:1]), []string{"flow down 10:10-10:25 send seoul-a,seoul-b"})
		}),
		{
			name: "month boundary Asia/Seoul",
			cfg:  func() *config.Config { return testConfig("Asia/Seoul", 10*time.Minute) },
			from: time.Date(2022, 10, 1, 0, 0, 0, 0, seoul), to: time.Date(2022, 11, 1, 0, 0, 0, 0, seoul),
			runs: func() []probe.Run {
				from := time.Date(2022, 9, 30, 23, 0, 0, 0, seoul)
				return schedule("seoul-a", from, time.Date(2022, 11, 1, 1, 0, 0, 0, seoul), 10*time.Minute, func(off time.Duration) string {
					if off >= 40*time.Minute && off < 80*time.Minute { // 23:40 to 00:10
						return "fail:receive"
					}
					return "ok"
				})
			},
			check: func(t *testing.T, r *Report) {
				s := r.Services[0]
				checkNums(t, []num{
					{"period", s.PeriodSeconds, 31 * 86400},
					{"downtime", s.DowntimeSeconds, 1200},
					{"availability", val(s.Availability), 1 - 1200.0/(31*86400)},
					{"days", float64(len(s.Daily)), 31},
					{"day 1", *s.Daily[0].Availability, 1 - 1200.0/86400},
					{"day 2", *s.Daily[1].Availability, 1},
					{"runs", float64(s.Runs), 31 * 144},
				})
				if s.Daily[0].Date != "2022-10-01" || s.Daily[30].Date != "2022-10-31" {
					t.Errorf("days %s..%s", s.Daily[0].Date, s.Daily[30].Date)
				}
				if got := s.Windows[0].Start.Format(time.RFC3339); got != "2022-10-01T00:00:00+09:00" {
					t.Errorf("clipped start = %s", got)
				}
			},
		},
		nyCase("DST March America/New_York", "2022-03", ny, time.Date(2022, 3, 13, 1, 30, 0, 0, ny), 743, 23),
		nyCase("DST November America/New_York", "2022-11", ny, time.Date(2022, 11, 6, 0, 30, 0, 0, ny), 721, 25),
		reconcileCase(seoul),
		{
			name: "open window at now",
			cfg:  func() *config.Config { return testConfig("UTC", time.Minute) },
			from: hourStart, to: hourStart.Add(time.Hour), now: hourStart.Add(30 * time.Minute),
			runs: func() []probe.Run {
				return schedule("seoul-a", hourStart, hourStart.Add(30*time.Minute), time.Minute, failing("fail:receive", [2]int{20, 30}))
			},
			check: func(t *testing.T, r *Report) {
				s := r.Services[0]
				checkNums(t, []num{
					{"downtime", s.DowntimeSeconds, 600},
					{"availability", val(s.Availability), 1200.0 / 1800},
					{"budget allowed", s.ErrorBudget.AllowedSeconds, 3.6},
					{"burn rate", val(s.ErrorBudget.BurnRate), 600 / 3.6 / 0.5},
					{"period", s.PeriodSeconds, 3600},
				})
				sameList(t, "windows", winList(s.Windows), []string{
					"flow down 10:20-open receive seoul-a",
					"receive down 10:20-open receive seoul-a",
				})
				if s.IncidentList[0].End != nil {
					t.Errorf("incident end = %v, want null", s.IncidentList[0].End)
				}
				if s.Daily[0].Availability == nil || !near(*s.Daily[0].Availability, 1200.0/1800) {
					t.Errorf("daily = %v", s.Daily[0].Availability)
				}
			},
		},
	}
}

func TestMonthRange(t *testing.T) {
	seoul, _ := time.LoadLocation("Asia/Seoul")
	ny, _ := time.LoadLocation("America/New_York")
	asuncion, _ := time.LoadLocation("America/Asuncion")
	santiago, _ := time.LoadLocation("America/Santiago")
	tests := []struct {
		month    string
		loc      *time.Location
		from, to string
		hours    float64
		err      bool
	}{
		{"2022-10", seoul, "2022-09-30T15:00:00Z", "2022-10-31T15:00:00Z", 744, false},
		{"2022-03", ny, "2022-03-01T05:00:00Z", "2022-04-01T04:00:00Z", 743, false},
		{"2022-11", ny, "2022-11-01T04:00:00Z", "2022-12-01T05:00:00Z", 721, false},
		{"2024-02", time.UTC, "2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z", 29 * 24, false},
		{"2022-12", nil, "2022-12-01T00:00:00Z", "2023-01-01T00:00:00Z", 744, false},
		// No local midnight on the first: the month starts at 01:00.
		{"2023-10", asuncion, "2023-10-01T04:00:00Z", "2023-11-01T03:00:00Z", 743, false},
		{"2024-09", santiago, "2024-09-01T04:00:00Z", "2024-10-01T03:00:00Z", 719, false},
		{"2024-04", santiago, "2024-04-01T03:00:00Z", "2024-05-01T04:00:00Z", 721, false},
		// Checked by hand with report --month on demo replays (zdump -v for
		// the changes): the month's first and last instants and its length.
		{"2012-04", loadZone(t, "America/Havana"), "2012-04-01T05:00:00Z", "2012-05-01T04:00:00Z", 719, false},        // 04-01 00:00 -05 -> 01:00 -04
		{"2020-11", loadZone(t, "America/Havana"), "2020-11-01T04:00:00Z", "2020-12-01T05:00:00Z", 721, false},        // 11-01 00:00-01:00 twice
		{"2023-04", santiago, "2023-04-01T03:00:00Z", "2023-05-01T04:00:00Z", 721, false},                             // 04-01 23:00-24:00 twice
		{"2024-03", loadZone(t, "Asia/Beirut"), "2024-02-29T22:00:00Z", "2024-03-31T21:00:00Z", 743, false},           // 03-31 00:00 -> 01:00
		{"2020-11", loadZone(t, "America/St_Johns"), "2020-11-01T02:30:00Z", "2020-12-01T03:30:00Z", 721, false},      // -02:30 -> -03:30
		{"2023-10", loadZone(t, "Australia/Lord_Howe"), "2023-09-30T13:30:00Z", "2023-10-31T13:00:00Z", 743.5, false}, // 02:00 -> 02:30
		{"2018-04", loadZone(t, "Pacific/Chatham"), "2018-03-31T10:15:00Z", "2018-04-30T11:15:00Z", 721, false},       // +13:45 -> +12:45
		{"2024-02", loadZone(t, "Asia/Kathmandu"), "2024-01-31T18:15:00Z", "2024-02-29T18:15:00Z", 696, false},        // leap day, +05:45
		{"2011-12", loadZone(t, "Pacific/Apia"), "2011-12-01T10:00:00Z", "2011-12-31T10:00:00Z", 720, false},          // 12-30 skipped
		{"2012-01", loadZone(t, "Pacific/Apia"), "2011-12-31T10:00:00Z", "2012-01-31T10:00:00Z", 744, false},
		{"2020-12", loadZone(t, "Europe/Volgograd"), "2020-11-30T20:00:00Z", "2020-12-31T21:00:00Z", 745, false},  // +04 -> +03, not DST
		{"2024-03", loadZone(t, "Africa/Casablanca"), "2024-02-29T23:00:00Z", "2024-04-01T00:00:00Z", 745, false}, // +01 -> +00 for Ramadan
		{"9999-12", seoul, "", "", 0, true}, // ends at 10000-01-01, which RFC 3339 cannot write
		{"9999-11", seoul, "9999-10-31T15:00:00Z", "9999-11-30T15:00:00Z", 720, false},
		{"0001-01", seoul, "", "", 0, true}, // starts before 0001-01-01T00:00:00Z (+08:27:52 then)
		{"2022-13", seoul, "", "", 0, true},
		{"2022-00", seoul, "", "", 0, true},
		{"2022-1", seoul, "", "", 0, true},
		{"October", seoul, "", "", 0, true},
		{"", seoul, "", "", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.month+" "+tc.loc.String(), func(t *testing.T) {
			from, to, err := MonthRange(tc.month, tc.loc)
			if tc.err {
				if err == nil {
					t.Fatalf("no error for %q", tc.month)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := from.UTC().Format(time.RFC3339); got != tc.from {
				t.Errorf("from = %s, want %s", got, tc.from)
			}
			if got := to.UTC().Format(time.RFC3339); got != tc.to {
				t.Errorf("to = %s, want %s", got, tc.to)
			}
			if h := to.Sub(from).Hours(); h != tc.hours {
				t.Errorf("hours = %g, want %g", h, tc.hours)
			}
		})
	}
}

// loadZone loads an IANA zone or fails the test.
func loadZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestCredit(t *testing.T) {
	tiers := []config.Credit{{Below: 0.95, CreditPercent: 100}, {Below: 0.99, CreditPercent: 25}, {Below: 0.999, CreditPercent: 10}}
	tests := []struct {
		avail, want float64
	}{
		{1, 0}, {0.999, 0}, {0.9989, 10}, {0.99, 10}, {0.9899, 25}, {0.95, 25}, {0.9499, 100}, {0, 100},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.avail), func(t *testing.T) {
			if got := credit(tiers, tc.avail); got != tc.want {
				t.Errorf("credit(%g) = %g, want %g", tc.avail, got, tc.want)
			}
		})
	}
	if got := credit(nil, 0.5); got != 0 {
		t.Errorf("no tiers: credit = %g", got)
	}
}

func TestBadInput(t *testing.T) {
	cfg := testConfig("UTC", time.Minute)
	s := newMemStore()
	tests := []struct {
		name string
		in   Input
	}{
		{"no config", Input{Store: s, From: hourStart, To: hourStart.Add(time.Hour)}},
		{"no store", Input{Config: cfg, From: hourStart, To: hourStart.Add(time.Hour)}},
		{"to before from", Input{Config: cfg, Store: s, From: hourStart, To: hourStart.Add(-time.Hour)}},
		{"empty period", Input{Config: cfg, Store: s, From: hourStart, To: hourStart}},
		{"zero times", Input{Config: cfg, Store: s}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Build(context.Background(), tc.in); err == nil {
				t.Error("Build: no error")
			}
			if _, err := Windows(context.Background(), tc.in); err == nil {
				t.Error("Windows: no error")
			}
		})
	}
}

// TestNoRuns: a period with no run at all is all unknown, never up.
func TestNoRuns(t *testing.T) {
	cfg := testConfig("UTC", time.Minute)
	rep, err := Build(context.Background(), Input{Config: cfg, Store: newMemStore(), From: hourStart, To: hourStart.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	s := rep.Services[0]
	checkNums(t, []num{{"unknown", s.UnknownSeconds, 3600}, {"runs", float64(s.Runs), 0}})
	if s.Availability != nil || s.CreditPercent != nil || !s.NoData {
		t.Errorf("availability %v, credit %v, no_data %v: want null, null, true", s.Availability, s.CreditPercent, s.NoData)
	}
	if s.Daily[0].Availability != nil {
		t.Errorf("daily availability = %v, want null", *s.Daily[0].Availability)
	}
}

// TestWindowsRecompute: the windows listing from stored events and from raw
// runs are the same, on every build case.
func TestWindowsRecompute(t *testing.T) {
	for _, st := range stores() {
		t.Run(st.name, func(t *testing.T) { testWindowsRecompute(t, st.open) })
	}
}

func testWindowsRecompute(t *testing.T, open func(testing.TB) store.Store) {
	ctx := context.Background()
	for _, tc := range buildCases() {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg()
			s := open(t)
			load(t, s, cfg, tc.runs())
			// From the first run on, from the period's start, and from a
			// quarter of an hour in (inside the cases' outages): a
			// recompute replays runs from before From, so a window under
			// way at From is cut by the range as the stored one is.
			for _, shift := range []time.Duration{-2 * time.Hour, 0, 15 * time.Minute} {
				in := Input{Config: cfg, Store: s, From: tc.from.Add(shift), To: tc.to, Now: tc.now}
				if !in.To.After(in.From) {
					continue
				}
				stored, err := Windows(ctx, in)
				if err != nil {
					t.Fatal(err)
				}
				in.Recompute = true
				rec, err := Windows(ctx, in)
				if err != nil {
					t.Fatal(err)
				}
				if len(stored) == 0 && shift < 0 && strings.Contains(tc.name, "backdating") {
					t.Fatal("no windows")
				}
				a, b := jsonOf(t, stored), jsonOf(t, rec)
				if a != b {
					t.Errorf("from %s: windows differ:\nstored     %s\nrecomputed %s", shift, a, b)
				}
			}
		})
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// quorumCase: seoul-a fails 10:10-10:20, seoul-b 10:15-10:25 (send), seoul-c
// 10:40-10:42 (login).
func quorumCase(name string, q config.Quorum, check func(*testing.T, *Report)) buildCase {
	return hourCase(name, func(c *config.Config) { c.Policy.Quorum = q }, func() []probe.Run {
		end := hourStart.Add(time.Hour)
		var runs []probe.Run
		runs = append(runs, schedule("seoul-a", hourStart, end, time.Minute, failing("fail:send", [2]int{10, 20}))...)
		runs = append(runs, schedule("seoul-b", hourStart, end, time.Minute, failing("fail:send", [2]int{15, 25}))...)
		runs = append(runs, schedule("seoul-c", hourStart, end, time.Minute, failing("fail:login", [2]int{40, 42}))...)
		return runs
	}, check)
}

// nyCase has a one-hour outage (real time) starting at outage, on the day
// the clocks change: the month has hours hours and that day dayHours.
func nyCase(name, month string, ny *time.Location, outage time.Time, hours, dayHours float64) buildCase {
	from, to, _ := MonthRange(month, ny)
	return buildCase{
		name: name,
		cfg:  func() *config.Config { return testConfig("America/New_York", 10*time.Minute) },
		from: from, to: to,
		runs: func() []probe.Run {
			return schedule("nyc-a", from, to, 10*time.Minute, func(off time.Duration) string {
				if t := from.Add(off); !t.Before(outage) && t.Before(outage.Add(time.Hour)) {
					return "fail:login"
				}
				return "ok"
			})
		},
		check: func(t *testing.T, r *Report) {
			s := r.Services[0]
			day := outage.Day() - 1
			checkNums(t, []num{
				{"period", s.PeriodSeconds, hours * 3600},
				{"downtime", s.DowntimeSeconds, 3600},
				{"availability", val(s.Availability), 1 - 1/hours},
				{"outage day", *s.Daily[day].Availability, 1 - 1/dayHours},
				{"day before", *s.Daily[day-1].Availability, 1},
			})
			if s.Daily[day].Date != outage.Format("2006-01-02") {
				t.Errorf("outage day is %s, want %s", s.Daily[day].Date, outage.Format("2006-01-02"))
			}
		},
	}
}

// reconcileCase is 2021-05-05 in Seoul: receive failed from 21:47 to 00:09
// (runs every minute; up at 00:10), send failed 20:00-20:05 (undeclared);
// declared: receive 21:47-00:08 (first notice 22:08) and PC login (not
// measured).
func reconcileCase(seoul *time.Location) buildCase {
	from := time.Date(2021, 5, 5, 20, 0, 0, 0, seoul)
	to := from.Add(5 * time.Hour)
	tl := &config.Timeline{Name: "kakaotalk-2021-05-05", Incidents: []config.Incident{
		{
			ID: "kakaotalk-receive-2021-05-05", Title: "Some users could not receive messages", Service: "messaging",
			Functions: []string{"receive"}, Start: time.Date(2021, 5, 5, 21, 47, 0, 0, seoul), End: time.Date(2021, 5, 6, 0, 8, 0, 0, seoul),
			Notices: []config.Notice{{At: time.Date(2021, 5, 5, 23, 10, 0, 0, seoul)}, {At: time.Date(2021, 5, 5, 22, 8, 0, 0, seoul)}},
		},
		{
			ID: "kakaotalk-pc-login-2021-05-05", Title: "PC login failed", Service: "messaging",
			Functions: []string{"login"}, Start: time.Date(2021, 5, 5, 21, 47, 0, 0, seoul), End: time.Date(2021, 5, 6, 0, 8, 0, 0, seoul),
		},
		{ID: "elsewhere", Service: "payments", Functions: []string{"send"}, Start: from},
	}}
	return buildCase{
		name: "reconciliation deltas and undeclared",
		cfg:  func() *config.Config { return testConfig("Asia/Seoul", time.Minute) },
		from: from, to: to, timelines: []*config.Timeline{tl},
		runs: func() []probe.Run {
			recv := time.Date(2021, 5, 5, 21, 47, 0, 0, seoul)
			back := time.Date(2021, 5, 6, 0, 10, 0, 0, seoul)
			return schedule("seoul-a", from, to, time.Minute, func(off time.Duration) string {
				switch at := from.Add(off); {
				case off < 5*time.Minute:
					return "fail:send"
				case !at.Before(recv) && at.Before(back):
					return "fail:receive"
				}
				return "ok"
			})
		},
		check: func(t *testing.T, r *Report) {
			s := r.Services[0]
			if len(s.Reconciliation) != 2 {
				t.Fatalf("reconciliation has %d entries, want 2", len(s.Reconciliation))
			}
			rc := s.Reconciliation[0]
			if !rc.Detected || rc.StartDeltaSeconds == nil || rc.EndDeltaSeconds == nil || rc.NoticeDelaySeconds == nil {
				t.Fatalf("receive not reconciled: %+v", rc)
			}
			checkNums(t, []num{
				{"start delta", *rc.StartDeltaSeconds, 0},
				{"end delta", *rc.EndDeltaSeconds, 120},
				{"notice delay", *rc.NoticeDelaySeconds, 21 * 60},
				{"matched", float64(len(rc.Windows)), 2},
				{"downtime", s.DowntimeSeconds, 300 + 143*60},
				{"availability", val(s.Availability), (18000.0 - 300 - 143*60) / 18000},
			})
			if got := rc.FirstNotice.Format("15:04"); got != "22:08" {
				t.Errorf("first notice %s, want 22:08", got)
			}
			if pc := s.Reconciliation[1]; pc.Detected || pc.MeasuredStart != nil {
				t.Errorf("PC login detected: %+v", pc)
			}
			sameList(t, "undeclared", winList(s.Undeclared), []string{
				"flow down 20:00-20:05 send seoul-a",
				"receive down 20:00-20:05 send seoul-a",
				"send down 20:00-20:05 send seoul-a",
			})
		},
	}
}

// stores are the store implementations every build case runs against: the
// SQLite store and the in-memory fake (which documents the semantics the
// report relies on).
func stores() []struct {
	name string
	open func(t testing.TB) store.Store
} {
	return []struct {
		name string
		open func(t testing.TB) store.Store
	}{
		{"sqlite", func(t testing.TB) store.Store {
			s, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "results.db"), store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}},
		{"mem", func(testing.TB) store.Store { return newMemStore() }},
	}
}

func TestBuild(t *testing.T) {
	for _, st := range stores() {
		t.Run(st.name, func(t *testing.T) { testBuild(t, st.open) })
	}
}

func testBuild(t *testing.T, open func(testing.TB) store.Store) {
	ctx := context.Background()
	for _, tc := range buildCases() {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg()
			runs := tc.runs()
			s := open(t)
			load(t, s, cfg, runs)
			in := Input{Config: cfg, Store: s, From: tc.from, To: tc.to, Timelines: tc.timelines, Now: tc.now}
			rep, err := Build(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, rep)

			// The same windows from raw runs.
			in.Recompute = true
			rec, err := Build(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			if a, b := winList(rep.Windows), winList(rec.Windows); strings.Join(a, "\n") != strings.Join(b, "\n") {
				t.Errorf("recomputed windows differ:\nstored     %q\nrecomputed %q", a, b)
			}
			if !near(val(rep.Services[0].Availability), val(rec.Services[0].Availability)) {
				t.Errorf("recomputed availability %g, stored %g", val(rec.Services[0].Availability), val(rep.Services[0].Availability))
			}

			golden(t, filepath.Join("testdata", strings.NewReplacer(" ", "_", "/", "_").Replace(tc.name)+".golden"), rep)

			// NoLatency: the same report, its latencies left out.
			in.Recompute, in.NoLatency = false, true
			nolat, err := Build(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			if want := withoutLatency(rep); !reflect.DeepEqual(nolat, want) {
				g, _ := json.MarshalIndent(nolat, "", "  ")
				w, _ := json.MarshalIndent(want, "", "  ")
				t.Errorf("NoLatency report differs from the full one less its latencies:\n got %s\nwant %s", g, w)
			}
		})
	}
}

// withoutLatency is a copy of r with every latency figure cleared, as
// Input.NoLatency leaves them.
func withoutLatency(r *Report) *Report {
	c := *r
	c.Services = slices.Clone(r.Services)
	for i := range c.Services {
		s := &c.Services[i]
		s.P50, s.P95, s.P99 = nil, nil, nil
		s.Steps = slices.Clone(s.Steps)
		for j := range s.Steps {
			st := &s.Steps[j]
			st.Count, st.P50, st.P95, st.P99 = 0, nil, nil, nil
		}
	}
	return &c
}

func golden(t *testing.T, path string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./report/ -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test ./report/ -update rewrites it); got:\n%s", path, got)
	}
}

// A report of a period that is not over yet is accounted up to now: an
// incident the timeline declares to start after now has not happened, so it
// is neither reconciled as "not detected" nor listed. Before, the status page
// of a daemon (this month, up to now) showed every incident of the month's
// timeline still to come as "(not detected)"; one that began before now is
// reconciled as ever.
func TestReconcileLeavesOutIncidentsAfterNow(t *testing.T) {
	now := hourStart.Add(30 * time.Minute)
	inc := func(id string, startMin int) config.Incident {
		return config.Incident{ID: id, Service: "messaging", Functions: []string{"receive"},
			Start: hourStart.Add(time.Duration(startMin) * time.Minute), End: hourStart.Add(time.Duration(startMin+5) * time.Minute)}
	}
	tests := []struct {
		name      string
		incidents []config.Incident
		want      []string // reconciled ids
	}{
		{"before now", []config.Incident{inc("past", 10)}, []string{"past"}},
		{"after now", []config.Incident{inc("future", 40)}, nil},
		{"starts at now", []config.Incident{inc("at-now", 30)}, nil},
		{"both", []config.Incident{inc("past", 10), inc("future", 40)}, []string{"past"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("UTC", time.Minute)
			s := newMemStore()
			load(t, s, cfg, schedule("seoul-a", hourStart, now, time.Minute, failing("fail:receive", [2]int{10, 15})))
			tl := &config.Timeline{Name: "tl", Incidents: tc.incidents}
			rep, err := Build(context.Background(), Input{Config: cfg, Store: s, From: hourStart, To: hourStart.Add(time.Hour), Now: now,
				Timelines: []*config.Timeline{tl}})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, rc := range rep.Services[0].Reconciliation {
				got = append(got, rc.ID)
				if rc.ID == "past" && !rc.Detected {
					t.Errorf("past incident not detected: %+v", rc)
				}
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("reconciled %q, want %q", got, tc.want)
			}
		})
	}
}

// TestCreditTiersInReport: the tiers a service's credit is computed from
// are in the report (credit_tiers, in order, first match from the top), so
// that a reader can check credit_percent against availability.
func TestCreditTiersInReport(t *testing.T) {
	for _, tc := range []struct {
		name  string
		tiers []config.Credit
	}{
		{"three tiers", []config.Credit{{Below: 0.95, CreditPercent: 100}, {Below: 0.99, CreditPercent: 25}, {Below: 0.999, CreditPercent: 10}}},
		{"none", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("UTC", time.Minute)
			cfg.Services[0].Credits = tc.tiers
			s := stores()[0].open(t)
			load(t, s, cfg, schedule("seoul-a", hm(10, 0), hm(11, 0), time.Minute, failing("fail:send", [2]int{10, 20})))
			rep, err := Build(context.Background(), Input{Config: cfg, Store: s, From: hm(10, 0), To: hm(11, 0)})
			if err != nil {
				t.Fatal(err)
			}
			b, err := json.Marshal(rep.Services[0])
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				Tiers *[]struct {
					Below         float64 `json:"below"`
					CreditPercent float64 `json:"credit_percent"`
				} `json:"credit_tiers"`
			}
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			if got.Tiers == nil {
				t.Fatalf("no credit_tiers list in %s", b)
			}
			if len(*got.Tiers) != len(tc.tiers) {
				t.Fatalf("credit_tiers = %+v, want %+v", *got.Tiers, tc.tiers)
			}
			for i, c := range tc.tiers {
				if g := (*got.Tiers)[i]; g.Below != c.Below || g.CreditPercent != c.CreditPercent {
					t.Errorf("tier %d = %+v, want %+v", i, g, c)
				}
			}
		})
	}
}

// windowsStoredAndRecomputed loads runs into each of stores() and calls
// check with the windows of the hour from from to hourStart's next hour
// (now its end), as stored and as recomputed.
func windowsStoredAndRecomputed(t *testing.T, cfg *config.Config, runs [][]probe.Run, from time.Time, check func(t *testing.T, recompute bool, ws []Window)) {
	t.Helper()
	for _, st := range stores() {
		t.Run(st.name, func(t *testing.T) {
			s := st.open(t)
			for _, r := range runs {
				load(t, s, cfg, r)
			}
			in := Input{Config: cfg, Store: s, From: from, To: hourStart.Add(time.Hour), Now: hourStart.Add(time.Hour)}
			for _, recompute := range []bool{false, true} {
				in.Recompute = recompute
				ws, err := Windows(context.Background(), in)
				if err != nil {
					t.Fatal(err)
				}
				check(t, recompute, ws)
			}
		})
	}
}
