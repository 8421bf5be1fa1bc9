package statuspage

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
)

// TestServiceInMaintenance: while a configured maintenance window covers
// now, the service and its functions show "maintenance", with the end time
// in the config's time zone and the reason, instead of down, on both pages;
// the headline says planned maintenance when nothing else is wrong, and a
// service down outside its maintenance still outranks it. The public page
// lists no open windows of a service in maintenance; the internal one does.
// Once the window ends the service is down again.
func TestServiceInMaintenance(t *testing.T) {
	now := time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC)
	kst := time.FixedZone("KST", 9*3600)
	cfg := genConfig(20, 3, time.Minute) // service-00 (flow-000 ... flow-009: login, send, receive) and service-01
	cfg.Loc, cfg.Timezone = kst, "Asia/Seoul"
	svc := cfg.Services[0].Name
	cfg.Maintenance = config.MaintenancePlan{{Service: svc, Start: now.Add(-time.Hour), End: now.Add(time.Hour), Reason: "planned database upgrade"}}
	live := liveDown(cfg, now) // flow-000's function receive is down
	tmpl, err := templates()
	if err != nil {
		t.Fatal(err)
	}
	render := func(t *testing.T, v *view) string {
		t.Helper()
		var buf bytes.Buffer
		if err := tmpl.ExecuteTemplate(&buf, "page", v); err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}
	for _, public := range []bool{false, true} {
		v := build(cfg, nil, &live, public, nil, now, "", 30*time.Second)
		sv := v.Services[0]
		if sv.State.Word != "maintenance" {
			t.Errorf("public=%v: %s is %q, want maintenance", public, svc, sv.State.Word)
		}
		for _, f := range sv.Functions {
			if f.State.Word != "maintenance" {
				t.Errorf("public=%v: function %s is %q, want maintenance", public, f.Name, f.State.Word)
			}
		}
		if want := "Planned maintenance until 2026-11-01 13:00 KST: planned database upgrade"; sv.Maintenance != want {
			t.Errorf("public=%v: %q, want %q", public, sv.Maintenance, want)
		}
		if v.Overall.Word != "maintenance" || v.Counts != "1 of 2 services up, 1 in planned maintenance" {
			t.Errorf("public=%v: overall %q (%s), want maintenance, 1 of 2 up and 1 in maintenance", public, v.Overall.Word, v.Counts)
		}
		if public && len(sv.Open) != 0 {
			t.Errorf("the public page lists open windows of a service in maintenance: %+v", sv.Open)
		}
		if !public && len(sv.Open) != 1 {
			t.Errorf("the internal page lists %d open windows of the service in maintenance, want its 1", len(sv.Open))
		}
		page := render(t, v)
		section := page[strings.Index(page, `id="svc-`+svc+`"`):strings.Index(page, `id="svc-`+cfg.Services[1].Name+`"`)]
		for _, want := range []string{"⚙ maintenance</span> " + svc, "Planned maintenance until 2026-11-01 13:00 KST: planned database upgrade"} {
			if !strings.Contains(section, want) {
				t.Errorf("public=%v: the service's section lacks %q:\n%s", public, want, section)
			}
		}
		if strings.Contains(section, "✕ down") {
			t.Errorf("public=%v: the service in maintenance shows down:\n%s", public, section)
		}
		if !strings.Contains(page, "Planned maintenance</p>") {
			t.Errorf("public=%v: the headline does not say planned maintenance", public)
		}
	}

	// The other service down: that outranks the maintenance.
	other := liveDown(cfg, now)
	for i := range other.Flows {
		if other.Flows[i].Service == cfg.Services[1].Name {
			other.Flows[i].Functions[0].State = "down"
		}
	}
	if v := build(cfg, nil, &other, true, nil, now, "", 30*time.Second); v.Overall.Word != "down" || v.Services[1].State.Word != "down" {
		t.Errorf("another service down: overall %q, want down", v.Overall.Word)
	}

	// After the window: down again.
	after := now.Add(time.Hour)
	if v := build(cfg, nil, &live, true, nil, after, "", 30*time.Second); v.Services[0].State.Word != "down" || v.Services[0].Maintenance != "" || v.Overall.Word != "down" {
		t.Errorf("at the window's end: %s %q (%q), overall %q; want down", svc, v.Services[0].State.Word, v.Services[0].Maintenance, v.Overall.Word)
	}
}

// TestPublicOpenWindowAfterMaintenance: a window that opened during a
// planned maintenance and is still open after it ended is down, on the
// public page, since the maintenance's end: that is when the outage
// customers are owed began (the month's report starts its incident there,
// the same page's incident list with it). Before, a receive down from
// 02:57 through a maintenance that ended at 02:59 read "down since 02:57",
// the planned time counted as outage to every customer. The internal page
// keeps the measured start.
func TestPublicOpenWindowAfterMaintenance(t *testing.T) {
	now := time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC)
	cfg := genConfig(20, 3, time.Minute)
	cfg.Loc, cfg.Timezone = time.UTC, "UTC"
	end := now.Add(-time.Minute)
	cfg.Maintenance = config.MaintenancePlan{{Service: cfg.Services[0].Name, Start: now.Add(-time.Hour), End: end}}
	live := liveDown(cfg, now) // receive down since now-3m
	for _, tc := range []struct {
		public   bool
		since    string
		sinceFor string
	}{
		{true, end.Format(tsLayout), "1m"},
		{false, now.Add(-3 * time.Minute).Format(tsLayout), "3m"},
	} {
		v := build(cfg, nil, &live, tc.public, nil, now, "", 30*time.Second)
		sv := v.Services[0]
		if len(sv.Open) != 1 {
			t.Fatalf("public=%v: %d open windows, want 1", tc.public, len(sv.Open))
		}
		if o := sv.Open[0]; o.Since != tc.since || o.For != tc.sinceFor {
			t.Errorf("public=%v: down since %s for %s, want since %s for %s", tc.public, o.Since, o.For, tc.since, tc.sinceFor)
		}
	}
}
