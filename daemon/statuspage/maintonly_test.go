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
	"github.com/slaprobe/slaprobe/state"
)

// TestMaintenanceOnlyIsNotNoData: a month so far all planned maintenance
// (payments upgraded from November's first instant, runs stored
// throughout) and a day all in it (October 20) read "planned maintenance"
// on the page as in the report (maintenance_only, no figure), not "no
// data": the time is excluded from the SLA, not missing. Before, the
// service said "No data this month yet", its functions "no data" and the
// day bars "2026-10-20 no data", where the month's report said "no data"
// as well, with 100% of its runs passing.
func TestMaintenanceOnlyIsNotNoData(t *testing.T) {
	ctx := context.Background()
	at := func(mo time.Month, d, h int) time.Time { return time.Date(2026, mo, d, h, 0, 0, 0, time.UTC) }
	now := at(11, 1, 3)
	cfg := &config.Config{
		Location: "seoul-a", Timezone: "UTC", Loc: time.UTC,
		Policy: config.Policy{Unknown: "exclude", Degraded: "up", Quorum: config.Quorum{Mode: "majority"}, FlapGap: 5 * time.Minute},
		Status: config.Status{Refresh: 30 * time.Second},
		Services: []config.Service{
			{Name: "payments", Objective: 0.999, Flows: []config.Flow{{Name: "pay", Service: "payments", Interval: 10 * time.Minute, DownAfter: 2, UpAfter: 1,
				Steps: []config.Step{{Name: "login", Function: "login"}}}}},
			{Name: "maps", Objective: 0.999},
		},
		Maintenance: config.MaintenancePlan{
			{Service: "payments", Start: at(10, 20, 0), End: at(10, 21, 0), Reason: "data centre move"},
			{Service: "payments", Start: at(11, 1, 0), End: at(11, 1, 6), Reason: "planned database upgrade"},
		},
	}
	s := tempStore(t)
	m := state.New("payments", "pay", "seoul-a", cfg.Services[0].Flows[0].Functions(), state.Policy{Interval: 10 * time.Minute, DownAfter: 2, UpAfter: 1})
	var runs []probe.Run
	var evs []state.Event
	for ts := at(10, 18, 0); ts.Before(now); ts = ts.Add(10 * time.Minute) {
		r := probe.Run{ID: "pay" + ts.Format("0102150405"), Flow: "pay", Service: "payments", Location: "seoul-a", Start: ts, Duration: time.Second,
			Steps: []probe.StepResult{{Step: "login", Function: "login", Status: probe.StatusOK, Duration: 100 * time.Millisecond}}}
		runs = append(runs, r)
		evs = append(evs, m.Observe(&r)...)
	}
	if err := s.AppendRuns(ctx, runs); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	live := daemon.Status{Location: "seoul-a", Time: now, Flows: []daemon.FlowStatus{
		{Flow: "pay", Service: "payments", Location: "seoul-a", State: "up", Functions: []daemon.FunctionStatus{{Function: "login", State: "up"}}, OpenWindows: []daemon.WindowStatus{}},
	}}
	p, err := New(cfg, Options{Store: s, Clock: clock.NewManual(now), Live: func() daemon.Status { return live }})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	ms := p.snapshot().month.Services[0]
	if ms.Availability != nil || ms.NoData || !ms.MaintenanceOnly {
		t.Errorf("the month's report: availability %v, no_data %v, maintenance_only %v; want null, false, true", ms.Availability, ms.NoData, ms.MaintenanceOnly)
	}
	for _, public := range []bool{false, true} {
		var buf bytes.Buffer
		if err := p.Render(&buf, public, false); err != nil {
			t.Fatal(err)
		}
		page := buf.String()
		sec := page[strings.Index(page, `id="svc-payments"`):strings.Index(page, `id="svc-maps"`)]
		for _, want := range []string{
			"Planned maintenance all this month so far",
			"<title>2026-10-20 planned maintenance</title>",
			"<title>2026-11-01 planned maintenance</title>",
			"2 in planned maintenance",
			"</svg><td>planned maintenance",
		} {
			if !strings.Contains(sec, want) {
				t.Errorf("public %v: payments lacks %q:\n%s", public, want, sec)
			}
		}
		for _, bad := range []string{"No data this month yet", "2026-10-20 no data", "2026-11-01 no data", "<td>no data"} {
			if strings.Contains(sec, bad) {
				t.Errorf("public %v: payments says %q: %s", public, bad, sec[max(0, strings.Index(sec, bad)-300):strings.Index(sec, bad)+50])
			}
		}
	}
}
