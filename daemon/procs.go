package daemon

import (
	"math"

	"github.com/slaprobe/slaprobe/config"
)

// StepsPerProc is how many scheduled steps a second the daemon gives one Go
// processor (GOMAXPROCS) before it asks for another.
//
// A prober mostly waits: at 1,000 one-step flows every 10 s (100 steps a
// second) it keeps some 7-10% of one core busy. Each run still passes through
// several goroutines (the scheduler's timer, its executor, the run, the
// store writer), and every hand-off that finds another processor idle wakes
// an OS thread that looks for work, finds little and sleeps again. On one
// processor those hand-offs stay on the thread that made them: at 1,000 flows
// every 10 s a check cost 15-25% less CPU than on two, at the same schedule
// lag; at 5,000 flows (500 steps a second) 5% less, lag p99 4.1 ms against
// 4.7 (2-core machine, `go run ./test/scale`). 500 steps a second keeps
// about a quarter of one such core busy, which leaves room for the
// collector, a report build and a /metrics scrape on the same processor.
const StepsPerProc = 500

// StepRate is the steps a second cfg's schedule runs: every flow's steps and
// teardown steps once per interval (a session's login runs once per TTL and
// is left out; so are confirm runs, which only a failing flow makes).
func StepRate(cfg *config.Config) float64 {
	var rate float64
	for _, s := range cfg.Services {
		for _, f := range s.Flows {
			if f.Interval > 0 {
				rate += float64(len(f.Steps)+len(f.Teardown)) / f.Interval.Seconds()
			}
		}
	}
	return rate
}

// Procs is the number of Go processors a schedule of rate steps a second
// needs: one per StepsPerProc steps a second, at least 1, at most limit
// (the runtime's own default: the cores, or the container's CPU limit).
func Procs(rate float64, limit int) int {
	n := 1
	if rate > StepsPerProc {
		n = int(min(math.Ceil(rate/StepsPerProc), float64(math.MaxInt32)))
	}
	return max(1, min(n, limit))
}
