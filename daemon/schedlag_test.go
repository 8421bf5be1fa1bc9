package daemon

import (
	"context"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

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
