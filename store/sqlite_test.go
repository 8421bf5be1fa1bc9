package store

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/jmoiron/sqlx"
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
