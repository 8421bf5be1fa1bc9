// Package store keeps run results, rollups and state events: SQLite by
// default (modernc.org/sqlite, pure Go), PostgreSQL for fleets of probers, one
// Store interface and one contract test suite for both.
//
// # Writing
//
// The daemon never writes per result: it submits runs to a Writer, whose one
// goroutine commits them in batches (1000 runs or every 250 ms). AppendRuns
// writes a batch's runs (each with its steps in one blob) and rollups in one
// transaction; the rollups are pre-aggregated in memory per (bucket, series)
// first, so a batch upserts each rollup row once. A batch of 1000 runs writes
// about 2,100 rows (runs, one minute row per flow and minute, hour rows), not
// the 9,000 of version 2's row per step and per step rollup. Statements are
// multi-row INSERTs prepared once per chunk size (512, 256, ... 1 rows).
//
// SQLite runs in WAL mode with synchronous=NORMAL (a commit survives a crash
// of the process; a power loss may lose the last commits, never corrupt the
// file), a busy timeout, one write connection (BEGIN IMMEDIATE) and a
// separate pool of query-only read connections. Foreign keys are not
// declared: the store is the only writer and keeps the references itself,
// and enforcing them would cost a lookup per inserted row.
//
// # Schema (version 12)
//
// Times are unix nanoseconds (INTEGER/BIGINT), durations nanoseconds; 0 is
// "no time". Names are interned: a run row refers to its series, its steps
// to their step names.
//
//	schema_version (version PK, applied_ns)            one row per applied migration
//	series     (id PK, service, flow, location)         UNIQUE (flow, location, service)
//	step_names (id PK, step, function)                  UNIQUE (step, function)
//	runs       (id PK, series, start_ns, duration_ns, run_id, steps, confirm,
//	            interval_ms)
//	           confirm: 1 for a confirm run (probe.Run.Confirm), 0 scheduled;
//	           interval_ms: probe.Run.Interval, NULL when not known (v15)
//	           UNIQUE INDEX runs_series_start (series, start_ns, run_id): (flow,
//	           time) range scans, LastRuns, and a run stored once however
//	           often its batch is committed (ON CONFLICT DO NOTHING)
//	           INDEX runs_start (start_ns): Prune, the raw edges of Totals/Coverage
//	           steps: BLOB/BYTEA, see below
//	events     (id PK, op, kind, service, flow, function, location, start_ns,
//	            end_ns, confirmed_ns, cause_step, error, last_before_ns,
//	            last_in_ns, known_ns, first_in_end_ns, first_after_end_ns)
//	           INDEX events_window (start_ns, flow, location), events_end (end_ns)
//	rollup_minute, rollup_hour
//	           (bucket_ns, series, runs, first_ns, last_ns, data, confirm_runs,
//	            last_interval_ms)
//	           runs and data count scheduled runs, confirm_runs the confirm
//	           runs; first_ns and last_ns are the first and last of either;
//	           last_interval_ms the interval_ms of the run at last_ns (the
//	           longer of two), NULL when not known (v16: Span.LastInterval)
//	           PRIMARY KEY (bucket_ns, series), WITHOUT ROWID in SQLite
//	store_meta (name PK, value): max_window_ns, the longest closed window;
//	           runs_from_ns, minute_from_ns, hour_from_ns: what Prune has
//	           deleted (Horizon); reports_began_ns: the first claim that
//	           took the publisher lease (Lease.Began)
//
// A run's steps blob is a format byte (1), the uvarint step count, then per
// step the uvarint step name id, a status byte (0 ok, 1 failed, 2 degraded,
// 3 not_run), the zigzag varints http status, duration, resolve, connect,
// tls, processing and transfer times and attempts, and the uvarint length of
// the error and its bytes: about 25 bytes a step, in both databases.
//
// A rollup row holds every step of one flow at one location over one bucket:
// runs counts its runs, data holds one entry per step name id (0 is the
// run-level entry: outcome and duration of whole runs) with the ok, failed,
// degraded and not_run counts, the sum of durations and the latency
// histogram; Rollups expands it into one Rollup per entry.
//
// Rollups count outcomes per bucket; first_ns and last_ns are the first and
// last run start in the bucket, which Coverage reads with runs (hour rows for
// whole hours, minute rows at the edges). The latency histogram uses the
// slots of LatencyBounds; not-run steps have no duration and are not in it,
// failed ones are (users waited for them). data is a BLOB/BYTEA: a format
// byte (2), then per entry, in name order, the uvarint distance from the
// previous name id (from -1), the uvarint counts, the varint sum, the uvarint
// number of non-empty histogram slots and for each the uvarint distance from
// the previous slot and the uvarint count. In SQLite the upsert adds two
// blobs with slaprobe_rollup_add, a function registered on the store's own
// driver instance (nothing process-wide). In PostgreSQL (pgwrite.go) a
// batch's new rows are inserted and the rows already there locked (FOR
// UPDATE), read, added to in Go and written back, so that concurrent
// probers' writes add up; each table's rows go as one INSERT of unnest()ed
// arrays. (Before migration 7 PostgreSQL kept a JSONB object added by an SQL
// function, and parsing it was most of an ingest's time.)
//
// Run ids are allocated by the store: MAX(id)+1 under SQLite's write lock,
// a sequence (runs_id_seq) in PostgreSQL.
//
// Windows are not stored as such: events are, and Windows rebuilds them by
// grouping events on (kind, key, start): the close event, if any, gives the
// end. Unknown windows are stored as close events only. A change of an open
// window's cause is a 'cause' event (op cause, confirmed_ns = when the cause
// began); an open with several causes is stored with one cause event for
// each after the first. last_before_ns and last_in_ns are the runs that bound
// the window's edges (state.Window.LastBefore, LastIn); known_ns, on the open
// and close rows, is when the confirmation was known (state.Window.Known: the
// end of the confirming run; 0 when not known); first_in_end_ns, on the
// open and close rows, and first_after_end_ns, on the close row, are the
// ends of the runs that started at the window's start and end
// (state.Window.FirstInEnd, FirstAfterEnd: how much later each edge may
// have been; 0 when not known). Storing a close
// "settles" the window's open and cause events (sets their end_ns too), so the open
// windows are the events with end_ns 0, and a range's windows are the events
// that start at most max_window_ns before it, or are open: Windows reads
// what the range holds, not the whole history.
//
// # Spool
//
// What a Writer has not committed when it is closed (the database not
// taking writes) it hands over in commit order (Writer.Uncommitted), and
// WriteSpool keeps it in a file (spool.go: JSON lines between a versioned
// header and an end line with the counts, bounded in size, replaced whole);
// ReadSpool reads it back, and what it can read of a damaged one. Storing a
// spool again stores nothing twice: runs_series_start skips a run already
// stored, and Windows groups a repeated event with the one before it.
//
// # Retention
//
// Prune deletes, in short transactions of at most a batch of rows, raw runs
// older than storage.retention, minute rollups older than
// storage.minute_retention and hour rollups and ended windows older than
// storage.hour_retention, each as one range of its time column through that
// column's index: a call costs what it deletes, however large the table.
// Reads split a range (split in rollups.go) into the whole hours (hour
// rollups), the whole minutes at its edges (minute rollups) and the partial
// minutes at its very edges (raw runs); Horizon says from when on each kind
// is complete.
//
// # Writes and upgrades
//
// Every write transaction first reads the schema version (in PostgreSQL
// under a shared advisory lock that migrations take exclusively) and refuses
// with ErrSchemaNewer when a newer slaprobe has migrated the database: old
// probers sharing a PostgreSQL database stop writing rather than write into
// tables they no longer understand. Data the store refuses for itself (a
// run with an unknown step status, a name with a NUL byte) is an error
// wrapping ErrRejected; a Writer sets it aside instead of retrying it.
//
// # Migrations
//
// Each migration is a numbered list of SQL statements (plus an optional Go
// backfill and statements after it) applied in one transaction with its
// schema_version row: 1 creates the base tables (runs, and steps with a row
// per step); 2 adds the rollup tables, one row per (bucket, series, step)
// with a histogram blob (SQLite, added by slaprobe_hist_add) or BIGINT[]
// (PostgreSQL), and the events location index, and backfills the rollups from
// the runs already stored; 3 renames runs and the rollup tables to *_v2,
// creates their version 3 forms, copies every run with its steps encoded and
// folds each (bucket, series)'s rollup rows into one (the rollups are
// converted, not recomputed, so those of pruned runs survive), then drops the
// old tables and steps. In PostgreSQL it first locks those tables, so that
// autovacuum yields rather than deadlocks. 4 adds the report publisher's
// records (see Publications): report_versions (month, version PK,
// generated_ns, digest, changes, files as a JSON array) and deliveries (id
// PK, month, version, channel, target, state, attempts, next_ns, last_ns,
// result, delivered_ns; UNIQUE (month, version, channel, target), INDEX
// (state, next_ns)). 5 adds runs_start and events_end, makes
// runs_series_start unique on (series, start_ns, run_id) after deleting
// duplicate runs, settles the open events of closed windows and creates
// store_meta. 6 adds events.last_before_ns and last_in_ns (cause events need
// no schema change). 7 converts PostgreSQL's rollup data from JSONB to the
// blob above and (both) indexes events by events_window (start_ns, flow,
// location) instead of events_start and events_location. 8 counts confirm
// runs apart (runs.confirm, confirm_runs). 9 adds publisher_lease (id 1
// PK, holder, beat, since_ns, renewed_ns: its one row names the prober, by
// location, that makes and delivers the report versions; see
// Publications.ClaimPublisher), report_versions.maker and
// report_versions.figures. 10 renames deliveries to report_deliveries, so
// that a prober of version 9 or older still running beside a newer one
// (every write of its refused) cannot read the pending deliveries either:
// it sent each one, could not record it, and sent it again every second.
// 11 adds events.known_ns, filled in from the confirming runs still stored.
// 12 adds events.first_in_end_ns and first_after_end_ns, filled in from the
// runs still stored that started at each window's start and end.
// 13 has no SQL (runs' steps blobs may be in format 3). 14 adds
// report_versions.canon, the digest of a version's canonical figures
// (report/publish), empty for the versions made before until the publisher
// records it (Publications.SetReportCanon).
// A database newer
// than the binary is refused.
// Migrations, in migrations.go, run in one transaction each, with
// statements prepared once and sorts in temporary files, so that their
// memory does not grow with the database.
package store
