package daemon

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/slaprobe/slaprobe/config"
)

// badConfig is a config file that does not load: two errors, each with
// its file, line and key.
const badConfig = `location: seoul-a
services:
  - name: svc
    flows:
      - name: a
        interval: soon
        steps:
          - name: s
            request: {url: "http://127.0.0.1/"}
`

// buildInTheMaking starts a report build (Exclusive) that runs until its
// context ends (ctx's, or the one Exclusive gives it), and returns once it
// holds the turn: ended gets the cause its context ended with; result is
// Exclusive's error.
func buildInTheMaking(t *testing.T, ctx context.Context, d *Daemon) (ended <-chan error, result <-chan error) {
	t.Helper()
	in := make(chan struct{})
	endc, resc := make(chan error, 1), make(chan error, 1)
	go func() {
		resc <- d.Exclusive(ctx, func(ctx context.Context) {
			close(in)
			<-ctx.Done()
			endc <- context.Cause(ctx)
		})
	}()
	<-in
	return endc, resc
}

// TestReloaderRejectsWithoutEndingTheBuild: a SIGHUP whose config does not
// load ends no report build in the making and waits for none (the build
// here runs until its context ends: the reload returns while it still
// runs); the metric says the reload was rejected and the log line gives
// every error with its file, line and key. Before, the config was parsed
// within the reload's turn, which ended the build first: an operator
// saving the file twice, or a tool writing it in two steps, kept the status
// page's history from ever finishing.
func TestReloaderRejectsWithoutEndingTheBuild(t *testing.T) {
	r := startDaemon(t, testConfig(10*time.Second, "a"), nil)
	var logs syncBuffer
	loads := 0
	rl := &Reloader{Daemon: r.d, File: "t.yaml", Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		Load: func() (*config.Config, error) {
			loads++
			return config.Parse("t.yaml", []byte(badConfig), config.Options{})
		},
		Then: []Reconfigurer{ReconfigureFunc(func(*config.Config) { t.Error("a rejected config was handed on") })},
	}
	bctx, stopBuild := context.WithCancel(context.Background())
	defer stopBuild()
	ended, result := buildInTheMaking(t, bctx, r.d)
	returned := make(chan error, 1)
	go func() { returned <- rl.Reload(context.Background()) }()
	select {
	case err := <-returned:
		var errs config.Errors
		if !errors.As(err, &errs) {
			t.Errorf("Reload: %v, want the config's errors", err)
		}
	case cause := <-ended:
		t.Fatalf("the rejected reload ended the build in the making (%v)", cause)
	case <-time.After(10 * time.Second): // a hang guard, not a speed figure
		t.Fatal("the rejected reload waited for the build in the making")
	}
	select {
	case cause := <-ended:
		t.Errorf("the rejected reload ended the build in the making (%v)", cause)
	default:
	}
	if loads != 1 {
		t.Errorf("config loaded %d times, want 1", loads)
	}
	if got := testutil.ToFloat64(r.d.m.reloadOK); got != 0 {
		t.Errorf("slaprobe_config_last_reload_successful = %v, want 0", got)
	}
	out := logs.String()
	for _, want := range []string{"level=ERROR", "reload rejected; keeping the running config",
		`t.yaml:6: services[0].flows[0].interval: invalid duration \"soon\"`, "t.yaml:8: services[0].flows[0].steps[0].function: is required"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	// The build, still in the making, finishes as it would have.
	stopBuild()
	if cause := <-ended; !errors.Is(cause, context.Canceled) {
		t.Errorf("the build ended with %v, want its own context's end", cause)
	}
	if err := <-result; err != nil {
		t.Errorf("the build's Exclusive: %v, want nil (not superseded)", err)
	}
}

// TestReloaderHandsOnBeforeTheBuildsWaiting: a config that loads ends the
// build in the making (ErrSuperseded), the daemon takes it, and each of
// Then gets it, in order, before a build that asked for its turn during the
// reload runs: that build reads the new config. The metric says the reload
// took and the log line gives its phases.
func TestReloaderHandsOnBeforeTheBuildsWaiting(t *testing.T) {
	iv := 10 * time.Second
	r := startDaemon(t, testConfig(iv, "a"), nil)
	r.d.ReloadRejected() // a reload rejected before: this one sets it back
	next := testConfig(iv, "a", "b")
	var logs syncBuffer
	var mu sync.Mutex
	var got []string
	var pageCfg *config.Config
	waiting := make(chan *config.Config, 1)
	rl := &Reloader{Daemon: r.d, File: "t.yaml", Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		Load: func() (*config.Config, error) { return next, nil },
		Then: []Reconfigurer{
			ReconfigureFunc(func(c *config.Config) {
				mu.Lock()
				got = append(got, "first")
				mu.Unlock()
				if runningConfig(r.d) != c {
					t.Error("Then ran before the daemon took the config")
				}
				// A build asks for its turn now: it waits for the reload.
				go func() {
					if err := r.d.Exclusive(context.Background(), func(context.Context) {
						mu.Lock()
						defer mu.Unlock()
						waiting <- pageCfg
					}); err != nil {
						t.Errorf("the waiting build's Exclusive: %v", err)
					}
				}()
				time.Sleep(50 * time.Millisecond) // let it ask
			}),
			ReconfigureFunc(func(c *config.Config) {
				mu.Lock()
				defer mu.Unlock()
				got = append(got, "second")
				pageCfg = c
			}),
		},
	}
	ended, result := buildInTheMaking(t, context.Background(), r.d)
	if err := rl.Reload(context.Background()); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	if cause := <-ended; !errors.Is(cause, ErrSuperseded) {
		t.Errorf("the build in the making ended with %v, want ErrSuperseded", cause)
	}
	if err := <-result; !errors.Is(err, ErrSuperseded) {
		t.Errorf("the build's Exclusive: %v, want ErrSuperseded", err)
	}
	if c := <-waiting; c != next {
		t.Error("the build that waited for the reload read the replaced config")
	}
	mu.Lock()
	if strings.Join(got, " ") != "first second" {
		t.Errorf("Then called %v, want [first second]", got)
	}
	mu.Unlock()
	if runningConfig(r.d) != next {
		t.Error("the daemon did not take the config")
	}
	if got := testutil.ToFloat64(r.d.m.reloadOK); got != 1 {
		t.Errorf("slaprobe_config_last_reload_successful = %v, want 1", got)
	}
	out := logs.String()
	for _, want := range []string{"level=INFO", `msg="config reloaded" file=t.yaml took=0s parse=0s gc=0s turn=0s apply=0s`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

// TestReloaderDuringShutdown: a SIGHUP once the daemon is stopping (with or
// after SIGTERM) is ignored with an info line, and
// slaprobe_config_last_reload_successful keeps what the last reload said:
// before, the daemon's "shutting down" was logged as a failed reload and
// set it to 0. Rows: the daemon stopped before the SIGHUP (the config is
// not even read), and stopping while the config was read (the daemon
// refuses it with ErrShuttingDown).
func TestReloaderDuringShutdown(t *testing.T) {
	iv := 10 * time.Second
	for _, tc := range []struct {
		name       string
		stopInLoad bool
		wantLoads  int
	}{
		{"stopped before", false, 0},
		{"stopping while the config is read", true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := startDaemon(t, testConfig(iv, "a"), nil)
			if !tc.stopInLoad {
				r.stop(t)
			}
			var logs syncBuffer
			loads := 0
			rl := &Reloader{Daemon: r.d, File: "t.yaml", Logger: slog.New(slog.NewTextHandler(&logs, nil)),
				Load: func() (*config.Config, error) {
					loads++
					if tc.stopInLoad {
						r.stop(t)
					}
					return testConfig(iv, "a", "b"), nil
				},
				Then: []Reconfigurer{ReconfigureFunc(func(*config.Config) { t.Error("a config was handed on during shutdown") })},
			}
			if err := rl.Reload(context.Background()); err != nil {
				t.Errorf("Reload: %v, want nil (ignored)", err)
			}
			if loads != tc.wantLoads {
				t.Errorf("config loaded %d times, want %d", loads, tc.wantLoads)
			}
			if got := testutil.ToFloat64(r.d.m.reloadOK); got != 1 {
				t.Errorf("slaprobe_config_last_reload_successful = %v, want 1 (untouched)", got)
			}
			out := logs.String()
			if !strings.Contains(out, `level=INFO msg="reload ignored: shutting down; the running config stays"`) {
				t.Errorf("log lacks the info line:\n%s", out)
			}
			if strings.Contains(out, "level=ERROR") {
				t.Errorf("log has an error:\n%s", out)
			}
		})
	}
}

// runningConfig is the config the daemon runs.
func runningConfig(d *Daemon) *config.Config {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.cfg
}
