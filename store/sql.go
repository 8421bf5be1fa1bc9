package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/state"
)

// Options tune a store. The zero value is fine.
type Options struct {
	// BusyTimeout is how long SQLite waits for a lock held by another
	// connection or process before a statement fails (default 5s).
	BusyTimeout time.Duration
	// ReadConns is the size of the read pool (default 4).
	ReadConns int
	// Logger receives migration notices (default: discard).
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.BusyTimeout <= 0 {
		o.BusyTimeout = 5 * time.Second
	}
	if o.ReadConns <= 0 {
		o.ReadConns = 4
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// chunkRows is the largest number of rows one multi-row INSERT carries;
// smaller remainders go in power-of-two chunks, so that a handful of prepared
// statements per table serve every batch size.
const chunkRows = 512

// dialect is what differs between SQLite and PostgreSQL.
type dialect struct {
	name       string
	migrations []migration
	least      string // two-argument min: "min" or "LEAST"
	greatest   string
	// histParam turns a histogram into the value bound for a version 2
	// hist column (migrations only).
	histParam func(sparse) any
	// histScan reads a version 2 hist column (migrations only).
	histScan func(src any) (sparse, error)
	// statsParam turns a rollup row's entries into the value bound for its
	// data column.
	statsParam func([]stat) any
	// statsScan reads a rollup data column.
	statsScan func(src any) ([]stat, error)
	// allocIDs returns n fresh run ids.
	allocIDs func(ctx context.Context, tx *sqlx.Tx, n int) ([]int64, error)
	// lock serialises migrations between processes (nil: the transaction
	// itself does, as with SQLite's BEGIN IMMEDIATE).
	lock func(ctx context.Context, tx *sqlx.Tx) error
}

// core is the store, written once for both databases.
type core struct {
	w, r   *sqlx.DB // one writer, a read pool (the same pool for PostgreSQL)
	d      *dialect
	bounds []time.Duration
	log    *slog.Logger

	mu     sync.Mutex // one AppendRuns/AppendEvents/Prune at a time; guards below
	series map[seriesKey]int64
	names  map[nameKey]int64
	stmts  map[string]*sqlx.Stmt
	spec   []insertSpec // runs, events, rollup_minute, rollup_hour
	closed bool
}

type seriesKey struct{ service, flow, location string }
type nameKey struct{ step, function string }

func newCore(w, r *sqlx.DB, d *dialect, log *slog.Logger) *core {
	c := &core{
		w: w, r: r, d: d, log: log,
		bounds: LatencyBounds(),
		series: map[seriesKey]int64{},
		names:  map[nameKey]int64{},
		stmts:  map[string]*sqlx.Stmt{},
	}
	c.spec = c.specs()
	return c
}

// Status codes as stored in steps.status.
var statusCodes = map[probe.Status]int64{
	probe.StatusOK: 0, probe.StatusFailed: 1, probe.StatusDegraded: 2, probe.StatusNotRun: 3,
}

var statusNames = []probe.Status{probe.StatusOK, probe.StatusFailed, probe.StatusDegraded, probe.StatusNotRun}

// Times are stored as unix nanoseconds; the zero time is stored as 0.
var (
	minTime = time.Unix(0, 0)
	maxTime = time.Unix(0, math.MaxInt64)
)

func toNS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNS(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

// storable reports whether t fits unix nanoseconds (1970 to 2262).
func storable(t time.Time) bool {
	return !t.Before(minTime) && t.Before(maxTime)
}

// rangeNS turns a query range into nanoseconds; zero ends are open.
func rangeNS(q Query) (int64, int64, error) {
	from, to := int64(0), int64(math.MaxInt64)
	if !q.From.IsZero() {
		if q.From.After(minTime) {
			from = q.From.UnixNano()
			if !q.From.Before(maxTime) {
				from = math.MaxInt64
			}
		}
	}
	if !q.To.IsZero() {
		to = 0
		if q.To.After(minTime) {
			to = math.MaxInt64
			if q.To.Before(maxTime) {
				to = q.To.UnixNano()
			}
		}
	}
	return from, to, nil
}

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

// txIDs resolves interned names inside a write transaction; what it inserts
// reaches the core's caches only when the transaction commits.
type txIDs struct {
	c      *core
	tx     *sqlx.Tx
	series map[seriesKey]int64
	names  map[nameKey]int64
}

func (t *txIDs) seriesID(ctx context.Context, k seriesKey) (int64, error) {
	if id, ok := t.c.series[k]; ok {
		return id, nil
	}
	if id, ok := t.series[k]; ok {
		return id, nil
	}
	q := t.tx.Rebind(`INSERT INTO series (service, flow, location) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`)
	if _, err := t.tx.ExecContext(ctx, q, k.service, k.flow, k.location); err != nil {
		return 0, fmt.Errorf("store: add series: %w", err)
	}
	var id int64
	q = t.tx.Rebind(`SELECT id FROM series WHERE service = ? AND flow = ? AND location = ?`)
	if err := t.tx.QueryRowxContext(ctx, q, k.service, k.flow, k.location).Scan(&id); err != nil {
		return 0, fmt.Errorf("store: read series: %w", err)
	}
	t.series[k] = id
	return id, nil
}

func (t *txIDs) nameID(ctx context.Context, k nameKey) (int64, error) {
	if id, ok := t.c.names[k]; ok {
		return id, nil
	}
	if id, ok := t.names[k]; ok {
		return id, nil
	}
	q := t.tx.Rebind(`INSERT INTO step_names (step, function) VALUES (?, ?) ON CONFLICT DO NOTHING`)
	if _, err := t.tx.ExecContext(ctx, q, k.step, k.function); err != nil {
		return 0, fmt.Errorf("store: add step name: %w", err)
	}
	var id int64
	q = t.tx.Rebind(`SELECT id FROM step_names WHERE step = ? AND function = ?`)
	if err := t.tx.QueryRowxContext(ctx, q, k.step, k.function).Scan(&id); err != nil {
		return 0, fmt.Errorf("store: read step name: %w", err)
	}
	t.names[k] = id
	return id, nil
}

func (t *txIDs) commit() {
	for k, v := range t.series {
		t.c.series[k] = v
	}
	for k, v := range t.names {
		t.c.names[k] = v
	}
}

var errClosed = errors.New("store: closed")

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
	if err := c.insertRows(ctx, tx, c.spec[0], runArgs); err != nil {
		return fmt.Errorf("store: insert runs: %w", err)
	}
	return c.upsertRollups(ctx, tx, agg)
}

// upsertRollups folds a batch's pre-aggregated rollups into both tables.
func (c *core) upsertRollups(ctx context.Context, tx *sqlx.Tx, agg *aggregate) error {
	for _, g := range []struct {
		spec insertSpec
		rows map[rkey]*rval
	}{{c.spec[2], agg.minute}, {c.spec[3], agg.hour}} {
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

// insertSpec is one multi-row INSERT: head VALUES (...),(...) tail.
type insertSpec struct {
	head, tail string
	cols       int
}

func (c *core) specs() []insertSpec {
	specs := []insertSpec{
		{head: "INSERT INTO runs (id, series, start_ns, duration_ns, run_id, steps)", cols: 6},
		{head: "INSERT INTO events (op, kind, service, flow, function, location, start_ns, end_ns, confirmed_ns, cause_step, error)", cols: 11},
	}
	for _, t := range []string{"rollup_minute", "rollup_hour"} {
		specs = append(specs, c.rollupSpec(t))
	}
	return specs
}

// rollupSpec is the upsert of a version 3 rollup table.
func (c *core) rollupSpec(t string) insertSpec {
	tail := fmt.Sprintf(` ON CONFLICT (bucket_ns, series) DO UPDATE SET
runs = %[1]s.runs + excluded.runs,
first_ns = %[2]s(%[1]s.first_ns, excluded.first_ns), last_ns = %[3]s(%[1]s.last_ns, excluded.last_ns),
data = slaprobe_rollup_add(%[1]s.data, excluded.data)`, t, c.d.least, c.d.greatest)
	return insertSpec{head: "INSERT INTO " + t + " (bucket_ns, series, runs, first_ns, last_ns, data)", tail: tail, cols: 6}
}

// rollupSpecV2 is the upsert of a version 2 rollup table (migrations only).
func (c *core) rollupSpecV2(t string) insertSpec {
	tail := fmt.Sprintf(` ON CONFLICT (bucket_ns, series, step) DO UPDATE SET
ok = %[1]s.ok + excluded.ok, failed = %[1]s.failed + excluded.failed,
degraded = %[1]s.degraded + excluded.degraded, not_run = %[1]s.not_run + excluded.not_run,
sum_ns = %[1]s.sum_ns + excluded.sum_ns,
first_ns = %[2]s(%[1]s.first_ns, excluded.first_ns), last_ns = %[3]s(%[1]s.last_ns, excluded.last_ns),
hist = slaprobe_hist_add(%[1]s.hist, excluded.hist)`, t, c.d.least, c.d.greatest)
	return insertSpec{head: "INSERT INTO " + t + " (bucket_ns, series, step, ok, failed, degraded, not_run, sum_ns, first_ns, last_ns, hist)", tail: tail, cols: 11}
}

func (sp insertSpec) sql(rows int) string {
	var sb strings.Builder
	sb.WriteString(sp.head)
	sb.WriteString(" VALUES ")
	row := "(" + strings.Repeat("?,", sp.cols-1) + "?)"
	for i := 0; i < rows; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(row)
	}
	sb.WriteString(sp.tail)
	return sb.String()
}

func (sp insertSpec) key(rows int) string { return fmt.Sprintf("%s|%d", sp.head, rows) }

// prepareAll prepares every insert at every chunk size on the writer, before
// any transaction holds its one connection; inside a transaction
// database/sql reuses them on that connection.
func (c *core) prepareAll(ctx context.Context) error {
	for _, sp := range c.specs() {
		for n := chunkRows; n >= 1; n /= 2 {
			st, err := c.w.PreparexContext(ctx, c.w.Rebind(sp.sql(n)))
			if err != nil {
				return fmt.Errorf("store: prepare: %w", err)
			}
			c.stmts[sp.key(n)] = st
		}
	}
	return nil
}

// insertRows runs sp over args (sp.cols values a row) in chunks of at most
// chunkRows rows, remainders in power-of-two chunks, so that a fixed set of
// prepared statements serves every batch size.
func (c *core) insertRows(ctx context.Context, tx *sqlx.Tx, sp insertSpec, args []any) error {
	rows := len(args) / sp.cols
	for rows > 0 {
		n := chunkRows
		for n > rows {
			n /= 2
		}
		var st *sqlx.Stmt
		if cached, ok := c.stmts[sp.key(n)]; ok {
			st = tx.StmtxContext(ctx, cached)
		} else { // during migrations, before prepareAll
			var err error
			if st, err = tx.PreparexContext(ctx, tx.Rebind(sp.sql(n))); err != nil {
				return err
			}
		}
		if _, err := st.ExecContext(ctx, args[:n*sp.cols]...); err != nil {
			return err
		}
		args = args[n*sp.cols:]
		rows -= n
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
	if err := c.insertRows(ctx, tx, c.spec[1], args); err != nil {
		return fmt.Errorf("store: insert events: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit events: %w", err)
	}
	return nil
}

// seriesRow is one row of the series table.
type seriesRow struct {
	ID                      int64
	Service, Flow, Location string
}

// findSeries returns the series matching q's flows and location, ordered by
// flow, location and service.
func (c *core) findSeries(ctx context.Context, flows []string, location string) ([]seriesRow, error) {
	var all []seriesRow
	if err := c.r.SelectContext(ctx, &all, `SELECT id, service, flow, location FROM series ORDER BY flow, location, service`); err != nil {
		return nil, fmt.Errorf("store: read series: %w", err)
	}
	want := map[string]bool{}
	for _, f := range flows {
		want[f] = true
	}
	out := all[:0]
	for _, s := range all {
		if (len(want) == 0 || want[s.Flow]) && (location == "" || s.Location == location) {
			out = append(out, s)
		}
	}
	return out, nil
}

func (c *core) stepNames(ctx context.Context) (map[int64]nameKey, error) {
	rows, err := c.r.QueryContext(ctx, `SELECT id, step, function FROM step_names`)
	if err != nil {
		return nil, fmt.Errorf("store: read step names: %w", err)
	}
	defer rows.Close()
	out := map[int64]nameKey{0: {}}
	for rows.Next() {
		var id int64
		var k nameKey
		if err := rows.Scan(&id, &k.step, &k.function); err != nil {
			return nil, fmt.Errorf("store: read step names: %w", err)
		}
		out[id] = k
	}
	return out, rows.Err()
}

// Runs implements Store.
func (c *core) Runs(ctx context.Context, q Query) ([]probe.Run, error) {
	from, to, _ := rangeNS(q)
	series, err := c.findSeries(ctx, q.Flows, q.Location)
	if err != nil {
		return nil, err
	}
	names, err := c.stepNames(ctx)
	if err != nil {
		return nil, err
	}
	query := c.r.Rebind(`SELECT run_id, start_ns, duration_ns, steps FROM runs
WHERE series = ? AND start_ns >= ? AND start_ns < ? ORDER BY start_ns, id`)
	var out []probe.Run
	for _, sr := range series {
		if err := c.readRuns(ctx, query, sr, from, to, names, &out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (c *core) readRuns(ctx context.Context, query string, sr seriesRow, from, to int64, names map[int64]nameKey, out *[]probe.Run) error {
	rows, err := c.r.QueryContext(ctx, query, sr.ID, from, to)
	if err != nil {
		return fmt.Errorf("store: read runs: %w", err)
	}
	defer rows.Close()
	var blob []byte
	for rows.Next() {
		var (
			start, dur int64
			runID      string
		)
		if err := rows.Scan(&runID, &start, &dur, &blob); err != nil {
			return fmt.Errorf("store: read runs: %w", err)
		}
		steps, err := decodeSteps(blob, names)
		if err != nil {
			return fmt.Errorf("store: run %q: %w", runID, err)
		}
		*out = append(*out, probe.Run{ID: runID, Flow: sr.Flow, Service: sr.Service, Location: sr.Location,
			Start: fromNS(start), Duration: time.Duration(dur), Steps: steps})
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: read runs: %w", err)
	}
	return nil
}

func rollupTable(g Granularity) (string, error) {
	switch g {
	case Minute:
		return "rollup_minute", nil
	case Hour:
		return "rollup_hour", nil
	}
	return "", fmt.Errorf("store: unknown rollup granularity %q (want %q or %q)", g, Minute, Hour)
}

// seriesFilter returns the series of q by id and an SQL condition on the
// series column ("" when every series matches).
func (c *core) seriesFilter(ctx context.Context, q Query) (map[int64]seriesRow, string, []any, error) {
	series, err := c.findSeries(ctx, q.Flows, q.Location)
	if err != nil {
		return nil, "", nil, err
	}
	byID := make(map[int64]seriesRow, len(series))
	for _, s := range series {
		byID[s.ID] = s
	}
	if len(q.Flows) == 0 && q.Location == "" {
		return byID, "", nil, nil
	}
	if len(series) == 0 {
		return byID, " AND 1 = 0", nil, nil
	}
	if len(series) > 500 { // filter in Go rather than bind a huge list
		return byID, "", nil, nil
	}
	args := make([]any, len(series))
	for i, s := range series {
		args[i] = s.ID
	}
	return byID, " AND series IN (?" + strings.Repeat(",?", len(series)-1) + ")", args, nil
}

// Rollups implements Store.
func (c *core) Rollups(ctx context.Context, g Granularity, q Query) ([]Rollup, error) {
	table, err := rollupTable(g)
	if err != nil {
		return nil, err
	}
	from, to, _ := rangeNS(q)
	byID, cond, cargs, err := c.seriesFilter(ctx, q)
	if err != nil {
		return nil, err
	}
	names, err := c.stepNames(ctx)
	if err != nil {
		return nil, err
	}
	query := c.r.Rebind(`SELECT bucket_ns, series, data FROM ` + table +
		` WHERE bucket_ns >= ? AND bucket_ns < ?` + cond + ` ORDER BY bucket_ns, series`)
	rows, err := c.r.QueryContext(ctx, query, append([]any{from, to}, cargs...)...)
	if err != nil {
		return nil, fmt.Errorf("store: read %s: %w", table, err)
	}
	defer rows.Close()
	var out []Rollup
	n := len(c.bounds) + 1
	for rows.Next() {
		var (
			bucket, sid int64
			data        any
		)
		if err := rows.Scan(&bucket, &sid, &data); err != nil {
			return nil, fmt.Errorf("store: read %s: %w", table, err)
		}
		s, ok := byID[sid]
		if !ok {
			continue
		}
		stats, err := c.d.statsScan(data)
		if err != nil {
			return nil, err
		}
		for i := range stats {
			st := &stats[i]
			nk := names[st.name]
			out = append(out, Rollup{Bucket: fromNS(bucket), Service: s.Service, Flow: s.Flow, Step: nk.step, Function: nk.function,
				Location: s.Location, OK: st.ok, Failed: st.failed, Degraded: st.degraded, NotRun: st.notRun,
				Hist: st.hist.dense(n), SumSeconds: time.Duration(st.sum).Seconds()})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read %s: %w", table, err)
	}
	return out, nil
}

const windowCols = `kind, service, flow, function, location, start_ns, MAX(end_ns), MAX(confirmed_ns), MAX(cause_step), MAX(error)`
const windowGroup = ` GROUP BY kind, service, flow, function, location, start_ns`

// Windows implements Store. An open and a close event of the same key, kind
// and start are one window; the close's end wins.
func (c *core) Windows(ctx context.Context, q Query) ([]state.Window, error) {
	from, to, _ := rangeNS(q)
	cond, args := "", []any{to}
	if q.Location != "" {
		cond += " AND location = ?"
		args = append(args, q.Location)
	}
	if len(q.Flows) > 0 {
		cond += " AND flow IN (?" + strings.Repeat(",?", len(q.Flows)-1) + ")"
		for _, f := range q.Flows {
			args = append(args, f)
		}
	}
	args = append(args, from)
	query := c.r.Rebind(`SELECT ` + windowCols + ` FROM events WHERE start_ns < ?` + cond + windowGroup +
		` HAVING MAX(end_ns) = 0 OR MAX(end_ns) > ? ORDER BY start_ns, flow, function, location, kind`)
	return c.readWindows(ctx, query, args)
}

// OpenWindows implements Store.
func (c *core) OpenWindows(ctx context.Context, location string) ([]state.Window, error) {
	query := c.r.Rebind(`SELECT ` + windowCols + ` FROM events WHERE location = ? AND kind <> 'unknown'` + windowGroup +
		` HAVING MAX(end_ns) = 0 ORDER BY start_ns, flow, function, kind`)
	return c.readWindows(ctx, query, []any{location})
}

func (c *core) readWindows(ctx context.Context, query string, args []any) ([]state.Window, error) {
	rows, err := c.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: read windows: %w", err)
	}
	defer rows.Close()
	var out []state.Window
	for rows.Next() {
		var w state.Window
		var kind string
		var start, end, confirmed int64
		if err := rows.Scan(&kind, &w.Service, &w.Flow, &w.Function, &w.Location, &start, &end, &confirmed, &w.CauseStep, &w.Error); err != nil {
			return nil, fmt.Errorf("store: read windows: %w", err)
		}
		w.Kind, w.Start, w.End, w.Confirmed = state.Kind(kind), fromNS(start), fromNS(end), fromNS(confirmed)
		out = append(out, w)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read windows: %w", err)
	}
	return out, nil
}

// LastRuns implements Store.
func (c *core) LastRuns(ctx context.Context, location string) (map[string]time.Time, error) {
	series, err := c.findSeries(ctx, nil, location)
	if err != nil {
		return nil, err
	}
	out := map[string]time.Time{}
	query := c.r.Rebind(`SELECT MAX(start_ns) FROM runs WHERE series = ?`)
	for _, s := range series {
		var last sql.NullInt64
		if err := c.r.QueryRowxContext(ctx, query, s.ID).Scan(&last); err != nil {
			return nil, fmt.Errorf("store: read last run: %w", err)
		}
		if !last.Valid {
			continue
		}
		if t := fromNS(last.Int64); t.After(out[s.Flow]) {
			out[s.Flow] = t
		}
	}
	return out, nil
}

// Coverage implements Store. Whole hours inside the range come from the hour
// rollups, the partial hours at its edges from the minute rollups; the first
// and last run starts are exact, but a run in the minute that contains From
// and starts before it is counted.
func (c *core) Coverage(ctx context.Context, q Query) ([]Span, error) {
	from, to, _ := rangeNS(q)
	byID, cond, cargs, err := c.seriesFilter(ctx, q)
	if err != nil {
		return nil, err
	}
	const minute, hour = int64(time.Minute), int64(time.Hour)
	from = from - from%minute
	type part struct {
		table    string
		from, to int64
	}
	var parts []part
	hFrom := from
	if r := hFrom % hour; r != 0 {
		hFrom += hour - r
	}
	hTo := to - to%hour
	if hFrom < hTo && hFrom >= from {
		parts = append(parts, part{"rollup_minute", from, hFrom}, part{"rollup_hour", hFrom, hTo}, part{"rollup_minute", hTo, to})
	} else {
		parts = append(parts, part{"rollup_minute", from, to})
	}
	spans := map[int64]*Span{}
	for _, p := range parts {
		if p.from >= p.to {
			continue
		}
		query := c.r.Rebind(`SELECT series, MIN(first_ns), MAX(last_ns), SUM(runs) FROM ` + p.table +
			` WHERE bucket_ns >= ? AND bucket_ns < ?` + cond + ` GROUP BY series`)
		rows, err := c.r.QueryContext(ctx, query, append([]any{p.from, p.to}, cargs...)...)
		if err != nil {
			return nil, fmt.Errorf("store: read coverage: %w", err)
		}
		for rows.Next() {
			var sid, first, last, n int64
			if err := rows.Scan(&sid, &first, &last, &n); err != nil {
				rows.Close()
				return nil, fmt.Errorf("store: read coverage: %w", err)
			}
			s, ok := byID[sid]
			if !ok {
				continue
			}
			sp := spans[sid]
			if sp == nil {
				sp = &Span{Flow: s.Flow, Service: s.Service, Location: s.Location, First: fromNS(first), Last: fromNS(last)}
				spans[sid] = sp
			}
			if t := fromNS(first); t.Before(sp.First) {
				sp.First = t
			}
			if t := fromNS(last); t.After(sp.Last) {
				sp.Last = t
			}
			sp.Runs += n
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("store: read coverage: %w", err)
		}
	}
	out := make([]Span, 0, len(spans))
	for _, sp := range spans {
		out = append(out, *sp)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Flow != b.Flow {
			return a.Flow < b.Flow
		}
		if a.Location != b.Location {
			return a.Location < b.Location
		}
		return a.Service < b.Service
	})
	return out, nil
}

// Prune implements Store: it deletes, in one transaction, up to batch of the
// oldest runs (by insertion order) that started before cutoff (their steps
// are in their rows), as one rowid range.
func (c *core) Prune(ctx context.Context, cutoff time.Time, batch int) (int, error) {
	if batch <= 0 {
		return 0, fmt.Errorf("store: prune batch must be positive, got %d", batch)
	}
	cut := toNS(cutoff)
	if cutoff.Before(minTime) {
		return 0, nil
	}
	if !cutoff.Before(maxTime) {
		cut = math.MaxInt64
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, errClosed
	}
	tx, err := c.w.BeginTxx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("store: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	var hi sql.NullInt64
	q := tx.Rebind(`SELECT MAX(id) FROM (SELECT id FROM runs WHERE start_ns < ? ORDER BY id LIMIT ?) AS oldest`)
	if err := tx.QueryRowxContext(ctx, q, cut, batch).Scan(&hi); err != nil {
		return 0, fmt.Errorf("store: prune: %w", err)
	}
	if !hi.Valid {
		return 0, nil
	}
	q = tx.Rebind(`DELETE FROM runs WHERE id <= ? AND start_ns < ?`)
	res, err := tx.ExecContext(ctx, q, hi.Int64, cut)
	if err != nil {
		return 0, fmt.Errorf("store: prune runs: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: prune runs: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("store: commit prune: %w", err)
	}
	return int(n), nil
}

// Ping implements Store.
func (c *core) Ping(ctx context.Context) error {
	if err := c.w.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	if c.r != c.w {
		if err := c.r.PingContext(ctx); err != nil {
			return fmt.Errorf("store: ping: %w", err)
		}
	}
	return nil
}

// close releases statements and both pools.
func (c *core) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	for _, st := range c.stmts {
		st.Close()
	}
	var errs []error
	if c.r != c.w {
		errs = append(errs, c.r.Close())
	}
	errs = append(errs, c.w.Close())
	return errors.Join(errs...)
}
