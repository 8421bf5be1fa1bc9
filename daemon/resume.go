package daemon

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/slaprobe/slaprobe/config"
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
// are in memory at once, so not all), and resumeBatchRuns how many runs a
// batch's flows may hold between them, by their lookbacks: a flow with a
// session looks back a ttl (62 runs of a flow run every minute, where
// one without reads about 11), and 2,048 of them held 127,000 runs at
// once (a restart of 5,000 such flows peaked at 338 MiB, 104 without
// sessions).
const (
	resumeBatch     = 2048
	resumeBatchRuns = 32768
)

// lookback is how far before a flow's last run the runs Resume needs lie: a
// run starts at most a run's length (its timeout; twice that with teardown
// steps) plus twice the interval after the one before, or an unknown
// stretch resets the machine anyway; so ResumeRuns runs, and every run still
// in flight when the last began, are in it.
//
// A flow with a session goes back further: a function its session's steps
// alone serve (a login) is measured only by the runs that log in, once a
// ttl at least (state's package comment), so its streak of up_after
// passing logins and the last login before it lie up_after ttls and a run
// or two back; a tail of ResumeRuns runs had no login, and the restarted
// machine forgot the login's last run (a login window's start bound not
// known, its LastIn gone) where `windows --recompute` (report's
// flowLookback) finds it.
func lookback(fs *flowState) time.Duration {
	return lookbackAt(fs, fs.flow.Interval)
}

// lookbackAt is lookback with the flow's interval ivl: a flow whose last
// run had a longer interval than the config's (stored with it since
// schema version 15) looks back by that run's (recentHistory).
func lookbackAt(fs *flowState, ivl time.Duration) time.Duration {
	f := fs.flow
	run := 2*ivl + 2*max(f.Timeout, time.Second)
	lb := time.Duration(state.ResumeRuns(policyOf(f))) * run
	if f.Session != nil {
		ttl := f.Session.TTL
		if ttl <= 0 {
			ttl = config.DefaultSessionTTL
		}
		lb = max(lb, time.Duration(max(f.UpAfter, 1))*ttl+run)
	}
	return lb
}

// recentHistory reads, for the flows that ran before, their runs in the
// lookback before their last run and the windows around them, a batch of
// flows per query. A flow stopped so long ago that its next run finds an
// unknown stretch needs them too: whether it was to be confirm-run after
// its last run (a failure streak, or a down window a restart's Stale has
// closed since) and how long that run lasted say where the stretch starts
// (state.Policy.Covers); without them a restart started it an interval
// after the last run where `windows --recompute` starts it confirm_every
// after it. A batch reads one range for all its flows, so flows are
// batched in order of the start of their lookbacks, and a batch ends where
// the next flow's lookback does not overlap it: flows that stopped at different
// times (a flow removed and added back a month later) do not make a batch
// read the month between them.
// It hands each flow's history to use as soon as its batch is read, and
// keeps none: only one batch's runs are in memory at once.
// Called with the flows not yet running.
func (d *Daemon) recentHistory(ctx context.Context, loc string, fss []*flowState, last map[string]time.Time, now time.Time, use func(*flowState, history)) error {
	var wants []histWant
	for _, fs := range fss {
		lr := last[fs.name]
		fs.mu.Lock()
		lb := lookback(fs)
		every := max(fs.flow.Interval, time.Second)
		fs.mu.Unlock()
		if lr.IsZero() {
			continue // never ran
		}
		wants = append(wants, histWant{fs, lr.Add(-lb), lr.Add(time.Nanosecond), lb, int(lb/every) + 1})
	}
	// A flow whose last run had a longer interval than the config's (the
	// config shortened it since the stop) is read again over that run's
	// lookback, those flows batched likewise: Resume replays the runs by
	// the interval each had, and the config's shorter lookback held too few
	// of them (a flow every 3 minutes four failures into down_after 5,
	// restarted every 30 s, read three and began its window at the second).
	var wider []histWant
	err := d.readHistory(ctx, loc, wants, func(w histWant, h history) {
		if ran := h.runs[len(h.runs)-1].Interval; ran > 0 {
			w.fs.mu.Lock()
			lb := lookbackAt(w.fs, ran)
			w.fs.mu.Unlock()
			if lb > w.lb {
				wider = append(wider, histWant{w.fs, w.to.Add(-time.Nanosecond).Add(-lb), w.to, lb, int(lb/max(ran, time.Second)) + 1})
				return
			}
		}
		use(w.fs, h)
	})
	if err != nil || len(wider) == 0 {
		return err
	}
	return d.readHistory(ctx, loc, wider, func(w histWant, h history) { use(w.fs, h) })
}

// histWant is a flow's range of runs recentHistory reads.
type histWant struct {
	fs       *flowState
	from, to time.Time
	lb       time.Duration
	runs     int // about how many runs its lookback holds
}

// readHistory reads the wants' runs and windows, batched (recentHistory),
// and hands each flow's that has runs to use.
func (d *Daemon) readHistory(ctx context.Context, loc string, wants []histWant, use func(histWant, history)) error {
	slices.SortStableFunc(wants, func(a, b histWant) int { return a.from.Compare(b.from) })
	var batches [][]histWant
	var (
		reach time.Time     // the latest end of the current batch's ranges
		least time.Duration // the shortest lookback of its flows
		held  int           // about how many runs its flows hold
	)
	for i, w := range wants {
		n := len(batches)
		// Nor does a flow join a batch whose range would then be more than
		// twice the shortest lookback in it: every flow of a batch has the
		// whole range read, so a flow run every hour (lookback 8 h) that
		// ran just before the stop made the flows run every minute
		// (lookback 9 min) of its batch read 8 h each, 490 runs of which
		// a restart needs 10.
		if n == 0 || len(batches[n-1]) == resumeBatch || held+w.runs > resumeBatchRuns || w.from.After(reach) ||
			maxTime(reach, w.to).Sub(batches[n-1][0].from) > 2*min(least, w.lb) {
			// The batch is wants[i:] grown in place: each w appended
			// is the wants element at the slot it lands on.
			batches = append(batches, wants[i:i:len(wants)])
			n++
			reach, least, held = w.to, w.lb, 0
		}
		batches[n-1] = append(batches[n-1], w)
		reach, least, held = maxTime(reach, w.to), min(least, w.lb), held+w.runs
	}
	for _, batch := range batches {
		q := store.Query{From: batch[0].from, To: batch[0].to, Location: loc}
		for _, w := range batch {
			q.Flows = append(q.Flows, w.fs.name)
			q.From, q.To = minTime(q.From, w.from), maxTime(q.To, w.to)
		}
		runs, err := d.store.Runs(ctx, q)
		if err != nil {
			return fmt.Errorf("daemon: reading recent runs: %w", err)
		}
		wins, err := d.store.Windows(ctx, q)
		if err != nil {
			return fmt.Errorf("daemon: reading recent windows: %w", err)
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
			use(w, h)
		}
	}
	return nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
