package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"modernc.org/sqlite"

	"github.com/slaprobe/slaprobe/probe"
)

// The numbered schema migrations of both databases, and the Go code of the
// frozen ones. A migration, once released, never changes: a database at
// version N was made by exactly these steps. To change the schema, append a
// migration with the next version to BOTH lists (sqliteMigrations and
// postgresMigrations); TestMigrations checks that a database migrated from
// every older version equals a fresh one. Go code a migration needs (a
// backfill) lives here too, with its own copies of whatever SQL or encoding
// it depends on, so that the live code (write.go, stmts.go, the dialects)
// can change without changing what an old migration does.

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
	{version: 5, stmts: v5Stmts("INTEGER", " WITHOUT ROWID")},
	{version: 6, stmts: v6Stmts("INTEGER")},
	// 7 changes PostgreSQL's rollup data to SQLite's blob, and (both)
	// replaces events_start and events_location by events_window.
	{version: 7, stmts: v7Events},
	{version: 8, stmts: v8Stmts("INTEGER", "INTEGER")},
	{version: 9, stmts: v9Stmts},
	{version: 10, stmts: v10Stmts},
	{version: 11, stmts: v11Stmts("INTEGER")},
	{version: 12, stmts: v12Stmts("INTEGER")},
	// 13: runs' steps blobs may be in format 3 (probe.StepResult.Ended,
	// codec.go); no SQL, but a slaprobe of version 12 cannot read them, and
	// must say the store is newer rather than that its blobs are corrupt.
	{version: 13},
	{version: 14, stmts: v14Stmts},
	{version: 15, stmts: v15Stmts("INTEGER")},
	{version: 16, stmts: v16Stmts("INTEGER")},
}

// v16Stmts give each rollup row the interval of its last run
// (last_interval_ms, from runs.interval_ms, at last_ns; of two runs at
// once, the longer; NULL where it is not known), so that Coverage, which
// reads rollups, says per span the interval its last run had
// (Span.LastInterval): a report made as of now reads the last run of
// exactly the locations that stopped by it (no run for more than two of
// it) without reading every location's last run at every build. It
// merges in any order as last_ns does (late and spooled runs, SQLite's
// upsert, PostgreSQL's merge in Go, the daemon's kept coverage): the
// later run's, the longer of two at once. Nullable, without a default:
// added without rewriting the tables; the rows rolled up before have none
// (the config's interval picks, as before).
func v16Stmts(integer string) []string {
	return []string{
		`ALTER TABLE rollup_minute ADD COLUMN last_interval_ms ` + integer,
		`ALTER TABLE rollup_hour ADD COLUMN last_interval_ms ` + integer,
	}
}

// v15Stmts give each run the interval its flow had when it was made
// (probe.Run.Interval, in milliseconds), so that a report judges the
// stretch after a prober's last run by it, not by a reload's since: NULL
// for the runs stored before (not known: the config's judges them). A
// column of the runs, not a table of each series' interval changes: it is
// written with the run it belongs to, so that a late or spooled run (out of
// order) and pruning need nothing more, and read with the run the report
// reads anyway (the last one before the period's end). Nullable and
// without a default, the column is added without rewriting the table (both
// databases), and a NULL costs SQLite one byte of the row's header.
func v15Stmts(integer string) []string {
	return []string{`ALTER TABLE runs ADD COLUMN interval_ms ` + integer}
}

// v14Stmts give each report version the digest of its canonical figures
// (ReportVersion.Canon), beside the digest of its whole report: empty for
// the versions made before, until the publisher finds one unchanged and
// records it (SetReportCanon). A prober of version 13 or older, whose
// publisher compares whole reports, is refused the database (a newer
// schema: it does not start, and one running has its writes refused) and so
// cannot make a version of a month a newer prober made only because its
// report is worded otherwise.
var v14Stmts = []string{`ALTER TABLE report_versions ADD COLUMN canon TEXT NOT NULL DEFAULT ''`}

// v12Stmts add the ends of the runs that bound how much later a window's
// edges may really have been (state.Window.FirstInEnd: the end of the run
// that started at its start, on the open and close rows; FirstAfterEnd: the
// end of the run that started at its end, on the close row), 0 when not
// known, and fill them in from the runs still stored (one index lookup per
// event and edge, as v11Stmts). A window whose run was already pruned keeps
// 0 (not known), as does an end no run made (an unknown stretch began
// there: no run started at it).
func v12Stmts(integer string) []string {
	fill := func(col, at string) string {
		return `UPDATE events SET ` + col + ` = COALESCE((
	SELECT MAX(r.start_ns + r.duration_ns) FROM series s JOIN runs r ON r.series = s.id
	WHERE s.flow = events.flow AND s.location = events.location AND s.service = events.service AND r.start_ns = events.` + at + `
), 0)`
	}
	return []string{
		`ALTER TABLE events ADD COLUMN first_in_end_ns ` + integer + ` NOT NULL DEFAULT 0`,
		`ALTER TABLE events ADD COLUMN first_after_end_ns ` + integer + ` NOT NULL DEFAULT 0`,
		fill("first_in_end_ns", "start_ns") + ` WHERE op IN ('open', 'close') AND kind <> 'unknown'`,
		fill("first_after_end_ns", "end_ns") + ` WHERE op = 'close' AND kind <> 'unknown' AND end_ns <> 0`,
	}
}

// v11Stmts add when a window's confirmation was known (state.Window.Known:
// the end of the run that confirmed it) to its open and close events, 0 when
// not known, and fill it in from the confirming runs still stored (one index
// lookup per event, through series' unique key and runs_series_start). The
// windows of runs already pruned keep 0: a report reads their confirmation
// (the run's start) instead.
func v11Stmts(integer string) []string {
	return []string{
		`ALTER TABLE events ADD COLUMN known_ns ` + integer + ` NOT NULL DEFAULT 0`,
		`UPDATE events SET known_ns = COALESCE((
	SELECT MAX(r.start_ns + r.duration_ns) FROM series s JOIN runs r ON r.series = s.id
	WHERE s.flow = events.flow AND s.location = events.location AND s.service = events.service AND r.start_ns = events.confirmed_ns
), 0) WHERE op IN ('open', 'close') AND kind <> 'unknown'`,
	}
}

// v10Stmts rename deliveries to report_deliveries: a prober of version 9
// or older still running after this migration (its writes refused, a newer
// schema) read the pending deliveries, sent each one, could not record it,
// and sent it again at its next poll, every second; its reads now fail, and
// it sends nothing.
var v10Stmts = []string{`ALTER TABLE deliveries RENAME TO report_deliveries`}

// v9Stmts give the monthly report publisher one holder per database
// (publisher_lease: its one row names the prober, by location, that makes
// and delivers the report versions; beat counts its renewals, so that
// another prober can tell a holder that stopped renewing without comparing
// clocks), and each report version its maker (the location of the prober
// that made it) and figures (what its archive's figures.json holds, so
// that a prober that takes the role over can say what changed without the
// maker's archive); both empty for versions made before.
var v9Stmts = []string{
	`CREATE TABLE publisher_lease (
	id         INTEGER PRIMARY KEY CHECK (id = 1),
	holder     TEXT NOT NULL,
	beat       BIGINT NOT NULL,
	since_ns   BIGINT NOT NULL,
	renewed_ns BIGINT NOT NULL
)`,
	`INSERT INTO publisher_lease (id, holder, beat, since_ns, renewed_ns) VALUES (1, '', 0, 0, 0)`,
	`ALTER TABLE report_versions ADD COLUMN maker TEXT NOT NULL DEFAULT ''`,
	`ALTER TABLE report_versions ADD COLUMN figures TEXT NOT NULL DEFAULT ''`,
}

// v8Stmts count confirm runs apart (probe.Run.Confirm): runs.confirm marks
// one (1; 0 a scheduled run), and each rollup row's confirm_runs counts its
// confirm runs, which its runs and data leave out (first_ns and last_ns
// still take them in: they are runs, for coverage). Rows written before
// are scheduled runs.
func v8Stmts(small, integer string) []string {
	return []string{
		`ALTER TABLE runs ADD COLUMN confirm ` + small + ` NOT NULL DEFAULT 0`,
		`ALTER TABLE rollup_minute ADD COLUMN confirm_runs ` + integer + ` NOT NULL DEFAULT 0`,
		`ALTER TABLE rollup_hour ADD COLUMN confirm_runs ` + integer + ` NOT NULL DEFAULT 0`,
	}
}

// v7Events replace events_start (start_ns) by events_window (start_ns,
// flow, location): the same range scans for Windows, and the index that
// settling a window's events finds them by (with events_start alone, SQLite
// chose events_location for them, and a year of events made every events
// commit search all of a location's events). events_location (location,
// end_ns) goes too: OpenWindows finds the few open events through
// events_end (end_ns 0).
var v7Events = []string{
	`DROP INDEX events_start`,
	`DROP INDEX events_location`,
	`CREATE INDEX events_window ON events (start_ns, flow, location)`,
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

// v5Stmts make history cheap to keep and to prune:
//   - runs_start (start_ns) lets Prune and the edges of Totals and Coverage
//     find runs by time alone;
//   - runs_series_start becomes UNIQUE (series, start_ns, run_id), so that a
//     batch committed twice (a commit reported failed that happened) is
//     stored once: AppendRuns inserts with ON CONFLICT DO NOTHING and folds
//     only what it inserted into the rollups. Duplicates already stored are
//     deleted first (their rollups stay counted twice);
//   - an open event's end_ns is set to its window's end once the close event
//     is stored ("settled"), so that events with end_ns 0 are exactly the
//     open windows, found through events_end (end_ns), which Prune also uses;
//   - store_meta keeps the longest closed window (max_window_ns), which
//     bounds how far before a range Windows must look, and what Prune has
//     deleted (Horizon).
func v5Stmts(integer, suffix string) []string {
	return []string{
		`CREATE INDEX runs_start ON runs (start_ns)`,
		`DELETE FROM runs WHERE EXISTS (SELECT 1 FROM runs d
	WHERE d.series = runs.series AND d.start_ns = runs.start_ns AND d.run_id = runs.run_id AND d.id < runs.id)`,
		`DROP INDEX runs_series_start`,
		`CREATE UNIQUE INDEX runs_series_start ON runs (series, start_ns, run_id)`,
		`CREATE INDEX events_end ON events (end_ns)`,
		// (One join of the open events with their windows' ends: a lookup
		// per open event went through events_location in SQLite and read
		// every event of the location each time.)
		`UPDATE events SET end_ns = c.end_ns FROM (
	SELECT kind, service, flow, function, location, start_ns, MAX(end_ns) AS end_ns FROM events WHERE op = 'close'
	GROUP BY kind, service, flow, function, location, start_ns
) AS c
WHERE events.op = 'open' AND events.end_ns = 0 AND c.start_ns = events.start_ns AND c.kind = events.kind
	AND c.service = events.service AND c.flow = events.flow AND c.function = events.function AND c.location = events.location`,
		`CREATE TABLE store_meta (
	name  TEXT PRIMARY KEY,
	value ` + integer + ` NOT NULL
)` + suffix,
		`INSERT INTO store_meta (name, value)
SELECT 'max_window_ns', COALESCE(MAX(end_ns - start_ns), 0) FROM events WHERE op = 'close'`,
	}
}

// v6Stmts add the runs that bound a window's edges (state.Window.LastBefore
// and LastIn; 0 when unknown) to the events. Version 6 also stores 'cause'
// events (state.OpCause: one row per change of an open window's cause, the
// time it began in confirmed_ns), which need no schema change.
func v6Stmts(integer string) []string {
	return []string{
		`ALTER TABLE events ADD COLUMN last_before_ns ` + integer + ` NOT NULL DEFAULT 0`,
		`ALTER TABLE events ADD COLUMN last_in_ns ` + integer + ` NOT NULL DEFAULT 0`,
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

var postgresMigrations = []migration{
	{version: 1, stmts: []string{
		`CREATE TABLE series (
	id       BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	service  TEXT NOT NULL,
	flow     TEXT NOT NULL,
	location TEXT NOT NULL,
	UNIQUE (flow, location, service)
)`,
		`CREATE TABLE step_names (
	id       BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	step     TEXT NOT NULL,
	function TEXT NOT NULL,
	UNIQUE (step, function)
)`,
		`CREATE SEQUENCE runs_id_seq`,
		`CREATE TABLE runs (
	id          BIGINT PRIMARY KEY,
	series      BIGINT NOT NULL,
	start_ns    BIGINT NOT NULL,
	duration_ns BIGINT NOT NULL,
	run_id      TEXT NOT NULL
)`,
		`CREATE INDEX runs_series_start ON runs (series, start_ns)`,
		`CREATE TABLE steps (
	run           BIGINT NOT NULL,
	idx           INTEGER NOT NULL,
	name          BIGINT NOT NULL,
	status        SMALLINT NOT NULL,
	http_status   INTEGER NOT NULL,
	duration_ns   BIGINT NOT NULL,
	resolve_ns    BIGINT NOT NULL,
	connect_ns    BIGINT NOT NULL,
	tls_ns        BIGINT NOT NULL,
	processing_ns BIGINT NOT NULL,
	transfer_ns   BIGINT NOT NULL,
	attempts      INTEGER NOT NULL,
	error         TEXT NOT NULL,
	PRIMARY KEY (run, idx)
)`,
		`CREATE TABLE events (
	id           BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	op           TEXT NOT NULL,
	kind         TEXT NOT NULL,
	service      TEXT NOT NULL,
	flow         TEXT NOT NULL,
	function     TEXT NOT NULL,
	location     TEXT NOT NULL,
	start_ns     BIGINT NOT NULL,
	end_ns       BIGINT NOT NULL,
	confirmed_ns BIGINT NOT NULL,
	cause_step   TEXT NOT NULL,
	error        TEXT NOT NULL
)`,
		`CREATE INDEX events_start ON events (start_ns)`,
	}},
	{version: 2, stmts: []string{
		`CREATE OR REPLACE FUNCTION slaprobe_hist_add(a BIGINT[], b BIGINT[]) RETURNS BIGINT[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT COALESCE(array_agg(COALESCE(x, 0) + COALESCE(y, 0) ORDER BY i), '{}')
	FROM unnest(a, b) WITH ORDINALITY AS t(x, y, i)
$$`,
		strings.Replace(rollupTableSQL("rollup_minute", "BIGINT", "BIGINT[]"), "bucket_ns INTEGER", "bucket_ns BIGINT", 1),
		strings.Replace(rollupTableSQL("rollup_hour", "BIGINT", "BIGINT[]"), "bucket_ns INTEGER", "bucket_ns BIGINT", 1),
		`CREATE INDEX events_location ON events (location, end_ns)`,
	}, backfill: backfillRollups},
	{version: 3, stmts: append([]string{
		// Lock first: renaming an index after the transaction has taken an
		// id can deadlock with autovacuum, whose stats update of that index
		// waits on it while it holds the table ALTER TABLE wants. A waiting
		// LOCK makes PostgreSQL cancel autovacuum instead.
		`LOCK TABLE runs, steps, rollup_minute, rollup_hour IN ACCESS EXCLUSIVE MODE`,
		`CREATE OR REPLACE FUNCTION slaprobe_rollup_add(a JSONB, b JSONB) RETURNS JSONB
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT COALESCE(jsonb_object_agg(k, v), '{}'::jsonb) FROM (
		SELECT k, jsonb_agg(s ORDER BY i) AS v FROM (
			SELECT e.key AS k, x.i, SUM(x.val::numeric) AS s
			FROM (SELECT * FROM jsonb_each(a) UNION ALL SELECT * FROM jsonb_each(b)) AS e,
				jsonb_array_elements_text(e.value) WITH ORDINALITY AS x(val, i)
			GROUP BY e.key, x.i
		) AS t GROUP BY k
	) AS u
$$`,
		// The renamed tables keep their primary key indexes' names.
		`ALTER INDEX runs_pkey RENAME TO runs_v2_pkey`,
		`ALTER INDEX rollup_minute_pkey RENAME TO rollup_minute_v2_pkey`,
		`ALTER INDEX rollup_hour_pkey RENAME TO rollup_hour_v2_pkey`,
	}, v3Stmts("BIGINT", "BYTEA", "JSONB", "")...), backfill: migrateV3, post: v3Post},
	{version: 4, stmts: reportsStmts("BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY")},
	{version: 5, stmts: append([]string{
		`LOCK TABLE runs, events IN ACCESS EXCLUSIVE MODE`,
	}, v5Stmts("BIGINT", "")...)},
	{version: 6, stmts: v6Stmts("BIGINT")},
	// Rollup data from JSONB (added in SQL by slaprobe_rollup_add) to the
	// encodeStats blob SQLite keeps (added in Go, see pgwrite.go): parsing
	// a JSONB of some hundred numbers per row was most of an ingest's time.
	{version: 7, stmts: []string{
		`LOCK TABLE rollup_minute, rollup_hour, events IN ACCESS EXCLUSIVE MODE`,
		`ALTER TABLE rollup_minute RENAME TO rollup_minute_v6`,
		`ALTER INDEX rollup_minute_pkey RENAME TO rollup_minute_v6_pkey`,
		`ALTER TABLE rollup_hour RENAME TO rollup_hour_v6`,
		`ALTER INDEX rollup_hour_pkey RENAME TO rollup_hour_v6_pkey`,
		rollupTableSQLV3("rollup_minute", "BIGINT", "BYTEA"),
		rollupTableSQLV3("rollup_hour", "BIGINT", "BYTEA"),
		v7Events[0], v7Events[1], v7Events[2],
	}, backfill: migrateRollupsV7, post: []string{
		`DROP TABLE rollup_minute_v6`,
		`DROP TABLE rollup_hour_v6`,
		`DROP FUNCTION slaprobe_rollup_add(JSONB, JSONB)`,
	}},
	{version: 8, stmts: append([]string{
		`LOCK TABLE runs, rollup_minute, rollup_hour IN ACCESS EXCLUSIVE MODE`,
	}, v8Stmts("SMALLINT", "BIGINT")...)},
	{version: 9, stmts: v9Stmts},
	{version: 10, stmts: v10Stmts},
	{version: 11, stmts: v11Stmts("BIGINT")},
	{version: 12, stmts: v12Stmts("BIGINT")},
	// 13: runs' steps blobs may be in format 3 (probe.StepResult.Ended,
	// codec.go); no SQL, but a slaprobe of version 12 cannot read them, and
	// must say the store is newer rather than that its blobs are corrupt.
	{version: 13},
	{version: 14, stmts: v14Stmts},
	{version: 15, stmts: v15Stmts("BIGINT")},
	{version: 16, stmts: v16Stmts("BIGINT")},
}

// Frozen Go code of migrations 2 and 3.

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
				args = append(args, k.bucket, k.series, s.name, s.ok, s.failed, s.degraded, s.notRun, s.sum, v.first, v.last, v2HistParam(c.d, s.hist))
			}
		}
		if _, err := c.insertRows(ctx, tx, c.rollupSpecV2(g.table), args); err != nil {
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
	spec := insertSpec{head: "INSERT INTO runs (id, series, start_ns, duration_ns, run_id, steps)", cols: 6}
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
		if _, err := c.insertRows(ctx, tx, spec, args); err != nil {
			return err
		}
		after = hi.Int64
	}
}

// migrateRollupsV3 folds the rows of table_v2 into table, a few thousand
// buckets' worth at a time.
func migrateRollupsV3(ctx context.Context, c *core, tx *sqlx.Tx, table string) error {
	const chunk = 20000
	spec := rollupSpecV3(c.d, table)
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
				args = append(args, key.bucket, key.series, v.runs(), v.first, v.last, v3StatsParam(c.d, v.stats))
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
			if s.hist, scanErr = v2HistScan(c.d, hist); scanErr != nil {
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
		if _, err := c.insertRows(ctx, tx, spec, args); err != nil {
			return err
		}
		if !cut.Valid || n == 0 {
			return nil
		}
		after = to
	}
}

// rollupSpecV2 is the upsert of a version 2 rollup table.
func (c *core) rollupSpecV2(t string) insertSpec {
	tail := fmt.Sprintf(` ON CONFLICT (bucket_ns, series, step) DO UPDATE SET
ok = %[1]s.ok + excluded.ok, failed = %[1]s.failed + excluded.failed,
degraded = %[1]s.degraded + excluded.degraded, not_run = %[1]s.not_run + excluded.not_run,
sum_ns = %[1]s.sum_ns + excluded.sum_ns,
first_ns = %[2]s(%[1]s.first_ns, excluded.first_ns), last_ns = %[3]s(%[1]s.last_ns, excluded.last_ns),
hist = slaprobe_hist_add(%[1]s.hist, excluded.hist)`, t, c.d.least, c.d.greatest)
	return insertSpec{head: "INSERT INTO " + t + " (bucket_ns, series, step, ok, failed, degraded, not_run, sum_ns, first_ns, last_ns, hist)", tail: tail, cols: 11}
}

// rollupSpecV3 is the upsert of a version 3 rollup table (as migration 3
// wrote it; the live one is in stmts.go).
func rollupSpecV3(d *dialect, t string) insertSpec {
	tail := fmt.Sprintf(` ON CONFLICT (bucket_ns, series) DO UPDATE SET
runs = %[1]s.runs + excluded.runs,
first_ns = %[2]s(%[1]s.first_ns, excluded.first_ns), last_ns = %[3]s(%[1]s.last_ns, excluded.last_ns),
data = slaprobe_rollup_add(%[1]s.data, excluded.data)`, t, d.least, d.greatest)
	return insertSpec{head: "INSERT INTO " + t + " (bucket_ns, series, runs, first_ns, last_ns, data)", tail: tail, cols: 6}
}

// v2HistParam turns a histogram into the value bound for a version 2 hist
// column: a blob (encodeBlob) in SQLite, a BIGINT[] in PostgreSQL.
func v2HistParam(d *dialect, h sparse) any {
	if d.name == "sqlite" {
		return encodeBlob(h)
	}
	if len(h) == 0 {
		return []int64{}
	}
	return h.dense(h[len(h)-1].idx + 1)
}

// v2HistScan reads a version 2 hist column.
func v2HistScan(d *dialect, src any) (sparse, error) {
	if d.name == "sqlite" {
		b, _ := src.([]byte)
		return decodeBlob(b)
	}
	switch v := src.(type) {
	case string:
		return decodeArray(v)
	case []byte:
		return decodeArray(string(v))
	case nil:
		return nil, nil
	}
	return nil, fmt.Errorf("%w: unexpected %T", errHist, src)
}

// histFormat is the first byte of an encoded histogram blob.
const histFormat = 1

// errHist reports a histogram blob that cannot be decoded.
var errHist = errors.New("store: corrupt histogram")

// encodeBlob is the SQLite form: a format byte, then for each non-empty slot
// the uvarint distance from the previous slot (from -1 for the first, so it
// is always >= 1) and the uvarint count. A one-sample histogram takes 3 bytes.
func encodeBlob(h sparse) []byte {
	out := make([]byte, 1, 1+4*len(h))
	out[0] = histFormat
	prev := -1
	for _, b := range h {
		out = binary.AppendUvarint(out, uint64(b.idx-prev))
		out = binary.AppendUvarint(out, uint64(b.count))
		prev = b.idx
	}
	return out
}

// decodeBlob parses encodeBlob's output. An empty or nil blob is an empty
// histogram.
func decodeBlob(p []byte) (sparse, error) {
	if len(p) == 0 {
		return nil, nil
	}
	if p[0] != histFormat {
		return nil, fmt.Errorf("%w: format %d", errHist, p[0])
	}
	p = p[1:]
	var h sparse
	prev := -1
	for len(p) > 0 {
		d, n := binary.Uvarint(p)
		if n <= 0 || d == 0 || d > maxHistSlots {
			return nil, errHist
		}
		p = p[n:]
		c, n := binary.Uvarint(p)
		if n <= 0 || c > 1<<62 {
			return nil, errHist
		}
		p = p[n:]
		prev += int(d)
		if prev >= maxHistSlots {
			return nil, errHist
		}
		h = append(h, bin{idx: prev, count: int64(c)})
	}
	return h, nil
}

// encodeArray is the PostgreSQL form: a BIGINT[] literal of the dense
// histogram without its trailing zeros, so that hist_add can sum two arrays
// element by element in SQL.
func encodeArray(h sparse) string {
	var sb strings.Builder
	sb.WriteByte('{')
	next := 0
	for k, b := range h {
		for ; next < b.idx; next++ {
			sb.WriteString("0,")
		}
		sb.WriteString(strconv.FormatInt(b.count, 10))
		if k < len(h)-1 {
			sb.WriteByte(',')
		}
		next = b.idx + 1
	}
	sb.WriteByte('}')
	return sb.String()
}

// decodeArray parses a BIGINT[] in PostgreSQL's text form ("{1,0,3}").
func decodeArray(s string) (sparse, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "{}" {
		return nil, nil
	}
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		return nil, fmt.Errorf("%w: %.20q", errHist, s)
	}
	var h sparse
	for i, f := range strings.Split(s[1:len(s)-1], ",") {
		if i >= maxHistSlots {
			return nil, errHist
		}
		if f == "NULL" {
			continue
		}
		c, err := strconv.ParseInt(f, 10, 64)
		if err != nil || c < 0 {
			return nil, fmt.Errorf("%w: %.20q", errHist, f)
		}
		if c > 0 {
			h = append(h, bin{idx: i, count: c})
		}
	}
	return h, nil
}

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

// v3StatsParam is a version 3 rollup data value: the encodeStats blob in
// SQLite, the encodeStatsJSON object in PostgreSQL (until migration 7).
func v3StatsParam(d *dialect, ss []stat) any {
	if d.name == "sqlite" {
		return encodeStats(ss)
	}
	return encodeStatsJSON(ss)
}

// migrateRollupsV7 copies PostgreSQL's version 6 rollup tables (*_v6, data
// JSONB) into the version 7 ones (data: the encodeStats blob), a few
// thousand rows at a time in key order.
func migrateRollupsV7(ctx context.Context, c *core, tx *sqlx.Tx) error {
	for _, table := range []string{"rollup_minute", "rollup_hour"} {
		const chunk = 10000
		after := rkey{bucket: math.MinInt64, series: math.MinInt64}
		for {
			rows, err := tx.QueryContext(ctx, `SELECT bucket_ns, series, runs, first_ns, last_ns, data::text FROM `+table+`_v6
WHERE (bucket_ns, series) > ($1, $2) ORDER BY bucket_ns, series LIMIT $3`, after.bucket, after.series, chunk)
			if err != nil {
				return fmt.Errorf("%s: %w", table, err)
			}
			var b, s, n, f, l []int64
			var d [][]byte
			for rows.Next() {
				var k rkey
				var runs, first, last int64
				var data string
				if err := rows.Scan(&k.bucket, &k.series, &runs, &first, &last, &data); err != nil {
					rows.Close()
					return fmt.Errorf("%s: %w", table, err)
				}
				stats, err := decodeStatsJSON([]byte(data))
				if err != nil {
					rows.Close()
					return fmt.Errorf("%s bucket %d series %d: %w", table, k.bucket, k.series, err)
				}
				b, s, n, f, l, d = append(b, k.bucket), append(s, k.series), append(n, runs), append(f, first), append(l, last), append(d, encodeStats(stats))
				after = k
			}
			err = rows.Err()
			rows.Close()
			if err != nil {
				return fmt.Errorf("%s: %w", table, err)
			}
			if len(b) == 0 {
				break
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO `+table+` (bucket_ns, series, runs, first_ns, last_ns, data)
SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bytea[])`, b, s, n, f, l, d); err != nil {
				return fmt.Errorf("%s: %w", table, err)
			}
		}
	}
	return nil
}
