package daemon

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
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
		// (The fake clock moves in steps of 250 ms.)
		if off := at.Sub(anchor) % time.Minute; off > 250*time.Millisecond {
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
