package daemon

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/store"
)

// runLog records the runs a test daemon starts, by flow, and how many of
// one flow were ever in flight at once.
type runLog struct {
	mu      sync.Mutex
	starts  map[string][]time.Time
	active  map[string]int
	overlap map[string]int // the most runs of a flow in flight at once
}

func newRunLog() *runLog {
	return &runLog{starts: map[string][]time.Time{}, active: map[string]int{}, overlap: map[string]int{}}
}

func (l *runLog) begin(flow string, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.starts[flow] = append(l.starts[flow], at)
	l.active[flow]++
	l.overlap[flow] = max(l.overlap[flow], l.active[flow])
}

func (l *runLog) end(flow string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.active[flow]--
}

// since returns the runs of flow that started at or after t.
func (l *runLog) since(flow string, t time.Time) []time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []time.Time
	for _, s := range l.starts[flow] {
		if !s.Before(t) {
			out = append(out, s)
		}
	}
	return out
}

func (l *runLog) count(flow string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.starts[flow])
}

// failing is a runner whose flows fail at login (so that they confirm), each
// run taking took on the daemon's clock; it logs every run.
func failing(d *Daemon, l *runLog, took time.Duration) flowRunner {
	return funcRunner(func(ctx context.Context, f *config.Flow) probe.Run {
		start := d.clock.Now()
		l.begin(f.Name, start)
		defer l.end(f.Name)
		_ = d.clock.Sleep(ctx, took)
		r := mkRun(f.Name, start, "login")
		r.Service = f.Service
		return r
	})
}

// startWith starts d's Run on fc (after the test set its seams) and waits
// for its jobs.
func startWith(t *testing.T, d *Daemon, w *fakeWriter, fc *clockwork.FakeClock) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{d: d, w: w, fc: fc, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- d.Run(ctx) }()
	waitFor(t, "scheduler start", func() bool {
		d.mu.RLock()
		defer d.mu.RUnlock()
		return d.sched != nil && len(d.sched.Jobs()) == len(d.flows)
	})
	t.Cleanup(func() {
		// A run may wait on the fake clock: keep it moving until Run returns.
		stop := make(chan struct{})
		go func() {
			for {
				select {
				case <-stop:
					return
				case <-time.After(5 * time.Millisecond):
					fc.Advance(time.Second)
				}
			}
		}()
		r.stop(t)
		close(stop)
	})
	return r
}

func withConfirm(cfg *config.Config, every time.Duration) *config.Config {
	for i := range cfg.Services {
		for j := range cfg.Services[i].Flows {
			cfg.Services[i].Flows[j].ConfirmEvery = every
		}
	}
	return cfg
}

// A flow removed by a reload runs no more: not the confirm run it was
// waiting for, nor the base run waiting out its start jitter. Before, both
// went ahead after the reload (the confirm loop checked that the flow was
// still configured before its sleep, not after; fire not at all): one more
// request to a target the config no longer names, stored as a run of a
// flow that is gone.
func TestRemovedFlowDoesNotRunAfterReload(t *testing.T) {
	for _, tc := range []struct {
		name    string
		confirm time.Duration
		jitter  time.Duration
		waiting func(fs *flowState) bool // the removed flow is waiting to run
	}{
		{"confirm run", 10 * time.Second, 0, func(fs *flowState) bool { return fs.confirming.Load() }},
		{"base run in its jitter", 0, 20 * time.Second, func(fs *flowState) bool { return fs.running.Load() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fc := clockwork.NewFakeClockAt(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
			d, w := newTestDaemon(t, withConfirm(testConfig(time.Minute, "gone", "stays"), tc.confirm), &fakeStore{}, Deps{Clock: ClockworkClock(fc), Grace: 2 * time.Second})
			l := newRunLog()
			setRunner(d, failing(d, l, 100*time.Millisecond))
			d.jitter = func(string, string, time.Duration, time.Time) time.Duration { return tc.jitter }
			r := startWith(t, d, w, fc)
			fs := d.flows["gone"]
			if tc.jitter > 0 {
				// Let the first run of "gone" happen so that the wait is for
				// a later one.
				for l.count("gone") == 0 {
					r.advance(time.Second, time.Second)
				}
				for fs.running.Load() {
					r.advance(100*time.Millisecond, 100*time.Millisecond)
				}
			}
			for !tc.waiting(fs) {
				r.advance(time.Second, 500*time.Millisecond)
			}
			if err := d.Reload(withConfirm(testConfig(time.Minute, "stays"), tc.confirm)); err != nil {
				t.Fatal(err)
			}
			reloaded := fc.Now()
			r.advance(3*time.Minute, 250*time.Millisecond)
			if got := l.since("gone", reloaded); len(got) > 0 {
				t.Errorf("flow removed at %s still ran at %v", reloaded.Format("15:04:05"), got)
			}
			if l.count("stays") == 0 {
				t.Error("the flow that stays never ran")
			}
		})
	}
}

// A reload that turns confirm_every off stops the confirm runs at once: the
// next run is the next base slot. Before, the run it was waiting for went
// ahead.
func TestReloadTurningConfirmOffStopsIt(t *testing.T) {
	fc := clockwork.NewFakeClockAt(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	d, w := newTestDaemon(t, withConfirm(testConfig(time.Minute, "f"), 10*time.Second), &fakeStore{}, Deps{Clock: ClockworkClock(fc), Grace: 2 * time.Second})
	l := newRunLog()
	setRunner(d, failing(d, l, 100*time.Millisecond))
	r := startWith(t, d, w, fc)
	fs := d.flows["f"]
	for !fs.confirming.Load() {
		r.advance(time.Second, 500*time.Millisecond)
	}
	if err := d.Reload(withConfirm(testConfig(time.Minute, "f"), 0)); err != nil {
		t.Fatal(err)
	}
	reloaded := fc.Now()
	r.advance(3*time.Minute, 250*time.Millisecond)
	fs.mu.Lock()
	anchor := fs.anchor
	fs.mu.Unlock()
	for _, at := range l.since("f", reloaded) {
		// (The fake clock moves in steps of 250 ms, and under load the
		// scheduler may see a step or more late; a confirm run would come
		// 10 s after the last one.)
		if off := at.Sub(anchor) % time.Minute; off > 5*time.Second {
			t.Errorf("run at %s after confirm_every was turned off at %s is not a base slot (%s past one)",
				at.Format("15:04:05.000"), reloaded.Format("15:04:05.000"), off)
		}
	}
	if n := len(l.since("f", reloaded)); n < 2 {
		t.Errorf("%d runs in the 3 minutes after the reload, want the base schedule", n)
	}
}

// A flow never runs twice at once, also when a reload moves it to another
// service (the old flow state leaves, a new one with the same name comes)
// while its run is in flight. Before, the new one's first run started while
// the old one's was still running.
func TestFlowMovedToAnotherServiceNeverOverlaps(t *testing.T) {
	fc := clockwork.NewFakeClockAt(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	cfg := testConfig(time.Minute, "f")
	d, w := newTestDaemon(t, cfg, &fakeStore{}, Deps{Clock: ClockworkClock(fc), Grace: 2 * time.Second})
	l := newRunLog()
	// Every run hangs for 90 s: longer than the interval.
	setRunner(d, failing(d, l, 90*time.Second))
	r := startWith(t, d, w, fc)
	for l.count("f") == 0 {
		r.advance(time.Second, 500*time.Millisecond)
	}
	moved := testConfig(time.Minute, "f")
	moved.Services[0].Name = "svc2"
	moved.Services[0].Flows[0].Service = "svc2"
	if err := d.Reload(moved); err != nil {
		t.Fatal(err)
	}
	r.advance(4*time.Minute, 250*time.Millisecond)
	l.mu.Lock()
	most := l.overlap["f"]
	l.mu.Unlock()
	if most > 1 {
		t.Errorf("%d runs of flow f in flight at once", most)
	}
	if l.count("f") < 2 {
		t.Errorf("%d runs, want the moved flow to run too", l.count("f"))
	}
}

// Shutdown while a flow waits for its next confirm run: Run returns at once
// and the run does not start.
func TestShutdownDuringConfirmWait(t *testing.T) {
	fc := clockwork.NewFakeClockAt(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	d, w := newTestDaemon(t, withConfirm(testConfig(time.Minute, "f"), 10*time.Second), &fakeStore{}, Deps{Clock: ClockworkClock(fc), Grace: time.Minute})
	l := newRunLog()
	setRunner(d, failing(d, l, 100*time.Millisecond))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	waitFor(t, "scheduler start", func() bool {
		d.mu.RLock()
		defer d.mu.RUnlock()
		return d.sched != nil && len(d.sched.Jobs()) == 1
	})
	fs := d.flows["f"]
	for !fs.confirming.Load() {
		fc.Advance(500 * time.Millisecond)
		time.Sleep(2 * time.Millisecond)
	}
	n := l.count("f")
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return while a flow waited for its confirm run")
	}
	fc.Advance(time.Minute)
	time.Sleep(10 * time.Millisecond)
	if got := l.count("f"); got != n {
		t.Errorf("%d runs after shutdown", got-n)
	}
	var stopped atomic.Bool
	stopped.Store(!fs.confirming.Load())
	if !stopped.Load() {
		t.Error("the flow is still confirming after Run returned")
	}
	_ = w
}

// outageTransport answers 503 to requests of a location during its
// outages and 200 otherwise, at the time of the request's clock (the run's
// virtual clock in a replay, the test's fake clock live).
type outageTransport struct {
	location string
	outages  [][2]time.Time
	now      func() time.Time // live; nil in a replay
}

func (o outageTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	now := time.Time{}
	if c := clock.FromContext(req.Context(), nil); c != nil {
		now = c.Now()
	} else {
		now = o.now()
	}
	code := http.StatusOK
	for _, out := range o.outages {
		if !now.Before(out[0]) && now.Before(out[1]) {
			code = http.StatusServiceUnavailable
		}
	}
	return &http.Response{StatusCode: code, Status: http.StatusText(code), Body: io.NopCloser(strings.NewReader("{}")),
		Header: http.Header{"Content-Type": {"application/json"}}, Request: req, ProtoMajor: 1, ProtoMinor: 1}, nil
}

const twoLocationsYAML = `
location: %s
defaults: {interval: 60s, timeout: 10s, down_after: 2, up_after: 1, confirm_every: 10s}
services:
  - name: svc
    flows:
      - name: f
        steps:
          - {name: get, function: get, request: {url: "http://target.test/x"}, expect: {status: [200]}}
`

// confirm_every runs the same live as in a replay: the same run times (the
// live ones on a fake clock that moves in 250 ms steps), per location. At
// the location without an outage nothing changes and it runs exactly once
// a minute; at the other one the outage is watched every 10 s.
func TestConfirmLiveMatchesReplay(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	span, step := 12*time.Minute, 250*time.Millisecond
	outages := map[string][][2]time.Time{
		"seoul-a": {{t0.Add(3*time.Minute + 30*time.Second), t0.Add(6*time.Minute + 35*time.Second)}},
		"busan-b": nil,
	}
	locs := []string{"seoul-a", "busan-b"}
	cfgs := map[string]*config.Config{}
	for _, loc := range locs {
		cfg, err := config.Parse("two.yaml", fmt.Appendf(nil, twoLocationsYAML, loc), config.Options{})
		if err != nil {
			t.Fatal(err)
		}
		cfgs[loc] = cfg
	}

	// Replays, one per location. confirmAt: the confirm runs
	// (probe.Run.Confirm); the others are scheduled, one per base slot.
	replayed := map[string][]time.Time{}
	confirmAt := func(runs []probe.Run) []time.Time {
		var out []time.Time
		for _, r := range runs {
			if r.Confirm && r.Start.Before(t0.Add(span)) {
				out = append(out, r.Start)
			}
		}
		slices.SortFunc(out, time.Time.Compare)
		return out
	}
	replayedConfirm := map[string][]time.Time{}
	for _, loc := range locs {
		st := &fakeStore{}
		if err := Replay(context.Background(), cfgs[loc], Deps{Store: st, Transport: outageTransport{location: loc, outages: outages[loc]}}, t0, t0.Add(span), nil); err != nil {
			t.Fatal(err)
		}
		runs, _ := st.snapshot()
		for _, r := range runs {
			replayed[loc] = append(replayed[loc], r.Start)
		}
		slices.SortFunc(replayed[loc], time.Time.Compare)
		replayedConfirm[loc] = confirmAt(runs)
		if n := len(replayed[loc]) - len(replayedConfirm[loc]); n != 12 {
			t.Errorf("%s: replay made %d scheduled runs in 12 minutes (and %d confirm runs), want 12", loc, n, len(replayedConfirm[loc]))
		}
	}

	// The live daemons, one per location, on one fake clock.
	fc := clockwork.NewFakeClockAt(t0)
	writers := map[string]*fakeWriter{}
	var stops []func()
	for _, loc := range locs {
		d, err := New(cfgs[loc], Deps{Store: &fakeStore{}, Clock: ClockworkClock(fc), Grace: 2 * time.Second,
			Transport: outageTransport{location: loc, outages: outages[loc], now: fc.Now}})
		if err != nil {
			t.Fatal(err)
		}
		w := &fakeWriter{}
		d.newWriter = func(store.WriterOptions) resultWriter { return w }
		writers[loc] = w
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- d.Run(ctx) }()
		waitFor(t, "scheduler start", func() bool {
			d.mu.RLock()
			defer d.mu.RUnlock()
			return d.sched != nil && len(d.sched.Jobs()) == 1
		})
		stops = append(stops, func() {
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
		})
	}
	for fc.Since(t0) < span {
		fc.Advance(step)
		time.Sleep(2 * time.Millisecond)
	}
	for _, stop := range stops {
		stop()
	}

	for _, loc := range locs {
		runs, _ := writers[loc].snapshot()
		var live []time.Time
		for _, r := range runs {
			if r.Start.Before(t0.Add(span)) {
				live = append(live, r.Start)
			}
		}
		slices.SortFunc(live, time.Time.Compare)
		if !sameRuns(live, replayed[loc], step) {
			t.Errorf("%s: live runs at\n  %v\nreplay runs at\n  %v", loc, offsets(t0, live), offsets(t0, replayed[loc]))
		}
		lc, rc := confirmAt(runs), replayedConfirm[loc]
		if !sameRuns(lc, rc, step) {
			t.Errorf("%s: live confirm runs at\n  %v\nreplay confirm runs at\n  %v", loc, offsets(t0, lc), offsets(t0, rc))
		}
	}
	if len(replayedConfirm["seoul-a"]) < 12 || len(replayedConfirm["busan-b"]) != 0 {
		t.Errorf("confirm runs: seoul-a %d, busan-b %d; want at least 12 and none", len(replayedConfirm["seoul-a"]), len(replayedConfirm["busan-b"]))
	}
	if n := len(replayed["busan-b"]); n != 12 {
		t.Errorf("busan-b (no outage) made %d runs in 12 minutes, want 12", n)
	}
	// The outage (3m30s..6m35s) is seen at the base run after 3m30s; from
	// there the runs are 10 s apart until the first pass after 6m35s.
	var confirmGaps int
	rs := replayed["seoul-a"]
	for i := 1; i < len(rs); i++ {
		if rs[i].Sub(rs[i-1]) == 10*time.Second {
			confirmGaps++
		}
	}
	if confirmGaps < 12 {
		t.Errorf("seoul-a runs %v: %d runs 10 s after the one before, want one every 10 s through the outage", offsets(t0, rs), confirmGaps)
	}
}

func offsets(t0 time.Time, ts []time.Time) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Sub(t0).Round(time.Millisecond).String())
	}
	return out
}

// stormConfig is one of the configs a SIGHUP storm alternates between:
// flows added and removed, moved between services, their interval,
// confirm_every, policy and steps changed.
func stormConfig(variant int) *config.Config {
	var names []string
	for i := range 24 {
		if variant == 1 && i%3 == 0 {
			continue // removed
		}
		names = append(names, fmt.Sprintf("f%02d", i))
	}
	if variant == 2 {
		names = append(names, "extra-1", "extra-2")
	}
	cfg := testConfig(10*time.Second, names...)
	svc2 := config.Service{Name: "svc2", Objective: 0.99}
	var keep []config.Flow
	for i, f := range cfg.Services[0].Flows {
		f.ConfirmEvery = 2 * time.Second
		switch variant {
		case 1:
			f.Interval, f.ConfirmEvery = 20*time.Second, 0
			if i%4 == 1 {
				f.Service = "svc2"
				svc2.Flows = append(svc2.Flows, f)
				continue
			}
		case 2:
			f.DownAfter, f.UpAfter = 3, 2
			f.Steps = f.Steps[:2] // a function less
		}
		keep = append(keep, f)
	}
	cfg.Services[0].Flows = keep
	if len(svc2.Flows) > 0 {
		cfg.Services = append(cfg.Services, svc2)
	}
	return cfg
}

// A SIGHUP storm (reloads from several goroutines, alternating configs)
// while flows run, confirm and hang, and while /metrics, /api/v1/status
// and /healthz are read: no data race (-race), no flow ever runs twice at
// once, the jobs at the end are those of the last config, every flow of it
// runs after the storm, and after shutdown the goroutines are back to what
// they were before the daemon started.
func TestReloadStormRace(t *testing.T) {
	base := runtime.NumGoroutine()
	fc := clockwork.NewFakeClockAt(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	d, w := newTestDaemon(t, stormConfig(0), &fakeStore{}, Deps{Clock: ClockworkClock(fc), Grace: 5 * time.Second})
	l := newRunLog()
	setRunner(d, funcRunner(func(ctx context.Context, f *config.Flow) probe.Run {
		start := d.clock.Now()
		l.begin(f.Name, start)
		defer l.end(f.Name)
		// Some runs hang past the next slot; some fail (and confirm).
		took := time.Duration(start.UnixNano()/int64(time.Second)%3) * 7 * time.Second
		_ = d.clock.Sleep(ctx, took)
		fail := ""
		if start.Second()%5 == 0 {
			fail = "login"
		}
		r := mkRun(f.Name, start, fail)
		r.Service, r.Duration = f.Service, d.clock.Now().Sub(start)
		return r
	}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	waitFor(t, "scheduler start", func() bool {
		d.mu.RLock()
		defer d.mu.RUnlock()
		return d.sched != nil && len(d.sched.Jobs()) == len(d.flows)
	})

	stop := make(chan struct{})
	var bg sync.WaitGroup
	bg.Go(func() { // the clock
		for {
			select {
			case <-stop:
				return
			default:
				fc.Advance(500 * time.Millisecond)
				time.Sleep(time.Millisecond)
			}
		}
	})
	bg.Go(func() { // the scrapers
		h := d.Handler()
		for {
			select {
			case <-stop:
				return
			default:
			}
			for _, path := range []string{"/metrics", "/api/v1/status", "/healthz"} {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
				if path != "/healthz" && rec.Code != http.StatusOK {
					t.Errorf("GET %s: %d", path, rec.Code)
				}
			}
		}
	})
	var reloads sync.WaitGroup
	for g := range 3 {
		reloads.Go(func() {
			for i := range 40 {
				if err := d.Reload(stormConfig((g + i) % 3)); err != nil {
					t.Errorf("reload: %v", err)
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
	reloads.Wait()
	final := stormConfig(2)
	if err := d.Reload(final); err != nil {
		t.Fatal(err)
	}
	settled := fc.Now()
	time.Sleep(200 * time.Millisecond) // the clock moves on: every flow runs
	for fc.Since(settled) < time.Minute {
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	bg.Wait()

	var want, jobs []string
	for _, f := range flowsOf(final) {
		want = append(want, f.Name)
	}
	d.mu.RLock()
	for _, j := range d.sched.Jobs() {
		jobs = append(jobs, j.Name())
	}
	d.mu.RUnlock()
	slices.Sort(want)
	slices.Sort(jobs)
	if !slices.Equal(want, jobs) {
		t.Errorf("jobs after the storm %v, want the last config's flows %v", jobs, want)
	}
	for _, name := range want {
		if len(l.since(name, settled)) == 0 {
			t.Errorf("flow %s did not run in the minute after the storm", name)
		}
	}
	l.mu.Lock()
	for name, n := range l.overlap {
		if n > 1 {
			t.Errorf("%d runs of %s in flight at once", n, name)
		}
	}
	l.mu.Unlock()

	cancel()
	go func() { // runs in flight wait on the fake clock
		for range 200 {
			fc.Advance(time.Second)
			time.Sleep(5 * time.Millisecond)
		}
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !w.closed {
		t.Error("writer not closed")
	}
	var n int
	for range 500 {
		if n = runtime.NumGoroutine(); n <= base+1 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n > base+1 {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines after Run returned, %d before the daemon started:\n%s", n, base, buf[:runtime.Stack(buf, true)])
	}
}

// goroutinesWith counts the goroutines whose stack mentions fn.
func goroutinesWith(fn string) int {
	buf := make([]byte, 8<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if strings.Contains(g, fn) {
			n++
		}
	}
	return n
}

// Goroutines settle: with the real runner probing a server every second,
// the count does not grow with the runs, and once Run has returned no
// goroutine of the daemon is left, not even its idle keep-alive
// connections to the targets.
func TestGoroutinesSettleAfterRuns(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true}`)
	}))
	defer srv.Close()
	var flows strings.Builder
	for i := range 5 {
		fmt.Fprintf(&flows, "      - name: f%d\n        steps:\n          - {name: get, function: get, request: {url: %q}}\n", i, srv.URL+"/x")
	}
	cfg, err := config.Parse("settle.yaml", fmt.Appendf(nil, `
location: seoul-a
defaults: {interval: 1s, timeout: 1s, down_after: 2, up_after: 1}
services:
  - name: svc
    flows:
%s`, flows.String()), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	base := runtime.NumGoroutine()
	d, err := New(cfg, Deps{Store: &fakeStore{}, Grace: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	w := &fakeWriter{}
	d.newWriter = func(store.WriterOptions) resultWriter { return w }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	count := func() int { runs, _ := w.snapshot(); return len(runs) }
	waitFor(t, "first runs", func() bool { return count() >= 10 })
	// The floor over a second: the goroutines between runs (a run in
	// flight has a few more for its request).
	floor := func() int {
		n := runtime.NumGoroutine()
		for range 100 {
			time.Sleep(10 * time.Millisecond)
			n = min(n, runtime.NumGoroutine())
		}
		return n
	}
	earlyRuns, early := count(), floor()
	time.Sleep(3 * time.Second)
	lateRuns, late := count(), floor()
	if lateRuns < earlyRuns+15 {
		t.Fatalf("%d runs, then %d: the flows are not running", earlyRuns, lateRuns)
	}
	// The warm pool may grow to one idle worker per flow that ran at the
	// same time as others; a leak of one goroutine per run would add more
	// than the 15 or more runs in between.
	if late > early+5 {
		t.Errorf("goroutines grew from %d (after %d runs) to %d (after %d runs)", early, earlyRuns, late, lateRuns)
	}
	if err := d.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// (A connection closed a moment ago ends its goroutines a moment later;
	// an idle one left open would stay for the transport's 90 s.)
	var conns int
	for range 200 {
		if conns = goroutinesWith("net/http.(*persistConn)"); conns == 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if conns > 0 {
		t.Errorf("%d goroutines of idle keep-alive connections to the targets left after Run returned", conns)
	}
	var n int
	for range 300 {
		if n = runtime.NumGoroutine() - goroutinesWith("net/http.(*conn).serve"); n <= base {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n > base {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines (without the test server's) after Run returned, %d before the daemon started:\n%s", n, base, buf[:runtime.Stack(buf, true)])
	}
}

// sameRuns reports whether live run starts are the replayed ones, as a fake
// clock moved in steps can show them: as many; the first at or after the
// replayed one, and each gap from the run before close to the replayed gap,
// within lateTolerance. A live run starts at the first step boundary at or
// after its due time, or later when a timer's goroutine ran only after the
// clock moved on (a loaded machine, -race: a CI run saw one run 1.05 s
// late). Gaps, not absolute times: a confirm run is due confirm_every after
// the last run's start, so one late run moves every later confirm run of its
// phase by as much, live only. The tolerance still tells the 10 s of a
// confirm run from the 60 s of the base schedule, and a skipped or an extra
// run changes the count.
func sameRuns(live, replayed []time.Time, step time.Duration) bool {
	tol := max(lateTolerance, 2*step)
	if len(live) != len(replayed) {
		return false
	}
	for i := range live {
		if i == 0 {
			if d := live[0].Sub(replayed[0]); d < 0 || d >= tol {
				return false
			}
			continue
		}
		if d := live[i].Sub(live[i-1]) - replayed[i].Sub(replayed[i-1]); d <= -tol || d >= tol {
			return false
		}
	}
	return true
}

// lateTolerance is how late a live run on a stepped fake clock may start
// against its due time in these comparisons.
const lateTolerance = 2 * time.Second
