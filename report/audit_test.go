package report

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
)

// The cases of issue #12 ("Reports that survive an auditor"). Each reads the
// report through its JSON encoding (the public contract), so the same test
// runs against any version of the model.

// want is one expected value at a dotted JSON path of the report
// ("services.0.reconciliation.1.start_delta_seconds"); a path ending in "#"
// is the length of the list there. Numbers compare to 1e-9.
type want struct {
	path  string
	value any
}

type auditCase struct {
	name      string
	cfg       func() *config.Config
	from, to  time.Time
	now       time.Time
	runs      func() []probe.Run
	timelines []*config.Timeline
	want      []want
	golden    bool // also compare the whole report with testdata/audit_NAME.golden
}

// jsonValue returns the value at path in the JSON encoding of v.
func jsonValue(t *testing.T, v any, path string) (any, bool) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var cur any
	if err := json.Unmarshal(b, &cur); err != nil {
		t.Fatal(err)
	}
	length := strings.HasSuffix(path, "#")
	path = strings.TrimSuffix(path, "#")
	for _, part := range strings.Split(path, ".") {
		if part == "" {
			continue
		}
		switch c := cur.(type) {
		case map[string]any:
			x, ok := c[part]
			if !ok {
				return nil, false
			}
			cur = x
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	if length {
		l, ok := cur.([]any)
		if !ok {
			return nil, false
		}
		return float64(len(l)), true
	}
	return cur, true
}

func checkWants(t *testing.T, v any, ws []want) {
	t.Helper()
	for _, w := range ws {
		got, ok := jsonValue(t, v, w.path)
		if !ok && w.value == nil { // an omitted key is null
			continue
		}
		if !ok {
			t.Errorf("%s: missing, want %v", w.path, w.value)
			continue
		}
		exp := w.value
		switch x := exp.(type) {
		case int:
			exp = float64(x)
		case time.Time:
			exp = x.Format(time.RFC3339Nano)
		}
		if gf, ok := got.(float64); ok {
			if ef, ok := exp.(float64); ok && math.Abs(gf-ef) <= 1e-9*math.Max(1, math.Abs(ef)) {
				continue
			}
		}
		if gs, ok := got.(string); ok {
			if es, ok := exp.(string); ok && gs != es {
				// Times: compare instants, not spellings.
				gt, err1 := time.Parse(time.RFC3339Nano, gs)
				et, err2 := time.Parse(time.RFC3339Nano, es)
				if err1 == nil && err2 == nil && gt.Equal(et) && gt.Format("-07:00") == et.Format("-07:00") {
					continue
				}
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(exp) || (got == nil) != (exp == nil) {
			t.Errorf("%s = %v, want %v", w.path, got, exp)
		}
	}
}

// mkFlowRun is mkRun for any flow of testConfig's shape.
func mkFlowRun(flow, loc string, at time.Time, spec string) probe.Run {
	r := mkRun(loc, at, spec)
	r.Flow = flow
	r.ID = flow + "-" + r.ID
	return r
}

// secondFlow adds flow "inbox" (login -> receive) to messaging.
func secondFlow(c *config.Config) {
	f := c.Services[0].Flows[0]
	f.Name = "inbox"
	f.Steps = []config.Step{{Name: "login", Function: "login"}, {Name: "receive", Function: "receive"}}
	c.Services[0].Flows = append(c.Services[0].Flows, f)
}

// inboxRuns are runs of flow inbox from from to to, all passing.
func inboxRuns(from, to time.Time, interval time.Duration) []probe.Run {
	var out []probe.Run
	for t := from; t.Before(to); t = t.Add(interval) {
		r := mkFlowRun("inbox", "seoul-a", t, "ok")
		r.Steps = []probe.StepResult{r.Steps[0], r.Steps[2]}
		out = append(out, r)
	}
	return out
}

// at returns the time of "2006-01-02 15:04" in loc.
func localAt(loc *time.Location, s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		panic(err)
	}
	return t
}

// between is a spec function: what for runs in [a, b), ok otherwise.
func between(from time.Time, what string, spans ...[2]time.Time) func(time.Duration) string {
	return func(off time.Duration) string {
		t := from.Add(off)
		for _, s := range spans {
			if !t.Before(s[0]) && t.Before(s[1]) {
				return what
			}
		}
		return "ok"
	}
}

func incident(id, mode string, fns []string, start, end time.Time) config.Incident {
	return config.Incident{ID: id, Title: id, Service: "messaging", Functions: fns, Start: start, End: end, Mode: mode}
}

func timeline(incs ...config.Incident) []*config.Timeline {
	return []*config.Timeline{{Name: "declared", Incidents: incs}}
}

// loginThenSend: chat's login fails from 10:00 to until, then send fails
// until 11:00; runs every minute from 10:00 to 12:00.
func loginThenSend(until time.Time) func() []probe.Run {
	return func() []probe.Run {
		return schedule("seoul-a", hm(10, 0), hm(12, 0), time.Minute, func(off time.Duration) string {
			switch t := hm(10, 0).Add(off); {
			case t.Before(until):
				return "fail:login"
			case t.Before(hm(11, 0)):
				return "fail:send"
			}
			return "ok"
		})
	}
}

func hm(h, m int) time.Time {
	return hourStart.Add(time.Duration(h-10)*time.Hour + time.Duration(m)*time.Minute)
}

// auditCases are the cases of issue #12, each with the figures the issue
// asks for.
func auditCases() []auditCase {
	santiago, _ := time.LoadLocation("America/Santiago")
	asuncion, _ := time.LoadLocation("America/Asuncion")
	utc := time.UTC
	m := time.Minute
	var cases []auditCase

	// 1. Zones whose clocks jump at local midnight.
	{
		from := localAt(santiago, "2024-09-01 00:00")
		to := localAt(santiago, "2024-10-01 00:00")
		cases = append(cases, auditCase{
			name: "Santiago September 2024", golden: true,
			cfg:  func() *config.Config { return testConfig("America/Santiago", 10*m) },
			from: from, to: to,
			runs: func() []probe.Run {
				out := localAt(santiago, "2024-09-15 00:00")
				return schedule("seoul-a", from, to, 10*m, between(from, "fail:receive", [2]time.Time{out, out.Add(30 * m)}))
			},
			want: []want{
				{"title", "SLA report 2024-09"},
				{"services.0.period_seconds", 719 * 3600},
				{"services.0.daily#", 30},
				{"services.0.daily.6.date", "2024-09-07"},
				{"services.0.daily.7.date", "2024-09-08"},
				{"services.0.daily.29.date", "2024-09-30"},
				{"services.0.daily.13.availability", 1},
				{"services.0.daily.14.date", "2024-09-15"},
				{"services.0.daily.14.availability", 1 - 1800.0/86400},
				{"services.0.availability", 1 - 1800.0/(719*3600)},
			},
		})
	}
	{
		from, to, _ := MonthRange("2023-10", asuncion)
		cases = append(cases, auditCase{
			name: "Asuncion October 2023", golden: true,
			cfg:  func() *config.Config { return testConfig("America/Asuncion", 10*m) },
			from: from, to: to,
			runs: func() []probe.Run {
				// The prober runs from 09-30 to 11-02; receive fails on the
				// first local day, 01:00 to 02:00 (the day has 23 hours).
				start := localAt(asuncion, "2023-09-30 12:00")
				out := localAt(asuncion, "2023-10-01 01:00")
				return schedule("seoul-a", start, localAt(asuncion, "2023-11-02 00:00"), 10*m,
					between(start, "fail:receive", [2]time.Time{out, out.Add(time.Hour)}))
			},
			want: []want{
				{"title", "SLA report 2023-10"},
				{"from", "2023-10-01T01:00:00-03:00"},
				{"to", "2023-11-01T00:00:00-03:00"},
				{"services.0.period_seconds", 743 * 3600},
				{"services.0.daily#", 31},
				{"services.0.daily.0.date", "2023-10-01"},
				{"services.0.daily.0.availability", 1 - 1.0/23},
				{"services.0.daily.30.date", "2023-10-31"},
				{"services.0.downtime_seconds", 3600},
			},
		})
	}
	{
		// The clocks go back at midnight: 2024-04-06 has 25 hours.
		from := localAt(santiago, "2024-04-01 00:00")
		to := localAt(santiago, "2024-05-01 00:00")
		cases = append(cases, auditCase{
			name: "Santiago April 2024", golden: true,
			cfg:  func() *config.Config { return testConfig("America/Santiago", 10*m) },
			from: from, to: to,
			runs: func() []probe.Run {
				out := localAt(santiago, "2024-04-06 12:00")
				return schedule("seoul-a", from, to, 10*m, between(from, "fail:receive", [2]time.Time{out, out.Add(time.Hour)}))
			},
			want: []want{
				{"title", "SLA report 2024-04"},
				{"services.0.period_seconds", 721 * 3600},
				{"services.0.daily#", 30},
				{"services.0.daily.5.date", "2024-04-06"},
				{"services.0.daily.5.availability", 1 - 1.0/25},
				{"services.0.daily.6.date", "2024-04-07"},
				{"services.0.daily.6.availability", 1},
			},
		})
	}

	// 2. One flow without data erases its service's uptime.
	{
		from := time.Date(2026, 3, 1, 0, 0, 0, 0, utc)
		to := from.AddDate(0, 1, 0)
		second := from.AddDate(0, 0, 19)
		down := from.AddDate(0, 0, 8).Add(10 * time.Hour)
		cases = append(cases, auditCase{
			name: "second flow added on the 20th",
			cfg: func() *config.Config {
				c := testConfig("UTC", 10*m)
				secondFlow(c)
				return c
			},
			from: from, to: to,
			runs: func() []probe.Run {
				runs := schedule("seoul-a", from, to, 10*m, between(from, "fail:send", [2]time.Time{down, down.Add(time.Hour)}))
				return append(runs, inboxRuns(second, to, 10*m)...)
			},
			want: []want{
				{"services.0.unknown_seconds", 0},
				{"services.0.downtime_seconds", 3600},
				{"services.0.availability", 1 - 3600.0/(31*86400)},
				{"services.0.daily.0.availability", 1},
				{"services.0.daily.8.availability", 1 - 3600.0/86400},
				{"services.0.daily.9.availability", 1},
				{"services.0.daily.18.availability", 1},
				{"services.0.flows.1.unknown_seconds", 19 * 86400},
				{"services.0.credit_percent", 10},
			},
		})
		dayTo := from.Add(24 * time.Hour)
		cases = append(cases, auditCase{
			name: "a flow with no runs",
			cfg: func() *config.Config {
				c := testConfig("UTC", 10*m)
				secondFlow(c)
				return c
			},
			from: from, to: dayTo,
			runs: func() []probe.Run {
				out := from.Add(10 * time.Hour)
				return schedule("seoul-a", from, dayTo, 10*m, between(from, "fail:send", [2]time.Time{out, out.Add(time.Hour)}))
			},
			want: []want{
				{"services.0.availability", 1 - 1.0/24},
				{"services.0.unknown_seconds", 0},
				{"services.0.credit_percent", 25},
				{"services.0.no_data", false},
				{"services.0.flows.1.availability", nil},
				{"services.0.flows.1.no_data", true},
				{"services.0.flows.1.run_success_ratio", nil},
			},
		})
	}

	// 3. Reconciliation attributes the wrong times.
	recv := []string{"receive"}
	cases = append(cases,
		auditCase{
			name: "outage that began before --from",
			cfg:  func() *config.Config { return testConfig("UTC", m) },
			from: hm(10, 0), to: hm(11, 0),
			runs: func() []probe.Run {
				return schedule("seoul-a", hm(9, 0), hm(11, 0), m, between(hm(9, 0), "fail:receive", [2]time.Time{hm(9, 30), hm(10, 30)}))
			},
			timelines: timeline(incident("before", "error", recv, hm(9, 30), hm(10, 30))),
			want: []want{
				{"services.0.reconciliation.0.detected", true},
				{"services.0.reconciliation.0.measured_start", nil},
				{"services.0.reconciliation.0.start_delta_seconds", nil},
				{"services.0.reconciliation.0.end_delta_seconds", 0},
				{"services.0.windows.0.start", hm(10, 0)},
				{"services.0.windows.0.start_cut", "period"},
				{"services.0.incident_list.0.start_cut", "period"},
			},
		},
		auditCase{
			name: "outage that goes on after --to",
			cfg:  func() *config.Config { return testConfig("UTC", m) },
			from: hm(10, 0), to: hm(11, 0),
			runs: func() []probe.Run {
				return schedule("seoul-a", hm(10, 0), hm(12, 0), m, between(hm(10, 0), "fail:receive", [2]time.Time{hm(10, 30), hm(11, 30)}))
			},
			timelines: timeline(incident("after", "error", recv, hm(10, 30), hm(11, 30))),
			want: []want{
				{"services.0.reconciliation.0.detected", true},
				{"services.0.reconciliation.0.start_delta_seconds", 0},
				{"services.0.reconciliation.0.measured_end", nil},
				{"services.0.reconciliation.0.end_delta_seconds", nil},
				{"services.0.windows.0.end", nil},
				{"services.0.windows.0.end_cut", "period"},
				{"services.0.windows.0.duration_seconds", 1800},
				{"windows.0.end", nil},
				{"services.0.incident_list.0.end", nil},
				{"services.0.downtime_seconds", 1800},
			},
		},
		auditCase{
			name: "prober stopped mid-outage",
			cfg:  func() *config.Config { return testConfig("UTC", m) },
			from: hm(10, 0), to: hm(14, 0),
			runs: func() []probe.Run {
				return schedule("seoul-a", hm(10, 0), hm(14, 0), m, func(off time.Duration) string {
					switch t := hm(10, 0).Add(off); {
					case !t.Before(hm(10, 30)) && t.Before(hm(13, 30)):
						return "" // the prober is down
					case !t.Before(hm(10, 10)) && t.Before(hm(10, 30)):
						return "fail:receive"
					}
					return "ok"
				})
			},
			timelines: timeline(incident("stopped", "error", recv, hm(10, 10), hm(13, 0))),
			want: []want{
				{"services.0.reconciliation.0.detected", true},
				{"services.0.reconciliation.0.start_delta_seconds", 0},
				{"services.0.reconciliation.0.measured_end", nil},
				{"services.0.reconciliation.0.end_delta_seconds", nil},
				{"services.0.windows.0.end_cut", "no_data"},
				{"services.0.unknown_seconds", 3 * 3600},
			},
		},
		auditCase{
			// login fails 10:00-10:40 (declared apart), then send itself
			// fails 10:40-11:00; send was declared down from 10:30.
			name: "function blocked by an earlier failure",
			cfg:  func() *config.Config { return testConfig("UTC", m) },
			from: hm(10, 0), to: hm(12, 0),
			runs: loginThenSend(hm(10, 40)),
			timelines: timeline(
				incident("login", "down", []string{"login"}, hm(10, 0), hm(10, 40)),
				incident("send", "error", []string{"send"}, hm(10, 30), hm(11, 0)),
			),
			want: []want{
				{"services.0.reconciliation.0.start_delta_seconds", 0},
				{"services.0.reconciliation.0.end_delta_seconds", 0},
				// send's own failure was hidden by login's until 10:40:
				// its start cannot be measured.
				{"services.0.reconciliation.1.detected", true},
				{"services.0.reconciliation.1.measured_start", nil},
				{"services.0.reconciliation.1.start_delta_seconds", nil},
				{"services.0.reconciliation.1.start_cut", "blocked"},
				{"services.0.reconciliation.1.end_delta_seconds", 0},
			},
		},
		auditCase{
			// login fails 10:00-10:30, send itself from 10:30, as declared.
			name: "function blocked until its own incident began",
			cfg:  func() *config.Config { return testConfig("UTC", m) },
			from: hm(10, 0), to: hm(12, 0),
			runs:      loginThenSend(hm(10, 30)),
			timelines: timeline(incident("send", "error", []string{"send"}, hm(10, 30), hm(11, 0))),
			want: []want{
				{"services.0.reconciliation.0.detected", true},
				{"services.0.reconciliation.0.measured_start", hm(10, 30)},
				{"services.0.reconciliation.0.start_delta_seconds", 0},
				{"services.0.reconciliation.0.start_cut", "blocked"},
				{"services.0.reconciliation.0.end_delta_seconds", 0},
			},
		},
		auditCase{
			// login and send fail together from 10:00 (as in the 2022
			// fire): send's incident, declared from 10:00, is measured from
			// 10:00 although login's failure blocked send.
			name: "function blocked while its own incident was declared",
			cfg:  func() *config.Config { return testConfig("UTC", m) },
			from: hm(10, 0), to: hm(12, 0),
			runs: loginThenSend(hm(10, 30)),
			timelines: timeline(
				incident("login", "down", []string{"login"}, hm(10, 0), hm(10, 30)),
				incident("send", "error", []string{"send"}, hm(10, 0), hm(11, 0)),
			),
			want: []want{
				{"services.0.reconciliation.1.measured_start", hm(10, 0)},
				{"services.0.reconciliation.1.start_delta_seconds", 0},
				{"services.0.reconciliation.1.start_cut", nil},
				{"services.0.reconciliation.1.end_delta_seconds", 0},
			},
		},
		auditCase{
			// Two declared incidents overlap on one function; the prober
			// sees one window across both. Each was measured: the
			// window goes to b (it overlaps it more), and a, whose
			// whole declared time it covers, shares it.
			name: "overlapping declared incidents on one function",
			cfg:  func() *config.Config { return testConfig("UTC", m) },
			from: hm(10, 0), to: hm(12, 0),
			runs: func() []probe.Run {
				return schedule("seoul-a", hm(10, 0), hm(12, 0), m, between(hm(10, 0), "fail:receive", [2]time.Time{hm(10, 0), hm(11, 30)}))
			},
			timelines: timeline(
				incident("a", "error", recv, hm(10, 0), hm(11, 0)),
				incident("b", "error", recv, hm(10, 20), hm(11, 30)),
			),
			want: []want{
				{"services.0.reconciliation.0.id", "a"},
				{"services.0.reconciliation.0.detected", true},
				{"services.0.reconciliation.0.measured_start", hm(10, 0)},
				{"services.0.reconciliation.0.start_delta_seconds", 0},
				{"services.0.reconciliation.0.measured_end", hm(11, 30)},
				{"services.0.reconciliation.0.end_delta_seconds", 1800},
				{"services.0.reconciliation.0.windows#", 2},
				{"services.0.reconciliation.1.detected", true},
				{"services.0.reconciliation.1.start_delta_seconds", -1200},
				{"services.0.reconciliation.1.end_delta_seconds", 0},
				{"services.0.undeclared#", 0},
			},
		},
		auditCase{
			// The incident was declared over at 10:00, the period's start;
			// the prober saw the function back at 10:01. That last minute
			// is the incident's tail, not an undeclared outage.
			name: "declared incident that ended as the period began",
			cfg:  func() *config.Config { return testConfig("UTC", m) },
			from: hm(10, 0), to: hm(11, 0),
			runs: func() []probe.Run {
				return schedule("seoul-a", hm(9, 0), hm(11, 0), m, between(hm(9, 0), "fail:receive", [2]time.Time{hm(9, 30), hm(10, 1)}))
			},
			timelines: timeline(incident("before", "error", recv, hm(9, 30), hm(10, 0))),
			want: []want{
				{"services.0.downtime_seconds", 60},
				{"services.0.windows.0.start_cut", "period"},
				{"services.0.reconciliation#", 0},
				{"services.0.undeclared#", 0},
			},
		},
		auditCase{
			// The provider declared the incident from 11:00, the period's
			// end; the prober saw it from 10:59.
			name: "declared incident that began as the period ended",
			cfg:  func() *config.Config { return testConfig("UTC", m) },
			from: hm(10, 0), to: hm(11, 0),
			runs: func() []probe.Run {
				return schedule("seoul-a", hm(10, 0), hm(12, 0), m, between(hm(10, 0), "fail:receive", [2]time.Time{hm(10, 59), hm(11, 30)}))
			},
			timelines: timeline(incident("after", "error", recv, hm(11, 0), hm(11, 30))),
			want: []want{
				{"services.0.downtime_seconds", 60},
				{"services.0.reconciliation#", 0},
				{"services.0.undeclared#", 0},
			},
		},
		auditCase{
			name: "two declared incidents on one function",
			cfg:  func() *config.Config { return testConfig("UTC", m) },
			from: hm(10, 0), to: hm(12, 0),
			runs: func() []probe.Run {
				return schedule("seoul-a", hm(10, 0), hm(12, 0), m, func(off time.Duration) string {
					switch t := hm(10, 0).Add(off); {
					case t.Before(hm(10, 30)):
						return "fail:receive"
					case t.Before(hm(11, 0)):
						return "slow:receive"
					}
					return "ok"
				})
			},
			timelines: timeline(
				incident("down", "error", recv, hm(10, 0), hm(10, 30)),
				incident("slow", "slow", recv, hm(10, 30), hm(11, 0)),
			),
			want: []want{
				{"services.0.reconciliation.0.start_delta_seconds", 0},
				{"services.0.reconciliation.0.end_delta_seconds", 0},
				{"services.0.reconciliation.1.detected", true},
				{"services.0.reconciliation.1.measured_start", hm(10, 30)},
				{"services.0.reconciliation.1.start_delta_seconds", 0},
				{"services.0.reconciliation.1.end_delta_seconds", 0},
			},
		},
		auditCase{
			name: "declared slow incident with a degraded window",
			cfg:  func() *config.Config { return testConfig("UTC", m) },
			from: hm(10, 0), to: hm(11, 0),
			runs: func() []probe.Run {
				return schedule("seoul-a", hm(10, 0), hm(11, 0), m, between(hm(10, 0), "slow:receive", [2]time.Time{hm(10, 10), hm(10, 40)}))
			},
			timelines: timeline(incident("slow", "slow", recv, hm(10, 10), hm(10, 40))),
			want: []want{
				{"services.0.reconciliation.0.detected", true},
				{"services.0.reconciliation.0.start_delta_seconds", 0},
				{"services.0.reconciliation.0.end_delta_seconds", 0},
				{"services.0.undeclared#", 0},
			},
		},
		auditCase{
			name: "degraded counted as down is an incident",
			cfg: func() *config.Config {
				c := testConfig("UTC", m)
				c.Policy.Degraded = "down"
				return c
			},
			from: hm(10, 0), to: hm(11, 0),
			runs: func() []probe.Run {
				return schedule("seoul-a", hm(10, 0), hm(11, 0), m, between(hm(10, 0), "slow:receive", [2]time.Time{hm(10, 10), hm(10, 40)}))
			},
			want: []want{
				{"services.0.availability", 0.5},
				{"services.0.incidents", 1},
				{"services.0.mttr_seconds", 1800},
				{"services.0.mtbf_seconds", 1800},
				{"services.0.undeclared#", 2},
				{"services.0.undeclared.0.kind", "degraded"},
			},
		},
		auditCase{
			name: "degraded counted as down reconciled with a slow incident",
			cfg: func() *config.Config {
				c := testConfig("UTC", m)
				c.Policy.Degraded = "down"
				return c
			},
			from: hm(10, 0), to: hm(11, 0),
			runs: func() []probe.Run {
				return schedule("seoul-a", hm(10, 0), hm(11, 0), m, between(hm(10, 0), "slow:receive", [2]time.Time{hm(10, 10), hm(10, 40)}))
			},
			timelines: timeline(incident("slow", "slow", recv, hm(10, 10), hm(10, 40))),
			want: []want{
				{"services.0.reconciliation.0.detected", true},
				{"services.0.reconciliation.0.start_delta_seconds", 0},
				{"services.0.undeclared#", 0},
			},
		},
	)

	// 4. MTTD and maintenance inside an outage.
	cases = append(cases,
		auditCase{
			name: "MTTD leaves out incidents without a detection time",
			cfg:  func() *config.Config { return testConfig("UTC", m) },
			from: hm(10, 0), to: hm(11, 0),
			runs: func() []probe.Run {
				return schedule("seoul-a", hm(9, 0), hm(11, 0), m, between(hm(9, 0), "fail:send",
					[2]time.Time{hm(9, 50), hm(10, 5)}, [2]time.Time{hm(10, 30), hm(10, 35)}))
			},
			want: []want{
				{"services.0.incidents", 2},
				{"services.0.mttd_seconds", 60.3}, // confirmed 10:31, known when that 0.3 s run ended
			},
		},
		auditCase{
			name: "maintenance inside an outage",
			cfg: func() *config.Config {
				c := testConfig("UTC", m)
				c.Maintenance = []config.Maintenance{{Service: "messaging", Start: hm(10, 20), End: hm(10, 30), Reason: "upgrade"}}
				return c
			},
			from: hm(10, 0), to: hm(11, 0),
			runs: func() []probe.Run {
				return schedule("seoul-a", hm(10, 0), hm(11, 0), m, between(hm(10, 0), "fail:send", [2]time.Time{hm(10, 10), hm(10, 50)}))
			},
			want: []want{
				{"services.0.downtime_seconds", 1800},
				{"services.0.incidents", 1},
				{"services.0.incident_list.0.parts", 2},
				{"services.0.mttr_seconds", 1800},
				{"services.0.mtbf_seconds", 1200},
				{"services.0.longest_outage_seconds", 1800},
			},
		},
	)

	// 5. No data, and no incidents.
	cases = append(cases,
		auditCase{
			name: "service without data",
			cfg:  func() *config.Config { return testConfig("UTC", m) },
			from: hm(10, 0), to: hm(11, 0),
			runs: func() []probe.Run { return nil },
			want: []want{
				{"services.0.availability", nil},
				{"services.0.no_data", true},
				{"services.0.credit_percent", nil},
				{"services.0.run_success_ratio", nil},
				{"services.0.mtbf_seconds", nil},
				{"services.0.unknown_seconds", 3600},
				{"services.0.daily.0.availability", nil},
				// No step was timed: no latency, never 0 ms.
				{"services.0.p50", nil},
				{"services.0.p95", nil},
				{"services.0.p99", nil},
				{"services.0.steps.0.count", 0},
				{"services.0.steps.0.p50", nil},
				{"services.0.steps.0.p99", nil},
			},
		},
		auditCase{
			name: "no incidents",
			cfg:  func() *config.Config { return testConfig("UTC", m) },
			from: hm(10, 0), to: hm(11, 0),
			runs: func() []probe.Run { return schedule("seoul-a", hm(10, 0), hm(11, 0), m, failing("ok")) },
			want: []want{
				{"services.0.availability", 1},
				{"services.0.no_data", false},
				{"services.0.incidents", 0},
				{"services.0.mttr_seconds", nil},
				{"services.0.mtbf_seconds", nil},
				{"services.0.mttd_seconds", nil},
				{"services.0.longest_outage_seconds", nil},
				{"services.0.average_outage_seconds", nil},
			},
		},
	)

	// 6. Minor: merged maintenance keeps every reason.
	cases = append(cases, auditCase{
		name: "overlapping maintenance keeps both reasons",
		cfg: func() *config.Config {
			c := testConfig("UTC", m)
			c.Maintenance = []config.Maintenance{
				{Service: "messaging", Start: hm(10, 10), End: hm(10, 30), Reason: "database upgrade"},
				{Service: "*", Start: hm(10, 20), End: hm(10, 40), Reason: "network work"},
			}
			return c
		},
		from: hm(10, 0), to: hm(11, 0),
		runs: func() []probe.Run { return schedule("seoul-a", hm(10, 0), hm(11, 0), m, failing("ok")) },
		want: []want{
			{"services.0.maintenance#", 1},
			{"services.0.maintenance.0.reason", "database upgrade; network work"},
			{"services.0.maintenance_seconds", 1800},
		},
	})

	// 7. The first run there is (the prober's first start, a replay whose
	// --from falls inside a declared outage) fails: the outage began at an
	// unknown time before it. The window starts at that run but its start
	// is not a measured edge, however short the time from the period start
	// to the first run. It was taken as measured: start_delta_seconds 1830
	// in the reconciliation, an MTTD, and no start_cut, while
	// start_uncertainty_seconds was already null.
	first := hm(10, 0).Add(30 * time.Second)
	cases = append(cases, auditCase{
		name: "outage under way at the first run",
		cfg:  func() *config.Config { return testConfig("UTC", m) },
		from: hm(10, 0), to: hm(11, 0),
		runs: func() []probe.Run {
			return schedule("seoul-a", first, hm(11, 0), m, between(first, "fail:receive", [2]time.Time{first, hm(10, 30)}))
		},
		timelines: timeline(incident("under-way", "error", recv, hm(9, 30), hm(10, 30))),
		want: []want{
			{"services.0.windows.0.start", first},
			{"services.0.windows.0.start_cut", "no_data"},
			{"services.0.windows.0.start_uncertainty_seconds", nil},
			{"services.0.downtime_seconds", 1800},
			{"services.0.reconciliation.0.detected", true},
			{"services.0.reconciliation.0.measured_start", nil},
			{"services.0.reconciliation.0.start_delta_seconds", nil},
			{"services.0.reconciliation.0.start_cut", "no_data"},
			{"services.0.reconciliation.0.end_delta_seconds", 30},
			{"services.0.incident_list.0.start_cut", "no_data"},
			{"services.0.mttd_seconds", nil},
		},
	}, auditCase{
		// The same failing run with one passing run before it: a measured
		// start, as before.
		name: "outage that began after the first run",
		cfg:  func() *config.Config { return testConfig("UTC", m) },
		from: hm(10, 0), to: hm(11, 0),
		runs: func() []probe.Run {
			return schedule("seoul-a", first.Add(-m), hm(11, 0), m, between(first.Add(-m), "fail:receive", [2]time.Time{first, hm(10, 30)}))
		},
		timelines: timeline(incident("after-first", "error", recv, hm(9, 30), hm(10, 30))),
		want: []want{
			{"services.0.windows.0.start", first},
			{"services.0.windows.0.start_cut", nil},
			{"services.0.windows.0.start_uncertainty_seconds", 60},
			{"services.0.reconciliation.0.measured_start", first},
			{"services.0.reconciliation.0.start_cut", nil},
		},
	})
	return cases
}

func TestAudit(t *testing.T) {
	for _, st := range stores() {
		t.Run(st.name, func(t *testing.T) {
			for _, tc := range auditCases() {
				t.Run(tc.name, func(t *testing.T) {
					cfg := tc.cfg()
					s := st.open(t)
					load(t, s, cfg, tc.runs())
					tls := tc.timelines
					if tls == nil {
						tls = []*config.Timeline{}
					}
					in := Input{Config: cfg, Store: s, From: tc.from, To: tc.to, Timelines: tls, Now: tc.now}
					rep, err := Build(context.Background(), in)
					if err != nil {
						t.Fatal(err)
					}
					checkWants(t, rep, tc.want)
					// The windows listing is the report's.
					ws, err := Windows(context.Background(), in)
					if err != nil {
						t.Fatal(err)
					}
					if a, b := jsonOf(t, ws), jsonOf(t, rep.Windows); a != b {
						t.Errorf("windows listing differs from the report's:\n%s\n%s", a, b)
					}
					if tc.golden && st.name == "sqlite" {
						golden(t, filepath.Join("testdata", "audit_"+strings.ReplaceAll(tc.name, " ", "_")+".golden"), rep)
					}
				})
			}
		})
	}
}
