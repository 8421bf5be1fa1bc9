package daemon

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/state"
	"github.com/slaprobe/slaprobe/store"
)

// fakeStore is an in-memory store.Store for the daemon's tests.
type fakeStore struct {
	mu       sync.Mutex
	runs     []probe.Run
	events   []state.Event
	open     []state.Window
	lastRuns map[string]time.Time
	pruned   int
	cov      []store.Span
	wins     []state.Window
	// openHook, if set, runs first in OpenWindows (a database that hangs).
	openHook func(ctx context.Context) error
}

var _ store.Store = (*fakeStore)(nil)

func (s *fakeStore) AppendRuns(_ context.Context, runs []probe.Run) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.runs = append(s.runs, runs...)
	return nil
}

func (s *fakeStore) AppendEvents(_ context.Context, evs []state.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, evs...)
	return nil
}

func (s *fakeStore) Runs(context.Context, store.Query) ([]probe.Run, error) { return nil, nil }
func (s *fakeStore) Rollups(context.Context, store.Granularity, store.Query) ([]store.Rollup, error) {
	return nil, nil
}

func (s *fakeStore) Windows(context.Context, store.Query) ([]state.Window, error) {
	return s.wins, nil
}

func (s *fakeStore) OpenWindows(ctx context.Context, _ string) ([]state.Window, error) {
	if s.openHook != nil {
		if err := s.openHook(ctx); err != nil {
			return nil, err
		}
	}
	return s.open, nil
}

func (s *fakeStore) LastRuns(context.Context, string) (map[string]time.Time, error) {
	return s.lastRuns, nil
}

func (s *fakeStore) Coverage(context.Context, store.Query) ([]store.Span, error) { return s.cov, nil }

func (s *fakeStore) Totals(context.Context, store.Query) ([]store.Rollup, error) { return nil, nil }

func (s *fakeStore) Horizon(context.Context) (store.Horizon, error) { return store.Horizon{}, nil }

// Earliest answers as Totals does: nothing stored.
func (s *fakeStore) Earliest(context.Context) (time.Time, error) { return time.Time{}, nil }

func (s *fakeStore) Prune(_ context.Context, _ store.Cutoffs, batch int) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := min(batch, s.pruned)
	s.pruned -= n
	return n, nil
}

func (s *fakeStore) Ping(context.Context) error { return nil }
func (s *fakeStore) Close() error               { return nil }

func (s *fakeStore) snapshot() ([]probe.Run, []state.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]probe.Run(nil), s.runs...), append([]state.Event(nil), s.events...)
}

// fakeWriter records what the pipeline submits.
type fakeWriter struct {
	mu     sync.Mutex
	runs   []probe.Run
	events []state.Event
	stats  store.WriterStats
	refuse bool
	closed bool
}

func (w *fakeWriter) Submit(runs ...probe.Run) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.refuse {
		w.stats.Dropped += int64(len(runs))
		return false
	}
	w.runs = append(w.runs, runs...)
	return true
}

func (w *fakeWriter) SubmitEvents(evs ...state.Event) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.events = append(w.events, evs...)
}

func (w *fakeWriter) Flush(context.Context) error { return nil }

func (w *fakeWriter) Close(context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	return nil
}

func (w *fakeWriter) Stats() store.WriterStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stats
}

func (w *fakeWriter) snapshot() ([]probe.Run, []state.Event) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]probe.Run(nil), w.runs...), append([]state.Event(nil), w.events...)
}

// recAlerter records the events it is handed.
type recAlerter struct {
	mu  sync.Mutex
	evs []state.Event
}

func (a *recAlerter) Handle(evs []state.Event) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.evs = append(a.evs, evs...)
}

// funcRunner runs flows with a function.
type funcRunner func(ctx context.Context, f *config.Flow) probe.Run

func (r funcRunner) Run(ctx context.Context, f *config.Flow) probe.Run { return r(ctx, f) }

// testConfig builds a config with the named flows in service "svc", each
// with steps login, send, receive (functions of the same names).
func testConfig(interval time.Duration, flows ...string) *config.Config {
	cfg := &config.Config{Location: "seoul-a", Timezone: "UTC", Loc: time.UTC}
	svc := config.Service{Name: "svc", Objective: 0.999}
	for _, name := range flows {
		f := config.Flow{Name: name, Service: "svc", Interval: interval, Timeout: time.Second, DownAfter: 2, UpAfter: 1}
		for _, s := range []string{"login", "send", "receive"} {
			f.Steps = append(f.Steps, config.Step{Name: s, Function: s, Request: config.Request{URL: "http://127.0.0.1/" + s}})
		}
		svc.Flows = append(svc.Flows, f)
	}
	cfg.Services = []config.Service{svc}
	return cfg
}

// mkRun makes a run of flow at start; failStep names the step that fails
// ("" for none; the steps after it are not run).
func mkRun(flow string, start time.Time, failStep string) probe.Run {
	r := probe.Run{ID: fmt.Sprintf("%s-%d", flow, start.Unix()), Flow: flow, Service: "svc", Location: "seoul-a", Start: start, Duration: 300 * time.Millisecond}
	failed := false
	for _, s := range []string{"login", "send", "receive"} {
		st := probe.StepResult{Step: s, Function: s, Status: probe.StatusOK, HTTPStatus: 200, Duration: 100 * time.Millisecond, Attempts: 1,
			Phases: probe.Phases{Connect: time.Millisecond, Processing: 50 * time.Millisecond}}
		switch {
		case failed:
			st = probe.StepResult{Step: s, Function: s, Status: probe.StatusNotRun}
		case s == failStep:
			st.Status, st.HTTPStatus, st.Error = probe.StatusFailed, 503, "status 503, want 200"
			failed = true
		}
		r.Steps = append(r.Steps, st)
	}
	return r
}

// newTestDaemon returns a daemon on a fake store, writer and runner, ready
// for the pipeline (as if Run had started it, without the scheduler).
func newTestDaemon(t *testing.T, cfg *config.Config, st *fakeStore, deps Deps) (*Daemon, *fakeWriter) {
	t.Helper()
	if st == nil {
		st = &fakeStore{}
	}
	deps.Store = st
	if deps.Registry == nil {
		deps.Registry = prometheus.NewRegistry()
	}
	d, err := New(cfg, deps)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	w := &fakeWriter{}
	d.newWriter = func(store.WriterOptions) resultWriter { return w }
	d.jitter = func(string, string, time.Duration, time.Time) time.Duration { return 0 }
	setRunner(d, funcRunner(func(ctx context.Context, f *config.Flow) probe.Run {
		return mkRun(f.Name, d.clock.Now(), "")
	}))
	return d, w
}

// setRunner makes r every flow's runner, now and after every reload.
func setRunner(d *Daemon, r flowRunner) {
	d.newRunner = func(*config.Config, flowRunner) (flowRunner, error) { return r, nil }
	d.retainTransports = nil
	d.mu.Lock()
	defer d.mu.Unlock()
	d.runner = r
	for _, fs := range d.flows {
		fs.mu.Lock()
		fs.runner = r
		fs.mu.Unlock()
	}
}

// startPipeline wires the writer in without the scheduler, so that tests
// can call fire and process directly.
func startPipeline(d *Daemon, w resultWriter) {
	d.mu.Lock()
	d.writer, d.started = w, true
	d.stopCtx, d.runCtx = context.Background(), context.Background()
	d.mu.Unlock()
}

// seriesWith counts the series on reg that have label name=value.
func seriesWith(t *testing.T, reg prometheus.Gatherer, name, value string) int {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	n := 0
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == name && lp.GetValue() == value {
					n++
				}
			}
		}
	}
	return n
}

// sample returns the value of the series name{kv...} on reg (a counter,
// gauge or histogram's count) and whether it exists.
func sample(t *testing.T, reg prometheus.Gatherer, name string, kv ...string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for i := 0; i+1 < len(kv); i += 2 {
				if have[kv[i]] != kv[i+1] {
					continue next
				}
			}
			switch {
			case m.Gauge != nil:
				return m.GetGauge().GetValue(), true
			case m.Counter != nil:
				return m.GetCounter().GetValue(), true
			case m.Histogram != nil:
				return float64(m.GetHistogram().GetSampleCount()), true
			}
		}
	}
	return 0, false
}

// countSeries counts the series of a metric name on reg.
func countSeries(t *testing.T, reg prometheus.Gatherer, name string) int {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return len(mf.GetMetric())
		}
	}
	return 0
}

// waitFor polls cond for up to 5 s of real time.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func eventsString(evs []state.Event) string {
	var b strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&b, "%s %s fn=%q %s..%s; ", e.Op, e.Window.Kind, e.Window.Function, e.Window.Start.Format("15:04:05"), e.Window.End.Format("15:04:05"))
	}
	return b.String()
}

// waitScheduler waits until d.Run has made its scheduler.
func waitScheduler(t *testing.T, d *Daemon) {
	t.Helper()
	waitFor(t, "scheduler start", func() bool {
		d.mu.RLock()
		defer d.mu.RUnlock()
		return d.sched != nil
	})
}

func (w *fakeWriter) Uncommitted() []store.SpoolItem { return nil }

// tempSQLite opens a SQLite store in a new temporary directory, closed at
// the test's end.
func tempSQLite(t *testing.T) *store.SQLite {
	t.Helper()
	st, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "results.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// historyOf is recentHistory's histories at location "loc" by flow name.
func historyOf(ctx context.Context, d *Daemon, fss []*flowState, last map[string]time.Time, now time.Time) (map[string]history, error) {
	out := map[string]history{}
	err := d.recentHistory(ctx, "loc", fss, last, now, func(fs *flowState, h history) { out[fs.name] = h })
	return out, err
}
