//go:build unix

package daemon

import (
	"context"
	"fmt"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

// BenchmarkSchedulerRun is the scheduler's share of a run, which
// BenchmarkCheck leaves out: gocron's timer, its executor and scheduler
// goroutines, and scheduler.run, up to the daemon's fire (here a counter).
// Jobs every 10 ms on the real clock, their anchors spread over the
// interval as the daemon's jitter spreads flows: 100 jobs (10,000 runs a
// second: a busy process, where goroutine hand-offs are cheap) and 10 jobs
// (1,000 a second: closer to a daemon at 1,000 flows every 10 s, 100 a
// second, where every hand-off may wake an idle thread).
//
// allocs/op and B/op are per run. cpu-ns/op is the process's CPU time
// (getrusage: user + system, every goroutine and the runtime's) per run,
// which ns/op (wall time, paced by the timers) is not.
//
//	go test -run '^$' -bench SchedulerRun/10k -benchmem -benchtime 20000x ./daemon
//	go test -run '^$' -bench SchedulerRun/1k -benchmem -benchtime 5000x ./daemon
func BenchmarkSchedulerRun(b *testing.B) {
	b.Run("10k-per-s", func(b *testing.B) { benchmarkSchedulerRun(b, 100) })
	b.Run("1k-per-s", func(b *testing.B) { benchmarkSchedulerRun(b, 10) })
}

func benchmarkSchedulerRun(b *testing.B, jobs int) {
	fss := make([]*flowState, jobs)
	for i := range fss {
		fss[i] = &flowState{name: fmt.Sprintf("flow-%03d", i)}
	}
	// A no-op fire; 2 runs a job first: every job re-armed.
	measureScheduled(b, fss, 10*time.Millisecond, int64(2*jobs), func(*flowState) {})
}

// measureScheduled schedules fss on gocron (the daemon's scheduler, real
// clock) every interval, their anchors spread over it, with fire as the
// task; after warm runs it times b.N more and reports the process's CPU per
// run (cpu-ns/op), then shuts the scheduler down.
func measureScheduled(b *testing.B, fss []*flowState, interval time.Duration, warm int64, fire func(*flowState)) {
	b.Helper()
	var runs, target atomic.Int64
	target.Store(-1)
	reached := make(chan struct{}, 1)
	counted := func(fs *flowState) {
		fire(fs)
		if runs.Add(1) == target.Load() {
			reached <- struct{}{}
		}
	}
	s, err := newScheduler(clockwork.NewRealClock(), counted, 10*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	for i, fs := range fss {
		if _, err := s.add(fs, now.Add(interval*time.Duration(i)/time.Duration(len(fss))), interval); err != nil {
			b.Fatal(err)
		}
	}
	wait := func(n int64) {
		target.Store(n)
		if runs.Load() >= n {
			return // reached before the target was set
		}
		select {
		case <-reached:
		case <-time.After(time.Minute):
			b.Fatalf("%d runs after a minute, want %d", runs.Load(), n)
		}
	}
	s.Start()
	wait(warm)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime(b)
	wait(runs.Load() + int64(b.N))
	cpu := cpuTime(b) - cpu0
	b.StopTimer()
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	if err := s.Shutdown(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkScheduledCheck is BenchmarkCheck's daemon path with the
// scheduler in front of it: 100 flows of `make bench-scale`'s step, each
// fired by gocron every 100 ms on the real clock (1,000 runs a second; the
// flows' own interval stays 10 s, no jitter), through fire, the probe and
// the pipeline to a SQLite store.Writer. Per run: allocs/op, B/op and
// cpu-ns/op (process CPU, see BenchmarkSchedulerRun). The CPU figure
// varies by 10-20% between runs on a shared machine: compare A/B
// interleaved, several rounds.
//
//	go test -run '^$' -bench ScheduledCheck -benchmem -benchtime 3000x ./daemon
func BenchmarkScheduledCheck(b *testing.B) {
	const (
		flows = 100
		every = 100 * time.Millisecond
	)
	ctx := context.Background()
	d, w := checkDaemon(b, cannedServer(b), flows)
	// 3 runs a flow first: connections, compiled flows and series exist.
	measureScheduled(b, d.flowSnapshot(), every, 3*flows, d.fire)
	if err := w.Close(ctx); err != nil {
		b.Fatal(err)
	}
	checkAllPassed(b, d)
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
