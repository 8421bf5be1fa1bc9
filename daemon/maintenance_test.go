package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/slaprobe/slaprobe/alert"
	"github.com/slaprobe/slaprobe/config"
)

// maintConfig is testConfig with a second service, "pay", and the given
// maintenance windows.
func maintConfig(plan config.MaintenancePlan) *config.Config {
	cfg := testConfig(10*time.Second, "a")
	pay := testConfig(10*time.Second, "p").Services[0]
	pay.Name = "pay"
	pay.Flows[0].Service = "pay"
	cfg.Services = append(cfg.Services, pay)
	cfg.Maintenance = plan
	return cfg
}

// planAlerter records the maintenance plans it is handed.
type planAlerter struct {
	recAlerter
	mu    sync.Mutex
	plans []config.MaintenancePlan
}

func (a *planAlerter) SetMaintenance(p config.MaintenancePlan) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.plans = append(a.plans, p)
}

// TestMaintenanceGauge: slaprobe_maintenance{service} is 1 exactly while a
// configured window (its own or a "*" one) covers the daemon's now, one
// series per configured service, and follows a reload that changes
// maintenance:; the alerter gets the plan at start and on every reload.
func TestMaintenanceGauge(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	fc := clockwork.NewFakeClockAt(t0)
	al := &planAlerter{}
	plan := config.MaintenancePlan{
		{Service: "svc", Start: t0.Add(10 * time.Minute), End: t0.Add(20 * time.Minute), Reason: "upgrade"},
		{Service: "*", Start: t0.Add(30 * time.Minute), End: t0.Add(40 * time.Minute)},
	}
	d, _ := newTestDaemon(t, maintConfig(plan), nil, Deps{Clock: ClockworkClock(fc), Alerter: al})
	check := func(step string, svc, pay float64) {
		t.Helper()
		if n := countSeries(t, d.Gatherer(), "slaprobe_maintenance"); n != 2 {
			t.Errorf("%s: %d slaprobe_maintenance series, want 2 (one per service)", step, n)
		}
		for _, c := range []struct {
			service string
			want    float64
		}{{"svc", svc}, {"pay", pay}} {
			got, ok := sample(t, d.Gatherer(), "slaprobe_maintenance", "service", c.service)
			if !ok || got != c.want {
				t.Errorf("%s: slaprobe_maintenance{service=%q} = %v (present %v), want %v", step, c.service, got, ok, c.want)
			}
		}
	}
	at := func(d time.Duration) { fc.Advance(t0.Add(d).Sub(fc.Now())) }
	check("before", 0, 0)
	at(10*time.Minute - time.Nanosecond)
	check("just before the start", 0, 0)
	at(10 * time.Minute)
	check("at the start", 1, 0)
	at(20*time.Minute - time.Nanosecond)
	check("just before the end", 1, 0)
	at(20 * time.Minute)
	check("at the end", 0, 0)
	at(35 * time.Minute)
	check("in a * window", 1, 1)

	// A reload that removes the windows, then one that adds a window
	// covering now for pay only.
	if err := d.Reload(maintConfig(nil)); err != nil {
		t.Fatal(err)
	}
	check("reloaded without maintenance", 0, 0)
	added := config.MaintenancePlan{{Service: "pay", Start: t0, End: t0.Add(time.Hour), Reason: "migration"}}
	if err := d.Reload(maintConfig(added)); err != nil {
		t.Fatal(err)
	}
	check("reloaded with a window for pay", 0, 1)

	al.mu.Lock()
	defer al.mu.Unlock()
	if len(al.plans) != 3 || len(al.plans[0]) != 2 || len(al.plans[1]) != 0 || len(al.plans[2]) != 1 {
		t.Errorf("alerter got plans %v, want the start's (2 windows) and each reload's (0, then 1)", al.plans)
	}
}

// TestStatusShowsMaintenance: /api/v1/status gives each flow the planned
// maintenance its service is in now (start, end in the config's time zone,
// reason), null otherwise; the state machine's state is left as it is.
func TestStatusShowsMaintenance(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	fc := clockwork.NewFakeClockAt(t0)
	cfg := maintConfig(config.MaintenancePlan{
		{Service: "svc", Start: t0.Add(-time.Hour), End: t0.Add(time.Hour), Reason: "upgrade"},
		{Service: "svc", Start: t0.Add(time.Hour), End: t0.Add(2 * time.Hour), Reason: "network"},
	})
	kst := time.FixedZone("KST", 9*3600)
	cfg.Loc = kst
	d, _ := newTestDaemon(t, cfg, nil, Deps{Clock: ClockworkClock(fc)})
	rec := httptest.NewRecorder()
	d.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/status", nil))
	var st struct {
		Flows []struct {
			Flow        string          `json:"flow"`
			Maintenance json.RawMessage `json:"maintenance"`
		} `json:"flows"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil {
		t.Fatalf("%v: %s", err, rec.Body)
	}
	want := map[string]string{
		"a": `{"start":"2026-03-01T20:00:00+09:00","end":"2026-03-01T23:00:00+09:00","reason":"upgrade; network"}`,
		"p": `null`,
	}
	if len(st.Flows) != 2 {
		t.Fatalf("%d flows: %s", len(st.Flows), rec.Body)
	}
	for _, f := range st.Flows {
		var compact bytes.Buffer
		if err := json.Compact(&compact, f.Maintenance); err != nil {
			t.Fatalf("flow %s: maintenance %q: %v", f.Flow, f.Maintenance, err)
		}
		if compact.String() != want[f.Flow] {
			t.Errorf("flow %s: maintenance %s, want %s", f.Flow, compact.String(), want[f.Flow])
		}
	}
}

// TestStatusTimesInConfigZone: every time /api/v1/status gives (now, the
// last run's start, open windows' start and confirmation, maintenance) is
// in the config's time zone, whatever the zone of the clock that made it.
// Before, only maintenance was: on a host with TZ=Asia/Kolkata and a
// America/New_York config, "time", "last_start", "last_run.start" and the
// open windows read +05:30 beside maintenance in -05:00, and the same
// window read -05:00 in `slaprobe windows` (here the fake clock's UTC: "Z").
func TestStatusTimesInConfigZone(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	fc := clockwork.NewFakeClockAt(t0)
	cfg := maintConfig(config.MaintenancePlan{{Service: "svc", Start: t0.Add(-time.Hour), End: t0.Add(time.Hour), Reason: "upgrade"}})
	cfg.Loc, cfg.Timezone = ny, "America/New_York"
	d, w := newTestDaemon(t, cfg, nil, Deps{Clock: ClockworkClock(fc)})
	startPipeline(d, w)
	for range 2 { // down_after 2
		run := mkRun("a", fc.Now(), "send")
		d.process(&run)
		fc.Advance(10 * time.Second)
	}
	rec := httptest.NewRecorder()
	d.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/status", nil))
	var st struct {
		Time  string `json:"time"`
		Flows []struct {
			Flow      string  `json:"flow"`
			LastStart *string `json:"last_start"`
			LastRun   *struct {
				Start string `json:"start"`
			} `json:"last_run"`
			OpenWindows []struct {
				Start     string `json:"start"`
				Confirmed string `json:"confirmed"`
			} `json:"open_windows"`
			Maintenance *struct {
				Start string `json:"start"`
				End   string `json:"end"`
			} `json:"maintenance"`
		} `json:"flows"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil {
		t.Fatalf("%v: %s", err, rec.Body)
	}
	times := map[string]string{"time": st.Time}
	for _, f := range st.Flows {
		if f.Flow != "a" {
			continue
		}
		if f.LastStart == nil || f.LastRun == nil || len(f.OpenWindows) == 0 || f.Maintenance == nil {
			t.Fatalf("flow a has no last run, open window or maintenance: %s", rec.Body)
		}
		times["last_start"], times["last_run.start"] = *f.LastStart, f.LastRun.Start
		times["open_windows[0].start"], times["open_windows[0].confirmed"] = f.OpenWindows[0].Start, f.OpenWindows[0].Confirmed
		times["maintenance.start"], times["maintenance.end"] = f.Maintenance.Start, f.Maintenance.End
	}
	if len(times) != 7 {
		t.Fatalf("flow a missing: %s", rec.Body)
	}
	for key, v := range times {
		if !strings.HasSuffix(v, "-05:00") {
			t.Errorf("%s %s: want New York's -05:00", key, v)
		}
	}
}

// TestMaintenanceHoldsPipelineAlerts: through the daemon's pipeline, a
// flow that goes down while its service is in planned maintenance opens its
// window (the state machine, the log and the store see it as ever) but the
// notifier the daemon handed the config's maintenance: holds its alert; a
// reload that ends the maintenance hands the notifier the new windows, and
// the alert is sent with its backdated start.
func TestMaintenanceHoldsPipelineAlerts(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	fc := clockwork.NewFakeClockAt(t0)
	var mu sync.Mutex
	var posted []alert.Alert
	am := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var as []alert.Alert
		if err := json.NewDecoder(r.Body).Decode(&as); err != nil {
			t.Errorf("fake Alertmanager: %v", err)
		}
		mu.Lock()
		posted = append(posted, as...)
		mu.Unlock()
	}))
	defer am.Close()
	n, err := alert.NewNotifier(alert.Options{URLs: []string{am.URL}, Location: "seoul-a", Clock: ClockworkClock(fc)})
	if err != nil {
		t.Fatal(err)
	}
	plan := config.MaintenancePlan{{Service: "svc", Start: t0.Add(-time.Hour), End: t0.Add(time.Hour), Reason: "upgrade"}}
	d, w := newTestDaemon(t, maintConfig(plan), nil, Deps{Clock: ClockworkClock(fc), Alerter: n})
	startPipeline(d, w)
	for i := range 2 { // down_after 2
		run := mkRun("a", fc.Now(), "send")
		d.process(&run)
		if i == 0 {
			fc.Advance(10 * time.Second)
		}
	}
	if _, evs := w.snapshot(); len(evs) == 0 {
		t.Fatal("no window opened")
	}
	if err := n.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(posted) != 0 {
		t.Errorf("sent during planned maintenance: %+v", posted)
	}
	mu.Unlock()

	if err := d.Reload(maintConfig(nil)); err != nil { // the maintenance is called off
		t.Fatal(err)
	}
	if err := n.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(posted) == 0 || !posted[0].StartsAt.Equal(t0) || posted[0].Labels["service"] != "svc" {
		t.Errorf("after the reload: %+v; want the alert with startsAt %s", posted, t0)
	}
}
