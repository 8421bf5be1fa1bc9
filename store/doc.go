// Package store keeps run results, rollups and state events: SQLite by
// default (modernc.org/sqlite, pure Go), PostgreSQL for fleets of probers, one
// Store interface and one contract test suite for both.
//
// # Writing
//
// The daemon never writes per result: it submits runs to a Writer, whose one
// goroutine commits them in batches (1000 runs or every 250 ms). AppendRuns
// writes a batch's runs, steps and rollups in one transaction; the rollups are
// pre-aggregated in memory per (bucket, series, step) first, so a batch
// upserts each rollup row once. Statements are multi-row INSERTs prepared
// once per chunk size (256, 128, ... 1 rows).
//
// SQLite runs in WAL mode with synchronous=NORMAL (a commit survives a crash
// of the process; a power loss may lose the last commits, never corrupt the
// file), a busy timeout, one write connection (BEGIN IMMEDIATE) and a
// separate pool of query-only read connections. Foreign keys are not
// declared: the store is the only writer and keeps the references itself,
// and enforcing them would cost a lookup per inserted row.
//
// # Schema (version 2)
//
// Times are unix nanoseconds (INTEGER/BIGINT), durations nanoseconds; 0 is
// "no time". Names are interned: a run row refers to its series, a step row
// to its step name.
//
//	schema_version (version PK, applied_ns)            one row per applied migration
//	series     (id PK, service, flow, location)         UNIQUE (flow, location, service)
//	step_names (id PK, step, function)                  UNIQUE (step, function)
//	runs       (id PK, series, start_ns, duration_ns, run_id)
//	           INDEX runs_series_start (series, start_ns): (flow, time) range scans, LastRuns
//	steps      (run, idx, name, status, http_status, duration_ns, resolve_ns,
//	            connect_ns, tls_ns, processing_ns, transfer_ns, attempts, error)
//	           PRIMARY KEY (run, idx), WITHOUT ROWID in SQLite
//	           status: 0 ok, 1 failed, 2 degraded, 3 not_run; error "" when none
//	events     (id PK, op, kind, service, flow, function, location, start_ns,
//	            end_ns, confirmed_ns, cause_step, error)
//	           INDEX events_start (start_ns), events_location (location, end_ns)
//	rollup_minute, rollup_hour
//	           (bucket_ns, series, step, ok, failed, degraded, not_run, sum_ns,
//	            first_ns, last_ns, hist) PRIMARY KEY (bucket_ns, series, step)
//	           step 0 is the run-level row (outcome and duration of whole runs)
//
// Run ids are allocated by the store: MAX(id)+1 under SQLite's write lock,
// a sequence (runs_id_seq) in PostgreSQL. Run ids grow with insertion, so
// Prune deletes the oldest runs as one id range, in small transactions,
// leaving rollups and events alone.
//
// Rollups count outcomes per bucket; first_ns and last_ns are the first and
// last run start in the bucket, which Coverage reads (hour rows for whole
// hours, minute rows at the edges). The latency histogram uses the slots of
// LatencyBounds; not-run steps have no duration and are not in it, failed
// ones are (users waited for them). In SQLite it is a BLOB: a format byte (1),
// then for each non-empty slot the uvarint distance from the previous slot
// and the uvarint count. Most minute rows hold one or two samples, so this is
// 3-5 bytes where a JSON array would be 20+ and a dense one ~100 varints; the
// upsert adds two blobs with slaprobe_hist_add, a function registered on the
// store's own driver instance (nothing process-wide). In PostgreSQL it is a
// BIGINT[] (dense, trailing zeros trimmed) added by the SQL function
// slaprobe_hist_add created by migration 2, so that concurrent probers'
// upserts add atomically.
//
// Windows are not stored as such: events are, and Windows rebuilds them by
// grouping events on (kind, key, start): the close event, if any, gives the
// end. Unknown windows are stored as close events only.
//
// # Migrations
//
// Each migration is a numbered list of SQL statements (plus an optional Go
// backfill) applied in one transaction with its schema_version row:
// 1 creates the base tables; 2 adds the rollup tables and the events location
// index and backfills the rollups from the runs already stored. A database
// newer than the binary is refused.
package store
