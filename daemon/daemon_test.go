package daemon

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/state"
	"github.com/slaprobe/slaprobe/store"
)

// running is a daemon started with Run on a fake clock.
type running struct {
	d      *Daemon
	w      *fakeWriter
	fc     *clockwork.FakeClock
	cancel context.CancelFunc
	done   chan error
}

func startDaemon(t *testing.T, cfg *config.Config, runner flowRunner) *running {
	t.Helper()
	fc := clockwork.NewFakeClockAt(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	d, w := newTestDaemon(t, cfg, &fakeStore{}, Deps{Clock: ClockworkClock(fc), Grace: 2 * time.Second})
	if runner != nil {
		setRunner(d, runner)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{d: d, w: w, fc: fc, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- d.Run(ctx) }()
	waitFor(t, "scheduler start", func() bool {
		d.mu.RLock()
		defer d.mu.RUnlock()
		return d.sched != nil && len(d.sched.Jobs()) == len(d.flows)
	})
	t.Cleanup(func() { r.stop(t) })
	return r
}

func (r *running) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
		r.done <- nil // later stops see it done
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

// advance moves the fake clock by total in steps, letting goroutines react.
func (r *running) advance(total, step time.Duration) {
	for moved := time.Duration(0); moved < total; moved += step {
		r.fc.Advance(step)
		time.Sleep(2 * time.Millisecond)
	}
}

func (r *running) jobNames() []string {
	r.d.mu.RLock()
	s := r.d.sched
	r.d.mu.RUnlock()
	var out []string
	for _, j := range s.Jobs() {
		out = append(out, j.Name())
	}
	slices.Sort(out)
	return out
}

func TestSchedulerNoOverlapCountsSkips(t *testing.T) {
	iv := 10 * time.Second
	release := make(chan struct{})
	var calls, active, maxActive atomic.Int32
	var fcNow func() time.Time
	runner := funcRunner(func(ctx context.Context, f *config.Flow) probe.Run {
		calls.Add(1)
		n := active.Add(1)
		for {
			m := maxActive.Load()
			if n <= m || maxActive.CompareAndSwap(m, n) {
				break
			}
		}
		defer active.Add(-1)
		select {
		case <-release:
		case <-ctx.Done():
		}
		return mkRun(f.Name, fcNow(), "")
	})
	r := startDaemon(t, testConfig(iv, "slow"), runner)
	fcNow = r.fc.Now

	r.advance(iv, 500*time.Millisecond)
	waitFor(t, "first run", func() bool { return calls.Load() == 1 })
	r.advance(2*iv+time.Second, 500*time.Millisecond)
	waitFor(t, "two skips", func() bool {
		return testutil.ToFloat64(r.d.m.skipped.WithLabelValues("slow")) >= 2
	})
	if c := calls.Load(); c != 1 {
		t.Fatalf("%d runs started while the first was in flight", c)
	}
	close(release)
	waitFor(t, "first run stored", func() bool { runs, _ := r.w.snapshot(); return len(runs) == 1 })
	r.advance(3*iv, 500*time.Millisecond)
	waitFor(t, "runs after release", func() bool { return calls.Load() >= 3 })
	if m := maxActive.Load(); m != 1 {
		t.Errorf("%d runs of one flow at once", m)
	}
	if n := testutil.CollectAndCount(r.d.m.lag); n != 1 {
		t.Errorf("schedule lag histogram missing")
	}
}

func TestReloadAddsAndRemovesFlows(t *testing.T) {
	iv := 10 * time.Second
	r := startDaemon(t, testConfig(iv, "a", "b"), nil)
	if got := r.jobNames(); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("jobs %v, want [a b]", got)
	}
	r.advance(iv, 500*time.Millisecond)
	waitFor(t, "a and b ran", func() bool {
		return seriesWith(t, r.d.Gatherer(), "flow", "a") > 0 && seriesWith(t, r.d.Gatherer(), "flow", "b") > 0
	})

	cfg := testConfig(iv, "a", "c")
	cfg.Services[0].Flows[0].Interval = 20 * time.Second // a changes interval
	if err := r.d.Reload(cfg); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	if got := r.jobNames(); !slices.Equal(got, []string{"a", "c"}) {
		t.Errorf("jobs after reload %v, want [a c]", got)
	}
	if n := seriesWith(t, r.d.Gatherer(), "flow", "b"); n != 0 {
		t.Errorf("%d series of removed flow b remain", n)
	}
	runsOf := func(flow string) int {
		runs, _ := r.w.snapshot()
		n := 0
		for _, run := range runs {
			if run.Flow == flow {
				n++
			}
		}
		return n
	}
	bBefore := runsOf("b")
	r.advance(2*iv, 500*time.Millisecond)
	waitFor(t, "c ran", func() bool { return seriesWith(t, r.d.Gatherer(), "flow", "c") > 0 && runsOf("c") > 0 })
	if runsOf("b") != bBefore {
		t.Errorf("removed flow b still runs")
	}
	st := r.d.Status()
	var names []string
	for _, f := range st.Flows {
		names = append(names, f.Flow)
		if f.Flow == "a" && f.IntervalSeconds != 20 {
			t.Errorf("a's interval after reload = %v s, want 20", f.IntervalSeconds)
		}
	}
	if !slices.Equal(names, []string{"a", "c"}) {
		t.Errorf("status flows %v, want [a c]", names)
	}

	bad := testConfig(iv, "a")
	bad.Location = "busan-b"
	if err := r.d.Reload(bad); err == nil || !strings.Contains(err.Error(), "location") {
		t.Errorf("Reload with another location: err = %v, want a location error", err)
	}
}

func TestReloadClosesWindowsOfRemovedFlow(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	al := &recAlerter{}
	d, w := newTestDaemon(t, testConfig(time.Minute, "a", "b"), nil, Deps{Alerter: al})
	startPipeline(d, w)
	for i := range 3 {
		run := mkRun("b", t0.Add(time.Duration(i)*time.Minute), "send")
		d.process(&run)
	}
	_, before := w.snapshot()
	if err := d.Reload(testConfig(time.Minute, "a")); err != nil {
		t.Fatal(err)
	}
	_, after := w.snapshot()
	closes := after[len(before):]
	if len(closes) != 3 { // flow, send, receive
		t.Fatalf("reload made %d events, want 3 closes: %s", len(closes), eventsString(closes))
	}
	for _, e := range closes {
		if e.Op != "close" || !e.Window.End.Equal(t0.Add(3*time.Minute)) {
			t.Errorf("event %s: want close at the end of the last run's interval", eventsString([]state.Event{e}))
		}
	}
	if seriesWith(t, d.Gatherer(), "flow", "b") != 0 {
		t.Error("series of b remain")
	}
}

func TestHealthz(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	fc := clockwork.NewFakeClockAt(now)
	for _, tc := range []struct {
		name     string
		started  bool
		stats    store.WriterStats
		idle     time.Duration
		wantCode int
		wantBody string
	}{
		{"not started", false, store.WriterStats{}, 0, 503, "not started"},
		{"healthy", true, store.WriterStats{Committed: 10}, 30 * time.Second, 200, "ok"},
		{"writer stuck", true, store.WriterStats{Stuck: true, LastError: "database is locked", Queued: 42}, 0, 503, "store writer stuck: database is locked (42 queued)"},
		{"no run for 2x the largest interval", true, store.WriterStats{}, 3 * time.Minute, 503, "no run started or ended"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, _ := newTestDaemon(t, testConfig(time.Minute, "a"), nil, Deps{Clock: ClockworkClock(fc)})
			if tc.started {
				startPipeline(d, &fakeWriter{stats: tc.stats})
			}
			d.lastActivity.Store(now.Add(-tc.idle).UnixNano())
			rec := httptest.NewRecorder()
			d.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
			if rec.Code != tc.wantCode || !strings.Contains(rec.Body.String(), tc.wantBody) {
				t.Errorf("GET /healthz = %d %q, want %d containing %q", rec.Code, rec.Body.String(), tc.wantCode, tc.wantBody)
			}
		})
	}
}

func TestStatusAndMetricsEndpoints(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	fc := clockwork.NewFakeClockAt(t0.Add(3 * time.Minute))
	d, w := newTestDaemon(t, testConfig(time.Minute, "msg", "idle"), nil, Deps{Clock: ClockworkClock(fc), Version: "1.2.3"})
	startPipeline(d, w)
	for i := range 3 {
		run := mkRun("msg", t0.Add(time.Duration(i)*time.Minute), "receive")
		d.process(&run)
	}
	h := d.Handler()

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/status", nil))
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("GET /api/v1/status = %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	var doc struct {
		Location string    `json:"location"`
		Time     time.Time `json:"time"`
		Flows    []struct {
			Flow            string          `json:"flow"`
			Service         string          `json:"service"`
			Location        string          `json:"location"`
			IntervalSeconds float64         `json:"interval_seconds"`
			LastStart       *time.Time      `json:"last_start"`
			LastRun         json.RawMessage `json:"last_run"`
			State           string          `json:"state"`
			Functions       []struct {
				Function string `json:"function"`
				State    string `json:"state"`
			} `json:"functions"`
			OpenWindows []map[string]any `json:"open_windows"`
			Maintenance json.RawMessage  `json:"maintenance"`
		} `json:"flows"`
	}
	dec := json.NewDecoder(rec.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("status JSON: %v", err)
	}
	if doc.Location != "seoul-a" || len(doc.Flows) != 2 {
		t.Fatalf("status: location %q, %d flows", doc.Location, len(doc.Flows))
	}
	idle, msg := doc.Flows[0], doc.Flows[1]
	if idle.Flow != "idle" || string(idle.LastRun) != "null" || idle.State != "unknown" || len(idle.OpenWindows) != 0 {
		t.Errorf("idle flow: %+v", idle)
	}
	if msg.Flow != "msg" || msg.Service != "svc" || msg.Location != "seoul-a" || msg.IntervalSeconds != 60 || msg.State != "down" {
		t.Errorf("msg flow: %+v", msg)
	}
	if string(msg.Maintenance) != "null" {
		t.Errorf("msg flow: maintenance %s, want null (no maintenance: windows)", msg.Maintenance)
	}
	var last map[string]any
	if err := json.Unmarshal(msg.LastRun, &last); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"start", "ok", "error"} {
		if _, ok := last[k]; !ok {
			t.Errorf("last_run lacks %q: %v", k, last)
		}
	}
	if last["ok"] != false || last["cause_step"] != "receive" {
		t.Errorf("last_run = %v", last)
	}
	wantFns := map[string]string{"login": "up", "send": "up", "receive": "down"}
	for _, f := range msg.Functions {
		if wantFns[f.Function] != f.State {
			t.Errorf("function %s: state %s, want %s", f.Function, f.State, wantFns[f.Function])
		}
	}
	if len(msg.OpenWindows) != 2 || msg.OpenWindows[0]["function"] != nil || msg.OpenWindows[1]["function"] != "receive" ||
		msg.OpenWindows[0]["kind"] != "down" || msg.OpenWindows[0]["duration_seconds"] != 180.0 {
		t.Errorf("open windows: %v", msg.OpenWindows)
	}

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`slaprobe_build_info{goversion="go`, `version="1.2.3"} 1`,
		`probe_success{flow="msg",location="seoul-a",service="svc",step="receive"} 0`,
		`slaprobe_flow_up{flow="msg",location="seoul-a",service="svc"} 0`,
		`slaprobe_window_open{flow="msg",function="receive",kind="down",service="svc"} 1`,
		`slaprobe_objective_ratio{service="svc"} 0.999`,
		`slaprobe_store_queue_depth 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if rec.Code != http.StatusOK {
		t.Errorf("GET /metrics = %d", rec.Code)
	}
}

func TestRunDrainsInFlightAndFlushes(t *testing.T) {
	iv := 10 * time.Second
	entered := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	var fcNow func() time.Time
	runner := funcRunner(func(ctx context.Context, f *config.Flow) probe.Run {
		once.Do(func() { close(entered) })
		<-release
		return mkRun(f.Name, fcNow(), "")
	})
	r := startDaemon(t, testConfig(iv, "a"), runner)
	fcNow = r.fc.Now
	go r.advance(iv, 500*time.Millisecond)
	select {
	case <-entered:
	case <-time.After(5 * time.Second):
		t.Fatal("no run started")
	}
	r.cancel()
	time.Sleep(50 * time.Millisecond)
	if ok, reason := r.d.Health(); ok || reason != "shutting down" {
		t.Errorf("Health while draining = %v %q", ok, reason)
	}
	close(release)
	select {
	case err := <-r.done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		r.done <- nil
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
	runs, _ := r.w.snapshot()
	if len(runs) != 1 || !r.w.closed {
		t.Errorf("after shutdown: %d runs stored, writer closed %v; want the in-flight run and a closed writer", len(runs), r.w.closed)
	}
}

func TestPruneInSmallBatches(t *testing.T) {
	st := &fakeStore{pruned: 12345}
	d, _ := newTestDaemon(t, testConfig(time.Minute, "a"), st, Deps{})
	if n := d.prune(context.Background(), store.Cutoffs{Runs: time.Now()}); n != 12345 {
		t.Errorf("pruned %d, want 12345", n)
	}
	st.pruned = pruneBatch * (pruneMaxBatches + 5)
	if n := d.prune(context.Background(), store.Cutoffs{Runs: time.Now()}); n != pruneBatch*pruneMaxBatches {
		t.Errorf("one tick pruned %d, want at most %d", n, pruneBatch*pruneMaxBatches)
	}
}

func TestMetricsStreamMatchesGatherer(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	d, w := newTestDaemon(t, testConfig(time.Minute, "a", `b"quoted\`, "idle", "passing", "failing"), nil, Deps{})
	startPipeline(d, w)
	for i, fail := range []string{"", "send", "send", "", "login"} {
		for _, f := range []string{"a", `b"quoted\`} {
			run := mkRun(f, t0.Add(time.Duration(i)*time.Minute), fail)
			run.Steps[0].Duration = time.Duration(i+1) * 7 * time.Millisecond
			d.process(&run)
		}
		// Flows that only pass or only fail: slaprobe_runs_total has the
		// other result at 0 in both.
		for f, fail := range map[string]string{"passing": "", "failing": "login"} {
			run := mkRun(f, t0.Add(time.Duration(i)*time.Minute), fail)
			d.process(&run)
		}
	}
	for _, gz := range []bool{false, true} {
		req := httptest.NewRequest("GET", "/metrics", nil)
		if gz {
			req.Header.Set("Accept-Encoding", "gzip")
		}
		rec := httptest.NewRecorder()
		d.Handler().ServeHTTP(rec, req)
		var body io.Reader = rec.Body
		if gz {
			zr, err := gzip.NewReader(rec.Body)
			if err != nil {
				t.Fatalf("gzip: %v", err)
			}
			body = zr
		}
		parser := expfmt.NewTextParser(model.UTF8Validation)
		streamed, err := parser.TextToMetricFamilies(body)
		if err != nil {
			t.Fatalf("parsing /metrics (gzip %v): %v", gz, err)
		}
		gathered, err := d.Gatherer().Gather()
		if err != nil {
			t.Fatal(err)
		}
		if len(streamed) != len(gathered) {
			t.Errorf("/metrics has %d families, Gatherer %d", len(streamed), len(gathered))
		}
		for _, mf := range gathered {
			got, ok := streamed[mf.GetName()]
			if !ok {
				t.Errorf("/metrics lacks %s", mf.GetName())
				continue
			}
			if a, b := familyText(t, mf), familyText(t, got); a != b {
				t.Errorf("%s differs:\ngathered:\n%s\nstreamed:\n%s", mf.GetName(), a, b)
			}
		}
	}
}

// familyText renders a family in the text format with its samples sorted.
func familyText(t *testing.T, mf *dto.MetricFamily) string {
	t.Helper()
	var b strings.Builder
	if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}
