package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"net/url"
	"strings"

	"github.com/jmoiron/sqlx"
	"modernc.org/sqlite"
)

// SQLite is the default Store: one database file in WAL mode, one write
// connection and a pool of read connections.
type SQLite struct {
	*core
	path string
}

var _ Store = (*SQLite)(nil)

// sqliteMigrations are the numbered schema steps; see the package doc.
var sqliteMigrations = []migration{
	{version: 1, stmts: []string{
		`CREATE TABLE series (
	id       INTEGER PRIMARY KEY,
	service  TEXT NOT NULL,
	flow     TEXT NOT NULL,
	location TEXT NOT NULL,
	UNIQUE (flow, location, service)
)`,
		`CREATE TABLE step_names (
	id       INTEGER PRIMARY KEY,
	step     TEXT NOT NULL,
	function TEXT NOT NULL,
	UNIQUE (step, function)
)`,
		`CREATE TABLE runs (
	id          INTEGER PRIMARY KEY,
	series      INTEGER NOT NULL,
	start_ns    INTEGER NOT NULL,
	duration_ns INTEGER NOT NULL,
	run_id      TEXT NOT NULL
)`,
		`CREATE INDEX runs_series_start ON runs (series, start_ns)`,
		`CREATE TABLE steps (
	run           INTEGER NOT NULL,
	idx           INTEGER NOT NULL,
	name          INTEGER NOT NULL,
	status        INTEGER NOT NULL,
	http_status   INTEGER NOT NULL,
	duration_ns   INTEGER NOT NULL,
	resolve_ns    INTEGER NOT NULL,
	connect_ns    INTEGER NOT NULL,
	tls_ns        INTEGER NOT NULL,
	processing_ns INTEGER NOT NULL,
	transfer_ns   INTEGER NOT NULL,
	attempts      INTEGER NOT NULL,
	error         TEXT NOT NULL,
	PRIMARY KEY (run, idx)
) WITHOUT ROWID`,
		`CREATE TABLE events (
	id           INTEGER PRIMARY KEY,
	op           TEXT NOT NULL,
	kind         TEXT NOT NULL,
	service      TEXT NOT NULL,
	flow         TEXT NOT NULL,
	function     TEXT NOT NULL,
	location     TEXT NOT NULL,
	start_ns     INTEGER NOT NULL,
	end_ns       INTEGER NOT NULL,
	confirmed_ns INTEGER NOT NULL,
	cause_step   TEXT NOT NULL,
	error        TEXT NOT NULL
)`,
		`CREATE INDEX events_start ON events (start_ns)`,
	}},
	{version: 2, stmts: []string{
		rollupTableSQL("rollup_minute", "INTEGER", "BLOB") + ` WITHOUT ROWID`,
		rollupTableSQL("rollup_hour", "INTEGER", "BLOB") + ` WITHOUT ROWID`,
		`CREATE INDEX events_location ON events (location, end_ns)`,
	}, backfill: backfillRollups},
	{version: 3, stmts: v3Stmts("INTEGER", "BLOB", "BLOB", " WITHOUT ROWID"), backfill: migrateV3, post: v3Post},
	{version: 4, stmts: reportsStmts("INTEGER PRIMARY KEY")},
}

// v3Stmts replace the runs and rollup tables by their version 3 forms,
// renaming the old ones to *_v2 for migrateV3 to read.
func v3Stmts(integer, blob, data, suffix string) []string {
	return []string{
		`DROP INDEX runs_series_start`,
		`ALTER TABLE runs RENAME TO runs_v2`,
		`ALTER TABLE rollup_minute RENAME TO rollup_minute_v2`,
		`ALTER TABLE rollup_hour RENAME TO rollup_hour_v2`,
		`CREATE TABLE runs (
	id          ` + integer + ` PRIMARY KEY,
	series      ` + integer + ` NOT NULL,
	start_ns    ` + integer + ` NOT NULL,
	duration_ns ` + integer + ` NOT NULL,
	run_id      TEXT NOT NULL,
	steps       ` + blob + ` NOT NULL
)`,
		rollupTableSQLV3("rollup_minute", integer, data) + suffix,
		rollupTableSQLV3("rollup_hour", integer, data) + suffix,
	}
}

// v3Post drops the version 2 tables once migrateV3 has copied them.
var v3Post = []string{
	`DROP TABLE runs_v2`,
	`DROP TABLE steps`,
	`DROP TABLE rollup_minute_v2`,
	`DROP TABLE rollup_hour_v2`,
	`CREATE INDEX runs_series_start ON runs (series, start_ns)`,
}

func rollupTableSQLV3(name, integer, data string) string {
	return `CREATE TABLE ` + name + ` (
	bucket_ns ` + integer + ` NOT NULL,
	series    ` + integer + ` NOT NULL,
	runs      ` + integer + ` NOT NULL,
	first_ns  ` + integer + ` NOT NULL,
	last_ns   ` + integer + ` NOT NULL,
	data      ` + data + ` NOT NULL,
	PRIMARY KEY (bucket_ns, series)
)`
}

func rollupTableSQL(name, integer, hist string) string {
	return `CREATE TABLE ` + name + ` (
	bucket_ns INTEGER NOT NULL,
	series    ` + integer + ` NOT NULL,
	step      ` + integer + ` NOT NULL,
	ok        ` + integer + ` NOT NULL,
	failed    ` + integer + ` NOT NULL,
	degraded  ` + integer + ` NOT NULL,
	not_run   ` + integer + ` NOT NULL,
	sum_ns    ` + integer + ` NOT NULL,
	first_ns  ` + integer + ` NOT NULL,
	last_ns   ` + integer + ` NOT NULL,
	hist      ` + hist + ` NOT NULL,
	PRIMARY KEY (bucket_ns, series, step)
)`
}

func sqliteDialect() *dialect {
	return &dialect{
		name:       "sqlite",
		migrations: sqliteMigrations,
		least:      "min",
		greatest:   "max",
		histParam:  func(h sparse) any { return encodeBlob(h) },
		histScan: func(src any) (sparse, error) {
			b, _ := src.([]byte)
			return decodeBlob(b)
		},
		statsParam: func(ss []stat) any { return encodeStats(ss) },
		statsScan: func(src any) ([]stat, error) {
			b, _ := src.([]byte)
			return decodeStats(b)
		},
		allocIDs: func(ctx context.Context, tx *sqlx.Tx, n int) ([]int64, error) {
			// The transaction is BEGIN IMMEDIATE: no other writer can take
			// ids between this read and the insert.
			var max sql.NullInt64
			if err := tx.QueryRowxContext(ctx, `SELECT MAX(id) FROM runs`).Scan(&max); err != nil {
				return nil, err
			}
			ids := make([]int64, n)
			for i := range ids {
				ids[i] = max.Int64 + 1 + int64(i)
			}
			return ids, nil
		},
	}
}

// OpenSQLite opens (creating if needed) the database file at path and
// migrates its schema to the latest version.
func OpenSQLite(ctx context.Context, path string, opts Options) (*SQLite, error) {
	return openSQLite(ctx, path, opts, -1)
}

// openSQLite migrates only up to version upTo (for migration tests).
func openSQLite(ctx context.Context, path string, opts Options, upTo int) (*SQLite, error) {
	opts = opts.withDefaults()
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("store: sqlite path %q: want a plain file path (no \"?\", \"#\", \":memory:\" or file: URI)", path)
	}
	// A driver of our own carries the hist_add function, so that nothing is
	// registered process-wide.
	drv := &sqlite.Driver{}
	if err := drv.RegisterDeterministicScalarFunction("slaprobe_hist_add", 2, sqliteHistAdd); err != nil {
		return nil, fmt.Errorf("store: register hist_add: %w", err)
	}
	if err := drv.RegisterDeterministicScalarFunction("slaprobe_rollup_add", 2, sqliteRollupAdd); err != nil {
		return nil, fmt.Errorf("store: register rollup_add: %w", err)
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", opts.BusyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "cache_size(-32768)")
	q.Add("_pragma", "temp_store(MEMORY)")
	wq := url.Values{}
	for k, v := range q {
		wq[k] = v
	}
	wq.Set("_txlock", "immediate")
	// Checkpoint the WAL every 16 MiB (SQLite's default: 4 MiB) on the
	// writer: fewer, larger checkpoints copy a hot page (the current hour's
	// rollups, the index's right edge) once instead of several times.
	wq.Add("_pragma", "wal_autocheckpoint(4096)")
	w := sqlx.NewDb(sql.OpenDB(connector{drv: drv, dsn: path + "?" + wq.Encode()}), "sqlite")
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	c := newCore(w, nil, sqliteDialect(), opts.Logger)
	if err := c.migrate(ctx, upTo); err != nil {
		w.Close()
		return nil, err
	}
	rq := url.Values{}
	for k, v := range q {
		if k == "_pragma" {
			for _, p := range v {
				if !strings.HasPrefix(p, "journal_mode") {
					rq.Add(k, p)
				}
			}
		}
	}
	rq.Add("_pragma", "query_only(1)")
	r := sqlx.NewDb(sql.OpenDB(connector{drv: drv, dsn: path + "?" + rq.Encode()}), "sqlite")
	r.SetMaxOpenConns(opts.ReadConns)
	r.SetMaxIdleConns(opts.ReadConns)
	c.r = r
	if upTo < 0 {
		if err := c.prepareAll(ctx); err != nil {
			c.close()
			return nil, err
		}
	}
	return &SQLite{core: c, path: path}, nil
}

// Close implements Store: it optimises the query planner's statistics and
// closes both pools (the last close checkpoints the WAL).
func (s *SQLite) Close() error {
	s.mu.Lock()
	if !s.closed {
		s.w.Exec(`PRAGMA optimize`) //nolint:errcheck // advisory
	}
	s.mu.Unlock()
	return s.close()
}

// IntegrityCheck runs PRAGMA integrity_check and returns an error unless the
// database reports "ok".
func (s *SQLite) IntegrityCheck(ctx context.Context) error {
	var res []string
	if err := s.r.SelectContext(ctx, &res, `PRAGMA integrity_check`); err != nil {
		return fmt.Errorf("store: integrity check: %w", err)
	}
	if len(res) != 1 || res[0] != "ok" {
		return fmt.Errorf("store: integrity check of %s: %s", s.path, strings.Join(res, "; "))
	}
	return nil
}

// connector opens connections through one sqlite.Driver.
type connector struct {
	drv *sqlite.Driver
	dsn string
}

func (c connector) Connect(context.Context) (driver.Conn, error) { return c.drv.Open(c.dsn) }
func (c connector) Driver() driver.Driver                        { return c.drv }

// sqliteHistAdd is slaprobe_hist_add(a, b): the sum of two histogram blobs.
func sqliteHistAdd(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	a, _ := args[0].([]byte)
	b, _ := args[1].([]byte)
	ha, err := decodeBlob(a)
	if err != nil {
		return nil, err
	}
	hb, err := decodeBlob(b)
	if err != nil {
		return nil, err
	}
	return encodeBlob(merge(ha, hb)), nil
}

// sqliteRollupAdd is slaprobe_rollup_add(a, b): the sum of two rollup data
// blobs.
func sqliteRollupAdd(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	a, _ := args[0].([]byte)
	b, _ := args[1].([]byte)
	sa, err := decodeStats(a)
	if err != nil {
		return nil, err
	}
	sb, err := decodeStats(b)
	if err != nil {
		return nil, err
	}
	return encodeStats(mergeStats(sa, sb)), nil
}
