package store

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// PostgreSQL's write path. A batch's rows go as one statement per table,
// their columns bound as arrays (INSERT ... SELECT FROM unnest(...)): one
// round trip and one plan whatever the batch size, where multi-row VALUES
// took a plan per chunk and thousands of bound values. Rollup rows are
// added in Go rather than in SQL: rows already stored are locked (FOR
// UPDATE), read, merged with the batch's and written back, so nothing has to
// decode and re-encode them inside the database.

// insertRunsPG is PostgreSQL's writeRuns.
func insertRunsPG(ctx context.Context, _ *core, tx *sqlx.Tx, r *runRows) (int64, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO runs (id, series, start_ns, duration_ns, run_id, steps, confirm, interval_ms)
SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::text[], $6::bytea[], $7::bigint[], $8::bigint[])
ON CONFLICT (series, start_ns, run_id) DO NOTHING`, r.ids, r.series, r.starts, r.durs, r.runIDs, r.steps, r.confirm, r.ivl)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// upsertRollupsPG is PostgreSQL's writeRollups: insert the rows that are new
// (ON CONFLICT DO NOTHING, RETURNING what went in); lock and read the others,
// add them to the batch's, and write the sums over them. A row another
// writer inserts between the two steps is found by the lock and added.
func upsertRollupsPG(ctx context.Context, _ *core, tx *sqlx.Tx, table string, rows map[rkey]*rval) error {
	keys := sortedKeys(rows)
	if len(keys) == 0 {
		return nil
	}
	cols := func(keys []rkey) []any {
		b, s, n, f, l, d, cf := make([]int64, len(keys)), make([]int64, len(keys)), make([]int64, len(keys)),
			make([]int64, len(keys)), make([]int64, len(keys)), make([][]byte, len(keys)), make([]int64, len(keys))
		var data []byte                 // every row's data, one after the other
		iv := make([]*int64, len(keys)) // last_interval_ms; nil: NULL (not known)
		for i, k := range keys {
			v := rows[k]
			if data == nil {
				data = make([]byte, 0, len(keys)*(1+16*len(v.stats)))
			}
			from := len(data)
			data = appendStats(data, v.stats)
			b[i], s[i], n[i], f[i], l[i], d[i], cf[i] = k.bucket, k.series, v.runs(), v.first, v.last, data[from:len(data):len(data)], v.confirm
			if v.lastIvl > 0 {
				iv[i] = &v.lastIvl
			}
		}
		return []any{b, s, n, f, l, d, cf, iv}
	}
	const src = ` (bucket_ns, series, runs, first_ns, last_ns, data, confirm_runs, last_interval_ms)
SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bytea[], $7::bigint[], $8::bigint[])`
	q, err := tx.QueryContext(ctx, `INSERT INTO `+table+src+` ON CONFLICT (bucket_ns, series) DO NOTHING RETURNING bucket_ns, series`, cols(keys)...)
	if err != nil {
		return err
	}
	inserted := make(map[rkey]bool, len(keys))
	for q.Next() {
		var k rkey
		if err := q.Scan(&k.bucket, &k.series); err != nil {
			q.Close()
			return err
		}
		inserted[k] = true
	}
	q.Close()
	if err := q.Err(); err != nil {
		return err
	}
	if len(inserted) == len(keys) {
		return nil
	}
	var old []rkey
	for _, k := range keys {
		if !inserted[k] {
			old = append(old, k)
		}
	}
	bs, ss := make([]int64, len(old)), make([]int64, len(old))
	for i, k := range old {
		bs[i], ss[i] = k.bucket, k.series
	}
	q, err = tx.QueryContext(ctx, `SELECT t.bucket_ns, t.series, t.first_ns, t.last_ns, t.data, t.confirm_runs, COALESCE(t.last_interval_ms, 0) FROM `+table+` t
JOIN unnest($1::bigint[], $2::bigint[]) AS k(b, s) ON t.bucket_ns = k.b AND t.series = k.s
ORDER BY t.bucket_ns, t.series FOR UPDATE OF t`, bs, ss)
	if err != nil {
		return err
	}
	for q.Next() {
		var (
			k                         rkey
			first, last, confirm, ivl int64
			data                      []byte
		)
		if err := q.Scan(&k.bucket, &k.series, &first, &last, &data, &confirm, &ivl); err != nil {
			q.Close()
			return err
		}
		stored, err := decodeStats(data)
		if err != nil {
			q.Close()
			return fmt.Errorf("%w (bucket %d, series %d)", err, k.bucket, k.series)
		}
		v := rows[k]
		v.lastIvl = lastInterval(last, ivl, v.last, v.lastIvl) // the stored row's, the batch's as a run
		v.first, v.last, v.stats = min(v.first, first), max(v.last, last), mergeStats(v.stats, stored)
		v.confirm += confirm
	}
	q.Close()
	if err := q.Err(); err != nil {
		return err
	}
	// (A row deleted meanwhile, by a prune, is simply inserted again.)
	_, err = tx.ExecContext(ctx, `INSERT INTO `+table+src+` ON CONFLICT (bucket_ns, series) DO UPDATE SET
runs = excluded.runs, first_ns = excluded.first_ns, last_ns = excluded.last_ns, data = excluded.data,
confirm_runs = excluded.confirm_runs, last_interval_ms = excluded.last_interval_ms`, cols(old)...)
	return err
}
