package store

import (
	"context"
	"fmt"
	"sync"

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

// seriesIndex finds series rows by id. It points into a slice of rows
// rather than holding copies: 16 bytes a slot, not 64 (the cached index of
// every series at 50,000 flows was ~4 MB, now ~1 MB).
type seriesIndex map[int64]*seriesRow

// get returns the row of id (the zero row if there is none).
func (x seriesIndex) get(id int64) (seriesRow, bool) {
	if p, ok := x[id]; ok {
		return *p, true
	}
	return seriesRow{}, false
}

// indexSeries indexes rows by id; the index points into rows.
func indexSeries(rows []seriesRow) seriesIndex {
	x := make(seriesIndex, len(rows))
	for i := range rows {
		x[rows[i].ID] = &rows[i]
	}
	return x
}

// findSeries returns the series matching q's flows and location, ordered by
// flow, location and service. The slice is the caller's.
func (c *core) findSeries(ctx context.Context, flows []string, location string) ([]seriesRow, error) {
	all, _, err := c.allSeries(ctx)
	if err != nil {
		return nil, err
	}
	return filterSeries(all, flows, location), nil
}

// filterSeries is the series of all of flows (any when none) at location
// (any when "").
func filterSeries(all []seriesRow, flows []string, location string) []seriesRow {
	want := map[string]bool{}
	for _, f := range flows {
		want[f] = true
	}
	var out []seriesRow
	for _, s := range all {
		if (len(want) == 0 || want[s.Flow]) && (location == "" || s.Location == location) {
			out = append(out, s)
		}
	}
	return out
}

// seriesCache is the series table as last read. Series are only ever added
// (never changed or deleted), so the table is read again only when its
// number of rows or its largest id has changed: a report over every flow
// asks several times per build, and at 50,000 flows each read and its map
// by id were ~7 MB of allocation.
type seriesCache struct {
	mu        sync.Mutex
	n, maxID  int64
	all       []seriesRow // ordered by flow, location, service
	byID      seriesIndex
	readCount int // table reads, for tests
}

// allSeries returns every series, ordered by flow, location and service,
// and the same by id. Both are shared: read only.
func (c *core) allSeries(ctx context.Context) ([]seriesRow, seriesIndex, error) {
	var n, maxID int64
	if err := c.r.QueryRowxContext(ctx, `SELECT COUNT(*), COALESCE(MAX(id), 0) FROM series`).Scan(&n, &maxID); err != nil {
		return nil, nil, fmt.Errorf("store: read series: %w", err)
	}
	sc := &c.seriesCache
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.byID != nil && sc.n == n && sc.maxID == maxID {
		return sc.all, sc.byID, nil
	}
	var all []seriesRow
	if err := c.r.SelectContext(ctx, &all, `SELECT id, service, flow, location FROM series ORDER BY flow, location, service`); err != nil {
		return nil, nil, fmt.Errorf("store: read series: %w", err)
	}
	byID := indexSeries(all)
	for _, s := range all {
		maxID = max(maxID, s.ID) // rows added since the count: read now
	}
	sc.n, sc.maxID, sc.all, sc.byID = int64(len(all)), maxID, all, byID
	sc.readCount++
	return all, byID, nil
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
