package store

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
)

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
