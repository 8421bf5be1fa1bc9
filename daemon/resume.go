package daemon

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/state"
	"github.com/slaprobe/slaprobe/store"
)

// history is what a flow's machine needs from the store at a restart,
// beyond its open windows: its last runs and the windows around them
// (state.Machine.Resume), so that the failure and passing streaks of the
// process before carry over.
type history struct {
	runs    []probe.Run
	windows []state.Window
}

// resumeBatch is how many flows' recent runs one store query reads (each
// query reads the whole series table, so not too few; the runs of a batch
// are in memory at once, so not all).
const resumeBatch = 2048

// lookback is how far before a flow's last run the runs Resume needs lie: a
// run starts at most a run's length (its timeout; twice that with teardown
// steps) plus twice the interval after the one before, or an unknown
// stretch resets the machine anyway; so ResumeRuns runs, and every run still
// in flight when the last began, are in it.
func lookback(fs *flowState) time.Duration {
	f := fs.flow
	return time.Duration(state.ResumeRuns(policyOf(f))) * (2*f.Interval + 2*max(f.Timeout, time.Second))
}

// recentHistory reads, for the flows that ran recently enough that their
// next run is no unknown stretch, their runs in the lookback before their
// last run and the windows around them, a batch of flows per query.
// Called with the flows not yet running.
func (d *Daemon) recentHistory(ctx context.Context, loc string, fss []*flowState, last map[string]time.Time, now time.Time) (map[string]history, error) {
	type want struct {
		fs       *flowState
		from, to time.Time
	}
	var wants []want
	for _, fs := range fss {
		lr := last[fs.name]
		fs.mu.Lock()
		lb, iv, timeout := lookback(fs), fs.flow.Interval, fs.flow.Timeout
		fs.mu.Unlock()
		if lr.IsZero() || now.Sub(lr) > 2*iv+2*max(timeout, time.Second) {
			continue // never ran, or so long ago that its next run starts afresh
		}
		wants = append(wants, want{fs, lr.Add(-lb), lr.Add(time.Nanosecond)})
	}
	out := map[string]history{}
	for batch := range slices.Chunk(wants, resumeBatch) {
		q := store.Query{From: batch[0].from, To: batch[0].to, Location: loc}
		for _, w := range batch {
			q.Flows = append(q.Flows, w.fs.name)
			q.From, q.To = minTime(q.From, w.from), maxTime(q.To, w.to)
		}
		runs, err := d.store.Runs(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("daemon: reading recent runs: %w", err)
		}
		wins, err := d.store.Windows(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("daemon: reading recent windows: %w", err)
		}
		byFlow := map[string][]probe.Run{}
		for _, r := range runs {
			byFlow[r.Flow] = append(byFlow[r.Flow], r)
		}
		winsByFlow := map[string][]state.Window{}
		for _, win := range wins {
			winsByFlow[win.Flow] = append(winsByFlow[win.Flow], win)
		}
		for _, w := range batch {
			var h history
			for _, r := range byFlow[w.fs.name] {
				if r.Service == w.fs.service && r.Location == loc && !r.Start.Before(w.from) && r.Start.Before(w.to) {
					h.runs = append(h.runs, r)
				}
			}
			if len(h.runs) == 0 {
				continue
			}
			// In start order (the store orders them per series).
			slices.SortStableFunc(h.runs, func(a, b probe.Run) int { return a.Start.Compare(b.Start) })
			for _, win := range winsByFlow[w.fs.name] {
				if win.Service == w.fs.service && win.Location == loc {
					h.windows = append(h.windows, win)
				}
			}
			out[w.fs.name] = h
		}
	}
	return out, nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
