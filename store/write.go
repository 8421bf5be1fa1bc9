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

// AppendRuns implements Store.
func (c *core) AppendRuns(ctx context.Context, runs []probe.Run) error {
	if len(runs) == 0 {
		return nil
	}
	for i := range runs {
		if err := ValidateRun(&runs[i]); err != nil {
			return err
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	tx, err := c.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	ids := &txIDs{c: c, tx: tx, series: map[seriesKey]int64{}, names: map[nameKey]int64{}}
	if err := c.appendRuns(ctx, tx, ids, runs); err != nil {
		return c.classify(err)
	}
	if err := tx.Commit(); err != nil {
		return c.classify(fmt.Errorf("store: commit runs: %w", err))
	}
	ids.commit()
	return nil
}

func (c *core) appendRuns(ctx context.Context, tx *sqlx.Tx, ids *txIDs, runs []probe.Run) error {
	runIDs, err := c.d.allocIDs(ctx, c, tx, len(runs))
	// (The ids are those of the runs in the insert order below.)
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
	rows := runRows{ids: runIDs, series: make([]int64, 0, len(runs)), starts: make([]int64, 0, len(runs)),
		durs: make([]int64, 0, len(runs)), runIDs: make([]string, 0, len(runs)), steps: make([][]byte, 0, len(runs)),
		confirm: make([]int64, 0, len(runs)), ivl: make([]*int64, 0, len(runs))}
	blobs := make([]byte, 0, 48*nsteps+4*len(runs)) // one backing array for every run's steps
	names := make([]int64, 0, nsteps)               // step name ids, run after run in order
	var steps []stepRow
	for _, i := range order {
		r := &runs[i]
		steps = steps[:0]
		for j := range r.Steps {
			s := &r.Steps[j]
			nid, err := ids.nameID(ctx, nameKey{s.Step, s.Function})
			if err != nil {
				return err
			}
			steps = append(steps, stepRow{name: nid, res: s})
			names = append(names, nid)
		}
		from := len(blobs)
		blobs = appendSteps(blobs, steps)
		rows.series = append(rows.series, sids[i])
		rows.starts = append(rows.starts, r.Start.UnixNano())
		rows.durs = append(rows.durs, int64(r.Duration))
		rows.runIDs = append(rows.runIDs, r.ID)
		rows.steps = append(rows.steps, blobs[from:len(blobs):len(blobs)])
		rows.confirm = append(rows.confirm, confirmFlag(r))
		rows.ivl = append(rows.ivl, intervalMS(r))
	}
	n, err := c.d.writeRuns(ctx, c, tx, &rows)
	if err != nil {
		return fmt.Errorf("store: insert runs: %w", err)
	}
	// A run already stored (the same series, start and id: a batch whose
	// commit was reported failed but happened, submitted again) was
	// skipped by the insert, and must not be counted in the rollups again.
	var stored map[int64]bool
	if n < int64(len(runs)) {
		if stored, err = c.insertedIDs(ctx, tx, runIDs); err != nil {
			return err
		}
	}
	agg := newAggregate(c.bounds)
	maxSteps := 0
	for i := range runs {
		maxSteps = max(maxSteps, len(runs[i].Steps))
	}
	agg.stepsHint(maxSteps)
	agg.reserve(len(runs))
	for k, i := range order {
		r := &runs[i]
		steps := names[:len(r.Steps)]
		names = names[len(r.Steps):]
		if stored != nil && !stored[runIDs[k]] {
			continue
		}
		var ms int64
		if p := intervalMS(r); p != nil {
			ms = *p
		}
		minRow, hourRow := agg.rows(sids[i], r.Start.UnixNano(), ms)
		if r.Confirm {
			// Counted apart: not in the run counts or the latencies.
			minRow.confirm++
			hourRow.confirm++
			continue
		}
		agg.count(minRow, hourRow, 0, r.Outcome(), r.Duration)
		for j := range r.Steps {
			agg.count(minRow, hourRow, steps[j], r.Steps[j].Status, r.Steps[j].Duration)
		}
	}
	return c.upsertRollups(ctx, tx, agg)
}

// insertedIDs returns which of ids the runs table holds.
func (c *core) insertedIDs(ctx context.Context, tx *sqlx.Tx, ids []int64) (map[int64]bool, error) {
	lo, hi := ids[0], ids[0]
	for _, id := range ids {
		lo, hi = min(lo, id), max(hi, id)
	}
	rows, err := tx.QueryContext(ctx, tx.Rebind(`SELECT id FROM runs WHERE id >= ? AND id <= ?`), lo, hi)
	if err != nil {
		return nil, fmt.Errorf("store: read inserted runs: %w", err)
	}
	defer rows.Close()
	out := make(map[int64]bool, len(ids))
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store: read inserted runs: %w", err)
		}
		out[id] = true
	}
	return out, rows.Err()
}

// runRows are a batch's runs as the columns of the runs table, in insert
// order.
type runRows struct {
	ids, series, starts, durs []int64
	runIDs                    []string
	steps                     [][]byte
	confirm                   []int64  // 1: a confirm run (runs.confirm)
	ivl                       []*int64 // runs.interval_ms; nil: NULL (not known)
}

// intervalMS is runs.interval_ms for r: its interval in milliseconds, nil
// (NULL) when not known.
func intervalMS(r *probe.Run) *int64 {
	if r.Interval <= 0 {
		return nil
	}
	ms := max(r.Interval.Milliseconds(), 1)
	return &ms
}

// confirmFlag is runs.confirm for r.
func confirmFlag(r *probe.Run) int64 {
	if r.Confirm {
		return 1
	}
	return 0
}

// insertRunsSQL writes runs as multi-row INSERTs (SQLite's writeRuns),
// skipping those already stored; it returns how many it inserted.
func insertRunsSQL(ctx context.Context, c *core, tx *sqlx.Tx, r *runRows) (int64, error) {
	args := make([]any, 0, 8*len(r.ids))
	for i := range r.ids {
		var ivl any
		if p := r.ivl[i]; p != nil {
			ivl = *p
		}
		args = append(args, r.ids[i], r.series[i], r.starts[i], r.durs[i], r.runIDs[i], r.steps[i], r.confirm[i], ivl)
	}
	return c.insertRows(ctx, tx, c.ins.runs, args)
}

// upsertRollups folds a batch's pre-aggregated rollups into both tables.
func (c *core) upsertRollups(ctx context.Context, tx *sqlx.Tx, agg *aggregate) error {
	for _, g := range []struct {
		table string
		rows  map[rkey]*rval
	}{{"rollup_minute", agg.minute}, {"rollup_hour", agg.hour}} {
		if err := c.d.writeRollups(ctx, c, tx, g.table, g.rows); err != nil {
			return fmt.Errorf("store: upsert %s: %w", g.table, err)
		}
	}
	return nil
}

// upsertRollupsSQL writes rollup rows as multi-row upserts that add to a
// row already there in SQL (slaprobe_rollup_add): SQLite's writeRollups.
func upsertRollupsSQL(ctx context.Context, c *core, tx *sqlx.Tx, table string, rows map[rkey]*rval) error {
	sp := c.ins.minute
	if table == "rollup_hour" {
		sp = c.ins.hour
	}
	keys := sortedKeys(rows)
	args := make([]any, 0, 8*len(keys))
	var (
		data   []byte // every row's data, one after the other
		bucket any    // the last row's bucket: the rows of a bucket share it
		ivl    any    // the last row's last_interval_ms: shared while it is the same
		ivlMS  int64
	)
	for i, k := range keys {
		v := rows[k]
		if data == nil {
			data = make([]byte, 0, len(keys)*(1+16*len(v.stats)))
		}
		from := len(data)
		data = appendStats(data, v.stats)
		// Each int64 put in an interface is an allocation: a bucket's rows
		// share its one, and so do first and last in a row of one run.
		if i == 0 || k.bucket != keys[i-1].bucket {
			bucket = k.bucket
		}
		first := any(v.first)
		last := first
		if v.last != v.first {
			last = v.last
		}
		if v.lastIvl != ivlMS || i == 0 {
			ivl, ivlMS = nil, v.lastIvl
			if v.lastIvl > 0 {
				ivl = v.lastIvl
			}
		}
		args = append(args, bucket, k.series, v.runs(), first, last, data[from:len(data):len(data)], v.confirm, ivl)
	}
	_, err := c.insertRows(ctx, tx, sp, args)
	return err
}

// AppendEvents implements Store. A close event settles its window's open
// and cause events (sets their end_ns, see v5Stmts), and so does an open or
// cause event stored after its window's close. An open stores the window
// with its first cause and a 'cause' row for each later one it already has;
// OpCause stores its window's last cause (from in confirmed_ns); a close
// stores the end and the run that bounds it.
func (c *core) AppendEvents(ctx context.Context, events []state.Event) error {
	if len(events) == 0 {
		return nil
	}
	args := make([]any, 0, 16*len(events))
	type wkey struct {
		kind, service, flow, function, location string
		start                                   int64
	}
	var settle []wkey
	seen := map[wkey]bool{}
	longest := int64(-1)
	for i := range events {
		e := &events[i]
		if err := ValidateEvent(e); err != nil {
			return fmt.Errorf("%w (event %d of %d)", err, i+1, len(events))
		}
		w := &e.Window
		start, end := toNS(w.Start), toNS(w.End)
		if e.Op == state.OpClose {
			longest = max(longest, end-start)
		} else {
			end = 0
		}
		k := wkey{string(w.Kind), w.Service, w.Flow, w.Function, w.Location, start}
		if !seen[k] {
			seen[k] = true
			settle = append(settle, k)
		}
		row := func(op state.Op, confirmed time.Time, step, msg string, lastIn time.Time) {
			known, firstIn, firstAfter := int64(0), int64(0), int64(0) // a cause row's are not read
			if op != state.OpCause {
				known, firstIn = toNS(w.Known), toNS(w.FirstInEnd)
			}
			if op == state.OpClose {
				firstAfter = toNS(w.FirstAfterEnd)
			}
			args = append(args, string(op), string(w.Kind), w.Service, w.Flow, w.Function, w.Location,
				start, end, toNS(confirmed), cleanText(step), cleanText(msg), toNS(w.LastBefore), toNS(lastIn), known, firstIn, firstAfter)
		}
		switch e.Op {
		case state.OpOpen:
			row(state.OpOpen, w.Confirmed, w.CauseStep, w.Error, time.Time{})
			for _, cs := range w.Causes[min(1, len(w.Causes)):] {
				row(state.OpCause, cs.From, cs.Step, cs.Error, time.Time{})
			}
		case state.OpCause:
			cs := w.Causes[len(w.Causes)-1]
			row(state.OpCause, cs.From, cs.Step, cs.Error, time.Time{})
		default:
			row(state.OpClose, w.Confirmed, w.CauseStep, w.Error, w.LastIn)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	tx, err := c.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if _, err := c.insertRows(ctx, tx, c.ins.events, args); err != nil {
		return c.classify(fmt.Errorf("store: insert events: %w", err))
	}
	st := tx.StmtxContext(ctx, c.stmts[settleKey])
	defer st.Close()
	for _, k := range settle {
		if _, err := st.ExecContext(ctx, k.start, k.kind, k.service, k.flow, k.function, k.location,
			k.start, k.kind, k.service, k.flow, k.function, k.location); err != nil {
			return c.classify(fmt.Errorf("store: settle events: %w", err))
		}
	}
	if longest >= 0 {
		if err := c.setMeta(ctx, tx, metaMaxWindow, longest); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return c.classify(fmt.Errorf("store: commit events: %w", err))
	}
	return nil
}
