package statuspage

import (
	"context"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/daemon"
	"github.com/slaprobe/slaprobe/internal/pgtest"
	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/report"
	"github.com/slaprobe/slaprobe/state"
	"github.com/slaprobe/slaprobe/store"
)

// fleetConfig is one prober's config of a fleet: messaging's chat flow
// (login, send, receive) every minute, quorum majority.
func fleetConfig(location string) *config.Config {
	return &config.Config{
		Location: location, Timezone: "UTC", Loc: time.UTC,
		Policy: config.Policy{Unknown: "exclude", Degraded: "up", Quorum: config.Quorum{Mode: "majority"}, FlapGap: 5 * time.Minute},
		Status: config.Status{Refresh: 30 * time.Second},
		Services: []config.Service{{Name: "messaging", Objective: 0.999, Flows: []config.Flow{{
			Name: "chat", Service: "messaging", Interval: time.Minute, DownAfter: 2, UpAfter: 1,
			Steps: []config.Step{{Name: "login", Function: "login"}, {Name: "send", Function: "send"}, {Name: "receive", Function: "receive"}},
		}}}},
	}
}

// fleetRun is a run of chat at loc: ok, or failing at login (the rest not run).
func fleetRun(loc string, at time.Time, ok bool) probe.Run {
	steps := []probe.StepResult{
		{Step: "login", Function: "login", Status: probe.StatusOK, Duration: 100 * time.Millisecond},
		{Step: "send", Function: "send", Status: probe.StatusOK, Duration: 100 * time.Millisecond},
		{Step: "receive", Function: "receive", Status: probe.StatusOK, Duration: 100 * time.Millisecond},
	}
	if !ok {
		steps[0].Status, steps[0].Error = probe.StatusFailed, "POST http://login.internal/login: status 503"
		steps[1].Status, steps[1].Duration = probe.StatusNotRun, 0
		steps[2].Status, steps[2].Duration = probe.StatusNotRun, 0
	}
	return probe.Run{ID: loc + at.UTC().Format("20060102T150405"), Flow: "chat", Service: "messaging", Location: loc,
		Start: at, Duration: 300 * time.Millisecond, Steps: steps}
}

// proberPage loads into s the runs of chat at loc every minute for n
// minutes from from, failing from minute downFrom on (-1: never), and the
// events of its state machine, and returns its page at from+n minutes.
func proberPage(t *testing.T, s store.Store, loc string, from time.Time, n, downFrom int) *Page {
	t.Helper()
	ctx := context.Background()
	now := from.Add(time.Duration(n) * time.Minute)
	cfg := fleetConfig(loc)
	m := state.New("messaging", "chat", loc, cfg.Services[0].Flows[0].Functions(), state.Policy{Interval: time.Minute, DownAfter: 2, UpAfter: 1})
	var runs []probe.Run
	var evs []state.Event
	for i := 0; i < n; i++ {
		r := fleetRun(loc, from.Add(time.Duration(i)*time.Minute), downFrom < 0 || i < downFrom)
		runs = append(runs, r)
		evs = append(evs, m.Observe(&r)...)
	}
	if err := s.AppendRuns(ctx, runs); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	live := liveOf(cfg, m, now)
	p, err := New(cfg, Options{Store: s, Clock: clock.NewManual(now), Live: func() daemon.Status { return live }})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// liveOf is what Daemon.Status says of m: its state and open windows,
// with the bounds of their starts.
func liveOf(cfg *config.Config, m *state.Machine, now time.Time) daemon.Status {
	fs := daemon.FlowStatus{Flow: "chat", Service: "messaging", Location: cfg.Location, IntervalSeconds: 60,
		State: string(m.State()), OpenWindows: []daemon.WindowStatus{}}
	for fn, st := range m.Functions() {
		fs.Functions = append(fs.Functions, daemon.FunctionStatus{Function: fn, State: string(st)})
	}
	for _, w := range m.OpenWindows() {
		ws := daemon.WindowStatus{Kind: string(w.Kind), Start: w.Start, Confirmed: w.Confirmed,
			DurationSeconds: w.Duration(now).Seconds(), CauseStep: w.CauseStep, Error: w.Error}
		if d, ok := w.StartUncertainty(); ok {
			s := d.Seconds()
			ws.StartUncertaintySeconds = &s
		}
		if d, ok := w.StartLater(); ok {
			s := d.Seconds()
			ws.StartUncertaintyLaterSeconds = &s
		}
		if w.Function != "" {
			fn := w.Function
			ws.Function = &fn
		}
		fs.OpenWindows = append(fs.OpenWindows, ws)
	}
	return daemon.Status{Location: cfg.Location, Time: now, Flows: []daemon.FlowStatus{fs}}
}

var sinceRE = regexp.MustCompile(`(down|degraded) since <time>([^<]*)</time>`)

// TestFleetPublicPagesAgree: two probers (seoul-a, busan-b) on one store,
// each with its own public status page. A customer who reaches either must
// read the same states and times, and those the report counts: with
// seoul-a alone down (one location of two, below the quorum) both say all
// up, and seoul-a's internal page still shows its own trouble; with both
// down, both say down since the counted window's start. Before, each
// public page told its own prober's live state machines: seoul-a's said
// "Some functions down" beside busan-b's "All services up", and with both
// down they gave each their own location's start (09:30 and 09:36).
func TestFleetPublicPagesAgree(t *testing.T) {
	morning := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	stores := []struct {
		name string
		open func(t *testing.T) store.Store
	}{
		{"sqlite", func(t *testing.T) store.Store {
			s := tempStore(t)
			return s
		}},
		{"postgres", func(t *testing.T) store.Store {
			s, err := store.OpenPostgres(context.Background(), pgtest.DSN(t), store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}},
	}
	for _, st := range stores {
		for _, tc := range []struct {
			name      string
			from      time.Time      // the first run; now is 50 minutes later
			downSince map[string]int // location -> minute its runs fail from; absent: never
			headline  string
			since     string // the public pages' one "down since"; "": none
		}{
			{"seoul-a alone down", morning, map[string]int{"seoul-a": 30}, "All services up", ""},
			{"both down", morning, map[string]int{"seoul-a": 30, "busan-b": 36}, "Some functions down", "2026-12-05 09:36 UTC"},
			// Down since before the month began: dated from the start
			// before it, not the month's first instant.
			{"both down since last month", time.Date(2026, 11, 30, 23, 30, 0, 0, time.UTC), map[string]int{"seoul-a": 10, "busan-b": 12},
				"Some functions down", "2026-11-30 23:42 UTC"},
		} {
			t.Run(st.name+"/"+tc.name, func(t *testing.T) {
				ctx := context.Background()
				from, now := tc.from, tc.from.Add(50*time.Minute)
				s := st.open(t)
				pages := map[string]*Page{}
				for _, loc := range []string{"seoul-a", "busan-b"} {
					d, fails := tc.downSince[loc]
					if !fails {
						d = -1
					}
					pages[loc] = proberPage(t, s, loc, from, 50, d)
				}
				// The report's counted windows: what the pages must tell.
				rep, err := report.Build(ctx, report.Input{Config: fleetConfig("seoul-a"), Store: s, From: from, To: now.Add(time.Hour), Now: now, Timelines: []*config.Timeline{}})
				if err != nil {
					t.Fatal(err)
				}
				var counted []string
				for _, w := range rep.Services[0].Windows {
					if w.End == nil {
						counted = append(counted, w.Start.UTC().Format(tsLayout))
					}
				}
				counted = slices.Compact(counted)
				if tc.since == "" && len(counted) > 0 || tc.since != "" && !slices.Equal(counted, []string{tc.since}) {
					t.Fatalf("the report counts open windows from %v, the test expects %q", counted, tc.since)
				}
				get := func(loc string, public bool) string {
					p := pages[loc]
					if err := p.Refresh(ctx); err != nil {
						t.Fatal(err)
					}
					rec := httptest.NewRecorder()
					p.Handler(public).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
					return rec.Body.String()
				}
				for _, loc := range []string{"seoul-a", "busan-b"} {
					pub := get(loc, true)
					if !strings.Contains(pub, tc.headline) {
						t.Errorf("%s's public page does not say %q: %s", loc, tc.headline, headline(pub))
					}
					var sinces []string
					for _, m := range sinceRE.FindAllStringSubmatch(pub, -1) {
						sinces = append(sinces, m[2])
					}
					sinces = slices.Compact(sinces)
					if tc.since == "" && len(sinces) > 0 || tc.since != "" && !slices.Equal(sinces, []string{tc.since}) {
						t.Errorf("%s's public page: open windows since %v, want %q (the report's counted window)", loc, sinces, tc.since)
					}
					if tc.since == "" && strings.Contains(pub, `sd">✕ down`) {
						t.Errorf("%s's public page shows a function down below the quorum", loc)
					}
					internal := get(loc, false)
					if !strings.Contains(internal, tc.headline) {
						t.Errorf("%s's internal page's headline contradicts the public one (%q): %s", loc, tc.headline, headline(internal))
					}
				}
				// The failing location's own trouble stays on its internal page.
				internal := get("seoul-a", false)
				own := from.Add(time.Duration(tc.downSince["seoul-a"]) * time.Minute).Format(tsLayout)
				for _, want := range []string{"<b>seoul-a</b>: down: messaging", "since <time>" + own + "</time>", "at seoul-a"} {
					if !strings.Contains(internal, want) {
						t.Errorf("seoul-a's internal page lacks %q", want)
					}
				}
			})
		}
	}
}

// headline is the page's headline paragraph, for a failure message.
func headline(page string) string {
	i := strings.Index(page, `<p class="big">`)
	if i < 0 {
		return "(no headline)"
	}
	page = page[i:]
	if j := strings.Index(page, "</p>"); j >= 0 {
		page = page[:j]
	}
	return page
}

// TestFleetRebuildsAligned: in a fleet the figures (and so the pages'
// states now) are rebuilt at the same moments on every prober, at the next
// multiple of the period on the clock, so that two probers' pages differ
// only while they build; before, each rebuilt a minute after its own last
// build, and seoul-a's page could say down for up to a minute after
// busan-b's said up. A prober alone keeps its period from its last build.
func TestFleetRebuildsAligned(t *testing.T) {
	at := time.Date(2026, 12, 5, 9, 50, 17, 0, time.UTC)
	s := tempStore(t)
	for _, tc := range []struct {
		name      string
		locations string
		took      time.Duration
		want      time.Duration
	}{
		{"alone", "seoul-a", time.Second, time.Minute},
		{"fleet", "busan-b,seoul-a", time.Second, 43 * time.Second},
		// 9 x 10s = 90s, rounded up to 2m: 09:52:00.
		{"fleet, slow build", "busan-b,seoul-a", 10 * time.Second, time.Minute + 43*time.Second},
		{"alone, slow build", "seoul-a", 10 * time.Second, 90 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := New(fleetConfig("seoul-a"), Options{Store: s, Clock: clock.NewManual(at)})
			if err != nil {
				t.Fatal(err)
			}
			p.snap = &snapshot{month: &report.Report{Location: tc.locations, Services: []report.Service{{Name: "messaging", Runs: 10}}}, took: tc.took}
			if got := p.nextRebuild(); got != tc.want {
				t.Errorf("next rebuild in %v, want %v", got, tc.want)
			}
		})
	}
	// Just after a boundary, the next one; never within half a period.
	if got := aligned(at.Truncate(time.Minute).Add(40*time.Second), time.Minute, time.Minute); got != 80*time.Second {
		t.Errorf("aligned 40s past the minute: %v, want 1m20s", got)
	}
}

// TestIncidentAcrossMonthIsOne: an outage that began before the month and
// goes on is one ongoing incident on the page, since its start: the
// month's figures and the history's each cut it at the month's start, and
// the page listed both halves as ongoing incidents ("2026-12-01 00:00 –
// ongoing" above "2026-11-30 23:42 – ongoing") and captioned its timeline
// "Ongoing incident, since 2026-12-01 00:00", beside open windows since
// 23:42. A prober alone and a fleet alike.
func TestIncidentAcrossMonthIsOne(t *testing.T) {
	from := time.Date(2026, 11, 30, 23, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		name      string
		downSince map[string]int
	}{
		{"alone", map[string]int{"seoul-a": 12}},
		{"fleet", map[string]int{"seoul-a": 12, "busan-b": 12}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tempStore(t)
			var p *Page
			for _, loc := range []string{"busan-b", "seoul-a"} {
				if d, ok := tc.downSince[loc]; ok {
					p = proberPage(t, s, loc, from, 50, d)
				}
			}
			if err := p.Refresh(context.Background()); err != nil {
				t.Fatal(err)
			}
			for _, public := range []bool{true, false} {
				rec := httptest.NewRecorder()
				p.Handler(public).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
				body := rec.Body.String()
				inc := regexp.MustCompile(`(?s)<ul class="inc">.*?</ul>`).FindString(body)
				if n := strings.Count(inc, "<li>"); n != 1 || !strings.Contains(inc, "<time>2026-11-30 23:42 UTC</time> – <b>ongoing</b> · 38m") {
					t.Errorf("public=%v: %d incidents, want one ongoing since 23:42 for 38m: %s", public, n, inc)
				}
				if !strings.Contains(body, "Ongoing incident, since 2026-11-30 23:42 UTC") {
					t.Errorf("public=%v: the timeline's caption does not date the incident from 23:42: %q", public,
						regexp.MustCompile(`(Ongoing|Latest) incident[^:]*`).FindString(body))
				}
			}
		})
	}
}

// TestFleetStoppedIsUnknown: in a fleet whose every prober stopped (no run
// for half an hour, after 20 minutes up or down), a function nobody
// measures now is unknown on both pages, as a prober alone's is: the fleet
// path took "measured in the month's figures" for up, so seoul-a's page,
// its own machines fresh from a restart, said "All services up" while no
// location had run a flow for 30 minutes. One location stopped and the
// other running still reads up.
func TestFleetStoppedIsUnknown(t *testing.T) {
	from := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	now := from.Add(50 * time.Minute)
	for _, tc := range []struct {
		name     string
		runs     map[string]int // location -> minutes it ran (from from)
		downFrom int            // minute the runs fail from; -1: never
		headline string
	}{
		{"alone stopped", map[string]int{"seoul-a": 20}, -1, "State unknown"},
		{"fleet stopped up", map[string]int{"busan-b": 20, "seoul-a": 20}, -1, "State unknown"},
		{"fleet stopped down", map[string]int{"busan-b": 20, "seoul-a": 20}, 10, "State unknown"},
		{"busan-b stopped, seoul-a runs", map[string]int{"busan-b": 20, "seoul-a": 50}, -1, "All services up"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s := tempStore(t)
			cfg := fleetConfig("seoul-a")
			var live daemon.Status
			for _, loc := range []string{"busan-b", "seoul-a"} {
				n, ok := tc.runs[loc]
				if !ok {
					continue
				}
				m := state.New("messaging", "chat", loc, cfg.Services[0].Flows[0].Functions(), state.Policy{Interval: time.Minute, DownAfter: 2, UpAfter: 1})
				var runs []probe.Run
				var evs []state.Event
				for i := 0; i < n; i++ {
					r := fleetRun(loc, from.Add(time.Duration(i)*time.Minute), tc.downFrom < 0 || i < tc.downFrom)
					runs = append(runs, r)
					evs = append(evs, m.Observe(&r)...)
				}
				evs = append(evs, m.Stale(now)...) // a restart: what the stop ended
				if err := s.AppendRuns(ctx, runs); err != nil {
					t.Fatal(err)
				}
				if err := s.AppendEvents(ctx, evs); err != nil {
					t.Fatal(err)
				}
				if loc == cfg.Location {
					live = liveOf(cfg, m, now)
				}
			}
			p, err := New(cfg, Options{Store: s, Clock: clock.NewManual(now), Live: func() daemon.Status { return live }})
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Refresh(ctx); err != nil {
				t.Fatal(err)
			}
			for _, public := range []bool{true, false} {
				rec := httptest.NewRecorder()
				p.Handler(public).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
				if h := headline(rec.Body.String()); !strings.Contains(h, tc.headline) {
					t.Errorf("public=%v: %s, want %q", public, h, tc.headline)
				}
			}
		})
	}
}

// TestFleetPageSaysStatesAsOf: in a fleet the states now come from the
// figures of the last rebuild, up to a period old (longer at a large
// config), so both pages say when those were built beside the "updated"
// time: 40 s after a rebuild at 09:50:00 the page said only "updated
// 09:50:40", and a function both locations saw come back up at 09:50:10
// read down "now" with nothing telling a reader the states were 40 s old.
// A prober alone (its states live) says nothing more.
func TestFleetPageSaysStatesAsOf(t *testing.T) {
	from := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		locs []string
		want string // "": no "states as of"
	}{
		{"fleet", []string{"busan-b", "seoul-a"}, "states as of <time>2026-12-05 09:50:00 UTC</time>"},
		{"alone", []string{"seoul-a"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tempStore(t)
			var p *Page
			for _, loc := range tc.locs {
				p = proberPage(t, s, loc, from, 50, 30)
			}
			if err := p.Refresh(context.Background()); err != nil {
				t.Fatal(err)
			}
			p.opts.Clock.(*clock.Manual).Advance(40 * time.Second)
			for _, public := range []bool{true, false} {
				rec := httptest.NewRecorder()
				p.Handler(public).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
				body := rec.Body.String()
				if !strings.Contains(body, "updated <time id=\"updated\">2026-12-05 09:50:40 UTC</time>") {
					t.Fatalf("public=%v: not rendered at 09:50:40", public)
				}
				if got := strings.Contains(body, "states as of"); tc.want == "" && got || tc.want != "" && !strings.Contains(body, tc.want) {
					t.Errorf("public=%v: want %q, page says %q", public, tc.want, regexp.MustCompile(`states as of <time>[^<]*</time>`).FindString(body))
				}
			}
		})
	}
}

// TestHistoryBuiltBeforeWindowConfirmed: the history (the days before this
// month) is built when the day changes, so on the 1st just after midnight,
// possibly before the run that confirms a window begun at 23:59 is stored.
// It was then kept for six hours (historyEvery), and the pages dated the
// counted window from the month's first instant ("down since 2026-12-01
// 00:00" at 00:20, beside this prober's own window since 23:59 on the
// internal page) and listed its incident from 00:00. Now a window cut at
// the month's start confirmed after the history was built (within a
// rebuild period) has the history built again.
func TestHistoryBuiltBeforeWindowConfirmed(t *testing.T) {
	ctx := context.Background()
	from := time.Date(2026, 11, 30, 23, 30, 0, 0, time.UTC)
	s := tempStore(t)
	cfg := fleetConfig("seoul-a")
	machines := map[string]*state.Machine{}
	for _, loc := range []string{"busan-b", "seoul-a"} {
		machines[loc] = state.New("messaging", "chat", loc, cfg.Services[0].Flows[0].Functions(), state.Policy{Interval: time.Minute, DownAfter: 2, UpAfter: 1})
	}
	// Runs from minute a to b at both locations, failing from 23:59 on.
	feed := func(a, b int) {
		for _, loc := range []string{"busan-b", "seoul-a"} {
			var runs []probe.Run
			var evs []state.Event
			for i := a; i < b; i++ {
				r := fleetRun(loc, from.Add(time.Duration(i)*time.Minute), i < 29)
				runs = append(runs, r)
				evs = append(evs, machines[loc].Observe(&r)...)
			}
			if err := s.AppendRuns(ctx, runs); err != nil {
				t.Fatal(err)
			}
			if err := s.AppendEvents(ctx, evs); err != nil {
				t.Fatal(err)
			}
		}
	}
	clk := clock.NewManual(from.Add(30*time.Minute + 10*time.Second))
	feed(0, 30) // 00:00:10: the 00:00 runs are not stored yet
	p, err := New(cfg, Options{Store: s, Clock: clk, Live: func() daemon.Status { return liveOf(cfg, machines["seoul-a"], clk.Now()) }})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	feed(30, 50)
	clk.Set(from.Add(50*time.Minute + 10*time.Second))
	if err := p.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	for _, public := range []bool{true, false} {
		rec := httptest.NewRecorder()
		p.Handler(public).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		body := rec.Body.String()
		for _, m := range sinceRE.FindAllStringSubmatch(body, -1) {
			if m[2] != "2026-11-30 23:59 UTC" {
				t.Errorf("public=%v: %q, want every open window since 23:59", public, m[0])
				break
			}
		}
		if inc := regexp.MustCompile(`(?s)<ul class="inc">.*?</ul>`).FindString(body); !strings.Contains(inc, "<time>2026-11-30 23:59 UTC</time> – <b>ongoing</b>") {
			t.Errorf("public=%v: incidents %s, want one ongoing since 23:59", public, inc)
		}
	}
}
