package daemon

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// gateClock is fixedClock whose After channels fire when the test says
// (fire), so that ExclusiveWithin's fallback is reached at a chosen point.
type gateClock struct {
	fixedClock
	mu     sync.Mutex
	afters []chan time.Time
	asked  chan struct{} // one send per After call
}

func newGateClock() *gateClock {
	return &gateClock{fixedClock: fixedClock(time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC)), asked: make(chan struct{}, 16)}
}

func (c *gateClock) After(time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	c.mu.Lock()
	c.afters = append(c.afters, ch)
	c.mu.Unlock()
	select {
	case c.asked <- struct{}{}:
	default: // nobody looks at them (the reloads of the shake test)
	}
	return ch
}

// fire makes every After asked so far ready.
func (c *gateClock) fire() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ch := range c.afters {
		ch <- time.Time(c.fixedClock)
	}
	c.afters = nil
}

// hangGuard is a guard against a deadlock, not a speed figure.
const hangGuard = 10 * time.Second

func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(hangGuard):
		t.Fatalf("%s: still waiting after %v (deadlock?)", what, hangGuard)
		panic("unreachable")
	}
}

// TestReloadBesideABuildThatIgnoresItsContext: the 30 s fallback still
// holds for a build that does not read its context (a store that hangs):
// the reload runs beside it once the wait is over, a build that asks for
// its turn meanwhile waits for the reload and then for the stuck build, and
// the stuck build, when it ends at last, is dropped (ErrSuperseded: it was
// of the replaced config) and the slot is free again.
func TestReloadBesideABuildThatIgnoresItsContext(t *testing.T) {
	c := newGateClock()
	d, _ := newTestDaemon(t, testConfig(time.Minute, "a"), nil, Deps{Clock: c})
	ctx := context.Background()

	release := make(chan struct{})
	inStuck := make(chan struct{})
	stuckErr := make(chan error, 1)
	go func() {
		stuckErr <- d.Exclusive(ctx, func(context.Context) { close(inStuck); <-release }) // ignores its context
	}()
	recv(t, inStuck, "the stuck build's turn")

	nextErr := make(chan error, 1)
	var nextRan atomic.Bool
	reloaded := make(chan bool, 1)
	go func() {
		alone, err := d.ExclusiveWithin(ctx, ReloadBuildWait, func() {
			go func() {
				nextErr <- d.Exclusive(ctx, func(context.Context) { nextRan.Store(true) })
			}()
		})
		if err != nil {
			t.Errorf("ExclusiveWithin: %v", err)
		}
		reloaded <- alone
	}()
	recv(t, c.asked, "the reload's wait")
	c.fire() // ReloadBuildWait is over
	if alone := recv(t, reloaded, "the reload"); alone {
		t.Error("the reload ran alone, want beside the stuck build")
	}
	select {
	case err := <-nextErr:
		t.Fatalf("the next build ran (%v) while the stuck one held the slot", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := recv(t, stuckErr, "the stuck build's Exclusive"); !errors.Is(err, ErrSuperseded) {
		t.Errorf("the stuck build's Exclusive: %v, want ErrSuperseded", err)
	}
	if err := recv(t, nextErr, "the next build's Exclusive"); err != nil || !nextRan.Load() {
		t.Errorf("the next build: ran %v, err %v; want ran, nil", nextRan.Load(), err)
	}
}

// TestWaitForReloadEndsWithContext: a build waiting for a reload to end
// (reloadsEnded) returns its context's error when that ends first, and a
// reload whose context ends while it waits for the slot (Stop during a
// reload) leaves no reload counted: the builds after it are not held.
func TestWaitForReloadEndsWithContext(t *testing.T) {
	t.Run("build waits on a reload", func(t *testing.T) {
		d, _ := newTestDaemon(t, testConfig(time.Minute, "a"), nil, Deps{Clock: newGateClock()})
		ctx := context.Background()
		inReload := make(chan struct{})
		endReload := make(chan struct{})
		reloadDone := make(chan error, 1)
		go func() {
			_, err := d.ExclusiveWithin(ctx, ReloadBuildWait, func() { close(inReload); <-endReload })
			reloadDone <- err
		}()
		recv(t, inReload, "the reload's turn")
		bctx, cancel := context.WithCancel(ctx)
		buildErr := make(chan error, 1)
		go func() {
			buildErr <- d.Exclusive(bctx, func(context.Context) { t.Error("a build ran during the reload") })
		}()
		time.Sleep(20 * time.Millisecond) // let it wait (on reloadsEnded or the slot)
		cancel()
		if err := recv(t, buildErr, "the build's Exclusive"); !errors.Is(err, context.Canceled) {
			t.Errorf("the build's Exclusive: %v, want context.Canceled", err)
		}
		close(endReload)
		if err := recv(t, reloadDone, "the reload"); err != nil {
			t.Fatal(err)
		}
		ran := make(chan error, 1)
		go func() { ran <- d.Exclusive(ctx, func(context.Context) {}) }()
		if err := recv(t, ran, "a build after the reload"); err != nil {
			t.Error(err)
		}
	})
	t.Run("reload's context ends while it waits", func(t *testing.T) {
		c := newGateClock()
		d, _ := newTestDaemon(t, testConfig(time.Minute, "a"), nil, Deps{Clock: c})
		ctx := context.Background()
		release := make(chan struct{})
		inStuck := make(chan struct{})
		stuckErr := make(chan error, 1)
		go func() { stuckErr <- d.Exclusive(ctx, func(context.Context) { close(inStuck); <-release }) }()
		recv(t, inStuck, "the stuck build's turn")
		rctx, cancel := context.WithCancel(ctx)
		reloadErr := make(chan error, 1)
		go func() {
			_, err := d.ExclusiveWithin(rctx, ReloadBuildWait, func() { t.Error("the reload ran after its context ended") })
			reloadErr <- err
		}()
		recv(t, c.asked, "the reload's wait")
		cancel()
		if err := recv(t, reloadErr, "the reload"); !errors.Is(err, context.Canceled) {
			t.Errorf("ExclusiveWithin: %v, want context.Canceled", err)
		}
		close(release)
		recv(t, stuckErr, "the stuck build")
		ran := make(chan error, 1)
		go func() { ran <- d.Exclusive(ctx, func(context.Context) {}) }()
		if err := recv(t, ran, "a build after the ended reload"); err != nil {
			t.Error(err)
		}
	})
}

// TestReloadsAndBuildsAtOnce shakes Exclusive and ExclusiveWithin: builds
// that read their context and reloads back to back, from several
// goroutines. Nothing holds the slot beside anything else (every reload
// runs alone: every build gives way), nothing hangs, a build either ran to
// its end or was ended by a reload (ErrSuperseded), and every reload ran.
func TestReloadsAndBuildsAtOnce(t *testing.T) {
	d, _ := newTestDaemon(t, testConfig(time.Minute, "a"), nil, Deps{Clock: newGateClock()})
	ctx := context.Background()
	var holders atomic.Int32
	enter := func(what string) {
		if n := holders.Add(1); n != 1 {
			t.Errorf("%s: %d in the slot", what, n)
		}
	}
	var wg sync.WaitGroup
	var built, superseded, reloads atomic.Int32
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 40 {
				done := false
				err := d.Exclusive(ctx, func(ctx context.Context) {
					enter("build")
					defer holders.Add(-1)
					select {
					case <-ctx.Done():
					case <-time.After(time.Millisecond):
						done = true
					}
				})
				switch {
				case err == nil && done:
					built.Add(1)
				case errors.Is(err, ErrSuperseded):
					superseded.Add(1)
				default:
					t.Errorf("build: err %v, done %v", err, done)
				}
			}
		}()
	}
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 30 {
				alone, err := d.ExclusiveWithin(ctx, ReloadBuildWait, func() {
					enter("reload")
					holders.Add(-1)
				})
				if err != nil || !alone {
					t.Errorf("reload: alone %v, err %v", alone, err)
				}
				reloads.Add(1)
			}
		}()
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	recv(t, finished, "builds and reloads")
	if built.Load()+superseded.Load() != 120 || reloads.Load() != 60 {
		t.Errorf("builds %d + superseded %d, reloads %d; want 120 builds, 60 reloads", built.Load(), superseded.Load(), reloads.Load())
	}
	d.buildMu.Lock()
	defer d.buildMu.Unlock()
	if d.reloading != 0 || d.reloadsEnded != nil || d.building != nil || len(d.builds) != 0 {
		t.Errorf("after: reloading %d, reloadsEnded %v, building set %v, slot taken %d", d.reloading, d.reloadsEnded, d.building != nil, len(d.builds))
	}
}
