package store

import (
	"context"
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
	// statsParam turns a rollup row's entries into the value bound for its
	// data column.
	statsParam func([]stat) any
	// statsScan reads a rollup data column.
	statsScan func(src any) ([]stat, error)
	// allocIDs returns n fresh run ids.
	allocIDs func(ctx context.Context, tx *sqlx.Tx, n int) ([]int64, error)
	// migrating and migrated are run on the writer before and after
	// migrations (SQLite: sort and index into temporary files rather than
	// memory, so that a migration's memory does not grow with the data).
	migrating, migrated []string
	// lock serialises migrations between processes (nil: the transaction
	// itself does, as with SQLite's BEGIN IMMEDIATE).
	lock func(ctx context.Context, tx *sqlx.Tx) error
}

// core is the store, written once for both databases.
type core struct {
	w, r   *sqlx.DB // one writer, a read pool (the same pool for PostgreSQL)
	d      *dialect
	bounds []time.Duration
	log    *slog.Logger

	mu     sync.Mutex // one AppendRuns/AppendEvents/Prune at a time; guards below
	series map[seriesKey]int64
	names  map[nameKey]int64
	stmts  map[string]*sqlx.Stmt
	// migStmts are the statements prepared on the running migration's
	// transaction (nil outside migrations).
	migStmts map[string]*sqlx.Stmt
	ins      inserts // the live multi-row INSERTs
	closed   bool
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

// Ping implements Store.
func (c *core) Ping(ctx context.Context) error {
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

// close releases statements and both pools.
func (c *core) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	for _, st := range c.stmts {
		st.Close()
	}
	var errs []error
	if c.r != c.w {
		errs = append(errs, c.r.Close())
	}
	errs = append(errs, c.w.Close())
	return errors.Join(errs...)
}
