package store

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

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

func sqliteDialect() *dialect {
	return &dialect{
		name:       "sqlite",
		migrations: sqliteMigrations,
		least:      "min",
		greatest:   "max",
		refused: func(err error) bool {
			var se *sqlite.Error
			if !errors.As(err, &se) {
				return false
			}
			// The primary result codes SQLITE_TOOBIG (18), SQLITE_CONSTRAINT
			// (19) and SQLITE_MISMATCH (20) are about the data.
			switch se.Code() & 0xff {
			case 18, 19, 20:
				return true
			}
			return false
		},
		hasVersionTable: `SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version')`,
		migrating:       []string{`PRAGMA temp_store = FILE`},
		migrated:        []string{`PRAGMA temp_store = MEMORY`},
		multiRow:        func(in inserts) []insertSpec { return []insertSpec{in.runs, in.events, in.minute, in.hour} },
		writeRuns:       insertRunsSQL,
		writeRollups:    upsertRollupsSQL,
		prepared:        []string{schemaVersionSQL, maxRunIDSQL},
		allocIDs: func(ctx context.Context, c *core, tx *sqlx.Tx, n int) ([]int64, error) {
			// The transaction is BEGIN IMMEDIATE: no other writer can take
			// ids between this read and the insert.
			var max sql.NullInt64
			if err := c.getInt(ctx, tx, maxRunIDSQL, &max); err != nil {
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

const maxRunIDSQL = `SELECT MAX(id) FROM runs`

// Page cache per connection, in KiB. SQLite's cache is process memory (the
// transpiled C allocates it outside the Go heap) that fills up to its size as
// the database grows, and it costs about twice its size: a 4 KiB page and
// SQLite's header for it (~4.3 KiB) take an 8 KiB slot of modernc's
// allocator, and this build (SQLITE_ENABLE_MEMORY_MANAGEMENT) never makes
// pcache1's bulk allocation. With 8 MiB on the writer and 2 MiB on each
// reader, a 1,000-flow daemon's RssAnon grew from 17 to 40 MiB over its
// first ten minutes; with 2 MiB and 512 KiB it holds at 22-24 MiB from the
// third minute, with the same CPU per check and run durations at 1,000,
// 10,000 and 50,000 flows. The writer's 2 MiB were still filling at ten
// minutes (SQLite's page cache 3.1 MiB in all, modernc's slabs 8.7 MiB); at
// 1 MiB (and readers closed when idle) the slabs read 4.3-5.4 MiB then
// and two rows peaked at 40.0 and 43.6 MiB, not 48.1 and 45.9 (go run
// ./test/scale -flows 1000 -interval 10s -raw -together -window 10m). At
// 512 KiB the process's anonymous memory outside the Go heap read 7.6-7.7
// MiB at ten minutes where it read 8.6-8.9 MiB at 1 MiB, and two rows
// peaked at 42.7 and 43.8 MiB where 1 MiB's, run at the same time, peaked
// at 45.5 and 46.9 (RssAnon 23.6 and 24.9, not 25.6 and 27.9), for the
// same CPU per check. The memory counts at its peak, not as it is now:
// what SQLite frees goes back to modernc's allocator, which keeps up to
// 4 MiB of emptied 64 KiB regions of each size mapped and resident for
// reuse. The writer's working set is the right edge of the runs index
// (one leaf a series) and the current minute's and hour's rollups; what it
// misses comes from the operating system's page cache (at 10,000 flows 1.5
// preads a check instead of 0.5 at 2 MiB, a few microseconds each). A reader's cache
// lives for one read transaction in a running daemon: SQLite drops it when
// a transaction begins after another connection wrote, and the daemon's
// writer commits every second. Below 512 KiB a year's windows query
// (store's BenchmarkWindowsDay) was 15-20% slower.
const (
	writerCacheKiB = 512
	readerCacheKiB = 512
)

// readerMaxIdle is how long a read connection stays open unused. What a
// reader holds after its query is of no use to the next one (its page
// cache is dropped when a read transaction begins after a write, and the
// writer commits every second) but stays allocated: up to ~1 MiB of cache
// in 8 KiB slots, its schema, its prepared statements and lookaside. A
// running daemon reads every minute (the status page's history) and every
// five (the availability gauge), so its readers are closed between builds
// (database/sql closes a connection idle for longer than this within twice
// this) and one is opened again for the next: an open, its pragmas and the
// schema's parse, a millisecond or two against a build of tens of them.
const readerMaxIdle = 15 * time.Second

// OpenSQLite opens (creating if needed) the database file at path and
// migrates its schema to the latest version.
func OpenSQLite(ctx context.Context, path string, opts Options) (*SQLite, error) {
	return openSQLite(ctx, path, opts, -1)
}

// CheckSQLitePath says why path cannot name a store's SQLite file (nil
// when it can): the store sets the connection's parameters itself, so a
// file: URI, a path with a query ("results.db?cache=shared", whose
// parameters would not be what the user meant) or ":memory:" (nothing kept)
// is refused. Any other character, "#" among them, is the file's name as
// written: SQLite reads a name that does not begin with "file:" as a plain
// path.
func CheckSQLitePath(path string) error {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") || strings.Contains(path, "?") {
		return fmt.Errorf("store: sqlite path %q: want a plain file path (no \"?\", \":memory:\" or file: URI)", path)
	}
	return nil
}

// openSQLite migrates only up to version upTo (for migration tests).
func openSQLite(ctx context.Context, path string, opts Options, upTo int) (*SQLite, error) {
	opts = opts.withDefaults()
	if err := CheckSQLitePath(path); err != nil {
		return nil, err
	}
	// A driver of our own carries the hist_add function, so that nothing is
	// registered process-wide.
	drv := &sqlite.Driver{}
	if err := drv.RegisterDeterministicScalarFunction("slaprobe_hist_add", 2, sqliteHistAdd); err != nil {
		return nil, fmt.Errorf("store: register hist_add: %w", err)
	}
	// Its arguments are views of SQLite's memory, not copies (VolatileArgs):
	// it is called for every stored rollup row a batch adds to, twice a run,
	// and addStats reads them and keeps nothing of them.
	if err := drv.RegisterFunction("slaprobe_rollup_add", &sqlite.FunctionImpl{
		NArgs: 2, Deterministic: true, Scalar: sqliteRollupAdd, VolatileArgs: true}); err != nil {
		return nil, fmt.Errorf("store: register rollup_add: %w", err)
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", opts.BusyTimeout.Milliseconds()))
	if !opts.ReadOnly {
		// Setting it writes the file's header: a read-only open leaves a
		// store in the mode its daemon set (WAL), and anything else as it is.
		q.Add("_pragma", "journal_mode(WAL)")
	}
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "temp_store(MEMORY)")
	wq := url.Values{}
	for k, v := range q {
		wq[k] = v
	}
	wq.Set("_txlock", "immediate")
	wq.Add("_pragma", fmt.Sprintf("cache_size(-%d)", writerCacheKiB))
	// Checkpoint the WAL every 16 MiB (SQLite's default: 4 MiB) on the
	// writer: fewer, larger checkpoints copy a hot page (the current hour's
	// rollups, the index's right edge) once instead of several times.
	wq.Add("_pragma", "wal_autocheckpoint(4096)")
	if opts.ReadOnly {
		wq.Add("_pragma", "query_only(1)")
	}
	w := sqlx.NewDb(sql.OpenDB(connector{drv: drv, dsn: path + "?" + wq.Encode()}), "sqlite")
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	// notADB says the file is not SQLite (ErrNotSQLite): to a read-only
	// open, it holds no store (ErrNoStore too).
	notADB := func(err error) error {
		if se := (*sqlite.Error)(nil); !errors.As(err, &se) || se.Code()&0xff != 26 { // SQLITE_NOTADB
			return err
		}
		if opts.ReadOnly {
			return fmt.Errorf("%w: %w", ErrNoStore, ErrNotSQLite)
		}
		return fmt.Errorf("store: %s: %w", path, ErrNotSQLite)
	}
	if err := pingBusy(ctx, w, opts.BusyTimeout); err != nil {
		w.Close()
		if err := notADB(err); errors.Is(err, ErrNotSQLite) {
			return nil, err
		}
		if isReadOnly(err) { // setting WAL mode on a file that cannot be written
			return nil, readOnlyError(path, err)
		}
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	c := newCore(w, nil, sqliteDialect(), opts.Logger)
	c.name, c.readTimeout = path, opts.ReadTimeout
	if !opts.ReadOnly {
		// The file the writer connection opened (stat'd after the first
		// connection made or opened it).
		fi, err := os.Stat(path)
		if err != nil {
			w.Close()
			return nil, fmt.Errorf("store: open %s: %w", path, err)
		}
		c.checkFile = func() error { return sameFile(path, fi) }
	}
	migrate := func(ctx context.Context, upTo int) error { return notADB(c.migrate(ctx, upTo)) }
	if opts.ReadOnly {
		migrate = func(ctx context.Context, _ int) (err error) {
			ctx, done := c.reading(ctx, "checking the schema version")
			defer done(&err)
			return notADB(c.checkVersion(ctx))
		}
	}
	if err := migrate(ctx, upTo); err != nil {
		w.Close()
		return nil, readOnlyError(path, err)
	}
	if !opts.ReadOnly {
		// A file this process cannot write (its mode, its -wal's or
		// -shm's, a read-only mount) opens and reads all the same, and
		// SQLite refuses only the first write: a daemon started on it,
		// healthy, and was found stuck 30 s on. A write transaction begun
		// and rolled back finds it here, so that the open fails (and is
		// retried) as for a database not reachable.
		if err := writeProbe(ctx, w); err != nil {
			w.Close()
			return nil, readOnlyError(path, err)
		}
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
	rq.Add("_pragma", fmt.Sprintf("cache_size(-%d)", readerCacheKiB))
	r := sqlx.NewDb(sql.OpenDB(connector{drv: drv, dsn: path + "?" + rq.Encode()}), "sqlite")
	r.SetMaxOpenConns(opts.ReadConns)
	r.SetMaxIdleConns(opts.ReadConns)
	r.SetConnMaxIdleTime(cmp.Or(opts.readerMaxIdle, readerMaxIdle))
	c.r = r
	if upTo < 0 {
		if err := c.prepareAll(ctx); err != nil {
			c.close()
			return nil, err
		}
	}
	return &SQLite{core: c, path: path}, nil
}

// writeProbe makes a write on the writer that changes nothing (a DELETE
// that matches no row, in a transaction rolled back), and returns SQLite's
// refusal of it when the database cannot be written (SQLITE_READONLY). A
// BEGIN IMMEDIATE alone is not enough: SQLite begins a read transaction
// instead on a file it opened read-only. Any other error (busy: a lock
// another process holds) is left to the writer, which retries.
func writeProbe(ctx context.Context, w *sqlx.DB) error {
	tx, err := w.BeginTxx(ctx, nil)
	if err == nil {
		_, err = tx.ExecContext(ctx, `DELETE FROM schema_version WHERE version < 0`)
		if rerr := tx.Rollback(); err == nil && rerr != nil {
			err = rerr
		}
	}
	if err != nil && isReadOnly(err) {
		return err
	}
	return nil
}

// isReadOnly reports whether err is SQLite's SQLITE_READONLY (any of its
// extended codes: the file opened read-only, a -shm it cannot write).
func isReadOnly(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == 8
}

// readOnlyError names, in a SQLITE_READONLY error (others are returned as
// they are), which of the database file, its -wal and its -shm this
// process cannot open for writing: SQLite says only "attempt to write a
// readonly database", and makes the -shm with the database file's mode, so
// that a file made 0444 and set back to 0644 alone stays unwritable by its
// -shm. Paths only, never contents.
func readOnlyError(path string, err error) error {
	if !isReadOnly(err) {
		return err
	}
	var bad []string
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		f, oerr := os.OpenFile(p, os.O_WRONLY, 0)
		if oerr == nil {
			f.Close()
			continue
		}
		if !errors.Is(oerr, os.ErrNotExist) {
			bad = append(bad, p)
		}
	}
	switch {
	case len(bad) == 0:
		return fmt.Errorf("store: %s cannot be written (the file, its -wal and its -shm can all be opened for writing now): %w", path, err)
	case bad[len(bad)-1] == path+"-shm":
		return fmt.Errorf("store: %s cannot be written: not writable by this process: %s (SQLite makes the -shm with the database file's mode: make it writable too, or remove it while no process has the database open): %w", path, strings.Join(bad, ", "), err)
	}
	return fmt.Errorf("store: %s cannot be written: not writable by this process: %s: %w", path, strings.Join(bad, ", "), err)
}

// pingBusy opens the first connection, retrying for up to wait while
// another process holds the lock that switching a new database to WAL
// needs: SQLite answers that with SQLITE_BUSY at once, without waiting for
// busy_timeout (two probers or a prober and a CLI opening a new file).
func pingBusy(ctx context.Context, db *sqlx.DB, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for delay := 5 * time.Millisecond; ; delay = min(2*delay, 200*time.Millisecond) {
		err := db.PingContext(ctx)
		var se *sqlite.Error
		if err == nil || !errors.As(err, &se) || se.Code()&0xff != 5 || time.Now().After(deadline) { // 5: SQLITE_BUSY
			return err
		}
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return err
		}
	}
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

// UsedBytes is how much of the database file holds data: its pages less the
// free ones (SQLite keeps the file at its largest and reuses free pages).
func (s *SQLite) UsedBytes(ctx context.Context) (int64, error) {
	var pages, free, size int64
	for _, p := range []struct {
		pragma string
		v      *int64
	}{{"page_count", &pages}, {"freelist_count", &free}, {"page_size", &size}} {
		if err := s.r.GetContext(ctx, p.v, "PRAGMA "+p.pragma); err != nil {
			return 0, fmt.Errorf("store: %s: %w", p.pragma, err)
		}
	}
	return (pages - free) * size, nil
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

// sqliteRollupAdd is slaprobe_rollup_add(a, b): the sum of two rollup data
// blobs. a and b are views of SQLite's memory, valid during the call only
// (VolatileArgs): nothing of them may be kept.
func sqliteRollupAdd(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	a, _ := args[0].([]byte)
	b, _ := args[1].([]byte)
	return addStats(a, b)
}

// sameFile returns ErrFileMoved (wrapped, naming path) unless path is still
// the file opened as fi.
func sameFile(path string, fi os.FileInfo) error {
	now, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("store: %s: %w (it is gone): results are held in memory, not written; put it back, or restart to begin a new database", path, ErrFileMoved)
	case err != nil:
		return fmt.Errorf("store: %s: %w", path, err)
	case !os.SameFile(fi, now):
		return fmt.Errorf("store: %s: %w (another file is there now): results are held in memory, not written; put it back, or restart to open the new one", path, ErrFileMoved)
	}
	return nil
}
