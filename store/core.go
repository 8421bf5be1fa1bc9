package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
)

// Options tune a store. The zero value is fine.
type Options struct {
	// BusyTimeout is how long SQLite waits for a lock held by another
	// connection or process before a statement fails (default 5s).
	BusyTimeout time.Duration
	// ReadConns is the size of the read pool (default 4).
	ReadConns int
	// Logger receives migration notices (default: discard).
	Logger *slog.Logger
	// ReadOnly opens an existing store to read it (report, windows):
	// nothing is created or migrated, so that neither a reporting role
	// with SELECT only nor a newer slaprobe run from another machine (or
	// installed beside a daemon not yet restarted) changes a database that
	// probers write (a migrated schema stops every older prober's writes).
	// An empty database, or a file that is not SQLite, is ErrNoStore; a
	// schema at another version than this slaprobe's is an error.
	ReadOnly bool
	// ConnectTimeout bounds PostgreSQL's first connection at open (0: only
	// ctx bounds it): a server that accepts the connection and never
	// answers (frozen, or a primary that vanished behind a proxy) held
	// `slaprobe run` before it probed, for as long as the TCP connection
	// lived, where a refused one starts it without its store at once. The
	// migration after it is not bounded by it. Running out is a
	// *TimeoutError.
	ConnectTimeout time.Duration
	// ReadTimeout bounds each read the store is asked for (Runs, Totals,
	// Windows, Coverage, ...: its queries and the reading of their rows)
	// and, at a ReadOnly open, the check of the schema version (0: only ctx
	// bounds them). Running out is a *TimeoutError. `slaprobe report` and
	// `windows` set it: a PostgreSQL that stopped answering in the middle
	// of a query (frozen, a primary gone behind a proxy) held them, and
	// the cron job that mails a month's report, for as long as the TCP
	// connection lived.
	ReadTimeout time.Duration

	// readerMaxIdle replaces SQLite's readerMaxIdle (tests).
	readerMaxIdle time.Duration
}

func (o Options) withDefaults() Options {
	if o.BusyTimeout <= 0 {
		o.BusyTimeout = 5 * time.Second
	}
	if o.ReadConns <= 0 {
		o.ReadConns = 4
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// dialect is what differs between SQLite and PostgreSQL.
type dialect struct {
	name       string
	migrations []migration
	least      string // two-argument min: "min" or "LEAST"
	greatest   string
	// writeRuns inserts a batch's runs, skipping those already stored, and
	// returns how many it inserted.
	writeRuns func(ctx context.Context, c *core, tx *sqlx.Tx, r *runRows) (int64, error)
	// writeRollups adds a batch's rollup rows to table.
	writeRollups func(ctx context.Context, c *core, tx *sqlx.Tx, table string, rows map[rkey]*rval) error
	// multiRow are the multi-row INSERTs the dialect uses (prepareAll
	// prepares them at every chunk size).
	multiRow func(in inserts) []insertSpec
	// allocIDs returns n fresh run ids.
	allocIDs func(ctx context.Context, c *core, tx *sqlx.Tx, n int) ([]int64, error)
	// prepared are queries every write transaction runs, prepared once
	// (prepareAll) rather than at every batch (SQLite; pgx caches its own).
	prepared []string
	// migrating and migrated are run on the writer before and after
	// migrations (SQLite: sort and index into temporary files rather than
	// memory, so that a migration's memory does not grow with the data).
	migrating, migrated []string
	// hasVersionTable is a query that says whether schema_version exists
	// (a read-only open checks the version without creating it).
	hasVersionTable string
	// lock serialises migrations between processes (nil: the transaction
	// itself does, as with SQLite's BEGIN IMMEDIATE).
	lock func(ctx context.Context, tx *sqlx.Tx) error
	// writeLock is taken by every write transaction before it reads the
	// schema version: shared with other writers, exclusive of lock (nil:
	// the transaction itself excludes migrations, as in SQLite).
	writeLock func(ctx context.Context, tx *sqlx.Tx) error
	// refused reports whether a database error means the data itself is
	// refused (retrying cannot help).
	refused func(error) bool
}

// core is the store, written once for both databases.
type core struct {
	w, r   *sqlx.DB // one writer, a read pool (the same pool for PostgreSQL)
	d      *dialect
	bounds []time.Duration
	log    *slog.Logger
	// name is the database, for errors: postgres://USER@HOST:PORT/NAME
	// (no password) or the SQLite file.
	name string
	// readTimeout bounds each read (Options.ReadTimeout; 0: none).
	readTimeout time.Duration

	mu     sync.Mutex // one AppendRuns/AppendEvents/Prune at a time; guards below
	series map[seriesKey]int64
	names  map[nameKey]int64
	stmts  map[string]*sqlx.Stmt
	// migStmts are the statements prepared on the running migration's
	// transaction (nil outside migrations).
	migStmts map[string]*sqlx.Stmt
	ins      inserts // the live multi-row INSERTs
	closed   bool

	seriesCache seriesCache // what reads know of the series table

	// checkFile, if set, is called before every write transaction: an
	// error (ErrFileMoved) fails the write.
	checkFile func() error
}

type seriesKey struct{ service, flow, location string }
type nameKey struct{ step, function string }

func newCore(w, r *sqlx.DB, d *dialect, log *slog.Logger) *core {
	c := &core{
		w: w, r: r, d: d, log: log,
		bounds: LatencyBounds(),
		series: map[seriesKey]int64{},
		names:  map[nameKey]int64{},
		stmts:  map[string]*sqlx.Stmt{},
	}
	c.ins = newInserts(d)
	return c
}

var errClosed = errors.New("store: closed")

// latest is the schema version this binary writes.
func (c *core) latest() int { return c.d.migrations[len(c.d.migrations)-1].version }

// beginWrite starts a write transaction and checks, inside it, that no
// newer slaprobe has migrated the database since it was opened: at every
// write, not only at open, because probers sharing a PostgreSQL database
// are upgraded one by one. c.mu held.
func (c *core) beginWrite(ctx context.Context) (*sqlx.Tx, error) {
	if c.closed {
		return nil, errClosed
	}
	if c.checkFile != nil {
		if err := c.checkFile(); err != nil {
			return nil, err
		}
	}
	tx, err := c.w.BeginTxx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("store: begin: %w", err)
	}
	if c.d.writeLock != nil {
		if err := c.d.writeLock(ctx, tx); err != nil {
			tx.Rollback() //nolint:errcheck // the error is err
			return nil, fmt.Errorf("store: begin: %w", err)
		}
	}
	var sv sql.NullInt64
	if err := c.getInt(ctx, tx, schemaVersionSQL, &sv); err != nil {
		tx.Rollback() //nolint:errcheck // the error is err
		return nil, fmt.Errorf("store: read schema version: %w", err)
	}
	if v := int(sv.Int64); v > c.latest() {
		tx.Rollback() //nolint:errcheck // refused
		return nil, fmt.Errorf("%w (database at version %d, this slaprobe writes %d)", ErrSchemaNewer, v, c.latest())
	}
	return tx, nil
}

// Names of the store_meta rows.
const (
	metaMaxWindow  = "max_window_ns"  // longest closed window stored
	metaRunsFrom   = "runs_from_ns"   // Horizon.Runs
	metaMinuteFrom = "minute_from_ns" // Horizon.Minute
	metaHourFrom   = "hour_from_ns"   // Horizon.Hour
	// Lease.Began: the first claim that took the publisher lease; written
	// once (ClaimPublisher), never raised
	metaReportsBegan = "reports_began_ns"
)

// setMeta raises the store_meta row name to at least v.
func (c *core) setMeta(ctx context.Context, tx *sqlx.Tx, name string, v int64) error {
	q := tx.Rebind(`INSERT INTO store_meta (name, value) VALUES (?, ?)
ON CONFLICT (name) DO UPDATE SET value = ` + c.d.greatest + `(store_meta.value, excluded.value)`)
	if _, err := tx.ExecContext(ctx, q, name, v); err != nil {
		return fmt.Errorf("store: set %s: %w", name, err)
	}
	return nil
}

// meta reads the store_meta rows (missing ones are 0).
func (c *core) meta(ctx context.Context, q sqlx.QueryerContext) (map[string]int64, error) {
	rows, err := q.QueryxContext(ctx, `SELECT name, value FROM store_meta`)
	if err != nil {
		return nil, fmt.Errorf("store: read store_meta: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var k string
		var v int64
		if err := rows.Scan(&k, &v); err != nil {
			return nil, fmt.Errorf("store: read store_meta: %w", err)
		}
		out[k] = v
	}
	return out, rows.Err()
}

// Ping implements Store.
func (c *core) Ping(ctx context.Context) (err error) {
	ctx, done := c.reading(ctx, "pinging")
	defer done(&err)
	if err := c.w.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	if c.r != c.w {
		if err := c.r.PingContext(ctx); err != nil {
			return fmt.Errorf("store: ping: %w", err)
		}
	}
	return nil
}

// ErrCloseAbandoned is Close giving up on a database that does not answer.
var ErrCloseAbandoned = errors.New("store: close: the database did not answer; connections abandoned")

// close releases statements and both pools.
func (c *core) close() error {
	return c.closeWithin(0)
}

// closeWithin is close, giving up after wait (0: never) with
// ErrCloseAbandoned: the closing goes on without the caller, which is
// about to exit. The wait is on the wall clock, like the store writer's.
func (c *core) closeWithin(wait time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	stmts := make([]*sqlx.Stmt, 0, len(c.stmts))
	for _, st := range c.stmts {
		stmts = append(stmts, st)
	}
	done := make(chan error, 1)
	go func() {
		for _, st := range stmts {
			st.Close()
		}
		var errs []error
		if c.r != c.w {
			errs = append(errs, c.r.Close())
		}
		errs = append(errs, c.w.Close())
		done <- errors.Join(errs...)
	}()
	if wait <= 0 {
		return <-done
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		return ErrCloseAbandoned
	}
}
