package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/jmoiron/sqlx"
)

// Postgres is the Store for fleets: several probers, in several locations,
// writing to one PostgreSQL database. The schema is SQLite's with PostgreSQL
// types; histograms are BIGINT[] so that the upsert can add them in SQL.
type Postgres struct {
	*core
}

var _ Store = (*Postgres)(nil)

func postgresDialect() *dialect {
	return &dialect{
		name:         "postgres",
		migrations:   postgresMigrations,
		least:        "LEAST",
		greatest:     "GREATEST",
		multiRow:     func(in inserts) []insertSpec { return []insertSpec{in.events} },
		writeRuns:    insertRunsPG,
		writeRollups: upsertRollupsPG,
		allocIDs: func(ctx context.Context, _ *core, tx *sqlx.Tx, n int) ([]int64, error) {
			ids := make([]int64, 0, n)
			if err := tx.SelectContext(ctx, &ids, `SELECT nextval('runs_id_seq') FROM generate_series(1, $1)`, n); err != nil {
				return nil, err
			}
			return ids, nil
		},
		hasVersionTable: `SELECT to_regclass('schema_version') IS NOT NULL`,
		lock: func(ctx context.Context, tx *sqlx.Tx) error {
			// One migrating prober at a time (the key is arbitrary but
			// fixed), and no write while it migrates (writeLock).
			_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7305541837)`)
			return err
		},
		writeLock: func(ctx context.Context, tx *sqlx.Tx) error {
			_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock_shared(7305541837)`)
			return err
		},
		refused: func(err error) bool {
			// Data exceptions (22: a value out of range, bad encoding),
			// integrity violations (23) and program limits (54: a row too
			// large) are about the data; anything else may pass.
			var pe *pgconn.PgError
			if !errors.As(err, &pe) || len(pe.Code) < 2 {
				return false
			}
			switch pe.Code[:2] {
			case "22", "23", "54":
				return true
			}
			return false
		},
	}
}

// BadDSN reports whether err says the PostgreSQL DSN does not parse (a bad
// URL, an unknown sslmode, a sslrootcert that cannot be read): bad input,
// which no retry mends.
func BadDSN(err error) bool {
	var ce *pgconn.ParseConfigError
	return errors.As(err, &ce)
}

// OpenPostgres connects to the PostgreSQL database at dsn (a postgres:// URL
// or key=value string) and migrates its schema to the latest version.
func OpenPostgres(ctx context.Context, dsn string, opts Options) (*Postgres, error) {
	return openPostgres(ctx, dsn, opts, -1)
}

func openPostgres(ctx context.Context, dsn string, opts Options, upTo int) (*Postgres, error) {
	opts = opts.withDefaults()
	db, err := sqlx.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: postgres: %w", err)
	}
	db.SetMaxOpenConns(opts.ReadConns + 1)
	db.SetMaxIdleConns(opts.ReadConns + 1)
	pctx, cancel := ctx, context.CancelFunc(func() {})
	if opts.ConnectTimeout > 0 {
		pctx, cancel = context.WithTimeout(ctx, opts.ConnectTimeout)
	}
	start := time.Now()
	err = db.PingContext(pctx)
	// The bound that ran out: ours, or the caller's deadline (each of
	// `run`'s later attempts has one with it, Pending.OpenLater's Wait), but
	// not a caller that cancelled.
	timedOut := err != nil && pctx.Err() != nil && (ctx.Err() == nil || errors.Is(ctx.Err(), context.DeadlineExceeded))
	cancel()
	if timedOut {
		// Said as what it is (the driver's text was "failed to receive
		// message: context deadline exceeded"), naming the database.
		db.Close()
		after := opts.ConnectTimeout
		if dl, ok := ctx.Deadline(); ok && (after <= 0 || dl.Sub(start) < after) {
			after = dl.Sub(start).Round(time.Millisecond)
		}
		return nil, &TimeoutError{Database: postgresName(dsn), Op: "connecting", After: after}
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store: postgres: connect: %w", err)
	}
	c := newCore(db, db, postgresDialect(), opts.Logger)
	c.name, c.readTimeout = postgresName(dsn), opts.ReadTimeout
	if err := c.openPostgres(ctx, opts, upTo); err != nil {
		db.Close()
		return nil, err
	}
	return &Postgres{core: c}, nil
}

// openPostgres migrates the schema (checks its version, read only) and
// prepares the statements; a ReadOnly open within c.readTimeout.
func (c *core) openPostgres(ctx context.Context, opts Options, upTo int) (err error) {
	migrate := c.migrate
	if opts.ReadOnly {
		var done func(*error)
		ctx, done = c.reading(ctx, "checking the schema version")
		defer done(&err)
		migrate = func(ctx context.Context, _ int) error { return c.checkVersion(ctx) }
	}
	if err := migrate(ctx, upTo); err != nil {
		return err
	}
	if upTo < 0 {
		return c.prepareAll(ctx)
	}
	return nil
}

// CloseWait bounds Postgres.Close. Closing a pool deallocates each
// connection's prepared statements, one connection after another, and pgx
// waits up to 5 s for each: against a server that stopped answering (frozen,
// or a primary that vanished) that added 5 s a connection to a daemon's
// exit, after its shutdown had spent its budget. A server that answers
// closes in milliseconds.
const CloseWait = 2 * time.Second

// Close implements Store. A server that does not answer within CloseWait is
// given up (ErrCloseAbandoned): the connections close in the background.
func (p *Postgres) Close() error { return p.closeWithin(CloseWait) }
