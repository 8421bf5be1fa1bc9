package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/slaprobe/slaprobe/probe"
)

func openTestSQLite(t *testing.T) *SQLite {
	t.Helper()
	s, err := OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "test.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestSQLiteContract(t *testing.T) {
	open := func(t *testing.T) Store { return openTestSQLite(t) }
	testStore(t, open)
	testHistory(t, open)
}

// TestSQLiteCacheSizes checks the page cache each pool's connections get:
// every read connection, not only the first, has the reader's size.
func TestSQLiteCacheSizes(t *testing.T) {
	s, err := OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "test.db"), Options{ReadConns: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	var w int
	if err := s.w.GetContext(ctx, &w, `PRAGMA cache_size`); err != nil {
		t.Fatal(err)
	}
	if w != -writerCacheKiB {
		t.Errorf("writer cache_size = %d, want %d", w, -writerCacheKiB)
	}
	// Hold every read connection at once, so that each is asked.
	var conns []*sqlx.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range 3 {
		c, err := s.r.Connx(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		var r int
		if err := c.GetContext(ctx, &r, `PRAGMA cache_size`); err != nil {
			t.Fatal(err)
		}
		if r != -readerCacheKiB {
			t.Errorf("read connection %d: cache_size = %d, want %d", i, r, -readerCacheKiB)
		}
	}
}

// The writer's per-batch schema version and MAX(id) reads are statements
// prepared once on the pool (prepareAll) and used in each write transaction
// (tx.StmtxContext): they must stay right when the writer's connection is a
// new one at every batch, when another connection changes the schema
// between batches, and when another prober moves the schema on.
func TestSQLitePreparedWriteReadsAcrossReconnects(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "test.db")
	s, err := OpenSQLite(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := s.core
	for _, q := range []string{schemaVersionSQL, maxRunIDSQL} {
		if c.stmts[q] == nil {
			t.Fatalf("%q is not prepared", q)
		}
	}
	c.w.SetMaxIdleConns(0) // every transaction on a new connection
	other, err := sqlx.Open("sqlite", path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	const batches, per = 4, 3
	for i := range batches {
		var runs []probe.Run
		for j := range per {
			runs = append(runs, mkRun(fmt.Sprintf("f%d", j), "seoul", t0.Add(time.Duration(i*per+j)*time.Minute), -1, time.Millisecond))
		}
		if err := s.AppendRuns(ctx, runs); err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
		if _, err := other.ExecContext(ctx, fmt.Sprintf(`CREATE TABLE extra_%d (a INTEGER)`, i)); err != nil {
			t.Fatal(err)
		}
	}
	var n, distinct, maxID int64
	if err := other.QueryRowxContext(ctx, `SELECT COUNT(*), COUNT(DISTINCT id), MAX(id) FROM runs`).Scan(&n, &distinct, &maxID); err != nil {
		t.Fatal(err)
	}
	if n != batches*per || distinct != n || maxID != n {
		t.Errorf("%d runs, %d distinct ids, max id %d; want %d, all distinct, max %d", n, distinct, maxID, batches*per, batches*per)
	}
	if _, err := other.ExecContext(ctx, `INSERT INTO schema_version (version, applied_ns) VALUES (?, 0)`, c.latest()+1); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendRuns(ctx, []probe.Run{mkRun("f", "seoul", t0.Add(time.Hour), -1, time.Millisecond)}); !errors.Is(err, ErrSchemaNewer) {
		t.Errorf("AppendRuns on a newer schema = %v, want ErrSchemaNewer", err)
	}
	c.w.SetMaxIdleConns(1)
	if _, err := other.ExecContext(ctx, `DELETE FROM schema_version WHERE version = ?`, c.latest()+1); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendRuns(ctx, []probe.Run{mkRun("f", "seoul", t0.Add(time.Hour), -1, time.Millisecond)}); err != nil {
		t.Errorf("AppendRuns once the schema is back: %v", err)
	}
}

// TestSQLiteIdleReadersClosed checks that the read pool closes a connection
// left unused (readerMaxIdle): what an idle reader holds (its page cache,
// ~1 MiB in modernc's 8 KiB slots, its schema and statements) is SQLite's
// memory, which a daemon that reads once a minute kept all day.
func TestSQLiteIdleReadersClosed(t *testing.T) {
	ctx := context.Background()
	s, err := OpenSQLite(ctx, filepath.Join(t.TempDir(), "test.db"), Options{ReadConns: 3, readerMaxIdle: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Two readers at once, then both idle.
	var conns []*sqlx.Conn
	for range 2 {
		c, err := s.r.Connx(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if err := c.GetContext(ctx, &n, `SELECT count(*) FROM runs`); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for _, c := range conns {
		c.Close()
	}
	if st := s.r.Stats(); st.OpenConnections != 2 {
		t.Fatalf("read pool: %d connections open after two were used, want 2", st.OpenConnections)
	}
	// Wait for the pool to close them, up to a bound far above the 50 ms.
	deadline := time.Now().Add(10 * time.Second)
	for s.r.Stats().OpenConnections != 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if st := s.r.Stats(); st.OpenConnections != 0 || st.MaxIdleTimeClosed != 2 {
		t.Errorf("read pool 10 s after its readers were last used: %d open, %d closed for idling; want 0 and 2", st.OpenConnections, st.MaxIdleTimeClosed)
	}
	// A read after that opens a reader again and works.
	if _, err := s.Runs(ctx, Query{From: time.Unix(0, 0), To: time.Now()}); err != nil {
		t.Errorf("a read after the readers were closed: %v", err)
	}
}
