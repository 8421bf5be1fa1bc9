package daemon

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/slaprobe/slaprobe/state"
)

func TestPipelineEventsToMetrics(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	iv := time.Minute
	al := &recAlerter{}
	d, w := newTestDaemon(t, testConfig(iv, "msg"), nil, Deps{Alerter: al})
	startPipeline(d, w)
	m := d.m

	type check struct {
		flowUp        float64 // -1: no sample (unknown)
		receiveUp     float64
		loginUp       float64
		windowOpen    float64 // whole-flow down window; -1: no series
		downtime      float64 // whole-flow downtime seconds
		receiveDown   float64 // receive downtime seconds
		runsOK        float64
		runsFailed    float64
		successRecv   float64
		wantNewEvents int
	}
	steps := []struct {
		name string
		at   time.Duration
		fail string
		want check
	}{
		{"ok run: up", 0, "", check{1, 1, 1, -1, 0, 0, 1, 0, 1, 0}},
		{"first failure: still up", 1 * time.Minute, "receive", check{1, 1, 1, -1, 0, 0, 1, 1, 0, 0}},
		// Second failure confirms: windows for the flow and receive open,
		// backdated to the first failure; downtime counts 1 min already.
		{"second failure: down, backdated", 2 * time.Minute, "receive", check{0, 0, 1, 1, 60, 60, 1, 2, 0, 2}},
		{"third failure: downtime grows to its start", 3 * time.Minute, "receive", check{0, 0, 1, 1, 120, 120, 1, 3, 0, 0}},
		// Recovery closes both at the start of the passing run: 3 min exactly.
		{"ok run: up, windows closed", 4 * time.Minute, "", check{1, 1, 1, 0, 180, 180, 2, 3, 1, 2}},
		// A failure at login blocks every function.
		{"login failure", 5 * time.Minute, "login", check{1, 1, 1, 0, 180, 180, 2, 4, 0, 0}},
		{"login failure confirmed", 6 * time.Minute, "login", check{0, 0, 0, 1, 240, 240, 2, 5, 0, 4}},
	}
	prevEvents := 0
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			run := mkRun("msg", t0.Add(st.at), st.fail)
			d.process(&run)
			if st.want.flowUp < 0 {
				if n := countSeries(t, d.Gatherer(), "slaprobe_flow_up"); n != 0 {
					t.Errorf("flow_up has %d samples while unknown", n)
				}
			} else if got, _ := sample(t, d.Gatherer(), "slaprobe_flow_up", "flow", "msg", "service", "svc", "location", "seoul-a"); got != st.want.flowUp {
				t.Errorf("slaprobe_flow_up = %v, want %v", got, st.want.flowUp)
			}
			if got, _ := sample(t, d.Gatherer(), "slaprobe_function_up", "flow", "msg", "function", "receive", "location", "seoul-a"); got != st.want.receiveUp {
				t.Errorf("slaprobe_function_up{receive} = %v, want %v", got, st.want.receiveUp)
			}
			if got, _ := sample(t, d.Gatherer(), "slaprobe_function_up", "flow", "msg", "function", "login"); got != st.want.loginUp {
				t.Errorf("slaprobe_function_up{login} = %v, want %v", got, st.want.loginUp)
			}
			if st.want.windowOpen < 0 {
				if n := testutil.CollectAndCount(m.windowOpen); n != 0 {
					t.Errorf("window_open has %d series before any window", n)
				}
			} else if got := testutil.ToFloat64(m.windowOpen.WithLabelValues("msg", "svc", "", "down")); got != st.want.windowOpen {
				t.Errorf("slaprobe_window_open{function=\"\",kind=down} = %v, want %v", got, st.want.windowOpen)
			}
			if got := testutil.ToFloat64(m.downtime.WithLabelValues("msg", "svc", "")); got != st.want.downtime {
				t.Errorf("slaprobe_downtime_seconds_total{function=\"\"} = %v, want %v", got, st.want.downtime)
			}
			if got := testutil.ToFloat64(m.downtime.WithLabelValues("msg", "svc", "receive")); got != st.want.receiveDown {
				t.Errorf("slaprobe_downtime_seconds_total{receive} = %v, want %v", got, st.want.receiveDown)
			}
			if got, _ := sample(t, d.Gatherer(), "slaprobe_runs_total", "flow", "msg", "service", "svc", "location", "seoul-a", "result", "ok"); got != st.want.runsOK {
				t.Errorf("runs_total{ok} = %v, want %v", got, st.want.runsOK)
			}
			if got, _ := sample(t, d.Gatherer(), "slaprobe_runs_total", "flow", "msg", "result", "failed"); got != st.want.runsFailed {
				t.Errorf("runs_total{failed} = %v, want %v", got, st.want.runsFailed)
			}
			if got, _ := sample(t, d.Gatherer(), "probe_success", "flow", "msg", "step", "receive", "service", "svc", "location", "seoul-a"); got != st.want.successRecv {
				t.Errorf("probe_success{receive} = %v, want %v", got, st.want.successRecv)
			}
			_, evs := w.snapshot()
			if n := len(evs) - prevEvents; n != st.want.wantNewEvents {
				t.Errorf("%d new events, want %d: %s", n, st.want.wantNewEvents, eventsString(evs[prevEvents:]))
			}
			prevEvents = len(evs)
		})
	}

	runs, evs := w.snapshot()
	if len(runs) != len(steps) {
		t.Errorf("writer got %d runs, want %d", len(runs), len(steps))
	}
	al.mu.Lock()
	if len(al.evs) != len(evs) {
		t.Errorf("alerter got %d events, writer %d", len(al.evs), len(evs))
	}
	al.mu.Unlock()
	// The first down window: backdated to the first failure, closed at the
	// recovery run's start.
	if evs[0].Op != state.OpOpen || !evs[0].Window.Start.Equal(t0.Add(time.Minute)) || !evs[0].Window.Confirmed.Equal(t0.Add(2*time.Minute)) {
		t.Errorf("first event %+v: want open backdated to t0+1m, confirmed t0+2m", evs[0])
	}
	if n := countSeries(t, d.Gatherer(), "probe_duration_seconds"); n != 3 {
		t.Errorf("probe_duration_seconds has %d series, want 3 (one per step)", n)
	}
	if n := countSeries(t, d.Gatherer(), "probe_http_duration_seconds"); n != 15 {
		t.Errorf("probe_http_duration_seconds has %d series, want 3 steps x 5 phases", n)
	}
}

func TestDowntimeExactWithUpAfter(t *testing.T) {
	// With up_after 3 the window ends at the first of the passing runs, so
	// the counter must not count the passing runs as down.
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	cfg := testConfig(time.Minute, "msg")
	cfg.Services[0].Flows[0].UpAfter = 3
	d, w := newTestDaemon(t, cfg, nil, Deps{})
	startPipeline(d, w)
	pattern := []string{"", "send", "send", "send", "", "", "send", "", "", ""}
	for i, f := range pattern {
		run := mkRun("msg", t0.Add(time.Duration(i)*time.Minute), f)
		d.process(&run)
	}
	// Down from t0+1m; the failure at 6m interrupts the passing streak, so
	// up again at 7m: 6 minutes.
	if got := testutil.ToFloat64(d.m.downtime.WithLabelValues("msg", "svc", "")); got != 360 {
		t.Errorf("downtime = %v s, want 360", got)
	}
	_, evs := w.snapshot()
	var closed time.Duration
	for _, e := range evs {
		if e.Op == state.OpClose && e.Window.Function == "" && e.Window.Kind == state.KindDown {
			closed += e.Window.End.Sub(e.Window.Start)
		}
	}
	if closed != 6*time.Minute {
		t.Errorf("closed windows sum to %v, want 6m: %s", closed, eventsString(evs))
	}
}

func TestPipelineCountsDroppedResults(t *testing.T) {
	d, w := newTestDaemon(t, testConfig(time.Minute, "msg"), nil, Deps{})
	w.refuse = true
	startPipeline(d, w)
	run := mkRun("msg", time.Now(), "")
	d.process(&run)
	if got := testutil.ToFloat64(d.m.dropped); got != 1 {
		t.Errorf("slaprobe_store_dropped_results_total = %v, want 1", got)
	}
}

func TestRestoreOpenWindowsNoDuplicateOpen(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	key := state.Key{Service: "svc", Flow: "msg", Location: "seoul-a"}
	fnKey := key
	fnKey.Function = "receive"
	st := &fakeStore{
		open: []state.Window{
			{Key: key, Kind: state.KindDown, Start: t0, Confirmed: t0.Add(time.Minute), CauseStep: "receive", Error: "status 503, want 200"},
			{Key: fnKey, Kind: state.KindDown, Start: t0, Confirmed: t0.Add(time.Minute), CauseStep: "receive", Error: "status 503, want 200"},
			{Key: state.Key{Service: "svc", Flow: "gone", Location: "seoul-a"}, Kind: state.KindDown, Start: t0},
		},
		lastRuns: map[string]time.Time{"msg": t0.Add(5 * time.Minute)},
	}
	d, w := newTestDaemon(t, testConfig(time.Minute, "msg"), st, Deps{})
	now := t0.Add(5*time.Minute + 30*time.Second)
	if _, err := d.restore(context.Background(), d.flowList(), now, nil, false); err != nil {
		t.Fatal(err)
	}
	startPipeline(d, w)
	if got := testutil.ToFloat64(d.m.windowOpen.WithLabelValues("msg", "svc", "", "down")); got != 1 {
		t.Errorf("window_open after restore = %v, want 1", got)
	}
	if got, ok := sample(t, d.Gatherer(), "slaprobe_flow_up", "flow", "msg"); !ok || got != 0 {
		t.Errorf("flow_up after restore = %v, want 0 (down)", got)
	}
	fs := d.flows["msg"]
	if want := NextDue("seoul-a", "msg", time.Minute, t0.Add(5*time.Minute), now); !fs.anchor.Equal(want) || fs.anchor.After(t0.Add(6*time.Minute)) {
		t.Errorf("first due after restart = %v, want %v, at most lastRun+interval", fs.anchor, want)
	}
	// Still failing after the restart: no second open.
	for i := 6; i <= 7; i++ {
		run := mkRun("msg", t0.Add(time.Duration(i)*time.Minute), "receive")
		d.process(&run)
	}
	if _, evs := w.snapshot(); len(evs) != 0 {
		t.Fatalf("failing runs after restart made events: %s", eventsString(evs))
	}
	run := mkRun("msg", t0.Add(8*time.Minute), "")
	d.process(&run)
	_, evs := w.snapshot()
	if len(evs) != 2 {
		t.Fatalf("recovery made %d events, want 2 closes: %s", len(evs), eventsString(evs))
	}
	for _, e := range evs {
		if e.Op != state.OpClose || !e.Window.Start.Equal(t0) || !e.Window.End.Equal(t0.Add(8*time.Minute)) {
			t.Errorf("event %+v: want close of the restored window t0..t0+8m", e)
		}
	}
	// Downtime after the restart counts from the last stored run (5m): 3 min.
	if got := testutil.ToFloat64(d.m.downtime.WithLabelValues("msg", "svc", "")); got != 180 {
		t.Errorf("downtime after restart = %v, want 180", got)
	}
}

// TestRestoreSpreadsFirstRuns: when the daemon starts with many flows of one
// interval and none has run recently (a fresh store, or a store whose last
// runs are older than an interval), the first runs are due spread over the
// next interval, never all at once: firing every flow at start-up would be a
// thundering herd against the target and a memory peak in the daemon (the
// 1,000-WebSocket scale run holds ~700 streams at once only because of this
// spread).
func TestRestoreSpreadsFirstRuns(t *testing.T) {
	const flows, buckets = 1000, 10
	iv := 10 * time.Second
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	names := make([]string, flows)
	for i := range names {
		names[i] = fmt.Sprintf("ws-%05d", i)
	}
	for _, tc := range []struct {
		name    string
		lastRun time.Time // zero: never ran
	}{
		{"fresh store", time.Time{}},
		{"after downtime", now.Add(-time.Hour)},
		{"last run just over an interval ago", now.Add(-iv - time.Millisecond)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &fakeStore{}
			if !tc.lastRun.IsZero() {
				st.lastRuns = map[string]time.Time{}
				for _, n := range names {
					st.lastRuns[n] = tc.lastRun
				}
			}
			d, _ := newTestDaemon(t, testConfig(iv, names...), st, Deps{})
			if _, err := d.restore(context.Background(), d.flowList(), now, nil, false); err != nil {
				t.Fatal(err)
			}
			var per [buckets]int
			for _, n := range names {
				a := d.flows[n].anchor
				if a.Before(now) || !a.Before(now.Add(iv)) {
					t.Fatalf("%s first due at %v, want within [now, now+%s)", n, a, iv)
				}
				per[a.Sub(now)*buckets/iv]++
			}
			// A uniform spread puts flows/buckets in each tenth of the
			// interval (the offsets are a fixed hash: no flake).
			for i, n := range per {
				if n < flows/buckets/2 || n > flows/buckets*3/2 {
					t.Errorf("%d of %d flows first due in tenth %d of the interval, want about %d (all: %v)", n, flows, i, flows/buckets, per)
				}
			}
		})
	}
}

// slaprobe_runs_total has both results once a flow has a scheduled run, the
// one not seen yet at 0: a series that first appears at 1 hides that run from
// rate() and increase() (Prometheus takes a new series' first sample as
// its start), so the first failure of a flow that had only passed, or the
// first pass after an outage since start-up, was lost to the "exact uptime
// from rates" the counter is for, and a ratio of failed to all runs had no
// value for a flow that never failed.
func TestRunsTotalHasBothResults(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		fails  []string // one scheduled run a minute; "" passes
		ok, ko float64
	}{
		{"none run yet: no series", nil, -1, -1},
		{"passed only", []string{""}, 1, 0},
		{"failed only", []string{"receive", "receive"}, 0, 2},
		{"both", []string{"", "send", ""}, 2, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, w := newTestDaemon(t, testConfig(time.Minute, "msg"), nil, Deps{})
			startPipeline(d, w)
			for i, f := range tc.fails {
				run := mkRun("msg", t0.Add(time.Duration(i)*time.Minute), f)
				d.process(&run)
			}
			// Both what /metrics streams and the collector (Gatherer).
			rec := httptest.NewRecorder()
			d.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
			parser := expfmt.NewTextParser(model.UTF8Validation)
			scraped, err := parser.TextToMetricFamilies(rec.Body)
			if err != nil {
				t.Fatal(err)
			}
			for _, src := range []struct {
				name string
				g    prometheus.Gatherer
			}{
				{"/metrics", prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
					var out []*dto.MetricFamily
					for _, mf := range scraped {
						out = append(out, mf)
					}
					return out, nil
				})},
				{"Gatherer", d.Gatherer()},
			} {
				for _, r := range []struct {
					result string
					want   float64
				}{{"ok", tc.ok}, {"failed", tc.ko}} {
					got, ok := sample(t, src.g, "slaprobe_runs_total", "flow", "msg", "service", "svc", "location", "seoul-a", "result", r.result)
					switch {
					case r.want < 0 && ok:
						t.Errorf("%s: runs_total{result=%q} = %v before any run, want no series", src.name, r.result, got)
					case r.want >= 0 && !ok:
						t.Errorf("%s: runs_total{result=%q} has no series, want %v", src.name, r.result, r.want)
					case r.want >= 0 && got != r.want:
						t.Errorf("%s: runs_total{result=%q} = %v, want %v", src.name, r.result, got, r.want)
					}
				}
			}
		})
	}
}
