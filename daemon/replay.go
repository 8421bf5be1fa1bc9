package daemon

import (
	"container/heap"
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/store"
)

// replayBuffer is the store writer's queue in a replay; the replay waits for
// the writer (Flush) whenever half of it is used, so nothing is ever dropped.
const replayBuffer = 20000

// Replay runs every flow of cfg at cfg.Location over [from, to) in virtual
// time, with the same runner, pipeline, store writer and state machines as the
// live daemon. Due times come from the same Offset, NextDue and Jitter as the
// live scheduler; each run gets a clock.Manual set to its start, carried in
// its context (clock.NewContext), so the in-process demo platform
// (deps.Transport) and the runner share the run's virtual time.
//
// Runs of different flows execute on 2 to 4 workers, none starting later
// than a run in flight's start plus its interval (or twice its timeout, if
// longer); a flow's runs happen in order, each after the previous one ended, and a run that (in virtual time)
// overran its flow's next due time makes that run skipped, as live. Run IDs
// are location.flow.due-milliseconds, so the result is the same every time.
// progress, when not nil, is called with the virtual time covered so far. At
// the end the writer is flushed and closed; deps.Store stays open.
func Replay(ctx context.Context, cfg *config.Config, deps Deps, from, to time.Time, progress func(done, total time.Duration)) error {
	if !to.After(from) {
		return fmt.Errorf("daemon: replay: empty range %s .. %s", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	d, err := New(cfg, deps)
	if err != nil {
		return err
	}
	fss := d.flowList()
	closed, err := d.restore(ctx, fss, from, nil, false)
	if err != nil {
		return err
	}
	// One runner (built by New) serves every flow: it compiled each flow
	// once. Run IDs belong to the runs (probe.WithRunID), not to the runner.
	flows := make(replayHeap, 0, len(fss))
	for i, fs := range fss {
		rf := &replayFlow{fs: fs, idx: i, due: fs.anchor, base: fs.anchor}
		if rf.due.Before(to) {
			flows = append(flows, rf)
		}
	}
	heap.Init(&flows)

	w := d.newWriter(store.WriterOptions{
		BatchSize:  1000,
		FlushEvery: time.Second,
		Buffer:     replayBuffer,
		RetryEvery: time.Second,
		Logger:     d.log,
		Clock:      d.clock,
		OnCommit:   func(_ int, took time.Duration) { d.m.batchWrite.Observe(took.Seconds()) },
	})
	d.mu.Lock()
	d.writer = w
	d.mu.Unlock()
	if len(closed) > 0 {
		w.SubmitEvents(closed...)
		if d.alerter != nil {
			d.alerter.Handle(closed)
		}
	}

	workers := min(4, max(2, runtime.GOMAXPROCS(0)))
	type job struct {
		rf      *replayFlow
		runner  flowRunner
		f       *config.Flow
		start   time.Time
		id      string
		confirm bool // a confirm run (confirm_every), not a base slot
	}
	type result struct {
		rf         *replayFlow
		start, end time.Time
		retryAfter time.Duration // probe.Run.RetryAfter
	}
	// A fixed set of worker goroutines (not one per run: a new goroutine
	// grows its stack again for every run, a tenth of the CPU at 10,000
	// flows).
	jobs := make(chan job)
	results := make(chan result, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for j := range jobs {
				mc := clock.NewManual(j.start)
				run := j.runner.Run(probe.WithRunID(clock.NewContext(ctx, mc), j.id), j.f)
				run.Interval = j.f.Interval
				if j.confirm {
					run.Confirm = true
					d.m.confirmRuns.WithLabelValues(j.rf.fs.name, j.rf.fs.service, j.rf.fs.location).Inc()
				}
				d.process(&run)
				end := mc.Now()
				if e := run.Start.Add(run.Duration); e.After(end) {
					end = e
				}
				results <- result{j.rf, j.start, end, run.RetryAfter}
			}
		})
	}
	defer wg.Wait()
	defer close(jobs)
	inflight := 0
	// The horizon of each run in flight (its start + its longest length,
	// twice the timeout: steps, then teardown; or its interval, if longer):
	// no run is started later than the earliest of them, so that no flow
	// runs further ahead, in virtual time, of a run that is held up in real
	// time. The flows share the target
	// (the demo platform's tokens and inboxes, by user): one that ran hours
	// ahead meanwhile evicted the held run's token with its later logins,
	// and two replays of one config differed.
	ends := make([]time.Time, 0, workers)
	horizon := func() (time.Time, bool) {
		if len(ends) == 0 {
			return time.Time{}, false
		}
		h := ends[0]
		for _, e := range ends[1:] {
			if e.Before(h) {
				h = e
			}
		}
		return h, true
	}
	total := to.Sub(from)
	var done, reported time.Duration
	report := func(v time.Duration) {
		if progress != nil && (v-reported >= total/1000 || v == total) {
			reported = v
			progress(v, total)
		}
	}
	var runErr error
	for {
		for runErr == nil && inflight < workers && flows.Len() > 0 {
			if h, ok := horizon(); ok && flows[0].due.After(h) {
				break // wait for the run that holds the horizon
			}
			if err := ctx.Err(); err != nil {
				runErr = err
				break
			}
			if w.Stats().Queued > replayBuffer/2 {
				if err := w.Flush(ctx); err != nil {
					runErr = fmt.Errorf("daemon: replay: writing results: %w", err)
					break
				}
			}
			rf := heap.Pop(&flows).(*replayFlow)
			inflight++
			start := rf.due
			confirm := rf.confirm && !rf.covers(start)
			if !rf.confirm {
				start = start.Add(d.jitter(rf.fs.location, rf.fs.name, rf.fs.flow.Interval, rf.due))
			}
			rf.end = start.Add(max(2*rf.fs.flow.Timeout, rf.fs.flow.Interval))
			ends = append(ends, rf.end)
			jobs <- job{
				rf:      rf,
				runner:  rf.fs.runner,
				f:       rf.fs.flow,
				start:   start,
				id:      fmt.Sprintf("%s.%s.%d", rf.fs.location, rf.fs.name, rf.due.UnixMilli()),
				confirm: confirm,
			}
			done = max(done, min(total, rf.due.Sub(from)))
			report(done)
		}
		if inflight == 0 {
			break
		}
		r := <-results
		inflight--
		rf := r.rf
		if i := slices.IndexFunc(ends, rf.end.Equal); i >= 0 {
			ends = slices.Delete(ends, i, i+1)
		}
		if next, ok := rf.next(d, r.start, r.end, r.retryAfter); ok && next.Before(to) && runErr == nil {
			rf.due = next
			heap.Push(&flows, rf)
		}
	}
	d.closeIdle()
	// Flush and close even after an error, so that what ran is kept.
	cctx := context.WithoutCancel(ctx)
	if err := w.Close(cctx); err != nil && runErr == nil {
		runErr = fmt.Errorf("daemon: replay: writing results: %w", err)
	}
	if runErr != nil {
		return runErr
	}
	if n := d.dropped.Load() + w.Stats().Dropped; n > 0 {
		return fmt.Errorf("daemon: replay: %d results dropped by the store writer", n)
	}
	report(total)
	return nil
}

type replayFlow struct {
	fs      *flowState
	idx     int       // config order, breaks ties between equal due times
	due     time.Time // the next run's due time (before jitter)
	base    time.Time // the last base slot (anchor + k*interval) reached
	confirm bool      // the next run is a confirm run (no jitter)
	end     time.Time // the horizon of its run in flight (start + max(2 x timeout, interval))
}

// next returns when the flow runs next after a run from start to end, as
// the live scheduler would (fire, confirm): confirm_every after the start
// (or the run's Retry-After, retryAfter, if longer, up to the next base
// slot: confirmDue; or at the end, if later) while the verdict is in
// question; otherwise the next base slot, a slot passed while a base run
// was in flight counting as skipped (one passed in confirm runs is covered
// by them).
func (rf *replayFlow) next(d *Daemon, start, end time.Time, retryAfter time.Duration) (time.Time, bool) {
	fs := rf.fs
	fs.mu.Lock()
	every, confirming := fs.flow.ConfirmEvery, fs.machine.Confirming()
	fs.mu.Unlock()
	wasConfirm := rf.confirm
	if every > 0 && confirming {
		rf.confirm = true
		base := DueAt(rf.base, fs.flow.Interval, start).Add(fs.flow.Interval)
		return maxTime(confirmDue(start, every, retryAfter, base), end), true
	}
	rf.confirm = false
	next := rf.base.Add(fs.flow.Interval)
	if wasConfirm {
		for !next.After(start) {
			next = next.Add(fs.flow.Interval)
		}
	}
	for next.Before(end) {
		if !wasConfirm {
			d.countSkip(fs.name)
		}
		next = next.Add(fs.flow.Interval)
	}
	rf.base = next
	return next, true
}

// covers reports whether a run re-run every confirm_every that starts at
// start covers a base slot: one passed since the last slot reached (base),
// at or before start. It then becomes the last slot reached. As the live
// daemon (confirm): such a run is that slot's scheduled run, the others are
// confirm runs.
func (rf *replayFlow) covers(start time.Time) bool {
	ivl := rf.fs.flow.Interval
	if ivl <= 0 || start.Before(rf.base.Add(ivl)) {
		return false
	}
	rf.base = rf.base.Add(start.Sub(rf.base) / ivl * ivl)
	return true
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// replayHeap orders flows by next due time.
type replayHeap []*replayFlow

func (h replayHeap) Len() int { return len(h) }
func (h replayHeap) Less(i, j int) bool {
	if !h[i].due.Equal(h[j].due) {
		return h[i].due.Before(h[j].due)
	}
	return h[i].idx < h[j].idx
}
func (h replayHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *replayHeap) Push(x any)   { *h = append(*h, x.(*replayFlow)) }
func (h *replayHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
