package statuspage

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/store"
)

// TestBuildFailureLoggedOncePerRebuild: while the figures cannot be built
// (a daemon started without its store: every build fails, retried every 5
// s as for a month with no run yet) the failure is logged when it first
// happens, when its error changes, and then once a Rebuild (a minute), as
// `store still unreachable` is, not at every retry: a prober restarted
// during a 10-minute PostgreSQL outage wrote 12 warn lines a minute, 120 of
// them, each with the error twice (measured live: 07:04:07-07:11:07, one
// every 5 s).
func TestBuildFailureLoggedOncePerRebuild(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 7, 4, 7, 0, time.UTC)
	mc := clock.NewManual(t0)
	var buf strings.Builder
	log := slog.New(slog.NewTextHandler(&buf, nil))
	st := store.NewPending(errors.New("connect: connection refused"))
	p, err := New(genConfig(1, 1, time.Minute), Options{Store: st, Clock: mc, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := clock.WithDeadline(context.Background(), mc, t0.Add(10*time.Minute+time.Second))
	defer cancel()
	if err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
	// The first failure at 0 s, then one a minute: 11 over 10 minutes.
	if n := strings.Count(buf.String(), "status page: building figures"); n != 11 {
		t.Errorf("%d warn lines over 10 minutes of failing builds, want 11 (the first, then one a minute):\n%s", n, buf.String())
	}
}
