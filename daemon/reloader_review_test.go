package daemon

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/slaprobe/slaprobe/config"
)

// noEnd checks that the build in the making was not ended: ended has no
// cause yet.
func noEnd(t *testing.T, ended <-chan error, what string) {
	t.Helper()
	select {
	case cause := <-ended:
		t.Errorf("%s ended the build in the making (%v)", what, cause)
	default:
	}
}

// TestReloaderDaemonRefusalEndsNoBuild: a config that loads but that the
// daemon refuses whatever it compiles (the location changed; an interval
// below the minimum) is refused before the reload takes the turn, like one
// that does not load: the report build in the making is not ended, the
// metric goes to 0, the log says why. Before, the reload ended the build
// (ErrSuperseded) and then the daemon refused the config. (config.Parse
// refuses such intervals itself: that row is the daemon's own floor.)
func TestReloaderDaemonRefusalEndsNoBuild(t *testing.T) {
	iv := 10 * time.Second
	for _, tc := range []struct {
		name string
		edit func(*config.Config)
		want string
	}{
		{"location changed", func(c *config.Config) { c.Location = "busan-b" }, `location changed from \"seoul-a\" to \"busan-b\"`},
		{"interval below the minimum", func(c *config.Config) { c.Services[0].Flows[1].Interval = time.Millisecond }, "flow b: interval 1ms is below the minimum"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := startDaemon(t, testConfig(iv, "a"), nil)
			defer r.stop(t)
			next := testConfig(iv, "a", "b")
			tc.edit(next)
			var logs syncBuffer
			rl := &Reloader{Daemon: r.d, File: "t.yaml", Logger: slog.New(slog.NewTextHandler(&logs, nil)),
				Load: func() (*config.Config, error) { return next, nil },
				Then: []Reconfigurer{ReconfigureFunc(func(*config.Config) { t.Error("a refused config was handed on") })},
			}
			bctx, stopBuild := context.WithCancel(context.Background())
			defer stopBuild()
			ended, result := buildInTheMaking(t, bctx, r.d)
			returned := make(chan error, 1)
			go func() { returned <- rl.Reload(context.Background()) }()
			select {
			case err := <-returned:
				if err == nil {
					t.Error("Reload: nil, want the daemon's refusal")
				}
			case cause := <-ended:
				t.Fatalf("the refused reload ended the build in the making (%v)", cause)
			case <-time.After(10 * time.Second): // a hang guard, not a speed figure
				t.Fatal("the refused reload waited for the build in the making")
			}
			noEnd(t, ended, "the refused reload")
			if runningConfig(r.d).Location != "seoul-a" || len(flowsOf(runningConfig(r.d))) != 1 {
				t.Error("the daemon took the refused config")
			}
			if got := testutil.ToFloat64(r.d.m.reloadOK); got != 0 {
				t.Errorf("slaprobe_config_last_reload_successful = %v, want 0", got)
			}
			out := logs.String()
			for _, want := range []string{"level=ERROR", "reload failed; keeping the running config", tc.want} {
				if !strings.Contains(out, want) {
					t.Errorf("log lacks %q:\n%s", want, out)
				}
			}
			stopBuild()
			if err := <-result; err != nil {
				t.Errorf("the build's Exclusive: %v, want nil (not superseded)", err)
			}
		})
	}
}

// TestReloaderEndsNoBuildOnceItWillNotApply: a reload whose ctx ended while
// the config was read (SIGTERM: run's ctx), or whose daemon began to stop
// then, applies nothing, and so ends no report build in the making either.
// Before, ExclusiveWithin ended the build first and only then saw ctx done
// (or the daemon refused the config with ErrShuttingDown); with ctx done and
// the turn free its select could even take the turn and apply the config.
func TestReloaderEndsNoBuildOnceItWillNotApply(t *testing.T) {
	iv := 10 * time.Second
	for _, tc := range []struct {
		name    string
		ctxEnds bool // else the daemon stops
	}{
		{"ctx ended while the config was read", true},
		{"daemon stopping while the config was read", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := startDaemon(t, testConfig(iv, "a"), nil)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var logs syncBuffer
			rl := &Reloader{Daemon: r.d, File: "t.yaml", Logger: slog.New(slog.NewTextHandler(&logs, nil)),
				Load: func() (*config.Config, error) {
					if tc.ctxEnds {
						cancel()
					} else {
						r.stop(t)
					}
					return testConfig(iv, "a", "b"), nil
				},
				Then: []Reconfigurer{ReconfigureFunc(func(*config.Config) { t.Error("the config was handed on") })},
			}
			bctx, stopBuild := context.WithCancel(context.Background())
			defer stopBuild()
			ended, result := buildInTheMaking(t, bctx, r.d)
			err := rl.Reload(ctx)
			if tc.ctxEnds && !errors.Is(err, context.Canceled) {
				t.Errorf("Reload: %v, want context.Canceled", err)
			}
			if !tc.ctxEnds && err != nil {
				t.Errorf("Reload: %v, want nil (ignored)", err)
			}
			noEnd(t, ended, "a reload that applied nothing")
			if len(flowsOf(runningConfig(r.d))) != 1 {
				t.Error("the daemon took the config")
			}
			if got := testutil.ToFloat64(r.d.m.reloadOK); got != 1 {
				t.Errorf("slaprobe_config_last_reload_successful = %v, want 1 (untouched)", got)
			}
			if out := logs.String(); strings.Contains(out, "level=ERROR") {
				t.Errorf("log has an error:\n%s", out)
			}
			stopBuild()
			if err := <-result; err != nil {
				t.Errorf("the build's Exclusive: %v, want nil (not superseded)", err)
			}
			if tc.ctxEnds {
				r.stop(t)
			}
		})
	}
}

// TestReloaderConcurrentCallsLaterWins: two Reloads at once (two SIGHUPs
// taken by two goroutines) each read the file; the one that read it last is
// the config that runs after both. Before, a reload whose read finished
// after the other's apply applied the older file over the newer.
func TestReloaderConcurrentCallsLaterWins(t *testing.T) {
	iv := 10 * time.Second
	r := startDaemon(t, testConfig(iv, "a"), nil)
	defer r.stop(t)
	older, newer := testConfig(iv, "a", "b"), testConfig(iv, "a", "b", "c")
	var mu sync.Mutex
	file := older // what the file holds now
	reading := make(chan struct{})
	release := make(chan struct{})
	first := true
	rl := &Reloader{Daemon: r.d, File: "t.yaml", Logger: slog.New(slog.NewTextHandler(&syncBuffer{}, nil)),
		Load: func() (*config.Config, error) {
			mu.Lock()
			c, slow := file, first
			first = false
			mu.Unlock()
			if slow { // the first read is slow: the file changes meanwhile
				close(reading)
				<-release
			}
			return c, nil
		},
	}
	done1, done2 := make(chan error, 1), make(chan error, 1)
	go func() { done1 <- rl.Reload(context.Background()) }()
	<-reading
	mu.Lock()
	file = newer // saved again, and a second SIGHUP
	mu.Unlock()
	go func() { done2 <- rl.Reload(context.Background()) }()
	var err2 error
	got2 := false
	select {
	case err2 = <-done2: // applied before the first finished reading
		got2 = true
	case <-time.After(200 * time.Millisecond): // it waits for the first (serialized)
	}
	close(release)
	if err := <-done1; err != nil {
		t.Errorf("first Reload: %v", err)
	}
	if !got2 {
		err2 = <-done2
	}
	if err2 != nil {
		t.Errorf("second Reload: %v", err2)
	}
	if got := runningConfig(r.d); got != newer {
		t.Errorf("running config has %d flows, want the newer file's 3", len(flowsOf(got)))
	}
}

// TestExclusiveWithinEndedCtx: ExclusiveWithin with its ctx already ended
// returns ctx's error and neither ends the build in the making nor runs
// its own (before, it ended the build first, then chose at random between
// the free turn and ctx's end: both could happen).
func TestExclusiveWithinEndedCtx(t *testing.T) {
	r := startDaemon(t, testConfig(10*time.Second, "a"), nil)
	defer r.stop(t)
	bctx, stopBuild := context.WithCancel(context.Background())
	defer stopBuild()
	ended, result := buildInTheMaking(t, bctx, r.d)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for range 20 {
		_, err := r.d.ExclusiveWithin(ctx, ReloadBuildWait, func() { t.Error("ran with its ctx ended") })
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("ExclusiveWithin: %v, want context.Canceled", err)
		}
	}
	stopBuild()
	if err := <-result; err != nil {
		t.Errorf("the build's Exclusive: %v, want nil (not superseded)", err)
	}
	if cause := <-ended; !errors.Is(cause, context.Canceled) {
		t.Errorf("the build ended with %v, want its own context's end", cause)
	}
	// With the turn free and ctx ended, it still does not run.
	for range 50 {
		if _, err := r.d.ExclusiveWithin(ctx, ReloadBuildWait, func() { t.Error("ran with its ctx ended, the turn free") }); !errors.Is(err, context.Canceled) {
			t.Fatalf("ExclusiveWithin: %v, want context.Canceled", err)
		}
	}
}

// TestReloaderHeavyEndsOnEveryPath: whatever a reload comes to (applied,
// rejected by the parse, refused by the daemon, its ctx ended, the daemon
// stopping, a Reconfigurer that panics), every heavy phase it began
// (Deps.Heavy: run lowers GOGC in them) ends, so that GOGC is put back
// (the daemon's own gauge build runs its phases too: the test waits for
// the count to come back to 0).
func TestReloaderHeavyEndsOnEveryPath(t *testing.T) {
	iv := 10 * time.Second
	for _, tc := range []struct {
		name  string
		load  func(r *running, cancel context.CancelFunc) (*config.Config, error)
		panic bool
	}{
		{"applied", func(*running, context.CancelFunc) (*config.Config, error) { return testConfig(iv, "a", "b"), nil }, false},
		{"rejected", func(*running, context.CancelFunc) (*config.Config, error) {
			return config.Parse("t.yaml", []byte(badConfig), config.Options{})
		}, false},
		{"refused", func(*running, context.CancelFunc) (*config.Config, error) {
			c := testConfig(iv, "a")
			c.Location = "busan-b"
			return c, nil
		}, false},
		{"ctx ended", func(_ *running, cancel context.CancelFunc) (*config.Config, error) {
			cancel()
			return testConfig(iv, "a", "b"), nil
		}, false},
		{"stopping", func(r *running, _ context.CancelFunc) (*config.Config, error) {
			r.cancel()
			<-r.done
			r.done <- nil
			return testConfig(iv, "a", "b"), nil
		}, false},
		{"a Reconfigurer panics", func(*running, context.CancelFunc) (*config.Config, error) { return testConfig(iv, "a", "b"), nil }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			phases := 0
			heavy := func() func() {
				mu.Lock()
				phases++
				mu.Unlock()
				var once sync.Once
				return func() {
					once.Do(func() {
						mu.Lock()
						phases--
						mu.Unlock()
					})
				}
			}
			fc := clockwork.NewFakeClockAt(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
			d, w := newTestDaemon(t, testConfig(iv, "a"), &fakeStore{}, Deps{Clock: ClockworkClock(fc), Grace: 2 * time.Second, Heavy: heavy})
			dctx, dcancel := context.WithCancel(context.Background())
			r := &running{d: d, w: w, fc: fc, cancel: dcancel, done: make(chan error, 1)}
			go func() { r.done <- d.Run(dctx) }()
			waitScheduler(t, d)
			defer r.stop(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			rl := &Reloader{Daemon: d, File: "t.yaml", Logger: slog.New(slog.DiscardHandler),
				Load: func() (*config.Config, error) { return tc.load(r, cancel) }}
			if tc.panic {
				rl.Then = []Reconfigurer{ReconfigureFunc(func(*config.Config) { panic("a bug") })}
			}
			func() {
				defer func() {
					if p := recover(); (p != nil) != tc.panic {
						t.Errorf("panic %v, want one: %v", p, tc.panic)
					}
				}()
				rl.Reload(ctx) //nolint:errcheck // the phases are the point
			}()
			// The daemon's own gauge build may be in a phase now: wait
			// for every phase to end (one the reload leaked never does).
			waitFor(t, "every heavy phase ended", func() bool {
				mu.Lock()
				defer mu.Unlock()
				return phases == 0
			})
		})
	}
}
