package store

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/state"
)

func validateRun(r *probe.Run) error {
	switch {
	case r.Flow == "":
		return fmt.Errorf("store: run %q has no flow", r.ID)
	case r.Location == "":
		return fmt.Errorf("store: run %q of flow %q has no location", r.ID, r.Flow)
	case !storable(r.Start):
		return fmt.Errorf("store: run %q of flow %q starts at %s, outside 1970..2262", r.ID, r.Flow, r.Start.Format(time.RFC3339))
	case r.Duration < 0:
		return fmt.Errorf("store: run %q of flow %q has a negative duration", r.ID, r.Flow)
	}
	for i := range r.Steps {
		if _, ok := statusCodes[r.Steps[i].Status]; !ok {
			return fmt.Errorf("store: run %q of flow %q: step %q has unknown status %q", r.ID, r.Flow, r.Steps[i].Step, r.Steps[i].Status)
		}
	}
	return nil
}

// AppendRuns implements Store.
func (c *core) AppendRuns(ctx context.Context, runs []probe.Run) error {
	if len(runs) == 0 {
		return nil
	}
	for i := range runs {
		if err := validateRun(&runs[i]); err != nil {
			return err
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errClosed
	}
	tx, err := c.w.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	ids := &txIDs{c: c, tx: tx, series: map[seriesKey]int64{}, names: map[nameKey]int64{}}
	if err := c.appendRuns(ctx, tx, ids, runs); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit runs: %w", err)
	}
	ids.commit()
	return nil
}

func (c *core) appendRuns(ctx context.Context, tx *sqlx.Tx, ids *txIDs, runs []probe.Run) error {
	runIDs, err := c.d.allocIDs(ctx, tx, len(runs))
	if err != nil {
		return fmt.Errorf("store: allocate run ids: %w", err)
	}
	nsteps := 0
	for i := range runs {
		nsteps += len(runs[i].Steps)
	}
	// Runs are inserted in (series, start) order, ids ascending in that
	// order (ties keep the batch's order): each insert statement then
	// touches its own stretch of the runs_series_start index instead of
	// every statement touching (and journalling) the same pages.
	sids := make([]int64, len(runs))
	order := make([]int, len(runs))
	for i := range runs {
		r := &runs[i]
		if sids[i], err = ids.seriesID(ctx, seriesKey{r.Service, r.Flow, r.Location}); err != nil {
			return err
		}
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		i, j := order[a], order[b]
		if sids[i] != sids[j] {
			return sids[i] < sids[j]
		}
		return runs[i].Start.Before(runs[j].Start)
	})
	runArgs := make([]any, 0, 6*len(runs))
	blobs := make([]byte, 0, 48*nsteps+4*len(runs)) // one backing array for every run's steps
	var steps []stepRow
	agg := newAggregate(c.bounds)
	for k, i := range order {
		r := &runs[i]
		sid := sids[i]
		start := r.Start.UnixNano()
		minRow, hourRow := agg.rows(sid, start)
		agg.count(minRow, hourRow, 0, r.Outcome(), r.Duration)
		steps = steps[:0]
		for j := range r.Steps {
			s := &r.Steps[j]
			nid, err := ids.nameID(ctx, nameKey{s.Step, s.Function})
			if err != nil {
				return err
			}
			steps = append(steps, stepRow{name: nid, res: s})
			agg.count(minRow, hourRow, nid, s.Status, s.Duration)
		}
		from := len(blobs)
		blobs = appendSteps(blobs, steps)
		runArgs = append(runArgs, runIDs[k], sid, start, int64(r.Duration), r.ID, blobs[from:len(blobs):len(blobs)])
	}
	if err := c.insertRows(ctx, tx, c.ins.runs, runArgs); err != nil {
		return fmt.Errorf("store: insert runs: %w", err)
	}
	return c.upsertRollups(ctx, tx, agg)
}

// upsertRollups folds a batch's pre-aggregated rollups into both tables.
func (c *core) upsertRollups(ctx context.Context, tx *sqlx.Tx, agg *aggregate) error {
	for _, g := range []struct {
		spec insertSpec
		rows map[rkey]*rval
	}{{c.ins.minute, agg.minute}, {c.ins.hour, agg.hour}} {
		keys := sortedKeys(g.rows)
		args := make([]any, 0, 6*len(keys))
		for _, k := range keys {
			v := g.rows[k]
			args = append(args, k.bucket, k.series, v.runs(), v.first, v.last, c.d.statsParam(v.stats))
		}
		if err := c.insertRows(ctx, tx, g.spec, args); err != nil {
			return fmt.Errorf("store: upsert rollups: %w", err)
		}
	}
	return nil
}

// AppendEvents implements Store.
func (c *core) AppendEvents(ctx context.Context, events []state.Event) error {
	if len(events) == 0 {
		return nil
	}
	args := make([]any, 0, 12*len(events))
	for i := range events {
		e := &events[i]
		w := &e.Window
		if e.Op != state.OpOpen && e.Op != state.OpClose {
			return fmt.Errorf("store: event %d: unknown op %q", i, e.Op)
		}
		switch w.Kind {
		case state.KindDown, state.KindDegraded, state.KindUnknown:
		default:
			return fmt.Errorf("store: event %d: unknown window kind %q", i, w.Kind)
		}
		if w.Flow == "" || w.Location == "" {
			return fmt.Errorf("store: event %d: window has no flow or location", i)
		}
		for _, t := range []time.Time{w.Start, w.End, w.Confirmed} {
			if !t.IsZero() && !storable(t) {
				return fmt.Errorf("store: event %d: time %s outside 1970..2262", i, t.Format(time.RFC3339))
			}
		}
		if w.Start.IsZero() {
			return fmt.Errorf("store: event %d: window of flow %q has no start", i, w.Flow)
		}
		if e.Op == state.OpClose && w.End.IsZero() {
			return fmt.Errorf("store: event %d: close of flow %q has no end", i, w.Flow)
		}
		end := toNS(w.End)
		if e.Op == state.OpOpen {
			end = 0
		}
		args = append(args, string(e.Op), string(w.Kind), w.Service, w.Flow, w.Function, w.Location,
			toNS(w.Start), end, toNS(w.Confirmed), w.CauseStep, w.Error)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errClosed
	}
	tx, err := c.w.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if err := c.insertRows(ctx, tx, c.ins.events, args); err != nil {
		return fmt.Errorf("store: insert events: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit events: %w", err)
	}
	return nil
}
