package daemon

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestReloadEndsBuildInTheMaking: a reload (ExclusiveWithin) does not wait
// for the availability gauge's report build in the making (at 50,000 flows,
// under load, seconds of the reload), whose figures are of the config it
// replaces: it ends the build's context and takes the slot once the build
// gave it back. What the ended build made is not published (the gauge keeps
// its last complete values through the reload), and the refresh starts over
// after the reload, from the new config. On main the reload waited for the
// build (here, for ever: the build ends only with its context).
func TestReloadEndsBuildInTheMaking(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	started := make(chan struct{})
	avail := func(ctx context.Context, _, _ time.Time) (map[string]float64, error) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		switch {
		case n <= 2: // the first refresh, complete
			return map[string]float64{"svc": 1}, nil
		case n == 3: // the build the reload ends: its figures are stale
			close(started)
			<-ctx.Done()
			return map[string]float64{"svc": 0.5}, nil
		default: // built again after the reload
			return map[string]float64{"svc": 0.9}, nil
		}
	}
	d, _ := newTestDaemon(t, testConfig(time.Minute, "a"), nil, Deps{Availability: avail, Clock: fixedClock(time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC))})
	ctx := context.Background()
	gauge := func(window string) float64 {
		return testutil.ToFloat64(d.m.availability.WithLabelValues("svc", window))
	}
	d.refreshAvailability(ctx)

	refreshed := make(chan struct{})
	go func() { defer close(refreshed); d.refreshAvailability(ctx) }()
	<-started
	reloaded := make(chan bool, 1)
	var during [2]float64
	go func() {
		alone, err := d.ExclusiveWithin(ctx, ReloadBuildWait, func() {
			// The reload's own work; the ended build published nothing.
			during = [2]float64{gauge("30d"), gauge("month")}
		})
		if err != nil {
			t.Errorf("ExclusiveWithin: %v", err)
		}
		reloaded <- alone
	}()
	select {
	case alone := <-reloaded:
		if !alone {
			t.Error("the reload ran beside the build, want alone once the build gave way")
		}
	case <-time.After(10 * time.Second): // a hang guard, not a speed figure: the build never ends by itself
		t.Fatal("the reload waited for the report build in the making")
	}
	if during != [2]float64{1, 1} {
		t.Errorf("gauge during the reload (30d, month) = %v, want the last complete values [1 1]", during)
	}
	<-refreshed
	for _, w := range []string{"30d", "month"} {
		if got := gauge(w); got != 0.9 {
			t.Errorf(`availability{window=%q} = %v after the reload, want 0.9 (built again from the new config)`, w, got)
		}
	}
	if calls != 5 {
		t.Errorf("%d builds, want 5 (2, the ended one, 2 again)", calls)
	}
}

// TestBuildsWaitForReload: a build that asks for its turn while a reload
// holds the slot waits for the reload to end, and one the reload ended says
// so (ErrSuperseded) rather than nil: its caller drops what it made.
func TestBuildsWaitForReload(t *testing.T) {
	d, _ := newTestDaemon(t, testConfig(time.Minute, "a"), nil, Deps{Clock: fixedClock(time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC))})
	ctx := context.Background()
	var events []string
	var mu sync.Mutex
	note := func(s string) { mu.Lock(); events = append(events, s); mu.Unlock() }

	inBuild := make(chan struct{})
	buildErr := make(chan error, 1)
	go func() {
		buildErr <- d.Exclusive(ctx, func(ctx context.Context) {
			close(inBuild)
			<-ctx.Done()
			note("ended build")
		})
	}()
	<-inBuild
	waiting := make(chan error, 1)
	if _, err := d.ExclusiveWithin(ctx, ReloadBuildWait, func() {
		note("reload")
		go func() { waiting <- d.Exclusive(ctx, func(context.Context) { note("next build") }) }()
		// The next build is not let in while the reload runs.
		time.Sleep(50 * time.Millisecond)
	}); err != nil {
		t.Fatal(err)
	}
	if err := <-buildErr; !errors.Is(err, ErrSuperseded) {
		t.Errorf("the ended build's Exclusive: %v, want ErrSuperseded", err)
	}
	if err := <-waiting; err != nil {
		t.Errorf("the next build's Exclusive: %v", err)
	}
	want := []string{"ended build", "reload", "next build"}
	if len(events) != len(want) || events[0] != want[0] || events[1] != want[1] || events[2] != want[2] {
		t.Errorf("events %v, want %v", events, want)
	}
}
