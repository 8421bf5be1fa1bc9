package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jmoiron/sqlx"
)

// pruneTarget is one kind of data Prune deletes: the rows of table whose
// column col is in (0, cutoff), through an index on col, oldest first.
type pruneTarget struct {
	table, col string
	meta       string // store_meta row that records the horizon ("" none)
}

var pruneTargets = [...]pruneTarget{
	{"runs", "start_ns", metaRunsFrom},
	{"rollup_minute", "bucket_ns", metaMinuteFrom},
	{"rollup_hour", "bucket_ns", metaHourFrom},
	{"events", "end_ns", ""}, // open windows (end_ns 0) stay
}

// Prune implements Store. Each kind is deleted as one range of its time
// column, found through that column's index: the cut is the time of the
// (budget+1)-th oldest row (or the cutoff, if sooner), so that a call costs
// what it deletes, not what the table holds, even when nothing is due.
func (c *core) Prune(ctx context.Context, cut Cutoffs, batch int) (int, error) {
	if batch <= 0 {
		return 0, fmt.Errorf("store: prune batch must be positive, got %d", batch)
	}
	cutoffs := [len(pruneTargets)]int64{cutNS(cut.Runs), cutNS(cut.Minute), cutNS(cut.Hour), cutNS(cut.Hour)}
	c.mu.Lock()
	defer c.mu.Unlock()
	tx, err := c.beginWrite(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	total := 0
	for i, t := range pruneTargets {
		if total >= batch {
			break
		}
		if cutoffs[i] <= 1 {
			continue
		}
		n, err := c.pruneOne(ctx, tx, t, cutoffs[i], batch-total)
		if err != nil {
			return 0, fmt.Errorf("store: prune %s: %w", t.table, err)
		}
		total += n
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("store: commit prune: %w", err)
	}
	return total, nil
}

// cutNS turns a cutoff into nanoseconds: 0 for "keep all".
func cutNS(t time.Time) int64 {
	switch {
	case t.IsZero() || !t.After(minTime):
		return 0
	case !t.Before(maxTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// pruneSQL are the statements pruneOne runs on t: the time of the
// (budget+1)-th oldest row before the cutoff (args: cutoff, budget), the
// oldest time (no args), and the delete (args: up to).
func pruneSQL(t pruneTarget) (next, oldest, del string) {
	return `SELECT ` + t.col + ` FROM ` + t.table + ` WHERE ` + t.col + ` > 0 AND ` + t.col + ` < ? ORDER BY ` + t.col + ` LIMIT 1 OFFSET ?`,
		`SELECT MIN(` + t.col + `) FROM ` + t.table + ` WHERE ` + t.col + ` > 0`,
		`DELETE FROM ` + t.table + ` WHERE ` + t.col + ` > 0 AND ` + t.col + ` < ?`
}

// pruneOne deletes up to about budget rows of t older than cutoff and
// records the new horizon.
func (c *core) pruneOne(ctx context.Context, tx *sqlx.Tx, t pruneTarget, cutoff int64, budget int) (int, error) {
	nextSQL, oldestSQL, delSQL := pruneSQL(t)
	// The time of the budget+1-th oldest row: every row before it goes.
	var next sql.NullInt64
	if err := tx.QueryRowxContext(ctx, tx.Rebind(nextSQL), cutoff, budget).Scan(&next); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, err
	}
	upTo := cutoff
	if next.Valid {
		upTo = next.Int64
		// More than budget rows share the oldest time (a bucket of more
		// series than the budget): take them all rather than none.
		var oldest int64
		if err := tx.QueryRowxContext(ctx, tx.Rebind(oldestSQL)).Scan(&oldest); err != nil {
			return 0, err
		}
		if oldest == upTo {
			upTo++
		}
	}
	res, err := tx.ExecContext(ctx, tx.Rebind(delSQL), upTo)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	if n > 0 && t.meta != "" {
		if err := c.setMeta(ctx, tx, t.meta, upTo); err != nil {
			return 0, err
		}
	}
	return int(n), nil
}

// earliestSQL is Earliest's query: the least of each table's first start,
// each read from the index that leads with it (runs_start, and the
// rollups' primary keys).
const earliestSQL = `SELECT MIN(t) FROM (
	SELECT MIN(start_ns) AS t FROM runs
	UNION ALL SELECT MIN(bucket_ns) FROM rollup_minute
	UNION ALL SELECT MIN(bucket_ns) FROM rollup_hour
) AS firsts`

// Earliest implements Store.
func (c *core) Earliest(ctx context.Context) (_ time.Time, err error) {
	ctx, done := c.reading(ctx, "reading the earliest run")
	defer done(&err)
	var ns sql.NullInt64
	if err := c.r.QueryRowxContext(ctx, earliestSQL).Scan(&ns); err != nil {
		return time.Time{}, fmt.Errorf("store: earliest run: %w", err)
	}
	if !ns.Valid {
		return time.Time{}, nil
	}
	return time.Unix(0, ns.Int64).UTC(), nil
}

// Horizon implements Store.
func (c *core) Horizon(ctx context.Context) (_ Horizon, err error) {
	ctx, done := c.reading(ctx, "reading the retention horizon")
	defer done(&err)
	m, err := c.meta(ctx, c.r)
	if err != nil {
		return Horizon{}, err
	}
	return Horizon{Runs: fromNS(m[metaRunsFrom]), Minute: fromNS(m[metaMinuteFrom]), Hour: fromNS(m[metaHourFrom])}, nil
}
