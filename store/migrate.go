package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
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
	if err := c.createVersionTable(ctx); err != nil {
		return fmt.Errorf("store: create schema_version: %w", err)
	}
	cur, err := schemaVersion(ctx, c.w)
	if err != nil {
		return err
	}
	if cur > latest {
		return schemaNewerError{fmt.Sprintf("store: database schema version %d is newer than this slaprobe supports (%d): upgrade slaprobe", cur, latest)}
	}
	if cur >= upTo {
		return nil
	}
	for _, s := range c.d.migrating {
		if _, err := c.w.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("store: before migrating: %w", err)
		}
	}
	for _, m := range ms {
		if m.version <= cur || m.version > upTo {
			continue
		}
		applied, err := c.apply(ctx, m)
		if err != nil {
			return fmt.Errorf("store: migration %d: %w", m.version, err)
		}
		if applied { // not when another prober sharing the database did
			c.log.Info("store schema migrated", "driver", c.d.name, "version", m.version)
		}
	}
	for _, s := range c.d.migrated {
		if _, err := c.w.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("store: after migrating: %w", err)
		}
	}
	return nil
}

// checkVersion is migrate for a read-only open: it creates and changes
// nothing, and fails unless the schema is at the version this slaprobe
// reads (ErrNoStore without one).
func (c *core) checkVersion(ctx context.Context) error {
	var exists bool
	if err := c.w.GetContext(ctx, &exists, c.d.hasVersionTable); err != nil {
		return fmt.Errorf("store: read schema version: %w", err)
	}
	if !exists {
		return ErrNoStore
	}
	cur, err := schemaVersion(ctx, c.w)
	if err != nil {
		return err
	}
	switch latest := c.latest(); {
	case cur == 0:
		return ErrNoStore
	case cur > latest:
		return schemaNewerError{fmt.Sprintf("store: database schema version %d is newer than this slaprobe supports (%d): upgrade slaprobe", cur, latest)}
	case cur < latest:
		return fmt.Errorf("store: database schema version %d is older than this slaprobe's (%d), and reading does not migrate it: "+
			"use the slaprobe version the probers run, or upgrade the probers (the first new one to start migrates it)", cur, latest)
	}
	return nil
}

// createVersionTable creates schema_version if needed, under the migration
// lock: two probers starting at once on an empty PostgreSQL database both
// ran CREATE TABLE IF NOT EXISTS, and one failed on the catalog's unique
// index.
func (c *core) createVersionTable(ctx context.Context) error {
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
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_ns BIGINT NOT NULL)`); err != nil {
		return err
	}
	return tx.Commit()
}

const schemaVersionSQL = `SELECT MAX(version) FROM schema_version`

func schemaVersion(ctx context.Context, q sqlx.QueryerContext) (int, error) {
	var v sql.NullInt64
	if err := sqlx.GetContext(ctx, q, &v, schemaVersionSQL); err != nil {
		return 0, fmt.Errorf("store: read schema version: %w", err)
	}
	return int(v.Int64), nil
}

// apply applies m in one transaction under the migration lock; applied is
// false when another process sharing the database had applied it first.
func (c *core) apply(ctx context.Context, m migration) (applied bool, err error) {
	tx, err := c.w.BeginTxx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	c.migStmts = map[string]*sqlx.Stmt{}
	defer func() {
		for _, st := range c.migStmts {
			st.Close()
		}
		c.migStmts = nil
	}()
	if c.d.lock != nil {
		if err := c.d.lock(ctx, tx); err != nil {
			return false, err
		}
	}
	cur, err := schemaVersion(ctx, tx) // another process may have got here first
	if err != nil {
		return false, err
	}
	if cur >= m.version {
		return false, nil
	}
	for _, s := range m.stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return false, fmt.Errorf("%w in %.60q", err, s)
		}
	}
	if m.backfill != nil {
		if err := m.backfill(ctx, c, tx); err != nil {
			return false, err
		}
	}
	for _, s := range m.post {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return false, fmt.Errorf("%w in %.60q", err, s)
		}
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO schema_version (version, applied_ns) VALUES (?, ?)`), m.version, time.Now().UnixNano()); err != nil {
		return false, err
	}
	return true, tx.Commit()
}

// schemaNewerError is opening's error for a database a newer slaprobe has
// migrated: errors.Is(err, ErrSchemaNewer), so that a daemon fails at
// once on it rather than retrying as for a database not reachable.
type schemaNewerError struct{ msg string }

func (e schemaNewerError) Error() string        { return e.msg }
func (e schemaNewerError) Is(target error) bool { return target == ErrSchemaNewer }
