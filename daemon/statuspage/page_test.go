package statuspage

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/daemon"
	"github.com/slaprobe/slaprobe/report"
	"github.com/slaprobe/slaprobe/store"
	"github.com/slaprobe/slaprobe/store/storetest"
)

// genConfig matches storetest.Generate's names: flows flows of steps steps,
// ten flows per service.
func genConfig(flows, steps int, interval time.Duration) *config.Config {
	cfg := &config.Config{
		Location: "seoul-a", Timezone: "UTC", Loc: time.UTC,
		Policy: config.Policy{Unknown: "exclude", Degraded: "up", Quorum: config.Quorum{Mode: "majority"}, FlapGap: 5 * time.Minute},
		Status: config.Status{Refresh: 30 * time.Second},
	}
	for i := 0; i < flows; i++ {
		if i%10 == 0 {
			cfg.Services = append(cfg.Services, config.Service{Name: storetest.ServiceName(i), Objective: 0.999})
		}
		s := &cfg.Services[len(cfg.Services)-1]
		f := config.Flow{Name: storetest.FlowName(i), Service: s.Name, Interval: interval, DownAfter: 2, UpAfter: 1}
		for j := 0; j < steps; j++ {
			f.Steps = append(f.Steps, config.Step{Name: storetest.StepName(j), Function: storetest.StepName(j)})
		}
		s.Flows = append(s.Flows, f)
	}
	return cfg
}

// liveDown is a daemon status in which flow-000's receive is down with an
// error that names a URL: what the public page must not show.
func liveDown(cfg *config.Config, now time.Time) daemon.Status {
	st := daemon.Status{Location: cfg.Location, Time: now}
	for _, s := range cfg.Services {
		for _, f := range s.Flows {
			fs := daemon.FlowStatus{Flow: f.Name, Service: s.Name, Location: cfg.Location, State: "up", OpenWindows: []daemon.WindowStatus{}}
			for _, fn := range f.Functions() {
				state := "up"
				if f.Name == "flow-000" && fn == "receive" {
					state = "down"
					fnc := fn
					fs.OpenWindows = append(fs.OpenWindows, daemon.WindowStatus{Function: &fnc, Kind: "down", Start: now.Add(-3 * time.Minute),
						CauseStep: "step-receive", Error: "GET http://secret-host.internal/inbox: status 503"})
				}
				fs.Functions = append(fs.Functions, daemon.FunctionStatus{Function: fn, State: state})
			}
			st.Flows = append(st.Flows, fs)
		}
	}
	return st
}

// generatedMonth is a SQLite store of 20 flows of 3 steps probed every 10
// minutes for 30 days from 2026-03-10, with 3 one-hour outages, their
// config, and the end of those 30 days.
func generatedMonth(t *testing.T) (*store.SQLite, *config.Config, time.Time) {
	t.Helper()
	ctx := context.Background()
	start := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	s := tempStore(t)
	if err := storetest.Generate(ctx, s, storetest.Gen{Flows: 20, Steps: 3, Days: 30, Interval: 10 * time.Minute, Start: start,
		Outages: 3, OutageLength: time.Hour}); err != nil {
		t.Fatal(err)
	}
	return s, genConfig(20, 3, 10*time.Minute), start.Add(30 * 24 * time.Hour)
}

func TestPage(t *testing.T) {
	ctx := context.Background()
	s, cfg, now := generatedMonth(t)
	archiveDir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(archiveDir, "2026-03"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(archiveDir, "2026-03", "report.pdf"), []byte("%PDF-1.4 test"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := New(cfg, Options{Store: s, Clock: clock.NewManual(now),
		Live: func() daemon.Status { return liveDown(cfg, now) },
		Archive: func() ([]ArchiveMonth, error) {
			return []ArchiveMonth{{Month: "2026-03", Version: 2, Files: []ArchiveFile{{"report.pdf", "2026-03/report.pdf"}}}}, nil
		},
		ArchiveDir: archiveDir})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	get := func(h http.Handler, path string) (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		return rec.Code, rec.Body.String()
	}
	internal, public := p.Handler(false), p.Handler(true)

	code, body := get(internal, "/")
	if d := os.Getenv("OPS_DUMP"); d != "" {
		os.WriteFile(d, []byte(body), 0o644) //nolint:errcheck
	}
	if code != 200 {
		t.Fatalf("GET / = %d", code)
	}
	for _, want := range []string{
		"service-00", "service-01", "<th scope=row>receive<", "✕ down", // state in a symbol and a word
		"step-receive", "secret-host.internal", "flow-000", "seoul-a", // internal: cause, error, flow, location
		`href="/reports/2026-03/report.pdf"`, "version 2", "Recent incidents",
		`data-n="90"`, "<title>", `class="timeline"`, "Latest incident", ", cause ", `<noscript><meta http-equiv="refresh" content="30"></noscript>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("internal page lacks %q", want)
		}
	}
	if strings.Count(body, `<svg class=bars`) != 2*3 {
		t.Errorf("%d bar charts, want one per service function (6)", strings.Count(body, `<svg class=bars`))
	}
	for _, bad := range []string{"https://", "http://fonts", "<link rel=\"stylesheet\"", "<script src"} {
		if strings.Contains(body, bad) {
			t.Errorf("page loads something from outside: %q", bad)
		}
	}

	code, pub := get(public, "/")
	pub = strings.ReplaceAll(pub, `xmlns="http://www.w3.org/2000/svg"`, "") // a namespace, not a link
	if code != 200 {
		t.Fatalf("public GET / = %d", code)
	}
	for _, want := range []string{"service-00", "<th scope=row>receive<", "✕ down", "Open windows", `class="timeline"`} {
		if !strings.Contains(pub, want) {
			t.Errorf("public page lacks %q", want)
		}
	}
	for _, bad := range []string{"step-receive", "secret-host", "http://", "flow-0", "seoul-a", "/reports/", "status 503", ", cause "} {
		if strings.Contains(pub, bad) {
			t.Errorf("public page shows %q", bad)
		}
	}
	if code, _ := get(public, "/reports/2026-03/report.pdf"); code != 404 {
		t.Errorf("public /reports/ = %d, want 404", code)
	}
	if code, _ := get(public, "/metrics"); code != 404 {
		t.Errorf("public /metrics = %d, want 404", code)
	}
	if code, body := get(internal, "/reports/2026-03/report.pdf"); code != 200 || !strings.HasPrefix(body, "%PDF") {
		t.Errorf("internal /reports/2026-03/report.pdf = %d %q", code, body)
	}
	if code, _ := get(internal, "/reports/2026-03/"); code != 404 {
		t.Errorf("archive directory listing = %d, want 404", code)
	}
	code, part := get(internal, "/?partial=1")
	if code != 200 || strings.Contains(part, "<html") || !strings.Contains(part, `id="svc-service-00"`) {
		t.Errorf("partial: %d, %.200q", code, part)
	}
}

// TestPctFloorNeverRoundsUpToAThreshold: the page prints availability as
// the reports do (render.Availability). Before the review it added 1e-9
// before flooring, so 0.9989999999999999 (below a 99.9% objective) printed
// as 99.900%, and it always printed three decimals, so 0.9999951 against
// 99.9995% (met) printed as 99.999%.
func TestPctFloorNeverRoundsUpToAThreshold(t *testing.T) {
	for _, tc := range []struct {
		in, objective float64
		want          string
	}{
		{0.9989997, 0.999, "99.899%"}, {0.999, 0.999, "99.900%"}, {1, 0.999, "100.000%"}, {0.9899975, 0.999, "98.999%"}, {0, 0.999, "0.000%"},
		{0.9989999999999999, 0.999, "99.899%"}, {0.998999999999995, 0.999, "99.899%"}, {0.9899999999999997, 0.99, "98.999%"},
		{0.9999951, 0.999995, "99.9995%"}, {0.9999949, 0.999995, "99.9994%"},
	} {
		got := statusView(t, tc.in, tc.objective)
		if want := strings.Repeat(">"+tc.want+"<", 3); got != want {
			t.Errorf("availability %v against %v: service, function and day show %s, want %s", tc.in, tc.objective, got, want)
		}
	}
	for _, tc := range []struct {
		in   float64
		want string
	}{{14399, "3h59m59s"}, {59, "59s"}, {86400*3 + 3600*4 + 61, "3d4h"}, {0, "0s"}} {
		if got := dur(tc.in); got != tc.want {
			t.Errorf("dur(%v) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// statusView builds the page's view of a month in which service-000 (and
// its function step-0, and its first day) measured availability v against
// objective, and returns those figures as ">FIG<" each.
func statusView(t *testing.T, v, objective float64) string {
	t.Helper()
	cfg := genConfig(1, 1, time.Minute)
	cfg.Services[0].Objective = objective
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	fa := report.FunctionAccount{Name: storetest.StepName(0), Availability: &v, Windows: []int{},
		Daily: []report.FunctionDay{{Date: "2026-03-01", Availability: &v, DowntimeSeconds: 1}}}
	month := &report.Report{From: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), Timezone: "UTC",
		Services: []report.Service{{Name: cfg.Services[0].Name, Objective: objective, Availability: &v, Runs: 100, Functions: []report.FunctionAccount{fa}}}}
	vw := build(cfg, &snapshot{month: month, built: now}, nil, false, nil, now, "", time.Minute)
	s := vw.Services[0]
	out := ">" + s.Availability + "<>" + s.Functions[0].Availability + "<"
	title := dayTitle("2026-03-01", &fa.Daily[0], &month.Services[0], &fa, nil, false, time.UTC)
	return out + ">" + strings.Fields(title)[1] + "<"
}

// TestTrimmedReportsRenderTheSamePage: the page keeps of each report only
// what it shows (trim), and builds them without latencies; both pages, whole
// and partial, are the same as from the whole reports.
func TestTrimmedReportsRenderTheSamePage(t *testing.T) {
	ctx := context.Background()
	s, cfg, now := generatedMonth(t)
	rec := &storetest.Recorder{Store: s}
	p, err := New(cfg, Options{Store: rec, Clock: clock.NewManual(now), Live: func() daemon.Status { return liveDown(cfg, now) }})
	if err != nil {
		t.Fatal(err)
	}
	// The page shows no latency: its builds read run counts alone.
	if err := p.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if qs := rec.TotalsQueries(); len(qs) == 0 || slices.ContainsFunc(qs, func(q store.Query) bool { return !q.RunsOnly }) {
		t.Errorf("Totals asked %+v, want every query RunsOnly", qs)
	}
	first, month, monthEnd := bounds(now, time.UTC)
	whole := func(noLatency bool) *snapshot {
		m, err := report.Build(ctx, report.Input{Config: cfg, Store: s, From: month, To: monthEnd, Now: now, Functions: true, NoLatency: noLatency})
		if err != nil {
			t.Fatal(err)
		}
		h, err := report.Build(ctx, report.Input{Config: cfg, Store: s, From: first, To: month, Functions: true, NoLatency: noLatency})
		if err != nil {
			t.Fatal(err)
		}
		return &snapshot{month: m, history: h, built: now}
	}
	full, trimmed := whole(false), whole(true)
	trim(trimmed.month)
	trim(trimmed.history)
	var flows, steps int
	for _, r := range []*report.Report{full.month, full.history} {
		for _, sv := range r.Services {
			flows, steps = flows+len(sv.Flows), steps+len(sv.Steps)
		}
	}
	for _, r := range []*report.Report{trimmed.month, trimmed.history} {
		for _, sv := range r.Services {
			steps -= len(sv.Steps)
			if sv.Flows != nil || sv.Unknown != nil {
				t.Errorf("%s: trimmed report keeps %d flows, %d unknown stretches", sv.Name, len(sv.Flows), len(sv.Unknown))
			}
		}
	}
	if flows == 0 || steps <= 0 {
		t.Fatalf("whole reports: %d flows, %d more steps than trimmed: nothing to trim", flows, steps)
	}
	render := func(snap *snapshot, public, partial bool) string {
		p.mu.Lock()
		p.snap = snap
		p.mu.Unlock()
		var b bytes.Buffer
		if err := p.Render(&b, public, partial); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	for _, public := range []bool{false, true} {
		for _, partial := range []bool{false, true} {
			want, got := render(full, public, partial), render(trimmed, public, partial)
			if !strings.Contains(want, `class="timeline"`) {
				t.Fatalf("public %v partial %v: no incident timeline to compare", public, partial)
			}
			if got != want {
				t.Errorf("public %v partial %v: the page from trimmed reports differs (%d bytes, want %d)", public, partial, len(got), len(want))
			}
		}
	}
}

// TestDayTitleOnDSTDay: a day bar's tooltip gives its windows' times with
// their zone on a day the clocks change, where a local time can occur twice
// (01:30 EDT to 01:30 EST is an hour, not no time); other days keep the bare
// times.
func TestDayTitleOnDSTDay(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		date       string
		start, end time.Time
		want       string
	}{
		{"2026-11-01", time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC), time.Date(2026, 11, 1, 6, 30, 0, 0, time.UTC), "01:30 EDT–01:30 EST receive"},
		{"2026-03-08", time.Date(2026, 3, 8, 6, 30, 0, 0, time.UTC), time.Date(2026, 3, 8, 7, 30, 0, 0, time.UTC), "01:30 EST–03:30 EDT receive"},
		{"2026-11-02", time.Date(2026, 11, 2, 15, 0, 0, 0, time.UTC), time.Date(2026, 11, 2, 16, 0, 0, 0, time.UTC), "10:00–11:00 receive"},
	}
	for _, tc := range tests {
		t.Run(tc.date, func(t *testing.T) {
			v := 0.95
			fn := "receive"
			w := report.Window{Service: "svc", Flow: "f", Function: &fn, Kind: "down", Start: tc.start, End: &tc.end, CauseStep: "receive"}
			fa := report.FunctionAccount{Name: fn, Availability: &v, Windows: []int{0},
				Daily: []report.FunctionDay{{Date: tc.date, Availability: &v, DowntimeSeconds: 3600}}}
			s := report.Service{Name: "svc", Objective: 0.999, Windows: []report.Window{w}}
			got := dayTitle(tc.date, &fa.Daily[0], &s, &fa, nil, false, ny)
			if !strings.Contains(got, "\n"+tc.want) {
				t.Errorf("title %q, want a line %q", got, tc.want)
			}
		})
	}
}

// tempStore is an empty SQLite store in the test's temporary directory,
// closed when the test ends.
func tempStore(t *testing.T) *store.SQLite {
	t.Helper()
	s, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "r.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
