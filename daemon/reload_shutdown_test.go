package daemon

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

// TestShutdownEndsAReloadsStoreReads: a reload that adds a flow reads the
// store (its open windows, last runs), bounded at 30 s, holding the lock
// that shutdown takes first. With the database frozen, a SIGTERM just after
// a SIGHUP waited out those 30 s before it even stopped new runs (60.6 s to
// exit in a live test with PostgreSQL under SIGSTOP, where the drain, the
// session ends, the store flush and the Alertmanager flush can take 75 s
// more: past the TimeoutStopSec of 90 s the unit had, and its SIGKILL loses the
// results held in memory). Shutdown now cancels those reads.
func TestShutdownEndsAReloadsStoreReads(t *testing.T) {
	var hang atomic.Bool
	entered := make(chan struct{})
	ended := make(chan error, 1)
	st := &fakeStore{openHook: func(ctx context.Context) error {
		if !hang.Load() {
			return nil
		}
		close(entered)
		<-ctx.Done() // a database that does not answer
		ended <- ctx.Err()
		return ctx.Err()
	}}
	fc := clockwork.NewFakeClockAt(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	iv := 10 * time.Second
	d, _ := newTestDaemon(t, testConfig(iv, "a"), st, Deps{Clock: ClockworkClock(fc), Grace: 2 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	waitFor(t, "scheduler start", func() bool {
		d.mu.RLock()
		defer d.mu.RUnlock()
		return d.sched != nil
	})
	hang.Store(true)
	reloaded := make(chan error, 1)
	go func() { reloaded <- d.Reload(testConfig(iv, "a", "b")) }()
	<-entered
	cancel() // SIGTERM
	if err := <-ended; !errors.Is(err, context.Canceled) {
		t.Errorf("the reload's store read ended with %v, want cancelled by the shutdown", err)
	}
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	if err := <-reloaded; err != nil {
		t.Errorf("Reload: %v", err)
	}
}
