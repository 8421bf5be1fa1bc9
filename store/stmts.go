package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
)

// chunkRows is the largest number of rows one multi-row INSERT carries;
// smaller remainders go in power-of-two chunks, so that a handful of prepared
// statements per table serve every batch size. A prepared statement's
// program and parameters are SQLite memory (outside the Go heap) in
// proportion to its rows: the four tables' statements at 512 rows down to 1
// took 5 MB for as long as the store is open, at 64 rows 1 MB; ingest is as
// fast (BenchmarkIngest, 1,000-run batches).
const chunkRows = 64

// insertSpec is one multi-row INSERT: head VALUES (...),(...) tail.
type insertSpec struct {
	head, tail string
	cols       int
}

// inserts are the store's live INSERT statements, one per table it writes.
type inserts struct {
	runs, events, minute, hour insertSpec
}

func newInserts(d *dialect) inserts {
	return inserts{
		runs: insertSpec{head: "INSERT INTO runs (id, series, start_ns, duration_ns, run_id, steps, confirm, interval_ms)", cols: 8,
			tail: " ON CONFLICT (series, start_ns, run_id) DO NOTHING"},
		events: insertSpec{head: "INSERT INTO events (op, kind, service, flow, function, location, start_ns, end_ns, confirmed_ns, cause_step, error, last_before_ns, last_in_ns, known_ns, first_in_end_ns, first_after_end_ns)", cols: 16},
		minute: rollupSpec(d, "rollup_minute"),
		hour:   rollupSpec(d, "rollup_hour"),
	}
}

// rollupSpec is the upsert of a rollup table.
func rollupSpec(d *dialect, t string) insertSpec {
	tail := fmt.Sprintf(` ON CONFLICT (bucket_ns, series) DO UPDATE SET
runs = %[1]s.runs + excluded.runs,
first_ns = %[2]s(%[1]s.first_ns, excluded.first_ns), last_ns = %[3]s(%[1]s.last_ns, excluded.last_ns),
data = slaprobe_rollup_add(%[1]s.data, excluded.data), confirm_runs = %[1]s.confirm_runs + excluded.confirm_runs,
last_interval_ms = CASE WHEN excluded.last_ns > %[1]s.last_ns THEN excluded.last_interval_ms
WHEN excluded.last_ns < %[1]s.last_ns THEN %[1]s.last_interval_ms
ELSE COALESCE(%[3]s(%[1]s.last_interval_ms, excluded.last_interval_ms), %[1]s.last_interval_ms, excluded.last_interval_ms) END`, t, d.least, d.greatest)
	return insertSpec{head: "INSERT INTO " + t + " (bucket_ns, series, runs, first_ns, last_ns, data, confirm_runs, last_interval_ms)", tail: tail, cols: 8}
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
	for _, sp := range c.d.multiRow(c.ins) {
		for n := chunkRows; n >= 1; n /= 2 {
			st, err := c.w.PreparexContext(ctx, c.w.Rebind(sp.sql(n)))
			if err != nil {
				return fmt.Errorf("store: prepare: %w", err)
			}
			c.stmts[sp.key(n)] = st
		}
	}
	st, err := c.w.PreparexContext(ctx, c.w.Rebind(settleSQL))
	if err != nil {
		return fmt.Errorf("store: prepare: %w", err)
	}
	c.stmts[settleKey] = st
	for _, q := range c.d.prepared {
		st, err := c.w.PreparexContext(ctx, q)
		if err != nil {
			return fmt.Errorf("store: prepare: %w", err)
		}
		c.stmts[q] = st
	}
	return nil
}

// getInt runs the one-value query q in tx: prepared once if it is one of the
// dialect's prepared queries (and prepareAll has run), else as it is.
func (c *core) getInt(ctx context.Context, tx *sqlx.Tx, q string, dst *sql.NullInt64) error {
	st, ok := c.stmts[q]
	if !ok {
		return tx.QueryRowxContext(ctx, tx.Rebind(q)).Scan(dst)
	}
	ts := tx.StmtxContext(ctx, st)
	defer ts.Close()
	return ts.QueryRowxContext(ctx).Scan(dst)
}

// insertRows runs sp over args (sp.cols values a row) in chunks of at most
// chunkRows rows, remainders in power-of-two chunks, so that a fixed set of
// prepared statements serves every batch size. During a migration (before
// prepareAll) it prepares each statement once on the migration's transaction
// (migStmts): preparing one per chunk kept thousands open until the commit,
// and the migration's memory grew with the number of runs.
//
// It returns the number of rows inserted or updated (an ON CONFLICT DO
// NOTHING skips some).
func (c *core) insertRows(ctx context.Context, tx *sqlx.Tx, sp insertSpec, args []any) (int64, error) {
	rows := len(args) / sp.cols
	var total int64
	for rows > 0 {
		n := chunkRows
		for n > rows {
			n /= 2
		}
		var (
			st    *sqlx.Stmt
			err   error
			close = true // a transaction's copy of a cached statement, or a one-off
		)
		key := sp.key(n)
		if cached, ok := c.stmts[key]; ok {
			st = tx.StmtxContext(ctx, cached)
		} else if st, close = c.migStmts[key], false; st == nil {
			if st, err = tx.PreparexContext(ctx, tx.Rebind(sp.sql(n))); err != nil {
				return total, err
			}
			if c.migStmts != nil {
				c.migStmts[key] = st
			} else {
				close = true
			}
		}
		res, err := st.ExecContext(ctx, args[:n*sp.cols]...)
		if close {
			// Now, not at the commit: database/sql keeps a transaction's
			// statements until it ends.
			st.Close()
		}
		if err != nil {
			return total, err
		}
		if k, err := res.RowsAffected(); err == nil {
			total += k
		}
		args = args[n*sp.cols:]
		rows -= n
	}
	return total, nil
}

// settleKey names the prepared statement that settles a window's open (and
// cause) events: sets their end_ns to the window's end once a close is
// stored. Its arguments: start_ns, kind, service, flow, function, location,
// twice.
const settleKey = "settle"

// (The window's fields are bound twice rather than correlated: SQLite then
// finds the close events through events_window.)
const settleSQL = `UPDATE events SET end_ns = COALESCE((SELECT MAX(end_ns) FROM events
	WHERE op = 'close' AND start_ns = ? AND kind = ? AND service = ? AND flow = ? AND function = ? AND location = ?), 0)
WHERE op IN ('open', 'cause') AND end_ns = 0 AND start_ns = ? AND kind = ? AND service = ? AND flow = ? AND function = ? AND location = ?`
