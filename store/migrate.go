package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/slaprobe/slaprobe/probe"
)

// migration is one numbered schema step: SQL statements, then an optional
// backfill in Go, then more SQL statements, in one transaction with the
// schema_version row.
type migration struct {
	version  int
	stmts    []string
	backfill func(ctx context.Context, c *core, tx *sqlx.Tx) error
	post     []string
}

// migrate brings the schema up to version upTo (the latest when upTo < 0).
func (c *core) migrate(ctx context.Context, upTo int) error {
	ms := c.d.migrations
	latest := ms[len(ms)-1].version
	if upTo < 0 {
		upTo = latest
	}
	if _, err := c.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_ns BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("store: create schema_version: %w", err)
	}
	cur, err := schemaVersion(ctx, c.w)
	if err != nil {
		return err
	}
	if cur > latest {
		return fmt.Errorf("store: database schema version %d is newer than this slaprobe supports (%d): upgrade slaprobe", cur, latest)
	}
	for _, m := range ms {
		if m.version <= cur || m.version > upTo {
			continue
		}
		if err := c.apply(ctx, m); err != nil {
			return fmt.Errorf("store: migration %d: %w", m.version, err)
		}
		c.log.Info("store schema migrated", "driver", c.d.name, "version", m.version)
	}
	return nil
}

func schemaVersion(ctx context.Context, q sqlx.QueryerContext) (int, error) {
	var v sql.NullInt64
	if err := sqlx.GetContext(ctx, q, &v, `SELECT MAX(version) FROM schema_version`); err != nil {
		return 0, fmt.Errorf("store: read schema version: %w", err)
	}
	return int(v.Int64), nil
}

func (c *core) apply(ctx context.Context, m migration) error {
	tx, err := c.w.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if c.d.lock != nil {
		if err := c.d.lock(ctx, tx); err != nil {
			return err
		}
	}
	cur, err := schemaVersion(ctx, tx) // another process may have got here first
	if err != nil {
		return err
	}
	if cur >= m.version {
		return nil
	}
	for _, s := range m.stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%w in %.60q", err, s)
		}
	}
	if m.backfill != nil {
		if err := m.backfill(ctx, c, tx); err != nil {
			return err
		}
	}
	for _, s := range m.post {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%w in %.60q", err, s)
		}
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO schema_version (version, applied_ns) VALUES (?, ?)`), m.version, time.Now().UnixNano()); err != nil {
		return err
	}
	return tx.Commit()
}

// backfillRollups folds the runs already stored (by a version 1 schema) into
// the version 2 rollup tables, a few thousand runs at a time.
func backfillRollups(ctx context.Context, c *core, tx *sqlx.Tx) error {
	const chunk = 5000
	after := int64(0)
	for {
		var hi sql.NullInt64
		q := tx.Rebind(`SELECT MAX(id) FROM (SELECT id FROM runs WHERE id > ? ORDER BY id LIMIT ?) AS next`)
		if err := tx.QueryRowxContext(ctx, q, after, chunk).Scan(&hi); err != nil {
			return fmt.Errorf("backfill: %w", err)
		}
		if !hi.Valid {
			return nil
		}
		rows, err := tx.QueryContext(ctx, tx.Rebind(`SELECT r.id, r.series, r.start_ns, r.duration_ns, s.name, s.status, s.duration_ns
FROM runs r LEFT JOIN steps s ON s.run = r.id WHERE r.id > ? AND r.id <= ? ORDER BY r.id, s.idx`), after, hi.Int64)
		if err != nil {
			return fmt.Errorf("backfill: %w", err)
		}
		agg := newAggregate(c.bounds)
		type step struct {
			name int64
			st   probe.Status
			d    time.Duration
		}
		var (
			cur              = int64(-1)
			series, start    int64
			dur              time.Duration
			steps            []step
			run              probe.Run
			flushRun         func()
			scanErr          error
			id, sid, st, sns int64
			name, status     sql.NullInt64
			sdur             sql.NullInt64
		)
		flushRun = func() {
			if cur < 0 {
				return
			}
			run.Steps = run.Steps[:0]
			for _, s := range steps {
				run.Steps = append(run.Steps, probe.StepResult{Status: s.st})
			}
			agg.add(series, 0, start, run.Outcome(), dur)
			for _, s := range steps {
				agg.add(series, s.name, start, s.st, s.d)
			}
			steps = steps[:0]
		}
		for rows.Next() {
			if scanErr = rows.Scan(&id, &sid, &st, &sns, &name, &status, &sdur); scanErr != nil {
				break
			}
			if id != cur {
				flushRun()
				cur, series, start, dur = id, sid, st, time.Duration(sns)
			}
			if name.Valid {
				ps := probe.StatusFailed
				if status.Int64 >= 0 && status.Int64 < int64(len(statusNames)) {
					ps = statusNames[status.Int64]
				}
				steps = append(steps, step{name.Int64, ps, time.Duration(sdur.Int64)})
			}
		}
		flushRun()
		err = rows.Err()
		rows.Close()
		if scanErr != nil {
			return fmt.Errorf("backfill: %w", scanErr)
		}
		if err != nil {
			return fmt.Errorf("backfill: %w", err)
		}
		if err := c.upsertRollupsV2(ctx, tx, agg); err != nil {
			return fmt.Errorf("backfill: %w", err)
		}
		after = hi.Int64
	}
}

// upsertRollupsV2 folds pre-aggregated rollups into the version 2 tables (one
// row per step; each step row takes its bucket's first and last run start).
func (c *core) upsertRollupsV2(ctx context.Context, tx *sqlx.Tx, agg *aggregate) error {
	for _, g := range []struct {
		table string
		rows  map[rkey]*rval
	}{{"rollup_minute", agg.minute}, {"rollup_hour", agg.hour}} {
		var args []any
		for _, k := range sortedKeys(g.rows) {
			v := g.rows[k]
			for _, s := range v.stats {
				args = append(args, k.bucket, k.series, s.name, s.ok, s.failed, s.degraded, s.notRun, s.sum, v.first, v.last, c.d.histParam(s.hist))
			}
		}
		if err := c.insertRows(ctx, tx, c.rollupSpecV2(g.table), args); err != nil {
			return err
		}
	}
	return nil
}

// migrateV3 moves a version 2 database's data into the version 3 tables,
// which the migration's statements created after renaming the old ones to
// *_v2: each run's steps into its row's steps blob, each (bucket, series)'s
// rollup rows into one row.
func migrateV3(ctx context.Context, c *core, tx *sqlx.Tx) error {
	if err := migrateRunsV3(ctx, c, tx); err != nil {
		return fmt.Errorf("runs: %w", err)
	}
	for _, t := range []string{"rollup_minute", "rollup_hour"} {
		if err := migrateRollupsV3(ctx, c, tx, t); err != nil {
			return fmt.Errorf("%s: %w", t, err)
		}
	}
	return nil
}

func migrateRunsV3(ctx context.Context, c *core, tx *sqlx.Tx) error {
	const chunk = 5000
	spec := c.specs()[0]
	after := int64(math.MinInt64)
	for {
		var hi sql.NullInt64
		q := tx.Rebind(`SELECT MAX(id) FROM (SELECT id FROM runs_v2 WHERE id > ? ORDER BY id LIMIT ?) AS next`)
		if err := tx.QueryRowxContext(ctx, q, after, chunk).Scan(&hi); err != nil {
			return err
		}
		if !hi.Valid {
			return nil
		}
		rows, err := tx.QueryContext(ctx, tx.Rebind(`SELECT r.id, r.series, r.start_ns, r.duration_ns, r.run_id,
 s.name, s.status, s.http_status, s.duration_ns, s.resolve_ns, s.connect_ns, s.tls_ns, s.processing_ns, s.transfer_ns, s.attempts, s.error
FROM runs_v2 r LEFT JOIN steps s ON s.run = r.id WHERE r.id > ? AND r.id <= ? ORDER BY r.id, s.idx`), after, hi.Int64)
		if err != nil {
			return err
		}
		var (
			args             []any
			steps            []stepRow
			curID            = int64(math.MinInt64)
			series, st, dur  int64
			runID            string
			scanErr          error
			name, status     sql.NullInt64
			httpStatus, sdur sql.NullInt64
			ph               [5]sql.NullInt64
			attempts         sql.NullInt64
			errText          sql.NullString
		)
		flush := func() {
			if curID != math.MinInt64 {
				args = append(args, curID, series, st, dur, runID, appendSteps(nil, steps))
			}
			steps = steps[:0]
		}
		for rows.Next() {
			var id int64
			var rs, rst, rdur int64
			var rid string
			if scanErr = rows.Scan(&id, &rs, &rst, &rdur, &rid, &name, &status, &httpStatus, &sdur,
				&ph[0], &ph[1], &ph[2], &ph[3], &ph[4], &attempts, &errText); scanErr != nil {
				break
			}
			if id != curID {
				flush()
				curID, series, st, dur, runID = id, rs, rst, rdur, rid
			}
			if !name.Valid {
				continue
			}
			ps := probe.StatusFailed
			if status.Int64 >= 0 && status.Int64 < int64(len(statusNames)) {
				ps = statusNames[status.Int64]
			}
			steps = append(steps, stepRow{name: name.Int64, res: &probe.StepResult{Status: ps, HTTPStatus: int(httpStatus.Int64),
				Duration: time.Duration(sdur.Int64),
				Phases: probe.Phases{Resolve: time.Duration(ph[0].Int64), Connect: time.Duration(ph[1].Int64), TLS: time.Duration(ph[2].Int64),
					Processing: time.Duration(ph[3].Int64), Transfer: time.Duration(ph[4].Int64)},
				Attempts: int(attempts.Int64), Error: errText.String}})
		}
		flush()
		err = rows.Err()
		rows.Close()
		if scanErr != nil {
			return scanErr
		}
		if err != nil {
			return err
		}
		if err := c.insertRows(ctx, tx, spec, args); err != nil {
			return err
		}
		after = hi.Int64
	}
}

// migrateRollupsV3 folds the rows of table_v2 into table, a few thousand
// buckets' worth at a time.
func migrateRollupsV3(ctx context.Context, c *core, tx *sqlx.Tx, table string) error {
	const chunk = 20000
	spec := c.rollupSpec(table)
	after := int64(math.MinInt64)
	for {
		// The chunk ends with a whole bucket: the bucket of the chunk-th row
		// after the last one, or the end of the table.
		var cut sql.NullInt64
		q := tx.Rebind(`SELECT bucket_ns FROM ` + table + `_v2 WHERE bucket_ns > ? ORDER BY bucket_ns LIMIT 1 OFFSET ?`)
		if err := tx.QueryRowxContext(ctx, q, after, chunk).Scan(&cut); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		to := int64(math.MaxInt64)
		if cut.Valid {
			to = cut.Int64
		}
		rows, err := tx.QueryContext(ctx, tx.Rebind(`SELECT bucket_ns, series, step, ok, failed, degraded, not_run, sum_ns, first_ns, last_ns, hist
FROM `+table+`_v2 WHERE bucket_ns > ? AND bucket_ns <= ? ORDER BY bucket_ns, series, step`), after, to)
		if err != nil {
			return err
		}
		var (
			args    []any
			key     = rkey{bucket: math.MinInt64}
			v       *rval
			scanErr error
			n       int
		)
		flush := func() {
			if v != nil {
				args = append(args, key.bucket, key.series, v.runs(), v.first, v.last, c.d.statsParam(v.stats))
			}
		}
		for rows.Next() {
			var (
				k           rkey
				s           stat
				first, last int64
				hist        any
			)
			if scanErr = rows.Scan(&k.bucket, &k.series, &s.name, &s.ok, &s.failed, &s.degraded, &s.notRun, &s.sum, &first, &last, &hist); scanErr != nil {
				break
			}
			if s.hist, scanErr = c.d.histScan(hist); scanErr != nil {
				break
			}
			n++
			if k != key || v == nil {
				flush()
				key, v = k, &rval{first: first, last: last}
			}
			v.first, v.last = min(v.first, first), max(v.last, last)
			v.stats = append(v.stats, s)
		}
		flush()
		err = rows.Err()
		rows.Close()
		if scanErr != nil {
			return scanErr
		}
		if err != nil {
			return err
		}
		if err := c.insertRows(ctx, tx, spec, args); err != nil {
			return err
		}
		if !cut.Valid || n == 0 {
			return nil
		}
		after = to
	}
}
