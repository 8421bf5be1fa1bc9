package store

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"time"
)

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
