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

// TestMaintenanceListsReviewed pins what the upcoming and completed
// maintenance lists show in cases the first tests did not take: times given
// in another zone than the config's are shown in the config's; a reason
// with markup is escaped on both pages; a stretch that has begun is the one
// running now, not announced, though it began within the week; each
// service lists only its own and the "*" ones; and a page with no
// maintenance says nothing of it.
func TestMaintenanceListsReviewed(t *testing.T) {
	now := time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC)
	kst := time.FixedZone("KST", 9*3600)
	nyc := time.FixedZone("EST", -5*3600)
	cfg := genConfig(20, 3, time.Minute) // service-00 and service-01
	cfg.Loc, cfg.Timezone = kst, "Asia/Seoul"
	s0, s1 := cfg.Services[0].Name, cfg.Services[1].Name
	live := liveDown(cfg, now)
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
		for _, word := range []string{"maintenance", "Maintenance"} {
			if page := render(t, build(cfg, nil, &live, public, nil, now, "", 30*time.Second)); strings.Contains(page, word+":") || strings.Contains(page, "Completed maintenance") {
				t.Errorf("public=%v: a page with no maintenance speaks of it", public)
			}
		}
	}

	cfg.Maintenance = config.MaintenancePlan{
		// Two days ahead, given in New York time: 2026-11-02 21:00 EST is 11-03 11:00 KST.
		{Service: s0, Start: time.Date(2026, 11, 2, 21, 0, 0, 0, nyc), End: time.Date(2026, 11, 2, 22, 0, 0, 0, nyc), Reason: `<script>alert("x")</script> & db`},
		// service-01's began 30 minutes ago: running now, not upcoming.
		{Service: s1, Start: now.Add(-30 * time.Minute), End: now.Add(time.Hour), Reason: "rack move"},
		// Every service, ended yesterday.
		{Service: "*", Start: now.Add(-26 * time.Hour), End: now.Add(-25 * time.Hour), Reason: "network <b>cut-over</b>"},
	}
	for _, public := range []bool{false, true} {
		v := build(cfg, nil, &live, public, nil, now, "", 30*time.Second)
		a, b := v.Services[0], v.Services[1]
		if len(a.Upcoming) != 1 || a.Upcoming[0].Start != "2026-11-03 11:00 KST" || a.Upcoming[0].End != "2026-11-03 12:00 KST" {
			t.Errorf("public=%v: %s upcoming %+v, want 2026-11-03 11:00-12:00 KST", public, s0, a.Upcoming)
		}
		if len(b.Upcoming) != 0 || b.Maintenance == "" {
			t.Errorf("public=%v: %s upcoming %+v, maintenance now %q; want none upcoming, the rack move now", public, s1, b.Upcoming, b.Maintenance)
		}
		for _, sv := range []serviceView{a, b} {
			if len(sv.Completed) != 1 || sv.Completed[0].Start != "2026-10-31 10:00 KST" {
				t.Errorf("public=%v: %s completed %+v, want the cut-over from 2026-10-31 10:00 KST", public, sv.Name, sv.Completed)
			}
		}
		page := render(t, v)
		for _, bad := range []string{"<script>alert", "<b>cut-over"} {
			if strings.Contains(page, bad) {
				t.Errorf("public=%v: a reason's markup reached the page unescaped: %q", public, bad)
			}
		}
		for _, want := range []string{"&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; db", "network &lt;b&gt;cut-over&lt;/b&gt;"} {
			if !strings.Contains(page, want) {
				t.Errorf("public=%v: the page lacks the escaped reason %q", public, want)
			}
		}
	}
}
