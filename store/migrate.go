package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/slaprobe/slaprobe/probe"
)

// migration is one numbered schema step: SQL statements, then an optional
// backfill in Go, in one transaction with the schema_version row.
type migration struct {
	version  int
	stmts    []string
	backfill func(ctx context.Context, c *core, tx *sqlx.Tx) error
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
	if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO schema_version (version, applied_ns) VALUES (?, ?)`), m.version, time.Now().UnixNano()); err != nil {
		return err
	}
	return tx.Commit()
}

// backfillRollups folds the runs already stored (by a version 1 schema) into
// the rollup tables, a few thousand runs at a time.
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
		if err := c.upsertRollups(ctx, tx, agg); err != nil {
			return fmt.Errorf("backfill: %w", err)
		}
		after = hi.Int64
	}
}
