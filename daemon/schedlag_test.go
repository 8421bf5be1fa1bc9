package daemon

import (
	"context"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	dto "github.com/prometheus/client_model/go"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
)

// slaprobe_schedule_lag_seconds measures the prober (how late it starts a
// run it could have started), not the target: a confirm run due
// confirm_every after a run that hung to its timeout starts when that run
// ends, and that wait is the target's, not lag. Centrifugo v6.9.1 frozen
// under examples/centrifugo.yaml (interval 10s, confirm_every 2s, timeout
// 8s) put 14 of 52 runs above the histogram's last bucket (5 s; 84 s in
// all), so a dashboard's lag p99 said the prober was starved whenever the
// target hung.
func TestScheduleLagLeavesOutTheRunBefore(t *testing.T) {
	iv, every, hang := time.Minute, 2*time.Second, 8*time.Second
	cfg := testConfig(iv, "f")
	cfg.Services[0].Flows[0].ConfirmEvery = every
	var r *running
	ready := make(chan struct{})
	var failFrom, failTo time.Time
	runner := funcRunner(func(ctx context.Context, f *config.Flow) probe.Run {
		<-ready
		now := r.fc.Now()
		if now.Before(failFrom) || !now.Before(failTo) {
			return mkRun(f.Name, now, "")
		}
		select { // a frozen target: the run waits to its timeout
		case <-r.fc.After(hang):
		case <-ctx.Done():
		}
		run := mkRun(f.Name, now, "login")
		run.Duration = hang
		return run
	})
	r = startDaemon(t, cfg, runner)
	t0 := r.fc.Now()
	failFrom, failTo = t0.Add(90*time.Second), t0.Add(3*time.Minute)
	close(ready)

	r.advance(5*time.Minute, 250*time.Millisecond)
	waitFor(t, "confirm runs", func() bool {
		runs, _ := r.w.snapshot()
		n := 0
		for _, run := range runs {
			if run.Confirm {
				n++
			}
		}
		return n >= 5
	})
	var m dto.Metric
	if err := r.d.m.lag.Write(&m); err != nil {
		t.Fatal(err)
	}
	h := m.GetHistogram()
	var under5 uint64
	for _, b := range h.GetBucket() {
		if b.GetUpperBound() == 5 {
			under5 = b.GetCumulativeCount()
		}
	}
	if n := h.GetSampleCount(); n < 10 || under5 != n {
		t.Errorf("%d of %d runs started more than 5 s after their due time (%.1f s in all): a confirm run waited for the hung run before it, and that counted as lag", n-under5, n, h.GetSampleSum())
	}
}

// A daemon restarted while a flow is down resumes confirming at once (due
// at the restart), with no run before it in this process: the time until
// its goroutine looks at the clock is the prober's lag, and counts. Before,
// confirm took the clock when it began as the end of the run before, which
// on this path hid that delay (lag 0 for a start 3 s late).
func TestScheduleLagCountsARestartsLateStart(t *testing.T) {
	const late = 3 * time.Second
	r := newAgreeRig(t, "2s", func(loc string, at time.Time) outcome {
		if at.Before(time.Date(2026, 3, 1, 12, 1, 0, 0, time.UTC)) {
			return pass
		}
		return refused
	})
	// Base slots a minute apart: the restart's first run is a confirm run.
	for i := range r.cfg.Services[0].Flows {
		r.cfg.Services[0].Flows[i].Interval = time.Minute
	}
	r.start("seoul-a", r.configAt("seoul-a"))
	r.advance(110 * time.Second) // down, confirming every 2 s
	r.stop("seoul-a")
	r.advance(10 * time.Second) // stopped: the first run is due at the restart

	d, err := New(r.configAt("seoul-a"), Deps{Store: r.st, Clock: ClockworkClock(r.fc), Grace: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	setRunner(d, r.runner("seoul-a", d))
	// The resumed confirming's goroutine starts late: the clock has moved
	// on by late when confirm first reads it.
	d.clock = &lateConfirm{Clock: d.clock, fc: r.fc, late: late}
	restarted := r.fc.Now()
	ctx, cancel := context.WithCancel(context.Background())
	a := &agreeDaemon{d: d, cancel: cancel, done: make(chan error, 1)}
	go func() { a.done <- d.Run(ctx) }()
	r.live["seoul-a"] = a

	var m dto.Metric
	waitFor(t, "the restart's first run", func() bool {
		m.Reset()
		if err := d.m.lag.Write(&m); err != nil {
			t.Fatal(err)
		}
		return m.GetHistogram().GetSampleCount() >= 1
	})
	if got := r.fc.Now().Sub(restarted); got != late {
		t.Fatalf("the clock moved %s after the restart before the first run, want %s", got, late)
	}
	h := m.GetHistogram()
	if n, sum := h.GetSampleCount(), h.GetSampleSum(); n != 1 || sum < late.Seconds()-0.001 || sum > late.Seconds()+0.001 {
		t.Errorf("lag: %d runs, %.3f s in all, want 1 run %.0f s late: the restart's confirm run was due at the restart and started %s after it", n, sum, late.Seconds(), late)
	}
}

// lateConfirm is a daemon's clock whose first reading in confirm comes
// late after the moment before it: the fake clock moves on by late first,
// as if confirm's goroutine had started that much later.
type lateConfirm struct {
	clock.Clock
	fc   *clockwork.FakeClock
	late time.Duration
	done atomic.Bool
}

func (c *lateConfirm) Now() time.Time {
	pc, _, _, ok := runtime.Caller(1)
	if ok && strings.HasSuffix(runtime.FuncForPC(pc).Name(), ".(*Daemon).confirm") && c.done.CompareAndSwap(false, true) {
		c.fc.Advance(c.late)
	}
	return c.Clock.Now()
}
