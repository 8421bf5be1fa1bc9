package daemon

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestGaugeWindowsOfOneConfig: a reload that comes between the gauge's two
// builds (the 30 days' done and published, the month's not begun) is not
// one a build in the making gives way to, yet the 30 days' figures are of
// the config it replaced: the refresh starts over, so that both windows
// are of the reloaded config once it returns, not the 30 days' of the old
// one and the month's of the new until the next refresh (5 minutes). On
// main: 30d 1 (old config), month 0.9 (new).
func TestGaugeWindowsOfOneConfig(t *testing.T) {
	old, next := testConfig(time.Minute, "a"), testConfig(time.Minute, "a")
	var d *Daemon
	var once sync.Once
	reloaded := make(chan error, 1)
	avail := func(ctx context.Context, _, _ time.Time) (map[string]float64, error) {
		d.mu.RLock()
		cfg := d.cfg
		d.mu.RUnlock()
		if cfg == next {
			return map[string]float64{"svc": 0.9}, nil
		}
		once.Do(func() {
			// The reload comes once this build gave the slot back, before
			// the gauge asks for the month's turn: it holds d.mu (where the
			// gauge reads the services between the two) until the reload
			// is counted, which the month's build then waits for.
			d.mu.Lock()
			go func() {
				<-ctx.Done() // runBuild ends it once the build is over
				go func() {
					_, err := d.ExclusiveWithin(context.Background(), ReloadBuildWait, func() {
						if err := d.Reload(next); err != nil {
							t.Errorf("Reload: %v", err)
						}
					})
					reloaded <- err
				}()
				for {
					d.buildMu.Lock()
					n := d.reloading
					d.buildMu.Unlock()
					if n > 0 {
						break
					}
					time.Sleep(time.Millisecond)
				}
				d.mu.Unlock()
			}()
		})
		return map[string]float64{"svc": 1}, nil
	}
	d, _ = newTestDaemon(t, old, nil, Deps{Availability: avail, Clock: fixedClock(time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC))})
	d.refreshAvailability(context.Background())
	if err := recv(t, reloaded, "the reload"); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"30d", "month"} {
		if got := testutil.ToFloat64(d.m.availability.WithLabelValues("svc", w)); got != 0.9 {
			t.Errorf("availability{window=%q} = %v, want 0.9 (of the reloaded config)", w, got)
		}
	}
}
