package daemon

import (
	"bytes"
	"context"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/state"
)

// #13.3: with hourly flows a run's jitter is up to 72 s. Shutdown must not
// sleep it out (it used to count the run in flight and sleep on a context
// cancelled only after the grace period), nor start the probe once shutdown
// has begun (it used to run it when the sleep ended).
func TestShutdownDoesNotWaitOutJitterNorStartRuns(t *testing.T) {
	var calls atomic.Int32
	fc := clockwork.NewFakeClockAt(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	d, w := newTestDaemon(t, testConfig(time.Hour, "hourly"), &fakeStore{}, Deps{Clock: ClockworkClock(fc), Grace: time.Minute})
	setRunner(d, funcRunner(func(ctx context.Context, f *config.Flow) probe.Run {
		calls.Add(1)
		return mkRun(f.Name, fc.Now(), "")
	}))
	d.jitter = func(string, string, time.Duration, time.Time) time.Duration { return 72 * time.Second }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	waitFor(t, "scheduler start", func() bool {
		d.mu.RLock()
		defer d.mu.RUnlock()
		return d.sched != nil && len(d.sched.Jobs()) == 1
	})
	fs := d.flows["hourly"]
	// Move to the job's due time: fire starts and waits out its jitter.
	for !fs.running.Load() {
		fc.Advance(time.Minute)
		time.Sleep(2 * time.Millisecond)
		if fc.Since(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)) > 2*time.Hour {
			t.Fatal("the hourly job never fired")
		}
	}
	if calls.Load() != 0 {
		t.Fatalf("the run started before its jitter passed")
	}

	began := time.Now()
	cancel()
	waitFor(t, "shutdown to begin", func() bool {
		d.mu.RLock()
		defer d.mu.RUnlock()
		return d.stopping
	})
	// Nothing is in flight: Run returns without the clock moving.
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		done <- nil
	case <-time.After(10 * time.Second):
		t.Errorf("Run still shutting down after 10 s (grace 1m): it waits out the jitter of a run that has not started")
	}
	took := time.Since(began)
	// Then the jitter ends (in virtual time) while shutting down: still no
	// run may start.
	fc.Advance(2 * time.Minute)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Run did not return")
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("%d run(s) started after shutdown began", n)
	}
	if !w.closed {
		t.Error("the store writer was not closed (final flush)")
	}
	t.Logf("shutdown with one run waiting out 72 s of jitter took %s", took.Round(time.Millisecond))
}

// #13.2: every run in flight when shutdown begins finishes and its events
// reach the alerter and the writer before Run returns; the writer is closed
// only after them.
func TestShutdownDrainsBeforeFlushing(t *testing.T) {
	release := make(chan struct{})
	var started atomic.Bool
	fc := clockwork.NewFakeClockAt(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	al := &recAlerter{}
	st := &fakeStore{}
	t0 := fc.Now()
	key := state.Key{Service: "svc", Flow: "msg", Location: "seoul-a"}
	st.open = []state.Window{{Key: key, Kind: state.KindDown, Start: t0.Add(-5 * time.Minute), Confirmed: t0.Add(-4 * time.Minute)}}
	st.lastRuns = map[string]time.Time{"msg": t0.Add(-time.Minute)}
	d, w := newTestDaemon(t, testConfig(time.Minute, "msg"), st, Deps{Clock: ClockworkClock(fc), Grace: time.Minute, Alerter: al})
	setRunner(d, funcRunner(func(ctx context.Context, f *config.Flow) probe.Run {
		started.Store(true)
		<-release
		return mkRun(f.Name, t0.Add(time.Minute), "") // passes: closes the window
	}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	waitFor(t, "scheduler start", func() bool {
		d.mu.RLock()
		defer d.mu.RUnlock()
		return d.sched != nil && len(d.sched.Jobs()) == 1
	})
	for !started.Load() {
		fc.Advance(5 * time.Second)
		time.Sleep(2 * time.Millisecond)
	}
	cancel()
	waitFor(t, "shutdown to begin", func() bool {
		d.mu.RLock()
		defer d.mu.RUnlock()
		return d.stopping
	})
	if ok, reason := d.Health(); ok || reason != "shutting down" {
		t.Errorf("Health during the drain = %v %q, want false \"shutting down\"", ok, reason)
	}
	if w.closed {
		t.Fatal("writer closed while a run was in flight")
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !w.closed {
		t.Fatal("writer not closed")
	}
	_, evs := w.snapshot()
	al.mu.Lock()
	alerted := slices.Clone(al.evs)
	al.mu.Unlock()
	for name, got := range map[string][]state.Event{"writer": evs, "alerter": alerted} {
		if !slices.ContainsFunc(got, func(e state.Event) bool { return e.Op == state.OpClose && e.Window.Kind == state.KindDown }) {
			t.Errorf("%s never got the close of the window the drained run ended: %s", name, eventsString(got))
		}
	}
}

// #13.4: Run read d.cfg without the lock Reload writes it under (a SIGHUP
// during startup). Fails under -race on the old code.
func TestReloadDuringStartupNoRace(t *testing.T) {
	for i := range 20 {
		fc := clockwork.NewFakeClockAt(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
		cfg := testConfig(time.Minute, "a", "b")
		d, _ := newTestDaemon(t, cfg, &fakeStore{}, Deps{Clock: ClockworkClock(fc), Grace: time.Second})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- d.Run(ctx) }()
		// SIGHUPs while Run starts and right after.
		started := func() bool {
			d.mu.RLock()
			defer d.mu.RUnlock()
			return d.started
		}
		for j := 0; j < 3 || !started(); j++ {
			next := testConfig(time.Minute, "a", "b")
			next.Services[0].Flows[0].Timeout = time.Duration(2+i+j) * time.Second
			if err := d.Reload(next); err != nil {
				t.Fatal(err)
			}
			runtime.Gosched()
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// pairRunner checks that every flow it runs comes from the config it was
// built from.
type pairRunner struct {
	cfg   *config.Config
	wrong *atomic.Int32
}

func (r pairRunner) Run(_ context.Context, f *config.Flow) probe.Run {
	if !slices.Contains(flowsOf(r.cfg), f) {
		r.wrong.Add(1)
	}
	return mkRun(f.Name, time.Now(), "")
}

// #13.4: fire read the runner (d.mu) and the flow (fs.mu) under different
// locks, so a reload in between paired one config's runner with another
// config's flow (its secrets, transports, compiled templates).
func TestFirePairsRunnerWithItsFlowAcrossReloads(t *testing.T) {
	var names []string
	for i := range 100 {
		names = append(names, fmt.Sprintf("f%03d", i))
	}
	mk := func(url string) *config.Config {
		cfg := testConfig(time.Minute, names...)
		for i := range cfg.Services[0].Flows {
			cfg.Services[0].Flows[i].Steps[0].Request.URL = url
		}
		return cfg
	}
	a, b := mk("http://a.invalid/"), mk("http://b.invalid/")
	d, w := newTestDaemon(t, a, &fakeStore{}, Deps{})
	var wrong atomic.Int32
	d.newRunner = func(cfg *config.Config, _ flowRunner) (flowRunner, error) { return pairRunner{cfg, &wrong}, nil }
	r, _ := d.newRunner(a, nil)
	setRunnerOnly(d, r)
	startPipeline(d, w)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var fired atomic.Int64
	for g := range 4 {
		wg.Go(func() {
			for i := g; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				d.mu.RLock()
				fs := d.flows[names[i%len(names)]]
				d.mu.RUnlock()
				d.fire(fs)
				fired.Add(1)
			}
		})
	}
	for i := range 60 {
		next := a
		if i%2 == 0 {
			next = b
		}
		if err := d.Reload(next); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if n := wrong.Load(); n > 0 {
		t.Errorf("%d of %d runs paired a runner with a flow of another config", n, fired.Load())
	}
}

// setRunnerOnly sets the current runner without replacing the seam.
func setRunnerOnly(d *Daemon, r flowRunner) {
	nr := d.newRunner
	setRunner(d, r)
	d.newRunner = nr
}

// #13.5: a reload that changes the policy or the functions kept the open
// windows but lost the failure streaks (a new machine), and
// slaprobe_flow_up vanished until the next run.
func TestReloadKeepsStreaksAndVerdict(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		change func(f *config.Flow)
	}{
		{"policy", func(f *config.Flow) { f.UpAfter = 2 }},
		{"functions", func(f *config.Flow) {
			f.Steps = append(f.Steps, config.Step{Name: "media", Function: "media", Request: config.Request{URL: "http://127.0.0.1/media"}})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(time.Minute, "msg")
			cfg.Services[0].Flows[0].DownAfter = 3
			d, w := newTestDaemon(t, cfg, nil, Deps{})
			startPipeline(d, w)
			run := mkRun("msg", t0, "")
			d.process(&run)
			if v, ok := sample(t, d.Gatherer(), "slaprobe_flow_up", "flow", "msg"); !ok || v != 1 {
				t.Fatalf("flow_up before = %v %v, want 1", v, ok)
			}
			for i := 1; i <= 2; i++ {
				run := mkRun("msg", t0.Add(time.Duration(i)*time.Minute), "send")
				d.process(&run)
			}
			next := testConfig(time.Minute, "msg")
			next.Services[0].Flows[0].DownAfter = 3
			tc.change(&next.Services[0].Flows[0])
			if err := d.Reload(next); err != nil {
				t.Fatal(err)
			}
			if v, ok := sample(t, d.Gatherer(), "slaprobe_flow_up", "flow", "msg"); !ok || v != 1 {
				t.Errorf("slaprobe_flow_up right after the reload = %v (present %v), want 1 until the next run says otherwise", v, ok)
			}
			run = mkRun("msg", t0.Add(3*time.Minute), "send")
			d.process(&run)
			_, evs := w.snapshot()
			var opened *state.Window
			for _, e := range evs {
				if e.Op == state.OpOpen && e.Window.Function == "" && e.Window.Kind == state.KindDown {
					opened = &e.Window
				}
			}
			if opened == nil {
				t.Fatalf("third failure in a row (down_after 3, two before the reload) opened no window: %s", eventsString(evs))
			}
			if want := t0.Add(time.Minute); !opened.Start.Equal(want) {
				t.Errorf("window start %s, want the first failure %s", opened.Start.Format(time.RFC3339), want.Format(time.RFC3339))
			}
		})
	}
}

func TestRestartKeys(t *testing.T) {
	base := func() *config.Config {
		c := testConfig(time.Minute, "msg")
		c.Listen = "127.0.0.1:9115"
		c.Storage = config.Storage{Driver: "sqlite", DSN: "a.db", Retention: time.Hour}
		c.Alerting = config.Alerting{AlertmanagerURLs: []string{"http://am:9093"}, Resend: time.Minute}
		return c
	}
	withReports := func(c *config.Config) {
		c.Reports = config.Reports{Enabled: true, Schedule: "10 0 1 * *", Formats: []string{"pdf"}, Archive: "reports"}
	}
	for _, tc := range []struct {
		name   string
		both   func(c *config.Config) // applied to the old and the new config, if set
		change func(c *config.Config)
		want   []string
	}{
		{"nothing", nil, func(*config.Config) {}, nil},
		{"live keys only", nil, func(c *config.Config) {
			c.Storage.Retention = 2 * time.Hour
			c.Services[0].Flows[0].Interval = time.Hour
			c.Timezone = "Asia/Seoul"
		}, nil},
		{"listen", nil, func(c *config.Config) { c.Listen = "127.0.0.1:9116" }, []string{"listen"}},
		{"status listener", nil, func(c *config.Config) { c.Status.Listen = "0.0.0.0:8080"; c.Status.Title = "x" }, []string{"status.listen"}},
		{"storage", nil, func(c *config.Config) { c.Storage.Driver, c.Storage.DSN = "postgres", "postgres://u:pw@h/db" }, []string{"storage.driver", "storage.dsn"}},
		{"alerting", nil, func(c *config.Config) {
			c.Alerting.AlertmanagerURLs = append(c.Alerting.AlertmanagerURLs, "http://am2:9093")
			c.Alerting.Resend = 2 * time.Minute
			c.Alerting.RunbookURL = "https://rb/{service}"
			c.Alerting.SeverityDown, c.Alerting.SeverityDegraded = "critical", "warning"
		}, []string{"alerting.alertmanager.urls", "alerting.alertmanager.resend", "alerting.runbook_url", "alerting.severity.down", "alerting.severity.degraded"}},
		{"webhooks", nil, func(c *config.Config) {
			c.Webhooks = config.Webhooks{Listen: "127.0.0.1:9117", PublicURL: "https://probe.example/webhooks", MaxBodyBytes: 1 << 10}
		}, []string{"webhooks.listen", "webhooks.public_url", "webhooks.max_body_bytes"}},
		{"reports block added", nil, withReports, []string{"reports", "reports.archive"}},
		{"reports block removed", withReports, func(c *config.Config) { c.Reports = config.Reports{} }, []string{"reports", "reports.archive"}},
		{"reports schedule and archive", withReports, func(c *config.Config) {
			c.Reports.Schedule, c.Reports.Archive = "0 6 1 * *", "/srv/reports"
		}, []string{"reports.archive"}},
		{"reports live keys", withReports, func(c *config.Config) {
			c.Reports.Formats = []string{"pdf", "html"}
			c.Reports.Revise, c.Reports.Backfill = 2, 3
			c.Reports.Retry.Attempts = 3
			c.Reports.Webhooks = []config.Webhook{{URL: "https://hooks.example/r"}}
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old, next := base(), base()
			if tc.both != nil {
				tc.both(old)
				tc.both(next)
			}
			tc.change(next)
			if got := RestartKeys(old, next); !slices.Equal(got, tc.want) {
				t.Errorf("RestartKeys = %q, want %q", got, tc.want)
			}
		})
	}
}

// #13.5: changes to listen, storage and alerting were ignored silently (and
// to reports:, the review of #13 found).
func TestReloadLogsRestartKeys(t *testing.T) {
	var buf syncBuffer
	cfg := testConfig(time.Minute, "msg")
	cfg.Storage.DSN = "postgres://probe:hunter2@db/slaprobe"
	d, w := newTestDaemon(t, cfg, nil, Deps{Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	startPipeline(d, w)
	next := testConfig(time.Minute, "msg")
	next.Listen = "127.0.0.1:9999"
	next.Storage.DSN = "postgres://probe:hunter3@db/slaprobe"
	next.Alerting.AlertmanagerURLs = []string{"http://127.0.0.1:9093"}
	next.Reports = config.Reports{Enabled: true, Schedule: "0 6 1 * *", Formats: []string{"pdf"}, Archive: "reports"}
	if err := d.Reload(next); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.Contains(out, "level=WARN") || !strings.Contains(out, "restart") {
		t.Fatalf("reload logged no warning about settings that need a restart:\n%s", out)
	}
	for _, k := range []string{"listen", "storage.dsn", "alerting.alertmanager.urls", "reports.archive"} {
		if !strings.Contains(out, k) {
			t.Errorf("the warning does not name %s:\n%s", k, out)
		}
	}
	if strings.Contains(out, "hunter") {
		t.Errorf("the warning shows a DSN's value:\n%s", out)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// connCounter counts the connections a test server accepted.
func connCounter(srv *httptest.Server) *atomic.Int32 {
	var n atomic.Int32
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			n.Add(1)
		}
	}
	return &n
}

// #13.5: every SIGHUP built new transports: a cold TCP and TLS handshake in
// every flow's next run (measured as latency) and a second set of idle
// connections. With the real runner against a plain and a TLS server (CA
// from a file), a reload that changes a flow but not its TLS settings keeps
// the connections; a reload that changes the CA file's content does not.
func TestReloadReusesTransports(t *testing.T) {
	plain := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") }))
	plainConns := connCounter(plain)
	plain.Start()
	defer plain.Close()
	secure := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") }))
	tlsConns := connCounter(secure)
	secure.StartTLS()
	defer secure.Close()
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	writeCA := func(extra string) {
		b := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: secure.Certificate().Raw})
		if err := os.WriteFile(ca, append(b, extra...), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeCA("")
	mk := func(text string) *config.Config {
		y := `location: seoul-a
timezone: UTC
defaults: {interval: 1m, timeout: 5s}
services:
  - name: svc
    flows:
      - name: plain
        steps:
          - {name: get, function: get, request: {url: "` + plain.URL + `/` + text + `"}}
      - name: secure
        tls: {ca_file: ` + ca + `}
        steps:
          - {name: get, function: get, request: {url: "` + secure.URL + `/` + text + `"}}
`
		cfg, err := config.Parse(filepath.Join(dir, "slaprobe.yaml"), []byte(y), config.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	d, err := New(mk("one"), Deps{Store: &fakeStore{}})
	if err != nil {
		t.Fatal(err)
	}
	d.jitter = func(string, string, time.Duration, time.Time) time.Duration { return 0 }
	w := &fakeWriter{}
	startPipeline(d, w)
	fireAll := func() {
		for _, name := range []string{"plain", "secure"} {
			d.mu.RLock()
			fs := d.flows[name]
			d.mu.RUnlock()
			d.fire(fs)
		}
		runs, _ := w.snapshot()
		for _, r := range runs {
			if !r.OK() {
				t.Fatalf("run %s failed: %+v", r.Flow, r.Steps)
			}
		}
	}
	fireAll()
	if plainConns.Load() != 1 || tlsConns.Load() != 1 {
		t.Fatalf("connections after the first runs: plain %d, tls %d; want 1 and 1", plainConns.Load(), tlsConns.Load())
	}
	if err := d.Reload(mk("two")); err != nil {
		t.Fatal(err)
	}
	fireAll()
	if p, s := plainConns.Load(), tlsConns.Load(); p != 1 || s != 1 {
		t.Errorf("after a reload that kept the TLS settings: %d plain and %d TLS connections, want 1 and 1 (reused)", p, s)
	}
	// The CA file's content changed: that flow's transport is new (it must
	// trust the new file), the other one stays.
	writeCA("\n")
	if err := d.Reload(mk("three")); err != nil {
		t.Fatal(err)
	}
	fireAll()
	if p, s := plainConns.Load(), tlsConns.Load(); p != 1 || s != 2 {
		t.Errorf("after a reload with a new CA file: %d plain and %d TLS connections, want 1 and 2", p, s)
	}
}
