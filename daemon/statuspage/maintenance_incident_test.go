package statuspage

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/daemon"
	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/report"
	"github.com/slaprobe/slaprobe/state"
)

// TestIncidentDuringMaintenance: payments' receive goes down at 01:50 and
// stays down through the planned 02:00-04:00 upgrade; at 03:00 the report
// counts the 10 minutes before it as an incident still open (its window
// is). The public page tells a customer what the report counts, as status
// pages do: the incident 01:50-02:00 "then planned maintenance", no
// "ongoing" and no "Ongoing incident" timeline, and the maintenance as a
// scheduled event: the one now, those announced within 7 days (not one
// three weeks away) and completed ones. The internal page keeps the
// incident ongoing and the open window, each marked as in planned
// maintenance, and lists the maintenance too.
func TestIncidentDuringMaintenance(t *testing.T) {
	ctx := context.Background()
	at := func(d, h, m int) time.Time { return time.Date(2026, 11, d, h, m, 0, 0, time.UTC) }
	now := at(1, 3, 0)
	cfg := &config.Config{
		Location: "seoul-a", Timezone: "UTC", Loc: time.UTC,
		Policy: config.Policy{Unknown: "exclude", Degraded: "up", Quorum: config.Quorum{Mode: "majority"}, FlapGap: 5 * time.Minute},
		Status: config.Status{Refresh: 30 * time.Second},
		Services: []config.Service{
			{Name: "payments", Objective: 0.999, Flows: []config.Flow{{Name: "pay", Service: "payments", Interval: time.Minute, DownAfter: 2, UpAfter: 1,
				Steps: []config.Step{{Name: "login", Function: "login"}, {Name: "send", Function: "send"}, {Name: "receive", Function: "receive"}}}}},
			{Name: "maps", Objective: 0.999, Flows: []config.Flow{{Name: "map", Service: "maps", Interval: time.Minute, DownAfter: 2, UpAfter: 1,
				Steps: []config.Step{{Name: "tile", Function: "tile"}}}}},
		},
		Maintenance: config.MaintenancePlan{
			{Service: "payments", Start: at(1, 2, 0), End: at(1, 4, 0), Reason: "planned database upgrade"},
			{Service: "*", Start: at(5, 1, 0), End: at(5, 2, 0), Reason: "network switch replacement"},
			{Service: "payments", Start: at(22, 1, 0), End: at(22, 2, 0), Reason: "three weeks away"},
			{Service: "payments", Start: time.Date(2026, 10, 20, 1, 0, 0, 0, time.UTC), End: time.Date(2026, 10, 20, 1, 30, 0, 0, time.UTC), Reason: "certificate rotation"},
		},
	}
	s := tempStore(t)
	var runs []probe.Run
	for ts := at(1, 0, 0); ts.Before(now); ts = ts.Add(time.Minute) {
		pay := probe.Run{ID: "pay" + ts.Format("150405"), Flow: "pay", Service: "payments", Location: "seoul-a", Start: ts, Duration: time.Second, Steps: []probe.StepResult{
			{Step: "login", Function: "login", Status: probe.StatusOK, Duration: 100 * time.Millisecond},
			{Step: "send", Function: "send", Status: probe.StatusOK, Duration: 100 * time.Millisecond},
			{Step: "receive", Function: "receive", Status: probe.StatusOK, Duration: 100 * time.Millisecond}}}
		if !ts.Before(at(1, 1, 50)) {
			pay.Steps[2].Status, pay.Steps[2].Error = probe.StatusFailed, "receive: HTTP 503"
		}
		mp := probe.Run{ID: "map" + ts.Format("150405"), Flow: "map", Service: "maps", Location: "seoul-a", Start: ts, Duration: time.Second, Steps: []probe.StepResult{
			{Step: "tile", Function: "tile", Status: probe.StatusOK, Duration: 100 * time.Millisecond}}}
		runs = append(runs, pay, mp)
	}
	// The runs and the events their state machines made, as the daemon
	// stores them.
	machines := map[string]*state.Machine{}
	appendRuns := func(rs ...probe.Run) {
		t.Helper()
		var evs []state.Event
		for i := range rs {
			r := &rs[i]
			m := machines[r.Flow]
			if m == nil {
				f := &cfg.Services[0].Flows[0]
				if r.Flow != f.Name {
					f = &cfg.Services[1].Flows[0]
				}
				m = state.New(r.Service, r.Flow, r.Location, f.Functions(), state.Policy{Interval: f.Interval, DownAfter: f.DownAfter, UpAfter: f.UpAfter})
				machines[r.Flow] = m
			}
			evs = append(evs, m.Observe(r)...)
		}
		if err := s.AppendRuns(ctx, rs); err != nil {
			t.Fatal(err)
		}
		if err := s.AppendEvents(ctx, evs); err != nil {
			t.Fatal(err)
		}
	}
	appendRuns(runs...)
	recv := "receive"
	live := daemon.Status{Location: "seoul-a", Time: now, Flows: []daemon.FlowStatus{
		{Flow: "pay", Service: "payments", Location: "seoul-a", State: "down", Functions: []daemon.FunctionStatus{{Function: "login", State: "up"}, {Function: "send", State: "up"}, {Function: "receive", State: "down"}},
			OpenWindows: []daemon.WindowStatus{{Function: &recv, Kind: "down", Start: at(1, 1, 50), CauseStep: "receive", Error: "receive: HTTP 503"}}},
		{Flow: "map", Service: "maps", Location: "seoul-a", State: "up", Functions: []daemon.FunctionStatus{{Function: "tile", State: "up"}}, OpenWindows: []daemon.WindowStatus{}},
	}}
	p, err := New(cfg, Options{Store: s, Clock: clock.NewManual(now), Live: func() daemon.Status { return live }})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	// What the report counts, which the page must agree with.
	ms := p.snapshot().month.Services[0]
	if len(ms.IncidentList) != 1 || !ms.IncidentList[0].Start.Equal(at(1, 1, 50)) || ms.IncidentList[0].End != nil || ms.IncidentList[0].DurationSeconds != 600 {
		t.Fatalf("the report's incidents: %+v; want one from 01:50, open, 10m counted", ms.IncidentList)
	}
	section := func(t *testing.T, public bool) string {
		t.Helper()
		var buf bytes.Buffer
		if err := p.Render(&buf, public, false); err != nil {
			t.Fatal(err)
		}
		page := buf.String()
		return page[strings.Index(page, `id="svc-payments"`):strings.Index(page, `id="svc-maps"`)]
	}
	pub := section(t, true)
	// The timeline's bar is drawn to the maintenance's start, and its
	// tooltip (render's, which marks what planned maintenance covered)
	// says nothing of the maintenance after it.
	for _, bad := range []string{"ongoing", "Ongoing", "not ended", "three weeks away", "in planned maintenance, not counted)</title>"} {
		if strings.Contains(pub, bad) {
			t.Errorf("the public page says %q of payments during its planned maintenance", bad)
		}
	}
	for _, want := range []string{
		"<time>2026-11-01 01:50 UTC</time> – <time>2026-11-01 02:00 UTC</time> · 10m · receive · then planned maintenance",
		"Latest incident, since 2026-11-01 01:50 UTC, until planned maintenance began at 2026-11-01 02:00 UTC",
		"Scheduled maintenance: <time>2026-11-05 01:00 UTC</time> – <time>2026-11-05 02:00 UTC</time>: network switch replacement",
		"01:50–02:00, then planned maintenance</title>", // the day's bar
		"Completed maintenance (1)",
		"<time>2026-10-20 01:00 UTC</time> – <time>2026-10-20 01:30 UTC</time>: certificate rotation",
	} {
		if !strings.Contains(pub, want) {
			t.Errorf("the public page lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("the public page's payments:\n%s", pub)
	}
	internal := section(t, false)
	for _, want := range []string{
		"<b>ongoing</b> · 10m · receive · in planned maintenance since 2026-11-01 02:00 UTC, not counted",
		"Ongoing incident (in planned maintenance since 2026-11-01 02:00 UTC, not counted), since 2026-11-01 01:50 UTC",
		"<b>receive</b> down since <time>2026-11-01 01:50 UTC</time> (1h10m) · cause: step <code>receive</code>: receive: HTTP 503 · flow pay · at seoul-a · during planned maintenance",
		"Scheduled maintenance: <time>2026-11-05 01:00 UTC</time>",
		"01:50–ongoing receive in planned maintenance</title>",
		"Completed maintenance (1)",
	} {
		if !strings.Contains(internal, want) {
			t.Errorf("the internal page lacks %q", want)
		}
	}

	// After the maintenance, still down: the incident is ongoing again on
	// both pages, as the report counts it (10m before, the time since after).
	after := at(1, 4, 30)
	p.opts.Clock = clock.NewManual(after)
	for ts := now; ts.Before(after); ts = ts.Add(time.Minute) {
		r := runs[len(runs)-2]
		r.ID, r.Start = "pay"+ts.Format("150405"), ts
		appendRuns(r)
	}
	if err := p.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if pub := section(t, true); !strings.Contains(pub, "<b>ongoing</b>") || strings.Contains(pub, "then planned maintenance") {
		t.Errorf("after the maintenance, still down: the public page does not list the incident as ongoing:\n%s", pub)
	}
}

// TestDayTitleMaintenance: a day bar's tooltip on the public page leaves
// out a window wholly inside the report's planned maintenance (the figure
// counts none of it: 01:00-01:30 of a 01:00-02:00 upgrade is not an
// outage to a customer) and keeps the one outside it; the internal page
// lists both, the first marked "in planned maintenance".
func TestDayTitleMaintenance(t *testing.T) {
	at := func(h, m int) time.Time { return time.Date(2026, 10, 20, h, m, 0, 0, time.UTC) }
	v := 0.99
	fn := "receive"
	in, out := at(1, 30), at(10, 20)
	s := report.Service{Name: "payments", Objective: 0.999,
		Windows: []report.Window{
			{Service: "payments", Flow: "pay", Function: &fn, Kind: "down", Start: at(1, 0), End: &in, CauseStep: "receive"},
			{Service: "payments", Flow: "pay", Function: &fn, Kind: "down", Start: at(10, 0), End: &out, CauseStep: "receive"},
		},
		Maintenance: []report.Span{{Start: at(1, 0), End: at(2, 0), DurationSeconds: 3600, Reason: "certificate rotation"}}}
	fa := report.FunctionAccount{Name: fn, Availability: &v, Windows: []int{0, 1},
		Daily: []report.FunctionDay{{Date: "2026-10-20", Availability: &v, DowntimeSeconds: 1200}}}
	for _, tc := range []struct {
		public bool
		want   string
	}{
		{true, "2026-10-20 99.000% down 20m\n10:00–10:20"},
		{false, "2026-10-20 99.000% down 20m\n01:00–01:30 receive in planned maintenance\n10:00–10:20 receive"},
	} {
		if got := dayTitle("2026-10-20", &fa.Daily[0], &s, &fa, nil, tc.public, time.UTC); got != tc.want {
			t.Errorf("public=%v: %q, want %q", tc.public, got, tc.want)
		}
	}
}
